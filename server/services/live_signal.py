"""Tell every server process that a site's live view changed, through the database.

The version counter is what SQLite processes poll; on PostgreSQL the same transaction also
sends NOTIFY, which the database delivers on commit (and never for a rolled-back batch).
"""

from __future__ import annotations

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from server.models import Site

NOTIFY_CHANNEL = "custody_live"


def bump_site_version(session: Session, site_id: str) -> None:
    session.execute(update(Site).where(Site.id == site_id).values(live_version=Site.live_version + 1))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :site)"), {"channel": NOTIFY_CHANNEL, "site": site_id})
