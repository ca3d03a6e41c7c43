"""hardening: audit hash version 2 (every column) with a seal of the older events, stored audit
payloads, forced password change, login throttling per source

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05
"""
import datetime as dt
import hashlib
import json
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SEAL_ACTION = "audit.hash_v2"


def _seal() -> None:
    """Append one version-2 event whose payload digests the (id, bureau) of every older event, so
    that the bureau of an event written under the version-1 rule is covered from now on. The rule
    is written out here as in scheduler/audit/chain.py at this revision (a migration must not
    change when the code does)."""
    t = sa.table("auditevent", sa.column("id", sa.Integer), sa.column("at", sqlmodel.sql.sqltypes.UTCDateTime()),
                 sa.column("bureau_id", sa.Integer), sa.column("actor"), sa.column("role"), sa.column("action"),
                 sa.column("object"), sa.column("digest"), sa.column("prev_hash"), sa.column("hash"),
                 sa.column("hash_version", sa.Integer), sa.column("payload"))
    conn = op.get_bind()
    h, n, last = hashlib.sha256(), 0, None
    for eid, bureau, ehash in conn.execute(sa.select(t.c.id, t.c.bureau_id, t.c.hash).order_by(t.c.id)):
        h.update(f"{eid}:{'' if bureau is None else bureau}\n".encode())
        n, last = n + 1, (eid, ehash)
    if last is None:
        return  # an empty trail: nothing to seal
    payload = json.dumps({"v1_bureaus": h.hexdigest(), "v1_events": n}, ensure_ascii=False, sort_keys=True,
                         separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    at = dt.datetime.now(dt.timezone.utc)
    eid = last[0] + 1
    body = json.dumps([2, eid, last[1], at.isoformat(timespec="microseconds"), None, "系统", "system", SEAL_ACTION,
                       "audit", digest], ensure_ascii=False, separators=(",", ":"))
    conn.execute(t.insert().values(id=eid, at=at, bureau_id=None, actor="系统", role="system", action=SEAL_ACTION,
                                   object="audit", digest=digest, prev_hash=last[1],
                                   hash=hashlib.sha256(body.encode("utf-8")).hexdigest(), hash_version=2,
                                   payload=payload))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('auditevent', 'id'), :v)"), {"v": eid})


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))
    with op.batch_alter_table('useraccount', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    op.create_table('loginthrottle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('blocked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    _seal()


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auditevent WHERE hash_version = 2"))
    op.drop_table('loginthrottle')
    with op.batch_alter_table('useraccount', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_column('payload')
        batch_op.drop_column('hash_version')
