"""The command line called in this process (``pos_app.cli.main`` with its arguments): classify's answers and
exit codes, and a usage error as one plain line with exit 2 (the command line as real processes is
e2e/test_cli.py's)."""

from __future__ import annotations

import json

import pytest

from pos_app.cli import main


@pytest.mark.parametrize("code,kind,exit_code", [
    ("281234567890123456", "payment_code", 0), ("4006381333931", "product", 0), ("hello", "unknown", 1)])
def test_classify(capsys, code, kind, exit_code):
    assert main(["classify", code, "--json"]) == exit_code
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == kind
    assert "1234567890" not in json.dumps(out), "a payment code is never printed in full"


def test_sim_refuses_bad_options(capsys):
    assert main(["sim", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["sim", "--notify-time-scale", "0"]) == 2


@pytest.mark.parametrize("args, words", [
    (["sale", "--code", "281234567890123456"], "--amount"),
    (["sale", "--amount", "1.00"], "--code"),
    (["sale", "--amount", "1.00", "--code", "281234567890123456", "--order-code"], "--code"),
    (["reconcile", "--timeout", "nan"], "--timeout"),
    (["report", "--x", "--z"], "--x"),
    (["pin", "set", "cashier"], "cashier"),
    (["nosuchcommand"], "nosuchcommand"),
    (["scanner"], "Missing command"),
    (["report", "--z", "--number", "99999999999999999999999"], "--number"),   # past SQLite's integers
    (["report", "--z", "--number", "0"], "--number"),
])
def test_usage_errors_exit_2_in_one_plain_message(capsys, tmp_path, args, words):
    assert main(["--data-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pos-terminal: ") and words in err and "--help" in err and "Traceback" not in err
