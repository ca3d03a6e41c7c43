"""plan.year: every plan belongs to a plan year; draw.annual: the year's allocation a draw used

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""
import re
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def _year(code: str, name: str, created_at) -> int:
    """The plan year of an existing plan: read from its code, then its name, else the year it was created."""
    for text in (code, name):
        m = _YEAR.search(text or "")
        if m:
            return int(m.group(1))
    if created_at is None:
        return 0
    if isinstance(created_at, str):
        return int(created_at[:4])
    return created_at.year


def upgrade() -> None:
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('year', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('draw', schema=None) as batch_op:
        batch_op.add_column(sa.Column('annual', sa.Text(), nullable=True))
    conn = op.get_bind()
    plan = sa.table('plan', sa.column('id', sa.Integer), sa.column('code', sa.String), sa.column('name', sa.String),
                    sa.column('created_at', sa.DateTime), sa.column('year', sa.Integer))
    for pid, code, name, created in conn.execute(sa.select(plan.c.id, plan.c.code, plan.c.name, plan.c.created_at)).all():
        conn.execute(plan.update().where(plan.c.id == pid).values(year=_year(code, name, created)))


def downgrade() -> None:
    with op.batch_alter_table('draw', schema=None) as batch_op:
        batch_op.drop_column('annual')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('year')
