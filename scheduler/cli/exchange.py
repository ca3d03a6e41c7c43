"""`dsr exchange …`: 平台对接 — batches to the credit publicity system, files from the city platform.

export / sent / receipt / status / import / legal-name / rematch (docs/exchange.md). The command line acts
as the deployment's administrator, as `dsr import` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from scheduler.cli.base import app, console, engine
from scheduler.cli.chinese import ChineseTyper

exchange_app = ChineseTyper(help="平台对接：检查结果归集报送、回执，市级平台数据导入。",
                           no_args_is_help=True)
app.add_typer(exchange_app, name="exchange")

BUREAU = typer.Option(None, "--bureau", help="本局代码（数据库中有多个监管局时必填）")


@exchange_app.command("export")
def export_cmd(
    to: str = typer.Option(..., "--to", help="报送目标：gsxt（国家企业信用信息公示系统）或 city（市级平台，市抽县查结果）"),
    out: Path = typer.Option(..., "--out", help="输出目录：批次文件夹写在其下，以批次编号命名"),
    bureau: Optional[str] = BUREAU,
) -> None:
    """写出下一个报送批次（只含尚未被接收的记录），打印批次编号。"""
    from scheduler.access.context import CLI
    from scheduler.docking.outbound import export

    res = export(engine(), to, out, CLI, bureau)
    if res is None:
        console.print("没有待报送的记录")
        return
    typer.echo(res.batch_no)
    note = "（此前已记录但未写出的批次，现已写出）" if res.resumed else ""
    console.print(f"批次 {res.batch_no}：{res.records} 条记录，已写入 {res.folder}{note}", highlight=False)


@exchange_app.command("sent")
def sent_cmd(batch: str = typer.Argument(..., help="批次编号")) -> None:
    """把“生成”的批次标记为已报送（文件已交给对方）。"""
    from scheduler.access.context import CLI
    from scheduler.docking.receipts import mark_sent

    b = mark_sent(engine(), batch, CLI)
    console.print(f"批次 {b.batch_no} 已标记为已报送", highlight=False)


@exchange_app.command("receipt")
def receipt_cmd(file: Path = typer.Argument(..., help="回执文件（JSON、CSV 或 XLSX）")) -> None:
    """导入对方的回执：接收与拒收（含原因）的记录。"""
    from scheduler.access.context import CLI
    from scheduler.docking.receipts import import_receipt

    r = import_receipt(engine(), file, CLI)
    if r.unchanged:
        console.print(f"批次 {r.batch_no} 的这份回执已导入过，未作任何更改", highlight=False)
        return
    console.print(f"批次 {r.batch_no} 回执已导入：接收 {r.accepted} 条，拒收 {r.rejected} 条", highlight=False)
    for no, reason in r.reasons:
        console.print(f"  拒收 {no}：{reason}", highlight=False, markup=False)


@exchange_app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出报送与导入的批次及其状态。"""
    from scheduler.access.context import CLI
    from scheduler.docking.status import batches

    rows = batches(engine(), CLI)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        console.print(f"{r['batch_id']}  {r['kind']}  {r['status']}  记录 {r['records']}  接收 {r['accepted']}  "
                      f"拒收 {r['rejected']}", highlight=False, markup=False)


@exchange_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="市级平台批次：其文件夹或 manifest.json"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只打印变更报告，不作任何更改"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出变更报告"),
    bureau: Optional[str] = BUREAU,
) -> None:
    """导入市级平台的增量文件（登记信息、信用风险分类），打印变更报告。"""
    from scheduler.access.context import CLI
    from scheduler.docking.inbound import import_city

    rep = import_city(engine(), file, CLI, dry_run=dry_run, bureau_code=bureau)
    if as_json:
        typer.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
        return
    for line in rep.lines():
        console.print(line, highlight=False, markup=False)


@exchange_app.command("legal-name")
def legal_name_cmd(
    department: str = typer.Argument(..., help="部门代码或名称"),
    name: str = typer.Argument(..., help="检查实施机关的法定名称，如 北京市平谷区市场监督管理局"),
    bureau: Optional[str] = BUREAU,
) -> None:
    """设置部门作为检查实施机关报送时的法定名称。"""
    from scheduler.access.context import CLI
    from scheduler.docking.outbound import set_legal_name

    dept = set_legal_name(engine(), department, name, CLI, bureau)
    console.print(f"{dept}：检查实施机关法定名称已设为 {name}", highlight=False, markup=False)


@exchange_app.command("rematch")
def rematch_cmd(
    plan: str = typer.Argument(..., help="市级计划编号"),
    seed: str = typer.Option(..., "--seed", help="匹配种子（如公开摇号结果），写入匹配证书"),
    out: Path = typer.Option(..., "--out", help="输出目录：匹配核验包写在其下"),
    bureau: Optional[str] = BUREAU,
) -> None:
    """为市级计划下发（市抽县查）的未开始任务从本局执法检查人员名录库随机匹配检查组，写出可核验的匹配包。"""
    from scheduler.access.context import CLI
    from scheduler.docking.rematch import rematch

    r = rematch(engine(), plan, seed, out, CLI, bureau)
    typer.echo(str(r.folder))
    for t in r.tasks:
        console.print(f"{t['city_task']}  {t['uscc']}  {'、'.join(t['team']) or '缺员'}", highlight=False)
    if r.left:
        console.print(f"已开始检查、未重新匹配：{'、'.join(r.left)}", highlight=False)
    console.print(f"匹配证书 SHA-256 {r.certificate_sha256}；核验：dsr verify {r.folder}", highlight=False)
