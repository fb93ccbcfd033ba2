"""The demo's variant of a site file: the same zones, rules scaled to the playback speed, and
device wiring moved to where this demo's simulators listen.

The live gateway stamps events with its own (wall) clock, while the scenario is played
`speed` times faster than real time. Every threshold is therefore divided by `speed` (grace
30 s at speed 30 becomes 1 s, an 8 h summons limit 16 min), so an alert fires after the same
share of the accelerated day as it would in a real one. The wiring keeps every device, its
profile and its protocol; only places change: ptys under the demo's temporary directory,
Modbus servers on free loopback ports, the NVR on the demo's broker under a per-site Frigate
topic prefix (both demo sites call their NVR `nvr-1`), and polled devices polled faster so a
door open for 3 s of the day (0.1 s at speed 30) is still seen.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from core_ext import vocab
from core_ext.yamlfile import YamlFault, read_yaml
from drivers.config import DeviceSpec, parse_devices

DEMO_POLL_INTERVAL_S = 0.05
# Polled readers (UHF inventory) report a read up to one poll late, while serial readers push
# theirs at once; the player holds a person's read in a new zone long enough after their last
# one elsewhere (gateway.demo.player.ZONE_CHANGE_GUARD_S, 60 ms) that a 20 ms poll cannot reorder them.
POLLED_READER_DRIVERS = frozenset({"chafon_uhf"})
READER_POLL_INTERVAL_S = 0.02
MODBUS_TCP_ANY_PORT = "tcp://127.0.0.1:0"


class DemoSiteError(ValueError):
    pass


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = read_yaml(path).data  # the one loader of site files (duplicate keys refused)
    except YamlFault as exc:
        raise DemoSiteError(str(exc)) from None
    if not isinstance(data, dict) or "site" not in data:
        raise DemoSiteError(f"{path}: not a site config (no top-level `site:`)")
    return data


def scale_rules(data: dict[str, Any], speed: float) -> dict[str, Any]:
    """A copy of the site's `rules:` and `time_limits:` with every duration divided by speed."""
    out = copy.deepcopy(data)
    rules = dict(out.get("rules") or {})
    for key, value in list(rules.items()):
        if key.endswith(("_s", "_min", "_h")):
            rules[key] = value / speed
        elif key == "grace_by_rule":
            rules[key] = {rule: seconds / speed for rule, seconds in value.items()}
    # Defaults the file leaves out are scaled too: a missing key would mean the unscaled default.
    for key, default in (
        ("grace_s", 30),
        ("lost_after_s", 60),
        ("warn_before_min", 60),
        ("slot_open_max_s", 120),
        ("door_open_max_s", 60),
        ("intake_window_s", 300),
        ("workorder_window_s", 3600),
        # second layer (DESIGN §6.2): meal_interval_h stays off (0) unless the file sets it
        ("transfer_limit_h", 24),
        ("intake_within_h", 24),
    ):
        rules.setdefault(key, default / speed)
    out["rules"] = rules
    limits = {}
    for basis, (default_limit, default_tiers) in vocab.DEFAULT_TIME_LIMITS_H.items():
        limit_h, tiers = _time_limit(out.get("time_limits") or {}, basis, default_limit, default_tiers)
        limits[basis] = {
            "limit_h": scale_hours(limit_h, speed),
            "extended_tiers_h": [scale_hours(t, speed) for t in tiers],
        }
        tl = (out.get("time_limits") or {}).get(basis) or {}
        if "stepwise" in tl:
            limits[basis]["stepwise"] = tl["stepwise"]
        if basis == vocab.VULNERABLE_BASIS:
            vulnerable_h = tl.get("vulnerable_limit_h") or vocab.DEFAULT_VULNERABLE_LIMIT_H
            limits[basis]["vulnerable_limit_h"] = scale_hours(vulnerable_h, speed)
    out["time_limits"] = limits
    return out


def scale_hours(hours: float, speed: float) -> float:
    """One function for both the site file and `extend.limit_h`, so a tier matches exactly."""
    return hours / speed


def _time_limit(
    overrides: dict[str, Any], basis: str, default_limit: float, default_tiers: tuple[float, ...]
) -> tuple[float, tuple[float, ...]]:
    """The same reading of `time_limits:` as core_ext.site (DESIGN §6.1), before scaling."""
    tl = overrides.get(basis)
    if tl is None:
        return default_limit, default_tiers
    if tl.get("extended_tiers_h"):
        return tl["limit_h"], tuple(sorted(set(tl["extended_tiers_h"])))
    if tl.get("extended_limit_h") is not None:
        top = tl["extended_limit_h"]
        return tl["limit_h"], tuple(sorted({t for t in default_tiers if t < top} | {top}))
    return tl["limit_h"], default_tiers


def relocate_devices(data: dict[str, Any], sim_dir: Path, broker_url: str) -> list[dict[str, Any]]:
    """The `devices:` entries moved to this demo's places (Modbus TCP on port 0 until the
    simulators have bound theirs)."""
    entries = []
    for raw in data.get("devices") or []:
        entry = copy.deepcopy(raw)
        if "port" in entry:  # serial: a pty link; boards sharing one line keep sharing it
            entry["port"] = str(sim_dir / Path(str(entry["port"])).name)
        if "url" in entry:
            if not str(entry["url"]).startswith("tcp://"):
                raise DemoSiteError(
                    f"device {entry.get('id')}: the demo simulates Modbus TCP lines only, not {entry['url']!r}"
                )
            entry["url"] = MODBUS_TCP_ANY_PORT
        if "broker" in entry:
            entry["broker"] = broker_url
        entries.append(entry)
    return entries


def tune_settings(entries: list[dict[str, Any]], specs: list[DeviceSpec], site_id: str) -> None:
    """Faster polling for polled devices; a per-site Frigate topic prefix on the shared broker."""
    by_id = {spec.id: spec for spec in specs}
    for entry in entries:
        spec = by_id[entry["id"]]
        settings = dict(entry.get("settings") or {})
        if hasattr(spec.settings, "poll_interval_s"):
            target = READER_POLL_INTERVAL_S if spec.driver_name in POLLED_READER_DRIVERS else DEMO_POLL_INTERVAL_S
            settings["poll_interval_s"] = min(target, spec.settings.poll_interval_s)
        if hasattr(spec.settings, "topic_prefix"):
            settings["topic_prefix"] = f"{spec.settings.topic_prefix}-{site_id}"
        if settings:
            entry["settings"] = settings


def parse_entries(entries: list[dict[str, Any]], source: str) -> list[DeviceSpec]:
    return parse_devices({"devices": entries}, None, source)


def write_site(data: dict[str, Any], devices: list[dict[str, Any]], path: Path, speed: float, original: Path) -> None:
    out = dict(data)
    out["devices"] = devices
    layout = out.get("layout")
    if isinstance(layout, dict) and isinstance(layout.get("svg"), str) and not Path(layout["svg"]).is_absolute():
        # The plan is named relative to the packaged site file; the copy lives in the demo's directory.
        out["layout"] = {**layout, "svg": str((Path(original).parent / layout["svg"]).resolve())}
    header = (
        f"# Generated by `custody demo` from {original} for playback at {speed:g}x:\n"
        f"# every rule and time limit divided by {speed:g}, devices moved to this demo's simulators.\n"
    )
    path.write_text(header + yaml.safe_dump(out, sort_keys=False, allow_unicode=True), encoding="utf-8")


def wiring_places(specs: list[DeviceSpec]) -> dict[str, dict[str, Any]]:
    """Where each started simulator really is (Modbus URLs with their bound port)."""
    places: dict[str, dict[str, Any]] = {}
    for spec in specs:
        url = getattr(spec.wiring, "url", None)
        if url is not None:
            places[spec.id] = {"url": url}
    return places
