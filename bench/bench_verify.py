"""Where `dsr verify DIR` of an auditor package spends its time: each part that
`scheduler.verify.verify_package` runs, timed alone in this process (wall and CPU).

    python bench/bench_verify.py DIR

Runs against whichever `scheduler` is importable, so the same package can be timed with
an older checkout (`PYTHONPATH=OLD python bench/bench_verify.py DIR`), which has no
`reference.draw_canonical`: then the parts are timed as that code ran them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scheduler.draw import commitments as hs
from scheduler.draw import reference as dsr1
from scheduler.matching import reference as matching


def timed(name: str, fn: Callable[[], Any]) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{name:40} {time.perf_counter() - t0:6.2f} s  CPU {time.process_time() - c0:6.2f} s")
    return out


def _frame_rows(data: bytes) -> list[tuple[str, str]]:
    rows = dsr1.parse_frame(data)
    canonical = dsr1.is_canonical(rows) if hasattr(dsr1, "is_canonical") else dsr1.canonical_frame(rows) == data
    assert canonical
    return rows


def main(d: Path) -> None:
    cert = timed("certificate.json", lambda: json.loads((d / "certificate.json").read_bytes().decode("utf-8")))
    data = (d / "frame.csv").read_bytes()
    rows = timed("frame.csv read, checked canonical", lambda: _frame_rows(data))
    rules = {s["stratum"]: dsr1.Rule(ratio=s.get("ratio"), count=s.get("count")) for s in cert["strata"]}
    head = (cert["seed"], cert["plan_code"], cert["period"])
    if hasattr(dsr1, "draw_canonical"):
        run = lambda: dsr1.draw_canonical(*head, rows, rules, cert["batches"], cert["reserve_ratio"], data)  # noqa: E731
    else:
        run = lambda: dsr1.draw(*head, rows, rules, batches=cert["batches"], reserve_ratio=cert["reserve_ratio"])  # noqa: E731
    timed(f"DSR-1 recomputed ({len(rows):,} tickets)", run)
    key = hs.check_key(cert["commitment_key"])
    timed("commitments.csv recomputed", lambda: hashlib.sha256(hs.commitments_csv(key, rows)).hexdigest())
    out = timed(f"matching recomputed ({len(cert['selected']):,} tasks)", lambda: matching.check_package(d, cert))
    assert isinstance(out, list), out


if __name__ == "__main__":
    main(Path(sys.argv[1]))
