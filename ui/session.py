"""A login that survives reloads and new tabs: a signed, HttpOnly session cookie.

Streamlit keeps st.session_state per websocket, so a reload (F5) or a second tab starts with
an empty state. The login is therefore also a server-side session (scheduler/accounts/sessions.py)
whose token the browser keeps in the cookie `dsr_session`:

1. the login form (ui/auth.py) calls `begin(username)`: a session is opened and its one-time
   claim code waits in st.session_state;
2. the next run renders a two-line script (`emit_cookie_calls`) that POSTs the code to
   `/api/session`, a route of the app's server (`routes()`, mounted with st.App in dsr_server.py);
   the route exchanges it for the token and answers with `Set-Cookie: dsr_session=<signed token>;
   HttpOnly; SameSite=Strict` — page scripts can never read the token;
3. a new websocket (reload, new tab, deep link) sends the cookie; `username()` reads it from
   st.context.cookies, checks the signature and asks the database whether the session is live.

Every rerun checks the session again, so a logout in one tab (which ends the session in the
database) logs out every tab at its next click, and an idle session times out.
"""

from __future__ import annotations

import functools
import time
from typing import Optional

import streamlit as st
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Engine

from scheduler.accounts import sessions

COOKIE = "dsr_session"
ROUTE = "/api/session"
SID_KEY = "dsr_session_id"
CLAIM_KEY = "dsr_session_claim"
CLEAR_KEY = "dsr_session_clear"
_SALT = "dsr-session-cookie"


def _engine() -> Engine:
    from ui.database import engine

    return engine()


def _serializer(eng: Engine) -> URLSafeSerializer:
    return URLSafeSerializer(sessions.signing_secret(eng), salt=_SALT)


def begin(username: str) -> None:
    """After a successful login: open the server-side session; the cookie is set on the next run."""
    sid, code = sessions.open_session(_engine(), username)
    st.session_state[SID_KEY] = sid
    st.session_state[CLAIM_KEY] = (code, time.monotonic())
    st.session_state.pop(CLEAR_KEY, None)


def _cookie_token(eng: Engine) -> Optional[str]:
    try:
        raw = st.context.cookies.get(COOKIE)
    except Exception:  # no browser request behind this run (AppTest)
        return None
    if not raw:
        return None
    try:
        return _serializer(eng).loads(raw)
    except BadSignature:
        return None


def username(session_key: str) -> Optional[str]:
    """The logged-in username of this browser, or None; keeps st.session_state[session_key] in step.

    A tab that logged in here has its session id in st.session_state and is checked against the
    database on every run; a fresh tab (reload, new tab) is logged in from its cookie."""
    state = st.session_state
    eng = _engine()
    sid = state.get(SID_KEY)
    if sid is not None:
        if sessions.check(eng, sid):
            return state.get(session_key)
        for key in (SID_KEY, session_key, CLAIM_KEY):
            state.pop(key, None)
        state[CLEAR_KEY] = True
        return None
    if state.get(session_key):  # logged in by this Streamlit session alone (no browser cookie)
        return state.get(session_key)
    token = _cookie_token(eng)
    live = sessions.resume(eng, token) if token else None
    if live is None:
        return None
    state[SID_KEY], state[session_key] = live.id, live.username
    return live.username


def end() -> None:
    """Logout: end the session in the database (every tab), and clear the cookie on the next run."""
    sid = st.session_state.pop(SID_KEY, None)
    if sid is not None:
        sessions.end(_engine(), sid)
    st.session_state.pop(CLAIM_KEY, None)
    st.session_state[CLEAR_KEY] = True


def emit_cookie_calls() -> None:
    """The browser side of steps 2 (set the cookie) and logout (clear it), as a script in the page.

    The claim script stays on the page while its code is valid, so a rerun that replaces the
    page before the browser ran it does not lose the cookie; a second claim is refused harmlessly."""
    claim = st.session_state.get(CLAIM_KEY)
    if claim is not None:
        code, since = claim
        if time.monotonic() - since > sessions.CLAIM_SECONDS:
            st.session_state.pop(CLAIM_KEY, None)
        else:
            _script(f"fetch('{ROUTE}',{{method:'POST',body:'{code}',credentials:'same-origin'}})")
    elif st.session_state.pop(CLEAR_KEY, None):
        _script(f"fetch('{ROUTE}',{{method:'DELETE',credentials:'same-origin'}})")


def _script(js: str) -> None:
    # Rendered in the sidebar's end, where an empty element takes no visible room.
    with st.sidebar:
        st.html(f"<script>{js}</script>", unsafe_allow_javascript=True)


# --- the server side: a route of the app's Starlette server ----------------------------------------


@functools.lru_cache(maxsize=1)
def _route_engine() -> Engine:
    # The route runs outside any script run, so not through st.cache_resource; the schema is
    # already upgraded by the app's first run (a login precedes any claim).
    from db.engine import database_url, make_engine

    return make_engine(database_url())


async def _session_endpoint(request):  # noqa: ANN001, ANN202 (Starlette's request and response)
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    eng = _route_engine()
    secure = request.url.scheme == "https"
    if request.method == "POST":
        code = (await request.body()).decode("ascii", "replace")[:128]
        token = await run_in_threadpool(sessions.claim, eng, code)
        if token is None:
            return Response(status_code=403)
        signed = await run_in_threadpool(lambda: _serializer(eng).dumps(token))
        resp = Response(status_code=204)
        resp.set_cookie(COOKIE, signed, httponly=True, samesite="strict", secure=secure, path="/")
        return resp
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            token = await run_in_threadpool(lambda: _serializer(eng).loads(raw))
            await run_in_threadpool(sessions.end_token, eng, token)
        except BadSignature:
            pass
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    return resp


def routes() -> list:
    """The routes dsr_server.py mounts beside Streamlit's own."""
    from starlette.routing import Route

    return [Route(ROUTE, _session_endpoint, methods=["POST", "DELETE"])]
