"""The gateway's consoles in headless Chromium against a real `custody gateway run` whose devices
are simulated on the wire: EM4100 readers on ptys (one of them the desk's enrolment reader) and a
Modbus lock board with in-slot RFID.

Registration desk: a person checked in through the form, the wristband bound by a read at the desk
reader, the person moving on the list when another reader reads them, a meal, the check-out with
an outcome. Property room: an intake that opens its slot (the simulated board receives the real
coil write), the door opening and closing with the items sensed, the ledger updated; a work order
requested by one custodian, refused to its requester and approved by another, the slot opened
from the order; an unlock nothing covers refused with its reason. Both in Chinese (screenshots
checked for real CJK glyphs) and the desk in English too.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gw_helpers import STAFF_PASSWORD, Desk
from gw_processes import REPO, GatewayProcess
from gw_sites import CONSOLE_SITE, write_site

from drivers.config import load_devices
from drivers.sim.broker import free_loopback_port
from drivers.sim.modbus_devices import LockboardSim
from drivers.sim.player import SimulatedSite
from gateway.desk.staff import StaffStore

pytestmark = [pytest.mark.console, pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = REPO / "build" / "consoles"
DESK_SCREEN = {"width": 1366, "height": 768}
TABLET = {"width": 1024, "height": 768}
WRISTBAND, BADGE = "0A00000001", "0B00000002"
ITEM = "EV-000123"

# Draws `text` in the font of `selector` on a canvas and returns the alpha channel (as in
# tests/i18n/test_pages_i18n.py): a glyph missing from every font draws as the same .notdef box.
PIXELS_JS = """([selector, text]) => {
  const style = getComputedStyle(document.querySelector(selector));
  const canvas = document.createElement("canvas"); canvas.width = 400; canvas.height = 80;
  const ctx = canvas.getContext("2d");
  ctx.font = `${style.fontWeight} 40px ${style.fontFamily}`;
  ctx.fillText(text, 4, 56);
  return Array.from(ctx.getImageData(0, 0, 400, 80).data.filter((_, i) => i % 4 === 3));
}"""


@dataclass
class Rig:
    gateway: GatewayProcess
    sims: SimulatedSite
    board: LockboardSim
    browser: Any

    async def read(self, reader: str, tag: str) -> None:
        await self.sims.apply({"type": "tag_seen", "reader": reader, "tag": tag})


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} missing: run scripts/system-deps.sh (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    site = write_site(tmp_path, CONSOLE_SITE, site_id="console-test", modbus_port=free_loopback_port())
    sims = SimulatedSite(load_devices(site))
    await sims.start()
    data = tmp_path / "data"
    store = StaffStore(data)
    for username, role in (("desk1", "desk"), ("keeper1", "custodian"), ("keeper2", "custodian")):
        store.add(username, STAFF_PASSWORD, role)
    gateway = GatewayProcess(site, data, extra=["--health-interval", "3600"])
    board = sims.devices["lockboard-a"]
    assert isinstance(board, LockboardSim)
    try:
        await asyncio.to_thread(gateway.start)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield Rig(gateway, sims, board, browser)
            finally:
                await browser.close()
    finally:
        code = await asyncio.to_thread(gateway.stop)
        await sims.stop()
        assert code == 0, gateway.log_path.read_text()[-3000:]


async def login(rig: Rig, username: str, locale: str = "zh-CN", viewport: dict[str, int] = DESK_SCREEN) -> Any:
    from playwright.async_api import expect

    context = await rig.browser.new_context(viewport=viewport, locale=locale)
    page = await context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    # Refusals the test provokes answer 4xx, which Chromium also logs as "Failed to load resource".
    page.on(
        "console",
        lambda m: (
            page.errors.append(m.text)  # type: ignore[attr-defined]
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    await page.goto(rig.gateway.desk_url + "/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", STAFF_PASSWORD)
    await page.click("#login-form button[type=submit]")
    try:
        await expect(page.locator("#live-state.on")).to_be_visible(timeout=10_000)
    except AssertionError as exc:
        raise AssertionError(
            f"{username} not logged in: page errors {page.errors}; "  # type: ignore[attr-defined]
            f"page: {await page.locator('#login-error').inner_text()}"
        ) from exc
    return page


async def cjk_glyphs_render(page: Any, selector: str, text: str) -> None:
    drawn = await page.evaluate(PIXELS_JS, [selector, text])
    tofu = await page.evaluate(PIXELS_JS, [selector, "\U0010fffd\U0010fffe\U0010fffd\U0010fffe"])
    other = await page.evaluate(PIXELS_JS, [selector, "未处理告警"[: len(text)]])
    assert sum(1 for a in drawn if a) > 200, f"{text!r} drew (almost) nothing"
    assert drawn != tofu, "CJK text draws as tofu boxes: install fonts-noto-cjk (scripts/system-deps.sh)"
    assert drawn != other, "different CJK characters draw alike: they are all the same missing-glyph box"


async def test_registration_desk(rig):
    from playwright.async_api import expect

    page = await login(rig, "desk1")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await expect(page.locator("#checkin-form h2")).to_have_text("人员入区登记")
    await expect(page.locator("#persons-empty")).to_be_visible()

    # An officer enrolled with a typed badge tag.
    enrol = page.locator("#enrol-form")
    await enrol.locator("input[name=person]").fill("o1")
    await enrol.locator("select[name=role]").select_option("officer")
    await enrol.locator("select[name=sex]").select_option("F")
    await enrol.locator("input[name=tag]").fill(BADGE)
    await enrol.locator("button[type=submit]").click()
    await expect(page.locator("#banner")).to_contain_text("o1 已登记")

    # Check-in: every legal field, the wristband bound by a read at the desk reader.
    form = page.locator("#checkin-form")
    await form.locator("button[type=submit]").click()
    await expect(form.locator("ul.errors")).to_contain_text("人员编号: 此项必填")  # named, in Chinese
    await form.locator("input[name=person]").fill("p1")
    await form.locator("input[name=name]").fill("张三")
    await form.locator("input[name=id_card]").fill("110101199001011234")
    await form.locator("select[name=role]").select_option("suspect")
    await form.locator("select[name=sex]").select_option("M")
    await form.locator("input[name=age]").fill("34")
    await form.locator("input[name=case]").fill("A2026-118")
    await form.locator("select[name=basis]").select_option("criminal_summons")
    await form.locator("button.read-tag").click()
    await expect(form.locator(".tag-hint")).to_contain_text("请在登记台读卡器上出示腕带")
    await rig.read("rdr-reg", WRISTBAND)  # an unbound tag: the engine drops it, the console gets it
    await expect(form.locator("input[name=tag]")).to_have_value(WRISTBAND)
    await expect(form.locator(".tag-hint")).to_contain_text("rdr-reg")
    await form.locator("button[type=submit]").click()
    person = page.locator('li.person[data-person="p1"]')
    await expect(person).to_be_visible()
    await expect(person.locator(".name")).to_have_text("张三")
    await expect(person.locator(".meta")).to_contain_text("犯罪嫌疑人")
    await expect(person.locator(".meta")).to_contain_text("刑事传唤")
    await expect(person.locator(".clock .remaining")).to_contain_text("剩余 11小时")
    await expect(person.locator(".clock.ok")).to_be_visible()

    # A read elsewhere moves them on the list, live; with them, the officer.
    await rig.read("rdr-int1", WRISTBAND)
    await expect(person.locator(".zone")).to_have_text("讯问室一")
    await rig.read("rdr-int1", BADGE)
    await expect(person.locator(".companions")).to_contain_text("o1（民警）")
    # The same tag presented at the desk reader while worn: the console says by whom.
    await form.locator("button.read-tag").click()
    await rig.read("rdr-reg", WRISTBAND)
    await expect(form.locator(".tag-hint")).to_contain_text("已由 p1 佩戴")
    await expect(person.locator(".zone")).to_have_text("登记区")

    # Two more, arrived earlier (through the API, as another desk would): one inside the warning
    # hour (amber), one past the 12 h limit (red), with its alerts listed.
    desk = Desk(rig.gateway.desk_url)
    now_ms = int(time.time() * 1000)
    for pid, tag, hours_ago in (("p3", "0C00000003", 11.5), ("p4", "0C00000004", 13)):
        desk.ok(
            "/desk/v1/checkins",
            {
                "person": pid,
                "role": "witness",
                "sex": "F",
                "tag": tag,
                "case": "A2026-120",
                "basis": "criminal_summons",
                "arrived_ts": now_ms - round(hours_ago * 3_600_000),
            },
        )
    await expect(page.locator('li.person[data-person="p3"] .clock.warn .remaining')).to_contain_text("剩余 29分")
    late = page.locator('li.person[data-person="p4"]')
    await expect(late.locator(".clock.over .remaining")).to_contain_text("已超时 1小时0分")
    await expect(late.locator('li.alert[data-rule="time_limit_exceeded"]')).to_contain_text("已超时")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "desk-zh-CN.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    await cjk_glyphs_render(page, "#checkin-form h2", "人员入区登记")
    assert await page.evaluate("() => document.fonts.check('20px \"Noto Sans CJK SC\"', '人员入区登记')")

    # A meal, recorded from the person's actions.
    await person.locator("button.open-person").click()
    dialog = page.locator("#person-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#pd-facts dd[data-fact=id_card]")).to_have_text("110101********1234")
    # A temporary exit (approved, with its return time) and the return; an extension with its approver.
    leave = dialog.locator("#act-leave")
    await leave.locator("select[name=reason]").select_option("medical")
    await leave.locator("input[name=approved_by]").fill("chief")
    await leave.locator("button[type=submit]").click()
    await expect(page.locator("#banner")).to_contain_text("p1 已临时出区")
    await expect(person.locator(".flag-out")).to_be_visible()
    await expect(person.locator(".zone")).to_contain_text("临时出区：就医")
    await expect(dialog.locator("#act-leave")).to_be_hidden()
    await dialog.locator("#act-return button[type=submit]").click()
    await expect(page.locator("#banner")).to_contain_text("p1 已返回")
    await expect(person.locator(".flag-out")).to_have_count(0)
    extend = dialog.locator("#act-extend")
    await extend.locator("select[name=limit_h]").select_option("24")
    await extend.locator("button[type=submit]").click()
    await expect(dialog.locator("#pd-errors")).to_contain_text("批准人: 此项必填")
    await extend.locator("input[name=approver]").fill("chief")
    await extend.locator("button[type=submit]").click()
    await expect(page.locator("#banner")).to_contain_text("p1 的时限已延长")
    await expect(person.locator(".flag-extended")).to_be_visible()
    await expect(person.locator(".clock .remaining")).to_contain_text("剩余 23小时")
    await dialog.locator('button.welfare[data-kind="meal"]').click()
    await expect(page.locator("#banner")).to_contain_text("已记录 p1：用餐")
    await expect(dialog.locator("#pd-facts dd[data-fact=welfare]")).to_contain_text("用餐")
    await page.screenshot(path=str(SCREENSHOT_DIR / "desk-actions-zh-CN.png"))

    # Check-out with an outcome; belongings kept without a reason are refused, naming the field.
    checkout = dialog.locator("#act-checkout")
    await checkout.locator("select[name=outcome]").select_option("bail")
    await checkout.locator("input[name=released_to]").fill("李四")
    await checkout.locator("select[name=belongings]").select_option("kept")
    await checkout.locator("button[type=submit]").click()
    await expect(dialog.locator("#pd-errors")).to_contain_text("扣留理由")
    await expect(dialog.locator("#pd-errors")).to_contain_text("第32条")
    await checkout.locator("input[name=belongings_reason]").fill("涉案证据")
    await checkout.locator("button[type=submit]").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#banner")).to_contain_text("p1 已离区")
    await expect(person).to_have_count(0)
    assert not page.errors, page.errors  # type: ignore[attr-defined]

    # The English switch: the same console, errors in English naming the field.
    await page.click("#lang-switch")
    await expect(page.locator("#checkin-form h2")).to_have_text("Check a person in")
    await expect(page.locator("#live-state.on")).to_have_text("Live")
    await form.locator("input[name=person]").fill("p2")
    await form.locator("input[name=case]").fill("A2026-119")
    await form.locator("input[name=tag]").fill(BADGE)
    await form.locator("button[type=submit]").click()
    await expect(form.locator("ul.errors")).to_contain_text("Wristband / tag: tag '0B00000002' is already worn by 'o1'")
    await expect(page.locator('li.person[data-person="p4"] .clock .remaining')).to_contain_text("Over the limit by 1 h")
    await page.screenshot(path=str(SCREENSHOT_DIR / "desk-en.png"), full_page=True)


async def test_property_room(rig):
    from playwright.async_api import expect

    unlocked = asyncio.Event()

    def on_unlock(slot: int) -> None:
        # Someone pulls the released door: the board reports the slot open on its next poll.
        asyncio.get_running_loop().create_task(
            rig.sims.apply({"type": "locker", "bank": "belong-a", "slot": slot, "state": "open"})
        )
        unlocked.set()

    rig.board.on_unlock = on_unlock
    keeper = await login(rig, "keeper1", viewport=TABLET)
    await expect(page_title(keeper)).to_have_text("保管台账")
    slot1 = keeper.locator('button.slot[data-slot="belong-a/1"]')
    await expect(slot1).to_have_attribute("data-status", "empty")

    # Intake: the label scanned (typed + Enter), the slot proposed, recorded, opened.
    intake = keeper.locator("#intake-form")
    await expect(intake.locator("input[name=slot]")).to_have_value("1")
    await intake.locator("input[name=item]").fill(ITEM)
    await intake.locator("input[name=item]").press("Enter")
    await intake.locator("input[name=case]").fill("A2026-118")
    await intake.locator("input[name=owner]").fill("p1")
    await intake.locator("button[type=submit]").click()
    await asyncio.wait_for(unlocked.wait(), 10)
    assert rig.board.unlocks == [1]  # the real coil write reached the simulated board
    await expect(slot1).to_have_attribute("data-status", "open")
    panel = keeper.locator("#slot-panel")
    await expect(panel).to_have_attribute("data-state", "open")
    await expect(panel.locator("#slot-history")).to_contain_text("开锁（keeper1）")
    await rig.sims.apply({"type": "locker", "bank": "belong-a", "slot": 1, "state": "closed", "items": [ITEM]})
    await expect(panel).to_have_attribute("data-state", "closed")
    await expect(panel.locator("#slot-state")).to_contain_text(f"关门时感应到：{ITEM}")
    await expect(slot1).to_have_attribute("data-status", "occupied")
    await expect(panel.locator("#slot-items")).to_contain_text(ITEM)

    # An unlock nothing covers is refused with its reason, and the board is not told.
    await keeper.locator('button.slot[data-slot="belong-a/5"]').click()
    await keeper.click("#slot-unlock")
    await expect(keeper.locator("#slot-errors")).to_contain_text("不在入库授权时段内，也没有有效的已批准工单")
    assert rig.board.unlocks == [1]

    # A withdrawal requested by keeper1; keeper1 cannot approve it; keeper2 approves and opens it.
    order = keeper.locator("#order-form")
    await order.locator("input[name=item]").fill(ITEM)
    await order.locator("input[name=item]").dispatch_event("change")
    await expect(order.locator("input[name=slot]")).to_have_value("1")
    await order.locator("select[name=action]").select_option("withdraw")
    await order.locator("button[type=submit]").click()
    request = keeper.locator("#orders tr.request")
    await expect(request).to_have_count(1)
    await request.locator("button.approve").click()
    await expect(keeper.locator("#orders-errors")).to_contain_text("办案与管理相分离")
    await keeper.screenshot(path=str(SCREENSHOT_DIR / "property-tablet-zh-CN.png"), full_page=True)

    second = await login(rig, "keeper2")
    await second.locator("#orders tr.request button.approve").click()
    row = second.locator("#orders tr.order")
    await expect(row).to_contain_text("keeper1 → keeper2")
    unlocked.clear()
    await row.locator("button.open-slot").click()
    await asyncio.wait_for(unlocked.wait(), 10)
    assert rig.board.unlocks == [1, 1]
    await expect(second.locator('button.slot[data-slot="belong-a/1"]')).to_have_attribute("data-status", "open")
    await rig.sims.apply({"type": "locker", "bank": "belong-a", "slot": 1, "state": "closed", "items": []})
    await expect(second.locator('button.slot[data-slot="belong-a/1"]')).to_have_attribute("data-status", "empty")
    await expect(second.locator(f'#out-items li[data-item="{ITEM}"]')).to_be_visible()
    await expect(keeper.locator(f'#out-items li[data-item="{ITEM}"]')).to_be_visible()  # live on the tablet too
    # A seizure registered at the console waits for intake with its 24 h countdown.
    seizure = second.locator("#seizure-form")
    await seizure.locator("input[name=item]").fill("EV-000200")
    await seizure.locator("input[name=case]").fill("A2026-121")
    await seizure.locator("button[type=submit]").click()
    await expect(second.locator('#seizures li[data-item="EV-000200"] .countdown')).to_contain_text("剩余 23小时59分")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    await second.screenshot(path=str(SCREENSHOT_DIR / "property-zh-CN.png"), full_page=True)
    await cjk_glyphs_render(second, "#property-view h2", "保管台账")
    for page in (keeper, second):
        assert not page.errors, page.errors  # type: ignore[attr-defined]


def page_title(page: Any) -> Any:
    return page.locator("#property-view .col-list .card h2").first


# Where a plan element is, read from the page: the dot's centre in plan metres and on screen, and
# the zone polygon's outline in plan metres and its box on screen.
DOT_JS = """(person) => {
  const dot = document.querySelector(`svg.floorplan .fp-dot[data-person="${person}"]`);
  if (!dot) return null;
  const box = dot.getBoundingClientRect();
  const centre = dot.tagName === "circle"
    ? [Number(dot.getAttribute("cx")), Number(dot.getAttribute("cy"))]
    : [Number(dot.getAttribute("x")) + Number(dot.getAttribute("width")) / 2,
       Number(dot.getAttribute("y")) + Number(dot.getAttribute("height")) / 2];
  return {tag: dot.tagName, zone: dot.dataset.zone, centre, screen: [box.x + box.width / 2, box.y + box.height / 2]};
}"""
ZONE_JS = """(zone) => {
  const shape = document.querySelector(`svg.floorplan polygon.fp-zone[data-zone="${zone}"]`);
  const box = shape.getBoundingClientRect();
  return {points: shape.getAttribute("points").split(" ").map((p) => p.split(",").map(Number)),
          box: [box.left, box.top, box.right, box.bottom], alert: shape.classList.contains("fp-alert")};
}"""


def inside(points: list[list[float]], x: float, y: float) -> bool:
    """Even-odd ray casting (core_ext/geometry.py's rule)."""
    result = False
    for i, (x1, y1) in enumerate(points):
        x2, y2 = points[(i + 1) % len(points)]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            result = not result
    return result


async def dot_in_zone(page: Any, person: str, zone: str, tag: str) -> None:
    from playwright.async_api import expect

    await expect(page.locator(f'svg.floorplan {tag}.fp-dot[data-person="{person}"][data-zone="{zone}"]')).to_have_count(
        1
    )
    dot = await page.evaluate(DOT_JS, person)
    shape = await page.evaluate(ZONE_JS, zone)
    assert inside(shape["points"], *dot["centre"]), (person, dot, shape)
    left, top, right, bottom = shape["box"]
    sx, sy = dot["screen"]
    assert left < sx < right and top < sy < bottom, (person, dot, shape)
    others = await page.evaluate(
        "() => [...document.querySelectorAll('svg.floorplan polygon.fp-zone')].map((z) => z.dataset.zone)"
    )
    for other in others:
        if other != zone:
            assert not inside((await page.evaluate(ZONE_JS, other))["points"], *dot["centre"]), (person, other)


@pytest.mark.floorplan
async def test_desk_floor_plan(rig):
    """The desk's floor-plan tab: the site's plan drawn once, a subject (circle) and an officer (square)
    moved into the zone polygon of the reader that read them, live; someone not located listed beside
    the plan; a zone with an open alert highlighted; both languages."""
    from playwright.async_api import expect

    desk = Desk(rig.gateway.desk_url)
    desk.ok("/desk/v1/staff", {"person": "o1", "role": "officer", "sex": "F", "tag": BADGE})
    desk.ok(
        "/desk/v1/checkins",
        {
            "person": "p1",
            "role": "suspect",
            "sex": "M",
            "tag": WRISTBAND,
            "case": "A2026-118",
            "basis": "criminal_summons",
        },
    )
    page = await login(rig, "desk1")
    tab = page.locator('#tabs .tab[data-tab="plan"]')
    await expect(tab).to_have_text("平面图")
    await tab.click()
    await expect(page.locator("#plan-view")).to_be_visible()
    try:
        await expect(page.locator("svg.floorplan polygon.fp-zone")).to_have_count(3)
    except AssertionError as exc:
        raise AssertionError(
            f"no plan drawn: {await page.locator('#plan-canvas').inner_text()!r}, "
            f"banner {await page.locator('#banner').inner_text()!r}, errors {page.errors}"
        ) from exc  # type: ignore[attr-defined]
    await expect(page.locator('svg.floorplan text.fp-label[data-zone="int1"] .fp-type')).to_have_text("讯问室")
    # Checked in but not read by any reader yet: listed beside the plan, not drawn.
    await expect(page.locator('#plan-unplaced li.fp-unplaced.subject[data-person="p1"]')).to_contain_text("位置不明")
    await expect(page.locator("svg.floorplan .fp-dot")).to_have_count(0)

    await rig.read("rdr-reg", WRISTBAND)
    await dot_in_zone(page, "p1", "reg", "circle")
    await expect(page.locator("#plan-unplaced li.empty")).to_have_text("无人")
    await rig.read("rdr-int1", WRISTBAND)
    await dot_in_zone(page, "p1", "int1", "circle")
    await rig.read("rdr-int1", BADGE)
    await dot_in_zone(page, "o1", "int1", "rect")
    await dot_in_zone(page, "p1", "int1", "circle")
    assert (
        await page.locator('svg.floorplan .fp-dot[data-person="p1"] title').text_content()
        == "p1 · 犯罪嫌疑人 · 案件 A2026-118"
    )

    # A subject whose time limit runs out (10 s from now) while in the interrogation room: the room is
    # highlighted (the alert carries the zone the subject is in when it is raised).
    now_ms = int(time.time() * 1000)
    desk.ok(
        "/desk/v1/checkins",
        {
            "person": "p4",
            "role": "witness",
            "sex": "F",
            "tag": "0C00000004",
            "case": "A2026-120",
            "basis": "criminal_summons",
            "arrived_ts": now_ms - 12 * 3_600_000 + 10_000,
        },
    )
    await rig.read("rdr-int1", "0C00000004")
    await dot_in_zone(page, "p4", "int1", "circle")
    await expect(page.locator('svg.floorplan polygon.fp-zone.fp-alert[data-zone="int1"]')).to_have_count(
        1, timeout=30_000
    )
    await expect(page.locator("svg.floorplan polygon.fp-zone.fp-alert")).to_have_count(1)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "desk-plan-zh-CN.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # English: the same plan, labels switched; the tab stays open.
    await page.click("#lang-switch")
    await expect(tab).to_have_text("Floor plan")
    await expect(page.locator('svg.floorplan text.fp-label[data-zone="int1"] .fp-type')).to_have_text("Interrogation")
    await dot_in_zone(page, "o1", "int1", "rect")
    await expect(page.locator("#plan-view h2").first).to_have_text("Not on the plan")
    await page.screenshot(path=str(SCREENSHOT_DIR / "desk-plan-en.png"), full_page=True)
    assert not page.errors, page.errors  # type: ignore[attr-defined]

    # The property room's custodian (no desk tab) has the plan too, on the tablet.
    keeper = await login(rig, "keeper1", viewport=TABLET)
    await expect(keeper.locator('#tabs .tab[data-tab="desk"]')).to_be_hidden()
    await keeper.locator('#tabs .tab[data-tab="plan"]').click()
    await dot_in_zone(keeper, "p1", "int1", "circle")
    await dot_in_zone(keeper, "o1", "int1", "rect")
    assert not keeper.errors, keeper.errors  # type: ignore[attr-defined]
