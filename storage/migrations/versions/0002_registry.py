"""registry: kecamatan, cooperatives, managers, officers, invites, registration requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:01:50.904392
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invite_failures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invite_failures'))
    )
    with op.batch_alter_table('invite_failures', schema=None) as batch_op:
        batch_op.create_index('ix_invite_failures_user_at', ['telegram_id', 'at'], unique=False)

    op.create_table('kecamatan',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kecamatan')),
    sa.UniqueConstraint('code', name=op.f('uq_kecamatan_code')),
    sa.UniqueConstraint('name', name=op.f('uq_kecamatan_name'))
    )
    op.create_table('officers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.Enum('officer', 'admin', name='officerrole', native_enum=False, length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('telegram_id', name=op.f('uq_officers_telegram_id'))
    )
    op.create_table('cooperatives',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registration_number', sa.String(length=64), nullable=False),
    sa.Column('nik', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('form', sa.Enum('primer', 'sekunder', name='coopform', native_enum=False, length=16), nullable=False),
    sa.Column('type', sa.Enum('konsumen', 'produsen', 'jasa', 'pemasaran', 'simpan pinjam', name='cooptype', native_enum=False, length=16), nullable=False),
    sa.Column('sector', sa.String(length=128), nullable=True),
    sa.Column('kecamatan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('desa', sa.String(length=128), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('incorporated_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('aktif', 'tidak aktif', 'dibubarkan', name='coopstatus', native_enum=False, length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('status_source', sa.Enum('derived', 'officer', name='statussource', native_enum=False, length=16), nullable=False),
    sa.Column('status_set_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_rat_year', sa.Integer(), nullable=True),
    sa.Column('synthetic', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_cooperatives_kecamatan_id_kecamatan'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cooperatives')),
    sa.UniqueConstraint('registration_number', name=op.f('uq_cooperatives_registration_number'))
    )
    with op.batch_alter_table('cooperatives', schema=None) as batch_op:
        batch_op.create_index('ix_cooperatives_kecamatan_status', ['kecamatan_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cooperatives_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_cooperatives_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_cooperatives_status'), ['status'], unique=False)

    op.create_table('officer_scopes',
    sa.Column('officer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kecamatan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_officer_scopes_kecamatan_id_kecamatan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_officer_scopes_officer_id_officers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('officer_id', 'kecamatan_id', name=op.f('pk_officer_scopes'))
    )
    op.create_table('invites',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('cooperative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['cooperative_id'], ['cooperatives.id'], name=op.f('fk_invites_cooperative_id_cooperatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_invites_code'))
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invites_cooperative_id'), ['cooperative_id'], unique=False)

    op.create_table('manager_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cooperative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Enum('ketua', 'sekretaris', 'bendahara', 'lainnya', name='managerposition', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cooperative_id'], ['cooperatives.id'], name=op.f('fk_manager_links_cooperative_id_cooperatives'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_manager_links_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manager_links')),
    sa.UniqueConstraint('person_id', 'cooperative_id', name='uq_manager_links_person_coop')
    )
    with op.batch_alter_table('manager_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manager_links_cooperative_id'), ['cooperative_id'], unique=False)

    op.create_table('registration_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('cooperative_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Enum('ketua', 'sekretaris', 'bendahara', 'lainnya', name='managerposition', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='requeststatus', native_enum=False, length=16), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cooperative_id'], ['cooperatives.id'], name=op.f('fk_registration_requests_cooperative_id_cooperatives'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_requests'))
    )
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_requests_cooperative_id'), ['cooperative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_status'), ['status'], unique=False)
        batch_op.create_index('ix_registration_requests_user_status', ['telegram_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_requests_user_status')
        batch_op.drop_index(batch_op.f('ix_registration_requests_status'))
        batch_op.drop_index(batch_op.f('ix_registration_requests_cooperative_id'))

    op.drop_table('registration_requests')
    with op.batch_alter_table('manager_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manager_links_cooperative_id'))

    op.drop_table('manager_links')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invites_cooperative_id'))

    op.drop_table('invites')
    op.drop_table('officer_scopes')
    with op.batch_alter_table('cooperatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cooperatives_status'))
        batch_op.drop_index(batch_op.f('ix_cooperatives_nik'))
        batch_op.drop_index(batch_op.f('ix_cooperatives_name'))
        batch_op.drop_index('ix_cooperatives_kecamatan_status')

    op.drop_table('cooperatives')
    op.drop_table('officers')
    op.drop_table('kecamatan')
    with op.batch_alter_table('invite_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_invite_failures_user_at')

    op.drop_table('invite_failures')
