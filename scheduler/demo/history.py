"""Demo history: the past months of the Pinggu demo.

`create_history` draws the demo plans for the months before `today` (one draw
per plan and month, seeds derived from the demo seed, so the same seed gives the
same draws) and walks a deterministic sample of each draw's tasks through the
real result services, with actors of the right roles, so every state the pages
show exists with its task events and audit events:

    published on time, published late, completed awaiting review, sent back,
    reviewed awaiting publication (due soon, or overdue), inspecting (partly
    entered), follow-ups open and closed, cannot inspect, and a case task (投诉举报).

Only a sample is processed (`per_draw` scenarios per draw): a result costs a few
service transactions (~40 ms on SQLite here), and the demo must stay fast; the
other tasks stay 已匹配检查组, as work not yet done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import (
    CheckItem,
    Conflict,
    Department,
    Draw,
    Enterprise,
    Inspector,
    Plan,
    Task,
    TaskItem,
    TeamMember,
)
from scheduler.plans import quota, rules
from scheduler.calendar import workdays as wd
from scheduler.demo.data import DEMO_PLANS
from scheduler.calendar import service as cal_service
from scheduler.draw import service as draws
from scheduler.results import followup_service as fu
from scheduler.results import service as rs
from scheduler.access.context import SYSTEM, Actor
from scheduler.errors import DsrError

# Scenarios played per month, by how many months back the month is (3 = three or more),
# dealt round-robin over that month's draws. Each name is handled in `_play`; the lists are
# short on purpose (see the module docstring).
SCENARIOS: dict[int, tuple[str, ...]] = {
    3: ("on_time", "on_time", "late", "follow_up_closed", "overdue", "on_time", "clean_problem", "on_time", "late",
        "on_time", "unreachable"),
    2: ("on_time", "late", "follow_up_open", "overdue", "cannot_inspect", "on_time", "resubmitted", "follow_up_closed",
        "on_time", "on_time", "overdue", "on_time"),
    1: ("on_time", "awaiting_review", "sent_back", "due_soon", "follow_up_open", "inspecting", "reviewed",
        "awaiting_review", "on_time", "due_soon", "sent_back", "reviewed"),
}
STATE_LABELS = {
    "on_time": "按期公示", "late": "逾期公示", "overdue": "已审核、逾期未公示", "due_soon": "已审核、即将到期",
    "reviewed": "已审核待公示", "awaiting_review": "待审核", "sent_back": "审核退回", "resubmitted": "退回后重新录入并公示",
    "follow_up_open": "后续处置办理中", "follow_up_closed": "后续处置已办结", "clean_problem": "发现问题已公示",
    "inspecting": "检查中（部分录入）", "cannot_inspect": "无法检查", "case": "投诉举报个案检查",
    "unreachable": "无法联系，已公示并列入经营异常名录",
}
UNREACHABLE = "通过登记的住所（经营场所）无法联系"
CLEAN = "未发现问题"
NO_ACTIVITY = "未发现开展本次抽查涉及的经营活动"
FIXED = "发现问题已责令改正"
NOT_DISCLOSED = "未按规定公示应当公示的信息"
SEND_BACK_REASONS = ("检查记录未附现场照片，请补充后重新录入", "结果类别与现场笔录不一致，请核对",
                     "检查日期与执法记录仪记录不符，请核实")
CLOSE_OUTCOMES = ("已按期整改完毕，复查合格", "当事人已补报公示信息，复查合格")


class HistoryRefused(DsrError, RuntimeError):
    """History cannot be written (e.g. the demo plans are missing); the message is for planners."""

    code = "demo.history_refused"


@dataclass
class HistorySummary:
    """What `create_history` wrote: draws (plan, period, draw id), tasks per scenario, seconds."""

    draws: list[tuple[str, str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (plan, period) already drawn
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (plan, period, why) the draw refused
    scenarios: dict[str, list[int]] = field(default_factory=dict)  # scenario -> task ids
    results: int = 0
    seconds: float = 0.0

    def count(self, scenario: str) -> int:
        return len(self.scenarios.get(scenario, []))


def month_back(today: dt.date, k: int) -> str:
    """The period "YYYY-MM" `k` months before `today`'s month."""
    m = today.year * 12 + today.month - 1 - k
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def draw_seed(seed: int, plan_code: str, period: str) -> str:
    """A 32-digit draw seed derived from the demo seed (deterministic; not an official seed)."""
    h = hashlib.sha256(f"dsr-demo-history:{int(seed)}:{plan_code}:{period}".encode()).hexdigest()
    return str(int(h, 16))[:32].rjust(32, "0")


@dataclass
class _World:
    engine: Engine
    bureau_id: int
    dept_code: dict[int, str]
    cal: wd.WorkdayCalendar
    today: dt.date

    def reviewer(self, dept_id: int) -> Actor:
        code = self.dept_code[dept_id]
        # The demo reviewer account of 区市场监管局 is "reviewer" (services.users.DEMO_USERS).
        return Actor("reviewer" if code == "SCJGJ" else f"reviewer-{code.lower()}", "reviewer", self.bureau_id, dept_id)

    def planner(self, dept_id: int) -> Actor:
        code = self.dept_code[dept_id]
        return Actor("planner" if code == "SCJGJ" else f"planner-{code.lower()}", "planner", self.bureau_id, dept_id)

    def wdays(self, d: dt.date, n: int) -> dt.date:
        """`n` working days after (n > 0) or before (n < 0) `d`."""
        if n >= 0:
            return wd.add_working_days(self.cal, d, n)
        day, left = d, -n
        while left:
            day -= dt.timedelta(days=1)
            if wd.is_working_day(self.cal, day):
                left -= 1
        return day


@dataclass
class _Task:
    id: int
    items: list[tuple[str, int]]  # (item code, department id), by code
    team: dict[int, list[str]]  # department id -> inspector ids (leader first)
    leader: str
    bureau_id: int | None = None  # the bureau carrying the task out (its inspectors' bureau)

    def enterer(self, dept_id: int) -> Actor:
        who = (self.team.get(dept_id) or [self.leader])[0]
        return Actor(who, "inspector", self.bureau_id)

    @property
    def departments(self) -> list[int]:
        return sorted({d for _, d in self.items})


def _load_tasks(engine: Engine, draw_id: int) -> list[_Task]:
    with engine.connect() as conn:
        bureau_of = dict(conn.execute(select(Task.id, Task.bureau_id).where(Task.draw_id == draw_id, Task.status == "assigned")
                                      .order_by(Task.id)).all())
        ids = list(bureau_of)
        items: dict[int, list] = defaultdict(list)
        for tid, code, dep in conn.execute(
            select(TaskItem.task_id, CheckItem.code, CheckItem.department_id)
            .join(CheckItem, CheckItem.id == TaskItem.item_id)
            .join(Task, Task.id == TaskItem.task_id).where(Task.draw_id == draw_id).order_by(TaskItem.task_id, CheckItem.code)
        ):
            items[tid].append((code, dep))
        team: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        leader: dict[int, str] = {}
        for tid, iid, dep, role in conn.execute(
            select(TeamMember.task_id, Inspector.inspector_id, TeamMember.department_id, TeamMember.role)
            .join(Inspector, Inspector.id == TeamMember.inspector_pk)
            .join(Task, Task.id == TeamMember.task_id)
            .where(Task.draw_id == draw_id, TeamMember.active.is_(True), TeamMember.department_id.is_not(None))
            .order_by(TeamMember.task_id, TeamMember.slot)
        ):
            team[tid][dep].append(iid)
            if role == "leader" or tid not in leader:
                leader[tid] = iid
    return [_Task(t, items[t], dict(team[t]), leader[t], bureau_of[t]) for t in ids if items.get(t) and t in leader]


def _inspection_day(w: _World, period: str, rng: random.Random) -> dt.date:
    """A working day in the period's month (or just after it), never after yesterday."""
    y, m = int(period[:4]), int(period[5:7])
    first = dt.date(y, m, 1)
    day = w.wdays(first, rng.randint(3, 18))
    latest = w.wdays(w.today, -1)
    return min(day, latest)


def _enter_all(w: _World, t: _Task, day: dt.date, cats_of, note: str = "") -> dict[str, int]:
    """Enter every item's result; returns item code -> result id."""
    out = {}
    for code, dep in t.items:
        r = rs.enter_result(w.engine, t.id, code, cats_of(code), t.enterer(dep), note=note, inspected_on=day)
        out[code] = r.id
    return out


def _approve_all(w: _World, t: _Task, rids: dict[str, int]) -> None:
    for code, dep in t.items:
        rs.approve(w.engine, rids[code], w.reviewer(dep))


def _publish_all(w: _World, t: _Task, on: dt.date) -> None:
    for dep in t.departments:
        rs.publish(w.engine, t.id, w.reviewer(dep), today=on)


def _play(w: _World, t: _Task, scenario: str, period: str, rng: random.Random) -> int:
    """Walk one task through `scenario`; returns the number of results entered."""
    e = w.engine
    clean = lambda code: [rng.choice((CLEAN, CLEAN, CLEAN, CLEAN, NO_ACTIVITY))]
    if scenario == "cannot_inspect":
        rs.declare_cannot_inspect(e, t.id, "经营场所因火灾受损封闭，经消防部门确认暂不具备现场检查条件",
                                  Actor(t.leader, "inspector", t.bureau_id))
        return 0
    if scenario == "due_soon":
        day = w.wdays(w.today, -rng.randint(17, 19))  # deadline within the next 1–3 working days
    elif scenario in ("reviewed", "awaiting_review", "sent_back", "inspecting"):
        day = max(_inspection_day(w, period, rng), w.wdays(w.today, -12))
    else:
        day = _inspection_day(w, period, rng)
    if scenario == "inspecting":
        code, dep = t.items[0]
        if len(t.items) == 1:
            rs.start_inspection(e, t.id, Actor(t.leader, "inspector", t.bureau_id))
            return 0
        rs.enter_result(e, t.id, code, clean(code), t.enterer(dep), inspected_on=day)
        return 1
    problem_item = t.items[0][0]
    if scenario == "unreachable":
        return _unreachable(w, t, day, rng)
    if scenario in ("follow_up_open", "follow_up_closed", "clean_problem"):
        bad = NOT_DISCLOSED if problem_item.startswith("SC-0") and problem_item in ("SC-01", "SC-02") else FIXED
        cats_of = lambda code: [bad] if code == problem_item else clean(code)
        note = "现场发现问题，已下达责令改正通知书" if bad == FIXED else "年度报告未按期公示，已责令限期补报"
    else:
        cats_of, note = clean, ""
    rids = _enter_all(w, t, day, cats_of, note)
    n = len(rids)
    if scenario == "awaiting_review":
        return n
    if scenario in ("sent_back", "resubmitted"):
        code, dep = t.items[0]
        rs.send_back(e, rids[code], rng.choice(SEND_BACK_REASONS), w.reviewer(dep))
        if scenario == "sent_back":
            return n
        rids[code] = rs.enter_result(e, t.id, code, [CLEAN], t.enterer(dep), note="已补充现场照片", inspected_on=day).id
        n += 1
    _approve_all(w, t, rids)
    if scenario in ("overdue", "due_soon", "reviewed"):
        return n
    deadline = w.wdays(day, wd.PUBLICATION_DAYS)
    if scenario == "late":
        on = min(deadline + dt.timedelta(days=rng.randint(2, 9)), w.today)
    else:
        on = min(day + dt.timedelta(days=rng.randint(2, 12)), w.today)
    _publish_all(w, t, on)
    if scenario in ("follow_up_closed", "clean_problem"):
        for f in rs.follow_ups(e, status="open"):
            if f["task_id"] == t.id:
                dep = next(d for c, d in t.items if c == problem_item)
                n += _rectified(w, t, f["id"], problem_item, dep, day, rng)
    return n


def _unreachable(w: _World, t: _Task, day: dt.date, rng: random.Random) -> int:
    """无法联系 at the registered address: every item's result says so, is published, and its follow-up
    ends in 列入经营异常名录 by the market-regulation bureau (another department transfers its finding
    to it); "无法联系" is a result, never a reason to take a reserve (docs/follow-up.md)."""
    e = w.engine
    rids = _enter_all(w, t, day, lambda code: [UNREACHABLE], "现场核查及电话联系均无法取得联系")
    _approve_all(w, t, rids)
    _publish_all(w, t, min(day + dt.timedelta(days=rng.randint(2, 6)), w.today))
    decided = min(w.wdays(day, 5), w.wdays(w.today, -1))
    for f in rs.follow_ups(e, status="open"):
        if f["task_id"] != t.id:
            continue
        who = w.reviewer(f["department_id"])
        if w.dept_code[f["department_id"]] == "SCJGJ":
            fu.record_step(e, f["id"], "abnormal_list", who, doc_no=f"京平市监异列〔{day.year}〕{f['id']}号",
                           decided_on=decided)
        else:
            fu.record_step(e, f["id"], "transfer", who, doc_no=f"移送〔{day.year}〕{f['id']}号", decided_on=decided,
                           target="区市场监管局")
        fu.close(e, f["id"], who)
    return len(rids)


def _rectified(w: _World, t: _Task, fid: int, code: str, dep: int, day: dt.date, rng: random.Random) -> int:
    """责令整改 with a deadline, the re-check by the same team found it fixed and published, the
    follow-up closed on that record (docs/follow-up.md); returns the results entered."""
    e, who = w.engine, w.reviewer(dep)
    latest = w.wdays(w.today, -1)
    due = max(day, min(day + dt.timedelta(days=rng.randint(7, 15)), latest))
    st = fu.record_step(e, fid, "rectify", who, doc_no=f"京平市监责改〔{day.year}〕{fid}号", decided_on=day,
                        due_on=due)
    r = rs.enter_result(e, st.recheck_task_id, code, [CLEAN], t.enterer(dep), note=rng.choice(CLOSE_OUTCOMES),
                        inspected_on=min(due, latest))
    rs.approve(e, r.id, who)
    rs.publish(e, st.recheck_task_id, who, today=min(due + dt.timedelta(days=2), w.today))
    fu.close(e, fid, who)
    return 1


def _case_task(w: _World, rng: random.Random, summary: HistorySummary) -> None:
    """A complaint (投诉举报) check on a food business, outside the draws, through to publication."""
    e = w.engine
    with Session(e) as s:
        dept = s.execute(select(Department).where(Department.code == "SCJGJ", Department.bureau_id == w.bureau_id)).scalar_one()
        item = s.execute(select(CheckItem.code).where(CheckItem.bureau_id == w.bureau_id, CheckItem.code == "SC-04")).scalar()
        if item is None:
            return
        cands = list(s.execute(select(Enterprise.uscc).where(Enterprise.status == "存续", Enterprise.tags.like("%食品经营许可%"))
                               .order_by(Enterprise.uscc).limit(200)).scalars())
        people = list(s.execute(select(Inspector.inspector_id).where(Inspector.department_id == dept.id,
                                                                     Inspector.active.is_(True))
                                .order_by(Inspector.inspector_id).limit(40)).scalars())
        conflicted = set(s.execute(select(Conflict.uscc, Inspector.inspector_id)
                                   .join(Inspector, Inspector.id == Conflict.inspector_pk)).all())
    if not cands or len(people) < 2:
        return
    uscc = rng.choice(cands)
    team = [p for p in rng.sample(people, len(people)) if (uscc, p) not in conflicted][:2]
    planner = w.planner(dept.id)
    t = rs.record_case_task(e, uscc, "case", ["SC-04"], "SCJGJ", f"12315投诉举报（编号 {w.today.year}-{rng.randint(10000, 99999)}）：消费者反映销售过期食品",
                            planner, inspectors=team)
    day = w.wdays(w.today, -rng.randint(8, 12))
    r = rs.enter_result(e, t.id, "SC-04", [FIXED], Actor(team[0], "inspector", w.bureau_id), note="货架发现过期食品2件，已当场下架并责令改正",
                        inspected_on=day)
    rs.approve(e, r.id, w.reviewer(dept.id))
    rs.publish(e, t.id, w.reviewer(dept.id), today=min(w.wdays(day, 5), w.today))
    summary.scenarios.setdefault("case", []).append(t.id)
    summary.results += 1


def create_history(engine: Engine, today: dt.date, seed: int, months: int = 3, actor: Actor = SYSTEM,
                   rounds: int = 2) -> HistorySummary:
    """Draw the demo plans for the `months` months before `today` and play results in every state.

    Deterministic for (database content, today, seed). A (plan, month) already
    drawn is skipped, its tasks untouched, so running it twice adds nothing.
    `rounds`: how many times each month's SCENARIOS list is played (more tasks, slower).
    `actor` is recorded on the calendar seeding; the draws are made by the lead
    department's planner, results by the teams' inspectors and the departments' reviewers.
    """
    t0 = time.perf_counter()
    if months < 1:
        raise HistoryRefused("演示历史的月份数应至少为 1")
    summary = HistorySummary()
    with Session(engine) as s:
        plans = {p.code: p for p in s.execute(select(Plan).where(Plan.code.in_([p.code for p in DEMO_PLANS]))).scalars()}
        if not plans:
            raise HistoryRefused("数据库中没有演示抽查计划，请先生成演示数据（dsr demo）")
        bureau_id = next(iter(plans.values())).bureau_id
        dept_code = dict(s.execute(select(Department.id, Department.code)).all())
        drawn = set(s.execute(select(Plan.code, Draw.period).join(Draw, Draw.plan_id == Plan.id)
                              .where(Draw.status != "voided")).all())
    years = {int(month_back(today, k)[:4]) for k in range(months + 1)} | {today.year}
    cal_service.seed_from_package(engine, [y for y in sorted(years) if y in cal_service.PACKAGE_YEARS], actor)
    cal = cal_service.calendar(engine)
    if not all(cal.knows(int(month_back(today, k)[:4])) for k in range(months + 1)):
        raise HistoryRefused(f"工作日历缺少 {today.year} 年或之前月份所在年度的节假日安排，无法计算公示期限；请先在“工作日历”中补充")
    w = _World(engine, bureau_id, dept_code, cal, today)
    rs.list_categories(engine)  # seeds the national categories if `dsr init` did not

    for k in range(months, 0, -1):
        period = month_back(today, k)
        queues: list[tuple[random.Random, list[_Task]]] = []
        for p in DEMO_PLANS:
            plan = plans.get(p.code)
            if plan is None:
                continue
            if (p.code, period) in drawn:
                summary.skipped.append((p.code, period))
                continue
            try:
                d = draws.execute(engine, p.code, period, seed=draw_seed(seed, p.code, period),
                                  actor=w.planner(plan.lead_department_id))
            except (draws.DrawRefused, rules.PlanRuleError, quota.PeriodOutsidePlan, quota.AnnualCapExceeded) as exc:
                # e.g. a tiny demo registry whose strata are smaller than the plan's fixed counts, a month
                # outside a plan's year, or a fixed count the year's cap does not allow (scheduler/plans/quota.py)
                summary.refused.append((p.code, period, str(exc)))
                continue
            summary.draws.append((p.code, period, d.id))
            rng = random.Random(f"{seed}:{p.code}:{period}")
            tasks = _load_tasks(engine, d.id)
            rng.shuffle(tasks)
            queues.append((rng, tasks))
        plays = list(SCENARIOS[min(k, 3)]) * max(0, int(rounds))
        turn = 0
        while plays and any(q for _, q in queues):
            rng, q = queues[turn % len(queues)]
            turn += 1
            if not q:
                continue
            t, scenario = q.pop(0), plays.pop(0)
            summary.results += _play(w, t, scenario, period, rng)
            summary.scenarios.setdefault(scenario, []).append(t.id)
    if summary.draws:
        _case_task(w, random.Random(f"{seed}:case"), summary)
    summary.seconds = time.perf_counter() - t0
    return summary


__all__ = [
    "SCENARIOS",
    "STATE_LABELS",
    "HistoryRefused",
    "HistorySummary",
    "create_history",
    "draw_seed",
    "month_back",
]
