"""meetings, invitations, reminders, the report campaign, the daily digest; files in the outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:48:11.380029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_runs',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outbox_batch_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_digest_runs'))
    )
    op.create_table('meetings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('starts_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('place', sa.String(length=500), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('audience', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('audience_label', sa.String(length=500), nullable=True),
    sa.Column('offsets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('editing', sa.String(length=16), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('changed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_state'), ['state'], unique=False)
        batch_op.create_index('ix_meetings_state_starts', ['state', 'starts_at'], unique=False)

    op.create_table('meeting_reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meeting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('offset_seconds', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('queued_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outbox_batch_id', sa.BigInteger(), nullable=True),
    sa.Column('dropped_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_reminders_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_meeting_reminders_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_reminders')),
    sa.UniqueConstraint('meeting_id', 'person_id', 'offset_seconds', name='uq_meeting_reminders_once')
    )
    with op.batch_alter_table('meeting_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_reminders_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_meeting_reminders_state_due', ['state', 'due_at'], unique=False)

    op.create_table('campaign_reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cooperative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('queued_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cooperative_id'], ['cooperatives.id'], name=op.f('fk_campaign_reminders_cooperative_id_cooperatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_reminders')),
    sa.UniqueConstraint('cooperative_id', 'fiscal_year', 'round', name='uq_campaign_reminders_round')
    )
    with op.batch_alter_table('campaign_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_reminders_cooperative_id'), ['cooperative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_reminders_fiscal_year'), ['fiscal_year'], unique=False)

    op.create_table('meeting_invitations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('meeting_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cooperative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answer', sa.String(length=16), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cooperative_id'], ['cooperatives.id'], name=op.f('fk_meeting_invitations_cooperative_id_cooperatives'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_invitations_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_meeting_invitations_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_invitations')),
    sa.UniqueConstraint('meeting_id', 'person_id', name='uq_meeting_invitations_person')
    )
    with op.batch_alter_table('meeting_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_invitations_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_invitations_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('outbox_payloads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_name', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('document_data', sa.LargeBinary(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox_payloads', schema=None) as batch_op:
        batch_op.drop_column('document_data')
        batch_op.drop_column('document_name')

    with op.batch_alter_table('meeting_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_invitations_person_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_invitations_meeting_id'))

    op.drop_table('meeting_invitations')
    with op.batch_alter_table('campaign_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_reminders_fiscal_year'))
        batch_op.drop_index(batch_op.f('ix_campaign_reminders_cooperative_id'))

    op.drop_table('campaign_reminders')
    with op.batch_alter_table('meeting_reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_reminders_state_due')
        batch_op.drop_index(batch_op.f('ix_meeting_reminders_meeting_id'))

    op.drop_table('meeting_reminders')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_meetings_state_starts')
        batch_op.drop_index(batch_op.f('ix_meetings_state'))
        batch_op.drop_index(batch_op.f('ix_meetings_created_by'))

    op.drop_table('meetings')
    op.drop_table('digest_runs')
