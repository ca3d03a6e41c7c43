"""The task lifecycle after the draw: states, transitions and who may do what.

Pure rules (no DB, no clock): the services in scheduler.results.service read
the rows, ask these functions, and write. Every refusal is a Chinese sentence
meant for the person who tried.

A task's state follows its items' results (谁检查、谁录入、谁公开: each item is
entered, reviewed and published by its own department, so a joint task moves
on only when every department has done its part):

    drawn → assigned → inspecting → completed → reviewed → published
    side states: replaced (reserve taken), voided, cannot_inspect (with a reason)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from scheduler.errors import DsrError

# --- states --------------------------------------------------------------------

TASK_STATES = ("drawn", "assigned", "inspecting", "completed", "reviewed", "published",
               "reserve", "replaced", "voided", "cannot_inspect")
TASK_LABELS = {
    "drawn": "已抽取（待补足检查组）",
    "assigned": "已匹配检查组",
    "inspecting": "检查中",
    "completed": "已完成检查",
    "reviewed": "已审核",
    "published": "已公示",
    "reserve": "备选",
    "replaced": "已被替换",
    "voided": "已作废",
    "cannot_inspect": "无法检查",
}

# Task transitions; the result-driven ones are derived by `task_status_for`.
TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    "drawn": frozenset({"assigned", "replaced", "voided", "cannot_inspect"}),
    "assigned": frozenset({"inspecting", "replaced", "voided", "cannot_inspect"}),
    "inspecting": frozenset({"completed", "cannot_inspect"}),
    "completed": frozenset({"reviewed"}),
    "reviewed": frozenset({"published"}),
    "published": frozenset(),
    "reserve": frozenset({"drawn", "voided"}),
    "replaced": frozenset(),
    "voided": frozenset(),
    "cannot_inspect": frozenset(),
}
# States in which results may be worked on.
WORKING_STATES = frozenset({"assigned", "inspecting", "completed", "reviewed", "published"})

NOT_ENTERED, PENDING, RETURNED, APPROVED, PUBLISHED = "未录入", "待审核", "审核退回", "已审核", "已公示"
RESULT_STATES = (NOT_ENTERED, PENDING, RETURNED, APPROVED, PUBLISHED)
RESULT_TRANSITIONS: dict[str, frozenset[str]] = {
    NOT_ENTERED: frozenset({PENDING}),
    PENDING: frozenset({PENDING, APPROVED, RETURNED}),  # the inspector may revise before review
    RETURNED: frozenset({PENDING}),
    APPROVED: frozenset({PUBLISHED}),
    PUBLISHED: frozenset({PUBLISHED}),  # only through a correction with a reason
}

FOLLOW_UP_ACTIONS = ("责令改正", "立案查处", "移送司法机关", "其他")

CASE_KINDS = {"case": "投诉举报（个案检查）", "special": "专项检查"}
# A re-check (复查) after a rectification order (scheduler/results/followup_service.py).
RECHECK_LABEL = "复查"


class Refused(DsrError):
    """An operation the rules forbid; the message (Chinese) says why."""

    code = "result.refused"


def can_move(src: str, dst: str) -> bool:
    return dst in TASK_TRANSITIONS.get(src, frozenset())


def check_task_move(src: str, dst: str) -> None:
    if not can_move(src, dst):
        raise Refused(f"任务状态不能从“{TASK_LABELS.get(src, src)}”变为“{TASK_LABELS.get(dst, dst)}”")


def check_result_move(src: str, dst: str) -> None:
    if dst not in RESULT_TRANSITIONS.get(src, frozenset()):
        raise Refused(f"检查结果状态不能从“{src}”变为“{dst}”")


def task_status_for(current: str, result_states: Sequence[str]) -> str:
    """The task state implied by its items' result states (one per item).

    Completed once every item has a result (a sent-back result still counts: the
    inspection is done, only its record is being fixed); reviewed when every
    item is approved or public; published when every item is public.
    """
    if current not in WORKING_STATES or not result_states:
        return current
    st = list(result_states)
    if all(s == PUBLISHED for s in st):
        return "published"
    if all(s in (APPROVED, PUBLISHED) for s in st):
        return "reviewed"
    if all(s != NOT_ENTERED for s in st):
        return "completed"
    if any(s != NOT_ENTERED for s in st):
        return "inspecting"
    return "inspecting" if current == "inspecting" else "assigned"


# --- categories ------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    problem: bool = False
    no_problem: bool = False
    opens_follow_up: bool = False
    follow_up_action: str = ""
    sort_order: int = 0
    active: bool = True


# The national list as shown on the publicity system (codes are dsr's own).
NATIONAL_CATEGORIES: tuple[Category, ...] = (
    Category("01", "未发现问题", no_problem=True, sort_order=1),
    Category("02", "未按规定公示应当公示的信息", problem=True, opens_follow_up=True, follow_up_action="责令改正", sort_order=2),
    Category("03", "公示信息隐瞒真实情况、弄虚作假", problem=True, opens_follow_up=True, follow_up_action="立案查处", sort_order=3),
    Category("04", "通过登记的住所（经营场所）无法联系", problem=True, opens_follow_up=True, follow_up_action="其他", sort_order=4),
    Category("05", "不予配合情节严重", problem=True, opens_follow_up=True, follow_up_action="立案查处", sort_order=5),
    Category("06", "未发现开展本次抽查涉及的经营活动", sort_order=6),
    Category("07", "发现问题已责令改正", problem=True, opens_follow_up=True, follow_up_action="责令改正", sort_order=7),
    Category("08", "发现问题待后续处理", problem=True, opens_follow_up=True, follow_up_action="其他", sort_order=8),
    Category("09", "已关闭停业或正在组织清算", sort_order=9),
    Category("10", "已注销", sort_order=10),
    Category("11", "已吊销营业执照", sort_order=11),
    Category("12", "其他", sort_order=12),
)


def resolve_categories(given: Iterable[str], known: Mapping[str, Category]) -> list[Category]:
    """Codes or names → categories (sorted by list order); refuses unknown,
    inactive, empty, and 未发现问题 combined with a problem category."""
    by_name = {c.name: c for c in known.values()}
    out: dict[str, Category] = {}
    for g in given:
        g = (g or "").strip()
        if not g:
            continue
        c = known.get(g) or by_name.get(g)
        if c is None:
            raise Refused(f"未知的检查结果类别：“{g}”")
        if not c.active:
            raise Refused(f"检查结果类别“{c.name}”已停用")
        out[c.code] = c
    if not out:
        raise Refused("请至少选择一个检查结果类别")
    cats = sorted(out.values(), key=lambda c: (c.sort_order, c.code))
    if any(c.no_problem for c in cats) and any(c.problem for c in cats):
        clean = next(c for c in cats if c.no_problem)
        bad = "、".join(c.name for c in cats if c.problem)
        raise Refused(f"“{clean.name}”不能与发现问题的类别（{bad}）同时选择")
    return cats


def follow_up_action_for(cats: Sequence[Category]) -> Optional[str]:
    """The follow-up a result opens (None if it opens none): the strongest action asked for."""
    actions = [c.follow_up_action or "其他" for c in cats if c.opens_follow_up]
    if not actions:
        return None
    strength = {"移送司法机关": 0, "立案查处": 1, "责令改正": 2, "其他": 3}
    return min(actions, key=lambda a: strength.get(a, 9))


# --- who may do what ---------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """The acting person as the rules see them (from services.context.Actor)."""

    name: str
    role: str
    department_id: Optional[int] = None


def may_enter(who: Who, team: Mapping[str, Optional[int]], item_department: int) -> None:
    """`team`: inspector_id → department id of the task's active sworn members.

    The inspector must be on the team; when the team has members of the item's
    department, only they enter that item (each department records its own).
    """
    if who.role != "inspector":
        raise Refused("只有检查组的执法检查人员可以录入检查结果")
    if who.name not in team:
        raise Refused(f"执法检查人员 {who.name} 不是本任务检查组成员，不能录入检查结果")
    own = {pid for pid, d in team.items() if d == item_department}
    if own and who.name not in own:
        raise Refused("该检查事项由其所属部门的检查组成员录入（谁检查、谁录入）")


def may_review(who: Who, item_department: int, entered_by: str) -> None:
    if who.role != "reviewer":
        raise Refused("只有审核人员可以审核检查结果")
    if who.department_id != item_department:
        raise Refused("只能审核本部门检查事项的结果")
    if who.name == entered_by:
        raise Refused("录入人不能审核自己录入的结果")


def may_publish(who: Who, item_department: int) -> None:
    """谁公开: the item's department (reviewer or planner) or an administrator."""
    if who.role == "admin":
        return
    if who.role not in ("reviewer", "planner"):
        raise Refused("只有检查事项所属部门的审核或计划人员、管理员可以公示结果")
    if who.department_id != item_department:
        raise Refused("各部门只能公示本部门检查事项的结果")


def may_correct(who: Who, item_department: int, reason: str) -> None:
    may_publish(who, item_department)
    if not (reason or "").strip():
        raise Refused("更正已公示的结果必须填写更正理由")


def may_follow_up(who: Who, item_department: int, team: Mapping[str, Optional[int]]) -> None:
    if who.role == "admin":
        return
    if who.role == "inspector" and who.name in team:
        return
    if who.role in ("reviewer", "planner") and who.department_id == item_department:
        return
    raise Refused("只有本部门人员、检查组成员或管理员可以办理后续处置")


def may_declare_cannot_inspect(who: Who, team: Mapping[str, Optional[int]], departments: Iterable[int], reason: str) -> None:
    if not (reason or "").strip():
        raise Refused("标记无法检查必须说明原因")
    if who.role == "admin":
        return
    if who.role == "inspector" and who.name in team:
        return
    if who.role in ("reviewer", "planner") and who.department_id in set(departments):
        return
    raise Refused("只有检查组成员、参与部门人员或管理员可以标记无法检查")


def may_create_case(who: Who, department_id: int, reason: str) -> None:
    if not (reason or "").strip():
        raise Refused("个案或专项检查必须说明依据（如投诉举报编号、专项部署文件）")
    if who.role == "admin":
        return
    if who.role in ("planner", "reviewer") and who.department_id == department_id:
        return
    raise Refused("只有本部门的计划或审核人员、管理员可以登记个案或专项检查")


def check_type(kind: str, plan_kind: Optional[str], departments: int) -> str:
    """检查类型 as published."""
    if kind == "case":
        return CASE_KINDS["case"]
    if kind == "recheck":
        return RECHECK_LABEL
    if kind == "special" or plan_kind == "special":
        return CASE_KINDS["special"]
    return "联合抽查" if departments > 1 else "双随机抽查"
