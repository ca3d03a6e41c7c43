"""`dsr demo`: fill the database with the Pinggu district demo."""

from __future__ import annotations

import typer

from scheduler.cli.base import app, console, engine, err_console

PROGRESS_MIN = 200_000  # below this the run takes a second or two; no bar needed


def run_demo(entities: int, seed: int, force: bool) -> dict[str, int]:
    """Shared by `dsr demo` and `dsr app`: progress on stderr, a one-line summary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scheduler.services.demo import timed_create_demo

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
    return added


@app.command()
def demo(
    entities: int = typer.Option(5000, "--entities", "-n", min=0, help="市场主体数量（演示名录库规模）"),
    seed: int = typer.Option(2026, "--seed", min=0, help="随机种子：同一种子生成完全相同的数据"),
    force: bool = typer.Option(False, "--force", help="名录库非空时仍然写入（只追加尚不存在的数据，不删除任何数据）"),
) -> None:
    """生成平谷区演示数据（两库一单 + 抽查计划）。"""
    from scheduler.services.demo import DemoRefused

    try:
        run_demo(entities, seed, force)
    except DemoRefused as exc:
        err_console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(2)
