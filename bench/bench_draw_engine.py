"""Benchmark of the DSR-1 engine (scheduler.draw.fast) against the peer `consistent_sampler`.

    python bench/bench_draw_engine.py                 # 1M and 10M, peer on 1M
    python bench/bench_draw_engine.py --sizes 200000 --peer-max 200000

Each measurement runs in its own fresh process so that peak memory
(ru_maxrss) belongs to that measurement alone. The synthetic frame has
18-character USCC-shaped ids in shuffled order and 4 strata in the Dandong
2023 mix (A 65.8%, B 25.5%, C 7.8%, D 1.5%) with ratios A 2%, B 5%, C 30%,
D 100%. The peer draws the same k per stratum (without replacement) from the
same ids; it has no strata, so it is run once per stratum.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# A large draw hashes half its tickets in a forked helper (scheduler.runtime.cores.split_fill), whose CPU
# time is not in process_time(): counted as bench_draw counts it.
from bench_draw import children_cpu

MIX = (("A", 0.658, "0.02"), ("B", 0.255, "0.05"), ("C", 0.078, "0.3"), ("D", 0.009 + 0.006, "1"))
SEED = "20250117083015271828314159"
PLAN, PERIOD = "BENCH-1", "2025Q1"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int) -> tuple[list[str], list[str]]:
    import numpy as np

    rng = np.random.default_rng(7)  # synthetic data only, never for a draw
    perm = rng.permutation(n).tolist()
    ids = [f"91110117{i:09d}X" for i in perm]
    labels = [m[0] for m in MIX]
    p = np.array([m[1] for m in MIX])
    codes = rng.choice(len(MIX), size=n, p=p / p.sum()).tolist()
    strata = [labels[c] for c in codes]
    return ids, strata


def one(kind: str, n: int) -> dict:
    from scheduler.draw import fast as draw

    ids, strata = synthetic(n)
    rules = {m[0]: draw.StratumRule(m[2]) for m in MIX}
    base_rss = rss_mb()
    out: dict = {"kind": kind, "n": n, "rss_before_mb": round(base_rss, 1)}
    if kind == "engine":
        frame = list(zip(ids, strata))
        del ids, strata
        base_rss = rss_mb()
        out["rss_before_mb"] = round(base_rss, 1)
        t, c, k = time.perf_counter(), time.process_time(), children_cpu()
        r = draw.run_draw(SEED, PLAN, PERIOD, frame, rules, batches=4)
        out["seconds"] = time.perf_counter() - t
        out["children_cpu_seconds"] = children_cpu() - k
        out["cpu_seconds"] = time.process_time() - c + out["children_cpu_seconds"]
        out["children_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        out["selected"] = len(r.selected)
        out["k"] = {s.stratum: s.k for s in r.strata}
    elif kind == "columns":
        t = time.perf_counter()
        r = draw.rank(SEED, PLAN, PERIOD, draw.frame_of_rows(ids, strata), rules, batches=4)
        out["seconds"] = time.perf_counter() - t
        out["selected"] = len(r.selected)
    elif kind == "phases":
        t0 = time.perf_counter()
        fr = draw.frame_of_rows(ids, strata)
        t1 = time.perf_counter()
        blob = draw._digests_bytes(draw._ticket_prefix(SEED, PLAN, PERIOD), fr.ids_b)
        t2 = time.perf_counter()
        out["phases"] = {"validate+sort+canonical bytes": t1 - t0, "sha256 tickets": t2 - t1}
        out["seconds"] = t2 - t0
        del blob
    elif kind == "peer":
        import consistent_sampler

        ks = {m[0]: draw.stratum_k(sum(1 for s in strata if s == m[0]), m[2], None) for m in MIX}
        groups: dict[str, list[str]] = {m[0]: [] for m in MIX}
        for i, s in zip(ids, strata):
            groups[s].append(i)
        del ids, strata
        base_rss = rss_mb()
        out["rss_before_mb"] = round(base_rss, 1)
        t, c = time.perf_counter(), time.process_time()
        total = 0
        for lab, members in groups.items():
            got = list(consistent_sampler.sampler(members, seed=SEED, take=ks[lab], with_replacement=False, output="id"))
            total += len(got)
        out["seconds"] = time.perf_counter() - t
        out["cpu_seconds"] = time.process_time() - c
        out["selected"] = total
    out["peak_mb"] = round(peak_mb(), 1)
    out["draw_extra_mb"] = round(peak_mb() - base_rss, 1)
    return out


def measure(kind: str, n: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", kind, str(n)], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"kind": kind, "n": n, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    ap.add_argument("--peer-max", type=int, default=1_000_000, help="largest frame the (slow) peer is run on")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one[0], int(a.one[1]))))
        return
    rows = []
    for n in a.sizes:
        eng = measure("engine", n)
        col = measure("columns", n)
        ph = measure("phases", n)
        peer = measure("peer", n) if n <= a.peer_max else None
        rows.append((n, eng, col, ph, peer))
        print(json.dumps({"n": n, "engine": eng, "columns": col, "phases": ph, "peer": peer}), file=sys.stderr)

    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (other jobs inflate wall times)")
    print(f"{'figure':<44} {'this (DSR-1)':>14} {'peer':>14} {'ratio':>8}")
    for n, eng, col, ph, peer in rows:
        def sec(m):
            return f"{m['seconds']:.2f} s" if m and "seconds" in m else ("-" if m is None else "error")

        ratio = f"{peer['seconds'] / eng['seconds']:.1f}x" if peer and "seconds" in peer and "seconds" in eng else "-"
        print(f"{f'run_draw, {n:,} entities, 4 strata':<44} {sec(eng):>14} {sec(peer):>14} {ratio:>8}")
        cpu = lambda m: f"{m['cpu_seconds']:.2f} s" if m and "cpu_seconds" in m else "-"  # noqa: E731
        print(f"{'  CPU time (with its forked helper)':<44} {cpu(eng):>14} {cpu(peer):>14}")
        if eng.get("children_cpu_seconds"):
            print(f"{'    of which the forked helper':<44} {eng['children_cpu_seconds']:>12.2f} s"
                  f"   (its peak RSS {eng['children_peak_mb']} MB, mostly pages shared with the parent)")
        print(f"{'  peak RSS of the process (MB)':<44} {eng.get('peak_mb', '-'):>14} {(peer or {}).get('peak_mb', '-'):>14}")
        print(f"{'  of which the draw itself (MB)':<44} {eng.get('draw_extra_mb', '-'):>14} {(peer or {}).get('draw_extra_mb', '-'):>14}")
        print(f"{f'rank(frame_of_rows) (no tuples), {n:,}':<44} {sec(col):>14}")
        print(f"{'  peak RSS / draw itself (MB)':<44} {str(col.get('peak_mb')) + ' / ' + str(col.get('draw_extra_mb')):>14}")
        for name, s in ph.get("phases", {}).items():
            print(f"{f'  phase: {name}':<44} {s:>12.2f} s")


if __name__ == "__main__":
    main()
