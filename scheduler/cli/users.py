"""`dsr user add|list|disable|enable|reset-password` (用户账号).

The command line acts as `CLI = Actor("cli", "admin")`: whoever can run `dsr`
on the server with its database URL is a local administrator of that
database (see docs/accounts.md). Accounts are for the web app.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Optional

import typer

from scheduler.cli.base import app, beijing, console, engine, err_console, print_json
from scheduler.cli.chinese import ChineseTyper

user_app = ChineseTyper(help="网页端的用户账号：新增、列出、停用、启用、重置密码。", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _fail(msg: str, code: int = 2) -> None:
    err_console.print(f"[red]{msg}[/red]", soft_wrap=True)
    raise typer.Exit(code)


def _read_password(from_stdin: bool) -> str:
    """From stdin (first line), or typed twice at a hidden prompt; never echoed.

    The second prompt is asked here rather than by `confirmation_prompt`, whose mismatch message
    Click prints in English."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            _fail("未从标准输入读到密码")
        return line.rstrip("\r\n")
    while True:
        password = typer.prompt("密码", hide_input=True, prompt_suffix="：")
        if typer.prompt("再次输入密码", hide_input=True, prompt_suffix="：") == password:
            return password
        typer.echo("错误：两次输入的密码不一致，请重新输入。", err=True)


@user_app.command("add")
def add(
    username: str = typer.Argument(..., help="用户名（登录名）"),
    role: Optional[str] = typer.Option(None, "--role", help="角色：admin / planner / inspector / reviewer / auditor / public"),
    admin: bool = typer.Option(False, "--admin", help="创建管理员（等同 --role admin）"),
    department: Optional[str] = typer.Option(None, "--department", help="所属部门编码或名称（计划人员、审核人员必填）"),
    bureau: Optional[str] = typer.Option(None, "--bureau", help="所属监管局编码（只有一个局时可省略）"),
    inspector: Optional[str] = typer.Option(None, "--inspector", help="执法检查人员账号对应的名录库人员编号"),
    name: str = typer.Option("", "--name", help="姓名（显示名）"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取密码（一行）"),
) -> None:
    """新增用户；创建第一个管理员：dsr user add 用户名 --admin。"""
    from scheduler.access.permissions import ROLES
    from scheduler.accounts.service import add_user, check_password

    if admin and role not in (None, "admin"):
        _fail("--admin 与 --role 不能同时指定为不同角色")
    role = "admin" if admin else role
    if role is None:
        _fail("请用 --role 指定角色，或用 --admin 创建管理员")
    eng = engine()
    password = _read_password(password_stdin)
    check_password(password)
    info = add_user(eng, username, role, password, display_name=name, department=department, bureau=bureau,
                    inspector=inspector)
    dept = f"，部门：{info.department}" if info.department else ""
    console.print(f"已创建用户 {info.username}（{ROLES[info.role]}{dept}）", soft_wrap=True)


@user_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出用户列表。")) -> None:
    """用户列表；最近登录时间为北京时间。"""
    from scheduler.accounts.listing import list_users

    rows = list_users(engine())
    if as_json:
        print_json([{"username": u.username, "display_name": u.display_name, "role": u.role, "role_label": u.role_label,
                     "department": u.department, "inspector_id": u.inspector_id, "active": u.active,
                     "locked_until": u.locked_until, "last_login_at": u.last_login_at} for u in rows])
        return
    if not rows:
        console.print("还没有用户。创建第一个管理员：dsr user add 用户名 --admin", soft_wrap=True)
        return
    from rich.table import Table

    t = Table("用户名", "姓名", "角色", "部门", "执法人员编号", "状态", "最近登录")
    now = dt.datetime.now(dt.timezone.utc)
    for u in rows:
        status = "已停用" if not u.active else ("已锁定" if u.locked_until and u.locked_until > now else "正常")
        last = beijing(u.last_login_at)
        t.add_row(u.username, u.display_name, u.role_label, u.department, u.inspector_id, status, last)
    console.print(t)


@user_app.command("disable")
def disable(username: str = typer.Argument(..., help="用户名")) -> None:
    """停用账号：停用后不能再登录；账号不会被删除。"""
    from scheduler.accounts.service import disable_user

    disable_user(engine(), username)
    console.print(f"已停用用户 {username}", soft_wrap=True)


@user_app.command("enable")
def enable(username: str = typer.Argument(..., help="用户名")) -> None:
    """启用已停用的账号；同时解除登录锁定。"""
    from scheduler.accounts.service import set_active

    set_active(engine(), username, True)
    console.print(f"已启用用户 {username}", soft_wrap=True)


@user_app.command("reset-password")
def reset_password_cmd(
    username: str = typer.Argument(..., help="用户名"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读取新密码（一行）"),
) -> None:
    """重置密码：设置新密码，同时解除登录锁定。"""
    from scheduler.accounts.service import check_password, reset_password

    eng = engine()
    password = _read_password(password_stdin)
    check_password(password)
    reset_password(eng, username, password)
    console.print(f"已重置用户 {username} 的密码", soft_wrap=True)
