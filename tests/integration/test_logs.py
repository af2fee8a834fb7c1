"""Logs as support meets them: a rotating file under the data directory, journald's levels under
systemd, payment codes masked and keys removed everywhere (third-party loggers, crash reports, old
files packed by ``logs --export``), and a log folder that cannot be written never stopping a command.
Here in this process (and journald's levels in a child Python); the commands as processes are
e2e/test_logs_cli.py's, masking on text alone unit/test_log_masking.py's."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from logtext import CODE, MASKED, PEM, read_log

from pos_app import cli as cli_module
from pos_app import logs


@pytest.fixture(autouse=True)
def detach_logging():
    """In-process runs attach handlers to the root logger: take them off after each test."""
    yield
    logs.shutdown()


# -- masking ----------------------------------------------------------------------------------------


def test_records_from_any_logger_reach_file_and_stderr_masked(tmp_path, capsys):
    logs.setup(tmp_path, verbose=False)
    logging.getLogger("urllib3.connectionpool").warning("sent code %s", CODE)
    logging.getLogger("pos_app.signing").info("loaded %s", PEM)
    try:
        raise ValueError(f"bad code {CODE}")
    except ValueError:
        logging.getLogger("pos_app.terminal").exception("sale failed for %s", CODE)
    logs.shutdown()
    text = read_log(tmp_path)
    err = capsys.readouterr().err
    for where in (text, err):
        assert CODE not in where and "BEGIN" not in where and "MIIEvQ" not in where
        assert f"sent code {MASKED}" in where and f"ValueError: bad code {MASKED}" in where
    assert "loaded [key removed]" in text and "urllib3.connectionpool" in text
    assert "loaded" not in err  # stderr shows warnings and up unless -v


# -- the file -------------------------------------------------------------------------------------


def test_records_wait_until_the_data_dir_exists(tmp_path):
    data_dir = tmp_path / "data"
    logs.setup(data_dir, verbose=False, command="gui")
    logging.getLogger("pos_app.x").info("before %s", CODE)
    assert not data_dir.exists()
    data_dir.mkdir()  # what a writing command (the window, a sale) does
    logs.shutdown()  # the process ending: what waited is written
    text = read_log(data_dir)
    assert ": gui" in text and f"before {MASKED}" in text


def test_rotation_at_the_size_limit(tmp_path):
    logs.setup(tmp_path, verbose=False, max_bytes=2000, backups=2)
    for i in range(200):
        logging.getLogger("pos_app.x").info("line %03d %s", i, "x" * 40)
    logs.shutdown()
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["pos-terminal.log", "pos-terminal.log.1", "pos-terminal.log.2"]
    assert all(p.stat().st_size <= 2000 for p in (tmp_path / "logs").iterdir())
    assert "line 199" in read_log(tmp_path)


def test_a_file_rotated_by_another_process_is_reopened(tmp_path):
    logs.setup(tmp_path, verbose=False)
    logging.getLogger("pos_app.x").info("first")
    folder = tmp_path / "logs"
    (folder / logs.FILE_NAME).rename(folder / "pos-terminal.log.1")  # the other process rotated it
    logging.getLogger("pos_app.x").info("second")
    logs.shutdown()
    assert "second" in read_log(tmp_path) and "second" not in (folder / "pos-terminal.log.1").read_text()


def test_setup_twice_does_not_stack_handlers(tmp_path, capsys):
    root = logging.getLogger()
    before = len(root.handlers)
    for _ in range(3):
        logs.setup(tmp_path, verbose=False)
    assert len(root.handlers) == before + 2
    logging.getLogger("pos_app.x").warning("only once")
    logs.shutdown()
    assert read_log(tmp_path).count("only once") == 1
    assert capsys.readouterr().err.count("only once") == 1
    assert len(root.handlers) == before


def test_in_process_runs_do_not_stack_either(tmp_path, capsys):
    before = list(logging.getLogger().handlers)
    for _ in range(3):
        assert cli_module.main(["--data-dir", str(tmp_path), "classify", CODE]) == 0
    assert logging.getLogger().handlers == before     # main() takes its handlers off when it returns
    logging.getLogger("pos_app.x").warning("after three runs")
    assert "after three runs" not in read_log(tmp_path)
    assert read_log(tmp_path).count(": classify") == 3


# -- journald -------------------------------------------------------------------------------------

SNIPPET = """
import logging, sys
from pos_app import logs
logs.setup(None, verbose=False)
log = logging.getLogger("pos_app.demo")
log.debug("not shown")
log.info("ready")
log.warning("slow link")
log.error("code %s refused\\nsecond line", "281234567890123456")
"""


def run_with_stderr_file(tmp_path, journal_stream) -> str:
    err = tmp_path / "stderr.txt"
    with err.open("w") as f:
        st = os.fstat(f.fileno())
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = journal_stream.format(dev=st.st_dev, ino=st.st_ino)
        subprocess.run([sys.executable, "-c", SNIPPET], stderr=f, env=env, check=True, timeout=30)
    return err.read_text()


def test_journald_levels_when_stderr_is_the_journal_stream(tmp_path):
    lines = run_with_stderr_file(tmp_path, "{dev}:{ino}").splitlines()
    assert lines == ["<6>pos_app.logs: pos-terminal " + logs.__version__ + ": start",
                     "<6>pos_app.demo: ready", "<4>pos_app.demo: slow link",
                     f"<3>pos_app.demo: code {MASKED} refused", "<3>second line"]


def test_plain_stderr_when_the_journal_stream_is_another_file(tmp_path):
    text = run_with_stderr_file(tmp_path, "{dev}:1")
    assert "<" not in text and "WARNING pos_app.demo: slow link" in text and "ready" not in text
    assert f"ERROR pos_app.demo: code {MASKED} refused" in text


# -- crash reports --------------------------------------------------------------------------------

def test_crash_report_is_masked(tmp_path, monkeypatch, capsys):
    def boom(code):
        raise RuntimeError(f"could not handle {CODE} with\n{PEM}")

    monkeypatch.setattr("pos_app.scan.classify", boom)   # a bug inside a command
    assert cli_module.main(["--data-dir", str(tmp_path), "classify", "x"]) == cli_module.EXIT_BUG
    (report,) = (tmp_path / "logs").glob("crash-*.txt")
    text = report.read_text()
    assert "Traceback" in text and f"RuntimeError: could not handle {MASKED} with\n[key removed]" in text
    assert CODE not in text and "MIIEvQ" not in text
    logs.shutdown()
    assert f"internal error: details in {report}" in read_log(tmp_path)
    assert str(report) in capsys.readouterr().err


