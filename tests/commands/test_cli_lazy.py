"""`custody` imports only the subcommand it runs (issue 18.6): `custody --help` none,
`custody replay` the engine but never the server, the web stack or the database layer.
(Start-up time itself is measured in bench/cli.py, not asserted here.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gateway.commands.cli import SUBCOMMANDS, build_parser, chosen_subcommand

HEAVY = ("server", "fastapi", "sqlalchemy", "uvicorn", "httpx", "starlette", "gateway.scenario", "gateway.demo")

PROBE = """
import json, sys
from gateway.commands.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
with open(sys.argv[2], "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def loaded(argv: list[str], tmp_path) -> tuple[int, set[str]]:
    report = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), str(report)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(report.read_text())
    return result["code"], set(result["modules"])


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_top_level_help_imports_no_subcommand(tmp_path):
    code, modules = loaded(["--help"], tmp_path)
    assert code == 0
    assert not {m for m in modules if m.startswith("gateway.commands.") and m != "gateway.commands.cli"}
    assert not heavy(modules)
    assert "pydantic" not in modules


def test_replay_help_imports_neither_engine_nor_server(tmp_path):
    code, modules = loaded(["replay", "--help"], tmp_path)
    assert code == 0
    assert "gateway.commands.replay" in modules
    assert not heavy(modules)
    assert "core_ext.api" not in modules and "pydantic" not in modules


def test_a_replay_loads_the_engine_but_not_the_server(tmp_path):
    from core_ext.resources import site_file
    from core_ext.site import load_site
    from gateway.scenario import generate

    events = list(generate(load_site(site_file("demo-area")), subjects=2, seed=1, hours=1).events())[:10]
    log = tmp_path / "ten.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    code, modules = loaded(["replay", "--site", "demo-area", str(log)], tmp_path)
    assert code == 0
    assert "core_ext.api" in modules
    assert not heavy(modules)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["replay", "--site", "x"], "replay"),
        (["--version"], None),
        (["-h", "demo"], "demo"),
        ([], None),
        (["--", "replay"], None),
    ],
)
def test_chosen_subcommand(argv, expected):
    assert chosen_subcommand(argv) == expected


def test_every_subcommand_builds_its_arguments():
    parser = build_parser(load_all=True)
    for name in SUBCOMMANDS:
        if name == "server":
            continue
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0
