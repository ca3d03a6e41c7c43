"""From inspection to public record, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import (
    AuditEvent, CheckItem, Conflict, Department, Enterprise, FollowUp, Inspector, ItemResult, ResultCorrection, Task,
    TaskEvent, TaskItem, TeamMember,
)
from scheduler.calendar import service as calendar
from scheduler.draw import service as draws
from scheduler.results import service as rs
from scheduler.access.context import Actor
from scheduler.plans.service import PlanInput
from tests.factories import save_approved
from tests.factories import make_uscc, world

SEED = "31415926535897932384626433"
DAY = dt.date(2026, 11, 2)  # a Monday; 20 working days later is Monday 2026-11-30
PUBLIC = {"统一社会信用代码", "企业名称", "检查实施机关", "检查类型", "检查日期", "检查事项", "检查结果"}


class W:
    """The drawn world and the people who act in it."""

    def __init__(self, engine):
        self.engine = engine
        self.bid = world(engine, 400)
        save_approved(engine, PlanInput(code="PG-SP", name="餐饮食品安全联合抽查", lead_department="SCJGJ",
                                    item_codes=["SP-01", "WS-01"], ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "1"}))
        draws.execute(engine, "PG-SP", "2026-11", seed=SEED)
        calendar.seed_from_package(engine, [2026])
        with Session(engine) as s:
            self.dept = {d.code: d.id for d in s.execute(select(Department)).scalars()}
            n_depts = (select(TaskItem.task_id, func.count(func.distinct(CheckItem.department_id)).label("n"))
                       .join(CheckItem, CheckItem.id == TaskItem.item_id).group_by(TaskItem.task_id).subquery())
            assigned = s.execute(select(Task.id, n_depts.c.n).join(n_depts, n_depts.c.task_id == Task.id)
                                 .where(Task.status == "assigned").order_by(Task.id)).all()
            self.joint = [t for t, n in assigned if n == 2]
            self.single = [t for t, n in assigned if n == 1]
            self.team = {}
            for tid, iid, dept in s.execute(select(TeamMember.task_id, Inspector.inspector_id, TeamMember.department_id)
                                            .join(Inspector, Inspector.id == TeamMember.inspector_pk)
                                            .where(TeamMember.active.is_(True))):
                self.team.setdefault(tid, defaultdict(list))[dept].append(iid)
            self.all_inspectors = list(s.execute(select(Inspector.inspector_id).where(Inspector.active.is_(True))).scalars())
        assert self.joint and len(self.single) >= 3

    def inspector(self, task_id: int, dept: str = "SCJGJ") -> Actor:
        return Actor(self.team[task_id][self.dept[dept]][0], "inspector", self.bid)

    def outsider(self, task_id: int) -> Actor:
        on = {p for ps in self.team[task_id].values() for p in ps}
        return Actor(next(p for p in self.all_inspectors if p not in on and p.startswith("SCJGJ")), "inspector", self.bid)

    def reviewer(self, dept: str = "SCJGJ", name: str = "审核员") -> Actor:
        return Actor(f"{name}{dept}", "reviewer", self.bid, self.dept[dept])

    def planner(self, dept: str = "SCJGJ") -> Actor:
        return Actor(f"计划员{dept}", "planner", self.bid, self.dept[dept])

    def result(self, task_id: int, code: str) -> ItemResult:
        with Session(self.engine) as s:
            return s.execute(select(ItemResult).join(CheckItem, CheckItem.id == ItemResult.item_id)
                             .where(ItemResult.task_id == task_id, CheckItem.code == code)).scalar_one()

    def task(self, task_id: int) -> Task:
        with Session(self.engine) as s:
            return s.get(Task, task_id)

    def audit_count(self) -> int:
        with Session(self.engine) as s:
            return s.execute(select(func.count()).select_from(AuditEvent)).scalar_one()

    def item_of(self, task_id: int) -> str:
        with Session(self.engine) as s:
            return s.execute(select(CheckItem.code).join(TaskItem, TaskItem.item_id == CheckItem.id)
                             .where(TaskItem.task_id == task_id)).scalar_one()

    def through_review(self, task_id: int, cats=("未发现问题",), day: dt.date = DAY) -> ItemResult:
        code = self.item_of(task_id)
        dept = "WJW" if code == "WS-01" else "SCJGJ"
        r = rs.enter_result(self.engine, task_id, code, list(cats), self.inspector(task_id, dept), inspected_on=day)
        return rs.approve(self.engine, r.id, self.reviewer(dept))


@pytest.fixture
def w(engine):
    return W(engine)


def test_joint_task_each_department_enters_reviews_publishes_its_own(w):
    e, t = w.engine, w.joint[0]
    rs.enter_result(e, t, "SP-01", ["未发现问题"], w.inspector(t, "SCJGJ"), inspected_on=DAY)
    assert w.task(t).status == "inspecting" and w.task(t).completed_on is None
    rs.enter_result(e, t, "WS-01", ["01"], w.inspector(t, "WJW"), note="现场卫生良好", inspected_on=DAY)
    task = w.task(t)
    assert task.status == "completed" and task.completed_on == DAY
    assert task.deadline == dt.date(2026, 11, 30) == calendar.deadline(e, DAY, 20)

    sp, ws = w.result(t, "SP-01"), w.result(t, "WS-01")
    assert [r["result_id"] for r in rs.review_queue(e, w.dept["SCJGJ"]).rows] == [sp.id]
    assert [r["result_id"] for r in rs.review_queue(e, w.dept["WJW"]).rows] == [ws.id]
    rs.approve(e, sp.id, w.reviewer("SCJGJ"))
    assert w.task(t).status == "completed"
    q = rs.publication_queue(e, w.dept["SCJGJ"], dt.date(2026, 12, 1))
    assert [(r["task_id"], r["result_ids"], r["days_left"], r["overdue"]) for r in q] == [(t, [sp.id], -1, True)]
    assert rs.publication_queue(e, w.dept["WJW"], dt.date(2026, 12, 1)) == []

    published = rs.publish(e, t, w.reviewer("SCJGJ"), today=dt.date(2026, 11, 20))
    assert [r.id for r in published] == [sp.id]
    assert w.result(t, "WS-01").status == "待审核" and w.task(t).status == "completed"
    rs.approve(e, ws.id, w.reviewer("WJW"))
    assert w.task(t).status == "reviewed"
    rs.publish(e, t, w.planner("WJW"), today=dt.date(2026, 12, 3))
    task = w.task(t)
    assert task.status == "published" and task.published_on == dt.date(2026, 12, 3)

    with Session(e) as s:
        ev = [(x.from_status, x.to_status) for x in s.execute(
            select(TaskEvent).where(TaskEvent.task_id == t).order_by(TaskEvent.id)).scalars()]
        acts = [a for a, in s.execute(select(AuditEvent.action).where(AuditEvent.object == f"task:{t}")
                                      .order_by(AuditEvent.id))]
    assert ev[-4:] == [("assigned", "inspecting"), ("inspecting", "completed"), ("completed", "reviewed"),
                       ("reviewed", "published")]
    assert acts.count("task.status") == 4 and acts.count("result.publish") == 2

    rows = {r["检查实施机关"]: r for r in rs.published_results(e, q=task.uscc).rows}
    # 检查实施机关 by the departments' legal names (the public record).
    assert set(rows) == {"北京市平谷区市场监督管理局", "北京市平谷区卫生健康委员会"}
    assert {r["检查类型"] for r in rows.values()} == {"联合抽查"}
    wjw = rows["北京市平谷区卫生健康委员会"]
    assert wjw["检查结果"] == "未发现问题" and wjw["检查日期"] == "2026-11-02"

    d = rs.dashboard(e, w.bid, 2026)
    assert d["publication"]["区市场监管局"] == {"results": 1, "published": 1, "on_time": 1,
                                             "publication_rate": 1.0, "on_time_rate": 1.0}
    assert d["publication"]["区卫生健康委"]["on_time"] == 0  # 2026-12-03 is after the deadline
    assert d["categories"]["未发现问题"] == 2 and d["joint"]["joint"] == len(w.joint)
    assert d["plan"]["done"] == 1 and d["plan"]["tasks"] == len(w.joint) + len(w.single)


def test_sent_back_then_resubmitted(w):
    e, t = w.engine, w.single[0]
    code = w.item_of(t)
    dept = "WJW" if code == "WS-01" else "SCJGJ"
    r = rs.enter_result(e, t, code, ["未发现问题"], w.inspector(t, dept), inspected_on=DAY)
    with pytest.raises(rs.Refused, match="退回必须说明理由"):
        rs.send_back(e, r.id, " ", w.reviewer(dept))
    back = rs.send_back(e, r.id, "漏填现场检查情况", w.reviewer(dept))
    assert back.status == "审核退回" and back.review_note == "漏填现场检查情况"
    assert rs.review_queue(e, w.dept[dept]).total == 0
    row = next(x for x in rs.inspector_tasks(e, w.inspector(t, dept).name).rows if x["id"] == t)
    assert row["items"][0]["result_status"] == "审核退回" and row["status"] == "completed"
    again = rs.enter_result(e, t, code, ["发现问题已责令改正"], w.inspector(t, dept), note="已补填", inspected_on=DAY)
    assert again.status == "待审核" and again.version == 2 and again.categories == "07"
    rs.approve(e, again.id, w.reviewer(dept))
    rs.publish(e, t, w.reviewer(dept))
    assert w.task(t).status == "published"


def test_every_forbidden_operation_is_refused_and_leaves_no_trace(w):
    e, t = w.engine, w.joint[0]
    before = w.audit_count()
    refusals = [
        (lambda: rs.enter_result(e, t, "SP-01", ["未发现问题"], w.outsider(t)), "不是本任务检查组成员"),
        (lambda: rs.enter_result(e, t, "SP-01", ["未发现问题"], w.inspector(t, "WJW")), "谁检查、谁录入"),
        (lambda: rs.enter_result(e, t, "SP-01", ["未发现问题"], w.reviewer("SCJGJ")), "只有检查组"),
        (lambda: rs.enter_result(e, t, "SP-01", ["未发现问题", "发现问题待后续处理"], w.inspector(t)), "不能与发现问题"),
        (lambda: rs.enter_result(e, t, "SP-01", ["未发现问题"], w.inspector(t),
                                 inspected_on=rs.local_today() + dt.timedelta(days=1)), "不能晚于今天"),
        (lambda: rs.enter_result(e, t, "GS-01", ["未发现问题"], w.inspector(t)), "不属于任务"),
        (lambda: rs.publish(e, t, w.reviewer("SCJGJ")), "尚未审核"),
    ]
    for call, msg in refusals:
        with pytest.raises(rs.Refused, match=msg):
            call()
    sp = rs.enter_result(e, t, "SP-01", ["未发现问题"], w.inspector(t), inspected_on=DAY)
    before = w.audit_count()
    for call, msg in [
        (lambda: rs.approve(e, sp.id, w.reviewer("WJW")), "只能审核本部门"),
        (lambda: rs.approve(e, sp.id, w.inspector(t)), "只有审核人员"),
        (lambda: rs.approve(e, sp.id, Actor("管理员", "admin", w.bid)), "只有审核人员"),
        (lambda: rs.send_back(e, sp.id, "理由", w.reviewer("WJW")), "只能审核本部门"),
        (lambda: rs.publish(e, t, w.reviewer("SCJGJ")), "尚未审核"),
        (lambda: rs.correct(e, sp.id, ["其他"], "理由", w.reviewer("SCJGJ")), "只有已公示"),
    ]:
        with pytest.raises(rs.Refused, match=msg):
            call()
    rs.approve(e, sp.id, w.reviewer("SCJGJ"))
    for call, msg in [
        (lambda: rs.publish(e, t, w.reviewer("WJW")), "尚未审核"),  # WJW's own item is not even entered
        (lambda: rs.publish(e, t, w.reviewer("JW")), "本部门"),
        (lambda: rs.publish(e, t, w.inspector(t)), "只有检查事项所属部门"),
        (lambda: rs.enter_result(e, t, "SP-01", ["其他"], w.inspector(t)), "已审核"),
    ]:
        with pytest.raises(rs.Refused, match=msg):
            call()
    rs.publish(e, t, w.reviewer("SCJGJ"))
    before = w.audit_count()
    for call, msg in [
        (lambda: rs.enter_result(e, t, "SP-01", ["其他"], w.inspector(t)), "只能通过更正"),
        (lambda: rs.correct(e, sp.id, ["其他"], "  ", w.reviewer("SCJGJ")), "更正理由"),
        (lambda: rs.correct(e, sp.id, ["其他"], "笔误", w.reviewer("WJW")), "本部门"),
        (lambda: rs.correct(e, sp.id, ["未发现问题"], "笔误", w.reviewer("SCJGJ")), "相同"),
        (lambda: rs.publish(e, t, w.reviewer("SCJGJ")), "均已公示"),
        (lambda: rs.add_category(e, "13", "被撤销登记", w.reviewer("SCJGJ")), "只有管理员"),
    ]:
        with pytest.raises(rs.Refused, match=msg):
            call()
    assert w.audit_count() == before
    assert w.result(t, "SP-01").categories == "01" and w.result(t, "SP-01").version == 1


def test_problem_category_opens_a_follow_up_closed_and_published(w):
    e, t = w.engine, w.single[0]
    r = w.through_review(t, ["发现问题待后续处理", "未按规定公示应当公示的信息"])
    dept = "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"
    open_ = rs.follow_ups(e, w.dept[dept])
    assert [(f["result_id"], f["action"], f["status"]) for f in open_] == [(r.id, "责令改正", "open")]
    rs.publish(e, t, w.reviewer(dept))
    uscc = w.task(t).uscc
    assert "后续处置" not in rs.published_results(e, q=uscc).rows[0]["检查结果"]
    with pytest.raises(rs.Refused, match="处置结果"):
        rs.close_follow_up(e, open_[0]["id"], "", w.reviewer(dept))
    with pytest.raises(rs.Refused, match="只有本部门人员"):
        rs.close_follow_up(e, open_[0]["id"], "已整改", w.outsider(t))
    f = rs.close_follow_up(e, open_[0]["id"], "已按期整改完毕", w.reviewer(dept))
    assert f.status == "closed" and f.closed_by == w.reviewer(dept).name
    assert rs.follow_ups(e, w.dept[dept]) == []
    row = rs.published_results(e, q=uscc).rows[0]
    assert row["检查结果"] == "未按规定公示应当公示的信息、发现问题待后续处理；后续处置：责令改正，已按期整改完毕"
    with pytest.raises(rs.Refused, match="已办结"):
        rs.close_follow_up(e, f.id, "再次", w.reviewer(dept))
    no_problem = w.single[1]
    w.through_review(no_problem, ["未发现问题"])
    with Session(e) as s:
        assert s.execute(select(func.count()).select_from(FollowUp).where(FollowUp.task_id == no_problem)).scalar_one() == 0


def test_correction_keeps_old_and_new_and_shows_in_public_history(w):
    e, t = w.engine, w.single[0]
    r = w.through_review(t, ["未发现问题"])
    dept = "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"
    rs.publish(e, t, w.reviewer(dept), today=dt.date(2026, 11, 10))
    c = rs.correct(e, r.id, ["发现问题已责令改正"], "录入时误选类别，据现场笔录更正", w.reviewer(dept))
    assert (c.old_categories, c.new_categories, c.version) == ("01", "07", 2)
    with Session(e) as s:
        assert s.execute(select(ResultCorrection).where(ResultCorrection.result_id == r.id)).scalar_one().reason
    assert w.result(t, w.item_of(t)).status == "已公示"
    uscc = w.task(t).uscc
    assert rs.published_results(e, q=uscc).rows[0]["检查结果"] == "发现问题已责令改正"
    hist = rs.public_history(e, t)
    assert len(hist) == 1 and hist[0]["检查结果"] == "发现问题已责令改正"
    assert [(v["版本"], v["检查结果"], v["更正理由"]) for v in hist[0]["历次公示"]] == [
        (1, "未发现问题", ""), (2, "发现问题已责令改正", "录入时误选类别，据现场笔录更正")]
    assert hist[0]["历次公示"][0]["日期"] == "2026-11-10"
    assert len(rs.follow_ups(e, w.dept[dept])) == 1  # the corrected category opens its follow-up


def test_deadline_missing_year_is_null_with_a_note_then_recomputed(w):
    e, t = w.engine, w.single[0]
    r = w.through_review(t, ["未发现问题"], day=dt.date(2025, 12, 20))
    task = w.task(t)
    assert task.status == "reviewed" and task.completed_on == dt.date(2025, 12, 20)
    assert task.deadline is None and "公示期限未计算" in task.note and "2025" in task.note
    assert r.status == "已审核"
    q = rs.publication_queue(e, r.department_id, dt.date(2026, 1, 5))
    assert q[0]["deadline"] is None and q[0]["days_left"] is None and q[0]["overdue"] is False
    calendar.seed_from_package(e, [2025])
    assert rs.recompute_deadlines(e, Actor("管理员", "admin", w.bid)) == 1
    assert w.task(t).deadline == calendar.deadline(e, dt.date(2025, 12, 20), 20)


def test_cannot_inspect(w):
    e, t = w.engine, w.single[0]
    with pytest.raises(rs.Refused, match="说明原因"):
        rs.declare_cannot_inspect(e, t, "", w.inspector(t, "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"))
    with pytest.raises(rs.Refused, match="只有检查组成员"):
        rs.declare_cannot_inspect(e, t, "企业已搬离", w.outsider(t))
    with pytest.raises(rs.Refused, match="只有检查组成员"):
        rs.declare_cannot_inspect(e, t, "企业已搬离", w.reviewer("JW"))
    dept = "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"
    task = rs.declare_cannot_inspect(e, t, "道路塌方，检查期内无法到达", w.inspector(t, dept))
    assert task.status == "cannot_inspect" and "道路塌方" in task.note
    with Session(e) as s:
        ev = s.execute(select(TaskEvent).where(TaskEvent.task_id == t).order_by(TaskEvent.id.desc())).scalars().first()
    assert (ev.from_status, ev.to_status, ev.reason) == ("assigned", "cannot_inspect", "道路塌方，检查期内无法到达")
    with pytest.raises(rs.Refused, match="不能录入结果"):
        rs.enter_result(e, t, w.item_of(t), ["未发现问题"], w.inspector(t, dept), inspected_on=DAY)
    assert rs.dashboard(e, w.bid, 2026)["plan"]["cannot_inspect"] == 1
    # Once a result is entered, the outcome is a result category, not a side state.
    t2 = w.single[1]
    d2 = "WJW" if w.item_of(t2) == "WS-01" else "SCJGJ"
    rs.enter_result(e, t2, w.item_of(t2), ["通过登记的住所（经营场所）无法联系"], w.inspector(t2, d2), inspected_on=DAY)
    with pytest.raises(rs.Refused, match="已有检查结果录入"):
        rs.declare_cannot_inspect(e, t2, "联系不上", w.inspector(t2, d2))


def test_case_and_special_tasks_follow_the_lifecycle_but_never_count_in_draw_statistics(w):
    e = w.engine
    w.through_review(w.single[0], ["未发现问题"])
    before = rs.dashboard(e, w.bid, 2026)
    with Session(e) as s:
        drawn = set(s.execute(select(Task.uscc)).scalars())
        target = next(u for u in s.execute(select(Enterprise.uscc).where(Enterprise.status == "存续")
                                           .order_by(Enterprise.id)).scalars() if u not in drawn)
        conflicted = s.execute(select(Inspector.inspector_id, Conflict.uscc)
                               .join(Conflict, Conflict.inspector_pk == Inspector.id)).first()
        recused = set(s.execute(select(Inspector.inspector_id).join(Conflict, Conflict.inspector_pk == Inspector.id)
                                .where(Conflict.uscc == target)).scalars())
    pair = [p for p in w.all_inspectors if p.startswith("SCJGJ") and p not in recused][:2]
    args = dict(kind="case", items=["SP-01"], department="SCJGJ", reason="投诉举报 12315-2026-0001")
    for kw, msg in [(dict(inspectors=pair[:1]), "至少需要两名"), (dict(reason=""), "说明依据"),
                    (dict(kind="other", inspectors=pair), "检查种类"), (dict(items=["XX-99"], inspectors=pair), "不存在"),
                    (dict(inspectors=pair, actor=w.reviewer("WJW")), "本部门")]:
        call = {**args, "actor": w.planner(), **kw}
        with pytest.raises(rs.Refused, match=msg):
            rs.record_case_task(e, target, **call)
    with pytest.raises(rs.Refused, match="回避"):
        rs.record_case_task(e, conflicted[1], actor=w.planner(),
                            **dict(args, inspectors=[conflicted[0]] + [p for p in pair if p != conflicted[0]][:1]))
    with pytest.raises(rs.Refused, match="校验不通过"):
        rs.record_case_task(e, "911101170000000001", actor=w.planner(), inspectors=pair, **args)

    case = rs.record_case_task(e, target, actor=w.planner(), inspectors=pair, **args)
    assert (case.kind, case.status, case.draw_id) == ("case", "assigned", None)
    special = rs.record_case_task(e, target, kind="special", items=["SP-01", "WS-01"], department="SCJGJ",
                                  reason="区食安办专项整治通知", actor=Actor("管理员", "admin", w.bid),
                                  inspectors=[pair[0], next(p for p in w.all_inspectors if p.startswith("WJW") and p not in recused)])
    me = Actor(pair[0], "inspector", w.bid)
    r = rs.enter_result(e, case.id, "SP-01", ["发现问题待后续处理"], me, inspected_on=DAY)
    assert w.task(case.id).deadline == dt.date(2026, 11, 30)
    rs.approve(e, r.id, w.reviewer())
    rs.publish(e, case.id, w.reviewer())
    assert w.task(case.id).status == "published"
    rs.enter_result(e, special.id, "SP-01", ["不予配合情节严重"], me, inspected_on=DAY)
    assert [x["id"] for x in rs.inspector_tasks(e, pair[0]).rows][:2] == [special.id, case.id]

    after = rs.dashboard(e, w.bid, 2026)
    for k in ("plan", "joint", "coverage", "publication", "categories"):
        assert after[k] == before[k], k
    assert after["outside_draws"] == {"case": 1, "special": 1}
    rows = rs.published_results(e, q=target).rows
    assert [(r["检查类型"], r["检查结果"]) for r in rows] == [("投诉举报（个案检查）", "发现问题待后续处理")]


def test_public_list_leaks_nothing(w):
    e = w.engine
    done = w.single[0]
    w.through_review(done, ["未发现问题"])
    dept = "WJW" if w.item_of(done) == "WS-01" else "SCJGJ"
    rs.publish(e, done, w.reviewer(dept))
    w.through_review(w.single[1], ["发现问题待后续处理"])  # reviewed, not published
    rs.enter_result(e, w.single[2], w.item_of(w.single[2]), ["其他"],
                    w.inspector(w.single[2], "WJW" if w.item_of(w.single[2]) == "WS-01" else "SCJGJ"), note="内部备注")
    page = rs.published_results(e)
    assert page.total == 1 and len(page.rows) == 1
    row = page.rows[0]
    assert set(row) == PUBLIC
    with Session(e) as s:
        ent = s.execute(select(Enterprise).where(Enterprise.uscc == w.task(done).uscc)).scalar_one()
        names = set(s.execute(select(Inspector.name)).scalars()) | set(s.execute(select(Inspector.inspector_id)).scalars())
    assert row["统一社会信用代码"] == ent.uscc and row["企业名称"] == ent.name and row["检查类型"] == "双随机抽查"
    text = "".join(str(v) for v in row.values())
    assert not any(n in text for n in names) and "内部备注" not in text and "风险" not in text
    assert rs.published_results(e, q=ent.name).total == 1
    assert rs.published_results(e, q="不存在的企业").total == 0
    assert rs.published_results(e, q="%").total == 0
    assert rs.published_results(e, q=make_uscc(999999)).total == 0


def test_dashboard_coverage_and_categories(w):
    e = w.engine
    w.through_review(w.single[0], ["发现问题已责令改正", "未按规定公示应当公示的信息"])
    w.through_review(w.single[1], ["未发现问题"])
    d = rs.dashboard(e, w.bid, 2026)
    with Session(e) as s:
        alive = s.execute(select(func.count()).select_from(Enterprise).where(Enterprise.status == "存续")).scalar_one()
        risks = {t.uscc: s.execute(select(Enterprise.risk_class).where(Enterprise.uscc == t.uscc)).scalar_one()
                 for t in (w.task(w.single[0]), w.task(w.single[1]))}
    assert sum(v["entities"] for v in d["coverage"]["by_risk"].values()) == alive
    assert sum(v["inspected"] for v in d["coverage"]["by_town"].values()) == 2
    assert sum(v["inspected"] for v in d["coverage"]["by_industry"].values()) == 2
    for r in set(risks.values()):
        assert d["coverage"]["by_risk"][r]["inspected"] == list(risks.values()).count(r)
    assert d["categories"]["发现问题已责令改正"] == 1 and d["categories"]["未按规定公示应当公示的信息"] == 1
    assert d["categories"]["未发现问题"] == 1 and d["categories"]["已注销"] == 0
    assert d["plan"]["done"] == 2 and 0 < d["plan"]["completion_share"] < 1
    assert rs.dashboard(e, w.bid, 2025)["plan"]["tasks"] == 0


def test_categories_seeded_once_and_extensible(w):
    e = w.engine
    cats = rs.list_categories(e)
    assert len(cats) == 12 and cats[0].name == "未发现问题"
    with Session(e) as s:
        assert rs.seed_categories(s) == 0
    rs.add_category(e, "13", "被撤销登记", Actor("管理员", "admin", w.bid))
    with pytest.raises(rs.Refused, match="已存在"):
        rs.add_category(e, "14", "被撤销登记", Actor("管理员", "admin", w.bid))
    t = w.single[0]
    dept = "WJW" if w.item_of(t) == "WS-01" else "SCJGJ"
    r = rs.enter_result(e, t, w.item_of(t), ["被撤销登记"], w.inspector(t, dept), inspected_on=DAY)
    assert r.categories == "13"


def test_cli_enter_review_publish_and_refusal(sqlite_url, monkeypatch):
    import json

    from typer.testing import CliRunner

    from db.engine import make_engine
    from scheduler.cli import app

    eng = make_engine(sqlite_url)
    w = W(eng)
    t = w.single[0]
    code = w.item_of(t)
    dept = "WJW" if code == "WS-01" else "SCJGJ"
    who = w.inspector(t, dept).name
    monkeypatch.setenv("DSR_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    # The CLI acts as accounts (--as): the inspectors' accounts, linked to their roster ids, and a reviewer.
    from scheduler.accounts.service import add_user

    for user, roster in (("insp-in", who), ("insp-out", w.outsider(t).name)):
        add_user(eng, user, "inspector", "correct-horse-battery-9", inspector=roster)
    add_user(eng, "rev", "reviewer", "correct-horse-battery-9", department=dept)

    def dsr(*args):
        return runner.invoke(app, ["results", *args])

    r = dsr("enter", str(t), code, "-c", "未发现问题", "--date", "2026-11-02", "--as", w.outsider(t).name)
    assert r.exit_code == 2 and "不是本任务检查组成员" in r.output
    r = dsr("enter", str(t), code, "-c", "未发现问题", "--date", "2026-11-02", "--as", "nobody")
    assert r.exit_code == 2 and "账号“nobody”不存在或已停用" in r.output
    r = dsr("enter", str(t), code, "-c", "01", "--date", "2026-11-02", "--as", who)
    assert r.exit_code == 0, r.output
    rid = int(r.output.split("#")[1].split("，")[0])
    # Claiming another role is refused: the account's own role counts.
    r = dsr("approve", str(rid), "--as", who, "--role", "reviewer", "--dept", dept)
    assert r.exit_code == 2 and "的角色是执法检查人员，不是 reviewer" in r.output
    assert dsr("approve", str(rid), "--as", "rev", "--dept", dept).exit_code == 0
    assert dsr("publish", str(t), "--as", "rev").exit_code == 0
    rows = json.loads(dsr("public", "--json").stdout)["rows"]
    assert len(rows) == 1 and set(rows[0]) == PUBLIC and rows[0]["检查结果"] == "未发现问题"
    eng.dispose()


def test_start_inspection_and_admin_publishes_every_department(w):
    e, t = w.engine, w.joint[1] if len(w.joint) > 1 else w.joint[0]
    with pytest.raises(rs.Refused, match="不是本任务检查组成员"):
        rs.start_inspection(e, t, w.outsider(t))
    assert rs.start_inspection(e, t, w.inspector(t, "WJW")).status == "inspecting"
    with pytest.raises(rs.Refused, match="任务状态不能从“检查中”变为“检查中”"):
        rs.start_inspection(e, t, w.inspector(t))
    assert [r["id"] for r in rs.inspector_tasks(e, w.inspector(t).name, status="inspecting").rows] == [t]
    for code, dept in (("SP-01", "SCJGJ"), ("WS-01", "WJW")):
        r = rs.enter_result(e, t, code, ["未发现问题"], w.inspector(t, dept), inspected_on=DAY)
        rs.approve(e, r.id, w.reviewer(dept))
    out = rs.publish(e, t, Actor("管理员", "admin", w.bid), today=DAY)
    assert len(out) == 2 and w.task(t).status == "published"
    assert rs.publication_queue(e, w.dept["SCJGJ"], DAY) == []
