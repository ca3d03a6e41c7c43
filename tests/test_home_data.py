"""首页's cache key (ui/home_data.data_version): data changes move it, account events and list
exports do not — so a login does not make the page it lands on compute the year again."""

from __future__ import annotations

from sqlmodel import Session

from scheduler.access.context import Actor
from scheduler.audit import service as auditlog
from ui.home_data import data_version

PLANNER = Actor("planner", "planner")


def _event(engine, action: str) -> None:
    with Session(engine) as s:
        auditlog.record(s, PLANNER, action, "test", {"n": 1})
        s.commit()


def test_data_version_moves_with_data_not_with_logins(engine):
    assert data_version(engine) == 0
    _event(engine, "user.login")
    assert data_version(engine) == 0
    _event(engine, "result.enter")
    v = data_version(engine)
    assert v == auditlog.last_event_id(engine) > 0
    for action in ("user.login", "user.logout", "user.login_failed", "user.change_password", "library.export"):
        _event(engine, action)
    assert data_version(engine) == v < auditlog.last_event_id(engine)
    _event(engine, "task.status")
    assert data_version(engine) == auditlog.last_event_id(engine) > v
