"""Login for the Streamlit app: the local form, optional OIDC (st.login), session, logout.

Only the username lives in st.session_state; the Actor is read from the
database on every rerun, so disabling an account takes effect at the user's
next click. Pages hidden here are a convenience: the services check again.
There is no login without a password (tests log in through the form).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import streamlit as st

from scheduler.access.permissions import IMPORT_KINDS, ROLES, can
from scheduler.access.context import Actor

SESSION_KEY = "dsr_username"

# Roles that see the registers, plans and tasks (inspectors see their own work on result pages).
STAFF = frozenset({"admin", "planner", "reviewer", "auditor"})

PAGE_RULES: dict[str, Callable[[Actor], bool]] = {
    # The dashboard shows internal figures (risk classes): not for inspectors, whose home is 我的任务.
    "home.py": lambda a: a.role not in ("public", "inspector"),
    "mytasks.py": lambda a: a.role == "inspector",
    "public.py": lambda a: True,  # 公示查询: open to everyone, logged in or not
    "verify.py": lambda a: True,  # anyone may verify a published draw
    "public_verify.py": lambda a: True,  # 公开核验: open to everyone, logged in or not
    "selfcheck.py": lambda a: True,  # 本企业查询: open to everyone; the query code decides
    "registry.py": lambda a: a.role in STAFF,
    "roster.py": lambda a: a.role in STAFF,
    "experts.py": lambda a: a.role in STAFF,
    "items.py": lambda a: a.role in STAFF,
    "conflicts.py": lambda a: a.role in STAFF,
    "imports.py": lambda a: any(can(a, f"import.{k}") for k in IMPORT_KINDS),
    "plans.py": lambda a: a.role in STAFF,
    "draw.py": lambda a: can(a, "draw.execute"),
    "tasks.py": lambda a: a.role in STAFF,  # lists every task: not for inspectors
    "schedules.py": lambda a: a.role in STAFF,
    "visits.py": lambda a: a.role in STAFF,  # 联合检查: the coordinating department's overview
    # Result pages: administrators may act as an inspector or reviewer there (ui/acting.py).
    "results.py": lambda a: can(a, "result.enter") or a.role == "admin",
    "review.py": lambda a: can(a, "result.review") or a.role == "admin",
    "calendar.py": lambda a: can(a, "calendar.enter") or a.role == "auditor",
    "audit.py": lambda a: can(a, "audit.export"),  # administrators and auditors (纪检/审计)
    "settings.py": lambda a: can(a, "user.view"),  # administrators change, auditors read
    "docking.py": lambda a: can(a, "exchange.view"),  # 平台对接
}


def page_visible(actor: Actor, page_path: str) -> bool:
    """Is the page (path or script name) shown to this actor? Unlisted pages: every role but public."""
    script = page_path.rsplit("/", 1)[-1]
    rule = PAGE_RULES.get(script)
    return rule(actor) if rule is not None else actor.role != "public"


def _engine():
    from ui.database import engine

    return engine()


def client_address() -> str:
    """Where the request comes from (failed logins are counted per source as well as per account)."""
    try:
        return st.context.ip_address or ""
    except Exception:  # no request context (a bare script run)
        return ""


def _secrets_section(name: str) -> Optional[Any]:
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets.toml at all
        return None


def oidc_config() -> Optional[dict[str, Any]]:
    """[dsr_auth] of .streamlit/secrets.toml when [auth] is configured too (see docs/accounts.md)."""
    if _secrets_section("auth") is None:
        return None
    cfg = _secrets_section("dsr_auth")
    return dict(cfg) if cfg is not None else {}


def _oidc_username(cfg: dict[str, Any]) -> Optional[str]:
    try:
        if not st.user.is_logged_in:
            return None
        claim = cfg.get("claim", "email")
        ident = st.user.get(claim)
    except Exception:
        return None
    if not ident:
        return None
    accounts = cfg.get("accounts") or {}
    return accounts.get(ident, ident)


def account_actor() -> Optional[Actor]:
    """The logged-in user's Actor as the account is (bureau None for deployment-wide accounts), or None.

    The scope of the bureaus a user may pick from (ui/state.py) is decided on this actor."""
    from scheduler.accounts import service as users

    from ui import session

    eng = _engine()
    name = session.username(SESSION_KEY)
    if name:
        a = users.actor_of(eng, name)
        if a is None:  # disabled (or removed) since logging in
            st.session_state.pop(SESSION_KEY, None)
            return None
        return a
    return None


def _account_label(a: Actor) -> str:
    return f"{a.name}（{ROLES.get(a.role, a.role)}）"


def login_form() -> None:
    """The local login form; on success the username goes into the session and the app reruns."""
    from scheduler.accounts import service as users

    eng = _engine()
    st.title("双随机、一公开 抽查系统")
    cfg = oidc_config()
    if cfg is not None:
        ident = _oidc_username(cfg)
        if ident:
            try:
                users.login_external(eng, ident, "oidc")
            except users.LoginFailed as e:
                st.error(str(e))
                st.button("退出统一身份认证", on_click=st.logout)
                return
            st.session_state[SESSION_KEY] = ident
            _remember(ident)
            st.rerun()
        provider = cfg.get("provider")
        st.button("使用统一身份认证登录", key="login_oidc",
                  on_click=(lambda: st.login(provider)) if provider else st.login)
        st.caption("或使用本系统账号登录：")
    with st.form("login"):
        username = st.text_input("用户名", key="login_username")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录")
    if submitted:
        try:
            users.login(eng, username, password, source=client_address())
        except users.LoginFailed as e:
            st.error(str(e))
            return
        st.session_state[SESSION_KEY] = username.strip()
        _remember(username.strip())
        st.session_state.pop("login_password", None)
        st.rerun()


def _remember(username: str) -> None:
    """Keep the login across reloads and tabs (ui/session.py)."""
    from ui import session

    session.begin(username)


def login_page() -> None:
    """The 登录 page shown beside the public page to visitors who are not logged in."""
    from scheduler.accounts import service as users

    if users.count_users(_engine()) == 0:
        st.title("双随机、一公开 抽查系统")
        st.warning("系统还没有任何用户账号。请管理员在服务器上运行 `dsr user add 用户名 --admin` 创建第一个管理员，"
                   "然后刷新本页登录。（演示：`dsr app` 在生成演示数据时会创建演示账号。）")
        return
    login_form()
    st.caption("社会公众无需登录，可在左侧「公示查询」查看已公示的抽查计划、检查结果和抽取核验包。")


def require_login() -> Actor:
    """The logged-in Actor; otherwise show the login form (or the first-run message) and stop."""
    from scheduler.accounts import service as users

    a = account_actor()
    if a is not None:
        return a
    if users.count_users(_engine()) == 0:
        st.title("双随机、一公开 抽查系统")
        st.warning("系统还没有任何用户账号。请管理员在服务器上运行 `dsr user add 用户名 --admin` 创建第一个管理员，"
                   "然后刷新本页登录。（演示：`dsr app` 在生成演示数据时会创建演示账号。）")
        st.stop()
    login_form()
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the script run


def logout() -> None:
    from scheduler.accounts import service as users

    a = account_actor()
    if a is not None and st.session_state.get(SESSION_KEY):
        users.logout(_engine(), a)
    from ui import session

    session.end()
    st.session_state.pop(SESSION_KEY, None)
    try:
        if st.user.is_logged_in:
            st.logout()
    except Exception:
        pass


def sidebar(actor: Actor) -> None:
    """Who is logged in, and the logout button."""
    from scheduler.accounts import service as users

    info = users.get_user(_engine(), st.session_state.get(SESSION_KEY) or actor.name)
    # People by name: the account's 姓名 (its login name only when it has none).
    label = f"{info.display_name or info.username}（{info.role_label}）" if info else _account_label(actor)
    st.caption(f"当前用户：{label}")
    if st.session_state.get(SESSION_KEY):
        st.button("退出登录", key="logout", on_click=logout)
