"""Plan rules: caps, floors, classes, team size — each violation named."""

from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from scheduler.plans import rules
from scheduler.plans.rules import ItemRule, PlanRules

GS = ItemRule("GS-01", "企业公示信息检查", "general", "SCJGJ", ratio_cap="0.05", ratio_floor="0.03")
AD = ItemRule("GG-01", "广告发布行为检查", "general", "SCJGJ", ratio_cap="0.04")
SP = ItemRule("SP-01", "食品生产许可条件检查", "key", "SCJGJ")
CLASSES = ("A", "B", "C", "D")


def plan(items=(GS,), **kw):
    base = dict(code="P1", items=tuple(items), risk_classes=CLASSES,
                ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.05"})
    base.update(kw)
    return PlanRules(**base)


def test_valid_plan_has_no_violation():
    assert rules.check_plan(plan()) == []


def test_general_ratio_above_cap_is_refused_with_item_and_numbers():
    errs = rules.check_plan(plan(ratios={"A": "0.03", "B": "0.04", "C": "0.05", "D": "0.5"}))
    assert any("D" in e and "50%" in e and "5%" in e and "企业公示信息检查" in e and "上限" in e for e in errs)


def test_general_ratio_under_floor_is_refused():
    errs = rules.check_plan(plan(ratios={"A": "0.01", "B": "0.04", "C": "0.05", "D": "0.05"}))
    assert any("A" in e and "下限" in e and "3%" in e for e in errs)


def test_tightest_cap_of_several_general_items_applies():
    errs = rules.check_plan(plan(items=(GS, AD)))
    assert any("C" in e and "广告发布行为检查" in e for e in errs)


def test_key_items_have_no_upper_limit():
    assert rules.check_plan(plan(items=(SP,), ratios={"A": "0.1", "B": "0.3", "C": "1", "D": "1.000000"})) == []


def test_key_item_with_a_cap_is_an_error():
    bad = ItemRule("SP-02", "x", "key", "SCJGJ", ratio_cap="0.5")
    assert any("不应设置" in e for e in rules.check_plan(plan(items=(bad,), ratios={c: "0.1" for c in CLASSES})))


def test_general_item_without_cap_is_an_error():
    bad = ItemRule("G-02", "x", "general", "SCJGJ")
    assert any("未设置抽查比例上限" in e for e in rules.check_plan(plan(items=(bad,))))


def test_no_class_is_exempt_by_default():
    errs = rules.check_plan(plan(ratios={"A": "0.03", "B": "0.04", "C": "0.05"}))
    assert errs == ["风险分类 D 未设置抽查比例或抽查数量（任何分类默认均不豁免）"]


def test_five_class_scheme():
    p = plan(items=(SP,), risk_classes=("A", "B", "C", "D", "E"), ratios={c: "0.1" for c in "ABCD"}, counts={"E": 5})
    assert rules.check_plan(p) == []


@pytest.mark.parametrize("bad", ["0.1234567", "1.5", "-0.1", "5%", "0,05", ".5", "1e-2", ""])
def test_bad_ratio_strings(bad):
    errs = rules.check_plan(plan(items=(SP,), ratios={"A": bad, "B": "0.1", "C": "0.1", "D": "0.1"}))
    assert any("格式错误" in e for e in errs)


def test_team_of_one_is_refused():
    assert any("不得少于 2 人" in e for e in rules.check_plan(plan(team_size=1)))


def test_counts_checked_against_cap_once_the_frame_is_known():
    p = plan(ratios={"A": "0.03", "B": "0.04", "C": "0.05"}, counts={"D": 10})
    assert rules.check_plan(p) == []
    assert rules.check_stratum_sizes(p, {"D": (1000, 10)}) == ["分层 D：抽查数量 10/1000（1%）低于事项“企业公示信息检查”的比例下限 3%"]
    assert rules.check_stratum_sizes(p, {"D": (100, 10)}) and "上限" in rules.check_stratum_sizes(p, {"D": (100, 10)})[0]
    assert rules.check_stratum_sizes(p, {"D": (250, 10)}) == []


@given(st.integers(1, 6).flatmap(lambda d: st.tuples(st.just(d), st.integers(0, 10**d))))
def test_parse_ratio_is_exact(case):
    places, n = case
    text = f"{n // 10**places}.{n % 10**places:0{places}d}"
    assert rules.parse_ratio(text) == Fraction(n, 10**places)


# --- a plan's defaults, defined once (rules.DEFAULTS) ------------------------------------------


def _defaults_of(cls) -> dict:
    """The dataclass or model fields of `cls` that have a PlanDefaults counterpart, with their defaults."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(rules.PlanDefaults)}
    if dataclasses.is_dataclass(cls):
        return {f.name: f.default for f in dataclasses.fields(cls) if f.name in names}
    return {k: f.default for k, f in cls.model_fields.items() if k in names}


def test_every_holder_of_a_plan_default_agrees_with_rules_defaults():
    import dataclasses

    from db.models import Plan
    from scheduler.demo.data import DemoPlan
    from scheduler.plans.service import PlanInput

    expected = dataclasses.asdict(rules.DEFAULTS)
    for cls in (Plan, PlanInput, PlanRules, DemoPlan):
        got = _defaults_of(cls)
        assert got and got == {k: expected[k] for k in got}, cls.__name__
    # db/models.py cannot import scheduler: its literals are the ones to watch.
    assert set(_defaults_of(Plan)) == set(expected) - {"general_per_year", "key_per_year"}
    freq = rules.Frequency.from_json(None)  # a plan's stored frequency "{}"
    assert (freq.general_per_year, freq.key_per_year) == (expected["general_per_year"], expected["key_per_year"])
    assert freq == rules.Frequency() == plan().frequency
    assert rules.DEFAULTS.team_size >= rules.MIN_TEAM_SIZE


def test_the_engines_own_defaults_match_a_plans():
    """DSR-1's draw and matching take their parameters from the plan; called directly (benchmarks,
    the verifier, tests) with their own defaults, they must draw what a default plan draws."""
    from scheduler.draw import fast as draw
    from scheduler.matching.fast import MatchPolicy

    d = rules.DEFAULTS
    assert draw.DEFAULT_RESERVE_RATIO == d.reserve_ratio
    m = MatchPolicy()
    assert (m.team_size, m.policy, m.cap, m.expert_cap) == (d.team_size, d.matching_policy, d.workload_cap, d.expert_cap)


def test_an_empty_schedule_is_the_default_one_at_nine():
    from scheduler.plans import schedules

    assert rules.DEFAULTS.schedule == ""
    assert schedules.parse(rules.DEFAULTS.schedule) == schedules.parse(schedules.DEFAULT_SCHEDULE)
    assert schedules.parse("").describe() == "每月第一个工作日 09:00"
    assert schedules.parse("first_working_day").text == "first_working_day 09:00"
