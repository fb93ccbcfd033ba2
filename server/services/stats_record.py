"""The supervision projections, written in the ingest transaction: `stats_facts`, `stats_trails`, `stats_daily`.

`stats_facts` holds one row per event the figures count (FACTS below); `stats_trails` one row per
checked-out custody trail, with its closed flag and its recording figures already summed, so the
statistics (server/services/stats.py) never read the journal. Both are insert-only, keyed so that a
replayed entry inserts nothing twice. `stats_daily` sums both per site and local day (what was
really inserted, read back with RETURNING), so a 30-day window reads 30 rows per site and fact
rather than every fact.

Cost on the ingest path: one pass over the batch picking the few entries that matter (a type
look-up per entry), then, only when the batch holds any, one INSERT per table and one upsert of
the day sums. A site's days are its local days at ingest time (sites.timezone): a site whose
time zone changes keeps its earlier days as they were summed.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.models import (
    JournalEntry,
    Site,
    SiteZone,
    StatsDaily,
    StatsFact,
    StatsTrail,
)
from server.schemas import uplink_bodies as b
from server.schemas.uplink import DecodedEntry

# fact -> what it counts (the keys of the figures that read it are in server/services/stats.py)
FACTS: dict[str, str] = {
    "checkin": "a subject checked in (checkin event)",
    "checkout": "a subject checked out (checkout event)",
    "leave": "a temporary exit (leave event: 指认现场, 起赃, 就医 ...)",
    "intake": "an item taken into a locker slot (intake event)",
    "withdraw": "a withdraw work order (workorder event, action withdraw)",
}

_TAG_OF: dict[type, str] = {t: t.__struct_config__.tag for t in b.KnownEvent.__args__}
# stats_daily's sums: every fact's count, and the trails' figures
DAILY_COLUMNS = (*FACTS, "trails", "closed", "recording_ms", "unrecorded_ms")
_KNOWN_TAGS = frozenset(_TAG_OF.values())
_EVENT_TAGS = frozenset({"checkin", "checkout", "leave", "intake", "workorder"})
# Body types worth a look: the known events above, event types this server does not decode
# (EventHeader: a newer gateway's `leave`, for one), and trails.
_INTERESTING = frozenset({t for t, tag in _TAG_OF.items() if tag in _EVENT_TAGS} | {b.EventHeader, b.TrailBody})


def _fact(tag: str, body: Any, raw_body: bytes) -> tuple[str, str | None] | None:
    if tag in ("checkin", "checkout"):
        return tag, body.person
    if tag == "intake":
        return "intake", body.item
    if tag == "workorder":
        return ("withdraw", body.item) if body.action == "withdraw" else None
    if tag == "leave":
        person = getattr(body, "person", None)
        if person is None:  # not decoded by this server: the raw body still names the person
            decoded = msgspec.json.decode(raw_body)
            person = decoded.get("person") if isinstance(decoded, dict) else None
        return "leave", person if isinstance(person, str) else None
    return None


def _requires_recording(session_or_conn: Session | Connection, site_id: str) -> dict[str, bool]:
    rows = session_or_conn.execute(
        select(SiteZone.zone_id, SiteZone.requires_recording).where(SiteZone.site_id == site_id))
    return {zone: bool(required) for zone, required in rows}


def trail_row(site_id: str, body: b.TrailBody, requires: dict[str, bool]) -> dict[str, Any] | None:
    """The stats_trails row of a checked-out trail (None for a trail of someone still in).

    A stay counts towards recording time when its zone requires recording; a zone the site
    descriptor does not list counts too (DESIGN §6.1: requires_recording defaults to true)."""
    if body.checkout_ts is None:
        return None
    recording = unrecorded = 0
    officers: set[str] = set()
    for stay in body.stays:
        officers.update(stay.officers)
        if stay.zone is None or stay.leave_ts is None or not requires.get(stay.zone, True):
            continue
        recording += max(stay.leave_ts - stay.enter_ts, 0)
        unrecorded += stay.unrecorded_ms
    return {
        "site_id": site_id, "person": body.subject, "checkout_ts": body.checkout_ts, "checkin_ts": body.checkin_ts,
        "closed": bool(body.closed), "recording_ms": recording, "unrecorded_ms": min(unrecorded, recording),
        "steps_missing": len(body.steps_missing), "officers": sorted(officers),
    }


def record_stats(session: Session, gateway_id: str, site_id: str, entries: list[DecodedEntry]) -> None:
    """Add the batch's facts and trails (call inside the ingest transaction)."""
    picked = [e for e in entries if type(e.body) in _INTERESTING]
    if not picked:
        return
    facts, trails = _rows(session, gateway_id, site_id, ((e.seq, e.ts, e.body, e.raw_body) for e in picked))
    _insert(session, site_id, facts, trails)


def _rows(bind: Session | Connection, gateway_id: str, site_id: str,
          entries: Iterable[tuple[int, int, Any, bytes]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    facts: list[dict[str, Any]] = []
    trails: list[dict[str, Any]] = []
    requires: dict[str, bool] | None = None
    for seq, ts, body, raw_body in entries:
        body_type = type(body)
        if body_type is b.TrailBody:
            if requires is None:
                requires = _requires_recording(bind, site_id)
            row = trail_row(site_id, body, requires)
            if row is not None:
                trails.append(row)
            continue
        tag = body.type if body_type is b.EventHeader else _TAG_OF.get(body_type)
        found = _fact(tag, body, raw_body) if tag in _EVENT_TAGS else None
        if found is not None:
            facts.append({"gateway_id": gateway_id, "seq": seq, "site_id": site_id, "ts": ts,
                          "fact": found[0], "subject": found[1]})
    return facts, trails


def _insert(bind: Session | Connection, site_id: str, facts: list[dict[str, Any]], trails: list[dict[str, Any]]) -> None:
    """Insert the rows, then add what was really inserted (not a replayed duplicate) to stats_daily."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    daily: dict[int, Counter[str]] = {}
    zone = _zone(_site_timezone(bind, site_id))

    def day_of(ts: int) -> Counter[str]:
        return daily.setdefault(local_day(ts, zone), Counter())

    if facts:
        for ts, fact in bind.execute(insert(StatsFact).on_conflict_do_nothing().returning(StatsFact.ts, StatsFact.fact),
                                     facts):
            day_of(ts)[fact] += 1
    if trails:
        # One gateway trail per check-out; the same check-out sent again is the same trail.
        t = StatsTrail
        for ts, closed, recording, unrecorded in bind.execute(
                insert(t).on_conflict_do_nothing().returning(t.checkout_ts, t.closed, t.recording_ms, t.unrecorded_ms),
                trails):
            sums = day_of(ts)
            sums["trails"] += 1
            sums["closed"] += 1 if closed else 0
            sums["recording_ms"] += recording
            sums["unrecorded_ms"] += unrecorded
    if daily:
        statement = insert(StatsDaily)
        statement = statement.on_conflict_do_update(
            index_elements=["site_id", "day"],
            set_={c: getattr(StatsDaily, c) + statement.excluded[c] for c in DAILY_COLUMNS})
        # sorted: two transactions adding to the same site's days lock the rows in the same order
        bind.execute(statement, [{"site_id": site_id, "day": day, **{c: sums.get(c, 0) for c in DAILY_COLUMNS}}
                                 for day, sums in sorted(daily.items())])


def _site_timezone(bind: Session | Connection, site_id: str) -> str:
    tz = bind.execute(select(Site.timezone).where(Site.id == site_id)).scalar_one_or_none()
    return tz or DEFAULT_TIMEZONE


DEFAULT_TIMEZONE = "Asia/Shanghai"
_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(ts: int, zone: ZoneInfo) -> int:
    """The local date of ts in the zone, as days since 1970-01-01 (the stats_daily key)."""
    return (datetime.fromtimestamp(ts / 1000, zone).date() - _EPOCH).days


_BACKFILL_CHUNK = 5_000


def backfill(connection: Connection) -> None:
    """Fill both tables from the journal already stored (the migration that creates them)."""
    journal = JournalEntry.__table__
    query = (
        select(journal.c.gateway_id, journal.c.seq, journal.c.site_id, journal.c.ts, journal.c.kind, journal.c.body)
        .where(journal.c.kind.in_(("event", "trail")))
        .where(journal.c.subject.is_not(None) | journal.c.body.like('%"leave"%'))
        .order_by(journal.c.gateway_id, journal.c.seq)
    )
    rows = connection.execute(query).all()
    for (gateway_id, site_id), chunk in _grouped(rows):
        decoded = []
        for seq, ts, kind, text in chunk:
            decoded.append((seq, ts, _decode(kind, text.encode()), text.encode()))
        facts, trails = _rows(connection, gateway_id, site_id, decoded)
        _insert(connection, site_id, facts, trails)


def _grouped(rows: Sequence[Any]) -> Iterator[tuple[tuple[str, str], list[tuple[int, int, str, str]]]]:
    current: tuple[str, str] | None = None
    chunk: list[tuple[int, int, str, str]] = []
    for gateway_id, seq, site_id, ts, kind, body in rows:
        key = (gateway_id, site_id)
        if key != current or len(chunk) >= _BACKFILL_CHUNK:
            if chunk and current is not None:
                yield current, chunk
            current, chunk = key, []
        chunk.append((seq, ts, kind, body))
    if chunk and current is not None:
        yield current, chunk


_trail_decoder = msgspec.json.Decoder(b.TrailBody)
_event_decoder = msgspec.json.Decoder(b.KnownEvent)
_header_decoder = msgspec.json.Decoder(b.EventHeader)


def _decode(kind: str, raw: bytes) -> Any:
    """A stored body as the ingest decoded it (it was validated then: a failure here is an error)."""
    if kind == "trail":
        return _trail_decoder.decode(raw)
    try:
        return _event_decoder.decode(raw)
    except msgspec.ValidationError:
        header = _header_decoder.decode(raw)
        if header.type in _KNOWN_TAGS:
            raise
        return header
