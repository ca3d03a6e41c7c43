"""`dsr plans`, `dsr freeze`, `dsr draw`, `dsr void`, `dsr package`, `dsr verify`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from scheduler.access.context import CLI
from scheduler.cli.base import REFUSED_EXIT, app, console, engine, err_console
from scheduler.plans.rules import PlanRuleError


AS_USER = typer.Option(None, "--as", help="以此账号的身份操作（核对其角色与部门）；省略时为本机管理员。")


def _acting(eng, as_user: Optional[str]):  # noqa: ANN001
    """The account `--as` names, or the CLI's local administrator."""
    from scheduler.access.context import CLI
    from scheduler.cli.acting import actor_as

    return actor_as(eng, as_user) if as_user else CLI


def _rule_refusal(exc: PlanRuleError) -> None:
    """A plan that breaks the rules: every violation on its own line, which the shared
    handler (one `错误：` line) would run together."""
    err_console.print("[red]计划不符合规则，拒绝抽取：[/red]")
    for m in exc.messages:
        err_console.print(f"  - {m}", markup=False)
    raise typer.Exit(REFUSED_EXIT)


def plans(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出抽查计划。")) -> None:
    """List the plans (抽查计划); `dsr plans` itself is the group in scheduler/cli/plans.py."""
    from scheduler.plans.listing import list_plans

    data = list_plans(engine())
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for p in data:
        kind = "联合抽查" if p["joint"] else "抽查"
        console.print(f"{p['code']:<14} {p['name']}（{kind}，{'、'.join(p['departments'])}，{len(p['items'])} 个事项）")


@app.command()
def freeze(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    as_user: Optional[str] = AS_USER,
) -> None:
    """冻结名录：冻结抽查计划某一期间的检查对象名录，并显示名录摘要。"""
    from scheduler.draw.service import freeze as do_freeze

    eng = engine()
    try:
        f = do_freeze(eng, plan_code, period, _acting(eng, as_user))
    except PlanRuleError as e:
        _rule_refusal(e)
    console.print(f"已冻结抽查名录：计划 {plan_code}，期间 {period}，共 {f.frame_size:,} 户")
    console.print(f"名录摘要 frame_sha256：[bold]{f.frame_sha256}[/bold]")
    for st, n in f.strata.items():
        console.print(f"  分层 {st}: {n:,}")


@app.command()
def draw(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    seed: Optional[str] = typer.Option(None, "--seed", help="现场摇号产生的随机种子：20 至 64 位十进制数字；省略时由系统生成。"),
    package: Optional[Path] = typer.Option(None, "--package", help="核验包（审计用）写到此处。"),
    public_package: Optional[Path] = typer.Option(None, "--public-package", help="核验包（公开）写到此处。"),
    witness: Optional[List[str]] = typer.Option(None, "--witness", help="现场摇号的见证人（可多次给出）。"),
    as_user: Optional[str] = AS_USER,
) -> None:
    """随机抽取：按 DSR-1 抽取抽查计划某一期间的检查对象，并保存结果。"""
    from scheduler.draw.certificate import load_stored
    from scheduler.draw.service import execute, write_packages

    eng = engine()
    t0 = time.perf_counter()
    try:
        d = execute(eng, plan_code, period, seed=seed, actor=_acting(eng, as_user))
    except PlanRuleError as e:
        _rule_refusal(e)
    if witness and seed:  # shown on the 抽取结果公告
        from scheduler.results.announcement import record_witnesses

        record_witnesses(eng, d.id, witness, CLI)
    cert = load_stored(d.certificate)
    if package or public_package:
        write_packages(eng, d.id, package, public_package)
    if public_package:
        from scheduler.audit import service as auditlog  # here, not at the top: `dsr verify` needs no database

        auditlog.write_head(eng, public_package)  # the audit chain's head travels with the public package
    console.print(
        f"抽取完成：计划 {plan_code}，期间 {period}，名录 {cert['frame_size']:,} 户，抽中 {len(cert['selected']):,} 户，"
        f"{cert['batches']} 个批次，种子来源 {'现场摇号' if d.seed_source == 'ceremony' else '系统生成'}，"
        f"用时 {time.perf_counter() - t0:.2f} 秒"
    )
    console.print(f"随机种子 seed：{d.seed}")
    console.print(f"名录摘要 frame_sha256：{d.frame_sha256}")
    if package:
        console.print(f"核验包（审计用）：{package}")
    if public_package:
        console.print(f"核验包（公开）：{public_package}")


@app.command()
def void(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    reason: str = typer.Option(..., "--reason", help="书面理由（记入记录）。"),
    as_user: Optional[str] = AS_USER,
) -> None:
    """作废抽取：须写明理由；作废的抽取仍保留在记录中。"""
    from scheduler.draw.service import void as do_void

    eng = engine()
    d = do_void(eng, plan_code, period, reason, _acting(eng, as_user))
    console.print(f"已作废抽取 #{d.id}（计划 {plan_code}，期间 {period}），理由：{d.void_reason}")


@app.command()
def package(
    plan_code: str = typer.Argument(..., help="抽查计划编号"),
    period: str = typer.Option(..., "--period", help="抽查期间：按月为 YYYY-MM，按季度为 YYYY-Qn，按年为 YYYY（须为本计划年度内的期间）"),
    out: Path = typer.Option(..., "--out", help="输出文件夹。"),
    public: bool = typer.Option(False, "--public", help="写出公开的核验包，而不是审计用的核验包。"),
) -> None:
    """写出已保存抽取的核验包。"""
    from sqlmodel import Session

    from scheduler.draw.service import get_draw, write_packages

    eng = engine()
    with Session(eng) as s:
        d = get_draw(s, plan_code, period)
    write_packages(eng, d.id, None if public else out, out if public else None)
    if public:
        from scheduler.audit import service as auditlog

        auditlog.write_head(eng, out)
    console.print(f"已写出核验包：{out}")


@app.command()
def verify(directories: list[Path] = typer.Argument(..., help="核验包文件夹：一次抽取的，或同一抽查计划同一年度各次抽取的。")) -> None:
    """核验：仅凭核验包重算抽取，全部相符时退出状态为 0。

    给出同一抽查计划同一年度的多个核验包时，也核验全年的分配与排除。"""
    from scheduler.verify import verify_package, verify_year

    rep = verify_package(directories[0]) if len(directories) == 1 else verify_year(directories)
    for c in rep.checks:
        console.print(f"[green]✓[/green] {c}")
    for u in rep.unchecked:
        console.print(f"[yellow]—[/yellow] 无法核验：{u}")
    if rep.ok:
        console.print("[bold green]核验通过[/bold green]")
        return
    err_console.print(f"[bold red]核验失败：{rep.first_difference}[/bold red]")
    raise typer.Exit(1)
