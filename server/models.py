"""Database tables. Times are integer epoch milliseconds (UTC), like every record on the wire.

Three groups: identity (users, tokens, gateways), the journal (every entry a gateway sent,
verbatim), and projections derived from the journal inside the ingest transaction (zones,
people and where they are, subjects in custody, alerts, items) so the live board is one query.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="handling_area")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    lockers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    doors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    descriptor_ts: Mapped[int | None] = mapped_column(BigInteger)
    # The floor plan the gateway sent with its descriptor (server/schemas/sites.py SitePlan).
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The site's rule settings the gateway sent with its descriptor (server/schemas/sites.py SiteRules):
    # transfer_limit_h, meal_interval_h ... for the board's countdowns; null: the engine's defaults.
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_ts: Mapped[int] = mapped_column(BigInteger)
    # Bumped in every transaction that changes what the board shows; other processes poll it
    # (SQLite) or are told through NOTIFY (PostgreSQL).
    live_version: Mapped[int] = mapped_column(BigInteger, default=0)


class SiteZone(Base):
    __tablename__ = "site_zones"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    cameras: Mapped[list[str]] = mapped_column(JSON, default=list)
    requires_recording: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ts: Mapped[int] = mapped_column(BigInteger)
    # The user's language for pages ("zh_CN", "en"); None follows the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(16), default=None)


class AuthToken(Base):
    __tablename__ = "auth_tokens"
    # sha256 of the bearer token: a stolen database does not yield usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_ts: Mapped[int] = mapped_column(BigInteger)
    expires_ts: Mapped[int] = mapped_column(BigInteger)


class Gateway(Base):
    __tablename__ = "gateways"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_ts: Mapped[int | None] = mapped_column(BigInteger)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    health_ts: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ts: Mapped[int] = mapped_column(BigInteger)
    # The hash of entry last_seq (core_ext/chain.py GENESIS_HASH before the first): each new
    # entry must chain from it (migration 0004).
    last_hash: Mapped[str | None] = mapped_column(String(128))
    # Set when a batch contradicted the stored chain or failed a signature; shown on the boards
    # until an admin clears it with a comment (gateway_audit keeps both).
    chain_conflict_seq: Mapped[int | None] = mapped_column(BigInteger)
    chain_conflict_ts: Mapped[int | None] = mapped_column(BigInteger)
    chain_conflict_detail: Mapped[str | None] = mapped_column(Text)
    # Ed25519 public key (PEM SubjectPublicKeyInfo) that signs this gateway's chain heads.
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(16))
    signatures_verified: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    signatures_unverified: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_signed_seq: Mapped[int | None] = mapped_column(BigInteger)


class GatewayAudit(Base):
    """What happened to a gateway's trust: chain conflicts, their clearing, public keys registered."""

    __tablename__ = "gateway_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    at_ts: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(Integer)  # None: the gateway itself or the server
    username: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")


class JournalEntry(Base):
    """An uplinked journal entry, stored verbatim (body is the JSON text the gateway sent)."""

    __tablename__ = "journal_entries"
    # Must name an existing gateway: checked by triggers once per statement rather than by a
    # foreign key once per row (migration 0003), which halved the ingest's COPY on PostgreSQL.
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    # person or item the entry is about (when it is about one), for trail look-ups
    subject: Mapped[str | None] = mapped_column(String(128))
    hash: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)

    # Partial: most entries (reader events) are about no one, and every index row costs ingest time.
    __table_args__ = (
        Index(
            "ix_journal_subject", "site_id", "subject", "kind", "ts",
            postgresql_where=text("subject IS NOT NULL"), sqlite_where=text("subject IS NOT NULL"),
        ),
    )


class SitePerson(Base):
    """Everyone with a tag the site has told us about, and where they are now."""

    __tablename__ = "site_people"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    person: Mapped[str] = mapped_column(String(128), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), default="unknown")  # staff | subject | guardian | unknown
    role: Mapped[str | None] = mapped_column(String(32))
    sex: Mapped[str | None] = mapped_column(String(1))
    # A guardian (法定代理人 / 合适成年人) enrolled `for` this subject (DESIGN §6.2 "Guardians").
    guardian_for: Mapped[str | None] = mapped_column(String(128))
    zone: Mapped[str | None] = mapped_column(String(64))
    zone_since_ts: Mapped[int | None] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_site_people_zone", "site_id", "zone"),)


class CustodySubject(Base):
    """Latest custody record per subject (state in / extended / out)."""

    __tablename__ = "custody_subjects"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    person: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    sex: Mapped[str | None] = mapped_column(String(1))
    case: Mapped[str | None] = mapped_column(String(128))
    basis: Mapped[str | None] = mapped_column(String(64))
    arrived_ts: Mapped[int | None] = mapped_column(BigInteger)
    limit_ms: Mapped[int | None] = mapped_column(BigInteger)
    deadline_ts: Mapped[int | None] = mapped_column(BigInteger)
    checkin_ts: Mapped[int | None] = mapped_column(BigInteger)
    checkout_ts: Mapped[int | None] = mapped_column(BigInteger)
    updated_ts: Mapped[int] = mapped_column(BigInteger)
    # Second layer (DESIGN §6.2), as the gateway's custody records and events say (migration 0007).
    minor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    guardian: Mapped[str | None] = mapped_column(String(128))       # named by the check-in
    out_since_ts: Mapped[int | None] = mapped_column(BigInteger)    # on a temporary exit since (null: in the area)
    out_reason: Mapped[str | None] = mapped_column(String(32))
    out_until_ts: Mapped[int | None] = mapped_column(BigInteger)
    out_approved_by: Mapped[str | None] = mapped_column(String(128))
    decision_kind: Mapped[str | None] = mapped_column(String(32))   # the first decision of this custody
    decision_ts: Mapped[int | None] = mapped_column(BigInteger)
    last_meal_ts: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(32))
    released_to: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_custody_site_state", "site_id", "state"),)


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    zone: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[Any] = mapped_column(JSON)
    raised_ts: Mapped[int] = mapped_column(BigInteger)
    cleared_ts: Mapped[int | None] = mapped_column(BigInteger)
    # handling by the center: open -> acknowledged -> resolved
    status: Mapped[str] = mapped_column(String(16), default="open")
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_ts: Mapped[int | None] = mapped_column(BigInteger)
    acknowledge_comment: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_ts: Mapped[int | None] = mapped_column(BigInteger)
    resolve_comment: Mapped[str | None] = mapped_column(Text)
    gateway_id: Mapped[str] = mapped_column(String(64))
    raised_seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("site_id", "rule", "subject", "raised_ts", name="uq_alert_identity"),
        Index("ix_alerts_site_status", "site_id", "status"),
        Index("ix_alerts_raised", "raised_ts"),
    )


class AlertAction(Base):
    """Who did what to an alert, and when (kept even if the alert is handled again)."""

    __tablename__ = "alert_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    at_ts: Mapped[int] = mapped_column(BigInteger)
    comment: Mapped[str] = mapped_column(Text, default="")


class Item(Base):
    """Property ledger: where each seized item is, derived from intake, locker and trail entries."""

    __tablename__ = "items"
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(128), primary_key=True)
    case: Mapped[str | None] = mapped_column(String(128))
    bank: Mapped[str | None] = mapped_column(String(64))
    slot: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # in | out | disposed
    due_ts: Mapped[int | None] = mapped_column(BigInteger)
    intake_ts: Mapped[int | None] = mapped_column(BigInteger)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_ts: Mapped[int] = mapped_column(BigInteger)


class StatsFact(Base):
    """One row per journal event the supervision figures count (server/services/stats.py).

    Written in the ingest transaction for the few event types that matter to the figures
    (check-in, check-out, temporary exit, intake, work orders): a handful of rows per subject, so the
    30-day figures of every site aggregate this small table instead of the journal.
    """

    __tablename__ = "stats_facts"
    gateway_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[int] = mapped_column(BigInteger)
    fact: Mapped[str] = mapped_column(String(16))  # server.services.stats_record.FACTS
    subject: Mapped[str | None] = mapped_column(String(128))

    # ts first: the window's edges are read for every site at once (index-only, see services/stats.py)
    __table_args__ = (Index("ix_stats_facts_ts", "ts", "site_id", "fact"),)


class StatsTrail(Base):
    """One row per checked-out custody trail the gateway sent: whether the loop closed, the time
    spent in zones that require recording and how much of it went unrecorded, who escorted."""

    __tablename__ = "stats_trails"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(128), primary_key=True)
    checkout_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    checkin_ts: Mapped[int | None] = mapped_column(BigInteger)
    closed: Mapped[bool] = mapped_column(Boolean)
    recording_ms: Mapped[int] = mapped_column(BigInteger)    # time in stays whose zone requires recording
    unrecorded_ms: Mapped[int] = mapped_column(BigInteger)   # of which no camera recorded
    steps_missing: Mapped[int] = mapped_column(Integer)
    officers: Mapped[list[str]] = mapped_column(JSON, default=list)  # everyone on any stay's officers list

    __table_args__ = (Index("ix_stats_trails_checkout", "checkout_ts", "site_id"),)


class StatsDaily(Base):
    """The same figures summed per site and local day (the site's time zone at ingest): whole days of
    a window are read here, only its two partial edge days from stats_facts and stats_trails.

    One row per site and day: the count of each stats_facts fact, and over the stats_trails rows of
    the day's check-outs their number, how many closed, and their recording and unrecorded time."""

    __tablename__ = "stats_daily"
    site_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)  # days since 1970-01-01, local
    checkin: Mapped[int] = mapped_column(BigInteger, default=0)
    checkout: Mapped[int] = mapped_column(BigInteger, default=0)
    leave: Mapped[int] = mapped_column(BigInteger, default=0)
    intake: Mapped[int] = mapped_column(BigInteger, default=0)
    withdraw: Mapped[int] = mapped_column(BigInteger, default=0)
    trails: Mapped[int] = mapped_column(BigInteger, default=0)
    closed: Mapped[int] = mapped_column(BigInteger, default=0)
    recording_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    unrecorded_ms: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_stats_daily_day", "day", "site_id"),)
