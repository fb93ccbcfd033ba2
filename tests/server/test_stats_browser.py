"""The supervision pages in headless Chromium under `Content-Security-Policy: script-src 'self'`.

A real server process on SQLite holds the three-day fixture of test_server_stats.py; Chromium logs
in, opens 日巡查, 周通报 and 月考评, follows a drill-down link, prints (print media) and keeps a
screenshot of each page (in the test's tmp directory, and in $CUSTODY_SCREENSHOTS when set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import REPO, ServerProcess
from stats_fixture import AREA, Days, run_days
from test_server_stats import AREA_PLAN
from uplink_builder import JournalBuilder

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'"


def _cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server", *args, "--database", database_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"server {args[0]} failed: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory) -> Iterator[tuple[str, Days]]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    days = run_days(AREA, AREA_PLAN, subjects=12)
    work = tmp_path_factory.mktemp("stats-browser")
    url = f"sqlite:///{work / 'server.db'}"
    _cli(url, "add-site", "--id", "area-1", "--name", "城关派出所办案区")
    _cli(url, "add-user", "--username", "monitor", "--role", "center_monitor", "--password", "monitor password")
    credential = _cli(url, "add-gateway", "--id", "gw-area-1", "--site", "area-1")
    server = ServerProcess(url, work / "server.log")
    try:
        server.wait_ready()
        gw = {"Authorization": f"Bearer {credential}"}
        reply = httpx.put(
            f"{server.url}/api/v1/sites/area-1/descriptor",
            json=days.descriptor("area-1", "城关派出所办案区"),
            headers=gw,
        )
        assert reply.status_code == 200, reply.text
        journal = JournalBuilder("gw-area-1", "area-1")
        entries = [journal.entry(kind, ts, body) for ts, kind, body in days.entries]
        for start in range(0, len(entries), 1000):
            reply = httpx.post(
                f"{server.url}/api/v1/ingest",
                json=journal.batch(*entries[start : start + 1000]),
                headers=gw,
                timeout=60,
            )
            assert reply.status_code == 200, reply.text
        yield server.url, days
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _with_csp(route) -> None:
    """Serve every page with the strict policy the center is getting: inline script would be refused."""
    response = route.fetch()
    headers = {**response.headers}
    if headers.get("content-type", "").startswith("text/html"):
        headers["content-security-policy"] = CSP
    route.fulfill(response=response, headers=headers)


def _shoot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("CUSTODY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def test_supervision_pages_in_chromium(loaded_server, browser, tmp_path):
    from playwright.sync_api import expect

    base, days = loaded_server
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.route("**/*", _with_csp)
    assert page.goto(f"{base}/supervision/weekly?week=2026-03-02").status == 401
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", "monitor password")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("周通报")
    # from here on, any script error or refused script (the CSP) is a failure
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    assert "script-src 'self'" in page.reload().headers["content-security-policy"]
    # the policy is in force: an inline script does not run (a page relying on one would break here)
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
        " document.body.append(s); }"
    )
    assert page.evaluate("() => window.inlineRan === true") is False
    problems.clear()  # the refused script reports itself on the console

    # 周通报: the ranking, both charts, the arrows' words, the signature lines
    ranking = page.locator("table.ranking tbody tr")
    expect(ranking).to_have_count(1)
    expect(ranking.first).to_contain_text("城关派出所办案区")
    checked_in = sum(1 for e in days.events if e["type"] == "checkin")
    expect(ranking.first.locator("td").nth(1)).to_have_text(str(checked_in))
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart path.line-solid")).to_have_count(1)
    expect(page.locator("svg.chart path.line-hatched")).to_have_count(1)
    expect(page.locator("footer.signatures")).to_contain_text("制表人")
    _shoot(page, tmp_path, "weekly")

    # the print view: no navigation, no buttons, the header and signatures stay
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    expect(page.locator("footer.signatures")).to_be_visible()
    _shoot(page, tmp_path, "weekly-print")
    page.emulate_media(media="screen")

    # drill-down from the violations number to the alerts behind it
    violations = ranking.first.locator("td").nth(2)
    expected = sum(1 for s in days.scenarios for e in s.expected if e.rule != "time_limit_warning")
    expect(violations).to_have_text(str(expected))
    violations.locator("a").click()
    expect(page.locator("h1")).to_contain_text("数据对应的告警")
    expect(page.locator("table.grid tbody tr")).to_have_count(expected)
    _shoot(page, tmp_path, "drill-alerts")

    # 日巡查 of the second day, 月考评 of March
    page.goto(f"{base}/supervision/daily?date=2026-03-03")
    expect(page.locator("h1")).to_contain_text("日巡查")
    expect(page.locator("section.now h3").first).to_contain_text("超过 15 分钟未处置的告警")
    expect(page.locator("svg.chart")).to_have_count(1)
    _shoot(page, tmp_path, "daily")
    page.goto(f"{base}/supervision/monthly?month=2026-03")
    expect(page.locator("h1")).to_contain_text("月考评")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("svg.chart circle.marker-solid")).to_have_count(3)  # three days with check-outs
    _shoot(page, tmp_path, "monthly")

    # the print button is bound by the static script, not an inline handler
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    page.click("button[data-print]")
    expect(page.locator("body")).to_have_attribute("data-printed", "yes")
    assert not problems, problems
    context.close()
