"""Sandbox mode: with no configuration, the terminal runs against an embedded simulator.

The simulator keeps its keys and ledger in ``<data dir>/sandbox-gateway`` and listens on a free
loopback port, so a fresh machine needs no setup and no network to take a (pretend) payment.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from offline_queue.lock import make_private_dir

from .config import Config, load_config
from .sim import Simulator


def start_sandbox(data_dir: Path) -> tuple[Simulator, Config]:
    """Start the embedded simulator and return it with a config pointing at it."""
    make_private_dir(data_dir)   # made here first (not by the simulator's keys folder): 0700, like the journal's
    sim = Simulator(data_dir / "sandbox-gateway", "127.0.0.1", 0).start()
    try:
        config = load_config(sim.provisioned.config_file)
    except BaseException:
        sim.stop()
        raise
    return sim, replace(config, gateway=replace(config.gateway, url=sim.url))
