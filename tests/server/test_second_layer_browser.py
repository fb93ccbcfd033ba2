"""The live board's second-layer flags and countdowns in headless Chromium, under the server's own
strict CSP, in Chinese (the default) and English; screenshots kept in build/second-layer/ (and in
$CUSTODY_SCREENSHOTS when set) for a person to look at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from second_layer_day import RELEASED_TO, run_day
from server_process import REPO, ServerProcess
from test_server_browser import CHROMIUM, CHROMIUM_ARGS, _cli
from uplink_builder import JournalBuilder

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.timeout(180)]

SHOTS = REPO / "build" / "second-layer"


@pytest.fixture(scope="module")
def center(tmp_path_factory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("second-layer")
    url = f"sqlite:///{work / 'server.db'}"
    _cli(url, "add-site", "--id", "sl", "--name", "Second layer area")
    _cli(url, "add-user", "--username", "monitor", "--role", "center_monitor", "--password", "monitor password")
    credential = _cli(url, "add-gateway", "--id", "gw-sl", "--site", "sl")
    server = ServerProcess(url, work / "server.log")
    try:
        server.wait_ready()
        gw = {"Authorization": f"Bearer {credential}"}
        day = run_day()
        assert (
            httpx.put(f"{server.url}/api/v1/sites/sl/descriptor", json=day.descriptor("sl"), headers=gw).status_code
            == 200
        )
        j = JournalBuilder("gw-sl", "sl")
        entries = [j.entry(kind, ts, body) for kind, ts, body in day.entries]
        reply = httpx.post(f"{server.url}/api/v1/ingest", json=j.batch(*entries), headers=gw)
        assert reply.status_code == 200, reply.text
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("CUSTODY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


WORDS = {
    "zh-CN": {
        "minor": "未成年人",
        "vulnerable": "特殊群体",
        "present": "监护人在场",
        "out": "外出至",
        "reason": "就医",
        "decision": "刑事拘留",
        "transfer": "送押期限",
        "meal": "上次进餐",
        "exit": "指认现场",
        "collected": "领回人",
    },
    "en-US": {
        "minor": "Minor",
        "vulnerable": "Vulnerable person",
        "present": "Guardian present",
        "out": "Out until",
        "reason": "Medical care",
        "decision": "Criminal detention",
        "transfer": "Transfer by",
        "meal": "Last meal",
        "exit": "Identifying the scene",
        "collected": "Collected by",
    },
}


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_board_shows_second_layer_flags_and_countdowns(center, browser, locale):
    from playwright.sync_api import expect

    words = WORDS[locale]
    page = browser.new_page(viewport={"width": 1500, "height": 1000}, locale=locale)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # a CSP refusal shows as a console error (the 401 of the login form and a favicon 404 are expected)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Refused" in msg.text else None)
    page.goto(f"{center}/sites/sl")
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", "monitor password")
    page.click("button[type=submit]")
    expect(page.locator("#live-state.on")).to_be_visible()

    m1 = page.locator('article[data-zone="int1"] li.subject[data-person="m1"]')
    expect(m1.locator(".flag.minor")).to_have_text(words["minor"])
    expect(m1.locator(".flag.guardian.present")).to_contain_text(words["present"])
    expect(m1.locator(".flag.guardian")).to_contain_text("g1")
    expect(page.locator('article[data-zone="int1"] ul.guardians li[data-person="g1"]')).to_be_visible()
    v1 = page.locator('li.subject[data-person="v1"]')
    expect(v1.locator(".flag.vulnerable")).to_have_text(words["vulnerable"])
    s1 = page.locator('#out-of-area li.subject[data-person="s1"]')
    expect(s1.locator(".out-line")).to_contain_text(words["out"])
    expect(s1.locator(".out-line")).to_contain_text("11:20")  # T(200) = 08:00 + 3 h 20 min, site time
    expect(s1.locator(".out-line")).to_contain_text(words["reason"])
    expect(s1.locator(".out-line")).to_contain_text("chief-wang")
    s2 = page.locator('li.subject[data-person="s2"]')
    expect(s2.locator(".decision-line")).to_contain_text(words["decision"])
    expect(s2.locator(".decision-line")).to_contain_text(words["transfer"])
    expect(s2.locator(".decision-line")).to_contain_text("04:30")  # T(30) + 20 h = 04:30 the next day
    expect(s2.locator(".decision-line .countdown")).to_be_visible()
    expect(s2.locator(".clock")).to_have_count(0)  # the summons clock stopped at the decision
    expect(s2.locator(".meal-line")).to_contain_text(words["meal"])
    expect(s2.locator(".meal-line")).to_contain_text("08:40")
    _shoot(page, f"board-second-layer-{locale}")

    # the checked-out subject's report: the exit, who collected her
    page.goto(f"{center}/sites/sl/subjects/s3/report")
    expect(page.locator("table.exits tr.exit-row")).to_contain_text(words["exit"])
    expect(page.locator("dd.released-to")).to_have_text(RELEASED_TO)
    expect(page.locator("dl.facts")).to_contain_text(words["collected"])
    _shoot(page, f"report-second-layer-{locale}")
    assert not errors, errors
    page.close()
