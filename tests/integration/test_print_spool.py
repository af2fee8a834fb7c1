"""The print spool on a real journal file: each figure checked with plain SQL over the raw rows."""

from __future__ import annotations

import json

import pytest
from flowkit import journal_query

from offline_queue import spool
from offline_queue.journal import Journal

raw = journal_query   # plain SQL over the journal file


@pytest.fixture
def journal(tmp_path):
    with Journal.open(tmp_path) as j:
        yield j


def test_a_job_goes_waiting_printing_printed_with_its_body(journal, tmp_path):
    job = spool.enqueue(journal, "receipt", "PR1", "customer", {"kind": "receipt", "lines": ["hello"]})
    assert raw(tmp_path, "SELECT kind, txn, copy, state, tries FROM print_jobs WHERE id=?", (job,)) == [
        ("receipt", "PR1", "customer", "waiting", 0)]
    assert json.loads(raw(tmp_path, "SELECT body FROM print_jobs WHERE id=?", (job,))[0][0])["lines"] == ["hello"]
    assert [j.id for j in spool.pending(journal)] == [job]
    assert spool.claim(journal, job)
    assert not spool.claim(journal, job), "a job is claimed once"
    assert raw(tmp_path, "SELECT state, tries FROM print_jobs WHERE id=?", (job,)) == [("printing", 1)]
    assert spool.pending(journal) == []
    spool.done(journal, job)
    [(state, printed_at, error)] = raw(tmp_path, "SELECT state, printed_at, last_error FROM print_jobs WHERE id=?",
                                       (job,))
    assert (state, error) == ("printed", None) and printed_at is not None


def test_a_failed_job_keeps_its_reason_until_a_reprint_which_is_a_new_job(journal, tmp_path):
    job = spool.enqueue(journal, "receipt", "PR2", "customer", {"v": 1})
    spool.claim(journal, job)
    spool.failed(journal, job, "paper out")
    assert raw(tmp_path, "SELECT state, last_error FROM print_jobs WHERE id=?", (job,)) == [("failed", "paper out")]
    assert [j.id for j in spool.unresolved_failures(journal)] == [job]
    again = spool.reprint(journal, job)
    assert again != job
    assert raw(tmp_path, "SELECT kind, txn, copy, state, body FROM print_jobs WHERE id=?", (again,)) == [
        ("receipt", "PR2", "reprint", "waiting", '{"v":1}')]
    assert raw(tmp_path, "SELECT state, last_error FROM print_jobs WHERE id=?", (job,)) == [("failed", "paper out")]
    assert spool.unresolved_failures(journal) == [], "a reprinted failure no longer waits for one"
    assert [j.id for j in spool.for_txn(journal, "PR2")] == [job, again]


def test_an_automatic_slip_is_journaled_once_per_transaction_and_copy(journal, tmp_path):
    first = spool.enqueue_auto(journal, "receipt", "PR3", "customer", {"a": 1})
    assert first is not None
    assert spool.enqueue_auto(journal, "receipt", "PR3", "customer", {"a": 1}) is None
    merchant = spool.enqueue_auto(journal, "receipt", "PR3", "merchant", {"a": 1})
    assert merchant is not None
    assert spool.auto_job_exists(journal, "PR3", "customer") and spool.auto_job_exists(journal, "PR3", "merchant")
    assert not spool.auto_job_exists(journal, "PR4", "customer")
    assert raw(tmp_path, "SELECT copy, COUNT(*) FROM print_jobs WHERE txn='PR3' GROUP BY copy ORDER BY copy") == [
        ("customer", 1), ("merchant", 1)]


def test_at_start_a_job_cut_off_mid_print_is_failed_never_resent(tmp_path):
    with Journal.open(tmp_path) as j:
        cut = spool.enqueue(j, "receipt", "PR5", "customer", {})
        spool.claim(j, cut)
        young = spool.enqueue(j, "receipt", "PR6", "customer", {})
        old = spool.enqueue(j, "receipt", "PR7", "customer", {}, now=1000.0)
    with Journal.open(tmp_path) as j:   # the next start
        assert sorted(spool.recover(j, stale_after=600)) == sorted([cut, old])
    rows = {i: (s, e) for i, s, e in raw(tmp_path, "SELECT id, state, last_error FROM print_jobs")}
    assert rows[cut] == ("failed", spool.INTERRUPTED)
    assert rows[old] == ("failed", spool.NOT_PRINTED)
    assert rows[young] == ("waiting", None)
