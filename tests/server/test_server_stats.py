"""GET /api/v1/stats on a generated multi-day fixture, on SQLite and PostgreSQL.

The fixture: three days of a handling area (violations injected on two of them, one clean day) and
a day of a property room, run through the real engine and ingested as a gateway sends them. Every
expected figure is computed here from the scenarios: their check-in/check-out events and the alerts
they announce (`Scenario.expected`), never from what the server stored.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

import openpyxl
import pytest
from server_world import World, make_world
from stats_fixture import (
    AREA,
    DAY_MS,
    PROPERTY,
    TRAIL_BREAKING,
    Days,
    expected_alerts,
    run_days,
)

from core_ext import vocab
from server.i18n.rules import rule_title
from server.services.stats import ONE_SHOT_RULES

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

AREA_PLAN = [
    (1, {"unaccompanied", "recording_gap", "time_limit_exceeded", "flow_violation"}),
    (2, {"tag_lost", "incomplete_exit", "co_suspects_together", "insufficient_officers"}),
    (3, set()),
]
PROPERTY_PLAN = [(4, {"locker_unauthorized_open", "item_mismatch", "item_overdue"})]
GRACE_MS = 30_000  # demo-area rules.grace_s


@pytest.fixture(scope="module")
def area_days() -> Days:
    return run_days(AREA, AREA_PLAN, subjects=12)


@pytest.fixture(scope="module")
def property_days() -> Days:
    return run_days(PROPERTY, PROPERTY_PLAN, subjects=12)


@dataclass
class Loaded:
    area: World
    room: World
    acks: dict[int, dict]  # alert id -> the alert after handling (acknowledged_ts, status)


def _load(world: World, days: Days, name: str) -> None:
    reply = world.client.put(
        f"/api/v1/sites/{world.site_id}/descriptor", json=days.descriptor(world.site_id, name), headers=world.gw
    )
    assert reply.status_code == 200, reply.text
    entries = [world.journal.entry(kind, ts, body) for ts, kind, body in days.entries]
    for start in range(0, len(entries), 400):
        reply = world.client.post(
            "/api/v1/ingest", json=world.journal.batch(*entries[start : start + 400]), headers=world.gw
        )
        assert reply.status_code == 200, reply.text


@pytest.fixture(scope="module")
def loaded(client, admin_token, area_days, property_days) -> Loaded:
    area = make_world(client, admin_token)
    room = make_world(client, admin_token, kind="property_room")
    _load(area, area_days, "统计测试办案区")
    _load(room, property_days, "Stats property room")
    # The center handles some alerts: acknowledges two, resolves one outright.
    listed = client.get(
        "/api/v1/alerts", params={"site_id": area.site_id, "limit": 100}, headers=area.auth("center_monitor")
    ).json()["alerts"]
    by_rule = {a["rule"]: a["id"] for a in sorted(listed, key=lambda a: a["raised_ts"])}
    acks = {}
    for rule, action in (
        ("unaccompanied", "acknowledge"),
        ("co_suspects_together", "acknowledge"),
        ("tag_lost", "resolve"),
    ):
        reply = client.post(
            f"/api/v1/alerts/{by_rule[rule]}/{action}",
            json={"comment": "checked on video"},
            headers=area.auth("center_monitor"),
        )
        assert reply.status_code == 200, reply.text
        acks[by_rule[rule]] = reply.json()
    return Loaded(area, room, acks)


def _stats(world: World, role: str = "admin", **params):
    reply = world.client.get("/api/v1/stats", params=params, headers=world.auth(role))
    assert reply.status_code == 200, reply.text
    return reply.json()


def _window(days: Days) -> tuple[int, int]:
    return days.scenarios[0].start_ms, days.scenarios[-1].start_ms + DAY_MS


def _expected_figures(days: Days, lo: int, hi: int, acks: dict[int, dict] | None = None) -> dict:
    """The figures of [lo, hi) from the scenarios alone (plus the trails' recording time)."""
    events = [e for e in days.events if lo <= e["ts"] < hi]
    count = Counter(e["type"] for e in events)
    alerts = [a for a in expected_alerts(days) if lo <= a[2] < hi]
    raised = Counter(a[0] for a in alerts)
    raised_ms: Counter = Counter()
    for rule, _subject, ts, cleared, _ in alerts:
        if rule in ONE_SHOT_RULES:
            continue
        # an alert the scenario never clears (an item never brought back) is still raised at `to`
        raised_ms[rule] += (hi if cleared is None else min(cleared, hi)) - ts
    # A trail that does not close: its subject's custody had a lost tag, unrecorded time or a missing step.
    checkouts = [e for e in events if e["type"] == "checkout"]
    broken = set()
    for rule, subject, ts, _, _ in alerts:
        if rule in TRAIL_BREAKING:
            broken.add((subject, min(c["ts"] for c in checkouts if c["person"] == subject and c["ts"] >= ts)))
    # Unrecorded time: each recording gap the scenario announces lasts from its start (raise − grace) to its clear.
    unrecorded = sum(cleared - (ts - GRACE_MS) for rule, _, ts, cleared, _ in alerts if rule == "recording_gap")
    # Recording time: every stay of the window's check-outs (every demo-area zone requires recording).
    out_ts = {e["ts"] for e in checkouts}
    recording = sum(
        s["leave_ts"] - s["enter_ts"]
        for _, kind, t in days.entries
        if kind == "trail" and t["checkout_ts"] in out_ts
        for s in t["stays"]
        if s["leave_ts"] is not None
    )
    checked_in, checked_out = count["checkin"], count["checkout"]
    violations = sum(n for rule, n in raised.items() if rule != "time_limit_warning")
    return {
        "subjects_checked_in": checked_in,
        "subjects_checked_out": checked_out,
        "closed_trails": checked_out - len(broken),
        "closed_loop_rate": None if not checked_out else (checked_out - len(broken)) / checked_out,
        "raised": dict(raised),
        "raised_s_total": {r: ms / 1000 for r, ms in raised_ms.items()},
        "violations": violations,
        "violations_per_100_subjects": None if not checked_in else 100 * violations / checked_in,
        "time_limit_exceeded": raised["time_limit_exceeded"],
        "recorded_ratio": None if not recording else 1 - unrecorded / recording,
        "unrecorded_s": unrecorded / 1000,
        "temporary_exits": count["leave"],
        "intakes": count["intake"],
        "withdrawals": sum(1 for e in events if e["type"] == "workorder" and e["action"] == "withdraw"),
        "items_overdue": raised["item_overdue"],
        "item_mismatches": raised["item_mismatch"],
        "unauthorized_openings": raised["locker_unauthorized_open"],
    }


def _assert_figures(row: dict, want: dict) -> None:
    for key in (
        "subjects_checked_in",
        "subjects_checked_out",
        "closed_trails",
        "violations",
        "time_limit_exceeded",
        "temporary_exits",
        "intakes",
        "withdrawals",
        "items_overdue",
        "item_mismatches",
        "unauthorized_openings",
    ):
        assert row[key] == want[key], key
    for key in ("closed_loop_rate", "violations_per_100_subjects", "recorded_ratio", "unrecorded_s"):
        assert (row[key] is None) == (want[key] is None), key
        if want[key] is not None:
            assert math.isclose(row[key], want[key], rel_tol=1e-12), (key, row[key], want[key])
    assert set(vocab.RULES) <= set(row["alerts_by_rule"])
    for rule, figures in row["alerts_by_rule"].items():
        assert figures["raised"] == want["raised"].get(rule, 0), rule
        assert math.isclose(figures["raised_s_total"], want["raised_s_total"].get(rule, 0)), rule
    assert row["alerts_raised"] == sum(want["raised"].values())


def test_three_days_of_a_handling_area_give_the_announced_figures(loaded, area_days):
    lo, hi = _window(area_days)
    body = _stats(loaded.area, "area_staff", **{"from": lo, "to": hi})
    assert body["from"] == lo and body["to"] == hi
    assert [s["site_id"] for s in body["sites"]] == [loaded.area.site_id]
    row = body["sites"][0]
    want = _expected_figures(area_days, lo, hi)
    # what the fixture holds, so the comparison below cannot pass on empty figures
    assert want["subjects_checked_in"] == 36 and want["closed_trails"] == 33 and want["violations"] == 9
    assert 0 < want["recorded_ratio"] < 1
    _assert_figures(row, want)
    # only the area's own site, so the totals are its figures
    _assert_figures(body["totals"], want)


def test_alert_handling_figures(loaded, area_days):
    lo, hi = _window(area_days)
    rules = _stats(loaded.area, "admin", **{"from": lo, "to": hi, "site_id": loaded.area.site_id})["sites"][0][
        "alerts_by_rule"
    ]
    handled = {a["rule"]: a for a in loaded.acks.values()}
    for rule, raised in Counter(a[0] for a in expected_alerts(area_days)).items():
        figures = rules[rule]
        alert = handled.get(rule)
        assert figures["acknowledged"] == (1 if alert else 0), rule
        assert figures["resolved"] == (1 if alert and alert["status"] == "resolved" else 0), rule
        assert figures["unhandled"] == raised - figures["acknowledged"], rule
        if alert is None:
            assert figures["ack_p50_s"] is None and figures["ack_p95_s"] is None
        else:  # one acknowledged alert of the rule: both percentiles are its delay
            delay = (alert["acknowledged_ts"] - alert["raised_ts"]) / 1000
            assert figures["ack_p50_s"] == delay and figures["ack_p95_s"] == delay
    row = _stats(loaded.area, "admin", **{"from": lo, "to": hi, "site_id": loaded.area.site_id})["sites"][0]
    assert row["alerts_unhandled"] == len(expected_alerts(area_days)) - len(loaded.acks)


def test_window_bounds_are_from_inclusive_to_exclusive(loaded, area_days):
    checkins = sorted(e["ts"] for e in area_days.events if e["type"] == "checkin")
    alerts = sorted(a[2] for a in expected_alerts(area_days))
    lo, hi = checkins[3], alerts[4]  # from on a check-in, to on a raise
    row = _stats(loaded.area, "admin", **{"from": lo, "to": hi, "site_id": loaded.area.site_id})["sites"][0]
    _assert_figures(row, _expected_figures(area_days, lo, hi))
    assert row["subjects_checked_in"] == sum(1 for t in checkins if lo <= t < hi)
    assert row["alerts_raised"] == 4 - sum(1 for t in alerts[:4] if t < lo)


def test_group_by_day_gives_each_local_day(loaded, area_days):
    lo, hi = _window(area_days)
    body = _stats(loaded.area, "area_staff", **{"from": lo, "to": hi, "group_by": "day"})
    rows = body["sites"]
    # 08:00 in Beijing for three days: [from, to) touches four local dates, the last one briefly
    assert [r["day"] for r in rows] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert rows[0]["day_from"] == lo and rows[-1]["day_to"] == hi
    assert all(r["day_to"] == n["day_from"] for r, n in itertools.pairwise(rows))
    for index, scenario in enumerate(area_days.scenarios):
        day = rows[index]
        _assert_figures(day, _expected_figures(area_days, day["day_from"], day["day_to"]))
        assert day["violations"] == sum(1 for e in scenario.expected if e.rule != "time_limit_warning")
    assert rows[2]["violations"] == 0 and rows[2]["closed_loop_rate"] == 1.0
    assert rows[3]["subjects_checked_in"] == 0 and rows[3]["closed_loop_rate"] is None
    _assert_figures(body["totals"], _expected_figures(area_days, lo, hi))


def test_property_room_figures(loaded, property_days):
    lo, hi = _window(property_days)
    body = _stats(loaded.room, "property_custodian", **{"from": lo, "to": hi})
    assert [s["site_id"] for s in body["sites"]] == [loaded.room.site_id]
    want = _expected_figures(property_days, lo, hi)
    assert want["intakes"] > 0 and want["withdrawals"] > 0
    assert want["item_mismatches"] == want["unauthorized_openings"] == want["items_overdue"] == 1
    _assert_figures(body["sites"][0], want)


def test_group_by_officer_attributes_violations_to_the_officers_of_the_stay(loaded, area_days):
    lo, hi = _window(area_days)
    body = _stats(loaded.area, "area_staff", **{"from": lo, "to": hi, "group_by": "officer"})
    rows = {r["officer"]: r for r in body["sites"]}
    # Independently: each announced violation about a subject, and the officers on that subject's
    # stay at the raise time in the engine's trail record (the one whose custody holds the time).
    trails = [t for _, kind, t in area_days.entries if kind == "trail"]
    want: Counter = Counter()
    want_rules: dict[str, Counter] = {}
    for rule, subject, ts, _, _ in expected_alerts(area_days):
        if rule == "time_limit_warning":
            continue
        trail = next(t for t in trails if t["subject"] == subject and t["checkin_ts"] <= ts <= t["checkout_ts"])
        stays = [
            s for s in trail["stays"] if s["enter_ts"] <= ts <= (s["leave_ts"] if s["leave_ts"] is not None else ts)
        ]
        for officer in set(stays[-1]["officers"]):
            want[officer] += 1
            want_rules.setdefault(officer, Counter())[rule] += 1
    assert want, "the fixture attributes some violations"
    for officer, n in want.items():
        assert rows[officer]["violations"] == n, officer
        assert rows[officer]["violations_by_rule"] == dict(want_rules[officer])
    assert all(r["violations"] == 0 for o, r in rows.items() if o not in want)
    escorted = Counter(o for t in trails for o in {o for s in t["stays"] for o in s["officers"]})
    assert {o: r["subjects"] for o, r in rows.items() if o is not None} == dict(escorted)


def test_scope_area_staff_see_only_their_site(loaded, area_days):
    lo, hi = _window(area_days)
    params = {"from": lo, "to": hi}
    assert [s["site_id"] for s in _stats(loaded.area, "area_staff", **params)["sites"]] == [loaded.area.site_id]
    reply = loaded.area.client.get(
        "/api/v1/stats", params={**params, "site_id": loaded.room.site_id}, headers=loaded.area.auth("area_staff")
    )
    assert reply.status_code == 404
    seen = {s["site_id"] for s in _stats(loaded.area, "center_monitor", **params)["sites"]}
    assert {loaded.area.site_id, loaded.room.site_id} <= seen
    # the center's totals are the sum over the sites it sees
    body = _stats(loaded.area, "center_monitor", **params)
    assert body["totals"]["subjects_checked_in"] == sum(s["subjects_checked_in"] for s in body["sites"])
    assert loaded.area.client.get("/api/v1/stats", params=params).status_code == 401


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": 10, "to": 10}, "to"),
        ({"from": 10, "to": 5}, "to"),
        ({"from": 0, "to": 500 * DAY_MS}, "to"),
        ({"from": 0, "to": 10, "group_by": "week"}, "group_by"),
        ({"to": 10}, "from"),
    ],
)
def test_bad_windows_say_which_parameter(loaded, params, field):
    reply = loaded.area.client.get("/api/v1/stats", params=params, headers=loaded.area.auth("admin"))
    assert reply.status_code == 422, reply.text
    assert field in reply.text


# ------------------------------------------------------------------------------ pages and exports


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (th and td alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _page(world: World, path: str, role: str = "area_staff", **params) -> str:
    reply = world.client.get(path, params=params or None, headers=world.auth(role))
    assert reply.status_code == 200, reply.text[:500]
    assert "<script>" not in reply.text and "onclick" not in reply.text  # nothing inline (CSP script-src 'self')
    return reply.text


def _figures_row(html: str, site_name: str) -> dict[str, str]:
    """The figures table's row of one site, by column title (the page is in Chinese by default)."""
    table = next(t for t in _tables(html) if t and t[0] and t[0][0] == "场所" and "闭环率" in t[0])
    header = table[0]
    row = next(r for r in table[1:] if r[0] == site_name)
    return dict(zip(header, row))


def _formatted(want: dict) -> dict[str, str]:
    return {
        "入区人数": str(want["subjects_checked_in"]),
        "出区人数": str(want["subjects_checked_out"]),
        "闭环人数": str(want["closed_trails"]),
        "闭环率": "—" if want["closed_loop_rate"] is None else f"{want['closed_loop_rate'] * 100:.1f}%",
        "违规数": str(want["violations"]),
        "每百人违规数": "—"
        if want["violations_per_100_subjects"] is None
        else f"{want['violations_per_100_subjects']:.1f}",
        "超时羁押": str(want["time_limit_exceeded"]),
        "录像完整率": "—" if want["recorded_ratio"] is None else f"{want['recorded_ratio'] * 100:.2f}%",
    }


def test_daily_page_gives_the_day_figures(loaded, area_days):
    for index, scenario in enumerate(area_days.scenarios):
        day = f"2026-03-0{2 + index}"
        html = _page(loaded.area, "/supervision/daily", date=day)
        row = _figures_row(html, "统计测试办案区")
        lo = scenario.start_ms - 8 * 3_600_000  # local midnight (the scenario days start at 08:00)
        want = _formatted(_expected_figures(area_days, lo, lo + DAY_MS))
        assert {k: row[k] for k in want} == want, day
    assert "日巡查" in html and "制表人" in html and "审核人" in html  # the report's header and signature lines


def test_weekly_page_ranks_and_compares_with_the_week_before(loaded, area_days):
    html = _page(loaded.area, "/supervision/weekly", week="2026-03-04")  # any day of the week
    lo = area_days.scenarios[0].start_ms - 8 * 3_600_000
    want = _expected_figures(area_days, lo, lo + 7 * DAY_MS)
    ranking = next(t for t in _tables(html) if t[0][0] == "排名")
    rows = [r for r in ranking[1:] if r[1] == "统计测试办案区"]
    assert len(rows) == 1
    rank, _, checked_in, violations, per_100, previous, trend = rows[0][:7]
    assert (rank, checked_in, violations) == ("1", str(want["subjects_checked_in"]), str(want["violations"]))
    assert per_100 == f"{want['violations_per_100_subjects']:.1f}" and previous == "—" and trend == "—"
    assert {k: v for k, v in _figures_row(html, "统计测试办案区").items() if k in _formatted(want)} == _formatted(want)
    # the next week has nothing: the area's figure falls, the arrow says so
    html = _page(loaded.area, "/supervision/weekly", week="2026-03-09")
    ranking = next(t for t in _tables(html) if t[0][0] == "排名")
    assert ranking[1][4:6] == ["—", f"{want['violations_per_100_subjects']:.1f}"]
    # drill-down: the violations number leads to exactly the alerts behind it
    link = re.search(r'<a href="(/supervision/alerts\?[^"]*violations=1[^"]*)">' + str(want["violations"]) + "<", html)
    assert link is None  # the week of 9 March has none; the week of 2 March has:
    html = _page(loaded.area, "/supervision/weekly", week="2026-03-02")
    link = re.search(r'<a href="(/supervision/alerts\?[^"]*violations=1[^"]*)">' + str(want["violations"]) + "<", html)
    assert link is not None
    drill = _page(loaded.area, link.group(1).replace("&amp;", "&"))
    listed = next(t for t in _tables(drill))[1:]
    assert len(listed) == want["violations"]
    assert sorted(r[3] for r in listed) == sorted(
        a[1] for a in expected_alerts(area_days) if a[0] != "time_limit_warning"
    )


def test_trails_drill_down_lists_the_trails_that_did_not_close(loaded, area_days):
    lo, hi = _window(area_days)
    html = _page(
        loaded.area, "/supervision/trails", site_id=loaded.area.site_id, **{"from": lo, "to": hi, "closed": "false"}
    )
    listed = next(t for t in _tables(html))[1:]
    broken = sorted(a[1] for a in expected_alerts(area_days) if a[0] in TRAIL_BREAKING)
    assert sorted(r[1] for r in listed) == broken and all(r[4] == "否" for r in listed)


def test_monthly_page_per_site_and_per_officer(loaded, area_days):
    html = _page(loaded.area, "/supervision/monthly", month="2026-03")
    lo, hi = _window(area_days)
    want = _expected_figures(area_days, lo, hi)
    assert {k: v for k, v in _figures_row(html, "统计测试办案区").items() if k in _formatted(want)} == _formatted(want)
    officers = next(t for t in _tables(html) if t[0][:2] == ["场所", "民警"])
    api = {
        r["officer"]: r
        for r in _stats(loaded.area, "area_staff", **{"from": lo, "to": hi, "group_by": "officer"})["sites"]
    }
    assert {r[1]: (r[2], r[3]) for r in officers[1:]} == {
        o: (str(r["subjects"]), str(r["violations"])) for o, r in api.items()
    }


def test_exports_have_chinese_headers_and_the_figures(loaded, area_days):
    client, headers = loaded.area.client, loaded.area.auth("area_staff")
    lo, hi = _window(area_days)
    want = _expected_figures(area_days, lo, hi)
    reply = client.get("/supervision/monthly.csv", params={"month": "2026-03"}, headers=headers)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    text = reply.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["场所编号", "场所", "入区人数", "出区人数", "闭环人数"]
    assert rows[1][:5] == [
        loaded.area.site_id,
        "统计测试办案区",
        str(want["subjects_checked_in"]),
        str(want["subjects_checked_out"]),
        str(want["closed_trails"]),
    ]
    reply = client.get("/supervision/monthly.xlsx", params={"month": "2026-03"}, headers=headers)
    assert reply.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(reply.content))
    assert book.sheetnames == ["场所", "民警", "按规则统计告警", "统计期间"]
    sheet = book["场所"]
    assert [c.value for c in sheet[1]][:3] == ["场所编号", "场所", "入区人数"]
    assert [c.value for c in sheet[2]][2:5] == [
        want["subjects_checked_in"],
        want["subjects_checked_out"],
        want["closed_trails"],
    ]
    by_rule = {r[0].value: r[1].value for r in book["按规则统计告警"].iter_rows(min_row=2)}
    assert by_rule == {rule_title(rule, "zh_CN"): n for rule, n in want["raised"].items()}
    # English on request, the same numbers
    reply = client.get(
        "/supervision/weekly.csv", params={"week": "2026-03-02"}, headers={**headers, "Cookie": "custody_lang=en"}
    )
    assert reply.status_code == 200


def test_pages_are_scoped_like_the_api(loaded):
    staff = loaded.area.auth("area_staff")
    reply = loaded.area.client.get(
        "/supervision/monthly", params={"month": "2026-03", "site_id": loaded.room.site_id}, headers=staff
    )
    assert reply.status_code == 404
    html = _page(loaded.area, "/supervision/monthly", month="2026-03")
    assert loaded.room.site_id not in html and "Stats property room" not in html
    html = _page(loaded.area, "/supervision/monthly", "center_monitor", month="2026-03")
    assert "Stats property room" in html and "统计测试办案区" in html
    assert loaded.area.client.get("/supervision/daily").status_code == 401


# ------------------------------------------------------------------------------ projections


def test_temporary_exits_count_leave_events_this_server_does_not_decode(world):
    j = world.journal
    t0 = 1_772_409_600_000
    reply = world.ingest(
        j.event(t0, "checkin", person="s-1", role="suspect", sex="M", tag="t-1", basis="criminal_summons", case="c-1"),
        j.event(
            t0 + 60_000, "leave", person="s-1", reason="identify_scene", until_ts=t0 + 7_200_000, approved_by="chief"
        ),
        j.event(t0 + 3_600_000, "return", person="s-1"),
        j.event(t0 + 3_700_000, "leave", person="s-1", reason="medical", until_ts=t0 + 9_000_000, approved_by="chief"),
    )
    assert reply.status_code == 200, reply.text
    row = _stats(world, "admin", **{"from": t0, "to": t0 + DAY_MS, "site_id": world.site_id})["sites"][0]
    assert row["temporary_exits"] == 2 and row["subjects_checked_in"] == 1
    # the second exit alone: [from, to) cuts between them
    row = _stats(world, "admin", **{"from": t0 + 60_001, "to": t0 + DAY_MS, "site_id": world.site_id})["sites"][0]
    assert row["temporary_exits"] == 1 and row["subjects_checked_in"] == 0


def test_backfill_rebuilds_the_projections_from_the_journal(loaded, area_days, settings):
    from sqlalchemy import delete

    from server.db import make_engine
    from server.models import StatsDaily, StatsFact, StatsTrail
    from server.services.stats_record import backfill

    lo, hi = _window(area_days)
    params = {"from": lo, "to": hi, "site_id": loaded.area.site_id}
    before = _stats(loaded.area, "admin", **params)
    daily_before = _stats(loaded.area, "admin", **params, group_by="day")
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            for model in (StatsFact, StatsTrail, StatsDaily):
                conn.execute(delete(model).where(model.site_id == loaded.area.site_id))
        assert _stats(loaded.area, "admin", **params)["sites"][0]["subjects_checked_in"] == 0
        with engine.begin() as conn:
            backfill(conn)  # every site's journal: the others' rows exist already and are not counted twice
        with engine.begin() as conn:
            backfill(conn)
    finally:
        engine.dispose()
    after = _stats(loaded.area, "admin", **params)
    assert after["sites"] == before["sites"]
    assert _stats(loaded.area, "admin", **params, group_by="day")["sites"] == daily_before["sites"]


def test_odd_site_ids_and_rules_are_refused_before_the_database(loaded):
    client, headers = loaded.area.client, loaded.area.auth("admin")
    for site_id in ("a" * 65, "x y"):
        assert (
            client.get("/api/v1/stats", params={"from": 0, "to": 10, "site_id": site_id}, headers=headers).status_code
            == 404
        )
        assert client.get("/supervision/daily", params={"site_id": site_id}, headers=headers).status_code == 404
    # A NUL anywhere in a URL is refused by the server's middleware before any route (400).
    assert (
        client.get("/api/v1/stats", params={"from": 0, "to": 10, "site_id": "\x00"}, headers=headers).status_code == 400
    )
    assert client.get("/supervision/daily", params={"site_id": "\x00"}, headers=headers).status_code == 400
    reply = client.get("/supervision/alerts", params={"from": 0, "to": 10, "rule": "Not A Rule!"}, headers=headers)
    assert reply.status_code == 422 and "rule" in reply.text
