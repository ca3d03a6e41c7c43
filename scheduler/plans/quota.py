"""Annual quotas (年度抽查数量): the year is the unit of planning, drawing and capping (pure).

A plan belongs to a plan year (`Plan.year`). Its ratios and counts per risk class are annual
targets, shared by the periods its schedule draws in that year (`periods`):

- monthly schedules (the default ``first_working_day``, and cron): 12 periods ``YYYY-01`` …
  ``YYYY-12``; quarterly: 4 periods ``YYYY-Q1`` … ``YYYY-Q4``; yearly: the one period ``YYYY``;
  an explicit month list (``first_working_day_of_months 3,6,9,11``): those months, ``YYYY-03`` …;
  a one-off ``at`` schedule: the one period of its time.
- The annual quota of a stratum is fixed, exactly and in integers, from the stratum's size in
  the year's first frame (`base`: the frame of the plan's first draw of the year that is not
  voided): ``quota = ceil(base × ratio)``, or ``min(count, base)`` for a fixed count (the same
  rounding as DSR-1's k). Later frames reuse that base: an entity registered later in the year
  joins the later frames but does not raise the quota; one deregistered leaves the frames and
  does not lower it. A stratum absent from the first frame has quota 0 for the year.
- Allocation (published, deterministic): the draw of period number i (1-based) of n takes, per
  stratum, ``k = min(available, ceil(remaining ÷ (n − i + 1)))``, where
  ``remaining = max(0, quota − drawn before)`` and `available` is the stratum's size in this
  period's frame. The last period draws all that remains: the year's draws together select
  exactly the quota when the frames allow, and never more. A voided draw's selection does not
  count (`drawn before` counts live draws only).
- A general-item cap (一般检查事项的抽查比例上限) holds for the year: at every draw the
  year-to-date figure ``drawn before + k`` of a stratum may not exceed ``ceil(base × cap)``.

The database side (scheduler/draw/service.py) reads base and drawn-before figures and stores the
allocation with the draw; the certificate carries it (`annual_section`) and scheduler/verify.py
checks it across the year's packages (docs/draw-algorithm.md §6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping

from scheduler.errors import DsrError
from scheduler.plans import rules, schedules

RULE = "k = min(available, ceil(max(0, quota - drawn_before) / periods_left))"


class PeriodOutsidePlan(DsrError, ValueError):
    """A draw for a period that is not one of the plan's periods of its year."""

    code = "draw.period_outside_plan"


class AnnualCapExceeded(DsrError, ValueError):
    """A draw whose year-to-date figure would pass a general-item cap."""

    code = "draw.annual_cap_exceeded"


class FrameOutdated(DsrError, ValueError):
    """A frozen frame older than another draw of the plan's year: it does not leave out that draw's selection."""

    code = "draw.frame_outdated"


def periods(schedule_text: str | None, year: int | None) -> list[str]:
    """The periods a plan's schedule draws in `year`, in order; [] when the year or schedule is unknown."""
    if not year:
        return []
    try:
        sch = schedules.parse(schedule_text)
    except schedules.ScheduleError:
        return []
    if sch.quarterly:
        return [f"{year}-Q{q}" for q in range(1, 5)]
    if sch.yearly:
        return [f"{year:04d}"]
    if sch.kind == schedules.AT and sch.at is not None:
        p = schedules.period_of(sch, sch.at)
        return [p] if p.startswith(f"{year:04d}") else []
    return [f"{year}-{m:02d}" for m in sch.run_months]


def check_period(plan_code: str, year: int, plan_periods: list[str], period: str) -> int:
    """The number of periods left in the year, this one included; refuses a period outside the plan's."""
    if period not in plan_periods:
        shown = f"{plan_periods[0]} 至 {plan_periods[-1]}" if len(plan_periods) > 1 else "、".join(plan_periods) or "无"
        raise PeriodOutsidePlan(
            f"抽查期间 {period} 不在抽查计划 {plan_code} 的 {year} 年度抽查期间内（本计划的抽查期间：{shown}），拒绝抽取")
    return len(plan_periods) - plan_periods.index(period)


def ceil_ratio(n: int, ratio: str) -> int:
    """ceil(n × ratio), exactly (ratio a decimal string)."""
    p = rules.parse_ratio(ratio)
    return -((-n * p.numerator) // p.denominator)


def quota_of(base: int, ratio: str | None, count: int | None) -> int:
    """The annual quota of a stratum of `base` entities in the year's first frame."""
    if ratio is not None:
        return ceil_ratio(base, ratio)
    return min(int(count or 0), base)


def period_k(quota: int, drawn_before: int, periods_left: int, available: int) -> int:
    """This period's k (see the module's rule)."""
    if periods_left < 1:
        raise ValueError("periods_left must be at least 1")
    remaining = max(0, quota - drawn_before)
    return min(available, -(-remaining // periods_left))


@dataclass(frozen=True)
class StratumAllocation:
    stratum: str
    ratio: str | None
    count: int | None
    base: int
    quota: int
    drawn_before: int
    available: int
    k: int

    @property
    def remaining(self) -> int:
        return max(0, self.quota - self.drawn_before - self.k)


def rule_of(stratum: str, ratios: Mapping[str, str], counts: Mapping[str, int]) -> tuple[str | None, int | None]:
    """(ratio, count) of a stratum: those of its risk class (the label before '/')."""
    cls = stratum.split("/", 1)[0]
    if cls in counts:
        return None, int(counts[cls])
    if cls in ratios:
        return str(ratios[cls]), None
    raise rules.PlanRuleError([f"分层 {stratum} 的风险分类 {cls} 未设置抽查比例或数量"])


def allocate(ratios: Mapping[str, str], counts: Mapping[str, int], base: Mapping[str, int],
             drawn_before: Mapping[str, int], sizes: Mapping[str, int], periods_left: int) -> list[StratumAllocation]:
    """Every stratum's allocation for one period, by stratum label: those of the base and those of this frame."""
    out = []
    for st in sorted(set(base) | set(sizes)):
        ratio, count = rule_of(st, ratios, counts)
        b = int(base.get(st, 0))
        q = quota_of(b, ratio, count)
        before = int(drawn_before.get(st, 0))
        avail = int(sizes.get(st, 0))
        out.append(StratumAllocation(st, ratio, count, b, q, before, avail, period_k(q, before, periods_left, avail)))
    return out


def cap_violations(plan_code: str, items: Iterable[rules.ItemRule], allocs: list[StratumAllocation]) -> list[str]:
    """The strata whose annual quota, or year-to-date figure (drawn before + k), would pass the plan's
    general-item cap (``ceil(base × cap)``), and the fixed counts whose annual share of the base falls
    under the items' floor."""
    cap, floor, cap_item, floor_item = rules.bounds(list(items))
    errs = []
    for a in allocs:
        if cap is not None:
            limit = -((-a.base * cap.numerator) // cap.denominator)
            if a.quota > limit or a.drawn_before + a.k > limit:
                errs.append(
                    f"抽查计划 {plan_code} 分层 {a.stratum}：年度抽查数量 {a.quota}，本年度已抽取 {a.drawn_before}，"
                    f"本期拟抽取 {a.k}，将超过一般检查事项“{cap_item}”的年度比例上限 {rules.percent(cap)}"
                    f"（基数 {a.base}，全年至多 {limit}），拒绝抽取")
        if floor is not None and a.count is not None and a.base and Fraction(a.quota, a.base) < floor:
            errs.append(f"抽查计划 {plan_code} 分层 {a.stratum}：年度抽查数量 {a.quota}/{a.base}"
                        f"（{rules.percent(Fraction(a.quota, a.base))}）低于事项“{floor_item}”的比例下限 {rules.percent(floor)}，拒绝抽取")
    return errs


def selection_sha256(entity_ids: Iterable[str]) -> str:
    """SHA-256 of a draw's selection: the selected entity ids sorted, one per line, each ending in a newline."""
    return hashlib.sha256("".join(f"{e}\n" for e in sorted(entity_ids)).encode("utf-8")).hexdigest()


def annual_section(year: int, plan_periods: list[str], period: str, allocs: list[StratumAllocation],
                   earlier: list[dict]) -> dict:
    """The certificate's auditor `annual` section (docs/draw-algorithm.md §6)."""
    strata = []
    for a in allocs:
        row: dict = {"stratum": a.stratum}
        if a.ratio is not None:
            row["ratio"] = a.ratio
        else:
            row["count"] = a.count
        row.update({"base": a.base, "quota": a.quota, "drawn_before": a.drawn_before, "available": a.available,
                    "k": a.k})
        strata.append(row)
    return {
        "year": year, "periods": list(plan_periods), "period": period,
        "periods_left": len(plan_periods) - plan_periods.index(period),
        "rule": RULE,
        "strata": strata,
        "quota": sum(a.quota for a in allocs), "drawn_before": sum(a.drawn_before for a in allocs),
        "k": sum(a.k for a in allocs),
        "earlier_draws": list(earlier),
    }


def year_figures(ratios: Mapping[str, str], counts: Mapping[str, int], base: Mapping[str, int],
                 drawn: Mapping[str, int]) -> list[dict]:
    """`dsr plans --json`'s quota rows: per stratum of the base, its ratio or count, base, quota, drawn, remaining."""
    out = []
    for st in sorted(set(base) | set(drawn)):
        try:
            ratio, count = rule_of(st, ratios, counts)
        except rules.PlanRuleError:
            continue
        q = quota_of(int(base.get(st, 0)), ratio, count)
        row: dict = {"stratum": st}
        if ratio is not None:
            row["ratio"] = ratio
        else:
            row["count"] = count
        d = int(drawn.get(st, 0))
        row.update({"base": int(base.get(st, 0)), "quota": q, "drawn": d, "remaining": max(0, q - d)})
        out.append(row)
    return out


def share(numerator: int, denominator: int) -> Fraction:
    return Fraction(numerator, denominator) if denominator else Fraction(0)
