"""Device wiring from a site YAML's top-level `devices:` list, and device profiles.

    devices:
      - {id: rdr-entry, driver: em4100_serial, profile: rdm6300, port: /dev/ttyUSB0}
      - {id: lockboard-a, profile: generic-lockboard-16, url: "tcp://127.0.0.1:5020", unit: 1, bank: bank-a}
      - {id: nvr-1, driver: frigate_mqtt, broker: "mqtt://127.0.0.1:1883", cameras: {front: cam-int1a}}

A device names a `profile` (firmware_configs/profiles/<name>.yaml: `driver`, `description`,
`settings`), a `driver`, or both (then they must agree). Its other keys are the driver's
wiring; an optional `settings:` mapping overrides single keys of the profile's settings.
Every error names the file, the line, the key path and the fault.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core_ext.resources import profiles_dir
from core_ext.yamlfile import YamlDocument, YamlFault, read_yaml
from drivers.base import Driver, Emit, SettingsBase, WiringBase
from drivers.registry import UnknownDriver, driver_class

PROFILES_DIR = profiles_dir()  # firmware_configs/profiles, found with importlib.resources


class DeviceConfigError(ValueError):
    """A wiring or profile fault, already formatted as `file:line: key.path: what`."""


@dataclass(frozen=True)
class DeviceSpec:
    driver_name: str
    profile: str | None
    wiring: WiringBase
    settings: SettingsBase
    source: str  # file:line of the entry

    @property
    def id(self) -> str:
        return self.wiring.id

    def create(self, emit: Emit, item_tags: Any = None) -> Driver:
        """The driver; lock boards with in-slot RFID share `item_tags` (drivers.item_tags.ItemTags)."""
        cls = driver_class(self.driver_name)
        if item_tags is not None and getattr(cls, "uses_item_tags", False):
            return cls(self.wiring, self.settings, emit, item_tags=item_tags)  # type: ignore[call-arg]
        return cls(self.wiring, self.settings, emit)


def _read(path: str | Path) -> YamlDocument:
    """The one YAML loader (core_ext.yamlfile): line numbers, duplicate keys refused."""
    try:
        return read_yaml(path)
    except YamlFault as exc:
        raise DeviceConfigError(str(exc)) from None


def _key_path(keys: tuple[Any, ...]) -> str:
    out = ""
    for key in keys:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


class _Source:
    def __init__(self, path: str, doc: YamlDocument | None) -> None:
        self.path, self.doc = path, doc

    def line_of(self, keys: tuple[Any, ...]) -> int | None:
        return self.doc.line_of(keys) if self.doc is not None else None

    def error(self, keys: tuple[Any, ...], fault: str) -> DeviceConfigError:
        line = self.line_of(keys)
        where = f"{self.path}:{line}" if line else self.path
        return DeviceConfigError(f"{where}: {_key_path(keys) or '(top)'}: {fault}")

    def validation_errors(self, prefix: tuple[Any, ...], exc: ValidationError,
                          remap: Callable[[tuple[Any, ...]], tuple[Any, ...]] = lambda loc: loc) -> DeviceConfigError:
        lines = []
        for err in exc.errors():
            loc = tuple(k for k in err["loc"] if not (isinstance(k, str) and k.startswith("function-")))
            keys = prefix + remap(loc)
            lines.append(str(self.error(keys, err["msg"])))
        return DeviceConfigError("\n".join(lines))


@dataclass(frozen=True)
class Profile:
    name: str
    driver: str
    description: str
    settings: dict[str, Any]
    source: _Source


def load_profile(name: str, profiles_dir: Path = PROFILES_DIR) -> Profile:
    path = profiles_dir / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in profiles_dir.glob("*.yaml")))
        raise DeviceConfigError(f"{path}: profile {name!r} not found (known: {known})")
    doc = _read(path)
    data, source = doc.data, _Source(str(path), doc)
    if not isinstance(data, dict):
        raise source.error((), "a profile is a mapping with driver, description, settings")
    unknown = set(data) - {"driver", "description", "settings"}
    if unknown:
        raise source.error((sorted(unknown)[0],), "unknown key (allowed: driver, description, settings)")
    if not isinstance(data.get("driver"), str):
        raise source.error(("driver",), "required: the driver this profile is for")
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise source.error(("settings",), "must be a mapping")
    return Profile(name, data["driver"], str(data.get("description", "")), settings, source)


def load_devices(site_path: str | Path, profiles_dir: Path = PROFILES_DIR,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[DeviceSpec]:
    """The devices of a site file; `overrides` (device id -> keys) replace wiring keys, e.g. ports."""
    doc = _read(site_path)
    return parse_devices(doc.data, doc, doc.source, profiles_dir, overrides)


def parse_devices(data: Any, doc: YamlDocument | None, path: str, profiles_dir: Path = PROFILES_DIR,
                  overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[DeviceSpec]:
    """The devices of a site's data; `doc` (the YAML document it came from) gives the lines."""
    source = _Source(path, doc)
    if not isinstance(data, dict):
        raise source.error((), "a site file is a mapping")
    entries = data.get("devices")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise source.error(("devices",), "must be a list of device entries")
    specs: list[DeviceSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        keys = ("devices", index)
        if not isinstance(entry, dict):
            raise source.error(keys, "a device entry is a mapping")
        device_id = entry.get("id")
        if not isinstance(device_id, str) or not device_id:
            raise source.error(keys + ("id",), "required: a non-empty string")
        if device_id in seen:
            raise source.error(keys + ("id",), f"duplicate device id {device_id!r} (first at devices[{seen[device_id]}])")
        seen[device_id] = index
        entry = dict(entry)
        if overrides and device_id in overrides:
            entry.update(overrides[device_id])
        specs.append(_parse_entry(entry, keys, source, profiles_dir))
    return specs


def _parse_entry(entry: dict[str, Any], keys: tuple[Any, ...], source: _Source, profiles_dir: Path) -> DeviceSpec:
    profile_name = entry.get("profile")
    driver_name = entry.get("driver")
    profile: Profile | None = None
    if profile_name is not None:
        if not isinstance(profile_name, str):
            raise source.error(keys + ("profile",), "must be a profile name")
        try:
            profile = load_profile(profile_name, profiles_dir)
        except DeviceConfigError as exc:
            raise source.error(keys + ("profile",), str(exc)) from exc
        if driver_name is not None and driver_name != profile.driver:
            raise source.error(keys + ("driver",), f"{driver_name!r} but profile {profile_name!r} is for {profile.driver!r}")
        driver_name = profile.driver
    if not isinstance(driver_name, str):
        raise source.error(keys, "needs a `profile` or a `driver`")
    try:
        cls = driver_class(driver_name)
    except UnknownDriver as exc:
        raise source.error(keys + ("driver" if "driver" in entry else "profile",), str(exc)) from exc

    overrides = entry.pop("settings", None) or {}
    if not isinstance(overrides, dict):
        raise source.error(keys + ("settings",), "must be a mapping of profile settings to override")
    merged = {**(profile.settings if profile else {}), **overrides}
    try:
        settings = cls.Settings.model_validate(merged)
    except ValidationError as exc:
        if profile is not None and not overrides:
            raise profile.source.validation_errors(("settings",), exc) from exc
        raise source.validation_errors(keys + ("settings",), exc) from exc
    entry["driver"] = driver_name
    try:
        wiring = cls.Wiring.model_validate(entry)
    except ValidationError as exc:
        raise source.validation_errors(keys, exc) from exc
    try:
        # Constructing checks wiring against settings (e.g. more doors than the controller has)
        # without opening anything.
        cls(wiring, settings, lambda event: None)
    except ValueError as exc:
        raise source.error(keys, str(exc)) from exc
    line = source.line_of(keys)
    return DeviceSpec(driver_name, profile.name if profile else None, wiring, settings, f"{source.path}:{line}")


def site_references(data: Mapping[str, Any]) -> dict[str, set[str]]:
    """Ids the site's engine part declares, for checking that wiring points at real things."""
    cameras: set[str] = set()
    for zone in data.get("zones") or []:
        if isinstance(zone, dict):
            cameras.update(str(c) for c in zone.get("cameras") or [])
    def ids(key: str) -> set[str]:
        return {str(x["id"]) for x in data.get(key) or [] if isinstance(x, dict) and "id" in x}
    return {"reader": ids("readers"), "bank": ids("lockers"), "door": ids("doors"), "camera": cameras}


def check_wiring_against_site(site: str | Path | Mapping[str, Any], specs: list[DeviceSpec]) -> list[str]:
    """Faults where a device reports ids the site does not declare (empty list = consistent);
    `site` is the site's data as read (gateway.site_bundle), or its file."""
    data = site if isinstance(site, Mapping) else _read(site).data
    known = site_references(data)
    faults = []
    for spec in specs:
        for kind, ref in spec.wiring.site_references(known):
            if ref not in known[kind]:
                faults.append(f"{spec.source}: device {spec.wiring.id}: {kind} {ref!r} is not declared in the site")
    return faults
