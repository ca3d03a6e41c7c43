"""Benchmark: merging the draws of 20 plans × 50,000 tasks each in one coordination window.

    python bench/bench_visits.py                                   # 20 × 50,000 on SQLite
    python bench/bench_visits.py --plans 20 --tasks 50000 --ids 400000 --backends sqlite,postgresql

Setup (not timed): a fresh database with 20 plans of different departments, one
drawn draw each in the same month (draw times a minute apart, one plan marked not
mergeable), and 50,000 live tasks per draw whose entities are drawn at random from an
id space of 400,000 USCCs, so entities overlap between plans. Tasks go in with the
bulk inserts (db/bulk.insert_rows).

Timed:
  (a) the pure rule: `scheduler.visits.rules.merge` on the 1M TaskRefs (normative code), and
      `group_columns` (the vectorised form the service uses, property-tested equal);
  (b) `services.visits.refresh_window` end to end on the database: read the live tasks,
      merge, diff against the stored visits, write visits and their tasks, audit event,
      commit. Scenarios: from nothing with 19 plans drawn (every visit new); after the
      20th plan's draw (what the draw's own transaction pays: its 50,000 tasks join or
      open visits; the 20th plan's tasks are stored as reserves at build time and made
      live, untimed, before this refresh); again (nothing changes); after the earliest
      draw is voided (its tasks leave, the visits it led re-form around new leads).
Peer, in the same run: one SQL `GROUP BY uscc` over the same live tasks of the window,
fetched to the client (the floor of finding the groups in the database).
Goal of the issue: < 5 s for the merge.
"""

from __future__ import annotations

import argparse
import random
import time

from scratch import print_table, scratch_database

PERIOD = "2026-12"


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def build(url: str, plans: int, per_plan: int, ids: int, seed: int = 20261201) -> tuple[int, int]:
    """Plans, drawn draws and live tasks (not timed). Returns (tasks, distinct entities)."""
    import datetime as dt

    from sqlalchemy import select
    from sqlmodel import Session

    from db.bulk import insert_rows
    from db.engine import make_engine
    from db.migrate import upgrade
    from db.models import Department, Draw, Plan, utcnow
    from scheduler.demo import pinggu as reference
    from scheduler.library import uscc
    from scheduler.demo.service import ensure_pinggu

    eng = make_engine(url)
    upgrade(eng)
    with Session(eng) as s:
        b = ensure_pinggu(s)
        depts = list(s.execute(select(Department.id).where(Department.bureau_id == b.id).order_by(Department.id)).scalars())
        base = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc)
        draw_ids = []
        for p in range(plans):
            plan = Plan(bureau_id=b.id, code=f"BENCH-{p:02d}", name=f"基准计划{p}", lead_department_id=depts[p % len(depts)],
                        merge_visits=p != 7)
            s.add(plan)
            s.flush()
            d = Draw(plan_id=plan.id, period=PERIOD, status="drawn", frame_sha256="0" * 64, public_frame_sha256="0" * 64,
                     frame_size=ids, seed="1" * 32, seed_source="system", drawn_at=base + dt.timedelta(minutes=p))
            s.add(d)
            s.flush()
            draw_ids.append(d.id)
        s.commit()
        bid = b.id
    rng = random.Random(seed)
    space = [uscc.make("9", "1", reference.AREA_CODE, f"{i:08d}") for i in range(ids)]
    now = utcnow()
    seen: set[str] = set()
    cols = ["bureau_id", "kind", "draw_id", "uscc", "stratum", "rank", "ticket", "status", "note", "created_at"]
    for k, did in enumerate(draw_ids):
        chosen = rng.sample(space, per_plan)
        seen.update(chosen)
        status = "reserve" if k == len(draw_ids) - 1 else "assigned"  # the last plan's draw goes live later
        with eng.begin() as c:
            insert_rows(c, "task", cols, ((bid, "random", did, u, "A", i + 1, "", status, "", now)
                                          for i, u in enumerate(chosen)))
    eng.dispose()
    return plans * per_plan, len(seen)


def refs_of(url: str):
    """The rule's input read back from the database (not timed)."""
    from sqlmodel import Session

    from db.engine import make_engine
    from scheduler.visits import service as vs

    eng = make_engine(url)
    with Session(eng) as s:
        live = vs._read_tasks(s.connection(), [PERIOD])
    eng.dispose()
    return live


def timed(f, repeat: int = 1) -> tuple[float, object]:
    best, out = None, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        dt_ = time.perf_counter() - t
        best = dt_ if best is None else min(best, dt_)
    return best, out


def peer_group_by(url: str) -> tuple[float, int]:
    """One GROUP BY (uscc) over the window's live tasks, every group fetched."""
    from sqlalchemy import text

    from db.engine import make_engine

    eng = make_engine(url)
    sql = text("SELECT t.uscc, COUNT(*) FROM task t JOIN draw d ON d.id = t.draw_id "
               "WHERE d.status = 'drawn' AND d.period = :p AND t.kind = 'random' "
               "AND t.status NOT IN ('voided', 'replaced', 'reserve') GROUP BY t.uscc")
    with eng.connect() as c:
        c.execute(sql, {"p": PERIOD}).fetchall()  # warm the cache like the refresh's own read
        secs, rows = timed(lambda: c.execute(sql, {"p": PERIOD}).fetchall(), repeat=3)
    eng.dispose()
    return secs, len(rows)


def refresh(url: str):
    from sqlmodel import Session

    from db.engine import make_engine
    from scheduler.visits import service as vs

    eng = make_engine(url)

    def run():
        with Session(eng) as s:
            rep = vs.refresh_window(s, PERIOD)
            s.commit()
        return rep

    secs, rep = timed(run)
    eng.dispose()
    return secs, rep


def go_live(url: str, plans: int) -> None:
    """The last plan's tasks become live, as if it had just been drawn (not timed)."""
    from sqlalchemy import text

    from db.engine import make_engine

    eng = make_engine(url)
    with eng.begin() as c:
        did = c.execute(text("SELECT d.id FROM draw d JOIN plan p ON p.id = d.plan_id WHERE p.code = :c"),
                        {"c": f"BENCH-{plans - 1:02d}"}).scalar_one()
        c.execute(text("UPDATE task SET status = 'assigned' WHERE draw_id = :d"), {"d": did})
    eng.dispose()


def void_one(url: str) -> None:
    from sqlalchemy import text

    from db.engine import make_engine

    eng = make_engine(url)
    with eng.begin() as c:
        did = c.execute(text("SELECT d.id FROM draw d JOIN plan p ON p.id = d.plan_id WHERE p.code = 'BENCH-00'")).scalar_one()
        c.execute(text("UPDATE draw SET status = 'voided' WHERE id = :d"), {"d": did})
        c.execute(text("UPDATE task SET status = 'voided' WHERE draw_id = :d"), {"d": did})
    eng.dispose()


def run(backend: str, plans: int, per_plan: int, ids: int) -> list[tuple[str, str, str, str]]:
    from scheduler.visits import rules as rule

    rows: list[tuple[str, str, str, str]] = []
    with scratch_database(backend, "dsr-bench-visits-") as url:
        t0 = time.perf_counter()
        n, distinct = build(url, plans, per_plan, ids)
        print(f"[{backend}] built {plans} plans × {per_plan:,} tasks = {n:,} tasks, {distinct:,} distinct entities "
              f"of {ids:,} in {time.perf_counter() - t0:.1f} s (load {loadavg()})", flush=True)
        label = f"{plans} plans × {per_plan:,} = {n:,} tasks"
        first, rep0 = refresh(url)
        rows.append((f"(b) refresh_window {backend}, from nothing, {plans - 1} plans drawn ({rep0.tasks:,} tasks, "
                     f"{rep0.visits:,} visits created)", f"{first:.2f} s", "", ""))
        go_live(url, plans)
        peer, groups = peer_group_by(url)
        if backend == "sqlite":
            live = refs_of(url)
            refs = [rule.TaskRef(t, u, live.draws[k].plan_code, live.draws[k].period, live.draws[k].drawn_at,
                                 live.draws[k].mergeable)
                    for t, u, k in zip(live.task_ids.tolist(), live.usccs, live.draw_index.tolist())]
            secs_merge, visits = timed(lambda: rule.merge(refs))
            secs_group, g = timed(lambda: rule.group_columns(live.task_ids, live.usccs, live.draw_index, live.draws),
                                  repeat=3)
            assert len(g) == len(visits) and len(refs) == n
            rows.append((f"(a) pure rule visits.merge, {label}", f"{secs_merge:.2f} s", f"{peer:.2f} s",
                         f"{peer / secs_merge:.2f}x"))
            rows.append((f"(a) vectorised group_columns (service path), {label}", f"{secs_group:.2f} s", f"{peer:.2f} s",
                         f"{peer / secs_group:.2f}x"))
            del refs, visits, g
        last, rep = refresh(url)
        rows.append((f"(b) refresh_window {backend}, after the {plans}th draw ({rep.tasks:,} tasks, {rep.created:,} "
                     f"visits created, {rep.moved:,} tasks placed)", f"{last:.2f} s", f"{peer:.2f} s", f"{peer / last:.2f}x"))
        again, rep2 = refresh(url)
        assert (rep2.created, rep2.deleted, rep2.moved) == (0, 0, 0)
        rows.append((f"(b) refresh_window {backend}, again (nothing changes)", f"{again:.2f} s", f"{peer:.2f} s",
                     f"{peer / again:.2f}x"))
        void_one(url)
        after, rep3 = refresh(url)
        rows.append((f"(b) refresh_window {backend}, after voiding the earliest draw ({rep3.moved:,} tasks moved)",
                     f"{after:.2f} s", f"{peer:.2f} s", f"{peer / after:.2f}x"))
        rows.append((f"visits / merged / saved, {n:,} tasks ({backend}, before the void)",
                     f"{rep.visits:,} / {rep.merged:,} / {rep.saved:,}", f"{groups:,} groups", ""))
        rows.append((f"load average after the {backend} run", loadavg(), "", ""))
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=20)
    ap.add_argument("--tasks", type=int, default=50_000, help="live tasks per plan")
    ap.add_argument("--ids", type=int, default=400_000, help="size of the entity id space drawn from")
    ap.add_argument("--backends", default="sqlite", help="sqlite,postgresql")
    args = ap.parse_args()
    print(f"load average at start: {loadavg()}", flush=True)
    out = []
    for be in [b.strip() for b in args.backends.split(",") if b.strip()]:
        out += run(be, args.plans, args.tasks, args.ids)
    print_table(out, ("figure", "this", "peer (SQL GROUP BY uscc)", "ratio"))
