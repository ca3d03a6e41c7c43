"""follow-up records, field records, recusal, certificate expiry

Revision ID: 0012
Revises: 0004
Create Date: 2026-12-05
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:

    op.create_table('checklistpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['checkitem.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'seq')
    )
    with op.batch_alter_table('checklistpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklistpoint_item_id'), ['item_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('report_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['checkitem.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_task_id'), ['task_id'], unique=False)

    op.create_table('checklistmark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('mark', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('marked_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('marked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['checkitem.id'], ),
    sa.ForeignKeyConstraint(['point_id'], ['checklistpoint.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id', 'point_id')
    )
    with op.batch_alter_table('checklistmark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklistmark_task_id'), ['task_id'], unique=False)

    op.create_table('recusalrequest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('inspector_pk', sa.Integer(), nullable=False),
    sa.Column('applicant', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_note', sa.Text(), server_default='', nullable=False),
    sa.Column('replacement_pk', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inspector_pk'], ['inspector.id'], ),
    sa.ForeignKeyConstraint(['replacement_pk'], ['inspector.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recusalrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recusalrequest_task_id'), ['task_id'], unique=False)

    op.create_table('followupstep',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('doc_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('decision', sa.Text(), server_default='', nullable=False),
    sa.Column('penalty', sa.Text(), server_default='', nullable=False),
    sa.Column('procedure', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('recheck_task_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['follow_up_id'], ['followup.id'], ),
    sa.ForeignKeyConstraint(['recheck_task_id'], ['task.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('followupstep', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followupstep_follow_up_id'), ['follow_up_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followupstep_task_id'), ['task_id'], unique=False)

    with op.batch_alter_table('inspector', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cert_valid_until', sa.Date(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('inspector', schema=None) as batch_op:
        batch_op.drop_column('cert_valid_until')

    with op.batch_alter_table('followupstep', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followupstep_task_id'))
        batch_op.drop_index(batch_op.f('ix_followupstep_follow_up_id'))

    op.drop_table('followupstep')
    with op.batch_alter_table('recusalrequest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recusalrequest_task_id'))

    op.drop_table('recusalrequest')
    with op.batch_alter_table('checklistmark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklistmark_task_id'))

    op.drop_table('checklistmark')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_task_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))

    op.drop_table('attachment')
    with op.batch_alter_table('checklistpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklistpoint_item_id'))

    op.drop_table('checklistpoint')

