"""`dsr demo`: fill the database with the Pinggu district demo."""

from __future__ import annotations

import typer

from scheduler.cli.base import app, console, engine, err_console

PROGRESS_MIN = 200_000  # below this the run takes a second or two; no bar needed


def run_demo(entities: int, seed: int, force: bool, history: bool = True) -> dict[str, int]:
    """Shared by `dsr demo` and `dsr app`: progress on stderr, a one-line summary.

    With `history`, the past months are written too (services.history): draws and
    results in every state, so the result pages and the dashboard have something to show.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scheduler.demo.service import timed_create_demo

    eng = engine()
    if entities >= PROGRESS_MIN:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("生成演示数据", total=entities)
            added, secs = timed_create_demo(
                eng, entities, seed, force=force,
                progress=lambda done, total, stage: bar.update(task, completed=done, description=stage),
            )
    else:
        added, secs = timed_create_demo(eng, entities, seed, force=force)
    console.print(
        f"已生成平谷区演示数据：市场主体 {added['enterprises']:,} 户，执法检查人员 {added['inspectors']:,} 名，"
        f"专家 {added['experts']:,} 名，抽查事项 {added['items']} 项，回避申报 {added['conflicts']:,} 条，"
        f"抽查计划 {added['plans']} 个；用时 {secs:.1f} 秒（种子 {seed}）",
        soft_wrap=True,
    )
    if history:
        run_history(seed)
    return added


def run_bureaus_demo(entities: int, seed: int, force: bool, history: bool = True) -> None:
    """`dsr demo --bureaus`: a city bureau and two district bureaus in one database."""
    from scheduler.demo.service import create_bureaus_demo
    from scheduler.results.service import local_today

    eng = engine()
    r = create_bureaus_demo(eng, entities, seed, today=local_today(), force=force)
    for name, added in r.added.items():
        parts = "，".join(f"{LABELS.get(k, k)} {v:,}" for k, v in added.items())
        console.print(f"{name}：{parts}", soft_wrap=True)
    for code, period, draw_id in r.draws:
        console.print(f"已抽取 {code}（{period}，抽取 #{draw_id}）", soft_wrap=True)
    console.print(f"多局演示数据已生成，用时 {r.seconds:.1f} 秒（种子 {seed}）", soft_wrap=True)
    if history:
        run_history(seed)


LABELS = {"enterprises": "市场主体", "inspectors": "执法检查人员", "experts": "专家", "items": "抽查事项",
          "conflicts": "回避申报", "plans": "抽查计划"}


def run_history(seed: int) -> None:
    from scheduler.demo.history import HistoryRefused, create_history
    from scheduler.results.service import local_today

    try:
        h = create_history(engine(), local_today(), seed)
    except HistoryRefused as exc:
        err_console.print(f"[yellow]未生成演示历史：{exc}[/yellow]", soft_wrap=True)
        return
    if not h.draws:
        console.print("演示历史已存在（近几个月的演示抽取均已完成），未重复生成", soft_wrap=True)
        return
    periods = sorted({p for _, p, _ in h.draws})
    console.print(
        f"已生成演示历史：{periods[0]} 至 {periods[-1]} 抽取 {len(h.draws)} 次，"
        f"处理任务 {sum(len(v) for v in h.scenarios.values())} 个，录入检查结果 {h.results} 条"
        f"（含按期公示、逾期公示、待审核、审核退回、逾期未公示、后续处置、无法检查、投诉举报个案）；用时 {h.seconds:.1f} 秒",
        soft_wrap=True,
    )
    from scheduler.demo.exchange import create_exchange_history

    batch = create_exchange_history(engine())
    if batch:
        console.print(f"已生成演示报送批次 {batch}（已报送并导入演示回执：拒收 2 条，其余接收）", soft_wrap=True)


@app.command()
def demo(
    entities: int = typer.Option(5000, "--entities", "-n", min=0, help="市场主体数量（演示名录库规模）"),
    seed: int = typer.Option(2026, "--seed", min=0, help="随机种子：同一种子生成完全相同的数据"),
    force: bool = typer.Option(False, "--force", help="名录库非空时仍然写入（只追加尚不存在的数据，不删除任何数据）"),
    history: bool = typer.Option(True, "--history/--no-history",
                                 help="同时生成近三个月的演示历史（抽取、检查结果的各种状态）"),
    bureaus: bool = typer.Option(False, "--bureaus",
                                 help="多局演示：北京市局（市级）与平谷区、密云区两个区局共用一个数据库，"
                                      "并抽取本月的市抽县查计划和两区的食品安全计划（每区 --entities 户）"),
) -> None:
    """生成平谷区演示数据（两库一单 + 抽查计划 + 近三个月的抽取和检查结果）。"""
    from scheduler.demo.service import DemoRefused

    try:
        if bureaus:
            run_bureaus_demo(entities, seed, force, history=history)
            return
        run_demo(entities, seed, force, history=history)
    except DemoRefused as exc:
        err_console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(2)
