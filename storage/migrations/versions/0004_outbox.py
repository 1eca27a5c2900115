"""outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:24:14.039161
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delivery_workers',
    sa.Column('worker_id', sa.String(length=128), nullable=False),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_delivery_workers'))
    )
    with op.batch_alter_table('delivery_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_workers_heartbeat_at'), ['heartbeat_at'], unique=False)

    op.create_table('outbox_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_kind', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('reported_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_batches'))
    )
    with op.batch_alter_table('outbox_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_batches_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index('ix_outbox_batches_source', ['source_kind', 'source_id'], unique=False)

    op.create_table('outbox_payloads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('parse_mode', sa.String(length=16), nullable=True),
    sa.Column('photo', sa.String(length=255), nullable=True),
    sa.Column('document', sa.String(length=255), nullable=True),
    sa.Column('buttons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_payloads'))
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('photo', sa.String(length=255), nullable=True),
    sa.Column('document', sa.String(length=255), nullable=True),
    sa.Column('audience', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('progress_message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['outbox_batches.id'], name=op.f('fk_broadcasts_batch_id_outbox_batches'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_broadcasts_creator_status', ['created_by', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcasts_status'), ['status'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payload_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['outbox_batches.id'], name=op.f('fk_outbox_batch_id_outbox_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payload_id'], ['outbox_payloads.id'], name=op.f('fk_outbox_payload_id_outbox_payloads'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_outbox_person_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_batch_state', ['batch_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index('ix_outbox_state_due', ['state', 'next_attempt_at', 'id'], unique=False)

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('unreachable_since', storage.types.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('unreachable_since')
        batch_op.drop_column('unreachable')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_due')
        batch_op.drop_index(batch_op.f('ix_outbox_chat_id'))
        batch_op.drop_index('ix_outbox_batch_state')

    op.drop_table('outbox')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_status'))
        batch_op.drop_index('ix_broadcasts_creator_status')

    op.drop_table('broadcasts')
    op.drop_table('outbox_payloads')
    with op.batch_alter_table('outbox_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_batches_source')
        batch_op.drop_index(batch_op.f('ix_outbox_batches_completed_at'))

    op.drop_table('outbox_batches')
    with op.batch_alter_table('delivery_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_workers_heartbeat_at'))

    op.drop_table('delivery_workers')
