"""The center's pages in Chinese by default, English by Accept-Language or by the user's choice,
and the live board in Chinese rendered by headless Chromium with real CJK glyphs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from server_process import REPO, ServerProcess
from uplink_builder import JournalBuilder, demo_descriptor

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
T0 = 1_763_700_000_000
PASSWORD = "monitor password"
SCREENSHOT_DIR = REPO / "build" / "i18n"


def _cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args, "--database", database_url], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)
    assert done.returncode == 0, f"server {args[0]} failed: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def center(tmp_path_factory) -> Iterator[dict]:
    work = tmp_path_factory.mktemp("i18n")
    url = f"sqlite:///{work / 'server.db'}"
    _cli(url, "create-admin", "--username", "chief", env={"CUSTODY_ADMIN_PASSWORD": "chief password"})
    _cli(url, "add-site", "--id", "demo-area", "--name", "示范办案区")
    for name in ("monitor", "monitor2"):
        _cli(url, "add-user", "--username", name, "--role", "center_monitor", "--password", PASSWORD)
    credential = _cli(url, "add-gateway", "--id", "gw-demo-area", "--site", "demo-area")
    server = ServerProcess(url, work / "server.log")
    try:
        server.wait_ready()
        gw = {"Authorization": f"Bearer {credential}"}
        assert httpx.put(f"{server.url}/api/v1/sites/demo-area/descriptor", json=demo_descriptor("demo-area"),
                         headers=gw).status_code == 200
        j = JournalBuilder("gw-demo-area", "demo-area")
        batch = j.batch(
            j.event(T0, "enroll", person="off-1", role="officer", sex="M", tag="tag-o1"),
            j.event(T0, "checkin", person="sus-z", role="suspect", sex="F", tag="tag-s", basis="criminal_summons", case="c-7"),
            j.custody(T0, "sus-z", "in", case="c-7"),
            j.location(T0 + 60_000, "sus-z", "check"),
            j.location(T0 + 60_000, "off-1", "check"),
            j.alert(T0 + 120_000, "female_search_without_female_officer", "raised", "sus-z", zone="check"),
        )
        assert httpx.post(f"{server.url}/api/v1/ingest", json=batch, headers=gw).status_code == 200
        yield {"url": server.url}
    finally:
        server.stop()


@contextmanager
def _logged_in(base: str, username: str, accept_language: str | None = None) -> Iterator[httpx.Client]:
    """A browser-like client with its own cookies, logged in through the login form."""
    headers = {"Accept-Language": accept_language} if accept_language else {}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        reply = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/"})
        assert reply.status_code == 303, reply.text
        yield client


def test_login_page_chinese_by_default_english_by_accept_language_or_cookie(center):
    base = center["url"]
    page = httpx.get(f"{base}/sites/demo-area")
    assert page.status_code == 401
    assert '<html lang="zh-CN">' in page.text and page.headers["content-language"] == "zh-CN"
    assert "案管中心" in page.text and "用户名" in page.text and "Log in" not in page.text
    english = httpx.get(f"{base}/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Log in" in english.text and "用户名" not in english.text
    assert "Accept-Language" in english.headers["vary"]
    # The switch before logging in: a cookie, which beats Accept-Language.
    with httpx.Client(base_url=base, headers={"Accept-Language": "zh-CN"}) as browser:
        switched = browser.post("/language", data={"locale": "en", "next": "/login"})
        assert switched.status_code == 303 and switched.headers["location"] == "/login"
        assert "Log in" in browser.get("/login").text
    refused = httpx.post(f"{base}/language", data={"locale": "fr", "next": "/"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "locale"]


def test_user_choice_is_stored_and_beats_the_browser(center):
    base = center["url"]
    with _logged_in(base, "monitor2", "zh-CN,zh;q=0.9") as desk:
        assert "实时看板" in desk.get("/").text
        assert desk.post("/language", data={"locale": "en", "next": "/alerts"}).status_code == 303
    # Another browser, asking for Chinese: the stored preference wins.
    with _logged_in(base, "monitor2", "zh-CN") as other:
        page = other.get("/alerts")
        assert page.status_code == 200 and '<html lang="en">' in page.text and "Alert queue" in page.text
        assert other.post("/language", data={"locale": "zh-CN", "next": "/"}).status_code == 303
        assert "告警队列" in other.get("/alerts").text


def test_report_names_rule_and_legal_basis_in_both_languages(center):
    base = center["url"]
    with _logged_in(base, "monitor") as chinese:
        report = chinese.get("/sites/demo-area/subjects/sus-z/report")
        assert report.status_code == 200
        assert "在区情况报告" in report.text and "女性人身检查无女性工作人员" in report.text
        assert "刑事诉讼法第132条" in report.text and "刑事传唤" in report.text and "安全检查区" in report.text
        assert 'data-rule="female_search_without_female_officer"' in report.text  # the id stays as data
        # Times in the site's zone (Asia/Shanghai), rendered on the server too (printable without scripts).
        assert '<time data-ts="1763700000000">2025-11-21 12:40:00</time>' in report.text
        assert ">12小时0分</span>" in report.text
        block = re.search(r'<script id="i18n" type="application/json">(.*?)</script>', report.text, re.S)
        assert json.loads(block.group(1))["labels"]["duration_hm"] == "%(hours)d小时%(minutes)d分"
    with _logged_in(base, "monitor", "en") as english:
        report = english.get("/sites/demo-area/subjects/sus-z/report")
        assert "Custody report" in report.text and "Female search without female staff" in report.text
        assert "art. 132" in report.text and "Criminal summons" in report.text and "在区" not in report.text
        assert ">12 h 0 min</span>" in report.text and ">2025-11-21 12:40:00</time>" in report.text
        queue = english.get("/alerts").text
        assert '<option value="recording_gap">Recording gap</option>' in queue


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Draws `text` in the font of `selector` on a canvas and returns the pixels. A glyph missing from
# every font draws as the fallback's .notdef box ("tofu"), the same box for every missing glyph.
PIXELS_JS = """([selector, text]) => {
  const style = getComputedStyle(document.querySelector(selector));
  const canvas = document.createElement("canvas"); canvas.width = 400; canvas.height = 80;
  const ctx = canvas.getContext("2d");
  ctx.font = `${style.fontWeight} 40px ${style.fontFamily}`;
  ctx.fillText(text, 4, 56);
  return Array.from(ctx.getImageData(0, 0, 400, 80).data.filter((_, i) => i % 4 === 3));
}"""


@pytest.mark.browser
def test_live_board_in_chinese_renders_cjk_glyphs(center, chromium):
    from playwright.sync_api import expect

    base = center["url"]
    page = chromium.new_page(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/sites/demo-area")
    expect(page.locator("button[type=submit]")).to_have_text("登录")
    page.fill("input[name=username]", "monitor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#live-state.on")).to_have_text("实时")
    subject = page.locator('li.subject[data-person="sus-z"]')
    expect(subject).to_be_visible()
    expect(subject.locator(".tags")).to_contain_text("犯罪嫌疑人")
    expect(subject.locator(".clock .remaining")).to_contain_text("已超时")
    expect(subject.locator(".clock .elapsed")).to_contain_text("小时")
    expect(page.locator('article[data-zone="check"] h3 small')).to_have_text("安全检查区")
    expect(page.locator("#board-alerts li.alert")).to_contain_text("女性人身检查无女性工作人员")
    expect(page.locator("#board-alerts li.alert .meta")).to_contain_text("2025-11-21 12:42:00")  # Asia/Shanghai
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "board-zh-CN.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # The headings' font has the CJK glyphs: a CJK heading does not draw as tofu boxes.
    heading = page.locator("aside h2:visible").first
    expect(heading).to_have_text("位置不明")
    assert page.evaluate("() => document.fonts.check('20px \"Noto Sans CJK SC\"', '位置不明')")
    cjk = page.evaluate(PIXELS_JS, ["aside h2", "位置不明"])
    tofu = page.evaluate(PIXELS_JS, ["aside h2", "\U0010fffd\U0010fffe\U0010fffd\U0010fffe"])
    other_cjk = page.evaluate(PIXELS_JS, ["aside h2", "未处理告"])
    assert sum(1 for a in cjk if a) > 200, "the CJK heading drew (almost) nothing"
    assert cjk != tofu, "CJK text draws as tofu boxes: install fonts-noto-cjk (scripts/system-deps.sh)"
    assert cjk != other_cjk, "different CJK characters draw alike: they are all the same missing-glyph box"
    heading.screenshot(path=str(SCREENSHOT_DIR / "heading-zh-CN.png"))

    # The printable report in Chinese: the scripts re-format times exactly as the server did.
    page.goto(f"{base}/sites/demo-area/subjects/sus-z/report")
    expect(page.locator("h1")).to_have_text("在区情况报告")
    expect(page.locator("dl.facts")).to_contain_text("2025-11-21 12:40:00")
    expect(page.locator("dl.facts")).to_contain_text("12小时0分")
    expect(page.locator("td.rule")).to_contain_text("刑事诉讼法第132条")
    page.screenshot(path=str(SCREENSHOT_DIR / "report-zh-CN.png"), full_page=True)
    assert not errors, errors
    page.close()
