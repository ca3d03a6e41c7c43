"""A plan as a published document: draft -> approved -> published, and its versions.

Pure rules (no database, no clock): scheduler/plans/versions.py reads the plan, asks
these functions, and writes. The annual plan is 'filed with the level above' and made
public before the checks (国市监信〔2019〕38号), so:

- a plan is saved as a draft; a second person with the right to approve (not the
  account that created it, nor the one that last changed it) approves it; it is then
  published, and the public page shows it;
- a draft is never drawn: a draw names the approved version it used;
- changing an approved (or published) plan needs a reason and opens the next version
  as a draft, which needs approval again; the earlier versions stay on record and public.
"""

from __future__ import annotations

from scheduler.errors import DsrError

DRAFT, APPROVED, PUBLISHED = "draft", "approved", "published"
STATUSES = (DRAFT, APPROVED, PUBLISHED)
STATUS_LABELS = {DRAFT: "草稿", APPROVED: "已审批", PUBLISHED: "已发布"}
# Statuses whose current version may be drawn.
DRAWABLE = frozenset({APPROVED, PUBLISHED})


class PlanStateError(DsrError, ValueError):
    """A lifecycle step the plan's status or the people involved do not allow (Chinese message)."""

    code = "plan.lifecycle"


class PlanNotApproved(DsrError, RuntimeError):
    """A draw of a plan whose current version is a draft."""

    code = "plan.not_approved"


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def require_drawable(code: str, status: str, version: int) -> None:
    """Refuse a draw (or a freeze) of a plan whose current version is not approved."""
    if status not in DRAWABLE:
        raise PlanNotApproved(
            f"抽查计划“{code}”第 {version} 版为{label(status)}，尚未审批，不能抽取："
            f"须由创建或修改人以外、有审批权限的人员审批（dsr plans approve {code} --as 账号）"
        )


def require_approvable(code: str, status: str, version: int, approver: str, created_by: str, updated_by: str) -> None:
    """Only a draft is approved, and never by the account that created it or last changed it."""
    if status != DRAFT:
        raise PlanStateError(f"抽查计划“{code}”第 {version} 版{label(status)}，无需再审批")
    who = (approver or "").strip()
    if not who:
        raise PlanStateError("请指明审批人账号")
    if who == (created_by or "").strip():
        raise PlanStateError(f"审批人不能是计划的创建人：抽查计划“{code}”由 {who} 创建，须由另一名有审批权限的人员审批")
    if who == (updated_by or "").strip():
        raise PlanStateError(f"审批人不能是计划的最后修改人：抽查计划“{code}”第 {version} 版由 {who} 修改，须由另一名有审批权限的人员审批")


def require_publishable(code: str, status: str, version: int) -> None:
    """Only an approved version is published."""
    if status == PUBLISHED:
        raise PlanStateError(f"抽查计划“{code}”第 {version} 版已发布")
    if status != APPROVED:
        raise PlanStateError(f"抽查计划“{code}”第 {version} 版尚未审批，审批后方可发布")


def next_version(code: str, status: str, version: int, reason: str) -> tuple[int, str]:
    """(version, reason) a change of the plan is saved under: a draft is edited in place; an approved
    or published plan opens the next version, and that needs a written reason."""
    if status == DRAFT:
        return version, (reason or "").strip()
    why = (reason or "").strip()
    if not why:
        raise PlanStateError(f"抽查计划“{code}”第 {version} 版{label(status)}：修改须填写修改理由，修改后为第 {version + 1} 版（草稿），须重新审批")
    return version + 1, why


def copy_name(name: str, from_year: int | None, to_year: int) -> str:
    """The copy's name: the source's year in the name becomes the new year (2026年度… -> 2027年度…)."""
    if from_year is not None and str(from_year) in name:
        return name.replace(str(from_year), str(to_year))
    return f"{to_year}年度{name}" if str(to_year) not in name else name


def year_of(code: str, name: str) -> int | None:
    """A plan's year as read from its code or name (PG-2026-GS, 2026年度…), when no year is stored."""
    import re

    for text in (code, name):
        m = re.search(r"(?<!\d)(20\d\d)(?!\d)", text or "")
        if m:
            return int(m.group(1))
    return None


def on_save(plan, actor_name: str, reason: str, created: bool) -> None:  # noqa: ANN001 — a db Plan
    """Stamp a plan being saved: a new plan is a draft, version 1; a change of an approved or
    published plan opens the next version as a draft (with its reason) and clears the approval."""
    if created:
        plan.status, plan.version, plan.created_by, plan.change_reason = DRAFT, 1, actor_name, (reason or "").strip()
    else:
        version, why = next_version(plan.code, plan.status, plan.version, reason)
        if plan.status != DRAFT:
            plan.status, plan.version, plan.change_reason = DRAFT, version, why
            plan.approved_by, plan.approved_at, plan.published_by, plan.published_at = "", None, "", None
        elif why:
            plan.change_reason = why
    plan.updated_by = actor_name
