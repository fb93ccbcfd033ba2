"""`custody check-site`: a summary for good sites, every fault with file and line for bad ones."""

from __future__ import annotations

import os
import subprocess
import sys


def check(*paths, locale="en"):
    # The summary is for people: in $CUSTODY_LOCALE (default zh-CN); fault messages are not translated.
    return subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "check-site", *paths],
        capture_output=True,
        text=True,
        env={**os.environ, "CUSTODY_LOCALE": locale},
    )


def test_demo_sites_pass_with_a_summary():
    proc = check("firmware_configs/sites/demo-area.yaml", "firmware_configs/sites/demo-property.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "site demo-area (Case-handling area" in proc.stdout and "locker slots: 32 in 2 bank(s)" in proc.stdout
    chinese = check("firmware_configs/sites/demo-area.yaml", locale="zh-CN")
    assert chinese.returncode == 0, chinese.stderr
    assert (
        "场所 demo-area（执法办案区" in chinese.stdout
        and "储物柜：1 组共 24 格" in chinese.stdout
        and "必经环节：安全检查区、信息采集区" in chinese.stdout
    )


def test_engine_fault_is_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: x}\nzones:\n  - {id: a, type: entry, cameras: [c]}\nreaders:\n  - {id: r, zone: b}\n")
    proc = check(str(bad))
    assert proc.returncode == 1 and "bad.yaml:5: readers[0].zone: reader 'r' points at missing zone 'b'" in proc.stderr


def test_device_pointing_at_an_undeclared_reader(tmp_path):
    bad = tmp_path / "wired.yaml"
    bad.write_text(
        "site: {id: x}\nzones:\n  - {id: a, type: entry, cameras: [c]}\nreaders:\n  - {id: r, zone: a}\n"
        "devices:\n  - {id: r-ghost, driver: em4100_serial, profile: rdm6300, port: /dev/null}\n"
    )
    proc = check(str(bad))
    assert proc.returncode == 1 and "reader 'r-ghost' is not declared" in proc.stderr, proc.stderr
