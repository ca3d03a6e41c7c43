"""task: drop ix_task_draw_id (ix_task_draw_rank's leading column serves the same lookups)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_draw_id')


def downgrade() -> None:
    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.create_index('ix_task_draw_id', ['draw_id'], unique=False)
