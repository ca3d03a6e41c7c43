"""Login and accounts under attack (issue 18 §4), on SQLite and PostgreSQL: the failure counter is
atomic under parallel attempts, every failure reads alike, sources are slowed down as well as
accounts, unknown names are counted without one audit event each, `dsr app` listens on this machine
only, and the demo's passwords are generated, shown once and changed at the first login."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import AuditEvent, LoginThrottle, User
from scheduler.accounts import service as users
from scheduler.accounts import throttle
from scheduler.audit import service as auditlog

PW = "s3cret-Passw0rd"
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)


def _failed_attempts(engine, name: str) -> int:
    with Session(engine) as s:
        return s.execute(select(User.failed_attempts).where(User.username == name)).scalar_one()


def test_twenty_parallel_wrong_passwords_count_twenty_and_lock(engine, pinggu):
    """Before: each attempt read the counter, added one and wrote it back, so parallel attempts
    overwrote each other (20 attempts left it at 2) and the five-try lock-out was bypassed."""
    users.add_user(engine, "target", "planner", PW, department="SCJGJ")
    policy = users.LockoutPolicy(account_max_attempts=20)  # twenty sources, one failure each
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def attempt(k: int) -> None:
        start.wait()
        try:
            users.login(engine, "target", f"wrong-{k}", source=f"198.51.100.{k}", policy=policy)
            outcomes.append("in")
        except users.LoginFailed as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=attempt, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert outcomes == [users.LOGIN_FAILED] * 20
    assert _failed_attempts(engine, "target") == 20
    info = users.get_user(engine, "target")
    assert info.locked_until is not None and info.locked_until > dt.datetime.now(dt.timezone.utc)
    with pytest.raises(users.LoginFailed):  # locked: the right password is refused too, from anywhere
        users.login(engine, "target", PW, source="192.0.2.200", policy=policy)
    with Session(engine) as s:
        fails = s.execute(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "user.login_failed")).scalar_one()
    assert fails == 21 and auditlog.verify(engine).ok


def test_every_failure_reads_alike(engine, pinggu):
    """Before: the lock message said that the account existed (and until when), the disabled
    message too; now a wrong name, a wrong password, a locked and a disabled account read alike."""
    policy = users.LockoutPolicy(max_attempts=2, lock_minutes=15)
    users.add_user(engine, "locked", "planner", PW, department="SCJGJ")
    users.add_user(engine, "off", "planner", PW, department="SCJGJ")
    users.add_user(engine, "plain", "planner", PW, department="SCJGJ")
    users.disable_user(engine, "off")
    messages = set()
    for name, pw in [("locked", "bad-1"), ("locked", "bad-2"), ("locked", PW), ("off", PW), ("plain", "bad"),
                     ("nobody", PW)]:
        with pytest.raises(users.LoginFailed) as e:
            users.login(engine, name, pw, now=T0, policy=policy)
        messages.add(str(e.value))
    assert messages == {users.LOGIN_FAILED}


def test_a_source_is_slowed_down_as_well_as_an_account(engine, pinggu):
    """Before: failures were counted per account only, so one source could try names without limit."""
    users.add_user(engine, "real", "planner", PW, department="SCJGJ")
    policy = users.LockoutPolicy(source_max_attempts=6, source_window_minutes=15)
    for k in range(6):  # six different names, none locked on its own
        with pytest.raises(users.LoginFailed):
            users.login(engine, f"guess{k}" if k % 2 else "real", "bad-pass", source="203.0.113.9", now=T0, policy=policy)
    with pytest.raises(users.LoginFailed) as e:  # the right password, from the throttled source
        users.login(engine, "real", PW, source="203.0.113.9", now=T0 + dt.timedelta(minutes=1), policy=policy)
    assert str(e.value) == users.LOGIN_FAILED
    # Another source logs in; the first one again once its window has passed.
    assert users.login(engine, "real", PW, source="192.0.2.1", now=T0 + dt.timedelta(minutes=1), policy=policy).name == "real"
    assert users.login(engine, "real", PW, source="203.0.113.9", now=T0 + dt.timedelta(minutes=16), policy=policy).name == "real"


def test_nobody_locks_a_person_out_of_their_account_from_one_address(engine, pinggu):
    """Before: five wrong passwords from anywhere locked the account for everyone, so anyone who
    knew a user name could keep that person out. Now they lock out only the address they came from;
    the person logs in from theirs. Only failures from many addresses lock the account itself."""
    users.add_user(engine, "victim", "planner", PW, department="SCJGJ")
    policy = users.LockoutPolicy(max_attempts=5, lock_minutes=15, account_max_attempts=15)
    for k in range(12):  # the attacker goes on after being locked out: refused before any password is tried
        with pytest.raises(users.LoginFailed):
            users.login(engine, "victim", f"guess-{k}", source="203.0.113.50", now=T0, policy=policy)
    with pytest.raises(users.LoginFailed):  # the attacker's address, even with the right password
        users.login(engine, "victim", PW, source="203.0.113.50", now=T0, policy=policy)
    assert _failed_attempts(engine, "victim") == 5 and users.get_user(engine, "victim").locked_until is None
    assert users.login(engine, "victim", PW, source="192.0.2.10", now=T0, policy=policy).name == "victim"
    # A guessing spread over three addresses (5 each) reaches the account's limit: locked for everyone.
    for src in ("203.0.113.51", "203.0.113.52", "203.0.113.53"):
        for k in range(5):
            with pytest.raises(users.LoginFailed):
                users.login(engine, "victim", f"guess-{k}", source=src, now=T0, policy=policy)
    assert users.get_user(engine, "victim").locked_until == T0 + dt.timedelta(minutes=15)
    with pytest.raises(users.LoginFailed):
        users.login(engine, "victim", PW, source="192.0.2.10", now=T0 + dt.timedelta(minutes=1), policy=policy)
    assert users.login(engine, "victim", PW, source="192.0.2.10", now=T0 + dt.timedelta(minutes=16), policy=policy)
    # An administrator's new password lifts every lock-out of the account, the attacker's address too.
    users.reset_password(engine, "victim", "another-Passw0rd")
    assert users.login(engine, "victim", "another-Passw0rd", source="203.0.113.50", now=T0 + dt.timedelta(minutes=2),
                       policy=policy).name == "victim"


def test_unknown_names_are_counted_without_flooding_the_audit_trail(engine, pinggu):
    """Before: each attempt on an unknown name wrote an audit event (a flood fills the trail);
    now they are counted per source and audited at 1, 10, 100 … attempts, without the names typed."""
    policy = users.LockoutPolicy(source_max_attempts=10_000)
    for k in range(100):
        with pytest.raises(users.LoginFailed):
            users.login(engine, f"nobody-{k}", "whatever-1", source="192.0.2.77", now=T0, policy=policy)
    with Session(engine) as s:
        events = list(s.execute(select(AuditEvent).where(AuditEvent.action.like("user.login%"))
                                .order_by(AuditEvent.id)).scalars())
        row = s.get(LoginThrottle, throttle.unknown_key("192.0.2.77"))
    assert [e.action for e in events] == ["user.login_unknown"] * 3
    assert row.failures == 100
    assert all(e.payload is None and "nobody" not in e.object for e in events)
    assert auditlog.verify(engine).ok


def test_audit_due_is_logarithmic():
    assert [n for n in range(1, 2001) if throttle.audit_due(n)] == [1, 10, 100, 1000]


def test_change_password_clears_the_forced_change_and_counts_wrong_attempts(engine, pinggu):
    users.add_user(engine, "new", "planner", PW, department="SCJGJ", must_change_password=True)
    assert users.must_change_password(engine, "new")
    with pytest.raises(users.UserError, match="不能与当前密码相同"):
        users.change_password(engine, "new", PW, PW)
    with pytest.raises(users.UserError, match="至少 8 个字符"):
        users.change_password(engine, "new", PW, "short")
    with pytest.raises(users.UserError, match="当前密码不正确"):
        users.change_password(engine, "new", "not-the-one", "Another-Passw0rd")
    assert _failed_attempts(engine, "new") == 1
    users.change_password(engine, "new", PW, "Another-Passw0rd")
    assert not users.must_change_password(engine, "new")
    assert users.login(engine, "new", "Another-Passw0rd").name == "new"
    with pytest.raises(users.LoginFailed):
        users.login(engine, "new", PW)


def _dsr(db: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DSR_DATABASE_URL=db)
    return subprocess.run([sys.executable, "-m", "scheduler", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_dsr_app_listens_on_this_machine_and_prints_generated_demo_passwords(tmp_path):
    """Before: `dsr app` listened on every interface, with the demo's published password."""
    from db.engine import make_engine

    db = f"sqlite:///{tmp_path / 'app.db'}"
    r = _dsr(db, "app", "--entities", "300", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "--server.address 127.0.0.1" in r.stdout
    shown = dict(re.findall(r"^\s+(\w+)：.*初始密码 (\S+)$", r.stdout, flags=re.M))
    assert set(shown) == {"admin", "admin2", "planner", "inspector", "reviewer", "auditor"}
    assert len(set(shown.values())) == 6 and "dsr-demo-2026" not in r.stdout
    eng = make_engine(db)
    try:
        assert users.login(eng, "admin", shown["admin"]).role == "admin"
        assert all(users.must_change_password(eng, n) for n in shown)
    finally:
        eng.dispose()
    again = _dsr(db, "app", "--host", "0.0.0.0", "--dry-run")
    assert again.returncode == 0 and "--server.address 0.0.0.0" in again.stdout
    assert not re.search(r"初始密码 \S", again.stdout)  # shown once only
