"""The self-test: what a technician runs to know the terminal is fit to take payments (issue 6).

``pos-terminal selftest [--level internal|external|interactive] [--json] [--out FILE]`` headless, and the
same :func:`run` behind the GUI's technician screen. The levels follow UnifiedPOS ``checkHealth`` and are
cumulative (external includes internal, interactive includes both):

- **internal** changes nothing outside this machine: ``config`` (the file loads), ``keys`` (both keys
  load, the merchant key matches its public half, the gateway key is not our own), ``journal``
  (``PRAGMA integrity_check``, read-only), ``disk`` (free space for the data directory), ``clock`` (a
  sane year, not behind the journal's newest record), ``scanners`` (every configured or discovered
  scanner opens), ``printer`` (the receipt printer's status in words; none configured is a skip),
  ``replication`` (with ``[store]``: the journal's backlog and lag towards the store, see :mod:`.store`).
- **external** talks to the world: ``proxy`` (the proxy in use and who set it; it must accept a connection),
  ``gateway`` (TCP reachability and connect latency, through the proxy's CONNECT when there is one), ``tls`` (the
  handshake's version, issuer and end date, with the terminal's CAs; skipped for http://), ``round-trip``
  (a signed inquiry for a paymentRequestId that cannot exist, judged by :mod:`pos_app.health` as
  ``pos-terminal status`` judges it), ``clock-skew`` (our clock against the signed ``response-time`` of
  that answer), ``notifications`` (the endpoint answers a test notification, see
  :func:`check_notifications`), ``store`` (with ``[store]``: the store's PostgreSQL answers, knows this
  terminal, runs the schema this code knows), ``settlement`` (with ``[settlement] sftp``: the gateway's report
  folder is reached, its host key the known one, see :mod:`.settlement`), ``display`` (the customer display
  shows a test pattern and QR: only the GUI can, so headless it is skipped), ``test-page`` (the receipt
  printer prints its test page).
- **interactive** walks a person through it: ``scan`` ("scan this test barcode"), judged by
  :func:`scan_check`, which names the scanner setting to change.

Every check answers pass, fail or skip, with a one-line detail and, unless it passed cleanly, a one-line
hint. A check is **skipped only when it does not apply here** (no scanner found, no journal yet, no
customer display headless) **or when another check has already failed for the same cause** (no round
trip when the gateway cannot be reached, no key checks when the config does not load); the one other
skip is a gateway ``response-time`` in a form the skew check cannot read. So a run is
``ok`` (exit 0) exactly when no check failed; the skips are shown so nobody mistakes them for passes.
Every run leaves its verdict in ``<data dir>/selftest-last.json`` for the store's heartbeat.

Sandbox mode (no config file): the config check passes ("sandbox: no config file"); the key checks use
the embedded simulator's keys in ``<data dir>/sandbox-gateway`` (skipped until its first start made
them). The external level checks the simulator of the terminal running on that data directory when one
runs (:func:`pos_app.sandbox.start_sandbox` lends it: no second simulator, its terminal.toml untouched),
else starts one for the run, as ``pos-terminal status`` does. The technician screen passes its own config
(``running``): its gateway and its notification receiver are the ones checked.

One module per concern: :mod:`.results` (Check, Report), :mod:`.config_keys`, :mod:`.storage` (journal,
disk, instance lock), :mod:`.clock`, :mod:`.devices` (scanners, display), :mod:`.printer` (the receipt
printer), :mod:`.network` (gateway, round trip), :mod:`.notifications`, :mod:`.store` (replication, the
store's server), :mod:`.settlement` (the SFTP report folder), :mod:`.interactive` (the test scan) and
:mod:`.runner` (the order and the skips); the command and its prompt are :mod:`pos_app.cli.technician`'s.
No Qt here: the GUI passes ``display`` (and, if it owns the scanners, ``scanners`` and ``scan``; and its
print worker, ``printing``). Importing this package is cheap
(the GUI does it at start-up): HTTP, the keys' cryptography and the drivers are imported when a check runs.
"""

from .clock import (
    CLOCK_BACK_TOLERANCE,
    CLOCK_YEARS,
    NTP_HINT,
    SKEW_FAIL,
    SKEW_WARN,
    check_clock,
    check_skew,
    parse_response_time,
)
from .config_keys import check_keys
from .interactive import SCAN_TIMEOUT, SLOW_CHAR_SECONDS, TEST_CODE, scan_check
from .network import check_reachable, gateway_address, judge_round_trip
from .notifications import check_notifications
from .results import FAIL, LEVELS, PASS, SKIP, TITLES, Check, Report, title
from .runner import run
from .storage import MIN_FREE_BYTES, check_disk, inspect_journal

__all__ = [
    "CLOCK_BACK_TOLERANCE", "CLOCK_YEARS", "FAIL", "LEVELS", "MIN_FREE_BYTES", "NTP_HINT", "PASS",
    "SCAN_TIMEOUT", "SKEW_FAIL", "SKEW_WARN", "SKIP", "SLOW_CHAR_SECONDS", "TEST_CODE", "TITLES", "Check", "Report",
    "check_clock", "check_disk", "check_keys", "check_notifications", "check_reachable",
    "check_skew", "gateway_address", "inspect_journal", "judge_round_trip",
    "parse_response_time", "run", "scan_check", "title",
]
