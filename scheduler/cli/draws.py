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


AS_USER = typer.Option(None, "--as", help="Act as this account (its role and department are checked); omitted: the local administrator.")


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


def plans(as_json: bool = typer.Option(False, "--json", help="Print the plans as JSON.")) -> None:
    """List the plans (抽查计划); `dsr plans` itself is the group in scheduler/cli/plans.py."""
    from scheduler.plans.service import list_plans

    data = list_plans(engine())
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for p in data:
        kind = "联合抽查" if p["joint"] else "抽查"
        console.print(f"{p['code']:<14} {p['name']}（{kind}，{'、'.join(p['departments'])}，{len(p['items'])} 个事项）")


@app.command()
def freeze(
    plan_code: str = typer.Argument(..., help="Plan code"),
    period: str = typer.Option(..., "--period", help="YYYY-MM"),
    as_user: Optional[str] = AS_USER,
) -> None:
    """Freeze the frame of a plan for a period and print its digest (冻结名录)."""
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
    plan_code: str = typer.Argument(..., help="Plan code"),
    period: str = typer.Option(..., "--period", help="YYYY-MM"),
    seed: Optional[str] = typer.Option(None, "--seed", help="Ceremony seed: 20 to 64 decimal digits. Omitted: a system seed."),
    package: Optional[Path] = typer.Option(None, "--package", help="Write the auditor verification package here."),
    public_package: Optional[Path] = typer.Option(None, "--public-package", help="Write the public verification package here."),
    witness: Optional[List[str]] = typer.Option(None, "--witness", help="A witness of the seed ceremony (repeatable)."),
    as_user: Optional[str] = AS_USER,
) -> None:
    """Draw the entities of a plan for a period (DSR-1) and store the result (随机抽取)."""
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
    plan_code: str = typer.Argument(...),
    period: str = typer.Option(..., "--period"),
    reason: str = typer.Option(..., "--reason", help="Written reason (recorded)."),
    as_user: Optional[str] = AS_USER,
) -> None:
    """Void a draw with a written reason; it stays on record (作废抽取)."""
    from scheduler.draw.service import void as do_void

    eng = engine()
    d = do_void(eng, plan_code, period, reason, _acting(eng, as_user))
    console.print(f"已作废抽取 #{d.id}（计划 {plan_code}，期间 {period}），理由：{d.void_reason}")


@app.command()
def package(
    plan_code: str = typer.Argument(...),
    period: str = typer.Option(..., "--period"),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    public: bool = typer.Option(False, "--public", help="Write the public package instead of the auditor package."),
) -> None:
    """Write the verification package of a stored draw (核验包)."""
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
def verify(directories: list[Path] = typer.Argument(..., help="Verification package folders: one draw, or the draws of one plan-year.")) -> None:
    """Recompute a draw from its package alone; with several packages of one plan-year, also the
    year's allocation and exclusions across them; exit 0 only if everything matches (核验)."""
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
