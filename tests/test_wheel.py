"""The product installed as an operator installs it (issue 12 item 1): a wheel built from this
tree, installed (not editable) into a fresh virtual environment, then run from an empty
directory with no PYTHONPATH: the compiled core loads, `custody check-site`, `custody scenario`
and `custody replay` work on the packaged demo sites, and `custody demo --offline` runs.

The wheel is built from a copy of the tree (so no build/ of the checkout leaks into it) with the
build tools of the running environment (no build isolation: no download for the build); pip
installs the wheel's dependencies into the new environment from its usual index and cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "tests",
    "*.so",
    "data",
    "*.db",
    "*.sqlite",
)


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CUSTODY_ENGINE")}
    src = base / "src"
    shutil.copytree(REPO, src, ignore=SKIP)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(base / "dist"),
            str(src),
        ],
        base,
        env,
    )
    wheels = list((base / "dist").glob("custody_gateway-*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder(with_pip=True, clear=True).create(base / "venv")
    bin_dir = base / "venv" / "bin"
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])], base, env, timeout=600)
    workdir = base / "elsewhere"
    workdir.mkdir()
    return bin_dir, workdir, env


def test_the_installed_product_is_the_wheel_not_this_tree(installed):
    bin_dir, workdir, env = installed
    out = run(
        [
            str(bin_dir / "python"),
            "-c",
            "import gateway, core_ext, firmware_configs; "
            "print(gateway.__file__); print(core_ext.__file__); print(firmware_configs.__file__)",
        ],
        workdir,
        env,
    )
    for line in out.stdout.splitlines():
        assert line.startswith(str(bin_dir.parent)) and "site-packages" in line, line


def test_the_compiled_core_loads(installed):
    bin_dir, workdir, env = installed
    out = run([str(bin_dir / "custody"), "--version"], workdir, env)
    assert "(engine: compiled (Cython); scanner: compiled (Cython))" in out.stdout, out.stdout


def test_check_site_on_the_packaged_demo_sites(installed):
    bin_dir, workdir, env = installed
    out = run([str(bin_dir / "custody"), "check-site", "demo-area", "demo-property"], workdir, env)
    assert "site-packages/firmware_configs/sites/demo-area.yaml" in out.stdout
    assert "site-packages/firmware_configs/sites/demo-property.yaml" in out.stdout


def test_scenario_and_replay_on_a_packaged_site(installed):
    bin_dir, workdir, env = installed
    log = workdir / "day.jsonl"
    run(
        [
            str(bin_dir / "custody"),
            "scenario",
            "--site",
            "demo-area",
            "--subjects",
            "3",
            "--hours",
            "2",
            "--inject",
            "tag_lost",
            "--out",
            str(log),
        ],
        workdir,
        env,
    )
    out = run([str(bin_dir / "custody"), "replay", "--site", "demo-area", str(log)], workdir, env)
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"alert", "trail"} <= {r["kind"] for r in records}
    assert any(r["kind"] == "alert" and r["rule"] == "tag_lost" for r in records)


def test_offline_demo_runs_on_packaged_sites_and_profiles(installed):
    bin_dir, workdir, env = installed
    out = run([str(bin_dir / "custody"), "demo", "--offline"], workdir, env)
    assert "demo-area" in out.stdout and "demo-property" in out.stdout
