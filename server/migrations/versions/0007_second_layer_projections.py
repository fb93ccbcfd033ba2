"""Second layer on the board: custody_subjects knows minors, vulnerable subjects, guardians, temporary
exits, decisions, the last meal and the outcome; site_people.guardian_for; sites.rules

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CUSTODY_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("guardian", sa.String(128)), ("out_since_ts", sa.BigInteger()), ("out_reason", sa.String(32)),
    ("out_until_ts", sa.BigInteger()), ("out_approved_by", sa.String(128)), ("decision_kind", sa.String(32)),
    ("decision_ts", sa.BigInteger()), ("last_meal_ts", sa.BigInteger()), ("outcome", sa.String(32)),
    ("released_to", sa.String(200)),
]


def upgrade() -> None:
    with op.batch_alter_table("custody_subjects") as batch:
        batch.add_column(sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        batch.add_column(sa.Column("vulnerable", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        for name, type_ in _CUSTODY_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("site_people") as batch:
        batch.add_column(sa.Column("guardian_for", sa.String(128), nullable=True))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("rules", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("rules")
    with op.batch_alter_table("site_people") as batch:
        batch.drop_column("guardian_for")
    with op.batch_alter_table("custody_subjects") as batch:
        for name, _ in reversed(_CUSTODY_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("vulnerable")
        batch.drop_column("minor")
