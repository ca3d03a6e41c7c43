"""The year's figures a draw needs (scheduler/plans/quota.py's rules, read from the database).

For a draw of (plan, period): the base (the stratum sizes of the year's first live draw of the
plan), what its earlier live draws of the year selected per stratum, and their digests. Read
with set-based queries (no certificate is loaded but that of a draw made before draws recorded
their year's figures). The allocation is stored with the draw (`Draw.annual`) and in its
certificate's `annual` section.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Mapping

from sqlalchemy import func, select
from sqlmodel import Session

from db.models import Draw, Task
from scheduler.plans import lifecycle, quota
from scheduler.plans.quota_rows import first_draw_base
from scheduler.plans.service import LoadedPlan


@dataclass
class Annual:
    """One draw's share of the year: its strata's allocation and the certificate's section."""

    year: int
    periods: list[str]
    strata: list[quota.StratumAllocation]
    section: dict


def plan_year(lp: LoadedPlan) -> int:
    return lp.plan.year or lifecycle.year_of(lp.plan.code, lp.plan.name) or 0


def year_draws(s: Session, plan_id: int, year: int, exclude: int | None = None) -> list[tuple[int, str, str | None]]:
    """(id, period, annual) of the plan's live (drawn) draws of the year, in the order they were drawn."""
    q = (select(Draw.id, Draw.period, Draw.annual)
         .where(Draw.plan_id == plan_id, Draw.status == "drawn", Draw.period.like(f"{year}%")))
    if exclude is not None:
        q = q.where(Draw.id != exclude)
    return [tuple(r) for r in s.execute(q.order_by(Draw.drawn_at, Draw.id)).all()]


def drawn_per_stratum(s: Session, draw_ids: list[int]) -> dict[str, int]:
    """Entities selected by these draws, per stratum (each draw's k: reserves that took a place are not added)."""
    if not draw_ids:
        return {}
    rows = s.execute(select(Task.stratum, func.count()).where(Task.draw_id.in_(draw_ids), Task.rank.is_not(None),
                                                              Task.reserve_rank.is_(None))
                     .group_by(Task.stratum)).all()
    return {st: int(n) for st, n in rows}


def _digests(s: Session, draw_id: int, period: str, stored: str | None) -> dict:
    """An earlier draw's period and digests (certificate, selection) for the certificate's `earlier_draws`."""
    if stored:
        d = json.loads(stored)
        return {"period": period, "certificate_sha256": d["certificate_sha256"], "selection_sha256": d["selection_sha256"],
                "selected": d["selected"]}
    ids = list(s.execute(select(Task.uscc).where(Task.draw_id == draw_id, Task.rank.is_not(None),
                                                 Task.reserve_rank.is_(None))).scalars())
    cert = s.get(Draw, draw_id).certificate or ""
    return {"period": period, "certificate_sha256": hashlib.sha256(cert.encode("utf-8")).hexdigest(),
            "selection_sha256": quota.selection_sha256(ids), "selected": len(ids)}


def base_and_drawn(s: Session, plan_id: int, year: int, exclude: int | None = None
                   ) -> tuple[dict[str, int], dict[str, int], list[tuple[int, str, str | None]]]:
    """(base, drawn per stratum, the year's live draws) of a plan; base {} before its first draw of the year."""
    earlier = year_draws(s, plan_id, year, exclude)
    base = first_draw_base(s, earlier[0][0], earlier[0][2]) if earlier else {}
    return base, drawn_per_stratum(s, [e[0] for e in earlier]), earlier


def allocation(s: Session, lp: LoadedPlan, draw_id: int, period: str, sizes: Mapping[str, int]) -> Annual:
    """This draw's k per stratum by the year's allocation rule; refuses a draw that would pass a cap,
    and one whose frame was frozen before another draw of the plan's year (that frame did not leave
    out the other draw's selection)."""
    year = plan_year(lp)
    periods = quota.periods(lp.plan.schedule, year)
    left = quota.check_period(lp.plan.code, year, periods, period)
    base, drawn, earlier = base_and_drawn(s, lp.plan.id, year, exclude=draw_id)
    frozen_at = s.execute(select(Draw.frozen_at).where(Draw.id == draw_id)).scalar_one()
    later = s.execute(select(Draw.period).where(Draw.id.in_([e[0] for e in earlier]), Draw.drawn_at > frozen_at)
                      .order_by(Draw.drawn_at)).scalars().first() if earlier else None
    if later is not None:
        raise quota.FrameOutdated(
            f"抽查计划 {lp.plan.code} 的 {period} 名录冻结之后，本年度 {later} 期又完成了抽取，冻结的名录未排除该期入选对象；"
            f"请先作废本期冻结（dsr void {lp.plan.code} --period {period} --reason 理由）后重新冻结、抽取")
    if not earlier:
        base = dict(sizes)  # the year's first frame fixes the quotas
    strata = quota.allocate(lp.rules.ratios, lp.rules.counts, base, drawn, sizes, left)
    errs = quota.cap_violations(lp.plan.code, lp.rules.items, strata)
    if errs:
        raise quota.AnnualCapExceeded("；".join(errs))
    section = quota.annual_section(year, periods, period, strata, [_digests(s, *e) for e in earlier])
    return Annual(year, periods, strata, section)


def stored(a: Annual, selected: list[str], certificate_sha256: str) -> str:
    """What `Draw.annual` keeps: the section, and the draw's own digests for the later draws of the year."""
    return json.dumps({"section": a.section, "selection_sha256": quota.selection_sha256(selected),
                       "selected": len(selected), "certificate_sha256": certificate_sha256},
                      ensure_ascii=False, sort_keys=True)
