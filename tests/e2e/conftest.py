"""Fixtures for the browser tests: a demo SQLite database, the Streamlit app as a
subprocess, and Debian's Chromium driven by Playwright.

Playwright cannot download its own browsers on these machines, so the tests use
/usr/bin/chromium (apt package `chromium`, installed by .ci/run). A missing
browser fails the tests: CI must never skip them silently.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.ui_steps import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DSR_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}
SCREENSHOTS = ROOT / "docs" / "screenshots"
DEMO_ENTITIES = 2000

# page title -> (seconds to its first text visible, seconds to its last element visible), from the
# click (or URL load) that opens it; printed in the test summary.
TIMINGS: dict[str, tuple[float, float]] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(apt-get install -y chromium fonts-noto-cjk; .ci/run installs it)", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory) -> str:
    """A Pinggu demo (2,000 entities, no history) with the demo accounts."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.demo.service import create_demo
    from scheduler.accounts.service import ensure_demo_users

    path = tmp_path_factory.mktemp("e2e") / "dsr.db"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    create_demo(eng, entities=DEMO_ENTITIES, seed=1)
    ensure_demo_users(eng, DEMO_PASSWORD, must_change=False)
    eng.dispose()
    return url


@contextlib.contextmanager
def serve(url: str, log: Path) -> Iterator[str]:
    """`streamlit run dsr_server.py` on database `url` (a free port, headless); yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DSR_BUREAU"}
    env["DSR_DATABASE_URL"] = url
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dsr_server.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],  # toolbar: .streamlit/config.toml
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited ({proc.returncode}):\n{log.read_text(errors='replace')}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy in 60 s:\n{log.read_text(errors='replace')}", pytrace=False)
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def app_url(demo_url, tmp_path_factory) -> Iterator[str]:
    with serve(demo_url, tmp_path_factory.mktemp("e2e_log") / "streamlit.log") as base:
        yield base


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(30_000)
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


@pytest.fixture(scope="session")
def timings() -> dict[str, tuple[float, float]]:
    return TIMINGS


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("browser render times: navigation -> first text / whole page visible")
        for title, (first, whole) in TIMINGS.items():
            terminalreporter.write_line(f"{first * 1000:7.0f} ms {whole * 1000:7.0f} ms  {title}")
