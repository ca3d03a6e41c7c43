"""exchange batches and records (platform docking)

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0011'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('exchangebatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('batch_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sender_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('format_version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('manifest_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('written_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('sent_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('receipt_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('receipt_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('receipt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('direction', 'sender_code', 'kind', 'batch_no', name='uq_exchangebatch_no')
    )
    with op.batch_alter_table('exchangebatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchangebatch_bureau_id'), ['bureau_id'], unique=False)

    op.create_table('citytask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('bureau_id', sa.Integer(), nullable=False),
    sa.Column('sender_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('city_task_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('city_plan_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('city_plan_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('batch_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sender_code', 'city_task_no', name='uq_citytask_no'),
    sa.UniqueConstraint('task_id')
    )
    with op.batch_alter_table('citytask', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citytask_bureau_id'), ['bureau_id'], unique=False)

    op.create_table('exchangerecord',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('record_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['exchangebatch.id'], ),
    sa.ForeignKeyConstraint(['result_id'], ['itemresult.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exchangerecord', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchangerecord_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchangerecord_record_no'), ['record_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchangerecord_result_id'), ['result_id'], unique=False)
        batch_op.create_index('uq_exchangerecord_live', ['kind', 'result_id', 'version'], unique=True, sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))



def downgrade() -> None:
    with op.batch_alter_table('exchangerecord', schema=None) as batch_op:
        batch_op.drop_index('uq_exchangerecord_live', sqlite_where=sa.text("status != 'rejected'"), postgresql_where=sa.text("status != 'rejected'"))
        batch_op.drop_index(batch_op.f('ix_exchangerecord_result_id'))
        batch_op.drop_index(batch_op.f('ix_exchangerecord_record_no'))
        batch_op.drop_index(batch_op.f('ix_exchangerecord_batch_id'))

    op.drop_table('exchangerecord')
    with op.batch_alter_table('citytask', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citytask_bureau_id'))

    op.drop_table('citytask')
    with op.batch_alter_table('exchangebatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchangebatch_bureau_id'))

    op.drop_table('exchangebatch')
