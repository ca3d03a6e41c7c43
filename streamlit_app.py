"""dsr's Streamlit app: `python -m streamlit run streamlit_app.py` (or `dsr app`).

The pages are listed in ui/nav.py. No scheduler runs here: scheduled jobs belong
to the worker. The only background thread imports the heavy modules once
(ui/warmup.py), so that the first visit of a page after a start stays fast.
"""

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from scheduler.errors import DsrError
from ui import auth, chrome, nav, password, session, state, warmup

st.set_page_config(page_title="双随机、一公开 抽查系统", layout="wide")
warmup.start()
chrome.apply()  # Streamlit's own widget texts in Chinese


def run_page(page: StreamlitPage) -> None:
    """Run the chosen page. A refusal no page caught (a DsrError) is shown as its Chinese
    message, not as Streamlit's traceback box: the user can act on the one, not the other.
    st.stop() and st.rerun() work by raising exceptions of Streamlit's own, which are not
    DsrError and pass through; any other exception is a bug and keeps its traceback."""
    try:
        page.run()
    except DsrError as exc:
        st.error(exc.message)


# Visitors who are not logged in see the login page and the public pages: 公示查询 (published
# data only, at /public), 公开核验 (a published draw recomputed, at /public-verify) and 本企业查询
# (an entity's own case with its query code, at /selfcheck). Staff pages need a login (ui/auth.py); pages a role
# cannot use are left out of the navigation, and the services refuse them anyway.
# A staff page's address opened without a login (a bookmark, a reload after the idle timeout) shows
# the login form under that address, so the page itself opens once the user has logged in.
actor = state.current_actor()
if actor is None:
    session.emit_cookie_calls()  # clears the cookie after a logout
    run_page(st.navigation({
        "账号": [st.Page(auth.login_page, title="登录", icon=":material/login:", url_path="login", default=True)],
        "公开": [st.Page(nav.page_path("public.py"), title="公示查询", icon=":material/public:", url_path="public"),
                 st.Page(nav.page_path("public_verify.py"), title="公开核验", icon=":material/verified_user:",
                         url_path="public-verify"),
                 st.Page(nav.page_path("selfcheck.py"), title="本企业查询", icon=":material/domain_verification:",
                         url_path="selfcheck")],
        "": [st.Page(auth.login_page, title=title, url_path=nav.url_path(path), visibility="hidden")
             for path, title, _icon in nav.staff_pages()],
    }))
    st.stop()
password.enforce()  # an initial password (the demo's) is changed before any page opens

pages = {
    section: [st.Page(path, title=title, icon=icon, default=(path == nav.page_path("home.py")))
              for path, title, icon in entries if auth.page_visible(actor, path)]
    for section, entries in nav.sections().items()
}
# Addresses of pages this account does not see (a link from a colleague, the login page's own
# address) answer in Chinese instead of Streamlit's English "Page not found".
hidden = [st.Page(nav.not_open_page, title=title, url_path=nav.url_path(path), visibility="hidden")
          for path, title, _icon in nav.staff_pages() if not auth.page_visible(actor, path)]
first = next(p for entries in pages.values() for p in entries)  # 首页, or the role's first page
hidden.append(st.Page(lambda: st.switch_page(first), title="登录", url_path="login", visibility="hidden"))
# expanded: every page is listed (Streamlit's own "View N more" link is in English).
current = st.navigation({**{section: entries for section, entries in pages.items() if entries}, "": hidden},
                        expanded=True)
session.emit_cookie_calls()  # sets the login cookie after a login

with st.sidebar:
    state.bureau_picker()  # the bureau the pages work on (a choice for city-level accounts)
    st.caption(f"数据库：{state.database_label()}")
    auth.sidebar(actor)

run_page(current)
