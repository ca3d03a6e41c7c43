"""Follow-up supervision (后续监管衔接): which records a result's categories call for, their time
limits, and when a follow-up may be closed.

Pure rules: no database, no clock. Working-day arithmetic comes in as a function
(`add_wd(date, n)`) so that the services use the bureau's calendar. The sources of every
time limit are cited in docs/follow-up.md.

A follow-up is opened by a problem category (scheduler.results.lifecycle). Its record is a
list of steps, each with its document number and date:

- 责令整改 (rectify): a rectification deadline and a re-check task (复查) for the same team;
  the follow-up closes once the re-check's result is public.
- 立案 (case) → 行政处罚决定 (penalty), or 不予立案/结案 with reasons (no_case);
  a penalty under the ordinary procedure (普通程序) is published.
- 移送 (transfer) to another department, or 移送司法机关 (judicial), with document number and date.
- 列入经营异常名录 (abnormal_list) for 无法联系 and 弄虚作假, with its decision and date, and
  移出 (abnormal_remove) later on the entity's application.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from scheduler.errors import DsrError

AddWorkingDays = Callable[[dt.date, int], dt.date]

STEP_LABELS: dict[str, str] = {
    "rectify": "责令整改",
    "case": "立案",
    "penalty": "行政处罚决定",
    "no_case": "不予立案或结案（说明理由）",
    "transfer": "移送其他部门",
    "judicial": "移送司法机关",
    "abnormal_list": "列入经营异常名录",
    "abnormal_remove": "移出经营异常名录",
}

# Category codes (scheduler.results.lifecycle.NATIONAL_CATEGORIES) and the records they call for.
RECTIFY_CODES = frozenset({"02", "07"})  # 未按规定公示应当公示的信息; 发现问题已责令改正
ABNORMAL_CODES = frozenset({"03", "04"})  # 弄虚作假; 通过登记的住所（经营场所）无法联系
DISPOSAL_CODES = frozenset({"03", "05", "08"})  # 弄虚作假; 不予配合情节严重; 发现问题待后续处理
# Entities that ceased to exist or moved out: the only reasons to take a reserve instead.
REPLACEMENT_STATUSES = frozenset({"注销", "吊销", "迁出"})

# Time limits (docs/follow-up.md gives the source of each).
ABNORMAL_LIST_WORKING_DAYS = 10  # 列入: within 10 working days of establishing the fact
ABNORMAL_REMOVE_WORKING_DAYS = 5  # 移出: within 5 working days of establishing the application
CASE_FILING_WORKING_DAYS = 15  # 立案 or not: within 15 working days of finding the lead
PENALTY_DAYS = 90  # penalty decision: within 90 days of filing the case
PENALTY_PUBLICITY_WORKING_DAYS = 20  # publication of a penalty: within 20 working days of the decision
JUDICIAL_DECISION_DAYS = 3  # the head decides on a transfer report within 3 days
ORDINARY, SUMMARY = "普通程序", "简易程序"
JUDICIAL_TARGET = "司法机关"


class FollowUpRefused(DsrError):
    """A follow-up step the rules forbid or that lacks a record; the message says which."""

    code = "followup.refused"


@dataclass(frozen=True)
class Step:
    """A recorded step as the rules see it."""

    kind: str
    decided_on: Optional[dt.date] = None
    due_on: Optional[dt.date] = None
    recheck_published: bool = False  # rectify: the re-check task's result is public


def needs(codes: Iterable[str]) -> tuple[str, ...]:
    """The records a result's categories call for: "rectify", "abnormal", "disposal" (in that order)."""
    cs = set(codes)
    out = []
    if cs & RECTIFY_CODES:
        out.append("rectify")
    if cs & ABNORMAL_CODES:
        out.append("abnormal")
    if cs & DISPOSAL_CODES:
        out.append("disposal")
    return tuple(out)


def _kinds(steps: Sequence[Step]) -> list[str]:
    return [s.kind for s in steps]


def listed(steps: Sequence[Step]) -> bool:
    """Is the entity on the abnormal list by this follow-up (listed and not removed since)?"""
    state = False
    for s in steps:
        if s.kind == "abnormal_list":
            state = True
        elif s.kind == "abnormal_remove":
            state = False
    return state


def check_step(kind: str, codes: Iterable[str], steps: Sequence[Step], closed: bool) -> None:
    """May `kind` be recorded now on a follow-up with these categories and steps?"""
    if kind not in STEP_LABELS:
        raise FollowUpRefused(f"未知的后续处置步骤：{kind}（可选：{'、'.join(STEP_LABELS)}）")
    label, have = STEP_LABELS[kind], _kinds(steps)
    if kind == "abnormal_remove":
        if not listed(steps):
            raise FollowUpRefused("该市场主体未因本次后续处置被列入经营异常名录，不能移出")
        return
    if closed:
        raise FollowUpRefused(f"后续处置已办结，不能再登记“{label}”")
    if kind == "abnormal_list":
        if not set(codes) & ABNORMAL_CODES:
            raise FollowUpRefused("只有“通过登记的住所（经营场所）无法联系”或“公示信息隐瞒真实情况、弄虚作假”"
                                  "的检查结果才列入经营异常名录")
        if listed(steps):
            raise FollowUpRefused("该市场主体已因本次检查被列入经营异常名录")
    elif kind == "rectify" and any(s.kind == "rectify" and not s.recheck_published for s in steps):
        raise FollowUpRefused("已责令整改，复查结果公示前不能再次责令整改")
    elif kind == "case" and ("case" in have or "no_case" in have):
        raise FollowUpRefused("本次后续处置已立案或已决定不予立案")
    elif kind == "penalty":
        if "case" not in have:
            raise FollowUpRefused("作出行政处罚决定前须先登记立案")
        if "penalty" in have:
            raise FollowUpRefused("本案已登记行政处罚决定")
    elif kind == "no_case" and ("no_case" in have or "penalty" in have):
        raise FollowUpRefused("本次后续处置已有处罚决定或结案记录")


def check_fields(kind: str, doc_no: str, decided_on: Optional[dt.date], today: dt.date, *, due_on=None,
                 target: str = "", decision: str = "", penalty: str = "", procedure: str = "",
                 applied_on: Optional[dt.date] = None) -> None:
    """The record each step must carry (document number, dates, reasons)."""
    label = STEP_LABELS.get(kind, kind)
    if decided_on is None:
        raise FollowUpRefused(f"“{label}”须填写决定或文书日期")
    if decided_on > today:
        raise FollowUpRefused(f"“{label}”的日期 {decided_on} 不能晚于今天（{today}）")
    if kind != "no_case" and not doc_no.strip():
        raise FollowUpRefused(f"“{label}”须填写文书编号")
    if kind == "rectify" and (due_on is None or due_on < decided_on):
        raise FollowUpRefused("责令整改须填写不早于决定日期的整改期限")
    if kind == "transfer" and not target.strip():
        raise FollowUpRefused("移送其他部门须填写接收部门")
    if kind in ("no_case", "abnormal_remove") and not decision.strip():
        raise FollowUpRefused(f"“{label}”须说明理由")
    if kind == "penalty":
        if not penalty.strip():
            raise FollowUpRefused("行政处罚决定须填写处罚内容")
        if procedure not in (ORDINARY, SUMMARY):
            raise FollowUpRefused(f"行政处罚决定须注明适用程序：{ORDINARY} 或 {SUMMARY}")
    if kind == "abnormal_remove":
        if applied_on is None:
            raise FollowUpRefused("移出经营异常名录须填写市场主体的申请日期")
        if applied_on > decided_on:
            raise FollowUpRefused("移出决定日期不能早于申请日期")


def is_public(kind: str, procedure: str = "") -> bool:
    """Published on the public export: the abnormal-list decisions and ordinary-procedure penalties."""
    return kind in ("abnormal_list", "abnormal_remove") or (kind == "penalty" and procedure == ORDINARY)


def due_of(kind: str, decided_on: dt.date, add_wd: AddWorkingDays, *, applied_on: Optional[dt.date] = None,
           given: Optional[dt.date] = None) -> Optional[dt.date]:
    """The time limit recorded on a step: the rectification deadline as decided; for a case, the
    latest date of its penalty decision; for a penalty under the ordinary procedure, the latest
    date of its publication; for a removal, the latest date of the removal decision."""
    if kind == "rectify":
        return given
    if kind == "case":
        return decided_on + dt.timedelta(days=PENALTY_DAYS)
    if kind == "abnormal_remove" and applied_on is not None:
        return add_wd(applied_on, ABNORMAL_REMOVE_WORKING_DAYS)
    return None


def penalty_publicity_due(decided_on: dt.date, add_wd: AddWorkingDays) -> dt.date:
    return add_wd(decided_on, PENALTY_PUBLICITY_WORKING_DAYS)


def outstanding(codes: Iterable[str], steps: Sequence[Step], found_on: Optional[dt.date],
                add_wd: AddWorkingDays) -> list[tuple[str, Optional[dt.date]]]:
    """What is still missing before the follow-up may close: (Chinese description, deadline or None).

    `found_on`: the inspection date of the result (the day the facts were found, 查实)."""
    have = _kinds(steps)
    out: list[tuple[str, Optional[dt.date]]] = []
    for need in needs(codes):
        if need == "rectify":
            rect = [s for s in steps if s.kind == "rectify"]
            if not rect:
                out.append(("责令整改（期限及复查）", None))
            elif not rect[-1].recheck_published:
                out.append(("复查结果公示", rect[-1].due_on))
        elif need == "abnormal" and not {"abnormal_list", "transfer"} & set(have):
            # The registration authority lists; another department transfers its finding to it (移送).
            out.append(("列入经营异常名录决定（或移送登记机关）",
                        add_wd(found_on, ABNORMAL_LIST_WORKING_DAYS) if found_on else None))
        elif need == "disposal" and not {"penalty", "no_case", "transfer", "judicial"} & set(have):
            case = next((s for s in steps if s.kind == "case"), None)
            if case is not None:
                out.append(("行政处罚决定或结案", case.due_on))
            else:
                out.append(("立案、不予立案或移送",
                            add_wd(found_on, CASE_FILING_WORKING_DAYS) if found_on else None))
    return out


def check_close(codes: Iterable[str], steps: Sequence[Step], found_on: Optional[dt.date],
                add_wd: AddWorkingDays) -> None:
    missing = outstanding(codes, steps, found_on, add_wd)
    if missing:
        raise FollowUpRefused("后续处置尚不能办结，还缺少：" + "、".join(m for m, _ in missing))


def next_deadline(codes: Iterable[str], steps: Sequence[Step], found_on: Optional[dt.date],
                  add_wd: AddWorkingDays) -> Optional[dt.date]:
    dates = [d for _, d in outstanding(codes, steps, found_on, add_wd) if d is not None]
    return min(dates) if dates else None


def recheck_outcome(codes: Iterable[str], no_problem_codes: Iterable[str]) -> str:
    """The closing outcome a re-check's published result implies."""
    cs, clean = set(codes), set(no_problem_codes)
    if cs and cs <= clean:
        return "复查：已按期整改"
    return "复查：未按期整改，另行处置"


def may_replace(status: str) -> bool:
    """Only an entity that ceased to exist or moved out before the check is replaced by a reserve;
    无法联系 is a result to publish and follow up (列入经营异常名录), never a replacement."""
    return status in REPLACEMENT_STATUSES
