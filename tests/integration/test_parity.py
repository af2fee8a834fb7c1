"""Every use case has its command, its window binding and its README line; every command is a use case's
or a named tool (in the spirit of sqlite-utils' tests/test_docs.py).

The checks read the click tree as ``pos-terminal`` builds it, the window modules' source as text (no
Qt is started) and the README's Commands section, so none of them can agree with the code by copying it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import click
import pytest
from kit import ROOT

from pos_app.cli import root
from pos_app.services import REGISTRY

README = ROOT / "README.md"

#: The commands that are tools, not use cases: a person's action in neither front end, or the front end itself.
TOOLS = {
    "gui": "the windows themselves: the composition root that opens them",
    "screenshots": "renders the windows to PNG for review; a development tool",
    "status": "a health probe of the config and the gateway; the technician's screen shows the self-test instead",
    "setup": "writes the config before any window can open (first run, or going live)",
    "sim": "the sandbox gateway, a separate server process",
    "classify": "tells what a scanned text is; the window classifies every scan as it comes",
    "scanner listen": "a technician's bench tool on the raw device, outside the window's own scanner hub",
    "scanner record": "records a device's raw events to a trace file for a bug report",
    "scanner replay": "decodes a recorded trace offline",
}


def _context() -> click.Context:
    return click.Context(root, info_name="pos-terminal")


def _command(words: list[str]) -> click.Command:
    """The click command a path of words names, resolved the way ``pos-terminal`` resolves it."""
    command, ctx = root, _context()
    for word in words:
        assert isinstance(command, click.Group), f"{' '.join(words)}: {command.name} has no subcommands"
        sub = command.get_command(ctx, word)
        assert sub is not None, f"`pos-terminal {' '.join(words)}`: no command {word!r} under {command.name}"
        command, ctx = sub, click.Context(sub, info_name=word, parent=ctx)
    return command


def _split(cli: str) -> tuple[list[str], list[str]]:
    words = cli.split()
    return [w for w in words if not w.startswith("-")], [w for w in words if w.startswith("-")]


def _paths(group: click.Group = root, prefix: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """Every command a person can run, by its words: leaves, and groups that act without a subcommand."""
    out = {}
    ctx = _context()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                out[" ".join(path)] = command
            out.update(_paths(command, path))
        else:
            out[" ".join(path)] = command
    return out


def _use_case_paths() -> dict[str, list[str]]:
    """Each use case's command words, and the use cases bound to each."""
    paths: dict[str, list[str]] = {}
    for case in REGISTRY.values():
        paths.setdefault(" ".join(_split(case.cli)[0]), []).append(case.name)
    return paths


# -- (a) every use case has its CLI command ------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_use_case_has_its_command(name):
    words, options = _split(REGISTRY[name].cli)
    command = _command(words)
    given = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    missing = [o for o in options if o not in given]
    assert not missing, f"{name}: `pos-terminal {REGISTRY[name].cli}` has no option {missing}"


# -- (b) every command is a use case's, or a tool with a reason ----------------------------------------
def test_every_command_is_a_use_case_or_a_named_tool():
    paths, cases = _paths(), _use_case_paths()
    neither = sorted(p for p in paths if p not in cases and p not in TOOLS)
    assert not neither, f"commands bound to no use case and not listed in TOOLS: {neither}"
    both = sorted(p for p in TOOLS if p in cases)
    assert not both, f"listed as tools but bound to a use case: {both}"
    stale = sorted(p for p in TOOLS if p not in paths)
    assert not stale, f"TOOLS lists commands that do not exist: {stale}"
    assert all(reason.strip() for reason in TOOLS.values())


# -- (c) the README documents every command ---------------------------------------------------------------
def _readme_rows() -> list[str]:
    """The first cells of the README's Commands table (the commands as written, with their options)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return [re.split(r"(?<!\\)\|", line)[1] for line in section.splitlines() if line.startswith("| `")]


def _documents(cell: str, path: str) -> bool:
    spans = re.findall(r"`([^`]*)`", cell)
    return any(re.match(rf"(pos-terminal )?{re.escape(path)}(\s|$)", span) for span in spans)


@pytest.mark.parametrize("path", sorted(_paths()))
def test_the_readme_documents_every_command(path):
    rows = [cell for cell in _readme_rows() if _documents(cell, path)]
    assert rows, f"README's Commands table has no row for `pos-terminal {path}`"
    for case in _use_case_paths().get(path, []):
        for option in _split(REGISTRY[case].cli)[1]:
            assert any(re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", cell) for cell in rows), (
                f"README's row for `pos-terminal {path}` does not mention {option} (use case {case})")


# -- (d) every use case is bound in the windows, or says why not -------------------------------------------
def _method_source(binding: str) -> str | None:
    module, qualname = binding.split(":")
    cls_name, method = qualname.split(".")
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{binding}: no module {module}"
    source = Path(spec.origin).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == cls_name:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method:
                    return ast.get_source_segment(source, item)
    return None


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_use_case_is_bound_in_the_windows(name):
    case = REGISTRY[name]
    if case.gui is None:
        assert (case.why or "").strip(), f"{name}: no window binding, and no reason given (why=...)"
        return
    body = _method_source(case.gui)
    assert body is not None, f"{name}: {case.gui} does not exist"
    family, function = case.fn.__module__.rsplit(".", 1)[-1], case.fn.__name__
    assert re.search(rf"\b{family}\.{function}\b", body), f"{name}: {case.gui} does not call {family}.{function}"
