"""`custody demo` end to end: the whole live system at high speed, checked from the outside.

The demo runs as a real process tree (central server, Mosquitto, two gateways, simulators on
ptys, Modbus TCP and MQTT). While it plays, the test reads the center's API (subjects on the
board, their trails, the injected violations' alerts) and takes a headless-Chromium screenshot
of the live board; then it presses Ctrl-C (SIGINT), reads the --report JSON and checks that
no process of the tree is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from drivers.sim.broker import find_mosquitto
from gateway.demo.live import DEMO_SITES

pytestmark = [pytest.mark.demo, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SPEED = 60  # the 90-minute demo day in 90 s; thresholds divided by 60 (grace 0.5 s)
PASSWORD = "demo test password"
AREA_SUBJECTS = [f"sub-{n:04d}" for n in range(1, DEMO_SITES[0].subjects + 1)]


def _require(path_ok: bool, message: str) -> None:
    if path_ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _session_processes(sid: int) -> list[str]:
    """Every live process whose session is `sid` (the demo was started as a session leader)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(text[: text.rindex(")") + 1])
    return found


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _read_until(process: subprocess.Popen[str], pattern: str, timeout_s: float, seen: list[str]) -> re.Match[str]:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"demo exited ({process.poll()}) before printing {pattern!r}:\n{''.join(seen)}")
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no {pattern!r} within {timeout_s} s:\n{''.join(seen)}")


def test_live_demo_end_to_end(tmp_path):
    _require(Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run scripts/system-deps.sh")
    _require(find_mosquitto() is not None, "mosquitto missing: run scripts/system-deps.sh")
    report_path = tmp_path / "report.json"
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.commands.cli",
            "demo",
            "--no-browser",
            "--speed",
            str(SPEED),
            "--duration",
            "150",
            "--report",
            str(report_path),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "CUSTODY_DEMO_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1", "CUSTODY_LOCALE": "en"},
    )  # the console lines this test reads (default zh-CN: tests/i18n)
    out: list[str] = []
    try:
        board_url = _read_until(demo, r"board:\s+(\S+)", 90, out).group(1)
        base = board_url.split("/sites/")[0]
        login = _read_until(demo, r"login:\s+(\S+) / (.+)$", 5, out)
        assert login.group(2).strip() == PASSWORD
        api = httpx.Client(base_url=base + "/api/v1", timeout=30)
        token = api.post("/login/access-token", data={"username": login.group(1), "password": PASSWORD})
        assert token.status_code == 200, token.text
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        # subjects appear on the live board, and the browser shows them
        on_board = _wait_for(lambda: _subjects_on_board(api, "demo-area"), 60, "subjects on the demo-area board")
        _screenshot_board(board_url, login.group(1), tmp_path / "board.png", on_board)

        # every injected violation reaches the center as an alert of its rule
        wanted = {(site.file.removesuffix(".yaml"), rule) for site in DEMO_SITES for rule in site.inject}
        got = _wait_for(
            lambda: _missing_rules(api, wanted), 130, "alerts of every injected rule", done=lambda missing: not missing
        )
        assert not got

        # every subject of the day has a trail at the center; those checked out by now a closed one
        # from the gateway, except the ones whose injection breaks the loop (lost tag, recording gap)
        trails = {p: api.get(f"/sites/demo-area/subjects/{p}/trail") for p in AREA_SUBJECTS}
        assert {p: r.status_code for p, r in trails.items()} == {p: 200 for p in AREA_SUBJECTS}
        from_gateway = {p: r.json() for p, r in trails.items() if r.json()["source"] == "gateway"}
        assert len(from_gateway) >= len(AREA_SUBJECTS) // 2, sorted(from_gateway)
        for person, trail in from_gateway.items():
            assert trail["checkout_ts"] and trail["stays"], person
            zones = [s["zone"] for s in trail["stays"]]
            assert zones[0] in ("entry", "reg") and "check" in zones, (person, zones)
        assert any(t["closed"] for t in from_gateway.values()), {  # why none closed: what broke each loop
            p: ([a["rule"] for a in t.get("alerts", [])], t.get("steps_missing")) for p, t in from_gateway.items()
        }
        items = api.get("/sites/demo-property/items").json()
        assert items and all(re.fullmatch(r"EV-\d{6}", i["item"]) for i in items), items
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            rest, _ = demo.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            rest, _ = demo.communicate()
            raise AssertionError("demo did not stop within 90 s of Ctrl-C:\n" + "".join(out)) from None
        out.append(rest)
    transcript = "".join(out)
    assert demo.returncode == 0, transcript
    leftovers = _session_processes(demo.pid)
    assert leftovers == [], leftovers

    report = json.loads(report_path.read_text())
    for pid in report["processes"].values():
        if pid is not None:
            assert not _pid_alive(pid), (pid, report["processes"])
    assert report["gateways_connected"] == 2
    assert report["subjects_seen"] == len(AREA_SUBJECTS)
    assert report["events_lost"] == 0, report["sites"]
    assert report["events_delivered"] > 10_000
    played = [e for e in report["expected_alerts"] if e["played"]]
    assert played and all(e["seen"] for e in played), [e for e in played if not e["seen"]]
    # a clean day but for the injections: nothing the scenario did not announce
    assert report["unexpected_alerts"] == [], report["unexpected_alerts"]
    for site in DEMO_SITES:
        for rule in site.inject:
            assert report["alerts_by_rule"].get(rule, 0) >= 1, (rule, report["alerts_by_rule"])
    print(
        f"\nreport: alerts {report['alerts_by_rule']}, unexpected {len(report['unexpected_alerts'])}, "
        f"delivered {report['events_delivered']}, lag {[s['play']['max_lag_ms'] for s in report['sites'].values()]} ms"
    )


def test_demo_site_variant_scales_every_threshold(tmp_path):
    """The gateway's site file: same zones and devices, thresholds divided by the speed."""
    from core_ext.site import load_site_model
    from gateway.demo import site as demo_site

    original = REPO / "firmware_configs" / "sites" / "demo-area.yaml"
    data = demo_site.load_yaml(original)
    scaled = demo_site.scale_rules(data, 30)
    devices = demo_site.relocate_devices(scaled, tmp_path / "sim", "mqtt://127.0.0.1:1")
    demo_site.tune_settings(devices, demo_site.parse_entries(devices, str(original)), "demo-area")
    path = tmp_path / "demo-area.yaml"
    demo_site.write_site(scaled, devices, path, 30, original)
    real, fast = load_site_model(original), load_site_model(path)
    assert [z.id for z in fast.config.zones] == [z.id for z in real.config.zones]
    assert fast.lost_after_ms == real.lost_after_ms // 30 and fast.warn_before_ms == real.warn_before_ms // 30
    assert fast.grace_ms == [g // 30 for g in real.grace_ms]
    assert fast.basis_limit_ms == [ms // 30 for ms in real.basis_limit_ms]
    assert fast.basis_tiers_ms == [tuple(ms // 30 for ms in tiers) for tiers in real.basis_tiers_ms]
    # the second layer's hours too (DESIGN §6.2): meals, transfer, intake, vulnerable subjects
    assert real.meal_interval_ms > 0 and fast.meal_interval_ms == real.meal_interval_ms // 30
    assert fast.transfer_limit_ms == real.transfer_limit_ms // 30
    assert fast.intake_within_ms == real.intake_within_ms // 30
    assert fast.vulnerable_limit_ms == real.vulnerable_limit_ms // 30
    assert fast.workorder_requires_approval and fast.timezone == real.timezone
    wiring = {d["id"]: d for d in devices}
    assert wiring["rdr-entry"]["port"] == str(tmp_path / "sim" / "rdr-entry")
    assert wiring["lockboard-belong-1"]["url"] == "tcp://127.0.0.1:0"
    assert wiring["nvr-1"]["broker"] == "mqtt://127.0.0.1:1"
    assert wiring["nvr-1"]["settings"]["topic_prefix"] == "frigate-demo-area"
    assert wiring["rdr-int1"]["settings"]["poll_interval_s"] == demo_site.READER_POLL_INTERVAL_S


def test_demo_offline_summary_catches_every_injection(capsys, monkeypatch):
    from gateway.demo.summary import run_offline

    monkeypatch.setenv("CUSTODY_LOCALE", "en")  # the summary's language (default zh-CN: tests/i18n)
    assert run_offline(subjects=16, seed=3) == 0  # non-zero when an injection was not raised on time
    out = capsys.readouterr().out  # in the CLI's language; site and rule ids stay as they are
    assert "demo-area" in out and "demo-property" in out and "(item_mismatch)" in out


def _wait_for(probe, timeout_s: float, what: str, done=bool):
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s} s (last: {value})")
        time.sleep(1.0)  # the board changes every few hundred ms at this speed; polling once a second is enough
        value = probe()
    return value


def _subjects_on_board(api: httpx.Client, site_id: str) -> list[str]:
    board = api.get(f"/sites/{site_id}/board")
    assert board.status_code == 200, board.text
    return [s["person"] for z in board.json()["zones"] for s in z["subjects"]]


def _missing_rules(api: httpx.Client, wanted: set[tuple[str, str]]) -> set[tuple[str, str]]:
    have = set()
    for site_id in {s for s, _ in wanted}:
        answer = api.get("/alerts", params={"site_id": site_id, "limit": 1000})
        assert answer.status_code == 200, answer.text
        have |= {(site_id, a["rule"]) for a in answer.json()["alerts"]}
    return wanted - have


def _screenshot_board(board_url: str, username: str, path: Path, on_board: list[str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(board_url)
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            subjects = page.locator("li.subject[data-person^='sub-']")
            try:
                expect(page.locator("#live-state.on")).to_be_visible(timeout=15000)
                expect(subjects.first).to_be_visible(timeout=15000)
            except AssertionError as exc:
                failed = path.with_name("board-failed.png")
                page.screenshot(path=str(failed), full_page=True)
                raise AssertionError(f"{exc}\nat {page.url}; page errors {errors}; screenshot {failed}") from exc
            page.screenshot(path=str(path), full_page=True)
            shown = subjects.evaluate_all("els => els.map(e => e.dataset.person)")
            assert shown, "the board shows no subject"
            assert set(shown) <= set(AREA_SUBJECTS), shown
            assert errors == [], errors
        finally:
            browser.close()
    assert path.stat().st_size > 10_000
