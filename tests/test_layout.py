"""Arrows point one way (issue 12 item 3): the edge (gateway/, drivers/, core_ext/) never imports
the server, the engine knows nothing of the gateway or the devices; checked with the project's
own import picture (scripts/import-graph), which names every import at fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "import-graph"


def test_no_import_breaks_the_layering_rules():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_sees_an_edge_module_importing_the_server(tmp_path):
    for name in ("gateway", "server", "core_ext", "drivers", "firmware_configs"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / "server" / "i18n.py").write_text("")
    (tmp_path / "gateway" / "desk.py").write_text("def later():\n    from server.i18n import gettext\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "gateway/desk.py:2: gateway -> server (server.i18n)" in proc.stdout


def test_the_picture_prints_the_rooms():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mermaid"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("flowchart TD")
    assert "gateway_desk -->" in proc.stdout and "gateway_commands -->" in proc.stdout
