"""The official Antom Python SDK (PyPI ``global-open-sdk-python``), in a venv of its own.

It pins an old ``cryptography`` that must not meet ours, so it lives in ``.cache/sdk-venv`` (or
``$POS_TERMINAL_SDK_VENV``) and is driven through ``sdk_driver.py`` as a subprocess. Used by the interop
test and the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SDK_REQUIREMENT = "global-open-sdk-python==1.7.1"
ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("sdk_driver.py")


def venv_dir() -> Path:
    return Path(os.environ.get("POS_TERMINAL_SDK_VENV") or ROOT / ".cache" / "sdk-venv")


def ensure_sdk() -> tuple[Path | None, str]:
    """The SDK venv's python, installing it on first use; or None and why it cannot be had."""
    folder = venv_dir()
    python = folder / "bin" / "python"
    marker = folder / ".installed"
    if marker.exists() and marker.read_text() == SDK_REQUIREMENT and python.exists():
        return python, "cached"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True, capture_output=True,
                       text=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", SDK_REQUIREMENT],
                       check=True, capture_output=True, text=True, timeout=600)
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        return None, f"cannot install {SDK_REQUIREMENT}: {last[0]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot install {SDK_REQUIREMENT}: {exc}"
    marker.write_text(SDK_REQUIREMENT)
    return python, "installed"


def run_driver(python: Path, sim, notify_url: str, *command: str, timeout: float = 120) -> dict:
    """Run the driver against a simulator; its stdout is one JSON object."""
    keys = sim.provisioned.keys_dir
    proc = subprocess.run(
        [str(python), str(DRIVER), "--base-url", sim.url, "--client-id", sim.client_id,
         "--merchant-private-key", str(keys / "merchant_private.pem"),
         "--gateway-public-key", str(keys / "gateway_public.pem"), "--notify-url", notify_url, *command],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "SSL_CERT_FILE": str(sim.ca_file)} if getattr(sim, "tls", False) else None)
    if proc.returncode != 0:
        raise RuntimeError(f"sdk_driver failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)
