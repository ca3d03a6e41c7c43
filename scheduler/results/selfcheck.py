"""本企业查询: an entity checks its own case in a published draw (docs/draw-algorithm.md §3.4).

It gives its credit code and its query code (查询码, printed on its 检查通知书 or given by the
bureau). Only with both does it learn, for itself, its ticket, whether it was selected, its
stratum and the opening of its commitment, and see them checked against the public package
by the reference verifier. A wrong pair gets one message whatever was wrong, so the page
tells nobody which credit codes are in a frame beyond the public frame itself.

Attempts are counted per source address, per credit code and source, and per credit code, per
UTC hour, by one atomic upsert on `lookupattempt` (on SQLite and PostgreSQL alike: parallel
attempts cannot all read the same old count), and refused above the limits before any code is
compared. Credit codes are public, so a tight limit per credit code alone would let anyone use up
an entity's attempts: the tight limit is per credit code *and* source; the limit per credit code
across all sources is high, and only stops a guessing spread over many sources (a query code has
80 bits: at that limit a guess succeeds with odds of about 2^-70 an hour).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hmac
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Draw, DrawArchive, LookupAttempt, Plan, utcnow
from scheduler.access.context import Actor
from scheduler.access.permissions import require
from scheduler.access.scope import require_bureau
from scheduler.audit import service as auditlog
from scheduler.draw import commitments as hs
from scheduler.draw import service as draw_service
from scheduler.errors import DsrError
from scheduler.verify import Opening, OwnCase, opening_from_auditor, verify_own_case

PER_SOURCE_PER_HOUR = 30
PER_CODE_PER_SOURCE_PER_HOUR = 10
PER_CODE_PER_HOUR = 1000
WRONG = "统一社会信用代码或查询码不正确（查询码印在检查通知书上，也可向登记机关索取）"


class SelfCheckRefused(DsrError, PermissionError):
    """A self-check refused: wrong credit code or query code, too many attempts, no such draw."""

    code = "selfcheck.refused"


@dataclass
class SelfCheck:
    plan_code: str
    period: str
    entity_id: str
    stratum: str
    opening: Opening
    report: OwnCase


def _window(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H")


def count_attempt(engine: Engine, key: str, now: dt.datetime | None = None) -> int:
    """Add one attempt under `key` in the current hour and return the hour's count, in one
    statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), committed at once."""
    window = _window(now or utcnow())
    table = LookupAttempt.__table__
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = (dialect.insert(table).values(key=key[:96], window=window, count=1)
            .on_conflict_do_update(index_elements=["key", "window"], set_={"count": table.c.count + 1})
            .returning(table.c.count))
    with engine.begin() as conn:
        n = conn.execute(stmt).scalar_one()
        if n == 1:  # the first attempt of a key's hour clears windows older than a day
            old = _window((now or utcnow()) - dt.timedelta(days=1))
            conn.execute(delete(table).where(table.c.window < old))
    return n


def _rate_limit(engine: Engine, source: str, uscc: str, now: dt.datetime | None) -> None:
    by_source = count_attempt(engine, f"src:{source or '-'}", now)
    by_pair = count_attempt(engine, f"pair:{uscc}|{source or '-'}", now)
    by_code = count_attempt(engine, f"uscc:{uscc}", now)
    if by_source > PER_SOURCE_PER_HOUR or by_pair > PER_CODE_PER_SOURCE_PER_HOUR or by_code > PER_CODE_PER_HOUR:
        raise SelfCheckRefused("查询次数过多，请一小时后再试")


def published_draw(s: Session, draw_id: int) -> tuple[Draw, Plan, DrawArchive]:
    d = s.get(Draw, draw_id)
    if d is None or d.status != "drawn" or d.certificate is None:
        raise SelfCheckRefused(f"抽取 #{draw_id} 不是已完成的抽取")
    return d, s.get(Plan, d.plan_id), s.get(DrawArchive, d.id)


def _stratum_of(frame_bytes: bytes, uscc: str) -> str | None:
    at = frame_bytes.find(f"{uscc},".encode("utf-8"))
    while at > 0 and frame_bytes[at - 1:at] != b"\n":  # a match inside another line
        at = frame_bytes.find(f"{uscc},".encode("utf-8"), at + 1)
    if at < 0:
        return None
    end = frame_bytes.index(b"\n", at)
    return frame_bytes[at + len(uscc) + 1:end].decode("utf-8")


def check_own_case(engine: Engine, draw_id: int, uscc: str, code: str, source: str,
                   now: dt.datetime | None = None) -> SelfCheck:
    """The entity's own case in a drawn draw, checked against its public package; refused
    (one message) unless `code` is the entity's query code for this draw."""
    uscc = (uscc or "").strip().upper()
    _rate_limit(engine, source, uscc, now)
    with Session(engine) as s:
        d, plan, archive = published_draw(s, draw_id)
        key = archive.commit_key
        # The code first: a wrong one costs no read of the frame.
        if key is None or not uscc or not hmac.compare_digest(hs.normalize_code(code),
                                                              hs.query_code(hs.check_key(key), uscc)):
            raise SelfCheckRefused(WRONG)
        cert, frame_bytes = json.loads(d.certificate), gzip.decompress(archive.frame_gz)
    stratum = _stratum_of(frame_bytes, uscc)
    if stratum is None:
        raise SelfCheckRefused(WRONG)
    opening = opening_from_auditor(dict(cert, commitment_key=key), uscc, stratum)
    with tempfile.TemporaryDirectory(prefix="dsr-own-") as tmp:
        draw_service.write_packages(engine, draw_id, public_dir=Path(tmp))
        report = verify_own_case(tmp, uscc, opening)
    return SelfCheck(plan.code, d.period, uscc, stratum, opening, report)


def query_codes(engine: Engine, plan_code: str, period: str, actor: Actor) -> list[tuple[str, str]]:
    """(credit code, query code) of every entity of a drawn draw's frame, for the 检查通知书 and
    for entities that ask the bureau. Planners of the plan's bureau; recorded in the audit trail."""
    with Session(engine) as s:
        d = draw_service.get_draw(s, plan_code, period)
        d, plan, archive = published_draw(s, d.id)
        require_bureau(s, actor, plan.bureau_id)
        require(actor, "draw.execute", department_id=plan.lead_department_id)
        key = hs.check_key(archive.commit_key)
        ids = [line.split(",", 1)[0] for line in gzip.decompress(archive.frame_gz).decode("utf-8").split("\n") if line]
        auditlog.record(s, actor, "draw.query_codes", f"draw:{d.id}", {"plan": plan_code, "period": period,
                        "entities": len(ids)}, bureau_id=plan.bureau_id)
        s.commit()
    return [(e, hs.query_code(key, e)) for e in ids]
