"""The ``till`` fixture (tests/xkit.py): a terminal on a real X server, one per test module, and a screenshot
of the X screen saved when a test fails.

A module picks its till's options with a module-level ``TILL = {"size": (1024, 768), "language": "zh_CN"}``;
``make_till`` starts more (other sizes, two screens) that stop when the test ends. Screenshots go to
$POS_E2E_ARTIFACTS when set (CI keeps that directory), else under the till's temporary folder.
"""

from __future__ import annotations

import subprocess

import pytest
import xkit


@pytest.fixture(scope="module")
def till(request, tmp_path_factory):
    options = getattr(request.module, "TILL", {})
    with xkit.Till(tmp_path_factory.mktemp("till"), **options) as started:
        yield started


@pytest.fixture
def make_till(tmp_path_factory):
    started: list[xkit.Till] = []

    def make(**options) -> xkit.Till:
        t = xkit.Till(tmp_path_factory.mktemp("till"), **options)
        started.append(t)
        return t.start()

    yield make
    for t in started:
        t.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for t in list(xkit.running):
        if t.display is None or t.xvfb is None or t.xvfb.poll() is not None:
            continue
        try:
            shot = t.screenshot(f"FAILED-{item.name}")
        except (OSError, subprocess.SubprocessError) as exc:   # the failure matters more than its picture
            report.sections.append(("xkit", f"no screenshot of the failure: {exc!r}"))
            continue
        print(f"\nxkit: screenshot of the failing state: {shot}")
        words = f"screenshot of the failing state: {shot}\napp output (tail):\n{t.app_output(2000)}"
        report.sections.append(("xkit", words))
