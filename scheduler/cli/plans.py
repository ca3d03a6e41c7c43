"""`dsr plans` (list), `dsr plans copy|approve|publish|versions` (the plan as a published document),
`dsr plans vertical|roster-approve|roster-uses` (垂直管理: district plans drawing on the city roster)."""

from __future__ import annotations

import json

import typer

from scheduler.cli.acting import AS_HELP, actor_as
from scheduler.cli.base import app, console, engine
from scheduler.cli.chinese import ChineseTyper

plans_app = ChineseTyper(help="Plans (抽查计划): list, copy into a new year, approve, publish, versions.")
app.add_typer(plans_app, name="plans")


@plans_app.callback(invoke_without_command=True)
def plans_main(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the plans as JSON.")) -> None:
    """List the plans (抽查计划), or run one of the commands below."""
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
    """Copy a plan into a new plan year as a draft (复制为下一年度计划)."""
    from scheduler.plans.versions import copy_plan

    eng = engine()
    p = copy_plan(eng, code, year, new_code, actor_as(eng, as_user))
    console.print(f"已将 {code} 复制为 {year} 年度计划 {p.code}（{p.name}，第 {p.version} 版，草稿）；"
                  f"须由创建人以外有审批权限的人员审批：dsr plans approve {p.code} --as 账号", markup=False)


@plans_app.command("approve")
def approve(code: str = typer.Argument(..., help="计划编号"), as_user: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """Approve a plan's draft (审批): not by the account that created or last changed it."""
    from scheduler.plans.versions import approve_plan

    eng = engine()
    p = approve_plan(eng, code, actor_as(eng, as_user))
    console.print(f"已审批抽查计划 {p.code} 第 {p.version} 版（审批人 {p.approved_by}）；发布：dsr plans publish {p.code} --as 账号",
                  markup=False)


@plans_app.command("publish")
def publish(code: str = typer.Argument(..., help="计划编号"), as_user: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """Publish an approved plan (发布): the public page shows it."""
    from scheduler.plans.versions import publish_plan

    eng = engine()
    p = publish_plan(eng, code, actor_as(eng, as_user))
    console.print(f"已发布抽查计划 {p.code} 第 {p.version} 版（发布人 {p.published_by}）", markup=False)


@plans_app.command("versions")
def versions(code: str = typer.Argument(..., help="计划编号"),
             as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON.")) -> None:
    """A plan's approved versions, newest first, with the reasons they changed (版本记录)."""
    from scheduler.plans.versions import versions as read

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
    """Mark a district department as vertically managed (实行垂直管理): its inspectors come from the city roster."""
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
    """The city approves a district plan's use of its roster (垂直管理部门的执法检查人员)."""
    from scheduler.matching.vertical import approve_roster_use

    eng = engine()
    codes = approve_roster_use(eng, code, actor_as(eng, as_user), note)
    console.print(f"已审批计划 {code} 使用市级名录库：{'、'.join(codes) or '（此前均已审批）'}", markup=False)


@plans_app.command("roster-uses")
def roster_uses(as_user: str = typer.Option(..., "--as", help=AS_HELP),
                as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """District plans that draw on a city roster, approved or pending (市级名录库使用情况)."""
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
