"""`dsr results …`: enter, review and publish results; corrections, follow-ups, case checks; read-outs.

Every write names who acts (`--as`, `--role`, `--dept`); the service decides
whether that person may (谁检查、谁录入、谁公开), so the CLI grants nothing
the UI would refuse.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import List, Optional

import typer

from scheduler.cli.base import app, console, engine, err_console, print_json, print_table
from scheduler.cli.chinese import ChineseTyper

results_app = ChineseTyper(help="检查结果：录入、审核、公示、更正、后续处置。", no_args_is_help=True)
app.add_typer(results_app, name="results")

AS = typer.Option(..., "--as", help="操作账号（用户名；执法检查人员的账号也可用其名录库编号）。")
ROLE = typer.Option(None, "--role", help="可选核对：账号的角色须为此角色。")
DEPT = typer.Option(None, "--dept", help="可选核对：账号所属部门的代码。")


def _department(eng, dept: str) -> tuple[int, int]:  # noqa: ANN001
    from sqlalchemy import select

    from db.tables import department

    with eng.connect() as conn:
        d = conn.execute(select(department.c.id, department.c.bureau_id).where(department.c.code == dept)).first()
    if d is None:
        err_console.print(f"[red]部门“{dept}”不存在[/red]")
        raise typer.Exit(2)
    return d.id, d.bureau_id


def _actor(name: str, role: Optional[str], dept: Optional[str]):
    """The account `--as` names, acting with its own role and department (the two-person rules of
    entry, review and publication hold between accounts); `--role`/`--dept` only check them."""
    from scheduler.access.permissions import ROLES
    from scheduler.cli.acting import UnknownAccount, account_actor

    eng = engine()
    actor = account_actor(eng, name)
    if role is not None and role != actor.role:
        raise UnknownAccount(f"账号“{name}”的角色是{ROLES.get(actor.role, actor.role)}，不是 {role}")
    if dept and _department(eng, dept)[0] != actor.department_id:
        raise UnknownAccount(f"账号“{name}”不属于部门 {dept}")
    return eng, actor


def _date(v: Optional[str]) -> Optional[dt.date]:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        err_console.print(f"[red]日期格式应为 YYYY-MM-DD：{v}[/red]")
        raise typer.Exit(2)


def _dept_id(code: str) -> int:
    return _department(engine(), code)[0]


@results_app.command("categories")
def categories() -> None:
    """列出检查结果类别。"""
    from scheduler.results.listing import list_categories

    eng = engine()
    cats = list_categories(eng)
    if not cats:  # none stored yet: the service seeds the national list
        from scheduler.results.service import list_categories as seeded

        cats = seeded(eng)
    for c in cats:
        flags = "（发现问题，开启后续处置）" if c.opens_follow_up else ""
        console.print(f"{c.code:>4}  {c.name}{flags}")


@results_app.command("enter")
def enter(task_id: int, item: str = typer.Argument(..., help="抽查事项代码"),
          category: List[str] = typer.Option(..., "--category", "-c", help="检查结果类别的代码或名称（可多次给出）"),
          note: str = typer.Option("", "--note", help="备注"), date: Optional[str] = typer.Option(None, "--date", help="检查日期 YYYY-MM-DD"),
          who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """录入检查结果：一个抽查事项的结果。"""
    from scheduler.results.service import enter_result

    eng, actor = _actor(who, role, dept)
    r = enter_result(eng, task_id, item, category, actor, note=note, inspected_on=_date(date))
    console.print(f"已录入：结果 #{r.id}，状态 {r.status}，第 {r.version} 版")


@results_app.command("approve")
def approve(result_id: int, who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """审核通过检查结果。"""
    from scheduler.results.service import approve as do

    eng, actor = _actor(who, role, dept)
    r = do(eng, result_id, actor)
    console.print(f"结果 #{r.id} 已审核")


@results_app.command("send-back")
def send_back(result_id: int, reason: str = typer.Option(..., "--reason", help="退回理由"), who: str = AS,
              role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """审核退回：把检查结果退回执法检查人员。"""
    from scheduler.results.service import send_back as do

    eng, actor = _actor(who, role, dept)
    r = do(eng, result_id, reason, actor)
    console.print(f"结果 #{r.id} 已退回：{r.review_note}")


@results_app.command("publish")
def publish(task_id: int, who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """公示：公示本部门已审核的任务检查结果。"""
    from scheduler.results.service import publish as do

    eng, actor = _actor(who, role, dept)
    rows = do(eng, task_id, actor)
    console.print(f"已公示 {len(rows)} 个检查事项的结果（任务 #{task_id}）")


@results_app.command("correct")
def correct(result_id: int,
            category: List[str] = typer.Option(..., "--category", "-c", help="更正后的检查结果类别（可多次给出）"),
            reason: str = typer.Option(..., "--reason", help="更正理由"),
            note: Optional[str] = typer.Option(None, "--note", help="备注（省略时不变）"),
            who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """更正已公示的检查结果，须写明理由。"""
    from scheduler.results.service import correct as do

    eng, actor = _actor(who, role, dept)
    c = do(eng, result_id, category, reason, actor, note=note)
    console.print(f"已更正结果 #{result_id}：{c.old_categories} → {c.new_categories}（第 {c.version} 版）")


@results_app.command("close-follow-up")
def close_follow_up(follow_up_id: int, outcome: str = typer.Option(..., "--outcome", help="办结情况"),
                    action: Optional[str] = typer.Option(None, "--action", help="责令改正/立案查处/移送司法机关/其他"),
                    who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """后续处置办结：记录完整后写明办结情况（步骤见 follow-up-step）。"""
    from scheduler.results.followup_service import close as do

    eng, actor = _actor(who, role, dept)
    f = do(eng, follow_up_id, actor, outcome, action=action)
    console.print(f"后续处置 #{f.id}（{f.action}）已办结")


@results_app.command("cannot-inspect")
def cannot_inspect(task_id: int, reason: str = typer.Option(..., "--reason", help="无法检查的原因"), who: str = AS, role: Optional[str] = ROLE,
                   dept: Optional[str] = DEPT) -> None:
    """把任务标记为无法检查，写明原因。"""
    from scheduler.results.service import declare_cannot_inspect

    eng, actor = _actor(who, role, dept)
    declare_cannot_inspect(eng, task_id, reason, actor)
    console.print(f"任务 #{task_id} 已标记为无法检查")


@results_app.command("case")
def case(uscc: str, kind: str = typer.Option("case", "--kind", help="case（投诉举报个案）/ special（专项检查）"),
         item: List[str] = typer.Option(..., "--item", "-i", help="抽查事项代码（可多次给出）"),
         department: str = typer.Option(..., "--department", help="部门代码"),
         inspector: List[str] = typer.Option(..., "--inspector", help="执法检查人员的名录库编号（可多次给出）"),
         reason: str = typer.Option(..., "--reason", help="登记理由（如投诉举报的来由）"),
         who: str = AS, role: Optional[str] = ROLE, dept: Optional[str] = DEPT) -> None:
    """登记随机抽取之外的个案处理或专项检查。"""
    from scheduler.results.service import record_case_task

    eng, actor = _actor(who, role, dept)
    t = record_case_task(eng, uscc, kind, item, department, reason, actor, inspectors=inspector)
    console.print(f"已登记任务 #{t.id}（{t.note}）")


@results_app.command("queue")
def queue(department: str = typer.Argument(..., help="部门代码"),
          which: str = typer.Option("review", "--which", help="review（待审核）/ publish（待公示）"),
          as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """部门的待审核或待公示队列。"""
    from scheduler.results.listing import local_today, publication_queue, review_queue

    eng, did = engine(), _dept_id(department)
    rows = review_queue(eng, did, page_size=500).rows if which == "review" else publication_queue(eng, did, local_today())
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        return
    for r in rows:
        if which == "review":
            console.print(f"结果 #{r['result_id']}  任务 #{r['task_id']}  {r['uscc']} {r['name'] or ''}  "
                          f"{r['item_name']}：{'、'.join(r['category_names'])}")
        else:
            left = "未计算期限" if r["deadline"] is None else ("已逾期" if r["overdue"] else f"剩 {r['days_left']} 天")
            console.print(f"任务 #{r['task_id']}  {r['uscc']} {r['name'] or ''}  期限 {r['deadline']}（{left}）")


@results_app.command("public")
def public(q: str = typer.Option("", "--q", help="统一社会信用代码或企业名称"), page: int = typer.Option(1, "--page", help="页码"),
           as_json: bool = typer.Option(False, "--json", help="以 JSON 输出本页。")) -> None:
    """公示结果：已公示检查结果的公开记录。"""
    from scheduler.results.listing import PUBLIC_KEYS, published_results

    p = published_results(engine(), q=q, page=page)
    if as_json:
        print_json({"total": p.total, "page": p.page, "rows": p.rows})
        return
    console.print(f"共 {p.total:,} 条已公示的检查结果（第 {p.page} 页）", soft_wrap=True)
    print_table(list(PUBLIC_KEYS), [[r[k] for k in PUBLIC_KEYS] for r in p.rows])


@results_app.command("dashboard")
def dashboard(year: int, bureau: str = typer.Option("110117", "--bureau", help="监管局代码")) -> None:
    """统计看板：某年度随机抽查的统计数据，以 JSON 输出。"""
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Bureau
    from scheduler.results.service import dashboard as do

    eng = engine()
    with Session(eng) as s:
        bid = s.execute(select(Bureau.id).where(Bureau.code == bureau)).scalar_one_or_none()
    if bid is None:
        err_console.print(f"[red]监管局“{bureau}”不存在[/red]")
        raise typer.Exit(2)
    typer.echo(json.dumps(do(eng, bid, year), ensure_ascii=False, indent=2))
