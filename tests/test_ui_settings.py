"""系统设置 page (AppTest, the whole app on a real SQLite file): accounts, result categories and the
risk-class scheme, each change through its service, refusals shown and nothing stored; and the
services' own permission and scope checks behind the page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import AuditEvent, Enterprise, User
from scheduler.access.permissions import PermissionDenied
from scheduler.results import service as rs
from scheduler.accounts import service as users
from scheduler.library.bureaus import SettingsRefused, change_risk_classes, ensure_bureau, risk_classes
from scheduler.demo.service import ensure_pinggu
from scheduler.access.context import Actor
from tests.test_ui_login import APP, PW, logged_in_admin
from tests.test_ui_login import url as url  # noqa: F401 (fixture)
from tests.ui_steps import login, open_page, table
from ui import auth

NEW_PW = "another-horse-2"


def _app(url: str, username: str = "ui-admin") -> AppTest:
    eng = make_engine(url)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    eng.dispose()
    at = logged_in_admin(AppTest.from_file(APP, default_timeout=60), url, username)
    at.run()
    assert not at.exception, at.exception
    return open_page(at, "settings.py")


def _fill_new_account(at: AppTest, username: str, role: str, pw1: str, pw2: str, dept: bool = True) -> AppTest:
    at.text_input(key="settings_new_username").input(username)
    at.text_input(key="settings_new_name").input("王五")
    at.selectbox(key="settings_new_role").set_value(role)
    at.selectbox(key="settings_new_dept").select_index(1 if dept else 0)  # the first department, or （无）
    at.text_input(key="settings_new_pw1").input(pw1)
    at.text_input(key="settings_new_pw2").input(pw2)
    at.button(key="settings_new_submit").click().run()
    assert not at.exception, at.exception
    return at


def _users(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        with Session(eng) as s:
            return set(s.execute(select(User.username)).scalars())
    finally:
        eng.dispose()


def test_administrator_creates_disables_and_resets_an_account(url):
    at = _app(url)
    assert "ui-admin" in set(table(at, "用户名")["用户名"])

    # Refused inputs: nothing is stored, the reason is shown.
    _fill_new_account(at, "wang", "planner", PW, PW + "x")
    assert any("两次输入的密码不一致" in e.value for e in at.error)
    _fill_new_account(at, "wang", "planner", PW, PW, dept=False)
    assert any("须指定所属部门" in e.value for e in at.error)
    _fill_new_account(at, "wang", "planner", "short", "short")
    assert at.error and "wang" not in _users(url)

    _fill_new_account(at, "wang", "planner", PW, PW)
    assert any("已创建账号“wang”（计划人员）" in s.value for s in at.success), [e.value for e in at.error]
    row = table(at, "用户名").set_index("用户名").loc["wang"]
    assert row["角色"] == "计划人员" and row["状态"] == "正常" and row["部门"]
    eng = make_engine(url)
    assert users.login(eng, "wang", PW).role == "planner"

    # Disable: the account can no longer log in; enable again; reset the password.
    at.selectbox(key="settings_user_pick").set_value("wang").run()
    at.button(key="settings_user_toggle").click().run()
    assert table(at, "用户名").set_index("用户名").loc["wang"]["状态"] == "已停用"
    with pytest.raises(users.LoginFailed, match="用户名或密码错误"):
        users.login(eng, "wang", PW)
    at.selectbox(key="settings_user_pick").set_value("wang").run()
    at.button(key="settings_user_toggle").click().run()
    at.selectbox(key="settings_user_pick").set_value("wang").run()
    at.text_input(key="settings_reset_pw1").input(NEW_PW)
    at.text_input(key="settings_reset_pw2").input(NEW_PW)
    at.button(key="settings_user_reset").click().run()
    assert any("已重置“wang”的密码" in s.value for s in at.success)
    assert users.login(eng, "wang", NEW_PW).name == "wang"
    with Session(eng) as s:
        actions = list(s.execute(select(AuditEvent.action).where(AuditEvent.object == "user:wang")).scalars())
    assert actions[:4] == ["user.add", "user.login", "user.disable", "user.login_failed"]
    assert {"user.enable", "user.reset_password"} <= set(actions)

    # The logged-in administrator cannot lock itself out.
    at.selectbox(key="settings_user_pick").set_value("ui-admin").run()
    at.button(key="settings_user_toggle").click().run()
    assert any("不能停用当前登录的账号" in e.value for e in at.error)
    assert users.get_user(eng, "ui-admin").active
    eng.dispose()


def test_administrator_adds_a_result_category(url):
    at = _app(url)
    before = len(table(at, "检查结果类别"))
    at.text_input(key="settings_cat_code").input("13")
    at.text_input(key="settings_cat_name").input("被撤销登记")
    at.checkbox(key="settings_cat_problem").check()
    at.button(key="settings_cat_submit").click().run()
    assert not at.exception, at.exception
    cats = table(at, "检查结果类别")
    assert len(cats) == before + 1 and "被撤销登记" in set(cats["检查结果类别"])
    # The same name again is refused and not stored twice.
    at.text_input(key="settings_cat_code").input("14")
    at.text_input(key="settings_cat_name").input("被撤销登记")
    at.button(key="settings_cat_submit").click().run()
    assert any("已存在" in e.value for e in at.error)
    assert len(table(at, "检查结果类别")) == before + 1


def test_risk_scheme_grows_and_a_class_in_use_cannot_be_removed(url):
    at = _app(url)
    at.text_input(key="settings_risk_text").input("A；B；C；D；E")
    at.button(key="settings_risk_submit").click().run()
    assert any("信用风险分类已保存：A、B、C、D、E" in s.value for s in at.success)
    assert list(table(at, "信用风险分类")["信用风险分类"]) == ["A", "B", "C", "D", "E"]

    eng = make_engine(url)
    with Session(eng) as s:
        s.add(Enterprise(uscc="91110117MA00000001", name="测试企业", entity_type="企业", industry_code="F5211", town_code="110117001",
                         status="存续", risk_class="E"))
        s.commit()
    at.text_input(key="settings_risk_text").input("A;B;C;D")
    at.button(key="settings_risk_submit").click().run()
    assert any("仍有以下信用风险分类的检查对象" in e.value and "E（1 户）" in e.value for e in at.error)
    with Session(eng) as s:
        assert risk_classes(s) == ["A", "B", "C", "D", "E"]
    for bad in (["A"], ["A", "A", "B"], ["A", "B", "C", "D", "E", "F"], ["A", "高"]):
        with pytest.raises(SettingsRefused, match="2 至 5 个"):
            change_risk_classes(eng, bad, Actor("root", "admin"))
    eng.dispose()


def test_auditor_reads_the_settings_and_others_do_not_see_them(url):
    eng = make_engine(url)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    users.add_user(eng, "audit", "auditor", PW)
    at = login(AppTest.from_file(APP, default_timeout=60), "audit", PW, create=False)
    at = open_page(at, "settings.py")
    assert any("只读" in c.value for c in at.caption)
    assert "audit" in set(table(at, "用户名")["用户名"])
    keys = {b.key for b in at.button}
    assert not keys & {"settings_new_submit", "settings_user_toggle", "settings_cat_submit", "settings_risk_submit"}
    seen = {r: auth.page_visible(Actor("x", r, department_id=1), "ui/pages/settings.py")
            for r in ("admin", "auditor", "planner", "reviewer", "inspector", "public")}
    assert seen == {"admin": True, "auditor": True, "planner": False, "reviewer": False, "inspector": False,
                    "public": False}
    # The services refuse whatever a forced widget would ask.
    auditor = Actor("audit", "auditor")
    with pytest.raises(PermissionDenied):
        users.add_user(eng, "x1", "admin", PW, actor=auditor)
    with pytest.raises(PermissionDenied):
        users.reset_password(eng, "audit", NEW_PW, actor=auditor)
    with pytest.raises(PermissionDenied):
        change_risk_classes(eng, ["A", "B"], Actor("p", "planner", department_id=1))
    with pytest.raises(rs.Refused, match="只有管理员"):
        rs.add_category(eng, "13", "被撤销登记", auditor)
    with pytest.raises(PermissionDenied):
        users.list_users(eng, actor=Actor("p", "planner", department_id=1))
    eng.dispose()


def test_a_bureau_administrator_manages_only_its_own_accounts(url):
    eng = make_engine(url)
    with Session(eng) as s:
        pg = ensure_pinggu(s)
        my = ensure_bureau(s, "110118", "北京市密云区市场监督管理局", "district", "110118",
                           [("110118001", "鼓楼街道")], [("SCJGJ", "市场监管局")])
        s.commit()
        pg_id, my_id = pg.id, my.id
    users.add_user(eng, "pg-admin", "admin", PW, bureau="110117")
    users.add_user(eng, "my-admin", "admin", PW, bureau="110118")
    my_admin = Actor("my-admin", "admin", my_id)
    assert [u.username for u in users.list_users(eng, actor=my_admin)] == ["my-admin"]
    assert {u.username for u in users.list_users(eng)} == {"pg-admin", "my-admin"}
    with pytest.raises(users.UserError, match="无权管理"):
        users.reset_password(eng, "pg-admin", NEW_PW, actor=my_admin)
    with pytest.raises(users.UserError, match="无权管理"):
        users.set_active(eng, "pg-admin", False, actor=my_admin)
    with pytest.raises(users.UserError, match="只能为本局"):
        users.add_user(eng, "x2", "auditor", PW, bureau="110117", actor=my_admin)
    assert users.get_user(eng, "pg-admin").active and users.get_user(eng, "x2") is None
    assert users.add_user(eng, "my-aud", "auditor", PW, bureau="110118", actor=my_admin).bureau_id == my_id
    with Session(eng) as s:
        assert s.execute(select(func.count()).select_from(User).where(User.bureau_id == pg_id)).scalar_one() == 1
    eng.dispose()
