"""DSR-1 inside PostgreSQL, for large frames: the same certificate as scheduler.draw.fast.

Freeze: the frame rows go straight from the registry into `drawframe`
(INSERT ... SELECT, nothing crosses the wire), then stream out once, sorted
bytewise (COLLATE "C"), to compute both digests and the gzip archive.

Draw: PostgreSQL computes every ticket with its own sha256() and ranks each
stratum with a window. To avoid sorting the whole frame, each stratum is
first cut at a bound on the ticket's first 32 bits chosen so that, with
overwhelming probability, at least k + r candidates stay below it; the
count is checked, and a stratum that falls short is ranked again without the
bound. Either way the result is exact: every entity left out has a larger
ticket than every candidate kept.

`tests/test_draw_sql.py` checks the two paths give identical certificates on
a real PostgreSQL server.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import re

from sqlalchemy import insert, literal, select, text
from sqlmodel import Session

from db.models import DrawFrame
from scheduler.draw import fast as dsr1
from scheduler.draw.frame_service import frame_query
from scheduler.plans.service import LoadedPlan

_AFTER_TAB = re.compile(rb"\t[^\n]*")


def enabled(session: Session) -> bool:
    """DSR_DRAW_ENGINE: python (default) or sql (PostgreSQL only).

    The in-database path is opt-in: measured at 1M entities on the 2-core
    machine it was slower end to end than the Python engine (the INSERT of the
    frame rows with their key and foreign-key checks dominates), see
    docs/benchmarks.md."""
    mode = os.environ.get("DSR_DRAW_ENGINE", "python")
    if mode not in ("python", "sql"):
        raise RuntimeError(f"DSR_DRAW_ENGINE 应为 python 或 sql，实为“{mode}”")
    is_pg = session.get_bind().dialect.name == "postgresql"
    if mode == "sql" and not is_pg:
        raise RuntimeError("DSR_DRAW_ENGINE=sql 仅适用于 PostgreSQL")
    return mode == "sql"


def freeze_rows(session: Session, lp: LoadedPlan, period: str, draw_id: int) -> tuple[str, str, int, bytes, dict[str, int]]:
    """Copy the frame into drawframe; return (frame_sha256, public_frame_sha256, size, frame_gz, strata sizes)."""
    conn = session.connection()
    q = frame_query(lp, period).subquery()
    conn.execute(
        insert(DrawFrame).from_select(["draw_id", "entity_id", "stratum"], select(literal(draw_id), q.c[0], q.c[1]))
    )
    h, hp = hashlib.sha256(), hashlib.sha256()
    buf = io.BytesIO()
    n = 0
    carry = b""
    raw = conn.connection.driver_connection
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0) as gz, raw.cursor() as cur:
        sql = f'COPY (SELECT entity_id, stratum FROM drawframe WHERE draw_id = {int(draw_id)} ORDER BY entity_id COLLATE "C") TO STDOUT'
        with cur.copy(sql) as copy:
            for chunk in copy:
                data = carry + bytes(chunk)
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
                if b"," in data or b"|" in data or b"\\" in data:
                    raise dsr1.DrawError("对象标识或分层标签含有不允许的字符（逗号、竖线或反斜杠）")
                n += data.count(b"\n")
                line = data.replace(b"\t", b",")
                h.update(line)
                gz.write(line)
                hp.update(_AFTER_TAB.sub(b"", data))
    strata = dict(
        conn.execute(
            text("SELECT stratum, count(*) FROM drawframe WHERE draw_id = :d GROUP BY stratum ORDER BY stratum"),
            {"d": draw_id},
        ).all()
    )
    return h.hexdigest(), hp.hexdigest(), n, buf.getvalue(), {k: int(v) for k, v in strata.items()}


def _bound(m: int, n: int) -> int:
    """A bound on the ticket's first 32 bits that keeps >= m of n candidates with overwhelming probability."""
    if m == 0:
        return 0
    q = (m + 8 * math.sqrt(m) + 16) / n
    return 2**32 if q >= 1 else math.ceil(q * 2**32)


_RANK = """
WITH lim(stratum, m, bound) AS (SELECT * FROM unnest(CAST(:strata AS text[]), CAST(:ms AS int[]), CAST(:bounds AS bigint[]))),
t AS (
  SELECT f.stratum, f.entity_id, sha256(convert_to(:prefix || f.entity_id, 'UTF8')) AS tk
  FROM drawframe f WHERE f.draw_id = :d AND f.stratum = ANY(CAST(:strata AS text[]))
),
c AS (
  SELECT t.* FROM t JOIN lim ON lim.stratum = t.stratum
  WHERE (get_byte(t.tk, 0)::bigint * 16777216 + get_byte(t.tk, 1) * 65536 + get_byte(t.tk, 2) * 256
         + get_byte(t.tk, 3)) < lim.bound
),
r AS (
  SELECT c.stratum, c.entity_id, c.tk,
         row_number() OVER (PARTITION BY c.stratum ORDER BY c.tk, c.entity_id COLLATE "C") AS rn,
         count(*) OVER (PARTITION BY c.stratum) AS cnt
  FROM c
)
SELECT r.stratum, r.entity_id, encode(r.tk, 'hex'), r.rn, r.cnt FROM r JOIN lim ON lim.stratum = r.stratum
WHERE r.rn <= lim.m ORDER BY r.stratum, r.rn
"""


def _ranked(session: Session, draw_id: int, prefix: str, wanted: dict[str, int], sizes: dict[str, int],
            unbounded: bool) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    strata = [s for s, m in wanted.items() if m > 0]
    if not strata:
        return {}, set()
    bounds = [2**32 if unbounded else _bound(wanted[s], sizes[s]) for s in strata]
    rows = session.connection().execute(
        text(_RANK),
        {"strata": strata, "ms": [wanted[s] for s in strata], "bounds": bounds, "prefix": prefix, "d": draw_id},
    ).all()
    top: dict[str, list[tuple[str, str]]] = {s: [] for s in strata}
    counts: dict[str, int] = {s: 0 for s in strata}
    for stratum, entity_id, ticket, _rn, cnt in rows:
        top[stratum].append((ticket, entity_id))
        counts[stratum] = int(cnt)
    short = {s for s in strata if counts[s] < wanted[s]}
    return top, short


def run_draw(session: Session, draw_id: int, seed: str, plan_code: str, period: str, frame_sha256: str,
             public_frame_sha256: str, sizes: dict[str, int], rules: dict[str, dsr1.StratumRule], batches: int,
             reserve_ratio: str) -> dsr1.DrawResult:
    """DSR-1 on the rows of drawframe for `draw_id`, ranked by PostgreSQL."""
    dsr1.validate_seed(seed)
    prefix = f"DSR1|{seed}|{plan_code}|{period}|"
    labels = sorted(set(sizes) | set(rules))
    ks: dict[str, int] = {}
    rs: dict[str, int] = {}
    for lab in labels:
        if lab not in rules:
            raise dsr1.DrawError(f"分层“{lab}”没有抽查比例或数量")
        n = sizes.get(lab, 0)
        ks[lab] = dsr1.stratum_k(n, rules[lab].ratio, rules[lab].count)
        rs[lab] = dsr1.reserve_count(ks[lab], n - ks[lab], reserve_ratio)
    wanted = {lab: ks[lab] + rs[lab] for lab in labels}
    top, short = _ranked(session, draw_id, prefix, wanted, sizes, unbounded=False)
    if short:  # a bound cut too deep (vanishingly rare): rank those strata in full
        again, _ = _ranked(session, draw_id, prefix, {s: wanted[s] for s in short}, sizes, unbounded=True)
        top.update(again)
    strata_out, chosen, reserves = [], [], []
    for lab in labels:
        rows = top.get(lab, [])
        k, r = ks[lab], rs[lab]
        sel, res = rows[:k], rows[k : k + r]
        strata_out.append(dsr1.StratumResult(lab, sizes.get(lab, 0), rules[lab].ratio, rules[lab].count, k,
                                             sel[-1][0] if k else None, r))
        chosen += [(t, e, lab) for t, e in sel]
        reserves += [dsr1.Reserve(e, lab, j, t) for j, (t, e) in enumerate(res, start=1)]
    # Draw order: by ticket; bytewise id order breaks (astronomically unlikely) ties.
    chosen.sort(key=lambda x: (x[0], x[1].encode("utf-8")))
    total = len(chosen)
    selected = [dsr1.Selected(e, lab, i + 1, dsr1.batch_of(i, batches, total), t) for i, (t, e, lab) in enumerate(chosen)]
    return dsr1.DrawResult(frame_sha256=frame_sha256, public_frame_sha256=public_frame_sha256,
                           frame_size=sum(sizes.values()), strata=strata_out, selected=selected, reserves=reserves,
                           reserve_ratio=reserve_ratio, batches=batches)
