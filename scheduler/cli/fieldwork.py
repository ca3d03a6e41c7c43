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

USER = typer.Option(..., "--as", help="操作账号的用户名（见 dsr user list）。")


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
           report_no: str = typer.Option("", "--report-no", help="检验检测报告编号（--kind report 时）"),
           item: Optional[str] = typer.Option(None, "--item", help="附件所属的抽查事项代码")) -> None:
    """上传检查附件：附在任务的现场检查记录上，并显示其 SHA-256。"""
    from scheduler.results.attachments_service import attach as do

    eng, actor = _account(who)
    a = do(eng, task_id, file, actor, kind=kind, report_no=report_no, item=item)
    typer.echo(a.sha256)


@results_app.command("checklist")
def checklist(task_id: int, as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """任务的检查表及填写情况。"""
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
         note: str = typer.Option("", "--note", help="备注"), who: str = USER) -> None:
    """填写检查表：任务某一抽查事项的一个检查要点。"""
    from scheduler.results.fieldrecords_service import mark as do

    eng, actor = _account(who)
    do(eng, task_id, item, seq, value, actor, note=note)
    console.print(f"任务 #{task_id} {item} 第 {seq} 项：{value}")


@results_app.command("follow-up-step")
def follow_up_step(follow_up_id: int, kind: str = typer.Argument(..., help="rectify / case / penalty / no_case / "
                                                                  "transfer / judicial / abnormal_list / abnormal_remove"),
                   doc_no: str = typer.Option("", "--doc-no", help="文书编号"),
                   date: str = typer.Option(..., "--date", help="决定或文书日期 YYYY-MM-DD"),
                   due: Optional[str] = typer.Option(None, "--due", help="整改期限 YYYY-MM-DD（rectify 时）"),
                   target: str = typer.Option("", "--target", help="接收部门（transfer 时）"),
                   decision: str = typer.Option("", "--decision", help="理由或决定内容"),
                   penalty: str = typer.Option("", "--penalty", help="处罚内容（penalty 时）"),
                   procedure: str = typer.Option("", "--procedure", help="普通程序 / 简易程序（penalty 时）"),
                   applied: Optional[str] = typer.Option(None, "--applied", help="移出申请日期（abnormal_remove 时）"),
                   who: str = USER) -> None:
    """登记后续处置的一个步骤及其文书（责令整改、立案、处罚、移送、经营异常名录）。"""
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
    """一项后续处置的记录：已办步骤、尚缺事项、下一个期限（以 JSON 输出）。"""
    from scheduler.results.followup_service import record

    typer.echo(json.dumps(record(engine(), follow_up_id), ensure_ascii=False, default=str, indent=2))


@results_app.command("recusal")
def recusal(task_id: int, inspector: str = typer.Option(..., "--inspector", help="执法检查人员的名录库编号"),
            applicant: str = typer.Option(..., "--applicant", help="申请人（当事人）"),
            reason: str = typer.Option(..., "--reason", help="申请理由"),
            date: Optional[str] = typer.Option(None, "--date", help="申请日期 YYYY-MM-DD（默认今天）"),
            who: str = USER) -> None:
    """登记当事人申请执法检查人员回避。"""
    from scheduler.results.recusal_service import request

    eng, actor = _account(who)
    r = request(eng, task_id, inspector, applicant, reason, actor, requested_on=_day(date, "--date"))
    console.print(f"已登记回避申请 #{r.id}（任务 #{task_id}，{inspector}）")


@results_app.command("recusal-decide")
def recusal_decide(request_id: int, decision: str = typer.Argument(..., help="accept（同意）/ reject（驳回）"),
                   note: str = typer.Option(..., "--note", help="决定理由"), who: str = USER) -> None:
    """回避决定：同意时按匹配规则更换执法检查人员。"""
    from scheduler.results.recusal_service import decide

    eng, actor = _account(who)
    r = decide(eng, request_id, decision == "accept", note, actor) if decision in ("accept", "reject") else fail(
        "决定应为 accept（同意）或 reject（驳回）")
    console.print(f"回避申请 #{r.id}：{'同意，已更换检查人员' if r.status == 'accepted' else '驳回'}")


@results_app.command("certificates")
def certificates(bureau: str = typer.Option("110117", "--bureau", help="监管局代码"),
                 days: List[int] = typer.Option([30], "--days", help="提前多少天提醒")) -> None:
    """执法证到期提醒：执法证即将到期或已过期的执法检查人员，以 JSON 输出。"""
    from scheduler.results.recusal_service import certificate_warnings

    typer.echo(json.dumps(certificate_warnings(engine(), bureau, days=days[0]), ensure_ascii=False, default=str,
                          indent=2))


@results_app.command("documents")
def documents(task_id: int, out: Path = typer.Option(..., "--out", help="输出文件夹"),
              verify_url: str = typer.Option("http://localhost:8501/public-verify", "--verify-url",
                                             help="公开核验页面的地址（二维码指向此处）")) -> None:
    """把任务的检查通知书和现场检查记录写成 PDF（附指向该次抽取公开核验的二维码）。"""
    from scheduler.results.task_documents import write

    for p in write(engine(), task_id, out, verify_url):
        console.print(str(p))
