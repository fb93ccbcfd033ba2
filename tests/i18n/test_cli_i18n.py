"""Human-readable CLI summaries in Chinese by default, English on request; JSON output untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.demo.summary import run_offline

REPO = Path(__file__).resolve().parents[2]
AREA = REPO / "firmware_configs" / "sites" / "demo-area.yaml"

pytestmark = pytest.mark.timeout(120)


def _scenario(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "CUSTODY_LOCALE")
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.commands.cli",
            "scenario",
            "--site",
            str(AREA),
            "--subjects",
            "4",
            "--hours",
            "4",
            "--start",
            "2026-03-02T08:00:00+08:00",
            "--inject",
            "door_forced",
            "--out",
            str(tmp_path / "day.jsonl"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=100,
        env={**clean, **env},
    )


def test_scenario_summary_chinese_by_default_english_on_request(tmp_path):
    chinese = _scenario(tmp_path, LANG="C.UTF-8")
    assert chinese.returncode == 0, chinese.stderr
    assert "个事件" in chinese.stderr and "场所 demo-area" in chinese.stderr
    assert "2026-03-02 08:00:00" in chinese.stderr  # the site's zone (Asia/Shanghai), not UTC
    assert "预期 door_forced door-main" in chinese.stderr and "门被强行打开" in chinese.stderr
    english = _scenario(tmp_path, LANG="zh_CN.UTF-8", CUSTODY_LOCALE="en")
    assert english.returncode == 0, english.stderr
    assert " events, " in english.stderr and "expect door_forced door-main" in english.stderr
    assert "Door forced" in english.stderr and "门" not in english.stderr
    # The event log itself is data, identical whatever the language.
    assert (tmp_path / "day.jsonl").read_bytes().isascii()


def test_offline_demo_summary_in_both_languages(capsys, monkeypatch):
    monkeypatch.setenv("CUSTODY_LOCALE", "zh-CN")
    assert run_offline(subjects=16, seed=3) == 0
    chinese = capsys.readouterr().out
    assert "注入的违规在预期时刻告警" in chinese and "同案犯同处一室 (co_suspects_together)" in chinese
    monkeypatch.setenv("CUSTODY_LOCALE", "en")
    assert run_offline(subjects=16, seed=3) == 0
    english = capsys.readouterr().out
    assert "injected violations caught at their expected time" in english
    assert "Co-suspects together (co_suspects_together)" in english


def test_live_demo_summary_in_both_languages(capsys, monkeypatch):
    from gateway.demo.report import print_summary

    report = {
        "sites": {"demo-area": {"trails_closed": ["s1"]}},
        "subjects_seen": 3,
        "gateways_connected": 2,
        "events_delivered": 120,
        "events_lost": 0,
        "expected_seen": 1,
        "expected_played": 2,
        "expected_alerts": [
            {
                "site": "demo-area",
                "rule": "tag_lost",
                "subject": "s2",
                "day_time": "10:00:00",
                "played": True,
                "seen": False,
            }
        ],
        "unexpected_alerts": [],
        "alerts_by_rule": {"recording_gap": 4},
    }
    monkeypatch.setenv("CUSTODY_LOCALE", "zh-CN")
    print_summary(report)
    chinese = capsys.readouterr().out
    assert "已闭环：1 人" in chinese and "漏报：demo-area 手环信号丢失（tag_lost）s2" in chinese
    assert "录音录像中断 (recording_gap)  4" in chinese
    monkeypatch.setenv("CUSTODY_LOCALE", "en")
    print_summary(report)
    english = capsys.readouterr().out
    assert "custody loops closed: 1" in english and "missed: demo-area Wristband signal lost (tag_lost) s2" in english
