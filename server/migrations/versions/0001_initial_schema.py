"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 03:37:17.848168
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sites',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('lockers', sa.JSON(), nullable=False),
    sa.Column('doors', sa.JSON(), nullable=False),
    sa.Column('descriptor_ts', sa.BigInteger(), nullable=True),
    sa.Column('created_ts', sa.BigInteger(), nullable=False),
    sa.Column('live_version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('raised_ts', sa.BigInteger(), nullable=False),
    sa.Column('cleared_ts', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_ts', sa.BigInteger(), nullable=True),
    sa.Column('acknowledge_comment', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_ts', sa.BigInteger(), nullable=True),
    sa.Column('resolve_comment', sa.Text(), nullable=True),
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('raised_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'rule', 'subject', 'raised_ts', name='uq_alert_identity')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_raised', ['raised_ts'], unique=False)
        batch_op.create_index('ix_alerts_site_status', ['site_id', 'status'], unique=False)

    op.create_table('custody_subjects',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('person', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('case', sa.String(length=128), nullable=True),
    sa.Column('basis', sa.String(length=64), nullable=True),
    sa.Column('arrived_ts', sa.BigInteger(), nullable=True),
    sa.Column('limit_ms', sa.BigInteger(), nullable=True),
    sa.Column('deadline_ts', sa.BigInteger(), nullable=True),
    sa.Column('checkin_ts', sa.BigInteger(), nullable=True),
    sa.Column('checkout_ts', sa.BigInteger(), nullable=True),
    sa.Column('updated_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'person')
    )
    with op.batch_alter_table('custody_subjects', schema=None) as batch_op:
        batch_op.create_index('ix_custody_site_state', ['site_id', 'state'], unique=False)

    op.create_table('gateways',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credential_hash', sa.String(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_ts', sa.BigInteger(), nullable=True),
    sa.Column('health', sa.JSON(), nullable=True),
    sa.Column('health_ts', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_hash')
    )
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gateways_site_id'), ['site_id'], unique=False)

    op.create_table('items',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=128), nullable=False),
    sa.Column('case', sa.String(length=128), nullable=True),
    sa.Column('bank', sa.String(length=64), nullable=True),
    sa.Column('slot', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('due_ts', sa.BigInteger(), nullable=True),
    sa.Column('intake_ts', sa.BigInteger(), nullable=True),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('last_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'item')
    )
    op.create_table('site_people',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('person', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('zone', sa.String(length=64), nullable=True),
    sa.Column('zone_since_ts', sa.BigInteger(), nullable=True),
    sa.Column('last_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'person')
    )
    with op.batch_alter_table('site_people', schema=None) as batch_op:
        batch_op.create_index('ix_site_people_zone', ['site_id', 'zone'], unique=False)

    op.create_table('site_zones',
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('zone_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('cameras', sa.JSON(), nullable=False),
    sa.Column('requires_recording', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'zone_id')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('alert_actions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('at_ts', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_actions_alert_id'), ['alert_id'], unique=False)

    op.create_table('auth_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_ts', sa.BigInteger(), nullable=False),
    sa.Column('expires_ts', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('journal_entries',
    sa.Column('gateway_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('site_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['gateway_id'], ['gateways.id'], ),
    sa.PrimaryKeyConstraint('gateway_id', 'seq')
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_subject', ['site_id', 'subject', 'kind', 'ts'], unique=False, postgresql_where=sa.text('subject IS NOT NULL'), sqlite_where=sa.text('subject IS NOT NULL'))



def downgrade() -> None:
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_subject', postgresql_where=sa.text('subject IS NOT NULL'), sqlite_where=sa.text('subject IS NOT NULL'))

    op.drop_table('journal_entries')
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_tokens_user_id'))

    op.drop_table('auth_tokens')
    with op.batch_alter_table('alert_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_actions_alert_id'))

    op.drop_table('alert_actions')
    op.drop_table('users')
    op.drop_table('site_zones')
    with op.batch_alter_table('site_people', schema=None) as batch_op:
        batch_op.drop_index('ix_site_people_zone')

    op.drop_table('site_people')
    op.drop_table('items')
    with op.batch_alter_table('gateways', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gateways_site_id'))

    op.drop_table('gateways')
    with op.batch_alter_table('custody_subjects', schema=None) as batch_op:
        batch_op.drop_index('ix_custody_site_state')

    op.drop_table('custody_subjects')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_site_status')
        batch_op.drop_index('ix_alerts_raised')

    op.drop_table('alerts')
    op.drop_table('sites')
