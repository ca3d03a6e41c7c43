"""Who may do what: roles, actions and the one rule table (pure: no DB, no UI).

Services call `require(actor, action, department_id=...)` before they change
anything; the UI calls `can(actor, action)` only to hide what a role cannot do.
The services' check is the real one.

The table is data: each action names the roles allowed and, of those, the
roles that must belong to the department the object belongs to (a plan's lead
department for plan.* and draw.*, an item's department for result.*).
Administrators, auditors and the system act bureau-wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Protocol

from scheduler.errors import DsrError

# Role codes (stored in User.role and AuditEvent.role) and their Chinese labels.
ROLES: dict[str, str] = {
    "admin": "管理员",
    "planner": "计划人员",
    "inspector": "执法检查人员",
    "reviewer": "审核人员",
    "auditor": "审计人员",
    "public": "公众",
    "system": "系统",
}
# Roles a person's account may have ("system" is the scheduled worker only).
ACCOUNT_ROLES: tuple[str, ...] = ("admin", "planner", "inspector", "reviewer", "auditor", "public")
# Roles whose accounts must name their department.
DEPARTMENT_ROLES: frozenset[str] = frozenset({"planner", "reviewer"})

IMPORT_KINDS: tuple[str, ...] = ("enterprises", "inspectors", "experts", "items", "conflicts")


class ActorLike(Protocol):
    name: str
    role: str
    bureau_id: Optional[int]
    department_id: Optional[int]


class PermissionDenied(DsrError, PermissionError):
    """The actor may not do this; the message (Chinese) says why."""

    code = "permission.denied"

    def __init__(self, message: str, action: str = "", role: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.role = role


@dataclass(frozen=True)
class Rule:
    """`roles` may do the action; those also in `own_department` only for their department."""

    label: str
    roles: frozenset[str]
    own_department: frozenset[str] = frozenset()


def _rule(label: str, roles: str, own_department: str = "") -> Rule:
    return Rule(label, frozenset(roles.split()), frozenset(own_department.split()))


# The rule table. Keep every permission here.
RULES: Mapping[str, Rule] = {
    **{f"import.{k}": _rule(f"导入{n}", "admin planner") for k, n in zip(
        IMPORT_KINDS, ("检查对象名录", "执法检查人员名录", "专家名录", "随机抽查事项清单", "回避申报"))},
    # Editing one record of 两库一单 by hand (scheduler/library/records.py): as importing it.
    "library.edit": _rule("编辑两库一单记录", "admin planner"),
    # Export in the import columns (internal: risk classes, conflict declarations); recorded.
    "library.export": _rule("导出两库一单", "admin planner reviewer auditor"),
    "plan.save": _rule("保存抽查计划", "admin planner", "planner"),
    "plan.schedule": _rule("修改计划的定时设置", "admin planner", "planner"),
    # A plan is approved by a second person: never the account that created or last changed it
    # (checked by scheduler/plans/versions.py); published once approved.
    "plan.approve": _rule("审批抽查计划", "admin reviewer", "reviewer"),
    "plan.publish": _rule("发布抽查计划", "admin planner reviewer", "planner reviewer"),
    "draw.freeze": _rule("冻结抽查名录", "admin planner system", "planner"),
    "draw.execute": _rule("执行抽取", "admin planner system", "planner"),
    # Voiding lets a draw be redone: kept away from the planner who drew, so no
    # one can draw, dislike the result, void and draw again on their own.
    "draw.void": _rule("作废抽取", "admin"),
    "task.replace": _rule("替换抽查对象", "admin planner", "planner"),
    "team.replace": _rule("更换检查人员", "admin planner", "planner"),
    # Two different administrators: one enters, another confirms (checked by the calendar service).
    "calendar.enter": _rule("录入节假日安排", "admin"),
    "calendar.confirm": _rule("确认节假日安排", "admin"),
    "audit.verify": _rule("核验审计链", "admin planner inspector reviewer auditor"),
    "audit.export": _rule("导出审计链", "admin auditor"),
    "user.manage": _rule("管理用户账号", "admin"),
    "user.view": _rule("查看用户账号", "admin auditor"),
    # Deployment-wide lists: result categories and the risk-class scheme (页面 系统设置).
    "settings.manage": _rule("修改系统设置", "admin"),
    # result.*: the results service also checks team membership and who entered what.
    "result.enter": _rule("录入检查结果", "inspector"),
    "result.review": _rule("审核检查结果", "reviewer", "reviewer"),
    "result.publish": _rule("公示检查结果", "admin reviewer planner", "reviewer planner"),
    "result.correct": _rule("更正已公示结果", "admin reviewer planner", "reviewer planner"),
    "result.follow_up": _rule("办理后续处置", "admin inspector reviewer planner", "reviewer planner"),
    "result.case": _rule("登记个案或专项检查", "admin planner reviewer", "planner reviewer"),
    # Field records: the service also checks that the inspector is on the task's team.
    "result.attach": _rule("上传检查附件", "inspector"),
    "result.checklist": _rule("编辑检查表", "admin planner", "planner"),
    # 当事人申请回避: recorded by the team or the department, decided by the department's head.
    "recusal.record": _rule("登记回避申请", "admin inspector planner reviewer"),
    "recusal.decide": _rule("决定回避申请", "admin planner", "planner"),
    "export.public": _rule("导出公示信息", "admin planner inspector reviewer auditor public"),
    # 进一次门、查多项事 across plans (scheduler/visits/service.py): the coordination window is
    # deployment-wide; a visit's date follows its lead task's plan's department.
    "visits.settings": _rule("设置联合检查协调周期", "admin"),
    "visits.refresh": _rule("重新计算联合检查", "admin planner"),
    "visits.schedule": _rule("安排联合检查日期", "admin planner", "planner"),
    # 平台对接 (scheduler/docking): batches to the credit publicity system and from the city platform.
    "exchange.view": _rule("查看平台对接批次", "admin planner reviewer auditor"),
    "exchange.export": _rule("生成和报送归集批次", "admin planner"),
    "exchange.receipt": _rule("导入归集回执", "admin planner"),
    "exchange.import": _rule("导入市级平台数据", "admin planner"),
    "exchange.settings": _rule("设置检查实施机关法定名称", "admin"),
    "exchange.rematch": _rule("为市抽县查任务匹配本局检查组", "admin planner"),
    # 实行垂直管理的部门 (scheduler/matching/vertical.py): the city approves a district plan's use of its roster.
    "roster.vertical": _rule("设置垂直管理部门", "admin"),
    "roster.approve": _rule("审批使用市级执法检查人员名录库", "admin reviewer"),
    "roster.view": _rule("查看市级名录库使用情况", "admin planner reviewer auditor"),
}


def rule(action: str) -> Rule:
    try:
        return RULES[action]
    except KeyError:
        raise PermissionDenied(f"未定义的操作：{action}", action) from None


def _refusal(actor: ActorLike, action: str, *, bureau_id: Optional[int], department_id: Optional[int]) -> Optional[str]:
    """Why `actor` may not do `action` on that object (Chinese), or None if allowed."""
    r = rule(action)
    role_label = ROLES.get(actor.role, actor.role or "未知角色")
    if actor.role not in r.roles:
        return f"{role_label}无权{r.label}"
    if bureau_id is not None and actor.bureau_id is not None and actor.bureau_id != bureau_id:
        return f"只能在本监管局范围内{r.label}"
    if actor.role in r.own_department:
        if actor.department_id is None:
            return f"账号未指定所属部门，不能{r.label}"
        # Fail closed: a department-scoped check without the object's department is refused.
        if department_id is None or department_id != actor.department_id:
            return f"{role_label}只能对本部门的业务{r.label}"
    return None


def allowed(actor: ActorLike, action: str, *, bureau_id: Optional[int] = None, department_id: Optional[int] = None) -> bool:
    """May `actor` do `action` on an object of that bureau and department?

    For department-scoped roles the object's department must be given and match.
    """
    return _refusal(actor, action, bureau_id=bureau_id, department_id=department_id) is None


def require(actor: ActorLike, action: str, *, bureau_id: Optional[int] = None, department_id: Optional[int] = None) -> None:
    """Raise PermissionDenied (Chinese message) unless `allowed(...)`."""
    why = _refusal(actor, action, bureau_id=bureau_id, department_id=department_id)
    if why is not None:
        raise PermissionDenied(why, action, actor.role)


def can(actor: ActorLike, action: str) -> bool:
    """Role-level check for the UI: may the actor do `action` on at least some object?"""
    r = RULES.get(action)
    if r is None or actor.role not in r.roles:
        return False
    return actor.role not in r.own_department or actor.department_id is not None


# --- bureau scope (pure; the services read the bureau tree in scheduler/access/scope.py) ---------

CITY_LEVEL = "city"
# Accounts without a bureau that act deployment-wide (the CLI's administrator, a deployment auditor).
DEPLOYMENT_ROLES: frozenset[str] = frozenset({"admin", "auditor"})
OTHER_BUREAU = "无权访问其他市场监管局的数据"


@dataclass(frozen=True)
class BureauNode:
    """One bureau of the tree: its level (city / district) and its parent bureau."""

    id: int
    level: str = "district"
    parent_id: Optional[int] = None


def sees_every_bureau(actor: Optional[ActorLike]) -> bool:
    """Whether `actor` sees every bureau whatever the bureau tree: no actor (an internal call), the
    system actor, an administrator or auditor of the whole deployment. The tree need not be read."""
    return actor is None or actor.role == "system" or (actor.bureau_id is None and actor.role in DEPLOYMENT_ROLES)


def visible_bureau_ids(actor: ActorLike, bureaus: Iterable[BureauNode]) -> Optional[frozenset[int]]:
    """The bureaus whose data `actor` may see and change; None means every bureau.

    - the system actor (the worker) is unrestricted;
    - an account without a bureau: administrators and auditors act deployment-wide (the CLI
      actor is such an administrator); any other role is unrestricted only where there is
      at most one bureau, and sees nothing in a multi-bureau deployment (fail closed);
    - an account of a city-level bureau sees its bureau and its child bureaus (parent_id);
    - an account of any other bureau sees its own bureau only; an unknown bureau sees nothing.
    """
    if actor.role == "system":
        return None
    nodes = {b.id: b for b in bureaus}
    if actor.bureau_id is None:
        if actor.role in DEPLOYMENT_ROLES or len(nodes) <= 1:
            return None
        return frozenset()
    return bureau_area(actor.bureau_id, nodes.values())


def bureau_area(bureau_id: int, bureaus: Iterable[BureauNode]) -> frozenset[int]:
    """A bureau and, for a city-level bureau, its child bureaus (parent_id); empty if unknown."""
    nodes = {b.id: b for b in bureaus}
    own = nodes.get(bureau_id)
    if own is None:
        return frozenset()
    if own.level != CITY_LEVEL:
        return frozenset({own.id})
    return frozenset({own.id} | {b.id for b in nodes.values() if b.parent_id == own.id})


def bureau_visible(visible: Optional[frozenset[int]], bureau_id: Optional[int]) -> bool:
    """Is an object of `bureau_id` inside `visible` (None = every bureau)? An object without a bureau
    is visible only to unrestricted actors."""
    if visible is None:
        return True
    return bureau_id is not None and bureau_id in visible


def actions_of(role: str) -> list[str]:
    """Every action the role may do (for docs and `dsr user list`)."""
    return sorted(a for a, r in RULES.items() if role in r.roles)
