"""系统设置: user accounts, result categories and the risk-class scheme.

Administrators change them; auditors see them (read-only). Every change goes through a service
that checks the permission and records an audit event (scheduler/accounts/service.py,
results.add_category, bureaus.change_risk_classes).
"""

import streamlit as st

from scheduler.results import lifecycle as lc
from scheduler.library import vocabulary
from scheduler.access.permissions import ACCOUNT_ROLES, ROLES, can
from scheduler.library import browse
from scheduler.accounts import service as users
from scheduler.results import service as rs
from scheduler.library.bureaus import change_risk_classes, risk_classes
from scheduler.errors import DsrError
from sqlmodel import Session
from ui.formatting import beijing
from ui import state
from ui.widgets import Col, table

st.title("系统设置")
eng = state.engine()
actor = state.actor()
b = state.bureau()
manage_users = can(actor, "user.manage")
manage_settings = can(actor, "settings.manage")
if not manage_settings:
    st.caption("只读：修改系统设置须由管理员进行。")

FLASH = "settings_flash"
if FLASH in st.session_state:  # the outcome of the last change, kept across the re-run that shows it
    st.success(st.session_state.pop(FLASH))


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def _time(v) -> str:
    return beijing(v) if v else ""


def _password_pair(prefix: str, label: str) -> str | None:
    """Two password boxes; the password if both say the same, else None (the service checks its length)."""
    c1, c2 = st.columns(2)
    p1 = c1.text_input(label, type="password", key=f"{prefix}_pw1", help=f"至少 {users.MIN_PASSWORD_LENGTH} 个字符")
    p2 = c2.text_input(f"再次输入{label}", type="password", key=f"{prefix}_pw2")
    return p1 if p1 == p2 else None


tab_users, tab_cats, tab_risk = st.tabs(["用户账号", "检查结果类别", "信用风险分类"])

# --- accounts ---------------------------------------------------------------------------------------
with tab_users:
    bureau_names = {x["id"]: x["name"] for x in state.bureau_choices()}
    accounts = users.list_users(eng, actor=actor)
    table([{
        "username": u.username, "name": u.display_name, "role": u.role_label,
        "bureau": bureau_names.get(u.bureau_id, "全部" if u.bureau_id is None else str(u.bureau_id)),
        "department": u.department, "inspector": u.inspector_id,
        "state": ("已停用" if not u.active else f"锁定至 {_time(u.locked_until)}" if u.locked_until else "正常"),
        "last_login": _time(u.last_login_at),
    } for u in accounts], [
        Col("username", "用户名"), Col("name", "姓名"), Col("role", "角色"), Col("bureau", "所属监管局"),
        Col("department", "部门"), Col("inspector", "执法人员编号"), Col("state", "状态"), Col("last_login", "最近登录"),
    ], key="settings_users_table")
    st.caption("账号不删除，只停用；登录失败次数过多的账号按设定锁定，重置密码即解除锁定。"
               "不属于某一监管局的全局管理员和审计账号由服务器管理员用 dsr 命令行工具创建（见账号说明文档）。")

    if manage_users and b is not None:
        with st.expander(f"新建账号（{b['name']}）"):
            c1, c2, c3 = st.columns(3)
            username = c1.text_input("用户名", key="settings_new_username")
            display = c2.text_input("姓名", key="settings_new_name")
            role = c3.selectbox("角色", ACCOUNT_ROLES, format_func=lambda r: ROLES[r], key="settings_new_role")
            depts = browse.departments(eng, bureau_id=b["id"], actor=actor)
            c4, c5 = st.columns(2)
            dept = c4.selectbox("所属部门（计划人员、审核人员必填）", [None] + [d for d, _ in depts],
                                format_func=lambda d: "（无）" if d is None else dict(depts)[d], key="settings_new_dept")
            inspector = c5.text_input("执法检查人员编号（执法检查人员必填）", key="settings_new_inspector",
                                      help="该账号对应执法检查人员名录库中的人员编号，其所属部门随名录")
            password = _password_pair("settings_new", "初始密码")
            if st.button("创建账号", key="settings_new_submit", type="primary"):
                if password is None:
                    st.error("两次输入的密码不一致")
                else:
                    try:
                        u = users.add_user(eng, username, role, password, display_name=display,
                                           department=dict(depts).get(dept) if dept is not None else None,
                                           bureau=b["code"], inspector=inspector.strip() or None, actor=actor)
                    except DsrError as e:
                        st.error(str(e))
                    else:
                        _done(f"已创建账号“{u.username}”（{u.role_label}）")

        names = [u.username for u in accounts]
        if names:
            st.markdown("**账号操作**")
            who = st.selectbox("账号", names, key="settings_user_pick")
            picked = next(u for u in accounts if u.username == who)
            a1, a2 = st.columns(2)
            with a1:
                label = "启用账号" if not picked.active else "停用账号"
                if st.button(label, key="settings_user_toggle"):
                    try:
                        users.set_active(eng, who, not picked.active, actor=actor)
                    except DsrError as e:
                        st.error(str(e))
                    else:
                        _done(f"已{label[:2]}账号“{who}”")
            with a2:
                password = _password_pair("settings_reset", "新密码")
                if st.button("重置密码", key="settings_user_reset"):
                    if password is None:
                        st.error("两次输入的密码不一致")
                    else:
                        try:
                            users.reset_password(eng, who, password, actor=actor)
                        except DsrError as e:
                            st.error(str(e))
                        else:
                            st.success(f"已重置“{who}”的密码（并解除锁定）")

# --- result categories -------------------------------------------------------------------------------
with tab_cats:
    cats = rs.list_categories(eng, include_inactive=True)
    table([{"code": c.code, "name": c.name, "problem": "是" if c.problem else "",
            "follow": c.follow_up_action if c.opens_follow_up else "", "active": "启用" if c.active else "停用"}
           for c in cats],
          [Col("code", "编码"), Col("name", "检查结果类别"), Col("problem", "属于发现问题"),
           Col("follow", "后续处置"), Col("active", "状态")], key="settings_categories_table")
    st.caption("检查结果类别与国家企业信用信息公示系统的公示类别一致；公示结果按类别名称公开。")
    if manage_settings:
        with st.expander("增加检查结果类别"):
            c1, c2 = st.columns([1, 3])
            code = c1.text_input("编码", key="settings_cat_code")
            name = c2.text_input("名称", key="settings_cat_name", placeholder="例如：被撤销登记")
            c3, c4, c5 = st.columns(3)
            problem = c3.checkbox("属于发现问题", key="settings_cat_problem")
            follow = c4.checkbox("启动后续处置", key="settings_cat_follow")
            action = c5.selectbox("后续处置方式", ("",) + lc.FOLLOW_UP_ACTIONS,
                                  format_func=lambda a: a or "（无）", key="settings_cat_action")
            if st.button("增加", key="settings_cat_submit", type="primary"):
                try:
                    c = rs.add_category(eng, code, name, actor, problem=problem, opens_follow_up=follow,
                                        follow_up_action=action)
                except DsrError as e:
                    st.error(str(e))
                else:
                    _done(f"已增加检查结果类别“{c.code} {c.name}”")

# --- risk classes ------------------------------------------------------------------------------------
with tab_risk:
    with Session(eng) as s:
        classes = risk_classes(s)
    table([{"class": c, "name": vocabulary.RISK_CLASS_NAMES.get(c, "")} for c in classes],
          [Col("class", "信用风险分类"), Col("name", "含义")], key="settings_risk_table")
    st.caption("信用风险分类为内部信息，不向社会公开；分类由低风险到高风险排列，抽查计划按分类设定抽查比例和频次。")
    if manage_settings:
        text = st.text_input("信用风险分类（由低到高，以分号分隔）", value=";".join(classes), key="settings_risk_text",
                             help="2 至 5 个大写字母；仍有检查对象或抽查计划使用的分类不能删除")
        if st.button("保存信用风险分类", key="settings_risk_submit"):
            try:
                saved = change_risk_classes(eng, text.replace("；", ";").split(";"), actor)
            except DsrError as e:
                st.error(str(e))
            else:
                _done(f"信用风险分类已保存：{'、'.join(saved)}")
