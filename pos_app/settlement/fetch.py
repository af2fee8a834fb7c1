"""Fetching the gateway's report files over SFTP: the merchant's folder of ``<yyyyMMdd>`` folders.

Why like this:
- The server's host key is checked against ``[settlement] known_hosts`` and nothing else: an unknown key is
  refused with its fingerprint (never trusted on first use), so a man in the middle cannot feed us reports.
- A day T's reports are spread over three folders: the transactions file of T in T's folder, the settlement
  batches in the folder of their settlement date (T+1 or later), and a T+2 file that completes T's post-quoted
  FX rows. So T, T+1 and T+2 are listed; a later folder that does not exist yet is normal.
- A file is written under a temporary name and renamed once complete (size checked against the server's):
  a transfer cut mid-way leaves nothing a later import could mistake for a whole report; the temporary files a
  killed run left behind are removed by the next fetch.
- A hostile or broken server is bounded: no more than the size it states is read (one byte more tells it
  sends too much), nor more than the parser reads (:data:`~pos_app.settlement.parse.MAX_BYTES`); every wait,
  closing included, is bounded by the timeout, and a failed session is aborted, never closed politely (a
  stalled server would never answer the close); a listed name that is not a plain printable file name is
  refused (it becomes a path here, and is printed).
- Every failure is a :class:`~pos_app.errors.PosError` in words with the next step (refused, timeout, host key,
  login, folder, permission, a URL that is not ``sftp://user@host[:port]/path``).
- Behind a store's mandatory proxy the SFTP host is no more reachable directly than the gateway is: given the
  ``[gateway]`` settings, the connection goes through the proxy they (or the environment) name for the SFTP
  host, by its CONNECT (:func:`pos_app.netpath.open_tunnel`), and SSH runs inside the tunnel; the host key is
  still checked against the SFTP host's name and port, so the proxy cannot stand in for the server. The
  environment's HTTPS_PROXY covers https:// only (requests' rules): with it alone the SFTP host goes direct, and
  when that fails the words say so, naming [gateway] proxy and ALL_PROXY, which carry it too.

asyncssh is asynchronous; callers are worker threads or the CLI, so each call runs its own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PosError, cannot_write
from ..i18n import _
from .ssh import asyncssh

if TYPE_CHECKING:
    from ..config import GatewayConfig, SftpUrl

#: Seconds a connection, a listing or one read may take before the server counts as not answering.
TIMEOUT = 20.0
#: Seconds a whole session (login, listings, every download) may take: a day's files are a few MB, moved in a
#: minute even on a slow link; a server that answers each read in time but trickles bytes is stopped here.
SESSION = 15 * 60.0
#: Report files, by name (Antom writes CSV or XLSX; anything else in the folder is not ours to read).
SUFFIXES = (".csv", ".xlsx")
#: How many days after T may hold T's files (settlement batches, the T+2 completion).
LATER_DAYS = 2
CHUNK = 64 * 1024
#: The suffix of a file being downloaded (renamed to its name once whole).
PART = ".part"


def parse_url(url: str) -> SftpUrl:
    """``sftp://user@host[:port]/path`` split by the config's one rule (:func:`pos_app.config.split_sftp`, shared
    with ``[settlement] sftp``); what is wrong with it in words, never echoing a password written into it."""
    from ..config import _shown_url, split_sftp

    try:
        return split_sftp(url)
    except ValueError as exc:
        raise PosError(_("{url} is not an SFTP folder URL: {problem}").format(url=_shown_url(url), problem=exc),
                       hint=_("write it as sftp://user@host[:port]/v1/settlements/<customerId>")) from None


def folder_names(day: str) -> list[str]:
    """The ``yyyyMMdd`` folders that may hold ``day``'s files: the day and the :data:`LATER_DAYS` after it."""
    try:
        first = date.fromisoformat(day)
    except (TypeError, ValueError):
        raise PosError(_("{day!r} is not a date").format(day=day), hint=_("use YYYY-MM-DD, e.g. 2026-11-22")) from None
    return [(first + timedelta(days=n)).strftime("%Y%m%d") for n in range(LATER_DAYS + 1)]


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


# -- the connection ----------------------------------------------------------------------------------------
def _auth(settlement: Any) -> dict:
    """asyncssh's login options from the config: a password read from its file, or a private key file."""
    password_file = getattr(settlement, "password_file", None)
    key_file = getattr(settlement, "key_file", None)
    options: dict[str, Any] = {"client_keys": None, "password": None, "agent_path": None,
                               "preferred_auth": "publickey,keyboard-interactive,password"}
    if key_file is not None:
        ssh = asyncssh()
        try:   # loaded here, so a missing or locked key is said as such, not as a server that cannot be reached
            options["client_keys"] = [ssh.read_private_key(str(key_file))]
        except OSError as exc:
            raise PosError(_("[settlement] key {path} cannot be read: {reason}").format(
                               path=key_file, reason=exc.strerror or exc),
                           hint=_("check the file's path and that this user may read it")) from None
        except (ssh.KeyImportError, ValueError) as exc:
            raise PosError(_("[settlement] key {path} is not a private key this terminal can use: {reason}").format(
                               path=key_file, reason=exc),
                           hint=_("give an unencrypted OpenSSH or PEM private key (mode 600): a key with a "
                                  "passphrase cannot be unlocked unattended")) from None
    if password_file is not None:
        try:
            options["password"] = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise PosError(_("[settlement] password_file {path} cannot be read: {reason}").format(
                               path=password_file, reason=getattr(exc, "strerror", None) or exc),
                           hint=_("check the file's path and that this user may read it")) from None
    if key_file is None and password_file is None:
        raise PosError(_("[settlement] names neither password_file nor key_file: no way to log in to the SFTP "
                         "server"), hint=_("set one of them in the config file's [settlement] table"))
    return options


def _known_hosts(settlement: Any) -> str:
    path = getattr(settlement, "known_hosts", None)
    if path is None:
        raise PosError(_("[settlement] known_hosts is not set: the SFTP server's host key cannot be checked"),
                       hint=_("put the server's host key line (from the gateway, checked by its fingerprint) in a "
                              "file and name it in [settlement] known_hosts"))
    ssh = asyncssh()
    try:
        ssh.read_known_hosts(str(path))
    except OSError as exc:
        raise PosError(_("[settlement] known_hosts {path} cannot be read: {reason}").format(
                           path=path, reason=exc.strerror or exc),
                       hint=_("put the server's host key line (from the gateway, checked by its fingerprint) "
                              "there")) from None
    except (ValueError, ssh.Error) as exc:
        raise PosError(_("[settlement] known_hosts {path} is not in known_hosts form: {reason}").format(
                           path=path, reason=exc),
                       hint=_("one line per key: [host]:port key-type base64-key, as ssh-keyscan writes it")) from None
    return str(path)


def _trusted(ssh: Any, known_hosts: str, url: SftpUrl) -> list:
    """The keys known_hosts holds for the URL's host and port (OpenSSH's rule: a bare host for port 22)."""
    try:
        return list(ssh.match_known_hosts(known_hosts, url.host, "", None if url.port == 22 else url.port)[0])
    except (OSError, ValueError, ssh.Error):
        return []


async def _host_key_error(ssh: Any, url: SftpUrl, known_hosts: str, timeout: float,
                          gateway: GatewayConfig | None = None) -> PosError:
    """The server's key was not trusted: unknown or changed, with the fingerprint it showed (asked again, by
    the same way: through the proxy when there is one)."""
    trusted = _trusted(ssh, known_hosts, url)
    # the key of the type known_hosts holds, as the refused connection asked for it (a server has several)
    algs = [alg.decode() for key in trusted for alg in key.sig_algorithms] or ()
    sock = None
    try:
        sock = await _tunnel(gateway, url, timeout)
        key = await asyncio.wait_for(ssh.get_server_host_key(url.host, url.port, config=None, sock=sock,
                                                             server_host_key_algs=algs), timeout)
        fingerprint = key.get_fingerprint("sha256") if key is not None else _("(none shown)")
        algorithm = key.get_algorithm() if key is not None else ""
    except (TimeoutError, OSError, PosError, ssh.Error):
        fingerprint, algorithm = _("(the server did not show it again)"), ""
    finally:
        if sock is not None:
            sock.close()
    where = f"{url.host}:{url.port}"
    if trusted:
        return PosError(_("the SFTP server {where} shows host key {algorithm} {fingerprint}, which is NOT the "
                          "one [settlement] known_hosts {path} holds for it: it changed").format(
                              where=where, algorithm=algorithm, fingerprint=fingerprint, path=known_hosts),
                        hint=_("do not connect until the gateway confirms the new key's fingerprint (someone may "
                               "be in the middle); then replace the line in known_hosts"))
    return PosError(_("the SFTP server {where} shows host key {algorithm} {fingerprint}, which [settlement] "
                      "known_hosts {path} does not hold: unknown").format(
                          where=where, algorithm=algorithm, fingerprint=fingerprint, path=known_hosts),
                    hint=_("compare the fingerprint with the one the gateway gives you; if they agree, add the "
                           "server's key line for {entry} to known_hosts").format(
                        entry=url.host if url.port == 22 else f"[{url.host}]:{url.port}"))


def _connect_error(ssh: Any, exc: BaseException, url: SftpUrl, timeout: float) -> PosError | None:
    """Words for a failure to connect or log in (None: not one of those)."""
    where = f"{url.host}:{url.port}"
    if isinstance(exc, ssh.PermissionDenied):
        return PosError(_("the SFTP server {where} refused the login of {user}").format(where=where, user=url.user),
                        hint=_("check the user in [settlement] sftp and the password_file or key_file the gateway "
                               "registered for it"))
    if isinstance(exc, ConnectionRefusedError):
        return PosError(_("the SFTP server {where} refused the connection: nothing listens there").format(
                            where=where), hint=_("check the host and port in [settlement] sftp"))
    if isinstance(exc, TimeoutError):
        return PosError(_("the SFTP server {where} did not answer within {seconds} s").format(
                            where=where, seconds=f"{timeout:g}"),
                        hint=_("check the network and the host and port in [settlement] sftp; then try again"))
    if isinstance(exc, OSError):
        return PosError(_("the SFTP server {where} cannot be reached: {reason}").format(
                            where=where, reason=exc.strerror or exc),
                        hint=_("check the network and the host and port in [settlement] sftp"))
    if isinstance(exc, (ssh.ConnectionLost, ssh.DisconnectError)):
        return PosError(_("the SFTP server {where} dropped the connection: {reason}").format(
                            where=where, reason=getattr(exc, "reason", None) or exc),
                        hint=_("try again; if it keeps happening, ask the gateway whether the server is up"))
    return None


def _no_folder(path: str, url: SftpUrl) -> PosError:
    return PosError(_("the SFTP server has no folder {path} ({url})").format(path=path, url=url),
                    hint=_("check the path in [settlement] sftp: /v1/settlements/<customerId>"))


def _sftp_error(ssh: Any, exc: BaseException, path: str, url: SftpUrl) -> PosError:
    """Words for an SFTP refusal, or a connection lost, on ``path``."""
    if isinstance(exc, ssh.SFTPNoSuchFile):
        return _no_folder(path, url)
    if isinstance(exc, ssh.SFTPPermissionDenied):
        return PosError(_("the SFTP server does not let {user} read {path}").format(user=url.user, path=path),
                        hint=_("ask the gateway to give this login read access to its report folder"))
    if isinstance(exc, (ssh.SFTPConnectionLost, ssh.ConnectionLost, ssh.DisconnectError, ConnectionError)):
        return PosError(_("the SFTP connection was lost while reading {path}: nothing of it was kept").format(
                            path=path), hint=_("try again"))
    return PosError(_("the SFTP server refused {path}: {reason}").format(
                        path=path, reason=getattr(exc, "reason", None) or exc),
                    hint=_("try again; if it keeps happening, ask the gateway"))


def _proxy_error(exc: BaseException, url: SftpUrl, route: str) -> PosError:
    """Words for a proxy that would not carry the SFTP connection (down, refusing the CONNECT, asking a login)."""
    where = f"{url.host}:{url.port}"
    return PosError(_("the SFTP server {where} cannot be reached through the proxy: {reason}").format(
                        where=where, reason=getattr(exc, "words", None) or exc),
                    hint=_("the SFTP connection goes {route}: check that proxy ([gateway] proxy, or the variable "
                           "named), or ask the network's administrator to let it through to {where}").format(
                        route=route, where=where))


def _went_direct(error: PosError, gateway: GatewayConfig | None, url: SftpUrl) -> PosError:
    """``error`` (the SFTP host not reached directly) with a note when the gateway's calls take a proxy the SFTP
    connection did not: by requests' rules HTTPS_PROXY covers https:// only, so behind a mandatory proxy named
    that way the SFTP host is tried direct and fails; [gateway] proxy or ALL_PROXY carry it too."""
    if gateway is None:
        return error
    from .. import netpath

    try:
        ours = netpath.resolve_proxy(gateway)
        theirs = netpath.resolve_proxy(gateway, url=f"sftp://{url.host}:{url.port}/")
    except PosError:
        return error
    if ours.url is None or theirs.source != "none":   # NO_PROXY or "direct" chose it: nothing to point out
        return error
    note = _("the gateway's calls go {route}, but the SFTP connection went direct ({variable} covers https:// only): "
             "to send it through the proxy too, set [gateway] proxy, or ALL_PROXY").format(
                 route=ours.describe(), variable=ours.source)
    return PosError(error.message, hint=f"{error.hint}; {note}" if error.hint else note)


async def _tunnel(gateway: GatewayConfig | None, url: SftpUrl, timeout: float) -> Any:
    """A socket through the proxy in use for the SFTP host (the gateway's rules, asked for this host), or None
    when the connection goes direct."""
    if gateway is None:
        return None
    from .. import netpath

    proxy = netpath.resolve_proxy(gateway, url=f"sftp://{url.host}:{url.port}/")
    if not proxy.url:
        return None
    try:
        return await asyncio.to_thread(netpath.open_tunnel, proxy, url.host, url.port, timeout)
    except OSError as exc:   # netpath.ProxyFailure among them, in words
        raise _proxy_error(exc, url, proxy.describe()) from None


async def _session(settlement: Any, url: SftpUrl, timeout: float, work, gateway: GatewayConfig | None = None) -> Any:
    """Connect (through the proxy ``gateway``'s settings name for the host, if any), check the host key, log in,
    open SFTP and run ``await work(sftp, host_key)``; errors in words. Each step ``work`` awaits is bounded by
    ``timeout``; on any failure the connection is aborted at once."""
    ssh = asyncssh()
    known_hosts = _known_hosts(settlement)
    options = _auth(settlement)
    sock = await _tunnel(gateway, url, timeout)
    try:
        try:
            conn = await ssh.connect(url.host, url.port, username=url.user, known_hosts=known_hosts, config=None,
                                     connect_timeout=timeout, login_timeout=timeout, sock=sock, **options)
        except BaseException:
            if sock is not None:
                sock.close()   # the tunnel is ours until a connection holds it (closing twice does nothing)
            raise
    except ssh.HostKeyNotVerifiable:
        raise await _host_key_error(ssh, url, known_hosts, timeout, gateway) from None
    except (TimeoutError, OSError, ssh.Error) as exc:
        error = _connect_error(ssh, exc, url, timeout)
        if error is None:
            raise
        if sock is None and isinstance(exc, OSError):   # TimeoutError among them: not reached directly
            error = _went_direct(error, gateway, url)
        raise error from None
    whole = asyncio.timeout(SESSION)
    try:
        async with whole:
            try:
                sftp = await asyncio.wait_for(conn.start_sftp_client(), timeout)
            except (ssh.ChannelOpenError, ssh.SFTPError) as exc:
                raise PosError(_("the server {where} logged {user} in but offers no SFTP: {reason}").format(
                                   where=f"{url.host}:{url.port}", user=url.user, reason=exc),
                               hint=_("ask the gateway for the SFTP address of its report folder")) from None
            result = await work(sftp, conn.get_server_host_key())
    except TimeoutError:
        conn.abort()
        if whole.expired():
            raise PosError(_("the SFTP server {where} took more than {seconds} seconds in all for the reports: "
                             "stopped, nothing unfinished was kept (timed out)").format(
                               where=f"{url.host}:{url.port}", seconds=f"{SESSION:g}"),
                           hint=_("the server sends very slowly: check the network, then try again; if it keeps "
                                  "happening, ask the gateway")) from None
        raise PosError(_("the SFTP server {where} stopped answering: nothing came for {seconds} seconds (timed "
                         "out)").format(where=f"{url.host}:{url.port}", seconds=f"{timeout:g}"),
                       hint=_("check the network; then try again")) from None
    except (OSError, ssh.Error) as exc:
        conn.abort()
        error = _connect_error(ssh, exc, url, timeout)
        if error is None:
            raise
        raise error from None
    except BaseException:
        conn.abort()
        raise
    # every file is whole on disk: a polite goodbye, as long as the server answers it
    sftp.exit()
    conn.close()
    try:
        await asyncio.wait_for(conn.wait_closed(), timeout)
    except (TimeoutError, OSError, ssh.Error):
        conn.abort()
    return result


def _url_of(settlement: Any, url: str | None) -> SftpUrl:
    text = url if url is not None else getattr(settlement, "sftp", None)
    if not text:
        raise PosError(_("no SFTP URL: [settlement] sftp is not set and none was given"),
                       hint=_("give --sftp sftp://user@host[:port]/v1/settlements/<customerId>, or set [settlement] "
                              "sftp"))
    return parse_url(text)


# -- listing and downloading ---------------------------------------------------------------------------------
async def _listing(ssh: Any, sftp: Any, path: str, url: SftpUrl, timeout: float) -> list[Any] | None:
    """The folder's entries, or None when it does not exist."""
    try:
        return list(await asyncio.wait_for(sftp.readdir(path), timeout))
    except ssh.SFTPNoSuchFile:
        return None
    except ssh.SFTPError as exc:
        raise _sftp_error(ssh, exc, path, url) from None


async def _download(ssh: Any, sftp: Any, remote: str, target: Path, url: SftpUrl, timeout: float) -> None:
    """``remote`` into ``target``: a temporary name in the same folder, at most the size the server states (and
    never more than the parser reads), fsync, then rename. What fails on this side (a full disk) is said as this
    side's; what fails on the wire, as the server's. On a failure the file is left open: the session aborts."""
    from .parse import MAX_BYTES

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, made = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=PART)
    except OSError as exc:
        raise cannot_write(target.parent, exc) from None
    tmp: str | None = made
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                f = await asyncio.wait_for(sftp.open(remote, "rb"), timeout)
                size = (await asyncio.wait_for(f.stat(), timeout)).size
                if size is not None and size > MAX_BYTES:
                    raise _too_large(remote, size, MAX_BYTES)
                bound = MAX_BYTES if size is None else size
                got = 0
                while True:
                    # one byte past the bound is asked for, to tell a server that sends more than it said
                    chunk = await asyncio.wait_for(f.read(min(CHUNK, bound + 1 - got)), timeout)
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > bound:
                        raise _too_large(remote, size, MAX_BYTES) if size is None else PosError(
                            _("{path}: the server sent more than the {size} bytes it stated: nothing of it was "
                              "kept").format(path=remote, size=size),
                            hint=_("try again; if it happens again, ask the gateway about its SFTP server"))
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise cannot_write(target, exc) from None
                await asyncio.wait_for(f.close(), timeout)
            except (ssh.SFTPError, ssh.ConnectionLost, ssh.DisconnectError, ConnectionError) as exc:
                raise _sftp_error(ssh, exc, remote, url) from None
            if size is not None and got != size:
                raise PosError(_("{path}: {got} of {size} bytes arrived: nothing of it was kept").format(
                                   path=remote, got=got, size=size), hint=_("try again"))
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise cannot_write(target, exc) from None
        try:
            os.replace(made, target)
        except OSError as exc:
            raise cannot_write(target, exc) from None
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _too_large(path: str, size: int | None, limit: int) -> PosError:
    mb = limit // (1024 * 1024)
    if size is None:
        words = _("{path} is larger than the {limit} MB a report file may have: nothing of it was kept").format(
            path=path, limit=mb)
    else:
        words = _("{path} is {size} MB, more than the {limit} MB a report file may have: it was not "
                  "downloaded").format(path=path, size=f"{size / 1024 / 1024:.1f}", limit=mb)
    return PosError(words, hint=_("a store's day is far smaller: ask the gateway why the file is so large, or "
                                  "to split it by date"))


def _clean_parts(folder: Path) -> None:
    """Remove the temporary files (``.<name>.<random>.part``) a fetch killed mid-way left in ``folder``."""
    try:
        stale = [p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(PART)]
    except OSError:
        return   # no folder yet (nothing to clean), or one this user cannot list: the download says so
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()


def _plain_name(name: str, folder: str, url: SftpUrl) -> str:
    """A file name as listed, refused unless it is a plain name: it becomes a path on this machine."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or not name.isprintable()):   # a newline, an escape, a direction override: not a report's name
        raise PosError(_("the SFTP server listed {name} in {folder}, which is not a plain file name: refused").format(
                           name=repr(name), folder=folder),
                       hint=_("ask the gateway about its report folder ({url})").format(url=url))
    return name


def fetch(settlement: Any, day: str, *, dest: Path, url: str | None = None, timeout: float = TIMEOUT,
          gateway: GatewayConfig | None = None) -> list[Path]:
    """Download ``day``'s report files (and those of the :data:`LATER_DAYS` after it) into ``dest/<yyyyMMdd>/``.

    ``settlement`` has ``sftp``, ``password_file``, ``key_file``, ``known_hosts`` (the config's [settlement]);
    ``url`` overrides its ``sftp``; ``gateway`` (the config's [gateway]) names the proxy, if any, the
    connection goes through (None: direct). The day's own folder must exist (else its reports are not out yet: said in
    words); a later day's may not. Returns the paths written, in folder then name order."""
    target = _url_of(settlement, url)
    folders = folder_names(day)
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PosError(_("cannot make the folder {path} for the reports: {reason}").format(
                           path=dest, reason=exc.strerror or exc),
                       hint=_("check the data directory's disk and permissions")) from None
    for folder in folders:
        _clean_parts(dest / folder)
    ssh = asyncssh()

    async def work(sftp: Any, _key: Any) -> list[Path]:
        written: list[Path] = []
        for n, folder in enumerate(folders):
            remote = _join(target.path, folder)
            entries = await _listing(ssh, sftp, remote, target, timeout)
            if entries is None:
                if n == 0:
                    if await _listing(ssh, sftp, target.path, target, timeout) is None:   # the URL's folder?
                        raise _no_folder(target.path, target)
                    raise PosError(_("the SFTP server has no reports for {day} yet (no folder {path})").format(
                                       day=day, path=remote),
                                   hint=_("the gateway writes a day's transaction report the day after (T+1): "
                                          "try again later"))
                continue
            names = sorted(e.filename for e in entries
                           if isinstance(e.filename, str)   # asyncssh decodes names (UTF-8) or refuses them
                           and e.filename.lower().endswith(SUFFIXES) and not e.filename.startswith(".")
                           # a file, or a type SFTP v3 cannot tell without permissions: not a folder
                           and e.attrs.type in (None, ssh.FILEXFER_TYPE_REGULAR, ssh.FILEXFER_TYPE_UNKNOWN))
            for name in names:
                path = dest / folder / _plain_name(name, remote, target)
                await _download(ssh, sftp, _join(remote, name), path, target, timeout)
                written.append(path)
        return written

    return asyncio.run(_session(settlement, target, timeout, work, gateway))


def check(settlement: Any, *, url: str | None = None, timeout: float = TIMEOUT,
          gateway: GatewayConfig | None = None) -> str:
    """Connect (through ``gateway``'s proxy, as :func:`fetch`), check the host key, log in and list the report
    folder: what was found, in words (the self-test's). Raises PosError as :func:`fetch` does."""
    target = _url_of(settlement, url)
    ssh = asyncssh()

    async def work(sftp: Any, key: Any) -> str:
        entries = await _listing(ssh, sftp, target.path, target, timeout)
        if entries is None:
            raise _no_folder(target.path, target)
        days = sorted(e.filename for e in entries if len(e.filename) == 8 and e.filename.isdigit())
        fingerprint = key.get_fingerprint("sha256") if key is not None else "?"
        if not days:
            return _("{url}: logged in (host key {fingerprint}); no day folder yet").format(
                url=target, fingerprint=fingerprint)
        return _("{url}: logged in (host key {fingerprint}); {count} day folder(s), the newest {newest}").format(
            url=target, fingerprint=fingerprint, count=len(days), newest=days[-1])

    return asyncio.run(_session(settlement, target, timeout, work, gateway))
