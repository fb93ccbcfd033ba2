"""gateways: the chain the center checks (last_hash, conflict mark), signing keys; gateway_audit

Existing gateways start from the hash of the entry they last stored (or none: the first entry
after the upgrade then chains from the stored entry's hash, looked up here).

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS: list[sa.Column] = [
    sa.Column("last_hash", sa.String(length=128), nullable=True),
    sa.Column("chain_conflict_seq", sa.BigInteger(), nullable=True),
    sa.Column("chain_conflict_ts", sa.BigInteger(), nullable=True),
    sa.Column("chain_conflict_detail", sa.Text(), nullable=True),
    sa.Column("public_key_pem", sa.Text(), nullable=True),
    sa.Column("key_id", sa.String(length=16), nullable=True),
    sa.Column("signatures_verified", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("signatures_unverified", sa.BigInteger(), nullable=False, server_default="0"),
    sa.Column("last_signed_seq", sa.BigInteger(), nullable=True),
]


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): on SQLite a table copy would drop migration 0003's triggers.
    for column in _COLUMNS:
        op.add_column("gateways", column)
    op.execute(
        "UPDATE gateways SET last_hash = (SELECT j.hash FROM journal_entries j "
        "WHERE j.gateway_id = gateways.id AND j.seq = gateways.last_seq) WHERE last_seq > 0"
    )
    op.create_table(
        "gateway_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("at_ts", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
    )
    op.create_index("ix_gateway_audit_gateway_id", "gateway_audit", ["gateway_id"])


def downgrade() -> None:
    op.drop_index("ix_gateway_audit_gateway_id", table_name="gateway_audit")
    op.drop_table("gateway_audit")
    for column in reversed(_COLUMNS):
        op.drop_column("gateways", column.name)
