"""Bureaus, towns, departments and deployment settings."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Bureau, Department, Enterprise, Plan, Setting, Town
from scheduler.library import vocabulary
from scheduler.access.permissions import require
from scheduler.audit import service as auditlog
from scheduler.access.context import SYSTEM, Actor
from scheduler.errors import DsrError


def risk_classes(session: Session) -> list[str]:
    """The configured risk-class scheme (A–D by default; five classes possible)."""
    row = session.get(Setting, "risk_classes")
    return row.value.split(";") if row else list(vocabulary.DEFAULT_RISK_CLASSES)


def set_risk_classes(session: Session, classes: list[str], actor: Actor = SYSTEM) -> None:
    value = ";".join(classes)
    row = session.get(Setting, "risk_classes") or Setting(key="risk_classes", value=value)
    row.value = value
    session.add(row)
    auditlog.record(session, actor, "settings.risk_classes", "setting:risk_classes", classes)


class SettingsRefused(DsrError, ValueError):
    """A settings change that cannot be made; the message (Chinese) says why."""

    code = "settings.refused"


def change_risk_classes(engine: Engine, classes: Sequence[str], actor: Actor) -> list[str]:
    """系统设置: the administrator sets the risk-class scheme (2 to 5 classes, capital letters, from
    lowest to highest risk). A class still held by registry entities or given a ratio by a plan
    cannot be removed: the registry and the plans would no longer be valid."""
    require(actor, "settings.manage")
    new = [c.strip().upper() for c in classes if c.strip()]
    if not 2 <= len(new) <= 5 or len(set(new)) != len(new) or not all(len(c) == 1 and "A" <= c <= "Z" for c in new):
        raise SettingsRefused("信用风险分类应为 2 至 5 个不重复的大写字母（由低风险到高风险），例如 A、B、C、D")
    with Session(engine) as s:
        old = risk_classes(s)
        removed = [c for c in old if c not in new]
        if removed:
            used = s.execute(select(Enterprise.risk_class, func.count()).where(Enterprise.risk_class.in_(removed))
                             .group_by(Enterprise.risk_class)).all()
            if used:
                raise SettingsRefused("检查对象名录库中仍有以下信用风险分类的检查对象，不能删除："
                                      + "、".join(f"{c}（{n:,} 户）" for c, n in sorted(used)))
            plans = [p.code for p in s.execute(select(Plan)).scalars()
                     if any(c in json.loads(p.ratios or "{}") for c in removed)]
            if plans:
                raise SettingsRefused(f"抽查计划 {'、'.join(sorted(plans))} 仍为 {'、'.join(removed)} 类设定了抽查比例，不能删除")
        if new != old:
            set_risk_classes(s, new, actor)
            s.commit()
    return new


def ensure_bureau(session: Session, code: str, name: str, level: str, area_code: str,
                  towns: list[tuple[str, str]], departments: list[tuple[str, str]],
                  parent: Bureau | None = None, actor: Actor = SYSTEM,
                  legal_names: dict[str, str] | None = None) -> Bureau:
    """Create (idempotently) a bureau with its towns and departments; set its parent.
    `legal_names`: department code -> the legal name the public record shows (检查实施机关)."""
    b = session.execute(select(Bureau).where(Bureau.code == code)).scalar_one_or_none()
    if b is None:
        b = Bureau(code=code, name=name, level=level, area_code=area_code)
        session.add(b)
        session.flush()
        auditlog.record(session, actor, "bureau.create", f"bureau:{b.code}", {"name": b.name, "level": level})
    if parent is not None and b.parent_id != parent.id:
        b.parent_id = parent.id
        session.add(b)
        auditlog.record(session, actor, "bureau.parent", f"bureau:{b.code}", {"parent": parent.code})
    have_towns = set(session.execute(select(Town.code)).scalars())
    for tcode, tname in towns:
        if tcode not in have_towns:
            session.add(Town(code=tcode, name=tname, bureau_id=b.id))
    have_depts = set(session.execute(select(Department.code).where(Department.bureau_id == b.id)).scalars())
    for dcode, dname in departments:
        if dcode not in have_depts:
            session.add(Department(bureau_id=b.id, code=dcode, name=dname, legal_name=(legal_names or {}).get(dcode, "")))
    session.flush()
    return b
