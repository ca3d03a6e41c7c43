"""A plan year: 12 monthly draws of a 1M-entity registry, with the year's exclusions and without.

    python bench/bench_annual.py                    # 1M on SQLite
    python bench/bench_annual.py --size 200000 --backend postgresql

The registry, roster and key-item plan are bench_draw.py's (ratios A 1%, B 3%, C 10%, D 50%,
frame = the whole registry), the plan a 2026 monthly plan. One database is built, then copied
(SQLite: a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE) for each run:

  with     — the product: each month's frame leaves out what the plan drew earlier in the year
             (a NOT IN over the year's tasks of the plan, scheduler/draw/frame_service.py), and k
             follows the annual allocation (scheduler/plans/quota.py);
  without  — the same twelve draws with the exclusion's subquery replaced by an empty one in this
             process (a benchmark's monkeypatch, not a product setting): the same allocation, the
             frames whole.

Printed per month: freeze (frame query, canonical text, digests, archive) and draw (ranking,
allocation reads, matching, store) seconds, frame size and tasks, then the year's totals and the
cost of the exclusions. The machine is shared (2 CPUs, other work running): wall times vary by
tens of percent between runs; read the difference of the totals, not single months.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_draw import PLAN, build  # noqa: E402
from scratch import print_table, scratch_database  # noqa: E402

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def seed(i: int) -> str:
    return f"2026{i + 1:02d}01090000314159265358979323"


def year(url: str, exclusions: bool) -> list[dict]:
    from sqlalchemy import false, select

    from db.engine import make_engine
    from db.models import Task
    from scheduler.draw import frame_service
    from scheduler.draw import service as draws

    original = frame_service.drawn_by_plan
    if not exclusions:
        frame_service.drawn_by_plan = lambda plan_id, year: select(Task.uscc).where(false())
    eng = make_engine(url)
    rows = []
    try:
        for i, p in enumerate(MONTHS):
            t0 = time.perf_counter()
            f = draws.freeze(eng, PLAN, p)
            t1 = time.perf_counter()
            d = draws.execute(eng, PLAN, p, seed=seed(i))
            t2 = time.perf_counter()
            import json

            rows.append({"period": p, "freeze": t1 - t0, "draw": t2 - t1, "frame": f.frame_size,
                         "k": json.loads(d.annual)["section"]["k"]})
    finally:
        frame_service.drawn_by_plan = original
        eng.dispose()
    return rows


def _copy(backend: str, template: str, tmp: Path, name: str) -> str:
    if backend == "sqlite":
        path = tmp / f"{name}.db"
        shutil.copyfile(template.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text

    from scratch import PG_ADMIN

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db = template.rsplit("/", 1)[1] + f"_{name}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{db}" TEMPLATE "{template.rsplit("/", 1)[1]}"'))
    admin.dispose()
    return template.rsplit("/", 1)[0] + "/" + db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = ap.parse_args()
    import tempfile

    from sqlalchemy import update

    from db.engine import make_engine
    from db.models import Plan

    with scratch_database(args.backend) as url, tempfile.TemporaryDirectory(prefix="dsr-annual-") as tmp:
        t = time.perf_counter()
        build(url, args.size)
        eng = make_engine(url)
        with eng.begin() as c:
            c.execute(update(Plan).values(year=2026))
        eng.dispose()
        print(f"built {args.size:,} entities on {args.backend} in {time.perf_counter() - t:.0f} s", flush=True)
        runs = {name: year(_copy(args.backend, url, Path(tmp), name), name == "with") for name in ("with", "without")}
    table = []
    for i, p in enumerate(MONTHS):
        w, o = runs["with"][i], runs["without"][i]
        table.append([p, f"{w['frame']:,}", f"{w['k']:,}", f"{w['freeze']:.2f}", f"{w['draw']:.2f}",
                      f"{o['frame']:,}", f"{o['k']:,}", f"{o['freeze']:.2f}", f"{o['draw']:.2f}"])
    tot = {n: (sum(r["freeze"] for r in rs), sum(r["draw"] for r in rs), sum(r["k"] for r in rs)) for n, rs in runs.items()}
    table.append(["year", "", f"{tot['with'][2]:,}", f"{tot['with'][0]:.2f}", f"{tot['with'][1]:.2f}",
                  "", f"{tot['without'][2]:,}", f"{tot['without'][0]:.2f}", f"{tot['without'][1]:.2f}"])
    print_table(table, ["period", "frame (with)", "k", "freeze s", "draw s", "frame (without)", "k", "freeze s", "draw s"])
    w, o = sum(tot["with"][:2]), sum(tot["without"][:2])
    print(f"\nyear with exclusions {w:.1f} s, without {o:.1f} s: exclusions cost {w - o:+.1f} s ({(w - o) / o:+.1%})")


if __name__ == "__main__":
    main()
