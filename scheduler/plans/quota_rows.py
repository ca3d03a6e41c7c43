"""The year's quota rows of plans (scheduler/plans/quota.py `year_figures`), read with a fixed number
of plain SELECTs over db/tables.py, however many plans: the listings and the draw read them alike."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Union

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from db import tables as t

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the services pass theirs; importing the ORM costs a listing ~0.04 s
from scheduler.plans import lifecycle, quota

Conn = Union[Connection, "Session"]


def year_quotas(conn: Conn, plan_ids: list[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """Per plan, its year's quota rows: the base from the year's first live draw, the drawn figures
    from one grouped count of the selected tasks. A plan not drawn yet this year has none (its quotas
    are fixed by its first frame)."""
    p, d, k = t.plan.c, t.draw.c, t.task.c
    pq = select(p.id, p.code, p.name, p.year, p.ratios, p.counts)
    if plan_ids is not None:
        pq = pq.where(p.id.in_(plan_ids))
    plans = {r[0]: r for r in conn.execute(pq).all()}
    year_of = {pid: (r[3] or lifecycle.year_of(r[1], r[2]) or 0) for pid, r in plans.items()}
    first: dict[int, tuple[int, str | None]] = {}
    for did, pid, period, annual in conn.execute(
            select(d.id, d.plan_id, d.period, d.annual).where(d.status == "drawn", d.plan_id.in_(list(plans)))
            .order_by(d.drawn_at, d.id)).all():
        if pid not in first and period.startswith(str(year_of[pid])):
            first[pid] = (did, annual)
    drawn: dict[int, dict[str, int]] = {}
    year = func.substr(d.period, 1, 4)
    for pid, y, stratum, n in conn.execute(
            select(d.plan_id, year, k.stratum, func.count()).select_from(t.task).join(t.draw, d.id == k.draw_id)
            .where(d.status == "drawn", d.plan_id.in_(list(first)), k.rank.is_not(None), k.reserve_rank.is_(None))
            .group_by(d.plan_id, year, k.stratum)).all():
        if y == str(year_of[pid]):
            drawn.setdefault(pid, {})[stratum] = int(n)
    out = {}
    for pid, (did, annual) in first.items():
        r = plans[pid]
        out[pid] = quota.year_figures(json.loads(r[4] or "{}"), json.loads(r[5] or "{}"), first_draw_base(conn, did, annual),
                                      drawn.get(pid, {}))
    return out


def first_draw_base(conn: Conn, draw_id: int, annual: str | None) -> dict[str, int]:
    """The stratum sizes of a year's first draw: its stored figures, else (older draws) its certificate's."""
    if annual:
        return {r["stratum"]: int(r["base"]) for r in json.loads(annual)["section"]["strata"]}
    cert = json.loads(conn.execute(select(t.draw.c.certificate).where(t.draw.c.id == draw_id)).scalar_one() or "{}")
    return {r["stratum"]: int(r["size"]) for r in cert.get("strata", [])}
