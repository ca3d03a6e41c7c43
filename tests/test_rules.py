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
