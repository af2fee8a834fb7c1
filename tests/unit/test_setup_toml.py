"""The wizard's TOML writer round-trips whatever a config holds (quotes, control characters, nested
tables, arrays of tables), read back with tomllib, independently of the writer."""

from __future__ import annotations

import tomllib

from pos_app import setup_wizard


def test_dump_toml_round_trips_what_a_config_holds():
    doc = {"offline": {"merchant_risk": True, "max_total": {"USD": "100.00"}, "probe_interval": 1.5},
           "scanners": {"layout": "fr", "hid": [{"path": "/dev/input/by-id/x y", "role": "shared"}],
                        "serial": [{"port": "/dev/ttyACM0", "baud": 115200}]},
           "odd": {"quote\"key": "a\x7fb\nc", "list": [1, 2.5]}}
    assert tomllib.loads(setup_wizard.dump_toml(doc)) == doc
