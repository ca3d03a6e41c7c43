"""The pure lifecycle rules: task states from item results, categories, who may do what."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.results import lifecycle as lc
from scheduler.results.lifecycle import Refused, Who

CATS = {c.code: c for c in lc.NATIONAL_CATEGORIES}
RESULT = st.sampled_from(lc.RESULT_STATES)


def test_national_list_has_the_twelve_categories_in_order():
    assert [c.name for c in lc.NATIONAL_CATEGORIES][:2] == ["未发现问题", "未按规定公示应当公示的信息"]
    assert len(lc.NATIONAL_CATEGORIES) == 12 and len({c.name for c in lc.NATIONAL_CATEGORIES}) == 12
    assert CATS["08"].name == "发现问题待后续处理" and CATS["08"].opens_follow_up


@given(st.sets(st.sampled_from(sorted(CATS)), min_size=1))
def test_no_problem_never_combines_with_a_problem(codes):
    bad = any(CATS[c].no_problem for c in codes) and any(CATS[c].problem for c in codes)
    if bad:
        with pytest.raises(Refused, match="不能与发现问题的类别"):
            lc.resolve_categories(codes, CATS)
    else:
        got = lc.resolve_categories(codes, CATS)
        assert {c.code for c in got} == set(codes)
        assert [c.sort_order for c in got] == sorted(c.sort_order for c in got)


def test_categories_by_name_unknown_empty_inactive():
    assert [c.code for c in lc.resolve_categories(["发现问题待后续处理", "02"], CATS)] == ["02", "08"]
    with pytest.raises(Refused, match="未知"):
        lc.resolve_categories(["不存在的类别"], CATS)
    with pytest.raises(Refused, match="至少选择"):
        lc.resolve_categories(["", " "], CATS)
    off = dict(CATS, **{"12": lc.Category("12", "其他", active=False)})
    with pytest.raises(Refused, match="已停用"):
        lc.resolve_categories(["12"], off)


def test_follow_up_action_is_the_strongest_asked_for():
    assert lc.follow_up_action_for([CATS["01"]]) is None
    assert lc.follow_up_action_for([CATS["06"], CATS["10"]]) is None
    assert lc.follow_up_action_for([CATS["07"]]) == "责令改正"
    assert lc.follow_up_action_for([CATS["07"], CATS["03"]]) == "立案查处"


@given(st.lists(RESULT, min_size=1, max_size=6), st.sampled_from(["assigned", "inspecting", "completed", "reviewed"]))
def test_task_status_follows_results(states, current):
    got = lc.task_status_for(current, states)
    if all(s == lc.PUBLISHED for s in states):
        assert got == "published"
    elif all(s in (lc.APPROVED, lc.PUBLISHED) for s in states):
        assert got == "reviewed"
    elif lc.NOT_ENTERED not in states:
        assert got == "completed"
    elif any(s != lc.NOT_ENTERED for s in states):
        assert got == "inspecting"
    assert got in lc.TASK_STATES


def test_side_states_do_not_follow_results():
    for side in ("cannot_inspect", "replaced", "voided", "reserve", "drawn"):
        assert lc.task_status_for(side, [lc.PUBLISHED]) == side


def test_illegal_moves_are_refused_in_chinese():
    lc.check_task_move("drawn", "assigned")
    lc.check_task_move("assigned", "inspecting")
    for src, dst in [("published", "completed"), ("replaced", "assigned"), ("cannot_inspect", "inspecting"),
                     ("assigned", "published"), ("completed", "cannot_inspect")]:
        with pytest.raises(Refused, match="任务状态不能从"):
            lc.check_task_move(src, dst)
    with pytest.raises(Refused, match="检查结果状态不能从“已公示”变为“待审核”"):
        lc.check_result_move(lc.PUBLISHED, lc.PENDING)
    with pytest.raises(Refused):
        lc.check_result_move(lc.NOT_ENTERED, lc.APPROVED)
    with pytest.raises(Refused):
        lc.check_result_move(lc.RETURNED, lc.PUBLISHED)


def test_who_may_enter():
    team = {"SCJGJ-0001": 1, "SCJGJ-0002": 1, "WJW-0003": 12}
    lc.may_enter(Who("SCJGJ-0001", "inspector"), team, 1)
    lc.may_enter(Who("WJW-0003", "inspector"), team, 12)
    with pytest.raises(Refused, match="不是本任务检查组成员"):
        lc.may_enter(Who("SCJGJ-0009", "inspector"), team, 1)
    with pytest.raises(Refused, match="谁检查、谁录入"):
        lc.may_enter(Who("WJW-0003", "inspector"), team, 1)
    with pytest.raises(Refused, match="只有检查组"):
        lc.may_enter(Who("SCJGJ-0001", "reviewer", 1), team, 1)
    # No member of the item's department on the team: any member records it.
    lc.may_enter(Who("WJW-0003", "inspector"), team, 99)


def test_who_may_review_and_publish():
    lc.may_review(Who("审核甲", "reviewer", 1), 1, "SCJGJ-0001")
    for who, msg in [(Who("审核乙", "reviewer", 2), "本部门"), (Who("SCJGJ-0001", "inspector", 1), "审核人员"),
                     (Who("X", "admin"), "审核人员")]:
        with pytest.raises(Refused, match=msg):
            lc.may_review(who, 1, "SCJGJ-0001")
    with pytest.raises(Refused, match="自己录入"):
        lc.may_review(Who("甲", "reviewer", 1), 1, "甲")
    lc.may_publish(Who("审核甲", "reviewer", 1), 1)
    lc.may_publish(Who("计划甲", "planner", 1), 1)
    lc.may_publish(Who("管理员", "admin"), 1)
    with pytest.raises(Refused, match="本部门"):
        lc.may_publish(Who("审核乙", "reviewer", 2), 1)
    with pytest.raises(Refused):
        lc.may_publish(Who("SCJGJ-0001", "inspector", 1), 1)
    with pytest.raises(Refused, match="更正理由"):
        lc.may_correct(Who("审核甲", "reviewer", 1), 1, "  ")


def test_check_type_labels():
    assert lc.check_type("random", "random", 1) == "双随机抽查"
    assert lc.check_type("random", "random", 2) == "联合抽查"
    assert lc.check_type("random", "special", 2) == "专项检查"
    assert lc.check_type("special", None, 1) == "专项检查"
    assert lc.check_type("case", None, 2) == "投诉举报（个案检查）"
