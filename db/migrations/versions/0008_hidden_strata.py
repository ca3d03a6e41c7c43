"""hidden strata: a commitment key per frozen frame, the ceremony's witnesses, the self-check's attempt counters

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-05
"""
import secrets
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0008'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('drawarchive') as batch:
        batch.add_column(sa.Column('commit_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('witnesses', sa.Text(), nullable=True))
    # Frames frozen before this revision get their key now (the public package needs one).
    conn = op.get_bind()
    for (draw_id,) in conn.execute(sa.text('SELECT draw_id FROM drawarchive')).all():
        conn.execute(sa.text('UPDATE drawarchive SET commit_key = :k WHERE draw_id = :d'),
                     {'k': secrets.token_hex(32), 'd': draw_id})
    op.create_table('lookupattempt',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('window', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window')
    )


def downgrade() -> None:
    op.drop_table('lookupattempt')
    with op.batch_alter_table('drawarchive') as batch:
        batch.drop_column('witnesses')
        batch.drop_column('commit_key')
