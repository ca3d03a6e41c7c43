"""Benchmark of the enterprise import against the physical floor, and of the registry search.

Run: /work/venv/bin/python bench/bench_import.py [N] [--repeat R] [--no-peer]
     (default N = 1,000,000; --repeat imports R times, each into a fresh database,
     and reports the median with every run listed; --no-peer skips the floor and
     the re-import, for quick runs)

1. `import_file` of an N-row enterprise CSV (UTF-8, Chinese headers, valid USCCs
   made with `scheduler.library.uscc.make`) into a fresh, migrated SQLite database,
   timed end to end (decode, parse, validate, write, commit).
   Peer: raw `sqlite3.executemany` of the same rows, already parsed into
   storage tuples, into another fresh database with the same schema, in one
   transaction (no reading, no validation: the floor).
2. The registry search page query on the N-row database:
   `scheduler.library.browse.browse_enterprises` (what the registry page calls) with a name substring and a
   town filter, first page of 50 with the total count. Peer: the same SQL typed
   by hand on a raw sqlite3 connection.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from db.engine import make_engine
from db.migrate import upgrade
from db.models import utcnow
from scheduler.demo import pinggu as reference
from scheduler.library import uscc
from scheduler.library.importing import COLUMNS
from scheduler.demo.service import ensure_pinggu

_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WORDS = "华盛兴隆鑫源恒达宏伟金泰福安永昌瑞丰和顺嘉禾天成广德新锐佳美康泰润泽平谷桃乡山水"
_SUFFIX = ("食品有限公司", "商贸有限公司", "超市", "餐饮店", "农业专业合作社", "建材经营部", "科技有限公司")
_INDUSTRIES = ("C1391", "F5211", "F5221", "H6210", "A0111", "C3311", "F5123", "I6513")
_TAGS = ("", "食品经营", "食品经营;特种设备", "药品零售", "")


def make_csv(n: int, seed: int = 7) -> bytes:
    """N valid enterprise rows with Chinese headers, UTF-8."""
    rng = random.Random(seed)
    towns = [name for _c, name in reference.TOWNS]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS["enterprises"])
    seen: set[str] = set()
    classes = ("A", "A", "A", "B", "B", "C", "D")
    while len(seen) < n:
        body = "".join(rng.choice(_ALNUM) for _ in range(8))
        try:
            code = uscc.make("9", "1", reference.AREA_CODE, body)
        except ValueError:
            continue
        if code in seen:
            continue
        seen.add(code)
        name = "北京" + "".join(rng.choice(_WORDS) for _ in range(3)) + rng.choice(_SUFFIX)
        etype = "个体工商户" if name.endswith(("店", "部")) else ("农民专业合作社" if "合作社" in name else "企业")
        w.writerow(
            (
                code,
                name,
                etype,
                rng.choice(_INDUSTRIES),
                rng.choice(towns),
                f"北京市平谷区示例路{rng.randint(1, 999)}号",
                f"{rng.randint(1995, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "存续" if rng.random() < 0.9 else "注销",
                rng.choice(classes),
                rng.choice(_TAGS),
            )
        )
    return buf.getvalue().encode("utf-8")


def fresh_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    with Session(eng) as s:
        ensure_pinggu(s)
        s.commit()
    eng.dispose()
    return url


def _parsed_rows(data: bytes) -> list[tuple]:
    """The storage tuples the importer would write (for the floor measurement)."""
    town = {name: code for code, name in reference.TOWNS}
    now = utcnow().replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    next(reader)
    return [(r[0], r[1], r[2], r[3], town[r[4]], r[5], r[6], r[7], r[8], r[9], now) for r in reader]


def _import_once(tmp: Path, name: str, data: bytes, n: int):
    """One import of `data` into a fresh database: (engine, wall, CPU, loads before/after)."""
    from scheduler.library.import_service import import_file

    url = fresh_db(tmp / name)
    eng = make_engine(url)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    rep = import_file(eng, "enterprises", "enterprises.csv", data)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert rep.inserted == n and not rep.errors, rep.summary()
    return url, eng, wall, cpu, (load0, os.getloadavg()[0])


def run(n: int, repeat: int = 1, peer: bool = True) -> list[dict]:
    from scheduler.library.import_service import import_file
    from scheduler.library.browse import browse_enterprises

    out: list[dict] = []
    nan = float("nan")
    with tempfile.TemporaryDirectory(prefix="dsr-bench-") as tmp:
        tmp = Path(tmp)
        data = make_csv(n)
        (tmp / "enterprises.csv").write_bytes(data)

        # this: the importer, end to end (each run into a fresh database)
        runs = []
        for k in range(repeat):
            url, eng, wall, cpu, loads = _import_once(tmp, f"this{k}.db", data, n)
            print(f"  import run {k + 1}: wall {wall:.2f} s, CPU {cpu:.2f} s, load {loads[0]:.1f} -> {loads[1]:.1f}", flush=True)
            runs.append((wall, cpu))
            if k + 1 < repeat:
                eng.dispose()
                for f in tmp.glob(f"this{k}.db*"):
                    f.unlink()
        t_this = statistics.median(w for w, _c in runs)
        c_this = statistics.median(c for _w, c in runs)

        t_peer = c_peer = nan
        if peer:
            # peer: raw executemany of already-parsed rows into the same schema
            rows = _parsed_rows(data)
            peer_url = fresh_db(tmp / "peer.db")
            con = sqlite3.connect(peer_url.removeprefix("sqlite:///"))
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            cols = "uscc, name, entity_type, industry_code, town_code, address, registered_on, status, risk_class, tags, updated_at"
            t0, c0 = time.perf_counter(), time.process_time()
            with con:
                con.executemany(f"INSERT INTO enterprise ({cols}) VALUES ({', '.join('?' * 11)})", rows)
            t_peer, c_peer = time.perf_counter() - t0, time.process_time() - c0
            con.close()
            del rows
        what = f"import {n:,} enterprise rows" + (f", median of {repeat}" if repeat > 1 else "")
        out.append({"figure": f"{what}, wall (s)", "this": t_this, "peer": t_peer, "ratio": t_this / t_peer})
        # CPU time of this process: the figure that survives a busy shared machine
        out.append({"figure": f"{what}, CPU (s)", "this": c_this, "peer": c_peer, "ratio": c_this / c_peer})

        if peer:
            # re-import of the same file: every row unchanged (load + diff)
            t0, c0 = time.perf_counter(), time.process_time()
            rep2 = import_file(eng, "enterprises", "enterprises.csv", data)
            t_re, c_re = time.perf_counter() - t0, time.process_time() - c0
            assert rep2.unchanged == n, rep2.summary()
            out.append({"figure": f"re-import {n:,} unchanged rows, wall (s)", "this": t_re, "peer": nan, "ratio": nan})
            out.append({"figure": f"re-import {n:,} unchanged rows, CPU (s)", "this": c_re, "peer": nan, "ratio": nan})

        # registry search page: name substring + town, first page of 50 + total
        town_code = reference.TOWNS[0][0]
        q = "鑫源"
        browse_enterprises(eng, q=q, town_code=town_code)  # warm the page cache, as a live UI would be
        t0 = time.perf_counter()
        found = browse_enterprises(eng, q=q, town_code=town_code, page=1, page_size=50)
        page, total = found.rows, found.total
        t_search = time.perf_counter() - t0
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        t0 = time.perf_counter()
        where = "WHERE (e.name LIKE ? OR e.address LIKE ? OR e.uscc LIKE ?) AND e.town_code = ?"
        args = (f"%{q}%", f"%{q}%", f"{q}%", town_code)
        con.execute(
            f"SELECT e.*, t.name FROM enterprise e JOIN town t ON t.code = e.town_code {where} ORDER BY e.uscc LIMIT 50",
            args,
        ).fetchall()
        peer_total = con.execute(f"SELECT count(*) FROM enterprise e {where}", args).fetchone()[0]
        t_search_peer = time.perf_counter() - t0
        con.close()
        assert peer_total == total and len(page) == min(50, total)
        out.append(
            {
                "figure": f"registry search page ({total:,} matches of {n:,}) (s)",
                "this": t_search,
                "peer": t_search_peer,
                "ratio": t_search / t_search_peer,
            }
        )
        eng.dispose()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Import benchmark: dsr import vs raw sqlite3.executemany")
    ap.add_argument("n", nargs="?", type=int, default=1_000_000, help="rows (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=1, help="import runs, each into a fresh database (median reported)")
    ap.add_argument("--no-peer", action="store_true", help="skip the executemany floor and the re-import")
    args = ap.parse_args()
    n = args.n
    print(f"dsr import bench, N={n:,}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    rows = run(n, max(1, args.repeat), not args.no_peer)
    print(f"(load average at the end {os.getloadavg()[0]:.1f})")
    w = max(48, *(len(r["figure"]) for r in rows))
    print(f"{'figure':<{w}} {'this':>9} {'peer':>9} {'ratio':>7}")
    for r in rows:
        print(f"{r['figure']:<{w}} {r['this']:>9.3f} {r['peer']:>9.3f} {r['ratio']:>7.2f}")
