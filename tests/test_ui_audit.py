"""审计日志 page: filters reach the events, the chain verifies, the head hash is shown for the minutes."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest
from sqlmodel import Session

from db.engine import make_engine
from scheduler.audit import service as auditlog
from scheduler.demo.service import ensure_pinggu
from scheduler.access.context import Actor
from tests.ui_steps import login, open_page
from ui import auth

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def test_audit_page_filters_verifies_and_shows_the_head(sqlite_url, monkeypatch):
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    eng = make_engine(sqlite_url)
    with Session(eng) as s:
        ensure_pinggu(s)
        auditlog.record(s, Actor("zhang", "planner"), "plan.update", "plan:PG-X", {"a": 1})
        auditlog.record(s, Actor("li", "reviewer"), "result.approve", "result:7", {"b": 2})
        s.commit()
    at = open_page(login(AppTest.from_file(APP, default_timeout=60)), "audit.py")
    head = auditlog.verify(eng).head  # after the app's start, which recorded the calendar's seeding
    eng.dispose()
    frame = at.dataframe[0].value
    # The bureau, the two events above, the app's start (it loads the package's holiday schedules)
    # and the login through the form.
    assert len(frame) == 5 and "操作人" in frame.columns
    assert list(frame["操作对象"]).count("user:ui") == 1
    assert sum(str(o).startswith("calendar:") for o in frame["操作对象"]) == 1
    at.text_input(key="audit_actor").input("zhang").run()
    frame = at.dataframe[0].value
    assert list(frame["操作对象"]) == ["plan:PG-X"]
    at.button(key="audit_verify").click().run()
    assert any("审计链完整" in m.value for m in at.success)
    at.checkbox(key="audit_show_head").check().run()
    assert any(head == c.value for c in at.code)


def test_only_administrators_and_auditors_see_the_audit_page():
    seen = {r: auth.page_visible(Actor("x", r, department_id=1), "ui/pages/audit.py")
            for r in ("admin", "auditor", "planner", "reviewer", "inspector", "public")}
    assert seen == {"admin": True, "auditor": True, "planner": False, "reviewer": False, "inspector": False, "public": False}
