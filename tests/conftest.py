"""Shared fixtures: a real simulator on loopback, a client configured by the simulator's own
terminal.toml, and a real HTTP receiver for notifications."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from disks import SmallDisks
from flowkit import config_for, write_config
from inputtree import InputRoots, make_input_tree
from kit import ports_of_the_test
from middleman import Gate
from processes import kill_leftovers

from pos_app.gateway import GatewayClient
from pos_app.sim import Simulator
from pos_app.sim.provision import provision

# A command run without --data-dir (and its log file) lands in a scratch XDG data home, never in the
# home folder of whoever runs the tests; subprocesses inherit it.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="pos-tests-xdg-")


@pytest.fixture(autouse=True)
def _ports_reserved_for_the_test():
    """The loopback ports a test reserved (kit.reserve_port) are held until it ends, then released."""
    with ports_of_the_test():
        yield


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test():
    """A failing assertion must not leave a terminal running (it would keep retrying for ever)."""
    yield
    kill_leftovers()


@pytest.fixture(scope="session")
def _session_sim_keys(tmp_path_factory):
    """One set of simulator key pairs for the session's fresh simulators: making two RSA-2048 pairs is most of a
    simulator's first start, and hundreds of tests start one. A test that needs keys nobody else has uses
    kit.stranger_keys; one that names its own folder (make_sim(data_dir)) gets keys made there, as a store would."""
    folder = tmp_path_factory.mktemp("sim-keys")
    provision(folder, "http://127.0.0.1:1")
    return folder / "keys"


@pytest.fixture
def make_sim(tmp_path_factory, _session_sim_keys):
    """Start simulators with any options (``tls=True``: HTTPS from its own CA, ``sim.ca_file``); all are stopped
    at the end of the test."""
    started = []

    def make(data_dir=None, **options) -> Simulator:
        folder = data_dir
        if folder is None:
            folder = tmp_path_factory.mktemp("sim")
            shutil.copytree(_session_sim_keys, folder / "keys")   # modes kept (copy2): the private ones 0600
        options.setdefault("notify_time_scale", 0.001)
        sim = Simulator(folder, "127.0.0.1", options.pop("port", 0), **options).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim):
    return make_sim()


@pytest.fixture
def config(sim, receiver):
    return config_for(sim, receiver.url)


@pytest.fixture
def client(config):
    with GatewayClient.from_config(config) as c:
        yield c


class Receiver:
    """A real notification endpoint on loopback that records what arrives and answers as told."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answer_ok = True
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                entry = {"path": urlsplit(self.path).path, "headers": {k.lower(): v for k, v in self.headers.items()},
                         "raw": body, "body": json.loads(body)}
                with receiver.cond:
                    receiver.received.append(entry)
                    receiver.cond.notify_all()
                if receiver.answer_ok:
                    answer = b'{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}'
                else:
                    answer = b'{"result":{"resultCode":"PROCESS_FAIL","resultStatus":"F","resultMessage":"later"}}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        """Block until the received notifications satisfy ``predicate``."""
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.received), timeout):
                raise AssertionError(f"notifications never matched; got {[r['body'] for r in self.received]}")
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gate(sim):
    """A man in the middle between the terminal and ``sim`` that holds the pay's answer until the test
    lets it go (middleman.Gate): the abort tests' way to stop a sale while its pay is in flight."""
    g = Gate(sim.port)
    yield g
    g.deliver()   # nothing stays held past the test
    g.close()


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk("512k")`` mounts a real tmpfs of that size and returns it (disks.SmallDisks: skipped
    without root); all are unmounted when the test ends."""
    disks = SmallDisks(tmp_path)
    yield disks
    disks.unmount_all()


@pytest.fixture
def no_devices(tmp_path) -> InputRoots:
    """An empty /dev/input and /sys/class/input: no scanner here (for the self-test, a skip)."""
    return InputRoots(*make_input_tree(tmp_path / "no-devices", []))


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def core(qtbot, sim, tmp_path):
    """A started ui.bridge.Core against the simulator (fast timing, no scanners): what the manager and
    technician screens are built on. Qt is imported only by the tests that ask for it."""
    from pos_app.i18n import set_language
    from ui.bridge import Core

    set_language("en")
    started = Core(write_config(sim), tmp_path / "terminal", scanners=False)
    started.start()
    qtbot.waitUntil(lambda: started.terminal is not None, timeout=15000)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def store():
    """A real PostgreSQL with the store's database migrated, one per test module (tests/storekit.py); a module
    that needs its store shaped otherwise defines its own ``store``."""
    from storekit import store_cluster

    with store_cluster() as s:
        yield s
