"""Bureaus, towns, departments and deployment settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from db.models import Bureau, Department, Setting, Town
from scheduler import reference
from scheduler.services import auditlog
from scheduler.services.context import SYSTEM, Actor


def risk_classes(session: Session) -> list[str]:
    """The configured risk-class scheme (A–D by default; five classes possible)."""
    row = session.get(Setting, "risk_classes")
    return row.value.split(";") if row else list(reference.DEFAULT_RISK_CLASSES)


def set_risk_classes(session: Session, classes: list[str], actor: Actor = SYSTEM) -> None:
    value = ";".join(classes)
    row = session.get(Setting, "risk_classes") or Setting(key="risk_classes", value=value)
    row.value = value
    session.add(row)
    auditlog.record(session, actor, "settings.risk_classes", "setting:risk_classes", classes)


def ensure_pinggu(session: Session, actor: Actor = SYSTEM) -> Bureau:
    """Create (idempotently) the demo bureau with its towns and departments."""
    return ensure_bureau(session, reference.BUREAU_CODE, reference.BUREAU_NAME, "district", reference.AREA_CODE,
                         reference.TOWNS, reference.DEPARTMENTS, actor=actor)


def ensure_bureau(session: Session, code: str, name: str, level: str, area_code: str,
                  towns: list[tuple[str, str]], departments: list[tuple[str, str]],
                  parent: Bureau | None = None, actor: Actor = SYSTEM) -> Bureau:
    """Create (idempotently) a bureau with its towns and departments; set its parent."""
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
            session.add(Department(bureau_id=b.id, code=dcode, name=dname))
    session.flush()
    return b
