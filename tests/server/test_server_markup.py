"""No markup from data: every page renders markup sent through the uplink as text, every answer
carries the security headers, the pages hold no inline script, enumerated fields refuse markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from uplink_builder import demo_descriptor

from core_ext import vocab
from server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

T0 = 1_763_700_000_000
MIN = 60_000
IMG = "<img src=x onerror=alert(1)>"
BREAKOUT = '"><script>alert(2)</script>'


def _m(tag: str) -> str:
    """A value carrying both payloads, distinct per field (so a hit names the field)."""
    return f"{tag}{IMG}{BREAKOUT}"[:64]


def _url_id(tag: str) -> str:
    """Markup for ids that travel in URL paths (where a '/' would split the path)."""
    return f'{tag}{IMG}"><svg onload=alert(3)>'


def _markup_world(world) -> dict[str, str]:
    """Put markup in every free-text field the uplink reaches; returns the ids used in URLs."""
    person, item, zone = _url_id("p"), _url_id("i"), _m("z")
    descriptor = demo_descriptor(world.site_id, name=_m("site name"))
    descriptor["zones"].append({"id": zone, "type": "property_store", "name": _m("zone name"), "cameras": [_m("cam")]})
    descriptor["lockers"] = [{"id": _m("bank"), "slots": 4, "zone": zone}]
    descriptor["doors"] = [{"id": _m("door")}]
    assert (
        world.client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=descriptor, headers=world.gw).status_code
        == 200
    )
    j = world.journal
    bank = _m("bank")
    reply = world.ingest(
        j.event(T0, "enroll", person=_m("officer"), role="officer", sex="F", tag=_m("otag")),
        j.event(T0, "enroll", person=_m("guardian"), role="guardian", sex="F", tag=_m("gtag"), **{"for": person}),
        j.event(
            T0,
            "checkin",
            person=person,
            role="suspect",
            sex="M",
            tag=_m("tag"),
            basis="criminal_summons",
            case=_m("case"),
            age=15,
            guardian=_m("guardian"),
        ),
        j.custody(T0, person, "in", case=_m("case")),
        # second layer: free text in a temporary exit, a decision, welfare (DESIGN §6.2)
        j.event(T0 + MIN // 2, "leave", person=person, reason="medical", until_ts=T0 + MIN, approved_by=_m("approver")),
        j.event(T0 + MIN // 2 + 1, "return", person=person),
        j.event(T0 + MIN // 2 + 2, "decision", person=person, kind="arrest"),
        j.event(T0 + MIN // 2 + 3, "welfare", person=person, kind="meal"),
        j.location(T0 + MIN, person, zone),
        j.location(T0 + MIN, _m("officer"), zone),
        j.alert(T0 + 2 * MIN, "unaccompanied", "raised", person, zone=zone, detail={"why": IMG, IMG: [BREAKOUT]}),
        j.event(T0 + 3 * MIN, "intake", item=item, case=_m("icase"), bank=bank, slot=1, by=_m("by"), owner=person),
        j.event(
            T0 + 4 * MIN,
            "workorder",
            id=_m("wo"),
            item=item,
            action="withdraw",
            bank=bank,
            slot=1,
            valid_from=T0,
            valid_until=T0 + 10 * MIN,
            by=_m("woby"),
        ),
        j.event(T0 + 5 * MIN, "locker", bank=bank, slot=1, state="open"),
        j.event(T0 + 6 * MIN, "locker", bank=bank, slot=1, state="closed", items=[_m("sensed")]),
        j.alert(
            T0 + 6 * MIN,
            "item_mismatch",
            "raised",
            f"{bank}/1",
            zone=zone,
            detail={"missing": [item], "unexpected": [IMG]},
        ),
        j.entry(
            "item_trail",
            T0 + 7 * MIN,
            {"kind": "item_trail", "item": item, "closed": False, "events": [{"ts": T0, "event": IMG, "by": BREAKOUT}]},
        ),
        j.entry(
            "trail",
            T0 + 8 * MIN,
            {
                "kind": "trail",
                "subject": person,
                "checkin_ts": T0,
                "checkout_ts": T0 + 8 * MIN,
                "closed": False,
                "stays": [
                    {
                        "zone": zone,
                        "enter_ts": T0 + MIN,
                        "leave_ts": T0 + 8 * MIN,
                        "officers": [_m("officer")],
                        "unrecorded_ms": 0,
                    }
                ],
                "steps_missing": ["security_check"],
                # the second layer's keys, with markup where the center does not check the value
                "exits": [
                    {
                        "leave_ts": T0 + MIN // 2,
                        "return_ts": T0 + MIN // 2 + 1,
                        "reason": _m("reason"),
                        "until_ts": T0 + MIN,
                    }
                ],
                "welfare": [{"ts": T0 + MIN // 2 + 3, "kind": _m("welfare")}],
                "decisions": [{"ts": T0 + MIN // 2 + 2, "kind": _m("decision")}],
                "outcome": _m("outcome"),
                "released_to": _m("released to"),
                "belongings": _m("belongings"),
                "belongings_reason": _m("kept why"),
                "minor": True,
                "vulnerable": False,
                "guardian": _m("guardian"),
            },
        ),
        j.event(
            T0 + 8 * MIN,
            "checkout",
            person=person,
            released_to=_m("released to"),
            outcome="released",
            belongings="kept",
            belongings_reason=_m("kept why"),
        ),
        j.entry("health", T0 + 9 * MIN, {"gateway": {"note": IMG}, "devices": {IMG: {"ok": BREAKOUT}}}),
    )
    assert reply.status_code == 200, reply.text
    return {"person": person, "item": item}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def _pages(site_id: str, ids: dict[str, str]) -> list[str]:
    person, item = quote(ids["person"], safe=""), quote(ids["item"], safe="")
    return [
        "/",
        "/alerts",
        f"/sites/{site_id}",
        f"/sites/{site_id}/subjects/{person}",
        f"/sites/{site_id}/subjects/{person}/report",
        f"/sites/{site_id}/items",
        f"/sites/{site_id}/items/{item}",
        "/login",
        *_supervision_pages(site_id),
    ]


def _supervision_pages(site_id: str) -> list[str]:
    """日巡查, 周通报, 月考评 of T0's day (2025-11-21 in Beijing) and the drill-downs behind their numbers."""
    window = f"from={T0 - 24 * 60 * MIN}&to={T0 + 24 * 60 * MIN}&site_id={site_id}"
    return [
        f"/supervision/daily?date=2025-11-21&site_id={site_id}",
        f"/supervision/weekly?week=2025-11-17&site_id={site_id}",
        f"/supervision/monthly?month=2025-11&site_id={site_id}",
        f"/supervision/alerts?{window}",
        f"/supervision/trails?{window}",
    ]


def _assert_inert(page: str, text: str) -> None:
    assert IMG not in text and "<script>alert" not in text and "<svg onload" not in text, (
        f"{page} renders data as markup"
    )
    # no inline script, no handler attribute: the CSP would block them, and nothing may need them
    parser = _Elements()
    parser.feed(text)
    for tag, attrs in parser.elements:
        names = {name for name, _ in attrs}
        assert not any(name.startswith("on") for name in names), f"{page}: <{tag}> has an event handler"
        assert tag not in ("img", "iframe", "object", "embed"), f"{page}: an <{tag}> element from data"
        if tag == "script":
            assert "src" in names or ("type", "application/json") in attrs, f"{page}: an inline script"


def test_every_page_escapes_markup_in_every_uplinked_field(world, admin_token):
    ids = _markup_world(world)
    seen = ""
    for page in _pages(world.site_id, ids):
        reply = world.client.get(page, headers=world.auth("admin"))
        assert reply.status_code == 200, f"{page}: {reply.status_code}"
        _assert_inert(page, reply.text)
        seen += reply.text
    # The data was rendered (escaped), not dropped: the pages show each field.
    shown = [
        _m(t)
        for t in (
            "site name",
            "case",
            "z",
            "officer",
            "icase",
            "by",
            "wo",
            "woby",
            "sensed",
            "cam",
            "approver",
            "reason",
            "welfare",
            "decision",
            "outcome",
            "released to",
            "belongings",
            "kept why",
            "guardian",
        )
    ]
    for value in [*shown, ids["person"], ids["item"]]:
        assert str(escape(value)) in seen, f"{value!r} not shown (escaped as Jinja escapes)"
    # The JSON the scripts render (with textContent) carries it as data.
    board = world.client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth("admin"))
    assert board.headers["content-type"].startswith("application/json") and IMG in board.text


def test_every_answer_has_the_security_headers(client, world):
    answers = [
        client.get(p, headers=world.auth("admin")) for p in ("/", "/login", "/alerts", f"/sites/{world.site_id}")
    ]
    answers += [
        client.get("/api/v1/board", headers=world.auth("admin")),
        client.get("/healthz"),
        client.get("/static/app.js"),
        client.get("/nowhere"),
        client.get("/api/v1/users/me"),
    ]
    for reply in answers:
        csp = reply.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, reply.url
        assert "frame-ancestors 'none'" in csp, reply.url
        assert reply.headers.get("x-content-type-options") == "nosniff", reply.url
        assert reply.headers.get("referrer-policy") == "same-origin", reply.url


def test_report_print_button_is_wired_by_the_static_script(world):
    ids = _markup_world(world)
    report = world.client.get(
        f"/sites/{world.site_id}/subjects/{quote(ids['person'], safe='')}/report", headers=world.auth("admin")
    )
    assert 'data-action="print"' in report.text and "onclick" not in report.text
    script = world.client.get("/static/app.js").text
    assert "[data-action=print]" in script and "document.body.dataset.page" in script


# Enumerated fields carry no markup: each is checked against core_ext/vocab.py.
ENUMERATED = [
    ("event", {"type": "enroll", "person": "x", "role": IMG, "sex": "M", "tag": "t"}, "role"),
    ("event", {"type": "enroll", "person": "x", "role": "officer", "sex": IMG, "tag": "t"}, "sex"),
    (
        "event",
        {"type": "checkin", "person": "x", "role": "suspect", "sex": "M", "tag": "t", "basis": IMG, "case": "c"},
        "basis",
    ),
    ("event", {"type": "checkout", "person": "x", "outcome": IMG}, "outcome"),
    ("event", {"type": "leave", "person": "x", "reason": IMG, "until_ts": T0, "approved_by": "b"}, "reason"),
    ("event", {"type": "decision", "person": "x", "kind": IMG}, "kind"),
    ("event", {"type": "welfare", "person": "x", "kind": IMG}, "kind"),
    ("event", {"type": "camera", "camera": "c", "state": IMG}, "state"),
    (
        "event",
        {
            "type": "workorder",
            "id": "w",
            "item": "i",
            "action": IMG,
            "bank": "b",
            "slot": 1,
            "valid_from": T0,
            "valid_until": T0,
        },
        "action",
    ),
    ("alert", {"kind": "alert", "rule": IMG, "state": "raised", "subject": "x"}, "rule"),
    ("alert", {"kind": "alert", "rule": "tag_lost", "state": "raised", "subject": "x", "severity": IMG}, "severity"),
    ("custody", {"person": "x", "state": "in", "role": IMG}, "role"),
    ("custody", {"person": "x", "state": "in", "basis": IMG}, "basis"),
    (
        "trail",
        {
            "kind": "trail",
            "subject": "x",
            "checkin_ts": T0,
            "checkout_ts": None,
            "stays": [],
            "steps_missing": [IMG],
            "closed": False,
        },
        "steps_missing[0]",
    ),
]


@pytest.mark.parametrize(("kind", "body", "field"), ENUMERATED, ids=[f"{k}.{f}" for k, _, f in ENUMERATED])
def test_enumerated_fields_are_checked_against_the_vocabulary(world, kind, body, field):
    reply = world.ingest(world.journal.entry(kind, T0, {"ts": T0, **body}))
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["field"] == f"entries[0].body.{field}"


VOCABULARY_FIELDS = [
    ("RULES", lambda v: ("alert", {"kind": "alert", "rule": v, "state": "raised", "subject": "x"})),
    (
        "BASES",
        lambda v: (
            "event",
            {"type": "checkin", "person": "x", "role": "suspect", "sex": "F", "tag": "t", "basis": v, "case": "c"},
        ),
    ),
    ("SUBJECT_ROLES", lambda v: ("custody", {"person": "x", "state": "in", "role": v})),
    ("STAFF_ROLES", lambda v: ("event", {"type": "enroll", "person": "x", "role": v, "sex": "F", "tag": "t"})),
    (
        "WORKORDER_ACTIONS",
        lambda v: (
            "event",
            {
                "type": "workorder",
                "id": "w",
                "item": "i",
                "action": v,
                "bank": "b",
                "slot": 1,
                "valid_from": T0,
                "valid_until": T0,
            },
        ),
    ),
    ("OUTCOMES", lambda v: ("event", {"type": "checkout", "person": "x", "outcome": v})),
    (
        "LEAVE_REASONS",
        lambda v: ("event", {"type": "leave", "person": "x", "reason": v, "until_ts": T0, "approved_by": "b"}),
    ),
    ("DECISION_KINDS", lambda v: ("event", {"type": "decision", "person": "x", "kind": v})),
    ("WELFARE_KINDS", lambda v: ("event", {"type": "welfare", "person": "x", "kind": v})),
    (
        "ZONE_TYPES",
        lambda v: (
            "trail",
            {
                "kind": "trail",
                "subject": "x",
                "checkin_ts": T0,
                "checkout_ts": None,
                "stays": [],
                "steps_missing": [v],
                "closed": False,
            },
        ),
    ),
]


@pytest.mark.parametrize(("name", "make"), VOCABULARY_FIELDS, ids=[n for n, _ in VOCABULARY_FIELDS])
def test_every_vocabulary_value_is_accepted(world, name, make):
    """Built from core_ext/vocab.py at run time: a value appended there is tested here too."""
    entries = []
    for value in getattr(vocab, name):
        kind, body = make(value)
        entries.append(world.journal.entry(kind, T0, {"ts": T0, **body}))
    reply = world.ingest(*entries)
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] == len(getattr(vocab, name))


def test_second_layer_events_are_known_with_their_optional_fields(world, settings):
    from server.schemas.uplink_bodies import KNOWN_EVENT_TYPES

    assert set(vocab.EVENT_TYPES) <= KNOWN_EVENT_TYPES
    j = world.journal
    reply = world.ingest(
        j.event(T0, "enroll", person="g-1", role="officer", sex="F", tag="tg", **{"for": "s-1"}),
        j.event(
            T0,
            "checkin",
            person="s-1",
            role="suspect",
            sex="F",
            tag="ts",
            basis="continued_questioning",
            case="c",
            minor=True,
            age=15,
            pregnant=False,
            guardian="g-1",
        ),
        j.event(T0 + 1, "leave", person="s-1", reason="medical", until_ts=T0 + 60 * MIN, approved_by="chief"),
        j.event(T0 + 2, "return", person="s-1"),
        j.event(T0 + 3, "decision", person="s-1", kind="arrest"),
        j.event(T0 + 4, "welfare", person="s-1", kind="meal"),
        j.event(T0 + 5, "seizure", item="knife", case="c", by="off-1"),
        j.event(T0 + 6, "intake", item="knife", case="c", bank="b", slot=1, owner="s-1", seized_ts=T0),
        j.event(T0 + 7, "unlock", bank="b", slot=1, by="off-1"),
        j.event(
            T0 + 8,
            "workorder",
            id="w",
            item="knife",
            action="withdraw",
            bank="b",
            slot=1,
            valid_from=T0,
            valid_until=T0 + MIN,
            requested_by="a",
            approved_by="b",
        ),
        j.event(
            T0 + 9,
            "checkout",
            person="s-1",
            outcome="bail",
            released_to="mother",
            belongings="kept",
            belongings_reason="evidence",
        ),
    )
    assert reply.status_code == 200, reply.text
    bad = world.ingest(j.event(T0 + 10, "leave", person="s-1", reason="medical", until_ts=-1, approved_by="x"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "entries[0].body.until_ts"


def _app_client(settings, **overrides) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=overrides)))


def _login_cookie(client: TestClient, username: str, headers: dict | None = None) -> str:
    reply = client.post(
        "/login",
        data={"username": username, "password": "correct horse battery", "next": "/"},
        headers=headers or {},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return reply.headers["set-cookie"]


def test_session_cookie_is_secure_over_https_or_a_trusted_proxy(settings, world):
    world.auth("center_monitor")
    username = f"center_monitor-{world.site_id[5:]}"
    with _app_client(settings, trusted_proxies=["testclient"]) as behind_proxy:
        assert "secure" in _login_cookie(behind_proxy, username, {"X-Forwarded-Proto": "https"}).lower()
        assert "secure" not in _login_cookie(behind_proxy, username, {"X-Forwarded-Proto": "http"}).lower()
    with _app_client(settings, trusted_proxies=["10.0.0.0/8"]) as direct:
        # a client that is not a trusted proxy cannot claim HTTPS
        assert "secure" not in _login_cookie(direct, username, {"X-Forwarded-Proto": "https"}).lower()
    with TestClient(create_app(settings), base_url="https://testserver") as over_https:
        cookie = _login_cookie(over_https, username)
        assert "secure" in cookie.lower() and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


def test_templates_never_pass_data_through_gettext():
    """_() marks its result safe: only literals (and the code's own N_-marked titles) may go through it."""
    from server.web.templating import TEMPLATES_DIR

    code_constants = {"report_title", "title"}  # server/web/supervision.py REPORTS and COLUMNS: msgids from code
    found = []
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        for match in re.finditer(r"\b_\(\s*([^\"'\s)][^),]*)", template.read_text(encoding="utf-8")):
            if match.group(1).strip() not in code_constants:
                found.append(f"{template.name}: _({match.group(1)})")
        assert "|safe" not in template.read_text(encoding="utf-8"), f"{template.name} marks something safe"
    assert not found, f"data through _(): {found}"
