"""Supervision figures per site (GET /api/v1/stats, DESIGN §6.4): what 日巡查, 周通报 and 月考评 read.

Every figure counts what happened with ts in [from, to):

- check-ins, check-outs, temporary exits, intakes and withdraw work orders from `stats_facts`;
- closed trails and recording time from `stats_trails` (the trails of the check-outs in the window);
- alerts by rule from `alerts` (raised in the window), with how the center handled them.

Definitions a reader of the numbers needs (also in the OpenAPI description of the route):

- `closed_loop_rate` = closed_trails / subjects_checked_out, null when nothing was checked out.
- `recorded_ratio` = 1 − unrecorded / recording time, summed over the trails of the window's
  check-outs, where recording time is the length of every stay in a zone that requires recording
  and unrecorded the stays' `unrecorded_ms`; null when there was no such time.
- `alerts_by_rule.<rule>`: `raised`; `acknowledged` (acknowledged or resolved by now);
  `resolved`; `unhandled` (still open now); `ack_p50_s` / `ack_p95_s`, nearest-rank percentiles
  of the seconds from raise to acknowledgement (null when none was acknowledged);
  `raised_s_total`, the seconds the alerts stayed raised, from raise to clear, cut at `to` (and
  at now for alerts still raised); one-shot rules (ONE_SHOT_RULES) mark a moment and add 0.
- `violations`: raised alerts of every rule but the reminders (REMINDER_RULES);
  `violations_per_100_subjects` = 100 × violations / subjects_checked_in (null when 0).
- `group_by=day`: one row per site and local day of the site's time zone (`day`, `day_from`,
  `day_to`), every day of the window, quiet ones included.
- `group_by=officer`: one row per site and officer. A violation (an alert about a subject) counts
  for every officer listed on the subject's trail stay that holds the raise time (the stay in
  the alert's zone when two touch at that instant). Stays list the officers who were in the zone
  at some time during the stay, so this is "present during the stay where it happened"; only
  checked-out subjects have a trail, so alerts of subjects still in custody are not attributed
  yet (a row with officer null and `violations_unattributed` counts them). `subjects` counts the
  check-outs in the window whose trail lists the officer on any stay (one per custody).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import and_, bindparam, case, func, literal_column, select, text, tuple_
from sqlalchemy.orm import Session

from core_ext import vocab
from server.models import (
    Alert,
    JournalEntry,
    Site,
    StatsDaily,
    StatsFact,
    StatsTrail,
    User,
)
from server.services.access import require_site, visible_site_ids
from server.services.errors import NotFound
from server.services.stats_record import FACTS

GroupBy = Literal["day", "officer"]
DAY_MS = 86_400_000
MAX_WINDOW_DAYS = 400
# Rules that remind rather than report a breach: not counted as violations.
REMINDER_RULES = frozenset({"time_limit_warning"})
# Alerts that are only raised, never cleared (DESIGN §6.2): they mark a moment, not a duration.
ONE_SHOT_RULES = frozenset(vocab.ONE_SHOT_RULES)
# Figures that are the raise count of one rule.
RULE_COUNTS = {
    "time_limit_exceeded": "time_limit_exceeded",
    "items_overdue": "item_overdue",
    "item_mismatches": "item_mismatch",
    "unauthorized_openings": "locker_unauthorized_open",
}
FACT_COUNTS = {
    "subjects_checked_in": "checkin",
    "subjects_checked_out": "checkout",
    "temporary_exits": "leave",
    "intakes": "intake",
    "withdrawals": "withdraw",
}
# The keys of a site row and of `totals`, in the order the exports list them.
FIGURE_KEYS = (
    "subjects_checked_in",
    "subjects_checked_out",
    "closed_trails",
    "closed_loop_rate",
    "alerts_raised",
    "violations",
    "violations_per_100_subjects",
    "alerts_unhandled",
    "time_limit_exceeded",
    "recorded_ratio",
    "recording_s",
    "unrecorded_s",
    "temporary_exits",
    "intakes",
    "withdrawals",
    "items_overdue",
    "item_mismatches",
    "unauthorized_openings",
)


class StatsError(ValueError):
    """A request the figures cannot answer (bad window): `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def rules() -> list[str]:
    """Every rule the figures list, from the one vocabulary (new rules appear by themselves)."""
    return list(vocab.RULES)


def violation_rules() -> list[str]:
    return [r for r in vocab.RULES if r not in REMINDER_RULES]


@dataclass(slots=True)
class _RuleAcc:
    raised: int = 0
    acknowledged: int = 0
    resolved: int = 0
    unhandled: int = 0
    raised_ms: int = 0
    delays: list[int] = field(default_factory=list)
    # percentiles computed by the database (PostgreSQL); None: compute them from `delays`
    p50: int | None = None
    p95: int | None = None
    in_sql: bool = False


@dataclass
class _Acc:
    facts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    closed_trails: int = 0
    recording_ms: int = 0
    unrecorded_ms: int = 0
    by_rule: dict[str, _RuleAcc] = field(default_factory=lambda: defaultdict(_RuleAcc))

    def merge(self, other: _Acc, rules: bool = True) -> None:
        for key, value in other.facts.items():
            self.facts[key] += value
        self.closed_trails += other.closed_trails
        self.recording_ms += other.recording_ms
        self.unrecorded_ms += other.unrecorded_ms
        if not rules:
            return
        for rule, acc in other.by_rule.items():
            mine = self.by_rule[rule]
            mine.raised += acc.raised
            mine.acknowledged += acc.acknowledged
            mine.resolved += acc.resolved
            mine.unhandled += acc.unhandled
            mine.raised_ms += acc.raised_ms
            mine.delays.extend(acc.delays)
            # percentiles do not add up: the caller asks the database for the merged ones
            mine.in_sql = mine.in_sql or acc.in_sql
            mine.p50 = mine.p95 = None


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile (the smallest value with at least p of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)) - 1, 0)]


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def _figures(acc: _Acc) -> dict[str, Any]:
    checked_in = acc.facts.get("checkin", 0)
    checked_out = acc.facts.get("checkout", 0)
    by_rule: dict[str, Any] = {}
    for rule in [*rules(), *sorted(set(acc.by_rule) - set(vocab.RULES))]:
        r = acc.by_rule.get(rule) or _RuleAcc()
        if r.in_sql:
            p50, p95 = r.p50, r.p95
        else:
            p50, p95 = percentile(r.delays, 0.5), percentile(r.delays, 0.95)
        by_rule[rule] = {
            "raised": r.raised,
            "acknowledged": r.acknowledged,
            "resolved": r.resolved,
            "unhandled": r.unhandled,
            "ack_p50_s": None if p50 is None else p50 / 1000,
            "ack_p95_s": None if p95 is None else p95 / 1000,
            "raised_s_total": r.raised_ms / 1000,
        }
    violations = sum(by_rule[r]["raised"] for r in by_rule if r not in REMINDER_RULES)
    out: dict[str, Any] = {key: acc.facts.get(fact, 0) for key, fact in FACT_COUNTS.items()}
    out.update(
        closed_trails=acc.closed_trails,
        closed_loop_rate=_ratio(acc.closed_trails, checked_out),
        alerts_by_rule=by_rule,
        alerts_raised=sum(r["raised"] for r in by_rule.values()),
        alerts_unhandled=sum(r["unhandled"] for r in by_rule.values()),
        violations=violations,
        violations_per_100_subjects=None if not checked_in else 100 * violations / checked_in,
        recorded_ratio=None if not acc.recording_ms else 1 - acc.unrecorded_ms / acc.recording_ms,
        recording_s=acc.recording_ms / 1000,
        unrecorded_s=acc.unrecorded_ms / 1000,
    )
    out.update({key: by_rule[rule]["raised"] if rule in by_rule else 0 for key, rule in RULE_COUNTS.items()})
    return out


# ------------------------------------------------------------------------------- queries


def _collect(
    session: Session,
    site_ids: list[str] | None,
    tz: str,
    lo: int,
    hi: int,
    cap: int,
    by_day: bool,
    delays: bool = True,
    per_site: bool = True,
) -> dict[tuple[str, int | None], _Acc]:
    """Accumulators per (site, local day number, or None when not by day) for [lo, hi).

    The window's whole local days come from stats_daily; the partial days at its two edges from
    stats_facts and stats_trails; alerts always from `alerts` (their handling changes over time)."""
    accs: dict[tuple[str, int | None], _Acc] = defaultdict(_Acc)
    whole = whole_days(tz, lo, hi)
    if whole is None:
        raw = [(lo, hi)]
    else:
        first, last, start, end = whole
        raw = [(a, b) for a, b in ((lo, start), (end, hi)) if a < b]
        _from_daily(session, site_ids, first, last, by_day, accs, per_site)
    for a, b in raw:
        for segment in _segments(tz, a, b, by_day):
            _from_rows(session, site_ids, segment, accs, per_site)
    for segment in _segments(tz, lo, hi, by_day):
        _from_alerts(session, site_ids, segment, cap, accs, delays, per_site)
    return accs


_NO_SITE: Any = literal_column("''")  # the site column when the figures are not split by site


def _site(column: Any, per_site: bool) -> tuple[Any, list[Any]]:
    """(what to select as site_id, what to group by for it)."""
    return (column, [column]) if per_site else (_NO_SITE.label("site_id"), [])


def _percentiles_in_sql(session: Session) -> bool:
    """PostgreSQL has percentile_disc (the same nearest rank as `percentile`); SQLite has not."""
    return session.get_bind().dialect.name == "postgresql"


def _delay_percentiles(session: Session, site_ids: list[str] | None, lo: int, hi: int, per_site: bool) -> list[Any]:
    """(site_id, rule, p50, p95) rows, or (rule, p50, p95) when not per site, computed by PostgreSQL."""
    a = Alert.__table__.c
    delay = a.acknowledged_ts - a.raised_ts
    site = [a.site_id] if per_site else []
    query = _scoped(
        select(
            *site,
            a.rule,
            func.percentile_disc(0.5).within_group(delay).label("p50"),
            func.percentile_disc(0.95).within_group(delay).label("p95"),
        ).where(a.raised_ts >= lo, a.raised_ts < hi, a.acknowledged_ts.is_not(None)),
        a.site_id,
        site_ids,
    ).group_by(*site, a.rule)
    return list(session.execute(query))


def _segments(tz: str, lo: int, hi: int, by_day: bool) -> list[Segment]:
    return offset_segments(tz, lo, hi) if by_day else [Segment(lo, hi, None)]


def _scoped(query: Any, column: Any, site_ids: list[str] | None) -> Any:
    return query if site_ids is None else query.where(column.in_(site_ids))


def _bucket(column: Any, segment: Segment) -> list[Any]:
    return [] if segment.offset_ms is None else [((column + segment.offset_ms) // DAY_MS).label("day")]


def _key(row: Any, by_day: bool) -> tuple[str, int | None]:
    return row.site_id, (int(row.day) if by_day else None)


def _from_daily(
    session: Session,
    site_ids: list[str] | None,
    first: int,
    last: int,
    by_day: bool,
    accs: dict[tuple[str, int | None], _Acc],
    per_site: bool = True,
) -> None:
    d = StatsDaily.__table__.c
    day = [d.day] if by_day else []
    facts = list(FACTS)
    site, site_group = _site(d.site_id, per_site)
    query = _scoped(
        select(
            site,
            *day,
            *[func.sum(d[f]) for f in facts],
            func.sum(d.closed),
            func.sum(d.recording_ms),
            func.sum(d.unrecorded_ms),
        ).where(d.day >= first, d.day <= last),
        d.site_id,
        site_ids,
    ).group_by(*site_group, *day)
    width = len(day)
    for row in session.execute(query).all():
        acc = accs[(row[0], int(row[1]) if by_day else None)]
        sums = row[1 + width :]
        for fact, n in zip(facts, sums):
            if n:
                acc.facts[fact] += int(n)
        closed, recording, unrecorded = sums[len(facts) :]
        acc.closed_trails += int(closed or 0)
        acc.recording_ms += int(recording or 0)
        acc.unrecorded_ms += int(unrecorded or 0)


def _from_rows(
    session: Session,
    site_ids: list[str] | None,
    segment: Segment,
    accs: dict[tuple[str, int | None], _Acc],
    per_site: bool = True,
) -> None:
    by_day = segment.offset_ms is not None
    f = StatsFact.__table__.c
    day = _bucket(f.ts, segment)
    site, site_group = _site(f.site_id, per_site)
    query = _scoped(
        select(site, *day, f.fact, func.count().label("n")).where(f.ts >= segment.lo, f.ts < segment.hi),
        f.site_id,
        site_ids,
    ).group_by(*site_group, *day, f.fact)
    for row in session.execute(query).all():
        accs[_key(row, by_day)].facts[row.fact] += row.n
    t = StatsTrail.__table__.c
    day = _bucket(t.checkout_ts, segment)
    site, site_group = _site(t.site_id, per_site)
    query = _scoped(
        select(
            site,
            *day,
            func.sum(case((t.closed, 1), else_=0)).label("closed"),
            func.sum(t.recording_ms).label("recording"),
            func.sum(t.unrecorded_ms).label("unrecorded"),
        ).where(t.checkout_ts >= segment.lo, t.checkout_ts < segment.hi),
        t.site_id,
        site_ids,
    ).group_by(*site_group, *day)
    for row in session.execute(query).all():
        acc = accs[_key(row, by_day)]
        acc.closed_trails += int(row.closed or 0)
        acc.recording_ms += int(row.recording or 0)
        acc.unrecorded_ms += int(row.unrecorded or 0)


def _from_alerts(
    session: Session,
    site_ids: list[str] | None,
    segment: Segment,
    cap: int,
    accs: dict[tuple[str, int | None], _Acc],
    delays: bool = True,
    per_site: bool = True,
) -> None:
    by_day = segment.offset_ms is not None
    in_sql = not by_day and per_site and _percentiles_in_sql(session)
    a = Alert.__table__.c
    day = _bucket(a.raised_ts, segment)
    end = case((and_(a.cleared_ts.is_not(None), a.cleared_ts < cap), a.cleared_ts), else_=cap)
    duration = case((a.rule.in_(ONE_SHOT_RULES), 0), (end > a.raised_ts, end - a.raised_ts), else_=0)
    window = (a.raised_ts >= segment.lo, a.raised_ts < segment.hi)
    site, site_group = _site(a.site_id, per_site)
    columns = [
        site,
        *day,
        a.rule,
        func.count().label("n"),
        func.count(a.acknowledged_ts).label("acked"),
        func.sum(case((a.status == "resolved", 1), else_=0)).label("resolved"),
        func.sum(case((a.status == "open", 1), else_=0)).label("open"),
        func.sum(duration).label("raised_ms"),
    ]
    if in_sql:
        # Nearest-rank percentiles of the acknowledgement delay (NULL, i.e. not acknowledged, is
        # skipped), per site and, in the same scan, over all of them (the grouping set without site).
        delay = a.acknowledged_ts - a.raised_ts
        columns += [
            func.percentile_disc(0.5).within_group(delay).label("p50"),
            func.percentile_disc(0.95).within_group(delay).label("p95"),
        ]
        grouping: list[Any] = [func.grouping_sets(tuple_(a.site_id, a.rule), tuple_(a.rule))]
    else:
        grouping = [*site_group, *day, a.rule]
    query = _scoped(select(*columns).where(*window), a.site_id, site_ids).group_by(*grouping)
    width = 1 + len(day)
    for row in session.execute(query).all():
        site_id, rule, n, acked, resolved, still_open, raised_ms = (
            row[0],
            row[width],
            row[width + 1],
            row[width + 2],
            row[width + 3],
            row[width + 4],
            row[width + 5],
        )
        key = _ALL_SITES if site_id is None else (site_id, int(row[1]) if by_day else None)
        r = accs[key].by_rule[rule]
        r.raised += n
        r.acknowledged += acked
        r.resolved += int(resolved or 0)
        r.unhandled += int(still_open or 0)
        r.raised_ms += int(raised_ms or 0)
        if in_sql:
            r.in_sql = True
            p50, p95 = row[width + 6], row[width + 7]
            r.p50 = None if p50 is None else int(p50)
            r.p95 = None if p95 is None else int(p95)
    if in_sql or not delays:
        return
    query = _scoped(
        select(site, *day, a.rule, (a.acknowledged_ts - a.raised_ts).label("delay")).where(
            *window, a.acknowledged_ts.is_not(None)
        ),
        a.site_id,
        site_ids,
    )
    for row in session.execute(query).all():
        accs[_key(row, by_day)].by_rule[row.rule].delays.append(int(row.delay))


# The key under which _from_alerts leaves the all-sites row of its grouping sets (PostgreSQL).
_ALL_SITES: tuple[str, int | None] = ("", -1)


# --------------------------------------------------------------------------- local days


@dataclass(frozen=True)
class Segment:
    """A stretch of [from, to) over which a time zone keeps one UTC offset (None: no day buckets)."""

    lo: int
    hi: int
    offset_ms: int | None


_STEP_MS = 15 * 60_000  # offsets change on quarter hours in every zone in use


def offset_segments(tz: str, lo: int, hi: int) -> list[Segment]:
    zone = ZoneInfo(tz)

    def offset(ts: int) -> int:
        delta = datetime.fromtimestamp(ts / 1000, zone).utcoffset()
        return int(delta.total_seconds() * 1000) if delta is not None else 0

    segments: list[Segment] = []
    start, current = lo, offset(lo)
    probe = (lo // _STEP_MS + 1) * _STEP_MS
    while probe < hi:
        now = offset(probe)
        if now != current:
            segments.append(Segment(start, probe, current))
            start, current = probe, now
        probe += _STEP_MS
    segments.append(Segment(start, hi, current))
    return segments


def day_label(day_number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day_number)).isoformat()


def local_midnight_ms(day: date, tz: str) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp() * 1000)


def whole_days(tz: str, lo: int, hi: int) -> tuple[int, int, int, int] | None:
    """(first, last, start, end): the local days first..last lie wholly in [lo, hi), from start to end."""
    whole = [
        (number, start, end)
        for number, start, end in local_days(tz, lo, hi)
        if start == local_midnight_ms(date(1970, 1, 1) + timedelta(days=number), tz)
        and end == local_midnight_ms(date(1970, 1, 1) + timedelta(days=number + 1), tz)
    ]
    if not whole:
        return None
    return whole[0][0], whole[-1][0], whole[0][1], whole[-1][2]


def local_days(tz: str, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """(day number, from, to) of every local day that [lo, hi) touches, clipped to it."""
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(lo / 1000, zone).date()
    last = datetime.fromtimestamp((hi - 1) / 1000, zone).date()
    out = []
    day = first
    while day <= last:
        start = max(local_midnight_ms(day, tz), lo)
        end = min(local_midnight_ms(day + timedelta(days=1), tz), hi)
        out.append(((day - date(1970, 1, 1)).days, start, end))
        day += timedelta(days=1)
    return out


# ------------------------------------------------------------------------------ entry


def _check_window(lo: int, hi: int) -> None:
    if lo < 0:
        raise StatsError("from", f"must be epoch milliseconds >= 0, got {lo}")
    if hi <= lo:
        raise StatsError("to", f"must be after from ({lo}), got {hi}")
    if hi - lo > MAX_WINDOW_DAYS * DAY_MS:
        raise StatsError("to", f"the window may span at most {MAX_WINDOW_DAYS} days, got {(hi - lo) / DAY_MS:.1f}")


_SITE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # as sites are created (server/schemas/sites.py)


def visible_sites(session: Session, user: User, site_id: str | None) -> list[Site]:
    if site_id is not None:
        if _SITE_ID.fullmatch(site_id) is None:  # no site has such an id (nor may it reach the database: NUL)
            raise NotFound(f"site {site_id!r} not found")
        require_site(user, site_id)
        site = session.get(Site, site_id)
        if site is None:
            raise NotFound(f"site {site_id!r} not found")
        return [site]
    query = select(Site).order_by(Site.id)
    visible = visible_site_ids(user)
    if visible is not None:
        query = query.where(Site.id.in_(visible))
    return list(session.execute(query).scalars())


def stats(
    session: Session,
    user: User,
    lo: int,
    hi: int,
    now: int,
    site_id: str | None = None,
    group_by: GroupBy | None = None,
) -> dict[str, Any]:
    """The response of GET /api/v1/stats (see the module docstring for every definition)."""
    _check_window(lo, hi)
    if session.get_bind().dialect.name == "postgresql":
        # the percentiles sort every acknowledged alert of the window: in memory, not on disk
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    sites = visible_sites(session, user, site_id)
    everything = site_id is None and visible_site_ids(user) is None
    cap = min(hi, now)
    by_tz = _by_timezone(sites)
    totals = _Acc()
    per_site: dict[tuple[str, int | None], _Acc] = {}
    if group_by != "day":
        for tz, tz_sites in by_tz.items():
            ids = None if everything and len(by_tz) == 1 else [s.id for s in tz_sites]
            collected = _collect(session, ids, tz, lo, hi, cap, False)
            if len(by_tz) > 1:  # an all-sites row of one time zone's sites only
                collected.pop(_ALL_SITES, None)
            per_site.update(collected)
        overall = per_site.pop(_ALL_SITES, None)
        if overall is not None and len(by_tz) == 1:
            # PostgreSQL's all-sites grouping set already holds every rule's totals, percentiles included
            for acc in per_site.values():
                totals.merge(acc, rules=False)
            totals.by_rule = overall.by_rule
        else:
            for acc in per_site.values():
                totals.merge(acc)
        if (overall is None or len(by_tz) > 1) and _percentiles_in_sql(session):  # several time zones: one more look
            ids = None if everything else [s.id for s in sites]
            for row in _delay_percentiles(session, ids, lo, hi, per_site=False):
                r = totals.by_rule[row.rule]
                r.in_sql, r.p50, r.p95 = True, int(row.p50), int(row.p95)
    names = {s.id: s.name for s in sites}
    out: dict[str, Any] = {"from": lo, "to": hi}
    if group_by is None:
        out["sites"] = [
            {"site_id": s.id, "site_name": s.name, **_figures(per_site.get((s.id, None), _Acc()))} for s in sites
        ]
    elif group_by == "day":
        out["group_by"] = "day"
        out["sites"] = _by_day(session, by_tz, lo, hi, cap, totals)
    else:
        out["group_by"] = "officer"
        out["sites"] = by_officer(session, [s.id for s in sites], names, lo, hi)
    out["totals"] = _figures(totals)
    return out


def day_series(
    session: Session, user: User, lo: int, hi: int, now: int, site_id: str | None = None
) -> list[dict[str, Any]]:
    """Per local day, every visible site together: check-ins and -outs, closed trails, violations.

    What the pages' charts need, without building every site's full figures for every day (the
    reporting time zone is the first site's, as on the pages)."""
    _check_window(lo, hi)
    sites = visible_sites(session, user, site_id)
    if not sites:
        return []
    tz = sites[0].timezone or "Asia/Shanghai"
    everything = site_id is None and visible_site_ids(user) is None
    accs = _collect(
        session,
        None if everything else [s.id for s in sites],
        tz,
        lo,
        hi,
        min(hi, now),
        True,
        delays=False,
        per_site=False,
    )
    per_day: dict[int, _Acc] = defaultdict(_Acc)
    for (_, day), acc in accs.items():
        if day is not None and day >= 0:
            per_day[day].merge(acc)
    out = []
    for number, start, end in local_days(tz, lo, hi):
        acc = per_day.get(number, _Acc())
        out.append(
            {
                "day": day_label(number),
                "day_from": start,
                "day_to": end,
                "subjects_checked_in": acc.facts.get("checkin", 0),
                "subjects_checked_out": acc.facts.get("checkout", 0),
                "closed_trails": acc.closed_trails,
                "violations": sum(r.raised for rule, r in acc.by_rule.items() if rule not in REMINDER_RULES),
            }
        )
    return out


def _by_timezone(sites: list[Site]) -> dict[str, list[Site]]:
    by_tz: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        by_tz[site.timezone or "Asia/Shanghai"].append(site)
    return by_tz


def _by_day(
    session: Session, by_tz: dict[str, list[Site]], lo: int, hi: int, cap: int, totals: _Acc
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for tz, tz_sites in by_tz.items():
        accs = _collect(session, [s.id for s in tz_sites], tz, lo, hi, cap, True)
        for acc in accs.values():
            totals.merge(acc)
        days = local_days(tz, lo, hi)
        for site in tz_sites:
            for number, start, end in days:
                rows.append(
                    {
                        "site_id": site.id,
                        "site_name": site.name,
                        "day": day_label(number),
                        "day_from": start,
                        "day_to": end,
                        **_figures(accs.get((site.id, number), _Acc())),
                    }
                )
    rows.sort(key=lambda r: (r["site_id"], r["day"]))
    return rows


# ---------------------------------------------------------------------------- officers


def by_officer(session: Session, site_ids: list[str], names: dict[str, str], lo: int, hi: int) -> list[dict[str, Any]]:
    """One row per (site, officer); see the module docstring for what is attributed to whom."""
    if not site_ids:
        return []
    wanted = set(violation_rules()) & set(vocab.PERSON_SUBJECT_RULES)  # violations about a subject
    subjects: dict[tuple[str, str], int] = defaultdict(int)
    for start in range(0, len(site_ids), 500):
        for sid, officer, n in _escorts(session, site_ids[start : start + 500], lo, hi):
            subjects[(sid, officer)] += n

    a = Alert.__table__.c
    alerts = [
        row
        for start in range(0, len(site_ids), 500)
        for row in session.execute(
            select(a.site_id, a.rule, a.subject, a.zone, a.raised_ts).where(
                a.site_id.in_(site_ids[start : start + 500]), a.raised_ts >= lo, a.raised_ts < hi
            )
        )
        if row.rule in wanted
    ]
    trails = _trails_of(session, {(r.site_id, r.subject) for r in alerts})
    violations: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    unattributed: dict[str, int] = defaultdict(int)
    for alert in alerts:
        officers = _officers_at(trails.get((alert.site_id, alert.subject), []), alert.raised_ts, alert.zone)
        if officers is None:
            unattributed[alert.site_id] += 1
            continue
        for officer in officers:
            violations[(alert.site_id, officer)][alert.rule] += 1
    rows: list[dict[str, Any]] = []
    for sid, officer in sorted(set(subjects) | set(violations)):
        by_rule = dict(violations.get((sid, officer), {}))
        count = sum(by_rule.values())
        handled = subjects.get((sid, officer), 0)
        rows.append(
            {
                "site_id": sid,
                "site_name": names.get(sid, sid),
                "officer": officer,
                "subjects": handled,
                "violations": count,
                "violations_per_100_subjects": None if not handled else 100 * count / handled,
                "violations_by_rule": {r: by_rule[r] for r in sorted(by_rule)},
            }
        )
    for sid in site_ids:
        if unattributed.get(sid):
            rows.append(
                {
                    "site_id": sid,
                    "site_name": names.get(sid, sid),
                    "officer": None,
                    "subjects": 0,
                    "violations": unattributed[sid],
                    "violations_per_100_subjects": None,
                    "violations_by_rule": {},
                    "violations_unattributed": unattributed[sid],
                }
            )
    rows.sort(key=lambda r: (r["site_id"], r["officer"] is None, -r["violations"], r["officer"] or ""))
    return rows


def _escorts(session: Session, site_ids: list[str], lo: int, hi: int) -> list[Any]:
    """(site, officer, check-outs whose trail lists the officer): the officers' JSON lists are
    expanded by the database (json_array_elements_text / json_each), not row by row in Python."""
    dialect = session.get_bind().dialect.name
    expand = (
        "json_array_elements_text(t.officers) AS o(value)" if dialect == "postgresql" else "json_each(t.officers) AS o"
    )
    sql = text(
        f"SELECT t.site_id, o.value, count(*) FROM stats_trails AS t, {expand} "
        "WHERE t.site_id IN :sites AND t.checkout_ts >= :lo AND t.checkout_ts < :hi GROUP BY t.site_id, o.value"
    )
    sql = sql.bindparams(bindparam("sites", expanding=True))
    return list(session.execute(sql, {"sites": site_ids, "lo": lo, "hi": hi}).all())


def _trails_of(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every gateway trail record of each (site, subject), from the journal (indexed by subject)."""
    by_site: dict[str, list[str]] = defaultdict(list)
    for sid, subject in pairs:
        by_site[sid].append(subject)
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    j = JournalEntry.__table__.c
    for sid, subjects in by_site.items():
        for start in range(0, len(subjects), 500):
            for subject, body in session.execute(
                select(j.subject, j.body).where(
                    j.site_id == sid, j.subject.in_(subjects[start : start + 500]), j.kind == "trail"
                )
            ):
                found[(sid, subject)].append(msgspec.json.decode(body))
    return found


def _officers_at(trails: list[dict[str, Any]], ts: int, zone: str | None) -> list[str] | None:
    """The officers of the stay holding ts in the trail of the custody that holds ts; None if unknown."""
    for trail in trails:
        checkin, checkout = trail.get("checkin_ts"), trail.get("checkout_ts")
        if checkout is None or (checkin is not None and ts < checkin) or ts > checkout:
            continue
        holding = [
            s
            for s in trail.get("stays", [])
            if s["enter_ts"] <= ts and (s.get("leave_ts") is None or ts <= s["leave_ts"])
        ]
        if not holding:
            return None
        in_zone = [s for s in holding if s.get("zone") == zone]
        stay = (in_zone or holding)[-1]
        return sorted(set(stay.get("officers") or []))
    return None
