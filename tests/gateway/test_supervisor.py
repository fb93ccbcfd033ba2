"""The supervisor: a device task that dies of a bug is restarted with backoff and the others
carry on; wiring that points at things the site does not declare is refused with file:line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gw_sites import NO_DEVICES_SITE, write_site

from drivers.base import Driver, SettingsBase, WiringBase
from drivers.config import DeviceSpec
from drivers.registry import DRIVERS
from gateway.settings import GatewaySettings
from gateway.supervisor import DeviceSlot, Gateway, GatewayConfigError

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


class CrashingDoorDriver(Driver):
    """A device whose driver has a bug: its first session dies of an unexpected error."""

    sessions = 0

    async def _connect(self) -> None:
        pass

    async def _session(self) -> None:
        type(self).sessions += 1
        if type(self).sessions == 1:
            raise RuntimeError("driver bug: index out of range")
        self._frame_good()
        self._emit({"type": "door", "door": "door-main", "state": "open"})
        await asyncio.Event().wait()

    async def _disconnect(self) -> None:
        pass


async def test_a_crashed_device_task_is_restarted(tmp_path, monkeypatch):
    monkeypatch.setitem(DRIVERS, "crashing_door", "test_supervisor:CrashingDoorDriver")
    gateway = Gateway(
        GatewaySettings(
            site_path=write_site(tmp_path, NO_DEVICES_SITE),
            data_dir=tmp_path / "data",
            desk_port=None,
            health_interval_s=3600,
        )
    )
    wiring = WiringBase(id="crashy", driver="crashing_door", backoff_initial_s=0.05, backoff_max_s=0.2)
    gateway.devices["crashy"] = DeviceSlot(DeviceSpec("crashing_door", None, wiring, SettingsBase(), "test:1"))
    gateway.open()
    assert gateway.runner is not None
    seen: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def listener(records: list[dict[str, Any]], changed: set[str]) -> None:
        seen.extend(r for r in records if r.get("type") == "door")
        if seen:
            arrived.set()

    gateway.runner.listeners.append(listener)
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(stop))
    try:
        await asyncio.wait_for(arrived.wait(), 10)
        assert seen[0]["door"] == "door-main" and isinstance(seen[0]["ts"], int)
        health = gateway.health()["devices"]["crashy"]
        assert health["task_crashes"] == 1 and health["frames_good"] == 1
    finally:
        stop.set()
        await run


def test_wiring_to_an_undeclared_reader_is_refused(tmp_path):
    site = write_site(
        tmp_path,
        NO_DEVICES_SITE
        + """devices:
  - {{id: rdr-9, profile: rdm6300, port: "{tmp}/rdr-9"}}
""",
    )
    with pytest.raises(GatewayConfigError, match=r"site\.yaml:\d+: device rdr-9: reader 'rdr-9' is not declared"):
        Gateway(GatewaySettings(site_path=site, data_dir=tmp_path / "data"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.commands.cli",
            "gateway",
            "run",
            "--site",
            str(site),
            "--data",
            str(tmp_path / "data"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "reader 'rdr-9' is not declared in the site" in result.stderr


def test_server_without_credential_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTODY_GATEWAY_CREDENTIAL", raising=False)
    site = write_site(tmp_path, NO_DEVICES_SITE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.commands.cli",
            "gateway",
            "run",
            "--site",
            str(site),
            "--data",
            str(tmp_path / "data"),
            "--server",
            "http://127.0.0.1:9",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--server needs the gateway credential" in result.stderr
