"""Benchmark: publication deadlines (20 working days) for a million completion dates.

Run: /work/venv/bin/python bench/bench_deadline.py [--n 1000000] [--sample 20000]

`this` is `scheduler.calendar.workdays.deadlines` (one sorted array of working days,
lookup tables built with np.searchsorted, two gathers per date). The peer is a
Python loop calling chinese-calendar's `find_workday(19, d + 1 day)` (the 20th
working day after d) on a random sample of the dates, scaled linearly to the
full count; a second peer row steps day by day with `chinese_calendar.is_workday`.
Our own scalar `add_working_days` is timed the same way. Dates are uniform over
2004-01-01 .. 2026-10-31, so no count leaves the years the package knows. The
sample's results are checked equal across all implementations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import chinese_calendar
import numpy as np

from scheduler.calendar.workdays import add_working_days, deadlines, from_package
from scratch import print_table

ONE = dt.timedelta(days=1)


def _dates(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    span = (np.datetime64("2026-10-31") - np.datetime64("2004-01-01")).astype(int)
    return np.datetime64("2004-01-01") + rng.integers(0, span + 1, n).astype("timedelta64[D]")


def _stepping(d: dt.date, n: int) -> dt.date:
    while n:
        d += ONE
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


def _best(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def run(n: int = 1_000_000, sample: int = 20_000, seed: int = 20251001) -> list[tuple[str, str, str, str]]:
    """Rows of (figure, this, peer, ratio peer/this)."""
    rows: list[tuple[str, str, str, str]] = []
    t = time.perf_counter()
    cal = from_package()
    build = time.perf_counter() - t
    rows.append(("calendar build 2004-2026 (s)", f"{build:.3f}", "—", "—"))

    dates = _dates(n, seed)
    out = deadlines(cal, dates)  # warm-up, and the result checked below
    vec = _best(lambda: deadlines(cal, dates), 5)

    sample_idx = np.random.default_rng(seed + 1).choice(n, size=min(sample, n), replace=False)
    sample_dates = [d.astype(object) for d in dates[sample_idx]]
    scale = n / len(sample_dates)

    t = time.perf_counter()
    peer = [chinese_calendar.find_workday(19, d + ONE) for d in sample_dates]
    peer_find = (time.perf_counter() - t) * scale
    t = time.perf_counter()
    peer2 = [_stepping(d, 20) for d in sample_dates]
    peer_step = (time.perf_counter() - t) * scale
    t = time.perf_counter()
    ours = [add_working_days(cal, d, 20) for d in sample_dates]
    scalar = (time.perf_counter() - t) * scale

    vec_sample = [d.astype(object) for d in out[sample_idx]]
    agree = peer == peer2 == ours == vec_sample

    label = f"{n:,} deadlines (s)"
    rows.append((f"{label}: vectorised vs find_workday loop", f"{vec:.4f}", f"{peer_find:.2f}", f"{peer_find / vec:,.0f}x"))
    rows.append((f"{label}: vectorised vs is_workday stepping", f"{vec:.4f}", f"{peer_step:.2f}", f"{peer_step / vec:,.0f}x"))
    rows.append((f"{label}: our scalar loop vs find_workday loop", f"{scalar:.2f}", f"{peer_find:.2f}", f"{peer_find / scalar:.2f}x"))
    rows.append(("dates per second, vectorised vs find_workday", f"{n / vec:,.0f}", f"{n / peer_find:,.0f}", f"{peer_find / vec:,.0f}x"))
    rows.append((f"results equal on the {len(sample_dates):,}-date sample", str(agree), "", ""))
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=20_000)
    args = ap.parse_args()
    print_table(run(args.n, args.sample), ("figure", "this", "peer", "ratio"))
