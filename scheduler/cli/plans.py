"""`dsr plans` (list), `dsr plans copy|approve|publish|versions` (the plan as a published document),
`dsr plans vertical|roster-approve|roster-uses` (垂直管理: district plans drawing on the city roster)."""

from __future__ import annotations

import json

import typer

from scheduler.cli.acting import AS_HELP, actor_as
from scheduler.cli.base import app, console, engine
from scheduler.cli.chinese import ChineseTyper

plans_app = ChineseTyper(help="抽查计划：列出、复制为新年度计划、审批、发布、版本记录。")
app.add_typer(plans_app, name="plans")


@plans_app.callback(invoke_without_command=True)
def plans_main(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="以 JSON 输出抽查计划。")) -> None:
    """列出抽查计划，或执行下列命令之一。"""
    if ctx.invoked_subcommand is None:
        from scheduler.cli.draws import plans

        plans(as_json)


@plans_app.command("copy")
def copy(
    code: str = typer.Argument(..., help="计划编号"),
    year: int = typer.Option(..., "--year", help="新计划的年度 YYYY"),
    new_code: str = typer.Option(..., "--code", help="新计划编号"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """复制为下一年度计划：把抽查计划复制为新年度的草稿。"""
    from scheduler.plans.versions import copy_plan

    eng = engine()
    p = copy_plan(eng, code, year, new_code, actor_as(eng, as_user))
    console.print(f"已将 {code} 复制为 {year} 年度计划 {p.code}（{p.name}，第 {p.version} 版，草稿）；"
                  f"须由创建人以外有审批权限的人员审批：dsr plans approve {p.code} --as 账号", markup=False)


@plans_app.command("approve")
def approve(code: str = typer.Argument(..., help="计划编号"), as_user: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """审批抽查计划草稿：审批人不能是创建或最后修改它的账号。"""
    from scheduler.plans.versions import approve_plan

    eng = engine()
    p = approve_plan(eng, code, actor_as(eng, as_user))
    console.print(f"已审批抽查计划 {p.code} 第 {p.version} 版（审批人 {p.approved_by}）；发布：dsr plans publish {p.code} --as 账号",
                  markup=False)


@plans_app.command("publish")
def publish(code: str = typer.Argument(..., help="计划编号"), as_user: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """发布已审批的抽查计划：公开页面随即显示。"""
    from scheduler.plans.versions import publish_plan

    eng = engine()
    p = publish_plan(eng, code, actor_as(eng, as_user))
    console.print(f"已发布抽查计划 {p.code} 第 {p.version} 版（发布人 {p.published_by}）", markup=False)


@plans_app.command("versions")
def versions(code: str = typer.Argument(..., help="计划编号"),
             as_json: bool = typer.Option(False, "--json", help="以 JSON 输出版本记录。")) -> None:
    """版本记录：抽查计划已审批的各版本（新版在前）及修改理由。"""
    from scheduler.plans.listing import plan_versions as read

    rows = read(engine(), code)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        when = r["published_at"] or r["approved_at"]
        state = "已发布" if r["published_at"] else "已审批"
        console.print(f"第 {r['version']} 版  {state}  {when:%Y-%m-%d}  审批人 {r['approved_by']}  修改理由：{r['reason'] or '—'}",
                      markup=False)


@plans_app.command("vertical")
def set_vertical(
    bureau: str = typer.Argument(..., help="区级局代码"),
    department: str = typer.Argument(..., help="部门代码"),
    off: bool = typer.Option(False, "--off", help="取消垂直管理"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """把区级部门标记为实行垂直管理：其执法检查人员取自市级执法检查人员名录库。"""
    from scheduler.matching.vertical import set_vertical as mark

    eng = engine()
    d = mark(eng, bureau, department, not off, actor_as(eng, as_user))
    state = "实行垂直管理，执法检查人员取自市级名录库" if d.vertical else "不实行垂直管理"
    console.print(f"部门 {bureau}/{department}（{d.name}）：{state}", markup=False)


@plans_app.command("roster-approve")
def roster_approve(
    code: str = typer.Argument(..., help="计划编号"),
    note: str = typer.Option("", "--note", help="审批意见"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """市局审批区级抽查计划使用市级执法检查人员名录库（垂直管理部门的执法检查人员）。"""
    from scheduler.matching.vertical import approve_roster_use

    eng = engine()
    codes = approve_roster_use(eng, code, actor_as(eng, as_user), note)
    console.print(f"已审批计划 {code} 使用市级名录库：{'、'.join(codes) or '（此前均已审批）'}", markup=False)


@plans_app.command("roster-uses")
def roster_uses(as_user: str = typer.Option(..., "--as", help=AS_HELP),
                as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """市级名录库使用情况：使用市级执法检查人员名录库的区级抽查计划，已审批或待审批。"""
    from scheduler.matching.vertical import roster_uses as uses

    eng = engine()
    rows = uses(eng, actor_as(eng, as_user))
    if as_json:
        typer.echo(json.dumps([{**r, "approved_at": r["approved_at"].isoformat() if r["approved_at"] else ""}
                               for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        console.print(f"{r['plan']}  {r['name']}  {r['department']} {r['department_name']}  {r['state']}"
                      f"{'（' + r['approved_by'] + '）' if r['approved_by'] else ''}", markup=False)
    if not rows:
        console.print("没有使用市级名录库的计划", markup=False)
