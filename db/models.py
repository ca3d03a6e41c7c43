"""SQLModel tables: the two rosters and one list (两库一单), plans, draws, tasks.

Ownership: the enterprise registry and the towns are shared by every bureau of a
deployment (an entity belongs to the bureau whose area holds its town); all
other records belong to one bureau.

Multi-valued text fields (tags, qualifications, scopes) are stored as
semicolon-separated, sorted, de-duplicated text (db/lists.py `join_list`), so a whole
registry row stays one flat row that bulk inserts and COPY handle fast.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, text, true
from sqlmodel import Field, SQLModel

from db.lists import join_list, split_list  # noqa: F401 — imported from here across the code


def utcnow() -> dt.datetime:
    """Timestamps are stored as aware UTC (SQLModel's UTCDateTime)."""
    return dt.datetime.now(dt.timezone.utc)


# --- organisation -----------------------------------------------------------


class Bureau(SQLModel, table=True):
    """A market-supervision bureau (市场监管局): city or district level."""

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=200)
    level: str = Field(default="district", max_length=16)  # city / district
    area_code: str = Field(max_length=12)  # GB/T 2260, e.g. 110117
    parent_id: Optional[int] = Field(default=None, foreign_key="bureau.id")


class Town(SQLModel, table=True):
    """乡镇街道: GB/T 2260 county code + 3-digit township code (e.g. 110117001)."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)


class Department(SQLModel, table=True):
    """A joint-meeting member department (联席会议成员单位)."""

    __table_args__ = (UniqueConstraint("bureau_id", "code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)
    # The name the public record shows as 检查实施机关 (e.g. 北京市平谷区市场监督管理局); "" = `name`.
    legal_name: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    # 实行垂直管理的部门 (税务, 海关, ...): its roster is kept by the parent (city) bureau's department
    # of the same code; a plan of this bureau draws that department's inspectors from the city roster.
    vertical: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class RosterUse(SQLModel, table=True):
    """The city's approval of a district plan drawing inspectors of a vertically managed
    department from the city roster (docs/multi-bureau.md). One row per plan and department."""

    __table_args__ = (UniqueConstraint("plan_id", "department_code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    city_bureau_id: int = Field(foreign_key="bureau.id")
    department_code: str = Field(max_length=32)
    approved_by: str = Field(max_length=64)
    approved_at: dt.datetime = Field(default_factory=utcnow)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Setting(SQLModel, table=True):
    """Deployment-wide settings, e.g. `risk_classes` = "A;B;C;D"."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


# --- 检查对象名录库 ------------------------------------------------------------


class Enterprise(SQLModel, table=True):
    """One market entity of the shared registry. `risk_class` is internal."""

    __table_args__ = (
        Index("ix_enterprise_town_status", "town_code", "status"),
        Index("ix_enterprise_name", "name"),
        # Covering index for the dashboard's coverage figures (存续 entities by risk, town, industry).
        Index("ix_enterprise_coverage", "status", "risk_class", "town_code", "industry_code"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    uscc: str = Field(unique=True, max_length=18)
    name: str = Field(max_length=200)
    entity_type: str = Field(max_length=32)  # 企业 / 个体工商户 / 农民专业合作社
    industry_code: str = Field(max_length=8, index=True)  # GB/T 4754, e.g. C1391
    town_code: str = Field(foreign_key="town.code", max_length=12)
    address: str = Field(default="", max_length=300)
    registered_on: Optional[dt.date] = None
    status: str = Field(max_length=8)  # 存续 / 注销 / 吊销 / 迁出
    risk_class: str = Field(max_length=4, index=True)
    tags: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow)


# --- 执法检查人员名录库 and experts --------------------------------------------


class Inspector(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("bureau_id", "inspector_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    inspector_id: str = Field(max_length=32)  # public-facing roster id
    name: str = Field(max_length=50)
    department_id: int = Field(foreign_key="department.id", index=True)
    cert_no: str = Field(max_length=32, unique=True)  # 执法证号, personal data
    cert_valid_until: Optional[dt.date] = None  # 执法证有效期至 (inclusive); ineligible the day after
    qualifications: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    region: str = Field(default="", max_length=100)
    active: bool = True
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Expert(SQLModel, table=True):
    """专家 / 检测机构: outside help; never counts toward the two sworn inspectors."""

    __table_args__ = (UniqueConstraint("bureau_id", "expert_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    expert_id: str = Field(max_length=32)
    name: str = Field(max_length=100)
    field: str = Field(max_length=50)  # 专业领域, matches CheckItem.expert_field
    organisation: str = Field(default="", max_length=200)
    active: bool = True
    updated_at: dt.datetime = Field(default_factory=utcnow)


# --- 随机抽查事项清单 --------------------------------------------------------------


class CheckItem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("bureau_id", "code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    code: str = Field(max_length=32)
    category: str = Field(max_length=100)  # 抽查类别
    name: str = Field(max_length=200)  # 抽查事项
    kind: str = Field(max_length=8)  # key / general (重点 / 一般)
    method: str = Field(default="现场检查", max_length=50)  # 检查方式
    department_id: int = Field(foreign_key="department.id", index=True)  # 检查主体
    legal_basis: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # 检查对象 (scope): empty means "any"
    scope_entity_types: str = Field(default="", max_length=200)
    scope_industries: str = Field(default="", max_length=500)  # GB/T 4754 prefixes
    scope_tags: str = Field(default="", max_length=500)  # required licence tags (all)
    scope_towns: str = Field(default="", max_length=1000)
    ratio_cap: Optional[str] = Field(default=None, max_length=12)  # decimal string; general items
    ratio_floor: Optional[str] = Field(default=None, max_length=12)
    required_qualifications: str = Field(default="", max_length=500)
    expert_field: str = Field(default="", max_length=50)
    initiating_department: str = Field(default="", max_length=100)  # 发起部门 (joint items)
    cooperating_departments: str = Field(default="", max_length=500)  # 配合部门
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Conflict(SQLModel, table=True):
    """回避: an inspector who must not inspect an entity. Personal data."""

    __table_args__ = (UniqueConstraint("inspector_pk", "uscc"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    inspector_pk: int = Field(foreign_key="inspector.id", index=True)
    uscc: str = Field(max_length=18, index=True)
    reason: str = Field(max_length=32)  # 亲属关系 / 曾任职 / 持股 / 其他
    declared_by: str = Field(default="本人申报", max_length=16)  # 本人申报 / 管理员录入
    note: str = Field(default="", max_length=500)
    declared_at: dt.datetime = Field(default_factory=utcnow)


# --- accounts --------------------------------------------------------------------


class User(SQLModel, table=True):
    """A login account of the planners' app; roles and rules in scheduler/access/permissions.py.

    Only an argon2 hash of the password is stored. An inspector's account links
    to their roster entry so that "own team" checks can find them.
    """

    # "user" is a reserved word in PostgreSQL (SELECT * FROM user shows current_user).
    __tablename__ = "useraccount"

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(default="", max_length=100)
    password_hash: str = Field(default="", max_length=255)
    role: str = Field(max_length=16)  # admin / planner / inspector / reviewer / auditor / public
    bureau_id: Optional[int] = Field(default=None, foreign_key="bureau.id", index=True)
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    inspector_pk: Optional[int] = Field(default=None, foreign_key="inspector.id")
    active: bool = True
    failed_attempts: int = 0
    locked_until: Optional[dt.datetime] = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_login_at: Optional[dt.datetime] = None
    # A password someone else set (the demo's generated ones): changed at the first login.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class LoginSession(SQLModel, table=True):
    """A login of the web app (scheduler/accounts/sessions.py): the browser holds a signed token in
    an HttpOnly cookie, the database only its SHA-256. Ended by logout or after the idle timeout."""

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    token_hash: Optional[str] = Field(default=None, max_length=64, unique=True)
    claim_hash: Optional[str] = Field(default=None, max_length=64, unique=True)  # one-time, until the cookie is set
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    ended_at: Optional[dt.datetime] = None


# --- imports ---------------------------------------------------------------------


class ImportRun(SQLModel, table=True):
    """One `dsr import`: what file, how many rows did what."""

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: Optional[int] = Field(default=None, foreign_key="bureau.id")
    kind: str = Field(max_length=16)
    file_name: str = Field(max_length=300)
    file_sha256: str = Field(max_length=64)
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    actor: str = Field(default="cli", max_length=64)
    at: dt.datetime = Field(default_factory=utcnow)


class ChangeRecord(SQLModel, table=True):
    """What a re-import changed on an existing row (field: old -> new, as JSON)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    import_run_id: int = Field(foreign_key="importrun.id", index=True)
    kind: str = Field(max_length=16)
    key: str = Field(max_length=64, index=True)
    changes: str = Field(sa_column=Column(Text, nullable=False))


# --- plans, draws, tasks ------------------------------------------------------------


class Plan(SQLModel, table=True):
    """抽查计划. Ratios and counts are JSON objects keyed by risk class.

    The column defaults are a plan's defaults, defined in scheduler.plans.rules.DEFAULTS; db may
    not import scheduler, so they are literals here and tests/test_rules.py keeps them equal."""

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    # 计划年度: the ratios and counts are annual targets, shared by the periods of this year
    # (scheduler/plans/quota.py). 0 only on a plan not yet saved by the service.
    year: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    kind: str = Field(default="random", max_length=16)  # random / special
    lead_department_id: int = Field(foreign_key="department.id")
    strata_by: str = Field(default="risk", max_length=32)  # risk / risk+town / risk+industry
    ratios: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # {"A": "0.01", ...}
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # {"D": 20}
    batches: int = 1
    reserve_ratio: str = Field(default="0.1", max_length=12)
    frame_towns: str = Field(default="", max_length=1000)  # extra frame filter
    team_size: int = 2
    matching_policy: str = Field(default="balanced", max_length=16)
    workload_cap: int = 20
    expert_cap: int = 20
    # 抽查频次: {"general_per_year": 1, "key_per_year": 0, "exempt_classes": []} (0 = no limit)
    frequency: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    schedule: str = Field(default="", max_length=100)
    require_public_seed: bool = False
    # False: this plan's tasks are never merged into other plans' visits (不可合并, e.g. an
    # urgent key item); scheduler/visits/rules.py reports the extra visits this causes.
    merge_visits: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    # The plan as a published document (scheduler/plans/lifecycle.py): draft -> approved -> published.
    # `version` counts the approved texts; changing an approved plan opens the next version as a draft.
    status: str = Field(default="draft", max_length=16, sa_column_kwargs={"server_default": "draft"})
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_by: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    updated_by: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    change_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    approved_by: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    approved_at: Optional[dt.datetime] = None
    published_by: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    published_at: Optional[dt.datetime] = None
    # 完成时限: a task is due this many working days after its draw; 0 = by the end of its period.
    task_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PlanVersion(SQLModel, table=True):
    """One approved text of a plan, kept for ever: `document` is the public plan as approved (JSON),
    so earlier versions stay on record and public after the plan changes."""

    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    version: int
    document: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    changed_by: str = Field(default="", max_length=64)
    approved_by: str = Field(max_length=64)
    approved_at: dt.datetime = Field(default_factory=utcnow)
    published_by: str = Field(default="", max_length=64)
    published_at: Optional[dt.datetime] = None


class PlanItem(SQLModel, table=True):
    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    item_id: int = Field(foreign_key="checkitem.id", primary_key=True)


class Draw(SQLModel, table=True):
    """One execution of a plan for a period. At most one live draw per (plan, period)."""

    __table_args__ = (
        Index(
            "uq_draw_live",
            "plan_id",
            "period",
            unique=True,
            sqlite_where=text("status != 'voided'"),
            postgresql_where=text("status != 'voided'"),
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    period: str = Field(max_length=16)
    status: str = Field(default="frozen", max_length=16)  # frozen / drawn / voided
    frame_sha256: str = Field(max_length=64)
    public_frame_sha256: str = Field(max_length=64)
    frame_size: int
    seed: Optional[str] = Field(default=None, max_length=64)
    seed_source: Optional[str] = Field(default=None, max_length=16)  # ceremony / system
    certificate: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    frozen_by: str = Field(default="", max_length=64)
    frozen_at: dt.datetime = Field(default_factory=utcnow)
    drawn_by: Optional[str] = Field(default=None, max_length=64)
    drawn_at: Optional[dt.datetime] = None
    void_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    voided_by: Optional[str] = Field(default=None, max_length=64)
    voided_at: Optional[dt.datetime] = None
    plan_version: Optional[int] = None  # the plan's version (PlanVersion) the draw used
    # The year's allocation the draw used (JSON, the certificate's auditor "annual" section; None on
    # draws made before plans had years): base, quota, drawn before and k per stratum.
    annual: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class DrawArchive(SQLModel, table=True):
    """The frozen frame, as the gzip of its canonical text, kept for re-verification."""

    draw_id: int = Field(foreign_key="draw.id", primary_key=True)
    frame_gz: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Matching inputs, canonical and gzipped, so teams can be re-verified later:
    # a JSON object {file name: canonical text} (roster.csv, conflicts.csv, ...).
    matching_gz: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The key of the hidden strata's commitments (docs/draw-algorithm.md §3.2): 32 random bytes
    # in hex, drawn when the frame is frozen. Secret: it opens every entity's risk class.
    commit_key: Optional[str] = Field(default=None, max_length=64)
    # The witnesses of a seed ceremony, as entered on 抽取 ("、"-joined); shown on the announcement.
    witnesses: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class LookupAttempt(SQLModel, table=True):
    """Attempts of the public self-check (本企业查询) per key ("src:<address>" or "uscc:<code>") and
    hour window, counted by one atomic upsert (scheduler/draw/selfcheck.py)."""

    key: str = Field(primary_key=True, max_length=96)
    window: str = Field(primary_key=True, max_length=16)  # UTC hour, "2026-12-05T13"
    count: int = Field(default=0)


class Task(SQLModel, table=True):
    """抽查任务: one entity to visit. Random-draw tasks point at their draw;
    case-based (个案) and special (专项) checks are kinds of their own."""

    # (draw_id, rank) also serves lookups by draw_id alone: no index of its own (a draw of
    # 10M entities writes ~290k tasks; one index less saved ~0.9 s of it).
    __table_args__ = (Index("ix_task_draw_rank", "draw_id", "rank"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    kind: str = Field(default="random", max_length=16)  # random / case / special
    draw_id: Optional[int] = Field(default=None, foreign_key="draw.id")
    uscc: str = Field(max_length=18, index=True)
    stratum: str = Field(default="", max_length=64)
    rank: Optional[int] = None  # 1-based draw order; reserves have none
    batch: Optional[int] = None
    ticket: str = Field(default="", max_length=64)
    reserve_rank: Optional[int] = None  # 1-based within its stratum, reserves only
    status: str = Field(default="drawn", max_length=20)
    replaces_task_id: Optional[int] = Field(default=None, foreign_key="task.id")
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: dt.datetime = Field(default_factory=utcnow)
    # Result lifecycle (issue: from inspection to public record).
    completed_on: Optional[dt.date] = None  # inspection date of the last item result
    deadline: Optional[dt.date] = None  # publication deadline: 20 working days after completed_on
    published_on: Optional[dt.date] = None  # date every item's result was public


class TaskItem(SQLModel, table=True):
    """The plan items a task checks: every plan item the entity qualifies for."""

    task_id: int = Field(foreign_key="task.id", primary_key=True)
    item_id: int = Field(foreign_key="checkitem.id", primary_key=True)


class Visit(SQLModel, table=True):
    """进一次门、查多项事: one visit to an entity in a coordination window, joining the
    tasks of several plans (rule in scheduler/visits/rules.py). The lead task (earliest draw)
    gives the visit its bureau, date and team leader."""

    __table_args__ = (UniqueConstraint("lead_task_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    uscc: str = Field(max_length=18, index=True)
    window: str = Field(max_length=16, index=True)  # 2026-12 / 2026-Q4
    lead_task_id: int = Field(foreign_key="task.id")
    planned_on: Optional[dt.date] = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class VisitTask(SQLModel, table=True):
    """The tasks behind one visit's door (each keeps its plan, items, team and results)."""

    task_id: int = Field(foreign_key="task.id", primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)


class TaskEvent(SQLModel, table=True):
    """Every state change of a task: who, when, why."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    from_status: str = Field(default="", max_length=20)
    to_status: str = Field(max_length=20)
    actor: str = Field(max_length=64)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    at: dt.datetime = Field(default_factory=utcnow)


class TeamMember(SQLModel, table=True):
    """A member of a task's team (issue: inspector matching)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    inspector_pk: Optional[int] = Field(default=None, foreign_key="inspector.id", index=True)
    expert_pk: Optional[int] = Field(default=None, foreign_key="expert.id")
    role: str = Field(max_length=12)  # leader / member / expert
    department_id: Optional[int] = Field(default=None, foreign_key="department.id")
    slot: int = 0
    pair_ticket: str = Field(default="", max_length=20)
    active: bool = True


# --- results, review, publication, follow-up --------------------------------------


class ResultCategory(SQLModel, table=True):
    """检查结果 category (multi-select per item); seeded with the national list, extensible."""

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(unique=True, max_length=100)
    problem: bool = False  # a problem was found: excludes 未发现问题
    no_problem: bool = False  # 未发现问题: cannot be combined with a problem category
    opens_follow_up: bool = False  # 后续处置 tracked to closure
    follow_up_action: str = Field(default="", max_length=16)  # default action of that follow-up
    sort_order: int = 0
    active: bool = True


class ItemResult(SQLModel, table=True):
    """The result of one check item of one task (谁检查、谁录入、谁公开)."""

    __table_args__ = (
        UniqueConstraint("task_id", "item_id"),
        Index("ix_itemresult_dept_status", "department_id", "status", "entered_at"),
        Index("ix_itemresult_status_published", "status", "published_at", "id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    item_id: int = Field(foreign_key="checkitem.id")
    department_id: int = Field(foreign_key="department.id")  # the item's department, owner of the result
    categories: str = Field(default="", max_length=200)  # ';'-joined ResultCategory codes
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default="未录入", max_length=8)  # 未录入 / 待审核 / 审核退回 / 已审核 / 已公示
    inspected_on: Optional[dt.date] = None
    entered_by: str = Field(default="", max_length=64)
    entered_at: Optional[dt.datetime] = None
    reviewed_by: str = Field(default="", max_length=64)
    reviewed_at: Optional[dt.datetime] = None
    review_note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    published_by: str = Field(default="", max_length=64)
    published_at: Optional[dt.datetime] = None
    published_on: Optional[dt.date] = None  # local date, compared with Task.deadline
    version: int = 0


class ResultCorrection(SQLModel, table=True):
    """A correction of a published result: old and new values, and why."""

    id: Optional[int] = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="itemresult.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    old_categories: str = Field(max_length=200)
    new_categories: str = Field(max_length=200)
    old_note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    new_note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    version: int  # the result's version after the correction
    corrected_by: str = Field(max_length=64)
    corrected_at: dt.datetime = Field(default_factory=utcnow)


class FollowUp(SQLModel, table=True):
    """后续处置 opened by a problem category, tracked to closure."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    item_id: int = Field(foreign_key="checkitem.id")
    result_id: int = Field(foreign_key="itemresult.id", index=True)
    department_id: int = Field(foreign_key="department.id")
    action: str = Field(max_length=16)  # 责令改正 / 立案查处 / 移送司法机关 / 其他
    status: str = Field(default="open", max_length=8)  # open / closed
    opened_by: str = Field(max_length=64)
    opened_at: dt.datetime = Field(default_factory=utcnow)
    closed_by: str = Field(default="", max_length=64)
    closed_at: Optional[dt.datetime] = None
    outcome: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


# --- 工作日历 (working-day calendar) --------------------------------------------------


class CalendarYear(SQLModel, table=True):
    """One year's State Council holiday schedule. Only `package` (seeded from
    chinese-calendar) and `confirmed` years count for working days; `entered`
    waits for a second administrator's confirmation."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    status: str = Field(max_length=16)  # package / entered / confirmed
    notice: str = Field(default="", max_length=200)  # e.g. 国办发明电〔2026〕X号
    entered_by: str = Field(default="", max_length=64)
    entered_at: Optional[dt.datetime] = None
    confirmed_by: str = Field(default="", max_length=64)
    confirmed_at: Optional[dt.datetime] = None
    revision: int = 1  # bumped on every change: the services' cache stamp
    updated_at: dt.datetime = Field(default_factory=utcnow)


class CalendarDay(SQLModel, table=True):
    """A special day of a year's schedule: a holiday or a make-up working weekend day."""

    day: dt.date = Field(primary_key=True)
    year: int = Field(foreign_key="calendaryear.year", index=True)
    kind: str = Field(max_length=8)  # holiday / workday
    name: str = Field(max_length=50)
    notice: str = Field(default="", max_length=200)


# --- scheduled draws (the worker) ----------------------------------------------------

APSCHEDULER_TABLE = "apscheduler_jobs"  # APScheduler's own job store; not ours to migrate


def alembic_include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic hook: leave APScheduler's job-store table out of schema comparisons."""
    return not (type_ == "table" and name == APSCHEDULER_TABLE)


class DrawClaim(SQLModel, table=True):
    """Who took the scheduled draw of (plan, period): one row per pair, whoever wins the INSERT."""

    __table_args__ = (UniqueConstraint("plan_id", "period", name="uq_drawclaim_plan_period"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    period: str = Field(max_length=16)
    scheduled_for: dt.datetime
    status: str = Field(default="claimed", max_length=16)  # claimed / done / failed / waiting_seed
    claimed_by: str = Field(max_length=64)  # worker id
    instance: str = Field(default="", max_length=160)  # worker process (id/host/pid/start)
    claimed_at: dt.datetime = Field(default_factory=utcnow)
    attempts: int = 1
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    draw_id: Optional[int] = Field(default=None, foreign_key="draw.id")
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ScheduleRun(SQLModel, table=True):
    """One firing of a plan's schedule by one worker process, with its outcome."""

    __table_args__ = (UniqueConstraint("plan_id", "scheduled_for", "instance", name="uq_schedulerun_instance"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    period: str = Field(max_length=16)
    scheduled_for: dt.datetime
    worker_id: str = Field(max_length=64)
    instance: str = Field(max_length=160)
    started_at: dt.datetime = Field(default_factory=utcnow)
    finished_at: Optional[dt.datetime] = None
    outcome: str = Field(default="running", max_length=16)  # running / done / refused / failed / missed / waiting_seed
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    draw_id: Optional[int] = Field(default=None, foreign_key="draw.id")


class WorkerHeartbeat(SQLModel, table=True):
    """A worker's sign of life, upserted every few seconds."""

    worker_id: str = Field(primary_key=True, max_length=64)
    host: str = Field(default="", max_length=200)
    pid: int = 0
    started_at: dt.datetime = Field(default_factory=utcnow)
    last_seen: dt.datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """A message for the bureau's planners (Chinese), e.g. a missed run or a seed to enter."""

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: Optional[int] = Field(default=None, foreign_key="bureau.id", index=True)
    kind: str = Field(max_length=32)  # missed / waiting_seed / failed / deadline_soon / overdue / seed_reminder / task_due_soon / task_overdue
    message: str = Field(sa_column=Column(Text, nullable=False))
    object: str = Field(default="", max_length=200)
    key: Optional[str] = Field(default=None, max_length=200, unique=True)  # de-duplicates across workers
    created_at: dt.datetime = Field(default_factory=utcnow)
    read: bool = False


# --- audit trail -------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """A hash-chained record of a state-changing operation."""

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow)
    bureau_id: Optional[int] = Field(default=None, foreign_key="bureau.id")
    actor: str = Field(max_length=64)
    role: str = Field(default="", max_length=32)
    action: str = Field(max_length=64, index=True)
    object: str = Field(default="", max_length=200)
    digest: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    # 1: the rule of the events written before migration 0007 (bureau not covered); 2: every column
    # (scheduler/audit/chain.py). Events of a chain never go back from 2 to 1.
    hash_version: int = Field(default=2, sa_column_kwargs={"server_default": text("1")})
    # The canonical JSON whose SHA-256 is `digest` (None for version-1 events, which kept the digest only).
    payload: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Failed logins counted per key (a source address, or the unknown names of a source) in a
    window, so that a source is slowed down as well as an account, and attempts on names that do not
    exist are counted without an audit event each (scheduler/accounts/throttle.py)."""

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_start: dt.datetime = Field(default_factory=utcnow)
    blocked_until: Optional[dt.datetime] = None


# --- 平台对接 (docking with the credit publicity system and the city platform) ----------


class ExchangeBatch(SQLModel, table=True):
    """One batch of files exchanged with a platform (scheduler/docking, docs/exchange.md).

    Outbound (`direction` "out", kind "gsxt-results"): 生成 → 已报送 → 已回执. Inbound ("in", the
    city platform's incremental files): one row per imported batch, so a batch imported again is
    recognised by (sender_code, kind, batch_no) and changes nothing."""

    __table_args__ = (UniqueConstraint("direction", "sender_code", "kind", "batch_no", name="uq_exchangebatch_no"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    direction: str = Field(max_length=8)  # out / in
    kind: str = Field(max_length=32)  # gsxt-results / city-registry / city-risk / city-tasks / city-results
    batch_no: str = Field(max_length=64)
    sender_code: str = Field(max_length=32)
    sequence: Optional[int] = None  # inbound incremental files: the sender's running number
    status: str = Field(max_length=8)  # out: 生成 / 已报送 / 已回执; in: 已导入
    format_version: str = Field(max_length=16)
    record_count: int = 0
    accepted: int = 0
    rejected: int = 0
    manifest_sha256: str = Field(default="", max_length=64)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # JSON
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
    written_at: Optional[dt.datetime] = None  # outbound: the folder was complete on disk
    sent_by: str = Field(default="", max_length=64)
    sent_at: Optional[dt.datetime] = None
    receipt_sha256: str = Field(default="", max_length=64)
    receipt_by: str = Field(default="", max_length=64)
    receipt_at: Optional[dt.datetime] = None


class ExchangeRecord(SQLModel, table=True):
    """One published result's version in an outbound batch, as sent (payload) and as answered.

    At most one live (pending or accepted) record per (receiver, result, version): a rejected record
    leaves room for the fixed one, nothing else does (the partial unique index)."""

    __table_args__ = (
        Index("uq_exchangerecord_live", "kind", "result_id", "version", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="exchangebatch.id", index=True)
    kind: str = Field(max_length=32)  # the batch's kind: each receiver has its own versions
    result_id: int = Field(foreign_key="itemresult.id", index=True)
    version: int
    record_no: str = Field(max_length=64, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON of the record as sent
    payload_sha256: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=12)  # pending / accepted / rejected
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class CityTask(SQLModel, table=True):
    """A task handed down by the city platform (市抽县查): the city's task and plan it stands for."""

    __table_args__ = (UniqueConstraint("sender_code", "city_task_no", name="uq_citytask_no"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", unique=True)
    bureau_id: int = Field(foreign_key="bureau.id", index=True)
    sender_code: str = Field(max_length=32)
    city_task_no: str = Field(max_length=64)
    city_plan_code: str = Field(max_length=64)
    city_plan_name: str = Field(default="", max_length=200)
    period: str = Field(default="", max_length=16)
    deadline: Optional[dt.date] = None
    batch_no: str = Field(max_length=64)  # the inbound batch that brought it
    content_sha256: str = Field(max_length=64)  # of the row as handed down: the same row again changes nothing


# --- follow-up records, field records, recusal ---------------------------------------


class FollowUpStep(SQLModel, table=True):
    """One recorded step of a follow-up (后续监管衔接), with its document, date and deadline.

    kind (rules in scheduler/results/followup_rules.py): rectify (责令整改, with its deadline and
    re-check task), case (立案), penalty (处罚决定), no_case (不予立案/结案, with reasons),
    transfer (移送其他部门), judicial (移送司法机关), abnormal_list (列入经营异常名录),
    abnormal_remove (移出经营异常名录, on application)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    follow_up_id: int = Field(foreign_key="followup.id", index=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="done", max_length=8)  # open (waiting on its deadline) / done
    due_on: Optional[dt.date] = None  # the time limit of this step (or of the next one it opens)
    decided_on: Optional[dt.date] = None  # date of the decision or document
    applied_on: Optional[dt.date] = None  # date of the party's application (移出)
    doc_no: str = Field(default="", max_length=64)  # 文书编号: case no., decision no., transfer letter no.
    target: str = Field(default="", max_length=200)  # 移送 to whom
    decision: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    penalty: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    procedure: str = Field(default="", max_length=8)  # 普通程序 / 简易程序 (penalties)
    public: bool = False  # published on the public export (经营异常名录, 普通程序 penalties)
    recheck_task_id: Optional[int] = Field(default=None, foreign_key="task.id")
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)


class ChecklistPoint(SQLModel, table=True):
    """检查表: one point to check of a check item, from the item's basis (检查依据)."""

    __table_args__ = (UniqueConstraint("item_id", "seq"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="checkitem.id", index=True)
    seq: int
    text: str = Field(sa_column=Column(Text, nullable=False))


class ChecklistMark(SQLModel, table=True):
    """An inspector's mark on one checklist point of one task: 符合 / 不符合 / 不适用, with a note."""

    __table_args__ = (UniqueConstraint("task_id", "point_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    item_id: int = Field(foreign_key="checkitem.id")
    point_id: int = Field(foreign_key="checklistpoint.id")
    mark: str = Field(max_length=8)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    marked_by: str = Field(max_length=64)
    marked_at: dt.datetime = Field(default_factory=utcnow)


class Attachment(SQLModel, table=True):
    """A file of a task's field record (photo, scanned 检查笔录, test report), stored outside the
    database by its SHA-256 (scheduler/results/attachments_service.py)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    item_id: Optional[int] = Field(default=None, foreign_key="checkitem.id")
    sha256: str = Field(max_length=64, index=True)
    size: int
    media_type: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # photo / record / report
    report_no: str = Field(default="", max_length=64)  # 检验检测报告编号
    file_name: str = Field(default="", max_length=300)
    added_by: str = Field(max_length=64)
    added_at: dt.datetime = Field(default_factory=utcnow)


class RecusalRequest(SQLModel, table=True):
    """当事人申请回避 (行政处罚法 art. 43) on a task, with its decision."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    inspector_pk: int = Field(foreign_key="inspector.id")
    applicant: str = Field(max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_on: dt.date
    status: str = Field(default="pending", max_length=8)  # pending / accepted / rejected
    decided_by: str = Field(default="", max_length=64)
    decided_on: Optional[dt.date] = None
    decision_note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    replacement_pk: Optional[int] = Field(default=None, foreign_key="inspector.id")
    created_by: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow)
