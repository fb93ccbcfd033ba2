"""The floor plan in headless Chromium: the board's live plan and a trail's track playback.

The site is the real demo handling area (firmware_configs/sites/demo-area.yaml with its SVG
plan), described to a real server process by the gateway's own descriptor function. Screenshots
go to build/floorplan/ so a person can look at them.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import REPO, ServerProcess
from test_server_browser import CHROMIUM, CHROMIUM_ARGS, T0, _cli
from uplink_builder import JournalBuilder

from core_ext.resources import site_file
from core_ext.site import load_site
from gateway.supervisor import site_descriptor
from server.web.floorplan import dot_points, positions_at

pytestmark = [pytest.mark.floorplan, pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(180)]

SITE = site_file("demo-area")
# Kept after the run for a person to look at (like tests/i18n's screenshots).
SHOTS = REPO / "build" / "floorplan"


@pytest.fixture(scope="module")
def plan_server(tmp_path_factory) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("floorplan")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{work / 'server.db'}"
    _cli(url, "create-admin", "--username", "chief", env={"CUSTODY_ADMIN_PASSWORD": "chief password"})
    _cli(url, "add-site", "--id", "demo-area", "--name", "Demo handling area")
    _cli(url, "add-user", "--username", "monitor", "--role", "center_monitor", "--password", "monitor password")
    credential = _cli(url, "add-gateway", "--id", "gw-demo-area", "--site", "demo-area")
    server = ServerProcess(url, work / "server.log")
    try:
        server.wait_ready()
        gw = {"Authorization": f"Bearer {credential}"}
        descriptor = site_descriptor(load_site(SITE))
        reply = httpx.put(f"{server.url}/api/v1/sites/demo-area/descriptor", json=descriptor, headers=gw)
        assert reply.status_code == 200, reply.text
        yield {"url": server.url, "gw": gw, "journal": JournalBuilder("gw-demo-area", "demo-area"),
               "plan": descriptor["plan"], "shots": SHOTS}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _logged_in(browser, base: str, locale: str):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1500, "height": 950}, locale=locale)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # every script, style and API call must load (the browser's own favicon probe aside)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") and "/login" not in r.url else None)
    # Every page runs under the center's strict policy (server/middleware.py): a script or
    # style it blocks is recorded here and fails the test.
    page.add_init_script("""window.__csp = []; document.addEventListener('securitypolicyviolation',
        (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));""")
    page.goto(f"{base}/login?next=/")
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", "monitor password")
    page.click("button[type=submit]")
    expect(page.locator(".topbar")).to_be_visible()
    page.errors = errors
    return page


@pytest.fixture(scope="module")
def page(plan_server, browser) -> Iterator:
    page = _logged_in(browser, plan_server["url"], "en-US")
    yield page
    page.close()


def _ingest(server: dict, *entries: dict) -> None:
    reply = httpx.post(f"{server['url']}/api/v1/ingest", json=server["journal"].batch(*entries), headers=server["gw"])
    assert reply.status_code == 200, reply.text


def _inside(box: dict, polygon_box: dict) -> bool:
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return (polygon_box["x"] <= cx <= polygon_box["x"] + polygon_box["width"]
            and polygon_box["y"] <= cy <= polygon_box["y"] + polygon_box["height"])


def test_live_plan_moves_a_dot_after_an_ingest(plan_server, page):
    from playwright.sync_api import expect

    base, j = plan_server["url"], plan_server["journal"]
    response = page.goto(f"{base}/sites/demo-area")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#live-state.on")).to_be_visible()
    page.click("#tab-plan")
    expect(page).to_have_url(f"{base}/sites/demo-area#plan")
    expect(page.locator("#board")).to_be_hidden()
    zones = page.locator("#plan-canvas svg.floorplan polygon.fp-zone")
    expect(zones).to_have_count(len(plan_server["plan"]["zones"]))
    # labelled in the page's language: the zone type's word and the zone id
    expect(page.locator('#plan-canvas text.fp-label[data-zone="int1"] tspan.fp-type')).to_have_text("Interrogation room")
    expect(page.locator("#plan-canvas .fp-dot")).to_have_count(0)

    _ingest(plan_server,
            j.event(T0, "enroll", person="off-1", role="officer", sex="F", tag="tag-o1"),
            j.event(T0, "checkin", person="sus-a", role="suspect", sex="M", tag="tag-a", basis="criminal_summons", case="c-1"),
            j.custody(T0, "sus-a", "in", case="c-1"),
            j.custody(T0, "sus-x", "in", case="c-2"),  # checked in, never read: location unknown
            j.location(T0 + 60_000, "sus-a", "reg"),
            j.location(T0 + 60_000, "off-1", "reg"))
    subject = page.locator('#plan-canvas circle.fp-subject[data-person="sus-a"]')
    expect(subject).to_have_attribute("data-zone", "reg", timeout=5000)
    officer = page.locator('#plan-canvas rect.fp-staff[data-person="off-1"]')
    expect(officer).to_have_attribute("data-zone", "reg")
    expect(subject.locator("title")).to_have_text("sus-a · Suspect · Case c-1")
    reg = page.locator('#plan-canvas polygon[data-zone="reg"]')
    assert _inside(subject.bounding_box(), reg.bounding_box())
    assert _inside(officer.bounding_box(), reg.bounding_box())
    expect(page.locator('#plan-unplaced li[data-person="sus-x"]')).to_have_count(1)
    page.screenshot(path=plan_server["shots"] / "live-plan-1.png", full_page=True)

    # a move and an alert arrive over the live feed: the dot follows, the zone lights up
    _ingest(plan_server,
            j.location(T0 + 120_000, "sus-a", "int1", prev="reg"),
            j.alert(T0 + 150_000, "unaccompanied", "raised", "sus-a", zone="int1"))
    expect(subject).to_have_attribute("data-zone", "int1", timeout=5000)
    expect(page.locator('#plan-canvas polygon[data-zone="int1"]')).to_have_class("fp-zone type-interrogation fp-alert")
    expect(page.locator('#plan-canvas polygon[data-zone="reg"]')).not_to_have_class("fp-alert")
    assert _inside(subject.bounding_box(), page.locator('#plan-canvas polygon[data-zone="int1"]').bounding_box())
    expect(officer).to_have_attribute("data-zone", "reg")
    subject.click()  # a tap shows the label under the plan (the <title> is for hover)
    expect(page.locator("#plan-canvas .fp-caption")).to_have_text("sus-a · Suspect · Case c-1")
    page.screenshot(path=plan_server["shots"] / "live-plan-2.png", full_page=True)
    assert page.evaluate("window.__csp") == []
    print("screenshots in", plan_server["shots"])
    assert not page.errors, page.errors


def test_track_playback_at_two_times(plan_server, page):
    from playwright.sync_api import expect

    base, j = plan_server["url"], plan_server["journal"]
    t = T0 + 3_600_000
    stays = [
        {"zone": "reg", "enter_ts": t, "leave_ts": t + 300_000, "officers": ["off-2"], "unrecorded_ms": 0},
        {"zone": "check", "enter_ts": t + 300_000, "leave_ts": t + 900_000, "officers": ["off-2", "off-3"], "unrecorded_ms": 0},
        {"zone": "int2", "enter_ts": t + 900_000, "leave_ts": t + 2_700_000, "officers": ["off-3", "off-4"], "unrecorded_ms": 120_000},
        {"zone": "exit", "enter_ts": t + 2_700_000, "leave_ts": t + 2_760_000, "officers": [], "unrecorded_ms": 0},
    ]
    trail = {"subject": "sus-p", "checkin_ts": t, "checkout_ts": t + 2_760_000, "stays": stays,
             "steps_missing": ["info_collection"], "closed": False}
    _ingest(plan_server,
            j.custody(t, "sus-p", "in", case="c-7"),
            j.alert(t + 1_000_000, "insufficient_officers", "raised", "sus-p", zone="int2"),
            j.alert(t + 1_100_000, "insufficient_officers", "cleared", "sus-p", zone="int2"),
            j.custody(t + 2_760_000, "sus-p", "out", case="c-7"),
            j.entry("trail", t + 2_760_000, {"kind": "trail", **trail}))
    page.goto(f"{base}/sites/demo-area/subjects/sus-p")
    root = page.locator("#playback")
    expect(root.locator("svg.floorplan polygon.fp-zone")).to_have_count(len(plan_server["plan"]["zones"]))
    expect(root.locator(".pb-marks rect.pb-stay")).to_have_count(4)
    expect(root.locator(".pb-marks rect.pb-gap")).to_have_count(1)
    expect(root.locator(".pb-marks path.pb-alert")).to_have_count(1)  # raised then cleared: one alert

    person = {**trail, "person": "sus-p"}
    for n, moment in enumerate((t + 600_000, t + 1_050_000)):
        page.evaluate("""(t) => { const s = document.querySelector('#playback .pb-slider');
                         s.value = String(t); s.dispatchEvent(new Event('input')); }""", moment)
        expect(root).to_have_attribute("data-t", str(moment))
        expected = positions_at(person, moment)
        dots = root.locator(".fp-dot")
        expect(dots).to_have_count(len(expected))
        shown = sorted(dots.evaluate_all("ds => ds.map(d => [d.dataset.person, d.dataset.kind, d.dataset.zone])"))
        assert shown == sorted([p["id"], p["kind"], p["zone"]] for p in expected)
        stay = next(s for s in stays if s["enter_ts"] <= moment < s["leave_ts"])
        assert {p["zone"] for p in expected} == {stay["zone"]}
        assert {p["id"] for p in expected if p["kind"] == "staff"} == set(stay["officers"])
        zone_box = root.locator(f'polygon[data-zone="{stay["zone"]}"]').bounding_box()
        for i in range(len(expected)):
            assert _inside(dots.nth(i).bounding_box(), zone_box)
        page.screenshot(path=plan_server["shots"] / f"playback-{n + 1}.png", full_page=True)
        assert page.evaluate("window.__csp") == []
    # in int2 at t+1 050 000 the insufficient_officers alert is raised: the zone is highlighted
    expect(root.locator('polygon[data-zone="int2"]')).to_have_class("fp-zone type-interrogation fp-alert")

    # play at 60×: time moves forward without a reload
    page.select_option("#playback .pb-speed", "60")
    page.click("#playback .pb-play")
    expect(root).not_to_have_attribute("data-t", str(t + 1_050_000))
    assert int(float(root.get_attribute("data-t"))) > t + 1_050_000
    page.click("#playback .pb-play")
    expect(root.locator(".pb-play")).to_have_attribute("aria-pressed", "false")

    # the printed report: one server-drawn frame per stay, the subject in that stay's zone
    page.goto(f"{base}/sites/demo-area/subjects/sus-p/report")
    frames = page.locator(".plan-frames li.frame")
    expect(frames).to_have_count(len(stays))
    for i, stay in enumerate(stays):
        frame = frames.nth(i)
        expect(frame.locator('circle.fp-subject[data-person="sus-p"]')).to_have_count(1)
        assert frame.get_attribute("data-zone") == stay["zone"]
        expect(frame.locator("rect.fp-staff")).to_have_count(len(stay["officers"]))
    page.screenshot(path=plan_server["shots"] / "report-frames.png", full_page=True)
    assert page.evaluate("window.__csp") == []
    assert not page.errors, page.errors


def test_playback_of_an_open_stay_derived_from_locations(plan_server, page):
    """Before check-out the center derives the stays from location records; the playback runs to now."""
    from playwright.sync_api import expect

    base, j = plan_server["url"], plan_server["journal"]
    t = T0 + 7_200_000
    _ingest(plan_server,
            j.custody(t, "sus-o", "in", case="c-8"),
            j.location(t + 10_000, "sus-o", "entry"),
            j.location(t + 10_000, "off-9", "entry"),
            j.location(t + 70_000, "sus-o", "reg", prev="entry"),
            j.location(t + 80_000, "off-9", "reg", prev="entry"))
    page.goto(f"{base}/sites/demo-area/subjects/sus-o")
    root = page.locator("#playback")
    expect(root.locator(".pb-marks rect.pb-stay")).to_have_count(2)
    slider = root.locator(".pb-slider")
    assert int(slider.get_attribute("min")) == t
    assert int(float(slider.get_attribute("max"))) > t + 80_000  # an open stay runs to the page's now
    for moment, zone in ((t + 5_000, None), (t + 30_000, "entry"), (t + 100_000, "reg")):
        page.evaluate("""(t) => { const s = document.querySelector('#playback .pb-slider');
                         s.value = String(t); s.dispatchEvent(new Event('input')); }""", moment)
        expect(root).to_have_attribute("data-t", str(moment))
        if zone is None:  # checked in, not yet read: nowhere on the plan
            expect(root.locator(".fp-dot")).to_have_count(0)
            expect(root.locator(".pb-where")).to_have_text("Location unknown")
        else:
            expect(root.locator('circle.fp-subject[data-person="sus-o"]')).to_have_attribute("data-zone", zone)
            expect(root.locator('rect.fp-staff[data-person="off-9"]')).to_have_attribute("data-zone", zone)
    # the end of the slider is now: still in reg
    page.evaluate("""() => { const s = document.querySelector('#playback .pb-slider');
                     s.value = s.max; s.dispatchEvent(new Event('input')); }""")
    expect(root.locator('circle.fp-subject[data-person="sus-o"]')).to_have_attribute("data-zone", "reg")
    assert page.evaluate("window.__csp") == []
    assert not page.errors, page.errors


def test_plan_is_labelled_in_chinese_by_default(plan_server, browser):
    from playwright.sync_api import expect

    base = plan_server["url"]
    page = _logged_in(browser, base, "zh-CN")
    page.goto(f"{base}/sites/demo-area#plan")
    expect(page.locator("#tab-plan")).to_have_attribute("aria-selected", "true")
    expect(page.locator('#plan-canvas text.fp-label[data-zone="int1"] tspan.fp-type')).to_have_text("讯问室")
    expect(page.locator('#plan-canvas text.fp-label[data-zone="int1"] tspan.fp-id')).to_have_text("int1")
    expect(page.locator("#tab-plan")).to_have_text("平面图")
    expect(page.locator("#plan-view .fp-legend")).to_contain_text("工作人员")
    page.screenshot(path=SHOTS / "live-plan-zh-CN.png", full_page=True)
    assert page.evaluate("window.__csp") == []
    assert not page.errors, page.errors
    page.close()


def test_the_javascript_mirrors_the_python(plan_server, page):
    """FloorPlan.positionsAt / dotPoints in the browser give what positions_at / dot_points give."""
    page.goto(f"{plan_server['url']}/sites/demo-area/subjects/sus-p")
    page.locator("#playback svg.floorplan").wait_for()
    plan = plan_server["plan"]
    for n in (1, 3, 9, 30):
        shown = page.evaluate("([zones, n]) => zones.map((z) => FloorPlan.dotPoints(z, n))", [plan["zones"], n])
        assert shown == [[list(p) for p in dot_points(z, n)] for z in plan["zones"]], n
    trail = {"person": "s1", "checkin_ts": 1000, "checkout_ts": 9000, "stays": [
        {"zone": "reg", "enter_ts": 1000, "leave_ts": 2000, "officers": ["o2", "o1"]},
        {"zone": None, "enter_ts": 2000, "leave_ts": 2500, "officers": []},
        {"zone": "int1", "enter_ts": 3000, "leave_ts": None, "officers": ["o3"]}]}
    moments = [0, 999, 1000, 1500, 2000, 2600, 3000, 8999, 9000, 10**13]
    shown = page.evaluate("([trail, moments]) => moments.map((t) => FloorPlan.positionsAt(trail, t))", [trail, moments])
    assert shown == [positions_at(trail, t) for t in moments]
