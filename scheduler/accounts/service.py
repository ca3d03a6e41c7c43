"""Accounts of the planners' app: create, list, disable, reset, log in (with lock-out).

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher); neither the
password nor anything derived from it other than that hash is stored or logged.
Every change and every login attempt writes an audit event in the same
transaction as the change it records.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, Department, Inspector, User, utcnow
from scheduler.access.permissions import ACCOUNT_ROLES, DEPARTMENT_ROLES, ROLES, bureau_visible, require
from scheduler.accounts import throttle
from scheduler.accounts.listing import UserInfo, list_users  # noqa: F401 — the settings page lists accounts here
from scheduler.audit import service as auditlog
from scheduler.access.context import CLI, Actor
from scheduler.access.scope import visible_bureaus
from scheduler.errors import DsrError

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("dsr-no-such-user")


class UserError(DsrError, ValueError):
    """An account operation that cannot be done; the message (Chinese) says why."""

    code = "account.refused"


class LoginFailed(UserError):
    code = "account.login_failed"


@dataclass(frozen=True)
class LockoutPolicy:
    """Lock-outs that nobody can use to shut a person out of their own account.

    `max_attempts` wrong passwords for an account from one source (client address) within
    `lock_minutes` lock that source out of that account until the window has passed; the person,
    from their own address, still logs in. `account_max_attempts` failures for an account from all
    sources within `lock_minutes` (a guessing spread over many addresses) lock the account itself
    for `lock_minutes`. Since a locked-out source is refused before its password is tried, one
    source adds at most `max_attempts` to that count per window: locking an account for everyone
    takes `account_max_attempts / max_attempts` addresses."""

    max_attempts: int = 5
    lock_minutes: int = 15
    # A source (client address) with this many failures within the window is refused until it passes.
    source_max_attempts: int = 20
    source_window_minutes: int = 15
    account_max_attempts: int = 50

    @property
    def source_window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.source_window_minutes)

    @property
    def lock_window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.lock_minutes)

    @classmethod
    def from_env(cls) -> "LockoutPolicy":
        """DSR_LOGIN_MAX_ATTEMPTS, DSR_LOGIN_LOCK_MINUTES, DSR_LOGIN_SOURCE_MAX_ATTEMPTS,
        DSR_LOGIN_SOURCE_WINDOW_MINUTES and DSR_LOGIN_ACCOUNT_MAX_ATTEMPTS override the defaults."""
        env = os.environ.get
        return cls(int(env("DSR_LOGIN_MAX_ATTEMPTS", "5")), int(env("DSR_LOGIN_LOCK_MINUTES", "15")),
                   int(env("DSR_LOGIN_SOURCE_MAX_ATTEMPTS", "20")), int(env("DSR_LOGIN_SOURCE_WINDOW_MINUTES", "15")),
                   int(env("DSR_LOGIN_ACCOUNT_MAX_ATTEMPTS", "50")))


# --- passwords -----------------------------------------------------------------------------


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- helpers ---------------------------------------------------------------------------------


def _aware(t: Optional[dt.datetime]) -> Optional[dt.datetime]:
    # SQLite hands back naive datetimes for stored UTC values.
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.timezone.utc)
    return t


def _get(s: Session, username: str, lock: bool = False) -> Optional[User]:
    stmt = select(User).where(User.username == username)
    if lock and s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return s.execute(stmt).scalar_one_or_none()


def _must_get(s: Session, username: str, lock: bool = False) -> User:
    u = _get(s, (username or "").strip(), lock)
    if u is None:
        raise UserError(f"用户“{username}”不存在")
    return u


def _info(s: Session, u: User) -> UserInfo:
    dept = s.get(Department, u.department_id) if u.department_id else None
    ins = s.get(Inspector, u.inspector_pk) if u.inspector_pk else None
    return UserInfo(u.id, u.username, u.display_name, u.role, ROLES.get(u.role, u.role), u.bureau_id, u.department_id,
                    dept.name if dept else "", ins.inspector_id if ins else "", u.active, _aware(u.locked_until),
                    _aware(u.last_login_at))


def actor_for(s: Session, u: User) -> Actor:
    """The Actor a logged-in user acts as.

    An inspector acts under their roster id (Inspector.inspector_id): that is
    the name teams are recorded under, so "own team" checks match them.
    """
    name = u.username
    if u.role == "inspector" and u.inspector_pk:
        ins = s.get(Inspector, u.inspector_pk)
        if ins is not None:
            name = ins.inspector_id
    return Actor(name=name, role=u.role, bureau_id=u.bureau_id, department_id=u.department_id)


def _resolve_bureau(s: Session, code: Optional[str]) -> Optional[Bureau]:
    if code:
        b = s.execute(select(Bureau).where(Bureau.code == code)).scalar_one_or_none()
        if b is None:
            raise UserError(f"监管局“{code}”不存在")
        return b
    bureaus = list(s.execute(select(Bureau).limit(2)).scalars())
    return bureaus[0] if len(bureaus) == 1 else None


def _resolve_department(s: Session, bureau: Optional[Bureau], department: str) -> Department:
    if bureau is None:
        raise UserError("数据库中还没有唯一的监管局：请先运行 dsr demo 或导入基础数据，或用 --bureau 指定所属监管局")
    depts = list(s.execute(select(Department).where(Department.bureau_id == bureau.id)).scalars())
    for d in depts:
        if department in (d.code, d.name):
            return d
    raise UserError(f"部门“{department}”不存在（可选：{'、'.join(d.code + ' ' + d.name for d in depts)}）")


# --- account management ------------------------------------------------------------------------


def count_users(engine: Engine) -> int:
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(User)).scalar_one()


def add_user(
    engine: Engine,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str = "",
    department: Optional[str] = None,
    bureau: Optional[str] = None,
    inspector: Optional[str] = None,
    actor: Actor = CLI,
    must_change_password: bool = False,
) -> UserInfo:
    """Create an account. `department`: code or name; `inspector`: roster id (role inspector).

    Planners and reviewers must name their department; an inspector's account
    takes the department of the roster entry it links to.
    """
    require(actor, "user.manage")
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise UserError("用户名不能为空、不能含空格，且不超过 64 个字符")
    if role not in ACCOUNT_ROLES:
        raise UserError(f"角色“{role}”不存在（可选：{'、'.join(f'{r}（{ROLES[r]}）' for r in ACCOUNT_ROLES)}）")
    pw_hash = hash_password(password)
    with Session(engine) as s:
        if _get(s, username) is not None:
            raise UserError(f"用户“{username}”已存在")
        b = _resolve_bureau(s, bureau)
        if not bureau_visible(visible_bureaus(s.connection(), actor), b.id if b else None):
            raise UserError("只能为本局（及下辖区县局）创建账号")
        dept: Optional[Department] = None
        ins: Optional[Inspector] = None
        if role == "inspector":
            if not inspector:
                raise UserError("执法检查人员账号须指定其在执法检查人员名录库中的编号（命令行：--inspector）")
            q = select(Inspector).where(Inspector.inspector_id == inspector)
            if b is not None:
                q = q.where(Inspector.bureau_id == b.id)
            ins = s.execute(q).scalars().first()
            if ins is None:
                raise UserError(f"执法检查人员名录库中没有编号为“{inspector}”的人员")
            dept = s.get(Department, ins.department_id)
            b = b or s.get(Bureau, ins.bureau_id)
        elif department:
            dept = _resolve_department(s, b, department)
        if role in DEPARTMENT_ROLES and dept is None:
            raise UserError(f"{ROLES[role]}账号须指定所属部门（命令行：--department）")
        u = User(username=username, display_name=(display_name or "").strip() or username, password_hash=pw_hash,
                 role=role, bureau_id=b.id if b else None, department_id=dept.id if dept else None,
                 inspector_pk=ins.id if ins else None, must_change_password=must_change_password)
        s.add(u)
        s.flush()
        auditlog.record(s, actor, "user.add", f"user:{username}",
                        {"username": username, "role": role, "bureau_id": u.bureau_id, "department_id": u.department_id,
                         "inspector_pk": u.inspector_pk}, bureau_id=u.bureau_id)
        s.commit()
        s.refresh(u)
        return _info(s, u)


def _require_scope(s: Session, actor: Actor, u: User) -> None:
    """An administrator of a bureau manages the accounts of its own scope only."""
    if not bureau_visible(visible_bureaus(s.connection(), actor), u.bureau_id):
        raise UserError(f"用户“{u.username}”不属于本局，无权管理")


def get_user(engine: Engine, username: str) -> Optional[UserInfo]:
    with Session(engine) as s:
        u = _get(s, username)
        return _info(s, u) if u else None


def set_active(engine: Engine, username: str, active: bool, actor: Actor = CLI) -> UserInfo:
    """Disable (or re-enable) an account; a disabled account cannot log in. Accounts are never deleted."""
    require(actor, "user.manage")
    with Session(engine) as s:
        u = _must_get(s, username, lock=True)
        _require_scope(s, actor, u)
        if not active and u.username == actor.name:
            raise UserError("不能停用当前登录的账号")
        u.active = active
        if active:
            u.failed_attempts, u.locked_until = 0, None
            throttle.clear_account(s, u.username)
        s.add(u)
        auditlog.record(s, actor, "user.enable" if active else "user.disable", f"user:{u.username}", {"username": u.username},
                        bureau_id=u.bureau_id)
        s.commit()
        s.refresh(u)
        return _info(s, u)


def disable_user(engine: Engine, username: str, actor: Actor = CLI) -> UserInfo:
    return set_active(engine, username, False, actor)


def reset_password(engine: Engine, username: str, password: str, actor: Actor = CLI) -> UserInfo:
    """Set a new password; also lifts a lock-out."""
    require(actor, "user.manage")
    pw_hash = hash_password(password)
    with Session(engine) as s:
        u = _must_get(s, username, lock=True)
        _require_scope(s, actor, u)
        u.password_hash, u.failed_attempts, u.locked_until = pw_hash, 0, None
        throttle.clear_account(s, u.username)
        s.add(u)
        auditlog.record(s, actor, "user.reset_password", f"user:{u.username}", {"username": u.username},
                        bureau_id=u.bureau_id)
        s.commit()
        s.refresh(u)
        return _info(s, u)


# --- login ---------------------------------------------------------------------------------------


# One message for every failed login: a wrong name, a wrong password, a locked or disabled account
# and a throttled source all read alike, so the message never tells whether an account exists.
LOGIN_FAILED = "用户名或密码错误，或账号暂时无法登录；请稍后再试，或联系管理员"


def _count_failure(s: Session, u: User, source: str, now: dt.datetime, policy: LockoutPolicy) -> str:
    """One more failure on the account: on its pair with the source and on the account across
    sources (windowed counts in `loginthrottle`), and on `failed_attempts`, each in one statement,
    so parallel attempts cannot lose increments. The account locks when its count across sources
    reaches `account_max_attempts`. Returns "locked_now" when this failure locked the source out
    of the account or the account itself, else "password"."""
    by_pair = throttle.hit(s, throttle.account_source_key(u.username, source), now, policy.lock_window)
    by_account = throttle.hit(s, throttle.account_key(u.username), now, policy.lock_window)
    lock = by_account >= policy.account_max_attempts
    until = now + policy.lock_window
    stmt = (update(User).where(User.id == u.id)
            .values(failed_attempts=User.failed_attempts + 1,
                    # A running lock is not extended by further failures: it ends when it was set to.
                    locked_until=case((and_(literal(lock), or_(User.locked_until.is_(None), User.locked_until <= now)),
                                       until), else_=User.locked_until)))
    s.execute(stmt)
    return "locked_now" if by_pair == policy.max_attempts or by_account == policy.account_max_attempts else "password"


def _unknown_name(s: Session, username: str, password: str, source: str, now: dt.datetime, policy: LockoutPolicy) -> None:
    verify_password(_DUMMY_HASH, password or "")  # a wrong name costs as long as a wrong password
    n = throttle.hit(s, throttle.unknown_key(source), now, policy.source_window)
    if throttle.audit_due(n):
        # Aggregated: the names typed are not kept (one may be a password typed into the wrong box).
        auditlog.record(s, Actor("?", ""), "user.login_unknown", "user:?", {"source": source, "attempts": n},
                        keep_payload=False)


def login(
    engine: Engine,
    username: str,
    password: str,
    *,
    source: str = "",
    now: Optional[dt.datetime] = None,
    policy: Optional[LockoutPolicy] = None,
) -> Actor:
    """Check the password; return the user's Actor or raise LoginFailed with LOGIN_FAILED.

    `source`: where the attempt comes from (the client's address); failures are counted per source
    as well as per account, and a source with `source_max_attempts` failures in `source_window` is
    refused outright. A failure on an existing account is audited in the transaction that counts it;
    failures on unknown names are counted per source and audited at 1, 10, 100, … attempts.
    `now` is injectable for tests.
    """
    now = now or utcnow()
    policy = policy or LockoutPolicy.from_env()
    username = (username or "").strip()
    with Session(engine) as s:
        if throttle.count(s, throttle.source_key(source), now, policy.source_window) >= policy.source_max_attempts:
            verify_password(_DUMMY_HASH, password or "")
            throttle.hit(s, throttle.source_key(source), now, policy.source_window)
            s.commit()
            raise LoginFailed(LOGIN_FAILED)
        u = _get(s, username) if username else None
        if u is None:
            throttle.hit(s, throttle.source_key(source), now, policy.source_window)
            _unknown_name(s, username, password, source, now, policy)
            s.commit()
            raise LoginFailed(LOGIN_FAILED)
        reason = _check_login(s, u, password, now, policy, source)
        who = actor_for(s, u)
        if reason is not None:
            throttle.hit(s, throttle.source_key(source), now, policy.source_window)
            auditlog.record(s, who, "user.login_failed", f"user:{u.username}",
                            {"username": u.username, "reason": reason, "source": source})
            s.commit()
            raise LoginFailed(LOGIN_FAILED)
        if _hasher.check_needs_rehash(u.password_hash):
            u.password_hash = _hasher.hash(password)
        u.failed_attempts, u.locked_until, u.last_login_at = 0, None, now
        throttle.clear(s, throttle.account_source_key(u.username, source))
        s.add(u)
        auditlog.record(s, who, "user.login", f"user:{u.username}", {"username": u.username, "source": source})
        s.commit()
        return who


def _check_login(s: Session, u: User, password: str, now: dt.datetime, policy: LockoutPolicy,
                 source: str = "") -> Optional[str]:
    """Why the login of the existing account `u` from `source` fails ("locked_source", "locked",
    "disabled", "password", "locked_now"), None when it succeeds."""
    if throttle.count(s, throttle.account_source_key(u.username, source), now, policy.lock_window) >= policy.max_attempts:
        verify_password(_DUMMY_HASH, password or "")  # refused before the password is tried, in as long
        return "locked_source"
    locked = _aware(u.locked_until)
    if locked is not None and locked <= now:  # the lock has run out: a fresh count (one UPDATE)
        s.execute(update(User).where(User.id == u.id, User.locked_until <= now).values(failed_attempts=0, locked_until=None))
        locked = None
    ok = verify_password(u.password_hash, password or "")
    if ok and locked is None and u.active:
        return None
    why = _count_failure(s, u, source, now, policy)
    if locked is not None:
        return "locked"
    if not u.active:
        return "disabled"
    return why


def login_external(engine: Engine, username: str, method: str, *, now: Optional[dt.datetime] = None) -> Actor:
    """A login the bureau's identity provider (OIDC) has authenticated: the local
    account of that name gives the role; disabled or locked accounts are refused."""
    now = now or utcnow()
    with Session(engine) as s:
        u = _get(s, (username or "").strip(), lock=True)
        if u is None:
            auditlog.record(s, Actor("?", ""), "user.login_failed", "user:?", {"username": username, "reason": "no_account", "method": method})
            s.commit()
            raise LoginFailed(f"统一身份认证账号“{username}”尚未开通本系统账号，请联系管理员")
        who = actor_for(s, u)
        locked = _aware(u.locked_until)
        if not u.active or (locked is not None and locked > now):
            auditlog.record(s, who, "user.login_failed", f"user:{u.username}", {"username": u.username, "reason": "disabled_or_locked", "method": method})
            s.commit()
            raise LoginFailed("该账号已停用或锁定，请联系管理员")
        u.last_login_at = now
        s.add(u)
        auditlog.record(s, who, "user.login", f"user:{u.username}", {"username": u.username, "method": method})
        s.commit()
        return who


def must_change_password(engine: Engine, username: str) -> bool:
    """Whether the account still has a password someone else set (the demo's), to change first."""
    with Session(engine) as s:
        return bool(s.execute(select(User.must_change_password).where(User.username == username)).scalar())


def change_password(engine: Engine, username: str, current: str, new: str, *, now: Optional[dt.datetime] = None,
                    policy: Optional[LockoutPolicy] = None) -> UserInfo:
    """The account's own password change: the current password, then a new one of at least
    MIN_PASSWORD_LENGTH characters that differs from it. A wrong current password counts as a
    failed login (so this form cannot be used to guess around the lock-out)."""
    now = now or utcnow()
    policy = policy or LockoutPolicy.from_env()
    if new == current:
        raise UserError("新密码不能与当前密码相同")
    pw_hash = hash_password(new)
    with Session(engine) as s:
        u = _get(s, (username or "").strip())
        if u is None or not u.active:
            raise UserError(LOGIN_FAILED)
        reason = _check_login(s, u, current, now, policy)
        who = actor_for(s, u)
        if reason is not None:
            auditlog.record(s, who, "user.login_failed", f"user:{u.username}",
                            {"username": u.username, "reason": reason, "during": "change_password"})
            s.commit()
            raise UserError("当前密码不正确，或账号暂时无法登录")
        u.password_hash, u.must_change_password, u.failed_attempts, u.locked_until = pw_hash, False, 0, None
        s.add(u)
        auditlog.record(s, who, "user.change_password", f"user:{u.username}", {"username": u.username},
                        bureau_id=u.bureau_id)
        s.commit()
        s.refresh(u)
        return _info(s, u)


def admin_names(engine: Engine, bureau_id: Optional[int] = None) -> list[str]:
    """Names (姓名, else login name) of the active administrators who can act for `bureau_id`
    (theirs or deployment-wide): whom to ask, e.g. to enter next year's holiday schedule."""
    with Session(engine) as s:
        q = select(User.display_name, User.username).where(User.role == "admin", User.active.is_(True))
        if bureau_id is not None:
            q = q.where((User.bureau_id == bureau_id) | User.bureau_id.is_(None))
        return [d or u for d, u in s.execute(q.order_by(User.username)).all()]


def actor_of(engine: Engine, username: str) -> Optional[Actor]:
    """The Actor of an active account (no password: for an already authenticated session)."""
    with Session(engine) as s:
        u = _get(s, username)
        if u is None or not u.active:
            return None
        return actor_for(s, u)


def logout(engine: Engine, actor: Actor) -> None:
    with Session(engine) as s:
        auditlog.record(s, actor, "user.logout", f"user:{actor.name}", {"name": actor.name})
        s.commit()


# --- demo ----------------------------------------------------------------------------------------

# (username, role, department code, display name); the inspector is the first of the roster.
DEMO_USERS: tuple[tuple[str, str, Optional[str], str], ...] = (
    ("admin", "admin", None, "演示管理员"),
    ("planner", "planner", "SCJGJ", "演示计划人员（区市场监管局）"),
    ("inspector", "inspector", None, "演示执法检查人员"),
    ("reviewer", "reviewer", "SCJGJ", "演示审核人员（区市场监管局）"),
    ("auditor", "auditor", None, "演示审计人员"),
    # A second administrator: a new year's holiday schedule is entered by one and confirmed by another.
    ("admin2", "admin", None, "演示管理员（复核）"),
)


@dataclass(frozen=True)
class DemoAccount:
    info: UserInfo
    password: Optional[str]  # the generated password when the account was created now, else None


def demo_password() -> str:
    """A fresh random password for a demo account (printed once; changed at the first login)."""
    return secrets.token_urlsafe(9)


def ensure_demo_users(engine: Engine, password: Optional[str] = None, *, must_change: bool = True) -> list[DemoAccount]:
    """Create the demo accounts that are missing and return all of them.

    Each new account gets its own random password (or `password`), returned here once and stored
    only as its hash; with `must_change` (the default) it must be changed at the first login.
    """
    with Session(engine) as s:
        first_inspector = s.execute(
            select(Inspector.inspector_id).join(Department, Department.id == Inspector.department_id)
            .where(Department.code == "SCJGJ", Inspector.active.is_(True)).order_by(Inspector.inspector_id).limit(1)
        ).scalar_one_or_none()
    out: list[DemoAccount] = []
    for username, role, dept, display in DEMO_USERS:
        info = get_user(engine, username)
        pw = None
        if info is None:
            if role == "inspector" and first_inspector is None:
                continue
            pw = password or demo_password()
            info = add_user(engine, username, role, pw, display_name=display, department=dept,
                            inspector=first_inspector if role == "inspector" else None, actor=CLI,
                            must_change_password=must_change)
        out.append(DemoAccount(info, pw))
    return out
