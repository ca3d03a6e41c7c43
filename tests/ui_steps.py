"""Steps the AppTest-driven UI tests share: open a page, re-run, read a table.

Each step asserts the script raised nothing, so a page error fails the test at
the step that caused it.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from ui import nav


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
