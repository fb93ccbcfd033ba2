"""stats_facts, stats_trails, stats_daily: the projections the supervision figures (GET /api/v1/stats) read

All three are filled in the ingest transaction (server/services/stats_record.py) and back-filled here
from the journal already stored, so a server upgraded with data answers for its past too.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# stats_daily's sums (server/models.py StatsDaily), as of this revision
DAILY_COLUMNS = ("checkin", "checkout", "leave", "intake", "withdraw", "trails", "closed", "recording_ms",
                 "unrecorded_ms")


def upgrade() -> None:
    op.create_table(
        "stats_facts",
        sa.Column("gateway_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("fact", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True),
    )
    op.create_index("ix_stats_facts_ts", "stats_facts", ["ts", "site_id", "fact"])
    op.create_table(
        "stats_trails",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(128), primary_key=True),
        sa.Column("checkout_ts", sa.BigInteger, primary_key=True),
        sa.Column("checkin_ts", sa.BigInteger, nullable=True),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("recording_ms", sa.BigInteger, nullable=False),
        sa.Column("unrecorded_ms", sa.BigInteger, nullable=False),
        sa.Column("steps_missing", sa.Integer, nullable=False),
        sa.Column("officers", sa.JSON, nullable=False),
    )
    op.create_index("ix_stats_trails_checkout", "stats_trails", ["checkout_ts", "site_id"])
    op.create_table(
        "stats_daily",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        *[sa.Column(name, sa.BigInteger, nullable=False) for name in DAILY_COLUMNS],
    )
    op.create_index("ix_stats_daily_day", "stats_daily", ["day", "site_id"])
    _backfill()


def _backfill() -> None:
    from server.services.stats_record import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_stats_daily_day", table_name="stats_daily")
    op.drop_table("stats_daily")
    op.drop_index("ix_stats_trails_checkout", table_name="stats_trails")
    op.drop_table("stats_trails")
    op.drop_index("ix_stats_facts_ts", table_name="stats_facts")
    op.drop_table("stats_facts")
