"""Accounts: argon2 hashes (no plaintext), lock-out with an injected clock, disabled
accounts, audited logins, the `dsr user` commands; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlmodel import Session
from typer.testing import CliRunner

from db.models import AuditEvent, Inspector, User
from scheduler.access.permissions import PermissionDenied
from scheduler.audit import service as auditlog
from scheduler.accounts import service as users
from scheduler.access.context import Actor
from tests.factories import world

PW = "s3cret-Passw0rd"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def _events(engine, prefix: str = "user.") -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        return [(a, o, r) for a, o, r in s.execute(
            select(AuditEvent.action, AuditEvent.object, AuditEvent.actor).order_by(AuditEvent.id)) if a.startswith(prefix)]


def test_password_is_stored_as_argon2_hash_only(engine, pinggu):
    users.add_user(engine, "wang", "planner", PW, department="SCJGJ")
    with Session(engine) as s:
        u = s.execute(select(User).where(User.username == "wang")).scalar_one()
        assert u.password_hash.startswith("$argon2id$")
        assert PW not in u.password_hash
    # Nowhere in the database, including the audit chain.
    with engine.connect() as c:
        for table in ("useraccount", "auditevent"):
            rows = c.execute(text(f"SELECT * FROM {table}")).all()
            assert rows and all(PW not in str(v) for r in rows for v in r)
    assert users.verify_password(u.password_hash, PW)
    assert not users.verify_password(u.password_hash, PW + "x")
    assert not users.verify_password("not a hash", PW)


def test_login_returns_actor_and_audits_in_the_same_transaction(engine, pinggu):
    info = users.add_user(engine, "wang", "planner", PW, department="区市场监管局")
    a = users.login(engine, "wang", PW, now=T0)
    assert a == Actor("wang", "planner", pinggu, info.department_id)
    assert users.get_user(engine, "wang").last_login_at == T0
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(engine, "wang", "wrong-one", now=T0)
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(engine, "nobody", PW, now=T0)
    assert _events(engine) == [("user.add", "user:wang", "cli"), ("user.login", "user:wang", "wang"),
                               ("user.login_failed", "user:wang", "wang"), ("user.login_unknown", "user:?", "?")]
    assert auditlog.verify(engine).ok


def test_lock_out_after_five_failures_and_unlock_after_the_time(engine, pinggu):
    users.add_user(engine, "li", "reviewer", PW, department="WJW")
    policy = users.LockoutPolicy(max_attempts=5, lock_minutes=15)
    for k in range(4):
        with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
            users.login(engine, "li", f"bad-{k}", source="10.0.0.1", now=T0 + dt.timedelta(seconds=k), policy=policy)
    assert users.login(engine, "li", PW, source="10.0.0.1", now=T0 + dt.timedelta(seconds=4), policy=policy)
    for k in range(5):  # the count starts again after a login; five more lock that address out
        with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
            users.login(engine, "li", f"bad-{k}", source="10.0.0.1", now=T0 + dt.timedelta(seconds=5), policy=policy)
    # Locked out: even the right password is refused from that address, until the window has passed.
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(engine, "li", PW, source="10.0.0.1", now=T0 + dt.timedelta(minutes=15), policy=policy)
    a = users.login(engine, "li", PW, source="10.0.0.1", now=T0 + dt.timedelta(minutes=15, seconds=6), policy=policy)
    assert a.role == "reviewer" and users.get_user(engine, "li").locked_until is None
    fails = [e for e in _events(engine) if e[0] == "user.login_failed"]
    assert len(fails) == 10


def test_success_resets_the_failure_count(engine, pinggu):
    users.add_user(engine, "zhao", "auditor", PW)
    policy = users.LockoutPolicy(max_attempts=3, lock_minutes=1)
    for _ in range(2):
        with pytest.raises(users.LoginFailed):
            users.login(engine, "zhao", "bad-pass", now=T0, policy=policy)
    users.login(engine, "zhao", PW, now=T0, policy=policy)
    for _ in range(2):
        with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
            users.login(engine, "zhao", "bad-pass", now=T0, policy=policy)
    assert users.get_user(engine, "zhao").locked_until is None


def test_reset_password_lifts_the_lock(engine, pinggu):
    users.add_user(engine, "qian", "admin", PW)
    policy = users.LockoutPolicy(max_attempts=1, lock_minutes=60)
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(engine, "qian", "bad-pass", now=T0, policy=policy)
    users.reset_password(engine, "qian", "another-Passw0rd")
    with pytest.raises(users.LoginFailed):
        users.login(engine, "qian", PW, now=T0, policy=policy)
    users.reset_password(engine, "qian", "another-Passw0rd")
    assert users.login(engine, "qian", "another-Passw0rd", now=T0, policy=policy).role == "admin"


def test_disabled_user_cannot_log_in(engine, pinggu):
    users.add_user(engine, "sun", "planner", PW, department="SCJGJ")
    users.disable_user(engine, "sun")
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(engine, "sun", PW, now=T0)
    assert users.actor_of(engine, "sun") is None
    assert ("user.login_failed", "user:sun", "sun") in _events(engine)
    users.set_active(engine, "sun", True)
    assert users.login(engine, "sun", PW, now=T0).name == "sun"


def test_account_rules(engine, pinggu):
    with pytest.raises(users.UserError, match="至少 8 个字符"):
        users.add_user(engine, "a1", "admin", "short")
    with pytest.raises(users.UserError, match="须指定所属部门"):
        users.add_user(engine, "a2", "planner", PW)
    with pytest.raises(users.UserError, match="部门“不存在的局”不存在"):
        users.add_user(engine, "a3", "reviewer", PW, department="不存在的局")
    with pytest.raises(users.UserError, match="角色“boss”不存在"):
        users.add_user(engine, "a4", "boss", PW)
    with pytest.raises(users.UserError, match="--inspector"):
        users.add_user(engine, "a5", "inspector", PW)
    users.add_user(engine, "a6", "public", PW)
    with pytest.raises(users.UserError, match="已存在"):
        users.add_user(engine, "a6", "public", PW)
    with pytest.raises(PermissionDenied, match="无权管理用户账号"):
        users.add_user(engine, "a7", "admin", PW, actor=Actor("p", "planner", department_id=1))
    with pytest.raises(PermissionDenied):
        users.disable_user(engine, "a6", actor=Actor("x", "auditor"))
    assert [u.username for u in users.list_users(engine)] == ["a6"]


def test_inspector_account_acts_under_roster_id(engine):
    world(engine, 50)
    with Session(engine) as s:
        ins = s.execute(select(Inspector).order_by(Inspector.inspector_id).limit(1)).scalar_one()
        iid, dept = ins.inspector_id, ins.department_id
    info = users.add_user(engine, "zhangsan", "inspector", PW, inspector=iid)
    assert (info.inspector_id, info.department_id) == (iid, dept)
    a = users.login(engine, "zhangsan", PW, now=T0)
    assert (a.name, a.role, a.department_id) == (iid, "inspector", dept)


def test_demo_users(engine):
    world(engine, 50)
    made = users.ensure_demo_users(engine)
    assert [a.info.role for a in made] == ["admin", "planner", "inspector", "reviewer", "auditor", "admin"]
    assert users.admin_names(engine) == ["演示管理员", "演示管理员（复核）"]  # two: the calendar's two-person rule
    # Each its own random password, shown once: a second call creates nothing and shows none.
    assert len({a.password for a in made}) == 6 and all(len(a.password) >= users.MIN_PASSWORD_LENGTH for a in made)
    assert [(a.info, a.password) for a in users.ensure_demo_users(engine)] == [(a.info, None) for a in made]
    for a in made:
        assert users.login(engine, a.info.username, a.password, now=T0).role == a.info.role
        assert users.must_change_password(engine, a.info.username)


def test_cli_user_commands(sqlite_url, monkeypatch):
    from db.engine import make_engine
    from scheduler.cli import app

    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    r = CliRunner()
    res = r.invoke(app, ["user", "list"])
    assert "dsr user add 用户名 --admin" in res.output
    res = r.invoke(app, ["user", "add", "boss", "--admin", "--password-stdin"], input=PW + "\n")
    assert res.exit_code == 0, res.output
    assert "已创建用户 boss（管理员）" in res.output
    res = r.invoke(app, ["user", "add", "p", "--role", "planner", "--password-stdin"], input=PW + "\n")
    assert res.exit_code == 2 and "部门" in res.output
    # Hidden prompt, typed twice.
    res = r.invoke(app, ["user", "add", "aud", "--role", "auditor"], input=f"{PW}\n{PW}\n")
    assert res.exit_code == 0, res.output
    assert PW not in res.output
    res = r.invoke(app, ["user", "disable", "aud"])
    assert res.exit_code == 0 and "已停用用户 aud" in res.output
    res = r.invoke(app, ["user", "list"])
    assert "boss" in res.output and "已停用" in res.output
    res = r.invoke(app, ["user", "reset-password", "boss", "--password-stdin"], input="new-Passw0rd\n")
    assert res.exit_code == 0, res.output
    eng = make_engine(sqlite_url)
    try:
        assert users.login(eng, "boss", "new-Passw0rd", now=T0).role == "admin"
        with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
            users.login(eng, "aud", PW, now=T0)
    finally:
        eng.dispose()
