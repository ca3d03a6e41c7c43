"""`dsr results …` for the field and what follows it: attachments, checklists, follow-up steps,
recusal requests, and the inspectors' certificates.

These commands act as a person's account: `--as USER` is a user name of scheduler/accounts,
resolved to the account's role, bureau and department; the services check what that role may do
(scheduler/access), so the command line grants nothing the app would refuse.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import List, Optional

import typer

from scheduler.cli.base import console, engine, fail
from scheduler.cli.results import results_app

USER = typer.Option(..., "--as", help="User name of the account that acts (dsr users).")


def _account(username: str):
    from scheduler.accounts.service import actor_of

    eng = engine()
    actor = actor_of(eng, username)
    if actor is None:
        fail(f"用户“{username}”不存在或已停用")
    return eng, actor


def _day(v: Optional[str], name: str) -> Optional[dt.date]:
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        fail(f"{name} 的日期格式应为 YYYY-MM-DD：{v}")


@results_app.command("attach")
def attach(task_id: int, file: Path, who: str = USER,
           kind: str = typer.Option("photo", "--kind", help="photo（现场照片）/ record（检查笔录）/ report（检验检测报告）"),
           report_no: str = typer.Option("", "--report-no", help="检验检测报告编号 (kind report)"),
           item: Optional[str] = typer.Option(None, "--item", help="Check item code the file belongs to")) -> None:
    """Attach a file to a task's field record and print its SHA-256 (上传检查附件)."""
    from scheduler.results.attachments_service import attach as do

    eng, actor = _account(who)
    a = do(eng, task_id, file, actor, kind=kind, report_no=report_no, item=item)
    typer.echo(a.sha256)


@results_app.command("checklist")
def checklist(task_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """A task's checklists with their marks (检查表)."""
    from scheduler.results.fieldrecords_service import task_checklist

    rows = task_checklist(engine(), task_id)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for it in rows:
        console.print(f"{it['item_code']} {it['item_name']}")
        for p in it["points"]:
            console.print(f"  {p['seq']:>2}. {p['text']}  [{p['mark'] or '未填'}] {p['note']}", markup=False)


@results_app.command("mark")
def mark(task_id: int, item: str, seq: int, value: str = typer.Argument(..., help="符合 / 不符合 / 不适用"),
         note: str = typer.Option("", "--note"), who: str = USER) -> None:
    """Mark one checklist point of a task's item (填写检查表)."""
    from scheduler.results.fieldrecords_service import mark as do

    eng, actor = _account(who)
    do(eng, task_id, item, seq, value, actor, note=note)
    console.print(f"任务 #{task_id} {item} 第 {seq} 项：{value}")


@results_app.command("follow-up-step")
def follow_up_step(follow_up_id: int, kind: str = typer.Argument(..., help="rectify / case / penalty / no_case / "
                                                                  "transfer / judicial / abnormal_list / abnormal_remove"),
                   doc_no: str = typer.Option("", "--doc-no", help="文书编号"),
                   date: str = typer.Option(..., "--date", help="决定或文书日期 YYYY-MM-DD"),
                   due: Optional[str] = typer.Option(None, "--due", help="整改期限 YYYY-MM-DD (rectify)"),
                   target: str = typer.Option("", "--target", help="接收部门 (transfer)"),
                   decision: str = typer.Option("", "--decision", help="理由或决定内容"),
                   penalty: str = typer.Option("", "--penalty", help="处罚内容 (penalty)"),
                   procedure: str = typer.Option("", "--procedure", help="普通程序 / 简易程序 (penalty)"),
                   applied: Optional[str] = typer.Option(None, "--applied", help="移出申请日期 (abnormal_remove)"),
                   who: str = USER) -> None:
    """Record one step of a follow-up with its document (后续处置：责令整改、立案、处罚、移送、经营异常名录)."""
    from scheduler.results.followup_service import record_step

    eng, actor = _account(who)
    st = record_step(eng, follow_up_id, kind, actor, doc_no=doc_no, decided_on=_day(date, "--date"),
                     due_on=_day(due, "--due"), target=target, decision=decision, penalty=penalty,
                     procedure=procedure, applied_on=_day(applied, "--applied"))
    extra = f"，复查任务 #{st.recheck_task_id}" if st.recheck_task_id else ""
    console.print(f"后续处置 #{follow_up_id}：已登记步骤 #{st.id}（{kind}）{extra}"
                  + (f"，期限 {st.due_on}" if st.due_on else ""))


@results_app.command("follow-up")
def follow_up(follow_up_id: int) -> None:
    """One follow-up's record: steps, what is missing, next deadline (JSON)."""
    from scheduler.results.followup_service import record

    typer.echo(json.dumps(record(engine(), follow_up_id), ensure_ascii=False, default=str, indent=2))


@results_app.command("recusal")
def recusal(task_id: int, inspector: str = typer.Option(..., "--inspector", help="Roster id of the inspector"),
            applicant: str = typer.Option(..., "--applicant", help="申请人（当事人）"),
            reason: str = typer.Option(..., "--reason"), date: Optional[str] = typer.Option(None, "--date"),
            who: str = USER) -> None:
    """Record a party's request that an inspector recuse (当事人申请回避)."""
    from scheduler.results.recusal_service import request

    eng, actor = _account(who)
    r = request(eng, task_id, inspector, applicant, reason, actor, requested_on=_day(date, "--date"))
    console.print(f"已登记回避申请 #{r.id}（任务 #{task_id}，{inspector}）")


@results_app.command("recusal-decide")
def recusal_decide(request_id: int, decision: str = typer.Argument(..., help="accept（同意）/ reject（驳回）"),
                   note: str = typer.Option(..., "--note", help="决定理由"), who: str = USER) -> None:
    """Decide a recusal request; an accepted one replaces the inspector by the matching rule (回避决定)."""
    from scheduler.results.recusal_service import decide

    eng, actor = _account(who)
    r = decide(eng, request_id, decision == "accept", note, actor) if decision in ("accept", "reject") else fail(
        "决定应为 accept（同意）或 reject（驳回）")
    console.print(f"回避申请 #{r.id}：{'同意，已更换检查人员' if r.status == 'accepted' else '驳回'}")


@results_app.command("certificates")
def certificates(bureau: str = typer.Option("110117", "--bureau", help="Bureau code"),
                 days: List[int] = typer.Option([30], "--days", help="Warn this many days ahead")) -> None:
    """Inspectors whose enforcement certificate expires soon or has expired (执法证到期提醒), as JSON."""
    from scheduler.results.recusal_service import certificate_warnings

    typer.echo(json.dumps(certificate_warnings(engine(), bureau, days=days[0]), ensure_ascii=False, default=str,
                          indent=2))


@results_app.command("documents")
def documents(task_id: int, out: Path = typer.Option(..., "--out", help="Output folder"),
              verify_url: str = typer.Option("http://localhost:8501/public-verify", "--verify-url",
                                             help="Address of the public verification page (公开核验) for the QR code")) -> None:
    """Write a task's 检查通知书 and 现场检查记录 as PDF (with a QR code to the draw's public verification)."""
    from scheduler.results.task_documents import write

    for p in write(engine(), task_id, out, verify_url):
        console.print(str(p))
