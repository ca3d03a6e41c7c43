"""Import the app's heavy modules once per server process, in a background thread.

The first visit of a page after the server starts otherwise pays these imports
(pandas, altair, openpyxl, the export and demo-history services: about 2 s on the
benchmark machine), which pushed 首页, 抽查计划 and 公示查询 over 2 s on their
first visit. The thread starts with the first session (usually the login page),
so the imports are done while the user types the password. Python's import lock
makes a page that imports a module the thread is importing wait for it, never
see half of it.
"""

from __future__ import annotations

import importlib
import threading

import streamlit as st

MODULES: tuple[str, ...] = (
    "pandas",
    "altair",
    "openpyxl",
    "scheduler.demo.history",
    "scheduler.results.export_service",
    "scheduler.visits.service",
    "scheduler.verify",
)


def _run(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module only loses the head start
            pass


@st.cache_resource(show_spinner=False)
def start(modules: tuple[str, ...] = MODULES) -> threading.Thread:
    """Start the warm-up once per process (cached); returns the thread."""
    t = threading.Thread(target=_run, args=(modules,), name="dsr-warmup", daemon=True)
    t.start()
    return t
