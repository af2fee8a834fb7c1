"""Printing as a service: slips journaled before they are printed, a worker that prints them, and the
printer's state in words for the cashier's screen.

The promise is the payment's: a print never delays a sale, and a slip that did not print is never lost.

- :meth:`Printing.changed` is the terminal's ``on_change`` listener. It runs on the thread that moved the
  sale (the payment's own), so it only puts the id on the worker's queue: no SQL, no printer I/O there.
- The worker has two threads. The first loads the transaction and, when a sale became paid (``[receipts]
  customer = "auto"``), or a refund or a cancel of a paid sale succeeded (``refund_slip``), builds the slip
  (:mod:`pos_app.slip`) and journals it (:mod:`offline_queue.spool`, once per transaction and copy). The
  second does the printer's I/O: it renders the ESC/POS bytes, sends them (:mod:`drivers.printer`) and
  marks the job printed or failed with the printer's words. Two, so that a printer hanging in a status
  question (up to ``[printer] timeout``) never keeps a slip out of the journal.
- A failed job stays failed with its reason until a person reprints it (:meth:`Printing.reprint`); a job
  a crash cut off mid-print is failed at the next start (it may be printed in part), never resent unasked.
- The worker asks the printer for its status every few seconds while idle, and at once before each job;
  :attr:`Printing.on_state` listeners get a :class:`PrinterState` whenever what a person should read changes.
- :meth:`Printing.print_now` (a reprint, an X or Z report, a test page) goes through the same journal and
  worker. With ``[printer] kind = "none"`` nothing is journaled by itself and printing is refused in words;
  the PDF and PNG files of :mod:`pos_app.slip` still work.

:class:`Direct` prints without a journal: ``pos-terminal receipt --print`` beside a running till, whose
journal only that till writes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from offline_queue import spool
from offline_queue.journal import JournalError

from .config import Config
from .errors import PosError
from .i18n import N_, _, stored
from .listeners import Listeners
from .vocabulary import CANCEL, CANCELLED, REFUND, SALE, SUCCESS

log = logging.getLogger(__name__)

POLL_IDLE = 3.0          # seconds between status questions while nothing prints
QUIET = 2.0              # ... and since the last change of a transaction: none while sales are being taken
SETTLE, SETTLE_MAX = 0.02, 0.05  # a change is journaled after this long without another (at most SETTLE_MAX)
STALE_WAITING = 600.0    # a job still waiting at start, older than this, is failed rather than printed unasked
STOP_WAIT = 10.0         # seconds stop() lets the worker finish what is queued
RETRY_UNSAVED = 5.0      # seconds between tries to journal a slip the journal refused (a full disk)

#: Slip kinds (the ``kind`` of a print job and of a :class:`pos_app.slip.Slip`).
RECEIPT, REFUND_SLIP, CANCEL_SLIP, X, Z, TEST = "receipt", "refund", "cancel", "x", "z", "test"
#: The slip a settled transaction of each kind gets.
SLIP_OF = {SALE: RECEIPT, REFUND: REFUND_SLIP, CANCEL: CANCEL_SLIP}

#: A job's state as a person reads it.
JOB_WORDS = {spool.WAITING: N_("waiting to print"), spool.PRINTING: N_("printing"), spool.PRINTED: N_("printed"),
             spool.FAILED: N_("not printed")}
NONE_CONFIGURED = N_("no printer configured")
NONE_HINT = N_("set [printer] kind and its address in the config (`pos-terminal devices` lists the printers it "
               "finds), or write the slip to a file: --pdf FILE or --png FILE")


def no_printer() -> PosError:
    return PosError(_("there is no printer: {what}").format(what=_(NONE_CONFIGURED)), hint=_(NONE_HINT))


@dataclass(frozen=True)
class Printed:
    """What became of one print request: its job (None when sent directly, unjournaled) and its state."""

    job: int | None
    kind: str
    txn: str | None
    copy: str | None
    state: str                      # waiting | printing | printed | failed
    error: str | None = None        # the printer's words when it failed
    journaled: bool = True

    @property
    def ok(self) -> bool:
        return self.state == spool.PRINTED

    @property
    def words(self) -> str:
        what = _(JOB_WORDS.get(self.state, self.state))
        text = (_("print job {job}: {state}").format(job=self.job, state=what) if self.job is not None else
                _("sent directly to the printer (not journaled: the running till keeps the journal): {state}"
                  ).format(state=what))
        return text + (f" ({stored(self.error)})" if self.error else "")

    def to_json(self) -> dict:
        return {"job": self.job, "kind": self.kind, "txn": self.txn, "copy": self.copy, "state": self.state,
                "error": self.error, "journaled": self.journaled}


@dataclass(frozen=True)
class PrinterState:
    """The printer as the cashier's screen shows it: configured or not, its status, and the slips that
    wait for a reprint."""

    kind: str                           # none | network | usb | serial
    online: bool = False
    paper: str | None = None            # ok | low | out (None: not known)
    cover_open: bool = False
    ready: bool = False
    status_words: str = ""              # the driver's words for the status
    failed: tuple[int, ...] = ()        # jobs that failed and were not reprinted yet
    last_error: str | None = None       # the newest of those jobs' reasons
    checked_at: float | None = None     # when the printer was last asked (None: never)
    detail: str = ""                    # why, for the technician: the status bytes, or why nothing came
    unsaved: tuple[str, ...] = ()       # transactions whose slip the journal refused (a full disk): retried
    unsaved_error: str | None = None    # ... and the journal's words why

    @property
    def configured(self) -> bool:
        return self.kind != "none"

    @property
    def words(self) -> str:
        """One line for a person: the printer's state, then what waits for a reprint."""
        if not self.configured:
            head = _("Printer: {what}").format(what=_(NONE_CONFIGURED))
        elif self.checked_at is None:
            head = _("Printer: not checked yet")
        else:   # the driver's words name the printer already ("Printer: paper out — load a new roll")
            head = self.status_words or (_("Printer: ready") if self.ready else _("Printer: not ready"))
        if self.failed:
            head += " · " + _("{count} slip(s) not printed ({reason}): reprint them when the printer is ready").format(
                count=len(self.failed), reason=stored(self.last_error or ""))
        if self.unsaved:
            head += " · " + _("{count} slip(s) not saved ({reason}): they print once the journal can save them; "
                              "the sales themselves are kept").format(count=len(self.unsaved),
                                                                      reason=self.unsaved_error or "")
        return head

    def to_json(self) -> dict:
        return {"kind": self.kind, "configured": self.configured, "online": self.online, "paper": self.paper,
                "coverOpen": self.cover_open, "ready": self.ready, "statusWords": self.status_words,
                "failedJobs": list(self.failed), "lastError": self.last_error, "checkedAt": self.checked_at,
                "detail": self.detail, "unsavedSlips": list(self.unsaved), "unsavedError": self.unsaved_error,
                "words": self.words}


# -- what a transaction's slip is ----------------------------------------------------------------------
def slip_of(journal, config: Config, row, copy: str):
    """The slip of a settled transaction (a journal row): a paid sale's receipt, a refund's or a manager's
    cancel's slip, in the receipts' language. A PosError, in words, when it has none."""
    from . import slip as slips
    refuse_unprintable(journal, row)
    events = journal.events(row["id"])   # the builders speak the receipts' language themselves
    if row["kind"] == SALE:
        return slips.sale_receipt(row, events, config, copy=copy)
    sale = journal.get(row["parent"])
    build = slips.refund_slip if row["kind"] == REFUND else slips.cancel_slip
    return build(row, sale, events, config, copy=copy, sale_events=journal.events(sale["id"]))


def printable(journal, row) -> bool:
    """Whether a transaction has a slip: a paid sale (also one a manager reversed later: it was paid, its
    receipt stands, and the cancel has its own slip), a refund that was done, a cancel that reversed a sale."""
    if row["status"] == SUCCESS:
        return row["kind"] in SLIP_OF
    return row["kind"] == SALE and row["status"] == CANCELLED and any(
        c["kind"] == CANCEL and c["status"] == SUCCESS for c in journal.children(row["id"]))


def refuse_unprintable(journal, row) -> None:
    """Nothing but a :func:`printable` transaction has a slip: refused, saying what there is instead."""
    from .vocabulary import KIND_WORDS, status_words
    if printable(journal, row):
        return
    kind, status = row["kind"], _(status_words(row["kind"], row["status"]))
    if kind == SALE:
        slips = [c["id"] for c in journal.children(row["id"]) if c["status"] == SUCCESS]
        raise PosError(_("sale {id} was not paid ({status}): there is no receipt for it").format(id=row["id"],
                                                                                                status=status),
                       hint=(_("its refund and cancel slips: {ids}").format(ids=", ".join(slips)) if slips else
                             _("`pos-terminal report --txn {id}` shows what happened to it").format(id=row["id"])))
    raise PosError(_("{kind} {id} did not go through ({status}): there is no slip for it").format(
                       kind=_(KIND_WORDS.get(kind, kind)), id=row["id"], status=status),
                   hint=_("`pos-terminal report --txn {id}` shows what happened to it").format(id=row["id"]))


def escpos_of(body: str | dict, config: Config) -> bytes:
    """A journaled slip as the printer's bytes, with the acceptance mark configured now (or its words)."""
    from . import slip as slips
    return slips.escpos_bytes(slips.Slip.from_json(body), config.printer.columns, mark=slips.mark_of(config))


# -- the printer, asked and sent to ----------------------------------------------------------------------
def _open(config: Config, opener: Callable | None):
    if opener is not None:
        return opener(config.printer)
    from drivers.printer import open_printer
    return open_printer(config.printer)


def ask_status(config: Config, opener: Callable | None = None) -> PrinterState:
    """Ask the printer now (it may take up to ``[printer] timeout``); never raises for what the printer says."""
    return deliver(config, None, opener)[0]


def deliver(config: Config, data: bytes | None, opener: Callable | None = None) -> tuple[PrinterState, str | None]:
    """Open the printer and send ``data`` (the driver asks its status first and sends nothing to a printer
    that cannot print), or with ``data`` None only ask: (its state, None when it took the bytes, else the
    words why not). Closed after: a network printer serves one client at a time, and a command beside the
    till may need it too. Never raises for what the printer says."""
    kind = config.printer.kind
    if kind == "none":
        return PrinterState(kind), _(NONE_CONFIGURED)
    now = time.time()
    try:
        printer = _open(config, opener)
    except Exception as exc:  # noqa: BLE001 -- a PrinterError's words, or whatever else the device said
        words = _words(exc)
        return PrinterState(kind, status_words=words, checked_at=now), words
    try:
        status = printer.status() if data is None else printer.send(data)
        return _state(kind, status, now), None
    except Exception as exc:  # noqa: BLE001 -- the device's own failure is this print's answer
        words = _words(exc)
        status = getattr(exc, "status", None)
        state = _state(kind, status, now) if status is not None else \
            PrinterState(kind, status_words=words, checked_at=now)
        return state, words
    finally:
        try:
            printer.close()
        except Exception:   # closing a printer that went away: nothing left to do
            log.debug("closing the printer failed", exc_info=True)


def _state(kind: str, s, now: float) -> PrinterState:
    """A :class:`PrinterState` from the driver's :class:`~drivers.printer.PrinterStatus`."""
    return PrinterState(kind, online=bool(s.online), paper=s.paper, cover_open=bool(s.cover_open),
                        ready=bool(s.ready), status_words=s.words, checked_at=now, detail=s.detail)


def _words(exc: BaseException) -> str:
    if not isinstance(exc, PosError) and not isinstance(exc, OSError):
        log.warning("printing failed: %r", exc)
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


# -- the service --------------------------------------------------------------------------------------------
_STOP = object()


class Printing:
    """The print worker of one running terminal. ``terminal`` gives the journal and ``on_change`` (None:
    a journal alone, e.g. a command that prints one slip); ``opener(printer_config)`` opens the printer
    (default :func:`drivers.printer.open_printer`)."""

    def __init__(self, terminal, config: Config, *, journal=None, opener: Callable | None = None,
                 poll: float = POLL_IDLE) -> None:
        self.terminal = terminal
        self.journal = journal if journal is not None else terminal.journal
        self.config = config
        self.opener = opener
        self.poll = poll
        self.on_state = Listeners("printer state")   # (PrinterState): the cashier's printer line
        self.on_job = Listeners("print job")         # (Printed): a job moved
        self.state = PrinterState(config.printer.kind)
        self._changes: queue.Queue = queue.Queue()   # transaction ids, for the journaling thread
        self._jobs: queue.Queue = queue.Queue()      # job ids and status questions, for the printer thread
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._finished = threading.Condition()
        self._last_change = float("-inf")   # time.monotonic() of the last reported change
        self._unsaved: dict[str, str] = {}   # txn id -> the journal's words: slips to journal again (journaling thread)
        self.recovered: list[int] = []

    @property
    def configured(self) -> bool:
        return self.config.printer.kind != "none"

    # -- life ------------------------------------------------------------------------------------------
    def start(self) -> Printing:
        """Fail what a crash cut off, subscribe to the terminal's changes and start the worker."""
        self.recovered = spool.recover(self.journal, stale_after=STALE_WAITING)
        if self.recovered:
            log.warning("print jobs %s were cut off by a stop or crash: failed, waiting for a reprint", self.recovered)
        failures = spool.unresolved_failures(self.journal)
        self.state = replace(self.state, failed=tuple(j.id for j in failures),
                             last_error=failures[-1].last_error if failures else None)
        if self.terminal is not None and self.configured:
            self._unsubscribe = self.terminal.on_change.add(self.changed)
            # Settled moments before a crash (or by a run that did not print), whose slip never got journaled.
            for txn_id in spool.settled_without_slip(self.journal, time.time() - STALE_WAITING):
                self._changes.put(txn_id)
        for job in spool.pending(self.journal):
            self._jobs.put(("job", job.id))
        self._threads = [threading.Thread(target=self._journaling, name="printing-journal", daemon=True),
                         threading.Thread(target=self._printing, name="printing", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """Stop taking changes, journal the slips of those already reported, let the printer finish what is
        queued (at most ``timeout`` seconds: what is left stays journaled, waiting), then end both threads."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self._threads:
            return
        journaling, printing = self._threads
        self._changes.put(_STOP)
        journaling.join()   # journal and slips only, no printer I/O: what was reported is journaled
        self._jobs.put(_STOP)
        printing.join(timeout)
        if printing.is_alive():
            log.warning("the printer did not finish within %.0f s; what is left waits in the journal", timeout)
        self._threads = []

    def __enter__(self) -> Printing:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the caller's side: no SQL, no printer I/O ----------------------------------------------------------
    def changed(self, txn_id: str) -> None:
        """The terminal's ``on_change`` listener: hand the id to the worker, nothing more (and note when:
        the idle status questions wait for a quiet moment)."""
        self._last_change = time.monotonic()
        self._changes.put(txn_id)

    def check_now(self) -> None:
        """Ask the worker to ask the printer now (the state arrives through :attr:`on_state`)."""
        self._jobs.put(("poll", None))

    def status_now(self, timeout: float) -> PrinterState:
        """Have the worker ask the printer now and wait (at most ``timeout`` seconds) for its answer: the
        printer is asked by one thread only, the one that prints (a USB printer has one owner)."""
        asked = threading.Event()
        self._jobs.put(("poll", asked))
        asked.wait(timeout)
        return self.state

    def print_now(self, doc, kind: str, txn: str | None = None, copy: str | None = None, *,
                  wait: float | None = None) -> Printed:
        """Journal ``doc`` (a :class:`pos_app.slip.Slip`) and hand it to the worker; with ``wait``, wait
        that many seconds for its outcome. Refused in words when no printer is configured."""
        if not self.configured:
            raise no_printer()
        job = spool.enqueue(self.journal, kind, txn, copy, doc.to_json())
        return self._submit(job, wait)

    def reprint(self, job_id: int, doc=None, *, wait: float | None = None) -> Printed:
        """A new job (copy ``reprint``) for job ``job_id``'s slip (or ``doc``, rebuilt as a reprint)."""
        if not self.configured:
            raise no_printer()
        try:
            job = spool.reprint(self.journal, job_id, None if doc is None else doc.to_json())
        except KeyError:
            raise PosError(_("there is no print job {job}").format(job=job_id)) from None
        return self._submit(job, wait)

    def _submit(self, job: int, wait: float | None) -> Printed:
        self._jobs.put(("job", job))
        if wait is not None:
            return self.wait(job, wait)
        return self.printed(job)

    def printed(self, job_id: int) -> Printed:
        job = spool.get(self.journal, job_id)
        if job is None:
            raise PosError(_("there is no print job {job}").format(job=job_id))
        return Printed(job.id, job.kind, job.txn, job.copy, job.state, job.last_error)

    def wait(self, job_id: int, timeout: float) -> Printed:
        """Wait until job ``job_id`` is printed or failed, or ``timeout`` seconds pass; it as it then is."""
        deadline = time.monotonic() + timeout
        with self._finished:
            while True:
                result = self.printed(job_id)
                left = deadline - time.monotonic()
                if result.state in (spool.PRINTED, spool.FAILED) or left <= 0:
                    return result
                self._finished.wait(min(left, 0.5))

    # -- the worker -------------------------------------------------------------------------------------
    def _journaling(self) -> None:
        """The first thread: a reported change becomes its journaled slips (SQL and the slip, never the
        printer), so a slip is in the journal even while the printer hangs in a status question."""
        while True:
            try:   # slips the journal refused are tried again every RETRY_UNSAVED seconds, and with any change
                batch = [self._changes.get(timeout=RETRY_UNSAVED if self._unsaved else None)]
            except queue.Empty:
                batch = []
            # Let the payment's thread finish first: the change is reported inside its commit, and the sale
            # returns to its caller just after. Wait for a moment with no change (at most SETTLE_MAX).
            deadline = time.monotonic() + SETTLE_MAX
            while batch and batch[-1] is not _STOP and (left := deadline - time.monotonic()) > 0:
                try:
                    batch.append(self._changes.get(timeout=min(SETTLE, left)))
                except queue.Empty:
                    break
            for txn_id in dict.fromkeys([*self._unsaved, *batch]):   # each once, the refused ones first
                if txn_id is _STOP:
                    if self._unsaved:
                        log.warning("slips of %s not journaled (%s): the next start journals them if they are "
                                    "recent", list(self._unsaved), next(iter(self._unsaved.values())))
                    return
                self._journal_slips(txn_id)

    def _journal_slips(self, txn_id: str) -> None:
        """Journal a transaction's slips; one the journal refuses (a full disk) is kept to be tried again and
        said on the printer's line, never dropped with a line in the log."""
        try:
            self._settled(txn_id)
        except JournalError as exc:
            log.warning("printing: the slip of %s is not journaled yet: %s", txn_id, exc.message)
            self._unsaved[txn_id] = exc.message
        except Exception:   # a bug in printing must never stop the till
            log.exception("printing txn %s failed", txn_id)
            self._unsaved.pop(txn_id, None)
        else:
            self._unsaved.pop(txn_id, None)
        if tuple(self._unsaved) != self.state.unsaved:
            self._set(replace(self.state, unsaved=tuple(self._unsaved),
                              unsaved_error=next(iter(self._unsaved.values()), None)))

    def _printing(self) -> None:
        """The second thread: the printer's I/O, a job at a time, and a status question when idle."""
        next_poll = time.monotonic()
        while True:
            timeout = max(0.0, next_poll - time.monotonic()) if self.configured else None
            try:
                item = self._jobs.get(timeout=timeout)
            except queue.Empty:
                quiet_from = self._last_change + QUIET
                if time.monotonic() < quiet_from:
                    # A sale is being taken: its thread would wait for this one's share of the interpreter
                    # and the journal. Each job asks the printer anyway, so the state stays current.
                    next_poll = quiet_from
                    continue
                item = ("poll", None)
            if item is _STOP:
                return
            what, value = item
            self._guarded(self._print if what == "job" else self._poll, what, value)
            next_poll = time.monotonic() + self.poll

    @staticmethod
    def _guarded(fn: Callable[[Any], None], what: str, value) -> None:
        try:
            fn(value)
        except JournalError as exc:   # a full disk or a closing journal: the job (if any) stays journaled
            log.warning("printing: %s", exc.message)
        except Exception:   # a bug in printing must never stop the till
            log.exception("printing %s %s failed", what, value)

    def _settled(self, txn_id: str) -> None:
        """A transaction moved: journal its automatic slips if it is one that gets them."""
        row = self.journal.get(txn_id)
        if row is None or row["status"] not in (SUCCESS, CANCELLED) or not printable(self.journal, row):
            return
        if row["kind"] == SALE and row["unmatched"]:
            # An entry-code payment nobody waited for: a person assigns it to a waiting sale, whose receipt
            # then prints (the same payment: two receipts printed unasked) or prints it on request.
            return
        receipts = self.config.receipts
        copies: list[str] = []
        if row["kind"] == SALE:
            copies = ([spool.CUSTOMER] if receipts.customer == "auto" else []) + \
                     ([spool.MERCHANT] if receipts.merchant_copy else [])
        elif receipts.refund_slip:
            copies = [spool.CUSTOMER]
        kind = SLIP_OF[row["kind"]]
        for copy in copies:
            if spool.auto_job_exists(self.journal, txn_id, copy, kind):
                continue
            doc = slip_of(self.journal, self.config, row, copy)
            job = spool.enqueue_auto(self.journal, kind, txn_id, copy, doc.to_json())
            if job is not None:
                self._jobs.put(("job", job))

    def _print(self, job_id: int) -> None:
        job = spool.get(self.journal, job_id)
        if job is None or job.state != spool.WAITING:
            return
        if not spool.claim(self.journal, job_id):
            return
        self._published(self.printed(job_id))
        try:
            data = escpos_of(job.body, self.config)
        except Exception as exc:   # an unreadable slip: failed, kept for a person to see
            log.exception("print job %s cannot be rendered", job_id)
            error: str | None = _("the slip cannot be rendered: {reason}").format(reason=exc)
        else:
            error = self._send(data)
        if error is None:
            spool.done(self.journal, job_id)
        else:
            spool.failed(self.journal, job_id, error)
        self._published(self.printed(job_id))
        self._refresh()

    def _send(self, data: bytes) -> str | None:
        """Ask the printer (its state published), then send if it is ready; None when it took the bytes."""
        state, error = deliver(self.config, data, self.opener)
        self._set(self._kept(state))
        return error

    def _poll(self, asked: threading.Event | None = None) -> None:
        try:
            if self.configured:
                self._set(self._kept(ask_status(self.config, self.opener)))
        finally:
            if asked is not None:
                asked.set()

    def _kept(self, state: PrinterState) -> PrinterState:
        """A fresh answer of the printer, with what the worker knows beyond it: slips failed and unsaved."""
        now = self.state
        return replace(state, failed=now.failed, last_error=now.last_error, unsaved=now.unsaved,
                       unsaved_error=now.unsaved_error)

    def _refresh(self) -> None:
        failures = spool.unresolved_failures(self.journal)
        self._set(replace(self.state, failed=tuple(j.id for j in failures),
                          last_error=failures[-1].last_error if failures else None))

    def _set(self, state: PrinterState) -> None:
        before, self.state = self.state, state
        if replace(before, checked_at=None) != replace(state, checked_at=None):
            self.on_state(state)

    def _published(self, result: Printed) -> None:
        with self._finished:
            self._finished.notify_all()
        self.on_job(result)


class Direct:
    """Printing without a journal of our own: a command beside a running till sends a slip straight to the
    printer (the till's journal is its alone) and says so."""

    def __init__(self, config: Config, journal, *, opener: Callable | None = None) -> None:
        self.config = config
        self.journal = journal     # read-only (or None): to find the transaction and build its slip
        self.opener = opener

    @property
    def configured(self) -> bool:
        return self.config.printer.kind != "none"

    def print_now(self, doc, kind: str, txn: str | None = None, copy: str | None = None, *,
                  wait: float | None = None) -> Printed:
        if not self.configured:
            raise no_printer()
        _state, error = deliver(self.config, escpos_of(doc.to_json(), self.config), self.opener)
        return Printed(None, kind, txn, copy, spool.PRINTED if error is None else spool.FAILED, error,
                       journaled=False)

    def check_now(self) -> None:
        pass

    def status_now(self, timeout: float) -> PrinterState:
        return self.state

    @property
    def state(self) -> PrinterState:
        """The printer asked now, with the till's slips that wait for a reprint (read from its journal)."""
        state = ask_status(self.config, self.opener)
        if self.journal is None:
            return state
        failures = spool.unresolved_failures(self.journal)
        return replace(state, failed=tuple(j.id for j in failures),
                       last_error=failures[-1].last_error if failures else None)


def journaled_copy(journal, kind: str, txn: str, copy: str) -> str:
    """The copy a person's print of ``txn`` is: the one asked for (customer, merchant) the first time that
    copy is journaled; a reprint after that, whatever became of the first (it may be on paper in part)."""
    return spool.REPRINT if spool.auto_job_exists(journal, txn, copy, kind) else copy


__all__ = ["Direct", "Printed", "PrinterState", "Printing", "ask_status", "deliver", "escpos_of", "journaled_copy",
           "slip_of"]
