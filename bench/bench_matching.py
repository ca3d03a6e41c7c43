"""Benchmark of DSR-1 inspector matching against a min-cost-flow peer.

Run: /work/venv/bin/python bench/bench_matching.py [--quick]

Synthetic but shaped like a district: inspectors spread over 10 departments,
each department with 3 qualification tags (an inspector holds each with
probability 0.7), half of the department slots require one tag, 20% joint
tasks (2 or 3 departments), ~3 declared conflicts per inspector, 30% of the
entities with the two inspectors of their last check, 5% of the tasks needing
one expert out of 10 fields, prior loads 0-3 for a third of the roster.

The peer is a seeded random assignment under the same constraints solved as a
min-cost flow (OR-Tools SimpleMinCostFlow, max flow with min cost): source ->
task-department slot nodes -> eligible inspectors -> sink (capacity = cap minus
prior load), with random arc costs from a seeded generator. With team size 2
every joint task has only department slots, and a single-department task is one
node with supply 2 whose arcs have capacity 1 (two distinct inspectors); the
peer ignores experts and the leader role. Its arc count grows with
tasks x pool size, so above `max_arcs_per_node` candidates per slot node the
peer keeps a seeded random subset of that many (reported as "bounded").
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass

import numpy as np

from scheduler.matching.fast import ExpertRec, InspectorRec, MatchPolicy, TaskSpec, match


@dataclass
class Scenario:
    tasks: list[TaskSpec]
    roster: list[InspectorRec]
    experts: list[ExpertRec]
    conflicts: set[tuple[str, str]]
    last: dict[str, set[str]]
    prior: dict[str, int]
    policy: MatchPolicy


def make_scenario(n_tasks: int, n_inspectors: int, n_depts: int = 10, joint_share: float = 0.2,
                  cap: int = 60, seed: int = 20240601) -> Scenario:
    rng = np.random.default_rng(seed)
    depts = [f"D{k:02d}" for k in range(1, n_depts + 1)]
    tags = {d: [f"{d}-Q{j}" for j in range(1, 4)] for d in depts}
    roster = []
    by_dept: dict[str, list[str]] = {d: [] for d in depts}
    for i in range(n_inspectors):
        d = depts[i % n_depts]
        held = frozenset(t for t in tags[d] if rng.random() < 0.7)
        pid = f"I{i:06d}"
        roster.append(InspectorRec(pid, d, held, active=bool(rng.random() > 0.02)))
        by_dept[d].append(pid)
    fields = [f"F{k:02d}" for k in range(10)]
    experts = [ExpertRec(f"E{k:05d}", fields[k % 10]) for k in range(max(20, n_inspectors // 15))]
    tasks = []
    ents = []
    for r in range(n_tasks):
        eid = f"91110117E{r:09d}"
        ents.append(eid)
        ticket = hashlib.sha256(f"bench|{seed}|{eid}".encode()).hexdigest()
        k = 1
        if rng.random() < joint_share:
            k = 2 if rng.random() < 0.8 else 3
        chosen = list(rng.choice(n_depts, size=k, replace=False))
        lead = depts[chosen[0]]
        rest = sorted(depts[c] for c in chosen[1:])
        ds = (lead, *rest)
        req = {d: (frozenset([tags[d][int(rng.integers(3))]]) if rng.random() < 0.5 else frozenset()) for d in ds}
        ef = (fields[int(rng.integers(10))],) if rng.random() < 0.05 else ()
        tasks.append(TaskSpec(eid, ticket, r + 1, ds, req, ef))
    conflicts = set()
    for rec in roster:
        for e in rng.choice(n_tasks, size=3, replace=False):
            conflicts.add((rec.inspector_id, ents[int(e)]))
    last = {}
    for t in tasks:
        if rng.random() < 0.3:
            pool = by_dept[t.departments[0]]
            last[t.entity_id] = {pool[int(j)] for j in rng.choice(len(pool), size=2, replace=False)}
    prior = {r.inspector_id: int(rng.integers(1, 4)) for r in roster if rng.random() < 1 / 3}
    return Scenario(tasks, roster, experts, conflicts, last, prior, MatchPolicy(team_size=2, cap=cap, expert_cap=cap))


def run_dsr(sc: Scenario, policy: str = "balanced") -> dict:
    pol = MatchPolicy(sc.policy.team_size, policy, sc.policy.cap, sc.policy.expert_cap)
    c0, t0 = time.process_time(), time.perf_counter()
    res = match("bench-seed", "PLAN-2024-01", "2024Q2", sc.tasks, sc.roster, sc.experts, sc.conflicts, sc.last,
                sc.prior, pol)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    insp_short = sum(1 for s in res.shortfalls if s.field is None)
    return {"seconds": dt, "cpu": cpu, "slots_short": insp_short, "tasks_short": res.fairness["tasks_short_staffed"],
            "load_min": res.fairness["load_min"], "load_max": res.fairness["load_max"], "result": res}


def run_flow(sc: Scenario, seed: int = 7, max_arcs_per_node: int | None = None) -> dict:
    from ortools.graph.python import min_cost_flow

    assert sc.policy.team_size == 2, "the flow peer models team size 2 only"
    c0, t0 = time.process_time(), time.perf_counter()
    rng = np.random.default_rng(seed)
    ids = [r.inspector_id for r in sc.roster]
    idx = {p: i for i, p in enumerate(ids)}
    act = np.array([r.active for r in sc.roster])
    dept = np.array([r.department for r in sc.roster])
    quals = [r.qualifications for r in sc.roster]
    pools: dict = {}

    def pool(d, tags):
        key = (d, tags)
        if key not in pools:
            pools[key] = np.array([i for i in np.flatnonzero((dept == d) & act) if tags <= quals[i]], dtype=np.int64)
        return pools[key]

    recused: dict[str, set[int]] = {}
    for p, e in sc.conflicts:
        if p in idx:
            recused.setdefault(e, set()).add(idx[p])
    for e, ps in sc.last.items():
        recused.setdefault(e, set()).update(idx[p] for p in ps if p in idx)

    n_ins = len(ids)
    source = 0
    sink = 1
    ins_base = 2
    node = ins_base + n_ins
    tails, heads, caps, costs = [], [], [], []
    supply_total = 0
    bounded = False
    for t in sc.tasks:
        k = len(t.departments)
        need = 2 if k == 1 else 1
        bad = recused.get(t.entity_id)
        for d in t.departments:
            cand = pool(d, frozenset(t.required.get(d, frozenset())))
            if bad:
                cand = cand[~np.isin(cand, list(bad))]
            if max_arcs_per_node is not None and cand.size > max_arcs_per_node:
                cand = rng.choice(cand, size=max_arcs_per_node, replace=False)
                bounded = True
            tails.append(np.array([source], dtype=np.int64))
            heads.append(np.array([node], dtype=np.int64))
            caps.append(np.array([need], dtype=np.int64))
            costs.append(np.array([0], dtype=np.int64))
            tails.append(np.full(cand.size, node, dtype=np.int64))
            heads.append(ins_base + cand)
            caps.append(np.ones(cand.size, dtype=np.int64))
            costs.append(rng.integers(0, 1_000_000, size=cand.size, dtype=np.int64))
            supply_total += need
            node += 1
    room = np.array([max(0, sc.policy.cap - sc.prior.get(p, 0)) for p in ids], dtype=np.int64)
    tails.append(ins_base + np.arange(n_ins, dtype=np.int64))
    heads.append(np.full(n_ins, sink, dtype=np.int64))
    caps.append(room)
    costs.append(np.zeros(n_ins, dtype=np.int64))
    T, H, C, W = (np.concatenate(a) for a in (tails, heads, caps, costs))
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(T, H, C, W)
    smcf.set_node_supply(source, supply_total)
    smcf.set_node_supply(sink, -supply_total)
    t_build = time.perf_counter() - t0
    status = smcf.solve_max_flow_with_min_cost()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    flow = smcf.maximum_flow() if status == smcf.OPTIMAL else -1
    return {"seconds": dt, "cpu": cpu, "build_seconds": t_build, "arcs": int(T.size), "status": int(status),
            "slots_short": supply_total - flow if flow >= 0 else None, "bounded": bounded}


def run(sizes: list[tuple[int, int, int]] | None = None, flow_bound_over: int = 20_000_000,
        bound: int = 64) -> list[dict]:
    """Measure DSR-1 (balanced and uniform) and the flow peer on each (tasks, inspectors, cap)."""
    # the third size is the first with a cap too tight for the demand, so both sides report shortfalls
    sizes = sizes or [(50_000, 3_000, 60), (100_000, 10_000, 40), (50_000, 3_000, 35)]
    rows = []
    for n_tasks, n_ins, cap in sizes:
        sc = make_scenario(n_tasks, n_ins, cap=cap)
        bal = run_dsr(sc, "balanced")
        uni = run_dsr(sc, "uniform")
        est_arcs = sum(len(t.departments) for t in sc.tasks) * (n_ins / 10) * 0.85
        flow = run_flow(sc, max_arcs_per_node=bound if est_arcs > flow_bound_over else None)
        rows.append({"tasks": n_tasks, "inspectors": n_ins, "cap": cap, "balanced": bal, "uniform": uni, "flow": flow,
                     "bound": bound})
    return rows


def print_table(rows: list[dict]) -> None:
    """figure | this (DSR-1) | peer (OR-Tools min-cost flow) | ratio = peer / this."""
    import os

    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
          "(wall time suffers from other processes; CPU time is this process only)")
    print(f"{'figure':<46}{'this':>12}{'peer':>12}{'ratio':>9}")
    for r in rows:
        f = r["flow"]
        note = f" [peer bounded to {r['bound']} candidates per slot]" if f["bounded"] else ""
        print(f"-- {r['tasks']:,} tasks / {r['inspectors']:,} inspectors, cap {r['cap']}; peer arcs {f['arcs']:,}{note}")
        for pol in ("balanced", "uniform"):
            b = r[pol]
            print(f"{'  wall s, ' + pol:<46}{b['seconds']:>12.2f}{f['seconds']:>12.2f}{f['seconds'] / b['seconds']:>9.1f}")
            print(f"{'  CPU s, ' + pol:<46}{b['cpu']:>12.2f}{f['cpu']:>12.2f}{f['cpu'] / b['cpu']:>9.1f}")
        for pol in ("balanced", "uniform"):
            print(f"{'  inspector slots short, ' + pol:<46}{r[pol]['slots_short']:>12}{str(f['slots_short']):>12}")
        for pol in ("balanced", "uniform"):
            b = r[pol]
            print(f"{'  tasks given per inspector min/max, ' + pol:<46}{str(b['load_min']) + '/' + str(b['load_max']):>12}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="5k tasks / 300 inspectors only")
    args = ap.parse_args()
    print_table(run([(5_000, 300, 60)] if args.quick else None))
