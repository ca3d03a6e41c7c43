"""The merge rule of scheduler/visits/rules.py: one door, many checks across plans."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.visits import rules as v


def ref(task_id, entity, plan, period="2026-12", at="2026-12-01T09:00:00", mergeable=True):
    return v.TaskRef(task_id, entity, plan, period, at, mergeable)


def test_window_of_month_and_quarter():
    assert v.window_of("2026-12") == "2026-12"
    assert v.window_of("2026-12", "quarter") == "2026-Q4"
    assert v.window_of("2026-01", "quarter") == "2026-Q1"
    assert v.window_of("2026-Q4", "month") == "2026-Q4"  # coarser period: its own window
    assert v.window_of("2026", "quarter") == "2026"
    with pytest.raises(v.WindowError, match="抽查期间"):
        v.window_of("2026-13")
    with pytest.raises(v.WindowError, match="协调周期设置"):
        v.window_of("2026-12", "week")


def test_window_months():
    assert v.window_months("2026-Q2") == ("2026-04", "2026-06")
    assert v.window_months("2026") == ("2026-01", "2026-12")
    assert v.window_months("2026-07") == ("2026-07", "2026-07")


def test_same_entity_same_month_is_one_visit_led_by_the_earliest_draw():
    tasks = [
        ref(10, "E1", "FOOD", at="2026-12-03T10:00:00"),
        ref(20, "E1", "SAFETY", at="2026-12-01T10:00:00"),
        ref(30, "E2", "FOOD", at="2026-12-03T10:00:00"),
    ]
    visits = v.merge(tasks)
    assert [(x.entity_id, x.lead_task_id, x.task_ids, x.plan_codes) for x in visits] == [
        ("E1", 20, (20, 10), ("SAFETY", "FOOD")),
        ("E2", 30, (30,), ("FOOD",)),
    ]
    fig = v.saved_figures(visits)
    assert (fig.tasks, fig.visits, fig.saved) == (3, 2, 1)


def test_different_months_stay_apart_under_month_and_merge_under_quarter():
    tasks = [ref(1, "E1", "A", "2026-10"), ref(2, "E1", "B", "2026-11")]
    assert len(v.merge(tasks, "month")) == 2
    q = v.merge(tasks, "quarter")
    assert len(q) == 1 and q[0].window == "2026-Q4" and q[0].task_ids == (1, 2)
    seps = v.separate_visits(v.merge(tasks, "month"))
    assert [(s.entity_id, s.visits, s.reason) for s in seps] == [("E1", 2, "different_windows")]
    assert seps[0].reason_label == "任务不在同一协调周期内"


def test_a_plan_marked_not_mergeable_keeps_its_own_visit():
    tasks = [ref(1, "E1", "A"), ref(2, "E1", "URGENT", mergeable=False), ref(3, "E1", "B")]
    visits = v.merge(tasks)
    assert sorted(x.task_ids for x in visits) == [(1, 3), (2,)]
    seps = v.separate_visits(visits)
    assert [(s.visits, s.reason) for s in seps] == [(2, "not_mergeable")]


def test_ties_on_draw_time_break_by_plan_code_then_task_id():
    tasks = [ref(5, "E1", "B"), ref(7, "E1", "A"), ref(6, "E1", "A", period="2026-12")]
    (visit,) = v.merge(tasks)
    assert visit.task_ids == (6, 7, 5) and visit.lead_task_id == 6


tasks_st = st.lists(
    st.builds(
        v.TaskRef,
        task_id=st.integers(1, 10_000),
        entity_id=st.sampled_from(["E1", "E2", "E3", "E4"]),
        plan_code=st.sampled_from(["A", "B", "C"]),
        period=st.sampled_from(["2026-10", "2026-11", "2026-12", "2026-Q4"]),
        drawn_at=st.sampled_from(["2026-10-01T00:00:00", "2026-11-01T00:00:00", "2026-12-01T00:00:00"]),
        mergeable=st.booleans(),
    ),
    unique_by=lambda t: t.task_id,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(tasks_st, st.sampled_from(["month", "quarter"]))
def test_merge_invariants(tasks, window):
    visits = v.merge(tasks, window)
    # every task in exactly one visit
    placed = [t for x in visits for t in x.task_ids]
    assert sorted(placed) == sorted(t.task_id for t in tasks)
    by_id = {t.task_id: t for t in tasks}
    for x in visits:
        members = [by_id[i] for i in x.task_ids]
        assert {m.entity_id for m in members} == {x.entity_id}
        assert {v.window_of(m.period, window) for m in members} == {x.window}
        # the lead is the earliest draw and comes first
        assert x.lead_task_id == x.task_ids[0] == min(members, key=lambda m: m.order).task_id
        # a not-mergeable task is always alone
        assert len(members) == 1 or all(m.mergeable for m in members)
    # mergeable tasks of one entity and window share one visit
    keys = [(x.entity_id, x.window) for x in visits if x.merged or by_id[x.task_ids[0]].mergeable]
    assert len(keys) == len(set(keys))
    # the input order does not matter
    shuffled = list(tasks)
    random.Random(1).shuffle(shuffled)
    assert v.merge(shuffled, window) == visits
    assert v.saved_figures(visits).saved == len(tasks) - len(visits)


def test_periods_of_window():
    assert v.periods_of_window("2026-12") == ["2026-12"]
    assert v.periods_of_window("2026-Q4", "quarter") == ["2026-10", "2026-11", "2026-12", "2026-Q4"]
    assert v.periods_of_window("2026-Q4", "month") == ["2026-Q4"]
    assert v.periods_of_window("2026", "quarter") == ["2026"]
    with pytest.raises(v.WindowError, match="按季度"):
        v.periods_of_window("2026-11", "quarter")
    with pytest.raises(v.WindowError, match="格式无效"):
        v.periods_of_window("2026-1")
    # every period of a window maps back to it
    for win, setting in (("2026-Q2", "quarter"), ("2026-05", "month"), ("2026", "month")):
        assert {v.window_of(p, setting) for p in v.periods_of_window(win, setting)} == {win}


def test_iso_utc_is_the_certificate_format():
    import datetime as dt

    t = dt.datetime(2026, 12, 1, 17, 0, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert v.iso_utc(t) == "2026-12-01T09:00:05.123456+00:00"
    assert v.iso_utc(t.astimezone(dt.timezone.utc).replace(tzinfo=None)) == "2026-12-01T09:00:05.123456+00:00"


def _as_draws(tasks):
    by_draw = {}
    for t in tasks:
        by_draw.setdefault((t.plan_code, t.period, t.drawn_at, t.mergeable), []).append(t)
    return [v.DrawTasks(code, period, at, m, [t.task_id for t in ts], [t.entity_id for t in ts])
            for (code, period, at, m), ts in by_draw.items()]


@settings(max_examples=300, deadline=None)
@given(tasks_st, st.sampled_from(["month", "quarter"]))
def test_group_draws_equals_merge(tasks, window):
    """The vectorised form the service uses gives exactly `merge`'s visits, in its order."""
    assert v.merge_draws(_as_draws(tasks), window) == v.merge(tasks, window)
    g = v.group_draws(_as_draws(tasks), window)
    assert len(g) == len(v.merge(tasks, window)) and g.task_ids.size == len(tasks)


def test_group_draws_on_non_ascii_ids_and_empty_input():
    tasks = [ref(1, "实体乙", "A"), ref(2, "实体甲", "B"), ref(3, "实体乙", "B", at="2026-11-30T00:00:00")]
    assert v.merge_draws(_as_draws(tasks)) == v.merge(tasks)
    assert v.merge_draws([]) == [] and len(v.group_draws([])) == 0


@settings(max_examples=100, deadline=None)
@given(tasks_st, st.sampled_from(["month", "quarter"]))
def test_group_columns_order_maps_back_to_the_input(tasks, window):
    import numpy as np

    keys = sorted({(t.drawn_at, t.plan_code, t.period, t.mergeable) for t in tasks})
    index = {k: i for i, k in enumerate(keys)}
    g = v.group_columns([t.task_id for t in tasks], [t.entity_id for t in tasks],
                        [index[(t.drawn_at, t.plan_code, t.period, t.mergeable)] for t in tasks],
                        [v.DrawKey(*k) for k in keys], window)
    assert g.visits() == v.merge(tasks, window)
    assert g.task_ids.tolist() == np.asarray([t.task_id for t in tasks], dtype=np.int64)[g.order].tolist()
