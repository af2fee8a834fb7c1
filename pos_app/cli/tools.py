"""The commands that are tools, not use cases: the windows, status, setup, the simulator, classify.

``gui`` and ``screenshots`` are the composition root: the one place ``pos_app`` reaches ``ui``, by
name, so the core never imports Qt. The rest check or prepare the terminal; none moves money.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import click

from .. import __version__, scan
from ..errors import PosError
from .options import LANGUAGES, POSITIVE, SECONDS, command, gui_options
from .output import emit


@command()
@gui_options
def gui(opts, customer_screen, language, kiosk, no_scanners):
    """The cashier window and the customer display (the default command)."""
    args = SimpleNamespace(config=opts.config, data_dir=opts.data_dir, json=opts.json, verbose=opts.verbose,
                           customer_screen=customer_screen, language=language, kiosk=kiosk, no_scanners=no_scanners)
    from ui import app  # the composition root: the one import of ui (see .importlinter)
    return app.main(args)


@command()
@click.option("--out", default="screenshots", metavar="DIR", help="where the PNGs go (default ./screenshots)")
@click.option("--languages", multiple=True, metavar="LANG[,LANG]",
              help=f"the languages to render, of {', '.join(LANGUAGES)} (default: all)")
@click.option("--sizes", multiple=True, metavar="WxH[,WxH]",
              help="the window sizes to render each state at (default: 1280x800 and 1024x768)")
def screenshots(opts, out, languages, sizes):
    """Render every screen state to PNG files for review (offscreen unless a display is set)."""
    chosen = [name for item in languages for name in item.replace(",", " ").split()] or list(LANGUAGES)
    for name in chosen:
        if name not in LANGUAGES:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(LANGUAGES)}", param_hint="--languages")
    wanted = []
    for item in (name for given in sizes for name in given.replace(",", " ").split()):
        match = re.fullmatch(r"([1-9][0-9]{2,4})x([1-9][0-9]{2,4})", item)
        if match is None:
            raise click.BadParameter(f"{item!r} is not a size such as 1024x768", param_hint="--sizes")
        wanted.append((int(match.group(1)), int(match.group(2))))
    from ui import screenshots as shots
    return shots.main(Path(out), chosen, tuple(wanted) or shots.SIZES)


@command()
def status(opts):
    """Show the mode, config, data dir and merchant, the way out to the gateway (the proxy in use and who set
    it; over https the TLS version and issuer), and check the gateway with a signed inquiry; with [store], the
    replication backlog and lag and whether the store answers (exit 1 if a check fails)."""
    from ..config import load_config
    from ..health import Verdict, probe_gateway

    data_dir, config_file = opts.data_path(), opts.config_file()
    sim = None
    if config_file is None:
        from ..sandbox import start_sandbox
        sim, config = start_sandbox(data_dir)
        mode = "sandbox (embedded gateway simulator)"
    else:
        config = load_config(config_file)
        mode = "sandbox" if config.gateway.sandbox else "live"
    try:
        probe = probe_gateway(config, label="status-probe")
    finally:
        if sim is not None:
            sim.stop()
    outcome, reachable = probe.outcome, probe.ok
    if reachable:
        check = f"OK: a signed inquiry was answered and verified in {probe.elapsed_ms:.0f} ms"
    elif probe.verdict is Verdict.BAD_SIGNATURE:
        check = ("FAILED: the gateway rejects our signature; merchant_private_key does not match the public key "
                 "registered with the gateway")
    elif probe.verdict is Verdict.UNVERIFIED:
        check = "FAILED: the gateway's answer does not verify; check gateway_public_key"
    else:
        check = f"FAILED: {outcome.message or outcome.result_code}"
    m = config.merchant
    proxy, tls = probe.proxy, probe.tls
    ends = None   # whole days the gateway's certificate has left; said when the self-test would warn
    tls_lines: list[str] = []
    if tls is not None:
        from datetime import UTC, datetime

        from ..selftest.network import EXPIRY_WARN_DAYS
        ends = max(0, int((tls.not_after - datetime.now(UTC)).total_seconds() // 86400))
        soon = f" (it expires in {ends} day(s): have it renewed)" if ends < EXPIRY_WARN_DAYS else ""
        tls_lines.append(f"  tls:       {tls.version}, issuer {tls.issuer}, until {tls.not_after:%Y-%m-%d}{soon}")
    way = None if proxy is None else proxy.describe()
    if config_file is None and proxy is not None and proxy.url is None:
        from ..i18n import _
        from ..sandbox import DIRECT
        way = _(DIRECT)   # the sandbox's rule, not a [gateway] proxy in a file
    data = {"version": __version__, "mode": mode, "config": str(config.path) if config_file else None,
            "dataDir": str(data_dir), "gateway": config.gateway.url, "clientId": config.gateway.client_id,
            "proxy": None if proxy is None else {"url": proxy.url, "source": proxy.source, "words": way},
            "tls": None if tls is None else {"version": tls.version, "cipher": tls.cipher, "issuer": tls.issuer,
                                             "subject": tls.subject,
                                             "notAfter": tls.not_after.isoformat(timespec="seconds"),
                                             "expiresInDays": ends},
            "merchant": {"name": m.name, "store": m.store_id, "terminal": m.terminal_id, "currency": m.currency},
            "gatewayCheck": {"ok": reachable, "message": check, "outcome": outcome.to_json()}}
    lines = [
        f"pos-terminal {__version__}: {mode}",
        f"  config:    {config.path if config_file else '(none: sandbox mode)'}",
        f"  data dir:  {data_dir}",
        f"  gateway:   {config.gateway.url} (client id {config.gateway.client_id})",
        *([] if way is None else [f"  proxy:     {way}"]),
        *tls_lines,
        f"  merchant:  {m.name}, store {m.store_id}, terminal {m.terminal_id}, {m.currency}",
        f"  check:     {check}",
    ]
    store_ok = True
    if config.store is not None:
        store, store_lines = _store_status(config, data_dir)
        data["store"], store_ok = store, bool(store["answers"])
        lines += store_lines
    emit(opts, data, lines)
    return 0 if reachable and store_ok else 1


def _store_status(config, data_dir: Path) -> tuple[dict, list[str]]:
    """Where the store is, this terminal's role, its replication backlog, lag, last shipped time and last
    error (the journal's cursor, read-only), and whether the store answers now (the self-test's own probe)."""
    import sqlite3
    import time

    from ..selftest.store import reach, replication_state

    s = config.store
    try:
        rep = replication_state(data_dir)
        unreadable = None
    except (PosError, sqlite3.Error) as exc:
        rep, unreadable = None, " ".join(str(getattr(exc, "message", exc)).split())
    ok, found, hint = reach(config, data_dir)
    shipped_at = rep["shippedAt"] if rep else None
    out = {"where": s.where, "storeId": s.store_id, "role": s.role, "answers": ok, "message": found,
           "hint": hint or None, "backlog": rep["backlog"] if rep else None,
           "lagSeconds": rep["lagSeconds"] if rep else None, "shipped": rep["shipped"] if rep else None,
           "shippedAt": shipped_at, "lastError": rep["error"] if rep else None, "journalError": unreadable}
    if rep is None:
        replication = f"journal unreadable: {unreadable}" if unreadable else "no journal yet: nothing to ship"
    else:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(shipped_at)) if shipped_at else "never"
        replication = (f"{rep['backlog']} change(s) waiting, lag {rep['lagSeconds']:.1f} s, "
                       f"last shipped {when}")
        if rep["error"]:
            replication += f"; last error: {rep['error']}"
    state = f"OK: {found}" if ok else f"FAILED: {found}" + (f" ({hint})" if hint else "")
    return out, [f"  store:     {s.role} of store {s.store_id}: {state}",
                 f"  backlog:   {replication}"]


@command()
@click.option("--force", is_flag=True, help="replace an existing config (it is backed up first)")
@click.option("--new-key", is_flag=True,
              help="make a new merchant key pair (the old private key is backed up); the gateway knows only the old "
                   "public key, so register the new one before taking payments")
@click.option("--answers", metavar="FILE", help="take the answers from a TOML file instead of asking (unattended "
                                                 "installs)")
def setup(opts, force, new_key, answers):
    """First run: write the config (gateway, ids, keys, PINs), asking and checking each answer."""
    from ..setup_wizard import Options, cmd_setup
    return cmd_setup(Options(config=opts.config, data_dir=opts.data_dir, json=opts.json, force=force,
                             new_key=new_key, answers=answers))


@command()
@click.option("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
@click.option("--port", type=click.IntRange(0, 65535), default=8080,
              help="port to listen on; 0 picks a free one (default 8080)")
@click.option("--client-id", help="the client id it accepts (default SANDBOX_POSTERMINAL0001)")
@click.option("--notify-time-scale", type=POSITIVE, default=1.0,
              help="scale the notification resend schedule (0.001 turns a day into 90 s)")
@click.option("--cancel-window", type=SECONDS, default=86400.0, metavar="SECONDS",
              help="how long after a payment cancel is allowed (default 86400)")
@click.option("--refund-window", type=SECONDS, default=365 * 86400.0, metavar="SECONDS",
              help="how long after a payment refunds are allowed (default 365 days)")
@click.option("--order-code-ttl", type=SECONDS, default=600.0, metavar="SECONDS",
              help="order-code lifetime when the request sets no paymentExpiryTime (default 600)")
@click.option("--sftp-port", type=click.IntRange(0, 65535), default=None,
              help="also serve the gateway's reconciliation reports over SFTP on 127.0.0.1 at this port; 0 picks a "
                   "free one (default: no SFTP)")
@click.option("--tls", is_flag=True,
              help="serve HTTPS, with a certificate from a private CA made in the data dir on first start (tls/ca.pem, "
                   "the terminal's [gateway] ca_bundle)")
def sim(opts, host, port, client_id, notify_time_scale, cancel_window, refund_window, order_code_ttl, sftp_port, tls):
    """Run the gateway simulator (the sandbox gateway) until Ctrl-C."""
    import signal
    import sys

    from ..config import find_data_dir
    from ..sim import DEFAULT_CLIENT_ID, Simulator
    data_dir = opts.data_path() if opts.data_dir else find_data_dir(None) / "simulator"
    if client_id is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", client_id):
        raise PosError(f"--client-id {client_id!r} is not a client id",
                       hint="use 1 to 64 letters, digits, '_' or '-', e.g. SANDBOX_POSTERMINAL0001")
    # A gateway answers in a millisecond; with Python's default 5 ms GIL switch interval, a handler
    # thread could wait that long behind the notifier thread. This process only serves, so shorten it.
    sys.setswitchinterval(0.0005)
    server = Simulator(data_dir, host, port, client_id=client_id or DEFAULT_CLIENT_ID,
                       notify_time_scale=notify_time_scale, cancel_window=cancel_window,
                       refund_window=refund_window, order_code_ttl=order_code_ttl, sftp_port=sftp_port,
                       tls=tls).start()
    def stop(*_) -> None:
        if server.server is not None:
            server.server.shutdown()
    signal.signal(signal.SIGTERM, stop)
    p = server.provisioned
    data = {"url": server.url, "dataDir": str(server.data_dir), "keys": str(p.keys_dir), "config": str(p.config_file),
            "created": [str(c) for c in p.created], "clientId": server.client_id,
            "sftp": server.sftp_url if server.sftp is not None else None,
            "tls": None if server.tls_files is None else {"ca": str(server.tls_files.ca),
                                                          "cert": str(server.tls_files.cert),
                                                          "created": [str(c) for c in server.tls_files.created]}}
    sftp_lines: list[str] = [] if server.sftp is None else [
        f"  reports: {server.sftp_url} (password in {server.sftp.password_file})"]
    if server.tls_files is not None:
        made = " (created)" if server.tls_files.ca in server.tls_files.created else ""
        sftp_lines.insert(0, f"  TLS CA:  {server.tls_files.ca}{made} (a terminal's [gateway] ca_bundle)")
    emit(opts, data, [
        f"gateway simulator listening on {server.url} (client id {server.client_id})",
        f"  keys:    {p.keys_dir}{' (created)' if p.created else ''}",
        f"  config:  {p.config_file}{' (created)' if p.config_file in p.created else ''}",
        f"  ledger:  {server.data_dir / 'sim-ledger.sqlite'}",
        *sftp_lines,
        f"  use it:  pos-terminal --config {p.config_file}",
        "  stop:    Ctrl-C",
    ])
    sys.stdout.flush()
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


@command()
@click.argument("code")
def classify(opts, code):
    """Tell what the scanned CODE is: a payment code (and which wallet families fit), a product barcode,
    or neither (exit 1)."""
    result = scan.classify(code)
    wallets = ", ".join(result.wallets) or "wallet not told by the code format"
    line = {scan.PAYMENT_CODE: f"payment code {result.masked} ({wallets})",
            scan.PRODUCT: f"product barcode {result.value} ({result.symbology})",
            scan.UNKNOWN: f"unknown: {result.reason}"}[result.kind]
    if result.reason and result.kind == scan.PAYMENT_CODE:
        line += f"; {result.reason}"
    emit(opts, result, [line])
    return 0 if result.kind != scan.UNKNOWN else 1
