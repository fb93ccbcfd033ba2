"""The supervision pages: 日巡查 (daily), 周通报 (weekly), 月考评 (monthly), their drill-downs and exports.

Every number comes from server/services/stats.py (the figures of GET /api/v1/stats) for the sites
the user may see. Periods are local days of the reporting time zone: the first visible site's
(one deployment's sites normally share one). Pages are server-rendered with SVG charts and work
without any script; the print button is bound by static/supervision.js.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.i18n import N_, gettext
from server.i18n.formatting import DEFAULT_TIMEZONE
from server.i18n.rules import rule_title
from server.models import Alert, CustodySubject, Gateway, Site, StatsTrail, User
from server.security import now_ms
from server.services import stats as stats_service
from server.services.access import require_capability, require_site
from server.web import charts
from server.web.language import request_locale

router = APIRouter(include_in_schema=False)

# The figures a supervision table shows, in order: (key, column title, format).
COLUMNS: list[tuple[str, str, str]] = [
    ("subjects_checked_in", N_("Subjects checked in"), "int"),
    ("subjects_checked_out", N_("Subjects checked out"), "int"),
    ("closed_trails", N_("Closed trails"), "int"),
    ("closed_loop_rate", N_("Closed-loop rate"), "percent"),
    ("violations", N_("Violations"), "int"),
    ("violations_per_100_subjects", N_("Violations per 100 subjects"), "decimal"),
    ("alerts_unhandled", N_("Unhandled alerts"), "int"),
    ("time_limit_exceeded", N_("Time limit exceeded"), "int"),
    ("recorded_ratio", N_("Recorded ratio"), "percent2"),
    ("temporary_exits", N_("Temporary exits"), "int"),
    ("intakes", N_("Intakes"), "int"),
    ("withdrawals", N_("Withdrawals"), "int"),
    ("items_overdue", N_("Items overdue"), "int"),
    ("item_mismatches", N_("Item mismatches"), "int"),
    ("unauthorized_openings", N_("Unauthorized openings"), "int"),
]
OFFICER_COLUMNS: list[tuple[str, str, str]] = [
    ("subjects", N_("Subjects escorted"), "int"),
    ("violations", N_("Violations"), "int"),
    ("violations_per_100_subjects", N_("Violations per 100 subjects"), "decimal"),
]
# Sheet names and the period sheet's headers of the XLSX export
SHEET_SITES, SHEET_OFFICERS, SHEET_RULES, SHEET_PERIOD = (
    N_("Sites"),
    N_("By officer"),
    N_("Alerts by rule"),
    N_("Period"),
)
REPORT, TIME_ZONE = N_("Report"), N_("Time zone")
REPORTS = {"daily": N_("Daily inspection"), "weekly": N_("Weekly bulletin"), "monthly": N_("Monthly assessment")}
SILENT_AFTER_MS = 5 * 60_000
NEAR_LIMIT_MS = 60 * 60_000
DAY_MS = 86_400_000


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "percent2":  # recorded ratios sit near 100 %: two decimals keep a gap visible
        return f"{value * 100:.2f}%"
    if kind == "decimal":
        return f"{value:.1f}"
    return str(value)


def _bad(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=[{"field": field, "loc": ["query", field], "msg": message, "type": "value_error"}])


def _parse_day(value: str | None, field: str, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(field, f"expected a date YYYY-MM-DD, got {value!r}") from None


def _midnight(day: date, tz: str) -> int:
    return stats_service.local_midnight_ms(day, tz)


@dataclass
class Period:
    kind: str
    first: date  # first local day
    days: int
    tz: str

    @property
    def lo(self) -> int:
        return _midnight(self.first, self.tz)

    @property
    def hi(self) -> int:
        return _midnight(self.first + timedelta(days=self.days), self.tz)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    def label(self) -> str:
        return self.first.isoformat() if self.days == 1 else f"{self.first.isoformat()} – {self.last.isoformat()}"


def _today(tz: str) -> date:
    return datetime.fromtimestamp(now_ms() / 1000, ZoneInfo(tz)).date()


def _month_period(value: str | None, tz: str) -> tuple[Period, Period]:
    today = _today(tz)
    if value:
        try:
            first = datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            raise _bad("month", f"expected a month YYYY-MM, got {value!r}") from None
    else:  # the last whole month
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    prev = (first - timedelta(days=1)).replace(day=1)
    return Period("monthly", first, (nxt - first).days, tz), Period("monthly", prev, (first - prev).days, tz)


# ------------------------------------------------------------------------------ context


def _user_or_login(request: Request) -> User | None:
    from server.web.pages import _user

    return _user(request)


def _render(request: Request, template: str, user: User, **context: Any) -> HTMLResponse:
    from server.web.pages import _render as render

    return render(request, template, user, **context)


def _login(request: Request) -> HTMLResponse:
    from server.web.pages import _login_page

    return _login_page(request)


def _sites(session: Session, user: User, site_id: str | None) -> list[Site]:
    return stats_service.visible_sites(session, user, site_id or None)


def _tz(sites: list[Site]) -> str:
    return (sites[0].timezone if sites else None) or DEFAULT_TIMEZONE


def _stats(session: Session, user: User, period: Period, site_id: str | None, group_by: Any = None) -> dict[str, Any]:
    return stats_service.stats(session, user, period.lo, period.hi, now_ms(), site_id or None, group_by)


def drill_alerts(site_id: str | None, lo: int, hi: int, **extra: str | None) -> str:
    query = {"from": lo, "to": hi, **({"site_id": site_id} if site_id else {}), **{k: v for k, v in extra.items() if v}}
    return "/supervision/alerts?" + urlencode(query)


def drill_trails(site_id: str | None, lo: int, hi: int, closed: str | None = None) -> str:
    query = {
        "from": lo,
        "to": hi,
        **({"site_id": site_id} if site_id else {}),
        **({"closed": closed} if closed else {}),
    }
    return "/supervision/trails?" + urlencode(query)


def _links(site_id: str | None, lo: int, hi: int) -> dict[str, str]:
    """Where each number of a row leads: the alerts or the trails behind it."""
    return {
        "subjects_checked_out": drill_trails(site_id, lo, hi),
        "closed_trails": drill_trails(site_id, lo, hi, "true"),
        "violations": drill_alerts(site_id, lo, hi, violations="1"),
        "alerts_unhandled": drill_alerts(site_id, lo, hi, status="open"),
        "time_limit_exceeded": drill_alerts(site_id, lo, hi, rule="time_limit_exceeded"),
        "items_overdue": drill_alerts(site_id, lo, hi, rule="item_overdue"),
        "item_mismatches": drill_alerts(site_id, lo, hi, rule="item_mismatch"),
        "unauthorized_openings": drill_alerts(site_id, lo, hi, rule="locker_unauthorized_open"),
    }


def _rule_rows(figures: dict[str, Any]) -> list[str]:
    """Rules worth a row: every rule raised in the figures given."""
    return [r for r, f in figures["alerts_by_rule"].items() if f["raised"]]


def _report_context(
    request: Request, user: User, kind: str, period: Period, site_id: str | None, sites: list[Site]
) -> dict[str, Any]:
    scope = next((s.name for s in sites if s.id == site_id), None) if site_id else None
    query = {k: v for k, v in request.query_params.items()}
    return {
        "report_kind": kind,
        "report_title": REPORTS[kind],
        "period": period,
        "tz": period.tz,
        "scope_name": scope,
        "site_id": site_id or "",
        "sites": sites,
        "cols": COLUMNS,
        "fmt": fmt,
        "export_csv": f"/supervision/{kind}.csv?" + urlencode(query),
        "export_xlsx": f"/supervision/{kind}.xlsx?" + urlencode(query),
    }


# ------------------------------------------------------------------------------ pages


@router.get("/supervision/daily", response_class=HTMLResponse)
def daily_page(request: Request, date: str | None = None, site_id: str | None = None, minutes: int = 15) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    if not 1 <= minutes <= 24 * 60:
        raise _bad("minutes", f"must be between 1 and 1440, got {minutes}")
    with request.app.state.sessions() as session:
        context = daily_context(session, user, date, site_id, minutes)
    context.update(_report_context(request, user, "daily", context["period"], site_id, context["sites"]))
    return _render(request, "supervision_daily.html", user, **context)


def daily_context(session: Session, user: User, day: str | None, site_id: str | None, minutes: int) -> dict[str, Any]:
    sites = _sites(session, user, site_id)
    tz = _tz(sites)
    period = Period("daily", _parse_day(day, "date", _today(tz)), 1, tz)
    figures = _stats(session, user, period, site_id)
    now = now_ms()
    ids = [s.id for s in sites]
    unhandled = (
        list(
            session.execute(
                select(Alert)
                .where(Alert.site_id.in_(ids), Alert.status == "open", Alert.raised_ts <= now - minutes * 60_000)
                .order_by(Alert.raised_ts)
                .limit(200)
            ).scalars()
        )
        if ids
        else []
    )
    near_limit = (
        list(
            session.execute(
                select(CustodySubject)
                .where(
                    CustodySubject.site_id.in_(ids),
                    CustodySubject.state != "out",
                    CustodySubject.deadline_ts.is_not(None),
                    CustodySubject.deadline_ts <= now + NEAR_LIMIT_MS,
                )
                .order_by(CustodySubject.deadline_ts)
                .limit(200)
            ).scalars()
        )
        if ids
        else []
    )
    silent = (
        list(
            session.execute(
                select(Gateway)
                .where(
                    Gateway.site_id.in_(ids),
                    Gateway.active.is_(True),
                    (Gateway.last_seen_ts.is_(None)) | (Gateway.last_seen_ts < now - SILENT_AFTER_MS),
                )
                .order_by(Gateway.site_id, Gateway.id)
            ).scalars()
        )
        if ids
        else []
    )
    totals = figures["totals"]
    rules = _rule_rows(figures["totals"])
    chart = (
        charts.hbar_chart(
            "rules-day",
            "",
            rules,
            [("", [totals["alerts_by_rule"][r]["raised"] for r in rules])],
            [[drill_alerts(site_id, period.lo, period.hi, rule=r) for r in rules]],
        )
        if rules
        else None
    )
    return {
        "sites": sites,
        "period": period,
        "figures": figures,
        "minutes": minutes,
        "now": now,
        "unhandled": unhandled,
        "near_limit": near_limit,
        "silent": silent,
        "rule_chart": chart,
        "rows": [(row, _links(row["site_id"], period.lo, period.hi)) for row in figures["sites"]],
        "total_links": _links(site_id, period.lo, period.hi),
        "site_names": {s.id: s.name for s in sites},
    }


@router.get("/supervision/weekly", response_class=HTMLResponse)
def weekly_page(request: Request, week: str | None = None, site_id: str | None = None) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    with request.app.state.sessions() as session:
        context = weekly_context(session, user, week, site_id)
    context.update(_report_context(request, user, "weekly", context["period"], site_id, context["sites"]))
    return _render(request, "supervision_weekly.html", user, **context)


def trend(now: float | None, before: float | None) -> str:
    """up (worse: more violations per 100), down, same, or '' when either week has no figure."""
    if now is None or before is None:
        return ""
    return "up" if now > before + 1e-9 else "down" if now < before - 1e-9 else "same"


def weekly_context(session: Session, user: User, week: str | None, site_id: str | None) -> dict[str, Any]:
    sites = _sites(session, user, site_id)
    tz = _tz(sites)
    today = _today(tz)
    default = today - timedelta(days=today.weekday() + 7)  # Monday of the last whole week
    start = _parse_day(week, "week", default)
    start -= timedelta(days=start.weekday())
    period = Period("weekly", start, 7, tz)
    previous = Period("weekly", start - timedelta(days=7), 7, tz)
    this_week, last_week = _stats(session, user, period, site_id), _stats(session, user, previous, site_id)
    before = {r["site_id"]: r for r in last_week["sites"]}
    ranked = sorted(
        this_week["sites"],
        key=lambda r: (
            r["violations_per_100_subjects"] is None,
            -(r["violations_per_100_subjects"] or 0),
            r["site_id"],
        ),
    )
    rows = []
    for rank, row in enumerate(ranked, 1):
        prev = before.get(row["site_id"])
        prev_rate = prev["violations_per_100_subjects"] if prev else None
        rows.append(
            {
                "rank": rank,
                "row": row,
                "prev": prev,
                "trend": trend(row["violations_per_100_subjects"], prev_rate),
                "links": _links(row["site_id"], period.lo, period.hi),
            }
        )
    # day by day over both weeks, every site together
    both = Period("weekly", previous.first, 14, tz)
    by_day = stats_service.day_series(session, user, both.lo, both.hi, now_ms(), site_id or None)
    days = [r["day"] for r in by_day]
    violations = {r["day"]: r["violations"] for r in by_day}
    labels = [d[5:] for d in days[7:]]
    trend_chart = charts.line_chart(
        "trend-week",
        "",
        labels,
        [("this_week", [violations[d] for d in days[7:]]), ("previous_week", [violations[d] for d in days[:7]])],
    )
    rules = sorted(set(_rule_rows(this_week["totals"])) | set(_rule_rows(last_week["totals"])))
    rule_chart = (
        charts.hbar_chart(
            "rules-week",
            "",
            rules,
            [
                ("this_week", [this_week["totals"]["alerts_by_rule"][r]["raised"] for r in rules]),
                (
                    "previous_week",
                    [last_week["totals"]["alerts_by_rule"].get(r, {"raised": 0})["raised"] for r in rules],
                ),
            ],
            [
                [drill_alerts(site_id, period.lo, period.hi, rule=r) for r in rules],
                [drill_alerts(site_id, previous.lo, previous.hi, rule=r) for r in rules],
            ],
        )
        if rules
        else None
    )
    return {
        "sites": sites,
        "period": period,
        "previous": previous,
        "figures": this_week,
        "before": last_week,
        "rows": rows,
        "table_rows": [(r["row"], r["links"]) for r in rows],
        "trend_chart": trend_chart,
        "rule_chart": rule_chart,
        "total_links": _links(site_id, period.lo, period.hi),
        "total_trend": trend(
            this_week["totals"]["violations_per_100_subjects"], last_week["totals"]["violations_per_100_subjects"]
        ),
    }


@router.get("/supervision/monthly", response_class=HTMLResponse)
def monthly_page(request: Request, month: str | None = None, site_id: str | None = None) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    with request.app.state.sessions() as session:
        context = monthly_context(session, user, month, site_id)
    context.update(_report_context(request, user, "monthly", context["period"], site_id, context["sites"]))
    return _render(request, "supervision_monthly.html", user, **context)


def monthly_context(session: Session, user: User, month: str | None, site_id: str | None) -> dict[str, Any]:
    sites = _sites(session, user, site_id)
    tz = _tz(sites)
    period, previous = _month_period(month, tz)
    figures = _stats(session, user, period, site_id)
    before = _stats(session, user, previous, site_id)
    officers = _stats(session, user, period, site_id, "officer")["sites"]
    by_day = stats_service.day_series(session, user, period.lo, period.hi, now_ms(), site_id or None)
    days = [r["day"] for r in by_day]
    closed = {r["day"]: r["closed_trails"] for r in by_day}
    out = {r["day"]: r["subjects_checked_out"] for r in by_day}
    rate_chart = charts.line_chart(
        "closed-loop",
        "",
        [d[5:] for d in days],
        [("closed_loop_rate", [closed[d] / out[d] if out[d] else None for d in days])],
        percent=True,
    )
    rules = _rule_rows(figures["totals"])
    rule_chart = (
        charts.hbar_chart(
            "rules-month",
            "",
            rules,
            [
                ("this_month", [figures["totals"]["alerts_by_rule"][r]["raised"] for r in rules]),
                ("previous_month", [before["totals"]["alerts_by_rule"].get(r, {"raised": 0})["raised"] for r in rules]),
            ],
            [
                [drill_alerts(site_id, period.lo, period.hi, rule=r) for r in rules],
                [drill_alerts(site_id, previous.lo, previous.hi, rule=r) for r in rules],
            ],
        )
        if rules
        else None
    )
    before_rows = {r["site_id"]: r for r in before["sites"]}
    rows = [
        {
            "row": row,
            "prev": before_rows.get(row["site_id"]),
            "links": _links(row["site_id"], period.lo, period.hi),
            "trend": trend(
                row["violations_per_100_subjects"],
                (before_rows.get(row["site_id"]) or {}).get("violations_per_100_subjects"),
            ),
        }
        for row in figures["sites"]
    ]
    return {
        "sites": sites,
        "period": period,
        "previous": previous,
        "figures": figures,
        "before": before,
        "rows": rows,
        "table_rows": [(r["row"], r["links"]) for r in rows],
        "officers": officers,
        "officer_cols": OFFICER_COLUMNS,
        "rate_chart": rate_chart,
        "rule_chart": rule_chart,
        "total_links": _links(site_id, period.lo, period.hi),
    }


# ------------------------------------------------------------------------------ drill-downs


def _window(lo: int | None, hi: int | None) -> tuple[int, int]:
    if lo is None or hi is None:
        raise _bad("from" if lo is None else "to", "required (epoch milliseconds)")
    if hi <= lo:
        raise _bad("to", f"must be after from ({lo}), got {hi}")
    return lo, hi


@router.get("/supervision/alerts", response_class=HTMLResponse)
def alerts_drill(
    request: Request,
    site_id: str | None = None,
    rule: str | None = None,
    status: str | None = None,
    violations: str | None = None,
) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    lo, hi = _window(_int_param(request, "from"), _int_param(request, "to"))
    if status not in (None, "", "open", "acknowledged", "resolved"):
        raise _bad("status", f"open, acknowledged or resolved, got {status!r}")
    if rule and re.fullmatch(r"[a-z0-9_]{1,64}", rule) is None:
        raise _bad("rule", f"a rule id (lower-case letters, digits, _), got {rule!r}")
    with request.app.state.sessions() as session:
        sites = _sites(session, user, site_id)
        query = select(Alert).where(
            Alert.site_id.in_([s.id for s in sites]), Alert.raised_ts >= lo, Alert.raised_ts < hi
        )
        if rule:
            query = query.where(Alert.rule == rule)
        if status:
            query = query.where(Alert.status == status)
        if violations:
            query = query.where(Alert.rule.not_in(stats_service.REMINDER_RULES))
        alerts = list(session.execute(query.order_by(Alert.raised_ts, Alert.id).limit(1000)).scalars())
        people = {
            (c.site_id, c.person)
            for c in session.execute(
                select(CustodySubject).where(
                    CustodySubject.site_id.in_([s.id for s in sites]),
                    CustodySubject.person.in_({a.subject for a in alerts} or {""}),
                )
            ).scalars()
        }
    return _render(
        request,
        "supervision_alerts.html",
        user,
        alerts=alerts,
        people=people,
        lo=lo,
        hi=hi,
        rule=rule,
        status=status,
        sites={s.id: s for s in sites},
        tz=_tz(sites),
        violations=bool(violations),
    )


@router.get("/supervision/trails", response_class=HTMLResponse)
def trails_drill(request: Request, site_id: str | None = None, closed: str | None = None) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    if site_id:
        require_site(user, site_id)  # another site is missing before it is forbidden, as everywhere
    require_capability(user, "subjects")  # trails are about people: not for property custodians
    lo, hi = _window(_int_param(request, "from"), _int_param(request, "to"))
    if closed not in (None, "", "true", "false"):
        raise _bad("closed", f"true or false, got {closed!r}")
    with request.app.state.sessions() as session:
        sites = _sites(session, user, site_id)
        t = StatsTrail
        query = select(t).where(t.site_id.in_([s.id for s in sites]), t.checkout_ts >= lo, t.checkout_ts < hi)
        if closed:
            query = query.where(t.closed.is_(closed == "true"))
        trails = list(session.execute(query.order_by(t.checkout_ts).limit(2000)).scalars())
    return _render(
        request,
        "supervision_trails.html",
        user,
        trails=trails,
        lo=lo,
        hi=hi,
        closed=closed,
        sites={s.id: s for s in sites},
        tz=_tz(sites),
    )


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise _bad(name, f"expected epoch milliseconds, got {value!r}") from None


# ------------------------------------------------------------------------------ exports


def _table(
    locale: str, columns: list[tuple[str, str, str]], lead: list[tuple[str, str]], rows: list[dict[str, Any]]
) -> tuple[list[str], list[list[Any]]]:
    headers = [gettext(locale, title) for _, title in lead] + [gettext(locale, title) for _, title, _ in columns]
    body = [[row.get(key) for key, _ in lead] + [row.get(key) for key, _, _ in columns] for row in rows]
    return headers, body


def export_sheets(
    session: Session, user: User, kind: str, locale: str, params: dict[str, str]
) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(sheet name, headers, rows) of a report, headers in the page's language (zh-CN by default)."""
    site_id = params.get("site_id") or None
    lead = [("site_id", N_("Site ID")), ("site_name", N_("Site"))]
    if kind == "daily":
        context = daily_context(session, user, params.get("date"), site_id, 15)
        site_rows = context["figures"]["sites"]
    elif kind == "weekly":
        context = weekly_context(session, user, params.get("week"), site_id)
        site_rows = [
            {
                **r["row"],
                "rank": r["rank"],
                "previous_violations_per_100_subjects": (r["prev"] or {}).get("violations_per_100_subjects"),
            }
            for r in context["rows"]
        ]
        lead = [("rank", N_("Rank")), *lead]
    else:
        context = monthly_context(session, user, params.get("month"), site_id)
        site_rows = context["figures"]["sites"]
    period: Period = context["period"]
    columns = COLUMNS + (
        [("previous_violations_per_100_subjects", N_("Previous week, violations per 100 subjects"), "decimal")]
        if kind == "weekly"
        else []
    )
    headers, rows = _table(locale, columns, lead, site_rows)
    sheets = [(gettext(locale, SHEET_SITES), headers, rows)]
    if kind == "monthly":
        officer_lead = [("site_id", N_("Site ID")), ("site_name", N_("Site")), ("officer", N_("Officer"))]
        headers, rows = _table(locale, OFFICER_COLUMNS, officer_lead, context["officers"])
        sheets.append((gettext(locale, SHEET_OFFICERS), headers, rows))
    # the alerts by rule, every site together
    totals = context["figures"]["totals"]["alerts_by_rule"]
    rule_headers = [
        gettext(locale, t)
        for t in (
            N_("Rule"),
            N_("Raised"),
            N_("Acknowledged"),
            N_("Resolved"),
            N_("Unhandled alerts"),
            N_("Median time to acknowledge (s)"),
            N_("95th percentile time to acknowledge (s)"),
            N_("Time raised (s)"),
        )
    ]
    rule_rows = [
        [
            rule_title(rule, locale),
            f["raised"],
            f["acknowledged"],
            f["resolved"],
            f["unhandled"],
            f["ack_p50_s"],
            f["ack_p95_s"],
            f["raised_s_total"],
        ]
        for rule, f in totals.items()
        if f["raised"]
    ]
    sheets.append((gettext(locale, SHEET_RULES), rule_headers, rule_rows))
    sheets.append(
        (
            gettext(locale, SHEET_PERIOD),
            [gettext(locale, m) for m in (REPORT, SHEET_PERIOD, TIME_ZONE)],
            [[gettext(locale, REPORTS[kind]), period.label(), period.tz]],
        )
    )
    return sheets


@router.get("/supervision/{kind}.{fmt_name}")
def export(request: Request, kind: str, fmt_name: str) -> Response:
    user = _user_or_login(request)
    if user is None:
        return _login(request)
    if kind not in REPORTS:
        raise HTTPException(404, detail=f"no report {kind!r} (daily, weekly, monthly)")
    if fmt_name not in ("csv", "xlsx"):
        raise HTTPException(404, detail=f"no export format {fmt_name!r} (csv, xlsx)")
    locale = request_locale(request, user)
    site_id = request.query_params.get("site_id") or None
    with request.app.state.sessions() as session:
        if site_id:
            require_site(user, site_id)
        sheets = export_sheets(session, user, kind, locale, dict(request.query_params))
    stamp = datetime.now().strftime("%Y%m%d")
    filename = f"{kind}-{stamp}.{fmt_name}"
    if fmt_name == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        _, headers, rows = sheets[0]
        writer.writerow(headers)
        writer.writerows([["" if v is None else _cell(v) for v in row] for row in rows])
        # UTF-8 with a byte-order mark: Excel then reads the Chinese headers correctly
        return Response(
            ("\ufeff" + buffer.getvalue()).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return Response(
        _xlsx(sheets),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: Any) -> Any:
    """Text from gateways and users stays text: a leading = + - @ would make a spreadsheet formula."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def _xlsx(sheets: list[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, headers, rows in sheets:
        sheet = book.create_sheet(title=name[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(v) for v in row])
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 1.6), 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
