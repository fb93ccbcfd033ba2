"""The center's pages in headless Chromium: log in, watch a subject arrive live, acknowledge, open a trail."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import REPO, ServerProcess
from uplink_builder import JournalBuilder, demo_descriptor

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(180)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
T0 = 1_763_700_000_000


def _cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args, "--database", database_url], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)
    assert done.returncode == 0, f"server {args[0]} failed: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def site_server(tmp_path_factory) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{work / 'server.db'}"
    _cli(url, "create-admin", "--username", "chief", env={"CUSTODY_ADMIN_PASSWORD": "chief password"})
    _cli(url, "add-site", "--id", "demo-area", "--name", "Demo handling area")
    _cli(url, "add-user", "--username", "monitor", "--role", "center_monitor", "--password", "monitor password")
    credential = _cli(url, "add-gateway", "--id", "gw-demo-area", "--site", "demo-area")
    assert credential.startswith("cgw_")
    server = ServerProcess(url, work / "server.log")
    try:
        server.wait_ready()
        gw = {"Authorization": f"Bearer {credential}"}
        assert httpx.put(f"{server.url}/api/v1/sites/demo-area/descriptor", json=demo_descriptor("demo-area"), headers=gw).status_code == 200
        yield {"url": server.url, "gw": gw, "journal": JournalBuilder("gw-demo-area", "demo-area")}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def test_login_live_board_acknowledge_and_trail(site_server, browser):
    from playwright.sync_api import expect

    base, gw, j = site_server["url"], site_server["gw"], site_server["journal"]
    # English by the browser's Accept-Language (the default is Chinese: tests/i18n).
    page = browser.new_page(viewport={"width": 1600, "height": 900}, locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # log in: the board answers 401 with the login form, then lands where it was asked for
    response = page.goto(f"{base}/sites/demo-area")
    assert response.status == 401
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", "monitor password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/sites/demo-area")
    expect(page.locator("#live-state.on")).to_be_visible()
    expect(page.locator("article.zone")).to_have_count(5)

    # a subject appears live after an ingest, in the right zone, with the custody clock
    batch = j.batch(
        j.event(T0, "enroll", person="off-1", role="officer", sex="F", tag="tag-o1"),
        j.event(T0, "checkin", person="sus-b", role="suspect", sex="M", tag="tag-s", basis="criminal_summons", case="c-9"),
        j.custody(T0, "sus-b", "in", case="c-9"),
        j.location(T0 + 60_000, "sus-b", "check"),
        j.location(T0 + 60_000, "off-1", "check"),
    )
    assert httpx.post(f"{base}/api/v1/ingest", json=batch, headers=gw).status_code == 200
    subject = page.locator('article[data-zone="check"] li.subject[data-person="sus-b"]')
    expect(subject).to_be_visible(timeout=5000)
    expect(page.locator('article[data-zone="check"] ul.staff li[data-person="off-1"]')).to_be_visible()
    expect(subject.locator(".clock .remaining")).to_contain_text("Over the limit")  # T0 is long past

    # an alert shows on the board; acknowledge it from the alert queue
    alert = j.batch(j.alert(T0 + 120_000, "female_search_without_female_officer", "raised", "sus-b", zone="check"))
    assert httpx.post(f"{base}/api/v1/ingest", json=alert, headers=gw).status_code == 200
    expect(page.locator("#board-alerts li.alert.status-open")).to_contain_text("Female search without female staff")
    page.goto(f"{base}/alerts")
    row = page.locator("#alert-queue tbody tr", has_text="Female search without female staff")
    expect(row).to_have_count(1)
    row.locator("input.comment").fill("checked the camera")
    row.locator("button.ack").click()
    page.select_option("select[name=status]", "acknowledged")
    page.click("#alert-filter button[type=submit]")
    handled = page.locator("#alert-queue tbody tr", has_text="Female search without female staff")
    expect(handled).to_contain_text("monitor")
    expect(handled.locator("button.ack")).to_have_count(0)

    # open the trail from the board: stays, footage and the timeline chart
    page.goto(f"{base}/sites/demo-area")
    page.locator('li.subject[data-person="sus-b"] a').click()
    expect(page).to_have_url(re.compile(r"/sites/demo-area/subjects/sus-b$"))
    expect(page.locator("tr.stay-row")).to_have_count(1)
    expect(page.locator("tr.stay-row")).to_contain_text("cam-check")
    expect(page.locator("svg.timeline rect.stay")).to_have_count(1)
    expect(page.locator("svg.timeline .alert-mark")).to_have_count(1)
    page.click("text=Printable report")
    expect(page.locator("h1")).to_contain_text("Custody report")
    expect(page.locator("svg.timeline")).to_be_visible()
    assert not errors, errors
    page.close()
