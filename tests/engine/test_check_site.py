"""`custody check-site`: a summary for good sites, every fault with file and line for bad ones."""
from __future__ import annotations

import subprocess
import sys


def check(*paths):
    return subprocess.run([sys.executable, "-m", "gateway.cli", "check-site", *paths], capture_output=True, text=True)


def test_demo_sites_pass_with_a_summary():
    proc = check("firmware_configs/sites/demo-area.yaml", "firmware_configs/sites/demo-property.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "site demo-area (handling_area" in proc.stdout and "locker slots: 32 in 2 bank(s)" in proc.stdout


def test_engine_fault_is_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: x}\nzones:\n  - {id: a, type: entry, cameras: [c]}\nreaders:\n  - {id: r, zone: b}\n")
    proc = check(str(bad))
    assert proc.returncode == 1 and "bad.yaml:5: readers[0].zone: reader 'r' points at missing zone 'b'" in proc.stderr


def test_device_pointing_at_an_undeclared_reader(tmp_path):
    bad = tmp_path / "wired.yaml"
    bad.write_text("site: {id: x}\nzones:\n  - {id: a, type: entry, cameras: [c]}\nreaders:\n  - {id: r, zone: a}\n"
                   "devices:\n  - {id: r-ghost, driver: em4100_serial, profile: rdm6300, port: /dev/null}\n")
    proc = check(str(bad))
    assert proc.returncode == 1 and "reader 'r-ghost' is not declared" in proc.stderr, proc.stderr
