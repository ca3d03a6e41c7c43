"""End-to-end draw benchmark: from the registry in the database to the stored draw.

    python bench/bench_draw.py                       # 1M on SQLite and PostgreSQL, 10M on SQLite
    python bench/bench_draw.py --sizes 200000 --backends sqlite
    python bench/bench_draw.py --scenario demo       # the 1M Pinggu demo's joint plan, SQLite and PostgreSQL

Scenario `demo` (the realistic one): `dsr demo --entities N` with its history (three months of
draws and results before 2026-12-05, conflicts, 10,000 inspectors, 500 experts at 1M), then the
joint plan PG-2026-AQ (two departments, every item's qualifications) is frozen and drawn for
2026-12 in a fresh process; each phase of the draw's own log line is printed (rank,
match_inputs, match, store_tasks, store), with the same peer on the same frame and k.
`--demo-db URL` reuses a demo built before (copied for each run: a file copy on SQLite, a
`CREATE DATABASE ... TEMPLATE` on PostgreSQL), so the build (minutes) is not repeated.

Scenario `simple` (the default):

For each size and back-end, a fresh database gets N registry rows (valid
USCCs, 4 risk classes in the Dandong 2023 mix) and a roster of N/100
inspectors (at most 3,000), and a key-item plan whose frame is the whole
registry, stratified by risk class with ratios A 1%, B 3%, C 10%, D 50%.
Timed in a fresh process (so its peak memory is its own; the draw forks children for half of
the tickets and for the matching, whose memory is sampled with it, see `TreeMemory`):
  freeze  — frame query, canonical text, SHA-256, gzip archive, commit;
  draw    — DSR-1 on the frozen frame, inspector matching, tasks, teams,
            certificate and audit event stored in one transaction.
Peer, in the same run: `consistent_sampler` (the sampler of real election
audits) drawing the same k per stratum from the same frame, rows already in
memory (so the peer is not charged for the database).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

from scratch import scratch_database

MIX = (("A", 0.658, "0.01"), ("B", 0.255, "0.03"), ("C", 0.078, "0.1"), ("D", 0.009, "0.5"))
PLAN, PERIOD = "BENCH-KEY", "2026-12"
SEED = "20261201090000314159265358979323"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory:
    """Peak memory of this process with the children the draw forks (half of the tickets, the
    matching), sampled every `every` seconds: this process's resident set (/proc/self/statm,
    O(1)) plus each child's private pages (its smaps_rollup; a page still shared with this
    process is counted once, here). This process's own page tables are never walked: reading its
    smaps_rollup holds its memory map's lock, which slowed the 10M draw by ~2 s. Sampling can miss
    a short peak; this process's `ru_maxrss` is reported beside it."""

    def __init__(self, every: float = 0.25) -> None:
        import threading

        self.peak_kb, self.every = 0, every
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        me = os.getpid()
        page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                rss_kb = int(f.read().split()[1]) * page_kb
            self.peak_kb = max(self.peak_kb, rss_kb + sum(_private_kb(p) for p in _children(me)))
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return self.peak_kb / 1024


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the draw's forked helpers)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _private_kb(pid: int) -> int:
    """Pages of process `pid` that it shares with no other process (KB)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def build(url: str, n: int) -> None:
    """Registry, roster and plan for the benchmark (not timed)."""
    import numpy as np
    from sqlmodel import Session, select

    from db.bulk import insert_rows
    from db.engine import make_engine
    from db.migrate import upgrade
    from db.models import CheckItem, Department, utcnow
    from scheduler.demo import pinggu as reference
    from scheduler.library import uscc
    from scheduler.demo.service import ensure_pinggu
    from scheduler.plans.service import PlanInput, save_plan

    eng = make_engine(url)
    upgrade(eng)
    with Session(eng) as s:
        b = ensure_pinggu(s)
        depts = dict(s.execute(select(Department.code, Department.id).where(Department.bureau_id == b.id)).all())
        s.add(CheckItem(bureau_id=b.id, code="K-01", category="产品质量", name="重点产品质量安全检查", kind="key",
                        department_id=depts["SCJGJ"]))
        s.commit()
        bid = b.id
    rng = np.random.default_rng(11)  # synthetic data only
    towns = [c for c, _ in reference.TOWNS]
    p = np.array([m[1] for m in MIX])
    now = utcnow()
    block = 500_000
    for start in range(0, n, block):
        m = min(block, n - start)
        cls = rng.choice(4, size=m, p=p / p.sum())
        town = rng.integers(0, len(towns), size=m)
        rows = (
            (uscc.make("9", "1", reference.AREA_CODE, f"{start + i:08d}"), f"企业{start + i}", "企业", "C1391",
             towns[town[i]], "", None, "存续", MIX[cls[i]][0], "", now)
            for i in range(m)
        )
        with eng.begin() as c:
            insert_rows(c, "enterprise", ["uscc", "name", "entity_type", "industry_code", "town_code", "address",
                                          "registered_on", "status", "risk_class", "tags", "updated_at"], rows)
    k = max(20, min(3000, n // 100))
    with eng.begin() as c:
        insert_rows(c, "inspector", ["bureau_id", "inspector_id", "name", "department_id", "cert_no", "qualifications",
                                     "region", "active", "updated_at"],
                    ((bid, f"I{i:05d}", f"检查员{i}", depts["SCJGJ"], f"C{i:08d}", "", "", True, now) for i in range(k)))
    save_plan(eng, PlanInput(code=PLAN, name="基准测试重点抽查", lead_department="SCJGJ", item_codes=["K-01"],
                             ratios={m[0]: m[2] for m in MIX}, workload_cap=30000))
    # A draft is never drawn: a second person approves the plan first.
    from scheduler.access.context import Actor
    from scheduler.plans.versions import approve_plan

    approve_plan(eng, PLAN, Actor("bench-approver", "admin"))
    # A registry is imported long before it is drawn: let the database's background writes settle
    # first, rather than have them compete with the timed run (PostgreSQL: autovacuum and
    # statistics; SQLite: the WAL copied into the file, and the kernel writing the file out).
    _settle(eng)


DEMO_PLAN, DEMO_PERIOD, DEMO_TODAY, DEMO_SEED = "PG-2026-AQ", "2026-12", (2026, 12, 5), 2026


def build_demo(url: str, n: int) -> None:
    """The Pinggu demo of `n` entities with its three months of history (not timed)."""
    import datetime as dt

    from db.engine import make_engine
    from db.migrate import upgrade
    from scheduler.demo.history import create_history
    from scheduler.demo.service import create_demo

    eng = make_engine(url)
    upgrade(eng)
    create_demo(eng, n, DEMO_SEED)
    create_history(eng, dt.date(*DEMO_TODAY), DEMO_SEED)
    _settle(eng)


def _settle(eng) -> None:
    """Let the database's background writes settle before the timed run."""
    if eng.dialect.name == "postgresql":
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
            c.exec_driver_sql("CHECKPOINT")
    else:
        with eng.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    os.sync()


class _PhaseLog:
    """The draw's own log line (`dsr.draw`, event "draw"): its phases in seconds."""

    def __enter__(self):
        import logging

        class Catch(logging.Handler):
            def emit(inner, record):  # noqa: N805
                data = json.loads(record.getMessage())
                if data.get("event") == "draw":
                    self.laps, self.cpu = data["seconds"], data.get("cpu_seconds", {})

        self.laps: dict = {}
        self.cpu: dict = {}
        self._log = logging.getLogger("dsr.draw")
        self._handler, self._level = Catch(), self._log.level
        self._log.addHandler(self._handler)
        self._log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        self._log.removeHandler(self._handler)
        self._log.setLevel(self._level)


def timed_demo(url: str, peer: bool = True) -> dict:
    """Freeze and draw the demo's joint plan in this (fresh) process, phases from the draw's log."""
    from db.engine import make_engine
    from scheduler.draw import service as draws
    from scheduler.plans.service import load_plan
    from sqlmodel import Session

    eng = make_engine(url)
    load = os.getloadavg()[0]
    tree = TreeMemory()
    c0, t0, k0 = time.process_time(), time.perf_counter(), children_cpu()
    with _PhaseLog() as phases:
        f = draws.freeze(eng, DEMO_PLAN, DEMO_PERIOD)
        c1, t1 = time.process_time(), time.perf_counter()
        d = draws.execute(eng, DEMO_PLAN, DEMO_PERIOD, seed=SEED)
    c2, t2, k2 = time.process_time(), time.perf_counter(), children_cpu()
    peak, tree_peak = _peak_mb(), tree.stop()
    cert = json.loads(d.certificate)
    out = {"freeze": t1 - t0, "draw": t2 - t1, "total": t2 - t0, "cpu_freeze": c1 - c0, "cpu_draw": c2 - c1,
           "cpu_total": c2 - c0, "cpu_children": k2 - k0, "load_before": load, "load_after": os.getloadavg()[0],
           "frame": f.frame_size, "selected": len(cert["selected"]), "peak_mb": peak, "tree_peak_mb": tree_peak,
           "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "peer": None,
           "peer_cpu": None, "k": {s["stratum"]: s["k"] for s in cert["strata"]}, "phases": phases.laps, "phases_cpu": phases.cpu,
           "tasks": len(cert["selected"]), "slots_short": cert["matching"]["fairness"]["slots_short"]}
    if peer:
        from scheduler.draw import fast as dsr1

        with Session(eng) as s:
            lp = load_plan(s, DEMO_PLAN)
        # The period's k comes from the year's allocation (scheduler/plans/quota.py), which the
        # draw hands DSR-1 as fixed counts: the engine alone gets the same counts.
        _peer(eng, d.id, out, DEMO_PLAN, DEMO_PERIOD,
              lambda labels: {st: dsr1.StratumRule(count=out["k"].get(st, 0)) for st in labels},
              batches=lp.plan.batches, reserve_ratio=lp.plan.reserve_ratio)
    eng.dispose()
    return out


def timed(url: str, peer: bool = True) -> dict:
    """Freeze and draw in this (fresh) process; returns seconds and peak memory."""
    from db.engine import make_engine
    from scheduler.draw import service as draws

    eng = make_engine(url)
    load = os.getloadavg()[0]
    tree = TreeMemory()
    c0, t0, k0 = time.process_time(), time.perf_counter(), children_cpu()
    f = draws.freeze(eng, PLAN, PERIOD)
    c1, t1 = time.process_time(), time.perf_counter()
    d = draws.execute(eng, PLAN, PERIOD, seed=SEED)
    c2, t2, k2 = time.process_time(), time.perf_counter(), children_cpu()
    peak = _peak_mb()  # the draw's own peak, before this script parses the certificate (~0.5 GB at 10M)
    tree_peak = tree.stop()
    cert = json.loads(d.certificate)
    # CPU = this process only (on PostgreSQL the server's work is not in it; wall time is the figure there).
    out = {"freeze": t1 - t0, "draw": t2 - t1, "total": t2 - t0, "cpu_freeze": c1 - c0, "cpu_draw": c2 - c1,
           "cpu_total": c2 - c0, "cpu_children": k2 - k0, "load_before": load, "load_after": os.getloadavg()[0], "frame": f.frame_size,
           "selected": len(cert["selected"]), "peak_mb": peak, "tree_peak_mb": tree_peak,
           "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "peer": None, "peer_cpu": None,
           "k": {s["stratum"]: s["k"] for s in cert["strata"]}}
    if not peer:
        eng.dispose()
        return out
    from scheduler.draw import fast as dsr1

    _peer(eng, d.id, out, PLAN, PERIOD, lambda labels: {s: dsr1.StratumRule(ratio=r) for s, _, r in MIX})
    eng.dispose()
    return out


def _peer(eng, draw_id: int, out: dict, plan: str, period: str, rules_of, **options) -> None:
    """DSR-1 alone and the peer on the stored draw's frame, in memory: `out` gets their times."""
    from scheduler.draw import fast as dsr1
    from scheduler.draw import service as draws

    with tempfile.TemporaryDirectory() as tmp:
        draws.write_packages(eng, draw_id, auditor_dir=tmp)
        with open(os.path.join(tmp, "frame.csv"), "rb") as fh:
            data = fh.read()
    # The same work as the peer, on the same frame in memory: DSR-1 alone (tickets, selection per
    # stratum, draw order, batches, reserves; it also checks the frame's canonical form and digest).
    ids_by_stratum: dict[str, list[str]] = {}
    for line in data.decode().splitlines():
        i, s = line.split(",")
        ids_by_stratum.setdefault(s, []).append(i)
    rules = rules_of(sorted(ids_by_stratum))
    c, t, k = time.process_time(), time.perf_counter(), children_cpu()
    engine_result = dsr1.rank(SEED, plan, period, dsr1.frame_of_archive(data), rules, **options)
    out["engine"] = time.perf_counter() - t
    out["engine_cpu"] = time.process_time() - c + children_cpu() - k  # half the tickets are hashed in a child
    assert {r.stratum: r.k for r in engine_result.strata} == out["k"]  # same k as the stored draw
    del engine_result
    import consistent_sampler

    c, t = time.process_time(), time.perf_counter()
    total = 0
    for s, members in ids_by_stratum.items():
        total += len(list(consistent_sampler.sampler(members, seed=SEED, take=out["k"][s], with_replacement=False,
                                                     output="id")))
    out["peer"] = time.perf_counter() - t
    out["peer_cpu"] = time.process_time() - c
    out["peer_selected"] = total


def measure(backend: str, n: int, peer_max: int) -> dict:
    with scratch_database(backend) as url:
        t = time.perf_counter()
        build(url, n)
        build_s = time.perf_counter() - t
        proc = subprocess.run([sys.executable, __file__, "--one", url, str(int(n <= peer_max))], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            return {"backend": backend, "n": n, "error": proc.stderr.strip().splitlines()[-3:]}
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update(backend=backend, n=n, build=build_s)
        return out


@contextmanager
def _copy_of(template: str):
    """A throw-away copy of the demo database at URL `template` (SQLite file or PostgreSQL database)."""
    if template.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="dsr-bench-") as tmp:
            shutil.copy(template.split("///", 1)[1], f"{tmp}/demo.db")
            yield f"sqlite:///{tmp}/demo.db"
        return
    from sqlalchemy import create_engine, text

    base, old = template.rsplit("/", 1)
    name = f"dsr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{old}"'))
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure_demo(backend: str, n: int, template: str | None, peer: bool) -> dict:
    """The demo scenario on `backend`: built in a scratch database, or copied from `template`."""
    with contextlib.ExitStack() as stack:
        build_s = 0.0
        if template is None:
            url = stack.enter_context(scratch_database(backend))
            t = time.perf_counter()
            build_demo(url, n)
            build_s = time.perf_counter() - t
        else:
            url = stack.enter_context(_copy_of(template))
        proc = subprocess.run([sys.executable, __file__, "--one-demo", url, str(int(peer))], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            return {"backend": backend, "n": n, "error": proc.stderr.strip().splitlines()[-3:]}
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out.update(backend=backend, n=n, build=build_s)
        return out


PHASES = ("rank", "match_inputs", "store_tasks", "match", "store")


def print_demo(rows: list[dict]) -> None:
    print(f"machine: {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.2f}")
    for r in rows:
        tag = f"{r['n']:,} entities (demo {DEMO_PLAN} {DEMO_PERIOD}), {r['backend']}"
        if "error" in r:
            print(f"{tag}: error: {r['error']}")
            continue
        print(f"{tag}: frame {r['frame']:,}, {r['tasks']:,} tasks, {r['slots_short']:,} empty slots")
        for ph in PHASES:
            cpu = r.get("phases_cpu", {}).get(ph)
            print(f"  {'phase ' + ph:<40} {r['phases'].get(ph, float('nan')):>8.2f} s"
                  + (f"  (CPU of this process {cpu:.2f} s)" if cpu is not None else ""))
        peer = r.get("peer")
        print(f"  {'freeze':<40} {r['freeze']:>8.2f} s")
        print(f"  {'draw (all phases)':<40} {r['draw']:>8.2f} s")
        ratio = f"  peer {peer:.2f} s, ratio {peer / r['total']:.2f}x" if peer else ""
        print(f"  {'end to end (freeze + draw)':<40} {r['total']:>8.2f} s{ratio}")
        if peer and r.get("engine"):
            print(f"  {'DSR-1 alone, frame in memory':<40} {r['engine']:>8.2f} s  peer {peer:.2f} s, "
                  f"ratio {peer / r['engine']:.1f}x")
        print(f"  {'CPU: this process / forked children':<40} {r['cpu_total']:>8.2f} s / {r['cpu_children']:.2f} s")
        print(f"  {'peak memory (with forked children)':<40} {r['peak_mb']:>8.0f} MB ({r['tree_peak_mb']:.0f} MB)")
        print(f"  {'load average before / after':<40} {r['load_before']:>8.2f} / {r['load_after']:.2f}")
    print("peer: consistent_sampler drawing the same k per stratum from the same frame, already in memory")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    ap.add_argument("--pg-max", type=int, default=1_000_000, help="largest size run on PostgreSQL")
    ap.add_argument("--peer-max", type=int, default=1_000_000, help="largest frame the (slow) peer is run on")
    ap.add_argument("--scenario", choices=["simple", "demo"], default="simple")
    ap.add_argument("--entities", type=int, default=1_000_000, help="demo scenario: registry size")
    ap.add_argument("--demo-db", nargs="*", default=[], metavar="URL",
                    help="demo scenario: demo databases built before (one per back-end), copied for each run")
    ap.add_argument("--build-only", metavar="URL", help="demo scenario: build the demo into URL and stop")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--one-demo", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(timed(a.one[0], peer=a.one[1] == "1")))
        return
    if a.one_demo:
        print(json.dumps(timed_demo(a.one_demo[0], peer=a.one_demo[1] == "1")))
        return
    if a.build_only:
        if not a.build_only.startswith("sqlite"):  # a new PostgreSQL database of that name
            from sqlalchemy import create_engine, text

            base, name = a.build_only.rsplit("/", 1)
            admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
        build_demo(a.build_only, a.entities)
        return
    if a.scenario == "demo":
        templates = {("sqlite" if u.startswith("sqlite") else "postgresql"): u for u in a.demo_db}
        rows = []
        for be in a.backends:
            r = measure_demo(be, a.entities, templates.get(be), a.entities <= a.peer_max)
            rows.append(r)
            print(json.dumps(r, ensure_ascii=False), file=sys.stderr)
        print_demo(rows)
        return
    rows = []
    for n in a.sizes:
        for be in a.backends:
            if be == "postgresql" and n > a.pg_max:
                continue
            r = measure(be, n, a.peer_max)
            rows.append(r)
            print(json.dumps(r, ensure_ascii=False), file=sys.stderr)
    print(f"machine: {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'figure':<46} {'this (dsr)':>12} {'peer':>12} {'ratio':>8}")
    for r in rows:
        tag = f"{r['n']:,} entities, {r['backend']}"
        if "error" in r:
            print(f"{tag:<46} error: {r['error']}")
            continue
        peer, peer_cpu = r.get("peer"), r.get("peer_cpu")
        print(f"{'freeze, ' + tag:<46} {r['freeze']:>10.2f} s {'':>12}   (CPU {r['cpu_freeze']:.2f} s)")
        print(f"{'draw+match+store, ' + tag:<46} {r['draw']:>10.2f} s {'':>12}   (CPU {r['cpu_draw']:.2f} s)")
        ratio = f"{peer / r['total']:.1f}x" if peer else "-"
        peer_s = f"{peer:.2f} s" if peer else "-"
        print(f"{'end to end, ' + tag:<46} {r['total']:>10.2f} s {peer_s:>12} {ratio:>8}")
        if peer_cpu:
            print(f"{'end to end CPU (this process), ' + tag:<46} {r['cpu_total']:>10.2f} s {peer_cpu:>10.2f} s "
                  f"{peer_cpu / r['cpu_total']:>7.1f}x   (its forked children: {r['cpu_children']:.2f} s more)")
        else:
            print(f"{'end to end CPU, ' + tag:<46} {r['cpu_total']:>10.2f} s {'':>12}   "
                  f"(this process; its forked children: {r['cpu_children']:.2f} s more)")
        if peer and r.get("engine"):
            print(f"{'DSR-1 alone, frame in memory, ' + tag:<46} {r['engine']:>10.2f} s {peer_s:>12} "
                  f"{peer / r['engine']:>7.1f}x   (CPU with its child {r['engine_cpu']:.2f} s vs {peer_cpu:.2f} s: "
                  f"{peer_cpu / r['engine_cpu']:.1f}x)")
        print(f"{'peak memory, ' + tag:<46} {r['peak_mb']:>9.0f} MB {'':>12}   (this process: ru_maxrss)")
        print(f"{'peak memory with forked children, ' + tag:<46} {r['tree_peak_mb']:>9.0f} MB {'':>12}   "
              f"(this process's RSS + its children's private pages, sampled every 0.25 s; largest child's "
              f"own RSS {r['children_peak_rss_mb']:.0f} MB)")
        print(f"{'load average before / after, ' + tag:<46} {r['load_before']:>6.2f} / {r['load_after']:.2f}")
    print("peer: consistent_sampler drawing the same k per stratum from the same frame, already in memory;")
    print("'DSR-1 alone' is the same work by dsr's engine on the same frame in memory (the peer neither reads")
    print("the database nor matches inspectors nor stores anything: 'end to end' does all of that)")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
