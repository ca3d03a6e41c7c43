"""plans as published documents: status, versions, who approved and published, task time limits

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0006'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('plan') as b:
        b.add_column(sa.Column('status', _S(length=16), server_default='draft', nullable=False))
        b.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        b.add_column(sa.Column('created_by', _S(length=64), server_default='', nullable=False))
        b.add_column(sa.Column('updated_by', _S(length=64), server_default='', nullable=False))
        b.add_column(sa.Column('change_reason', sa.Text(), server_default='', nullable=False))
        b.add_column(sa.Column('approved_by', _S(length=64), server_default='', nullable=False))
        b.add_column(sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        b.add_column(sa.Column('published_by', _S(length=64), server_default='', nullable=False))
        b.add_column(sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        b.add_column(sa.Column('task_days', sa.Integer(), server_default='0', nullable=False))
    # Plans that existed before plans had a status were in use as they stood: they stay drawable.
    # Their first approved text is recorded the next time they are changed and approved.
    op.execute("UPDATE plan SET status = 'published'")
    op.create_table('planversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('changed_by', _S(length=64), nullable=False),
    sa.Column('approved_by', _S(length=64), nullable=False),
    sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('published_by', _S(length=64), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'version')
    )
    op.create_index(op.f('ix_planversion_plan_id'), 'planversion', ['plan_id'], unique=False)
    with op.batch_alter_table('draw') as b:
        b.add_column(sa.Column('plan_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('draw') as b:
        b.drop_column('plan_version')
    op.drop_index(op.f('ix_planversion_plan_id'), table_name='planversion')
    op.drop_table('planversion')
    with op.batch_alter_table('plan') as b:
        for c in ('task_days', 'published_at', 'published_by', 'approved_at', 'approved_by', 'change_reason',
                  'updated_by', 'created_by', 'version', 'status'):
            b.drop_column(c)
