"""Steps the AppTest-driven UI tests share: give the app a fresh copy of a module's database,
open a page, re-run, read a table.

Each step asserts the script raised nothing, so a page error fails the test at
the step that caused it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import nav


def use_copy(base_db: Path, tmp_path: Path, monkeypatch) -> str:
    """A fresh copy of a module's base database (built once, slow), made the app's database; the
    app's cached engine and data are cleared so the next run opens it. Returns its URL."""
    p = tmp_path / "dsr.db"
    p.write_bytes(base_db.read_bytes())
    url = f"sqlite:///{p}"
    monkeypatch.setenv("DSR_DATABASE_URL", url)
    monkeypatch.delenv("DSR_BUREAU", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    return url


def open_page(at: AppTest, script: str) -> AppTest:
    """Switch the running app to the page `script` (ui/pages/…) and run it."""
    at.switch_page(nav.page_path(script)).run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def table(at: AppTest, column: str):
    """The first table on the page with `column` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)
