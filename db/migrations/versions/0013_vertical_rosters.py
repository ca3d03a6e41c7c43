"""vertical management: departments whose roster the city keeps, the city's approval of their use

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0013'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vertical', sa.Boolean(), server_default='0', nullable=False))

    op.create_table('rosteruse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('city_bureau_id', sa.Integer(), nullable=False),
    sa.Column('department_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['city_bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'department_code')
    )
    with op.batch_alter_table('rosteruse', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rosteruse_plan_id'), ['plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rosteruse', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rosteruse_plan_id'))
    op.drop_table('rosteruse')
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_column('vertical')
