"""``pos-terminal receipt`` and ``pos-terminal printer`` as real processes, on a sandbox data directory with the
printer stand-in: the files they write, what reaches the printer (decoded by the stand-in's own reader), the
print journal (read with plain SQL) and the words a person gets for each mistake, never a traceback."""

from __future__ import annotations

import json

import pytest
from flowkit import cli
from kit import payment_code, usd
from printerkit import PrinterStandIn, decode
from test_printing import raw, sandbox_with_printer

from pos_app import services
from pos_app.runtime import Runtime


@pytest.fixture(scope="module")
def printer():
    with PrinterStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def till(tmp_path_factory, printer):
    """A sandbox till with a printer, one paid sale (its receipt printed) and one that was not paid."""
    data_dir = sandbox_with_printer(tmp_path_factory.mktemp("till") / "t", printer.port)
    with Runtime(None, data_dir) as rt:
        t = rt.terminal
        paid = services.sales.sale(services.counter(), t, usd(1575), code=payment_code())
        assert paid.status == "SUCCESS"
        printer.wait_for(lambda p: p.jobs, 20)
        open_one = services.sales.sale(services.counter(), t, usd(300), order_code=True)
        services.sales.abort(services.counter(), t, open_one.id)
        unpaid = t.wait(open_one.id, lambda s: s.final, 20)
        assert unpaid.status == "CANCELLED"
    return data_dir, paid.id, unpaid.id


def said(done) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def test_a_receipt_as_png_and_pdf(till, tmp_path):
    data_dir, paid, _unpaid = till
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    done = cli("receipt", paid, "--png", png, data_dir=data_dir)
    assert done.returncode == 0, said(done)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = cli("receipt", paid, "--pdf", pdf, "--json", data_dir=data_dir)
    assert done.returncode == 0, said(done)
    assert json.loads(done.stdout)["path"] == str(pdf) and pdf.read_bytes()[:5] == b"%PDF-"


def test_print_with_no_till_running_is_a_journaled_reprint(till, printer):
    data_dir, paid, _unpaid = till
    before = len(printer.jobs)
    done = cli("receipt", paid, "--print", "--json", data_dir=data_dir)
    assert done.returncode == 0, said(done)
    result = json.loads(done.stdout)
    assert result["state"] == "printed" and result["journaled"] and result["copy"] == "reprint"
    assert raw(data_dir, "SELECT copy, state FROM print_jobs WHERE id=?", (result["job"],)) == [("reprint", "printed")]
    printer.wait_for(lambda p: len(p.jobs) > before, 10)
    receipt = decode(printer.jobs[-1])
    assert any("REPRINT" in line for line in receipt.texts) and any("15.75" in line for line in receipt.texts)


def test_print_beside_a_running_till_goes_straight_to_the_printer_unjournaled(till, printer):
    data_dir, paid, _unpaid = till
    [(jobs_before,)] = raw(data_dir, "SELECT COUNT(*) FROM print_jobs")
    before = len(printer.jobs)
    with Runtime(None, data_dir, background=False, printing=False):   # the till holds the journal
        done = cli("receipt", paid, "--print", data_dir=data_dir)
    assert done.returncode == 0, said(done)
    assert "straight to the printer" in done.stderr and "not in the print journal" in done.stderr
    assert raw(data_dir, "SELECT COUNT(*) FROM print_jobs") == [(jobs_before,)]
    printer.wait_for(lambda p: len(p.jobs) > before, 10)
    assert sum(paid in line for line in decode(printer.jobs[-1]).texts) >= 1


@pytest.mark.parametrize("case", ["unknown", "unpaid", "unwritable", "no option", "two options", "10 kB"])
def test_a_mistake_is_said_in_words(till, tmp_path, case):
    data_dir, paid, unpaid = till
    args = {"unknown": ("receipt", "PR-NO-SUCH-SALE", "--pdf", tmp_path / "x.pdf"),
            "unpaid": ("receipt", unpaid, "--print"),
            "unwritable": ("receipt", paid, "--pdf", tmp_path / "no" / "such" / "folder" / "r.pdf"),
            "no option": ("receipt", paid),
            "two options": ("receipt", paid, "--print", "--png", tmp_path / "x.png"),
            "10 kB": ("receipt", "PR" + "9" * 10_000, "--pdf", tmp_path / "x.pdf")}[case]
    done = cli(*args, data_dir=data_dir)
    text = said(done)
    assert done.returncode == 2, text
    expected = {"unknown": "no transaction 'PR-NO-SUCH-SALE'", "unpaid": f"sale {unpaid} was not paid",
                "unwritable": "cannot write", "no option": "give one of --print, --pdf FILE or --png FILE",
                "two options": "give one of them", "10 kB": "no transaction 'PR" + "9" * 30 + "… "
                                                           "(10002 characters)"}[case]
    assert expected in text, text
    assert len(text) < 1000, "the argument is named, not echoed back whole"
    if case == "unpaid":
        assert "there is no receipt for it" in text and f"report --txn {unpaid}" in text


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_a_receipt_file_on_a_full_disk_is_said_and_leaves_nothing_cut(till, small_disk, fmt):
    """A full disk: said in words with what to do (free space, not 'pick a folder'), exit 2, and no empty or
    cut file left behind, nor a good receipt of that name cut short by the failed write over it."""
    from disks import fill
    data_dir, paid, _unpaid = till
    disk = small_disk("256k")
    good = disk / f"kept.{fmt}"
    assert cli("receipt", paid, f"--{fmt}", good, data_dir=data_dir).returncode == 0
    before = good.read_bytes()
    fill(disk)
    for target in (disk / f"new.{fmt}", good):
        done = cli("receipt", paid, f"--{fmt}", target, data_dir=data_dir)
        text = said(done)
        assert done.returncode == 2 and f"cannot write {target}: No space left on device" in text, text
        assert "free some space on that disk" in text, text
    assert sorted(p.name for p in disk.iterdir() if not p.name.startswith("filler")) == [good.name]
    assert good.read_bytes() == before


def test_print_with_no_printer_configured_says_so_and_files_still_work(tmp_path):
    data_dir = tmp_path / "t"
    with Runtime(None, data_dir) as rt:
        sale = services.sales.sale(services.counter(), rt.terminal, usd(100), code=payment_code())
    done = cli("receipt", sale.id, "--print", data_dir=data_dir)
    assert done.returncode == 2 and "no printer configured" in said(done), said(done)
    assert "--pdf FILE" in done.stderr
    assert raw(data_dir, "SELECT COUNT(*) FROM print_jobs") == [(0,)], "nothing is journaled without a printer"
    assert cli("receipt", sale.id, "--png", tmp_path / "r.png", data_dir=data_dir).returncode == 0
    done = cli("printer", "--json", data_dir=data_dir)
    assert done.returncode == 0 and json.loads(done.stdout)["configured"] is False, said(done)


def test_printer_says_its_state_in_words(till, printer):
    data_dir, _paid, _unpaid = till
    done = cli("printer", data_dir=data_dir)
    assert done.returncode == 0 and "ready" in done.stdout, said(done)
    printer.state = "paper_out"
    try:
        done = cli("printer", "--json", data_dir=data_dir)
    finally:
        printer.state = "ok"
    state = json.loads(done.stdout)
    assert done.returncode == 1 and state["paper"] == "out" and "paper out" in state["words"], said(done)


@pytest.mark.parametrize("case", ["plain file", "fifo", "folder", "unknown host"])
def test_printer_says_why_a_wrong_printer_setting_cannot_work(till, tmp_path, case):
    """A [printer] that points at no printer: the state in words and, on the next line, why (not 'check its
    power and cable' alone for a setting no cable fixes), exit 1, never a traceback."""
    import os
    data_dir, _paid, _unpaid = till
    target = tmp_path / "ttyUSB0"
    if case == "plain file":
        target.write_text("not a port\n")
    elif case == "fifo":
        os.mkfifo(target)
    elif case == "folder":
        target.mkdir()
    printer_lines = ('kind = "network"\nhost = "printer.invalid"\ntimeout = 1' if case == "unknown host" else
                     f'kind = "serial"\ndevice = "{target}"\ntimeout = 1')
    own = (data_dir / "sandbox-gateway" / "terminal.toml").read_text().split("\n[printer]")[0]
    # beside the sandbox's own config: its relative paths (the keys, [settlement]'s SFTP files) stay valid
    config = data_dir / "sandbox-gateway" / f"printer-{case.replace(' ', '-')}.toml"
    config.write_text(own + "\n[printer]\n" + printer_lines + "\n")
    done = cli("printer", config=config, data_dir=data_dir, timeout=60)
    text = said(done)
    assert done.returncode == 1, text
    lines = done.stdout.splitlines()
    assert lines[0] == "Printer: offline — check its power and cable", text
    expected = {"plain file": "not a serial port (a plain file or a pipe?)", "fifo": "not a serial port",
                "folder": "a folder, not a device", "unknown host": "printer.invalid:9100: unknown host name"}[case]
    assert expected in lines[1], text
    done = cli("printer", "--json", config=config, data_dir=data_dir, timeout=60)
    assert expected in json.loads(done.stdout)["detail"], said(done)


def test_a_z_with_print_and_no_printer_is_refused_before_the_z_is_taken(tmp_path):
    from flowkit import MANAGER_PIN, set_manager_pin
    data_dir = tmp_path / "t"
    with Runtime(None, data_dir) as rt:
        assert services.sales.sale(services.counter(), rt.terminal, usd(100), code=payment_code()).status == "SUCCESS"
    set_manager_pin(data_dir)
    done = cli("report", "--z", "--print", data_dir=data_dir, input=MANAGER_PIN + "\n")
    assert done.returncode == 2 and "no printer configured" in said(done), said(done)
    assert raw(data_dir, "SELECT COUNT(*) FROM z_reports") == [(0,)], "the session is still open"
