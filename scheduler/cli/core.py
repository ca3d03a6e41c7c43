"""`dsr init` and `dsr stats`."""

from __future__ import annotations

import json

import typer

from scheduler.cli.base import app, console, engine


@app.command()
def init() -> None:
    """创建或升级数据库（并载入节假日安排与检查结果类别）。"""
    from db.engine import database_url
    from db.migrate import current_revision

    eng = engine()
    console.print(f"数据库已就绪：{database_url()}（版本 {current_revision(eng)}）")
    from scheduler.calendar.service import seed_from_package

    added = seed_from_package(eng)
    if added:
        console.print(f"已载入 {added[0]}–{added[-1]} 年节假日安排（chinese-calendar），共 {len(added)} 年")
    from sqlmodel import Session

    from scheduler.results.service import seed_categories

    with Session(eng) as s:
        n = seed_categories(s)
        s.commit()
    if n:
        console.print(f"已载入检查结果类别 {n} 个")


# The table's labels (the JSON keeps the library's keys, which scripts read).
STATS_LABELS = {"enterprises": "检查对象", "inspectors": "执法检查人员", "experts": "专家", "items": "抽查事项",
                "conflicts": "回避申报", "departments": "部门", "towns": "乡镇街道", "bureaus": "监管局",
                "plans": "抽查计划", "draws": "抽取", "tasks": "抽查任务"}


@app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（一个对象）。")) -> None:
    """两库一单统计：各名录库与清单的记录条数。"""
    from scheduler.library.service import library_counts

    counts = library_counts(engine())
    if as_json:
        typer.echo(json.dumps(counts, ensure_ascii=False))
    else:
        for k, v in counts.items():
            console.print(f"{STATS_LABELS.get(k, k):\u3000>6}  {v:>12,}")
