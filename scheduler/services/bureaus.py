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
    b = session.execute(select(Bureau).where(Bureau.code == reference.BUREAU_CODE)).scalar_one_or_none()
    if b is None:
        b = Bureau(code=reference.BUREAU_CODE, name=reference.BUREAU_NAME, level="district", area_code=reference.AREA_CODE)
        session.add(b)
        session.flush()
        auditlog.record(session, actor, "bureau.create", f"bureau:{b.code}", {"name": b.name})
    have_towns = set(session.execute(select(Town.code)).scalars())
    for code, name in reference.TOWNS:
        if code not in have_towns:
            session.add(Town(code=code, name=name, bureau_id=b.id))
    have_depts = set(session.execute(select(Department.code).where(Department.bureau_id == b.id)).scalars())
    for code, name in reference.DEPARTMENTS:
        if code not in have_depts:
            session.add(Department(bureau_id=b.id, code=code, name=name))
    session.flush()
    return b
