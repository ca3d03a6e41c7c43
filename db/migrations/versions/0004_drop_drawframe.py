"""drop drawframe (the draw ranks its frozen archive; no frame is kept as rows)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_table('drawframe')


def downgrade() -> None:
    # As 0001 created it.
    op.create_table('drawframe',
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('stratum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['draw.id'], ),
    sa.PrimaryKeyConstraint('draw_id', 'entity_id')
    )
