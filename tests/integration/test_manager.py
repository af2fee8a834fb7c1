"""Manager mode without a screen: PINs (scrypt, lockout that survives a restart), the audit log, X and Z
reports (numbered, chained, immutable in the database) and review, in this process (their CLI is
e2e/test_manager_cli.py's)."""

from __future__ import annotations

import sqlite3

import pytest
from flowkit import day_of_sales
from kit import payment_code, usd

from offline_queue.journal import Journal, JournalError
from pos_app import closing
from pos_app.i18n import set_language
from pos_app.roles import LOCK_SECONDS, MANAGER, MAX_TRIES, PinBook, PinError, audit_log
from pos_app.runtime import Runtime


@pytest.fixture(autouse=True)
def english():
    set_language("en")


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_pin_is_stored_as_scrypt_and_checked(tmp_path):
    with Journal.open(tmp_path) as journal:
        book = PinBook(journal)
        assert not book.is_set(MANAGER)
        with pytest.raises(PinError, match="no manager PIN is set yet"):
            book.verify(MANAGER, "1234")
        book.set(MANAGER, "482915")
        book.verify(MANAGER, "482915")
        row = journal.query("SELECT * FROM pins WHERE role='manager'")[0]
        assert b"482915" not in bytes(row["hash"]) and len(row["salt"]) == 16 and row["n"] >= 2 ** 14
        with pytest.raises(PinError, match="already set"):
            book.set(MANAGER, "111111")
        book.set(MANAGER, "111111", current="482915")
        book.verify(MANAGER, "111111")
    raw = (tmp_path / "journal.sqlite").read_bytes()
    assert b"111111" not in raw and b"482915" not in raw


@pytest.mark.parametrize("pin", ["12", "abcd", "1234567890123", ""])
def test_pin_format(tmp_path, pin):
    with Journal.open(tmp_path) as journal, pytest.raises(PinError, match="4 to 12 digits"):
        PinBook(journal).set(MANAGER, pin)


def test_five_wrong_tries_lock_for_five_minutes_even_across_a_restart(tmp_path):
    clock = Clock()
    with Journal.open(tmp_path) as journal:
        book = PinBook(journal, clock=clock)
        book.set(MANAGER, "482915")
        for i in range(1, MAX_TRIES):
            with pytest.raises(PinError, match=f"{MAX_TRIES - i} tries left"):
                book.verify(MANAGER, "000000")
        with pytest.raises(PinError, match="now locked for 5 minutes"):
            book.verify(MANAGER, "000000")
    with Journal.open(tmp_path) as journal:  # a restart does not unlock it
        book = PinBook(journal, clock=clock)
        clock.t += 60
        with pytest.raises(PinError, match="locked for 4 min 0 s"):
            book.verify(MANAGER, "482915")  # even the right PIN waits
        clock.t += LOCK_SECONDS
        book.verify(MANAGER, "482915")
        with pytest.raises(PinError, match="4 tries left"):  # the count starts again after a lock
            book.verify(MANAGER, "000000")
        actions = [e["action"] for e in audit_log(journal)]
        assert actions.count("pin_wrong") == MAX_TRIES + 1 and "pin_set" in actions


def test_z_report_numbers_totals_and_immutability(sim, tmp_path):
    config, data_dir, day = day_of_sales(sim, tmp_path / "t")
    with Journal.open(data_dir) as journal:
        x = closing.x_report(journal)
        usd_totals = x["totals"]["USD"]
        assert usd_totals["sale"]["SUCCESS"] == {"count": 2, "value": 1250}
        assert usd_totals["sale"]["FAILED"] == {"count": 1, "value": 9905}
        assert usd_totals["refund"]["SUCCESS"] == {"count": 1, "value": 300}
        assert usd_totals["net"] == 950
        assert x["session"]["number"] == 1 and x["session"]["count"] == 4
        z = closing.take_z(journal, by="alice")
        assert z["number"] == 1 and z["totals"] == x["totals"] and z["takenBy"] == "alice" and z["day"] == day
        with pytest.raises(closing.ClosingError, match="nothing to close") as refused:
            closing.take_z(journal, by="alice")
        assert "pos-terminal report --z --number 1" in refused.value.hint
    with Runtime(config, data_dir, background=False) as rt:   # the next sale opens session 2
        rt.terminal.start_sale(usd(700), code=payment_code())
    with Journal.open(data_dir) as journal:
        z2 = closing.take_z(journal, by="bob")
        assert z2["number"] == 2 and z2["session"]["previousZ"] == 1 and z2["totals"]["USD"]["net"] == 700
        assert [r["number"] for r in closing.z_reports(journal)] == [1, 2]
        assert closing.verify_chain(journal) == []
        for sql in ("UPDATE z_reports SET body='{}' WHERE number=1", "DELETE FROM z_reports WHERE number=1",
                    "UPDATE audit SET action='x'", "DELETE FROM audit"):
            with pytest.raises(JournalError, match=r"cannot be altered|append-only"), journal.transaction() as c:
                c.execute(sql)
        assert closing.get_z(journal, number=1) == z
        assert closing.reprint_z(journal, 1) == {**z, "reprint": True}
    # Even with the triggers dropped by hand, the chain tells.
    conn = sqlite3.connect(data_dir / "journal.sqlite")
    conn.execute("DROP TRIGGER z_reports_no_update")
    conn.execute("UPDATE z_reports SET body=replace(body, '1250', '9999') WHERE number=1")
    conn.commit()
    conn.close()
    with Journal.open(data_dir) as journal:
        assert closing.verify_chain(journal) == ["Z report #1 does not match its hash"]




@pytest.mark.parametrize("typed", ["1e400", "-1e400", "100000000000000", "nan", "inf", "12,5"])
def test_the_day_filter_refuses_an_amount_it_cannot_look_up_in_words(tmp_path, typed):
    """What a manager types in the day table's amount boxes: refused in words, never past SQLite's integers
    (1e400 reached the query and came back as the bug path)."""
    from pos_app.errors import PosError
    from pos_app.services import manager

    with pytest.raises(PosError) as err:
        manager.day_filter("2026-12-06", min_amount=typed)
    assert "is not an amount" in err.value.message
    with Journal.open(tmp_path) as journal:
        fine = manager.day_filter("2026-12-06", min_amount="99999999999999.99", max_amount="0.5")
        assert manager.day_count(journal, fine) == 0


# -- where PINs come from (issue 15, 3.5) ---------------------------------------------------------------
def test_the_technician_pin_may_not_be_the_managers_either_way(tmp_path):
    from pos_app import services
    from pos_app.roles import TECHNICIAN

    with Journal.open(tmp_path) as journal:
        services.technician.pin_set(services.shell("root"), journal, MANAGER, "482915")
        with pytest.raises(PinError, match="the technician PIN may not be the same as the manager PIN") as refused:
            services.technician.pin_set(services.shell("root"), journal, TECHNICIAN, "482915")
        assert "each mode has its own" in refused.value.hint
        assert not PinBook(journal).is_set(TECHNICIAN)          # nothing was stored
        services.technician.pin_set(services.shell("root"), journal, TECHNICIAN, "135790")
        with pytest.raises(PinError, match="the manager PIN may not be the same as the technician PIN"):
            services.technician.pin_set(services.shell("root"), journal, MANAGER, "135790", current="482915")
        PinBook(journal).verify(MANAGER, "482915")              # the manager's is unchanged
        with pytest.raises(PinError, match="wrong PIN"):         # a stranger learns nothing about the other PIN
            services.technician.pin_set(services.shell("root"), journal, MANAGER, "135790", current="000000")
        assert [e["action"] for e in audit_log(journal)].count("pin_set") == 2


def test_outside_sandbox_mode_the_window_does_not_choose_a_first_pin(tmp_path):
    from pos_app import services
    from pos_app.services.registry import CHOOSE, VERIFY, pin_entry

    with Journal.open(tmp_path) as journal:
        assert pin_entry(journal, MANAGER, sandbox=True) == CHOOSE
        with pytest.raises(PinError, match="No manager PIN is set on this terminal") as refused:
            pin_entry(journal, MANAGER, sandbox=False)
        assert "pos-terminal pin set manager" in refused.value.hint and "pos-terminal setup" in refused.value.hint
        services.technician.pin_set(services.shell("root"), journal, MANAGER, "482915")
        assert pin_entry(journal, MANAGER, sandbox=False) == VERIFY
        assert pin_entry(journal, MANAGER, sandbox=True) == VERIFY


def test_a_sale_with_a_refund_offers_no_cancel_as_the_terminal_refuses_it(sim, tmp_path):
    """The Day tab's "Cancel sale…" follows sale_actions: a sale with a refund (partly or fully refunded) can
    no longer be cancelled (the gateway refuses a cancel after a refund), so the button must not offer it;
    the one without a refund still may. Checked against the terminal's own refusal, not the same rule."""
    from pos_app import services
    from pos_app.errors import PosError

    config, data_dir, _day = day_of_sales(sim, tmp_path / "t")
    with Runtime(config, data_dir, background=False) as rt:
        t = rt.terminal
        rows = {r["amount"]: r for r in t.journal.query("SELECT * FROM transactions WHERE kind='sale'")}
        refunded, untouched = rows[1000], rows[250]
        assert services.manager.detail(t, refunded["id"])["actions"].can_cancel is False
        with pytest.raises(PosError, match="has a refund"):
            t.cancel(refunded["id"])
        assert services.manager.detail(t, untouched["id"])["actions"].can_cancel is True
