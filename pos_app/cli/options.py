"""The options every command shares, defined once, and the shape of a command.

``--config``, ``--data-dir``, ``--json`` and ``-v`` are accepted before the command's name and after it
(``pos-terminal --json status`` and ``pos-terminal status --json``): both levels write into one
:class:`Options`, the command's own, parsed last, winning. :func:`command` makes a command with them,
checks what every command checks before it runs (arguments are UTF-8 text; logging to the data
directory), and hands the command its :class:`Options` first.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import click

from ..errors import PosError


@dataclass
class Options:
    """The shared options as given, and what they lead to (each looked up when a command asks)."""

    config: str | None = None
    data_dir: str | None = None
    json: bool = False
    verbose: bool = False

    def config_file(self):
        from ..config import find_config_file
        return find_config_file(self.config)

    def data_path(self):
        from ..config import find_data_dir
        return find_data_dir(self.data_dir)

    def runtime(self, *, receiver: bool = True, background: bool = True):
        """The terminal (and, with ``receiver``, its notification endpoint; with ``background``, its reconciler)."""
        from ..runtime import Runtime
        return Runtime(self.config_file(), self.data_path(), receiver=receiver, background=background)

    def journal(self, *, readonly: bool = False):
        from offline_queue.journal import Journal
        return Journal.open(self.data_path(), readonly=readonly)


# -- arguments are text ---------------------------------------------------------------------------------
def check_text(param: click.Parameter, value) -> None:
    """An argument that is not UTF-8 (Python keeps its bytes as lone surrogates) is a person's input
    error: say which one, before it reaches the journal or the wire as text that cannot be encoded."""
    for item in value if isinstance(value, (list, tuple)) else (value,):
        if not isinstance(item, str):
            continue
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            which = (f"the {param.human_readable_name} argument" if isinstance(param, click.Argument)
                     else f"the value of {max(param.opts, key=len)}")
            raise PosError(f"{which} is not valid UTF-8 text",
                           hint="retype it, or set the terminal's locale to UTF-8 (e.g. LANG=C.UTF-8)") from None


def _remember(ctx: click.Context, param: click.Parameter, value) -> None:
    """A shared option, kept in the one Options whichever level gave it."""
    if value is None or value is False:
        return
    check_text(param, value)
    setattr(ctx.ensure_object(Options), param.name, value)


_SHARED = (
    click.option("--config", metavar="FILE", expose_value=False, callback=_remember,
                 help="terminal.toml (default: $POS_TERMINAL_CONFIG, else sandbox mode)"),
    click.option("--data-dir", metavar="DIR", expose_value=False, callback=_remember,
                 help="data directory (default: $POS_TERMINAL_DATA_DIR, else $XDG_DATA_HOME/pos-terminal)"),
    click.option("--json", is_flag=True, expose_value=False, callback=_remember, help="print machine-readable JSON"),
    click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember, help="log more"),
)


def common(f):
    """--config, --data-dir, --json, -v: on the root group and on every command."""
    if isinstance(f, click.Command):      # appended to a made command, in order
        for option in _SHARED:
            f = option(f)
        return f
    for option in reversed(_SHARED):     # stacked on a function, as decorators are
        f = option(f)
    return f


# -- shared option families -------------------------------------------------------------------------------
class Positive(click.ParamType):
    """A finite number above zero (``nan``, ``inf``, 0 and below are refused as a person's error)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def convert(self, value, param, ctx) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not (math.isfinite(number) and number > 0):
            self.fail(f"{value} is not a number of {self.name} above zero", param, ctx)
        return number


SECONDS = Positive("seconds")
POSITIVE = Positive("units")


def by_option(f):
    return click.option("--by", metavar="NAME",
                        help="who asks (default: the login name); kept in the audit log")(f)


def timeout_option(default: float | None, text: str):
    return click.option("--timeout", type=SECONDS, default=default, metavar="SECONDS",
                        help=text + (f" (default {default:g})" if default is not None else ""))


def device_roots(hidden: bool = False):
    """Where the input devices are: tests and a technician point them at a copy."""
    def wrap(f):
        f = click.option("--sys-dir", default="/sys/class/input", metavar="DIR", hidden=hidden,
                         help="where sysfs describes them (default /sys/class/input)")(f)
        return click.option("--input-dir", default="/dev/input", metavar="DIR", hidden=hidden,
                            help="where the input device nodes are (default /dev/input)")(f)
    return wrap


LANGUAGES = ("en", "zh_CN")


def gui_options(f):
    """The window's options: on ``gui`` and on ``pos-terminal`` itself (which opens the window)."""
    for option in reversed((
        click.option("--customer-screen", type=int, metavar="N",
                     help="screen index for the customer display (default: the second screen if any)"),
        click.option("--language", type=click.Choice(LANGUAGES),
                     help="the screens' language (default: $POS_TERMINAL_LANGUAGE, else $LANG)"),
        click.option("--kiosk", is_flag=True,
                     help="full screen without a title bar (the packaged service starts it so)"),
        click.option("--no-scanners", is_flag=True,
                     help="do not open scanners (a scanner typing into the window still works)"),
    )):
        f = option(f)
    return f


# -- the shape of a command -----------------------------------------------------------------------------
def prepare(ctx: click.Context) -> Options:
    """What every command does before it runs: its arguments are text, and it logs to the data dir."""
    opts = ctx.ensure_object(Options)
    chain: click.Context | None = ctx
    while chain is not None:
        for param in chain.command.params:
            if param.expose_value and param.name in chain.params:
                check_text(param, chain.params[param.name])
        chain = chain.parent
    top = ctx
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    from .. import logs
    try:
        log_dir = opts.data_path()
    except PosError:   # a bad --data-dir: the command says so; log to stderr only until then
        log_dir = None
    logs.setup(log_dir, opts.verbose, command=top.info_name if top.parent is not None else None)
    return opts


def command(name: str | None = None, *, group: bool = False, parent: click.Group | None = None, **attrs):
    """A ``pos-terminal`` command (``group``: one with subcommands) taking ``(opts, **its options)``,
    with the shared options; ``parent`` registers it under a group of subcommands."""
    def wrap(f):
        @functools.wraps(f)
        def run(*args, **params):
            ctx = click.get_current_context()
            if group and ctx.invoked_subcommand is not None:
                return None     # the subcommand runs next, and prepares itself
            return f(prepare(ctx), *args, **params)
        if group:   # a missing subcommand is a usage error, said in one line, not the whole help page
            attrs.setdefault("no_args_is_help", False)
        made = (click.group if group else click.command)(name, **attrs)(run)
        made = common(made)
        if parent is not None:
            parent.add_command(made)
        return made
    return wrap
