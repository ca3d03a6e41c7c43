"""The plan rules of the policy, in one place (pure; no DB).

- 一般检查事项 (general items): the sampling ratio may not exceed the item's
  cap, nor fall under its floor (e.g. 企业公示信息 ≥ 3%).
- 重点检查事项 (key items): no upper limit, up to 100%; with a high ratio the
  random order fixes the batch order (检查批次顺序), see DSR-1 step 5.
- 信用风险分类: every configured class needs a ratio or a count; no class is
  exempt by default.
- 抽查频次: an entity drawn for general items `general_per_year` times in a
  calendar year leaves later general-item frames that year; key items follow
  `key_per_year` (0 = no limit). Risk classes change the frequency: a class in
  `class_per_year` has its own yearly limit for each kind (e.g. A 1: a low-risk
  entity is in principle not checked twice a year; D 3: a high-risk one more
  often), and classes in `exempt_classes` are not limited at all.
- A team has at least two sworn inspectors (行政处罚法 art. 42).

Every rule returns a Chinese message naming the item, class and numbers, so a
planner knows what to change. `check_plan` runs when a plan is saved and again
when it is drawn; `check_stratum_sizes` adds the checks that need the frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping, Sequence

from scheduler.errors import DsrError

KEY = "key"
GENERAL = "general"
KIND_LABEL = {KEY: "重点检查事项", GENERAL: "一般检查事项"}
POLICIES = ("balanced", "uniform")
STRATA_BY = ("risk", "risk+town", "risk+industry")
PLAN_KINDS = ("random", "special")

_RATIO = re.compile(r"^(0(\.\d{1,6})?|1(\.0{1,6})?)$")

MIN_TEAM_SIZE = 2  # 行政处罚法 art. 42: at least two sworn inspectors per team


@dataclass(frozen=True)
class PlanDefaults:
    """What a plan gets for whatever the planner leaves unsaid, defined here once: PlanRules and
    Frequency below, the service's PlanInput, the plan page's new-plan form and the demo plans
    all read DEFAULTS. db/models.py may not import scheduler, so the Plan columns keep literals
    that tests/test_rules.py holds equal to these."""

    kind: str = "random"
    strata_by: str = "risk"
    batches: int = 1
    reserve_ratio: str = "0.1"
    team_size: int = MIN_TEAM_SIZE
    matching_policy: str = "balanced"
    workload_cap: int = 20  # tasks per inspector in one period
    expert_cap: int = 20  # tasks per expert in one period
    general_per_year: int = 1  # 抽查频次 of general items
    key_per_year: int = 0  # of key items; 0 = no limit
    schedule: str = ""  # empty: plans/schedules.py DEFAULT_SCHEDULE, 09:00 on the month's first working day
    require_public_seed: bool = False
    merge_visits: bool = True


DEFAULTS = PlanDefaults()


class PlanRuleError(DsrError, ValueError):
    """A plan that breaks the rules; `messages` lists every violation in Chinese."""

    code = "plan.rule_violated"

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("；".join(messages))
        self.messages = list(messages)


def parse_ratio(value: str) -> Fraction:
    """A ratio is a decimal string 0..1 with at most 6 decimals; exact, never a float."""
    if not isinstance(value, str) or not _RATIO.match(value):
        raise ValueError(f"抽查比例“{value}”格式错误：应为 0 至 1 之间、最多 6 位小数的小数，如 0.03")
    return Fraction(value)


def percent(value: str | Fraction) -> str:
    f = Fraction(value) if isinstance(value, str) else value
    return f"{float(f * 100):g}%"


@dataclass(frozen=True)
class ItemRule:
    code: str
    name: str
    kind: str  # key / general
    department: str
    ratio_cap: str | None = None
    ratio_floor: str | None = None


@dataclass(frozen=True)
class Frequency:
    general_per_year: int = DEFAULTS.general_per_year
    key_per_year: int = DEFAULTS.key_per_year  # 0 = no limit
    exempt_classes: tuple[str, ...] = ()
    # (risk class, yearly limit for each kind; 0 = no limit), sorted: hashable like the rest
    class_per_year: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping | None) -> "Frequency":
        data = data or {}
        return cls(
            general_per_year=int(data.get("general_per_year", DEFAULTS.general_per_year)),
            key_per_year=int(data.get("key_per_year", DEFAULTS.key_per_year)),
            exempt_classes=tuple(data.get("exempt_classes", ())),
            class_per_year=tuple(sorted((str(c), int(n)) for c, n in (data.get("class_per_year") or {}).items())),
        )

    def to_json(self) -> dict:
        out = {
            "general_per_year": self.general_per_year,
            "key_per_year": self.key_per_year,
            "exempt_classes": list(self.exempt_classes),
        }
        if self.class_per_year:
            out["class_per_year"] = dict(self.class_per_year)
        return out

    def limit(self, kind: str, risk_class: str) -> int:
        """How many checks of `kind` a year bar an entity of `risk_class` from later frames (0 = no limit)."""
        if risk_class in self.exempt_classes:
            return 0
        own = dict(self.class_per_year)
        if risk_class in own:
            return own[risk_class]
        return self.general_per_year if kind == GENERAL else self.key_per_year

    def limits(self, kind: str) -> tuple[int, dict[int, list[str]]]:
        """(the limit of classes not named, {limit: the named classes that have it})."""
        named: dict[int, list[str]] = {}
        for cls in sorted(set(self.exempt_classes) | {c for c, _ in self.class_per_year}):
            named.setdefault(self.limit(kind, cls), []).append(cls)
        return (self.general_per_year if kind == GENERAL else self.key_per_year), named


@dataclass(frozen=True)
class PlanRules:
    code: str
    items: tuple[ItemRule, ...]
    risk_classes: tuple[str, ...]
    ratios: Mapping[str, str] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    kind: str = DEFAULTS.kind
    strata_by: str = DEFAULTS.strata_by
    batches: int = DEFAULTS.batches
    reserve_ratio: str = DEFAULTS.reserve_ratio
    team_size: int = DEFAULTS.team_size
    matching_policy: str = DEFAULTS.matching_policy
    frequency: Frequency = Frequency()


def bounds(items: Sequence[ItemRule]) -> tuple[Fraction | None, Fraction | None, str, str]:
    """The tightest general-item cap and floor, with the items that set them."""
    cap = floor = None
    cap_item = floor_item = ""
    for it in items:
        if it.kind != GENERAL:
            continue
        if it.ratio_cap is not None:
            c = parse_ratio(it.ratio_cap)
            if cap is None or c < cap:
                cap, cap_item = c, it.name
        if it.ratio_floor is not None:
            f = parse_ratio(it.ratio_floor)
            if floor is None or f > floor:
                floor, floor_item = f, it.name
    return cap, floor, cap_item, floor_item


def check_plan(plan: PlanRules) -> list[str]:
    """Every violation of the plan rules, as Chinese messages (empty = valid)."""
    errs: list[str] = []
    if not plan.code or any(c in plan.code for c in ",|\n\r"):
        errs.append("计划编号不能为空，且不得含有逗号、竖线或换行")
    if plan.kind not in PLAN_KINDS:
        errs.append(f"计划类型“{plan.kind}”无效")
    if not plan.items:
        errs.append("计划至少应包含一个抽查事项")
    if plan.strata_by not in STRATA_BY:
        errs.append(f"分层方式“{plan.strata_by}”无效，应为 {' / '.join(STRATA_BY)}")
    if plan.batches < 1:
        errs.append("检查批次数应不少于 1")
    if plan.team_size < MIN_TEAM_SIZE:
        errs.append(f"检查组人数不得少于 {MIN_TEAM_SIZE} 人（行政处罚法：执法人员不得少于两人）")
    if plan.matching_policy not in POLICIES:
        errs.append(f"匹配策略“{plan.matching_policy}”无效，应为 balanced 或 uniform")
    try:
        parse_ratio(plan.reserve_ratio)
    except ValueError as e:
        errs.append(f"备选比例：{e}")
    for it in plan.items:
        if it.kind not in KIND_LABEL:
            errs.append(f"事项“{it.name}”的事项类别“{it.kind}”无效")
        elif it.kind == GENERAL and it.ratio_cap is None:
            errs.append(f"一般检查事项“{it.name}”未设置抽查比例上限")
        elif it.kind == KEY and it.ratio_cap is not None:
            errs.append(f"重点检查事项“{it.name}”不应设置抽查比例上限")
    try:
        cap, floor, cap_item, floor_item = bounds(plan.items)
    except ValueError as e:
        return errs + [str(e)]
    if cap is not None and floor is not None and floor > cap:
        errs.append(f"事项“{floor_item}”的比例下限 {percent(floor)} 高于事项“{cap_item}”的上限 {percent(cap)}，无法同时满足")
    for cls in plan.risk_classes:
        has_ratio, has_count = cls in plan.ratios, cls in plan.counts
        if not has_ratio and not has_count:
            errs.append(f"风险分类 {cls} 未设置抽查比例或抽查数量（任何分类默认均不豁免）")
            continue
        if has_ratio and has_count:
            errs.append(f"风险分类 {cls} 不能同时设置抽查比例和抽查数量")
            continue
        if has_count:
            n = plan.counts[cls]
            if not isinstance(n, int) or n < 0:
                errs.append(f"风险分类 {cls} 的抽查数量“{n}”应为非负整数")
            continue
        try:
            p = parse_ratio(plan.ratios[cls])
        except ValueError as e:
            errs.append(f"风险分类 {cls}：{e}")
            continue
        if cap is not None and p > cap:
            errs.append(
                f"风险分类 {cls} 的抽查比例 {percent(p)} 超过一般检查事项“{cap_item}”的比例上限 {percent(cap)}"
            )
        if floor is not None and p < floor:
            errs.append(
                f"风险分类 {cls} 的抽查比例 {percent(p)} 低于事项“{floor_item}”的比例下限 {percent(floor)}"
            )
    for cls in set(plan.ratios) | set(plan.counts):
        if cls not in plan.risk_classes:
            errs.append(f"风险分类 {cls} 不在当前风险分类方案（{'/'.join(plan.risk_classes)}）中")
    fr = plan.frequency
    if fr.general_per_year < 0 or fr.key_per_year < 0 or any(n < 0 for _, n in fr.class_per_year):
        errs.append("抽查频次不能为负数")
    for cls in sorted({c for c, _ in fr.class_per_year} | set(fr.exempt_classes)):
        if cls not in plan.risk_classes:
            errs.append(f"抽查频次中的风险分类 {cls} 不在当前风险分类方案（{'/'.join(plan.risk_classes)}）中")
    return errs


def ensure_valid(plan: PlanRules) -> None:
    errs = check_plan(plan)
    if errs:
        raise PlanRuleError(errs)


def check_stratum_sizes(plan: PlanRules, strata: Mapping[str, tuple[int, int]]) -> list[str]:
    """Checks that need the frame: a fixed count on a general-item plan may not
    exceed the cap (nor fall under the floor) as a share of its stratum.

    `strata` maps stratum label -> (size N, k to draw).
    """
    cap, floor, cap_item, floor_item = bounds(plan.items)
    errs = []
    for label, (n, k) in sorted(strata.items()):
        cls = label.split("/", 1)[0]
        if n == 0 or cls not in plan.counts:
            continue
        share = Fraction(k, n)
        if cap is not None and share > cap:
            errs.append(f"分层 {label}：抽查数量 {k}/{n}（{percent(share)}）超过事项“{cap_item}”的比例上限 {percent(cap)}")
        if floor is not None and share < floor:
            errs.append(f"分层 {label}：抽查数量 {k}/{n}（{percent(share)}）低于事项“{floor_item}”的比例下限 {percent(floor)}")
    return errs
