"""Site configuration (DESIGN §6.1): YAML → typed pydantic models → the engine's site model.

Every error names the file, the line, the key path and the fault, e.g.
``demo.yaml:14: flow[2][1]: unknown zone 'int9'``. All faults found are reported together.
Keys the engine does not know at the top level (device wiring such as ``devices:``) are kept
untouched in ``SiteConfig.extras`` for the gateway; inside the engine's own sections an unknown
key is a fault, because a misspelt threshold silently falling back to its default is exactly
the kind of mistake that hides a missed alert.
"""
from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core_ext import vocab
from core_ext.layout import LayoutConfig, layout_faults
from core_ext.yamlfile import YamlDocument, YamlFault, parse_yaml, path_str, read_yaml

if TYPE_CHECKING:  # mypy cannot read a Literal built at run time; pydantic can
    ZoneType: TypeAlias = str
    Basis: TypeAlias = str
    SiteKind: TypeAlias = str
else:  # the one vocabulary (core_ext/vocab.py): values appended there are accepted here
    ZoneType = vocab.one_of(vocab.ZONE_TYPES)
    Basis = vocab.one_of(vocab.BASES)
    SiteKind = vocab.one_of(vocab.SITE_KINDS)

Id = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")

# Upper bounds that catch a unit mistake (minutes typed as seconds, ms as s) without
# forbidding any plausible site: a week for any timer, a month for legal limits.
MAX_TIMER_S = 7 * 24 * 3600
MAX_LIMIT_H = 31 * 24


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteInfo(_Strict):
    id: str = Id
    name: str = ""
    kind: SiteKind = "handling_area"
    # IANA zone of the site's local time (vulnerable_night_release judges 21:00-07:00 in it).
    timezone: str = vocab.DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None
        return value


class ZoneConfig(_Strict):
    id: str = Id
    type: ZoneType
    name: str = ""
    cameras: list[str] = []
    requires_recording: bool = True
    min_officers: int | None = Field(default=None, ge=1, le=20)
    separate_co_suspects: bool | None = None

    @property
    def effective_min_officers(self) -> int:
        if self.min_officers is not None:
            return self.min_officers
        return 2 if self.type in vocab.TWO_OFFICER_ZONE_TYPES else 1

    @property
    def effective_separate(self) -> bool:
        if self.separate_co_suspects is not None:
            return self.separate_co_suspects
        return self.type in vocab.SEPARATING_ZONE_TYPES


class ReaderConfig(_Strict):
    id: str = Id
    zone: str
    # The desk's enrolment reader: its reads fill the tag field of the desk console (wristbands,
    # staff badges, guardians' tags). The engine places its reads like any other reader's.
    enrolment: bool = False


class LockerBankConfig(_Strict):
    id: str = Id
    slots: int = Field(ge=1, le=1024)
    zone: str | None = None


class DoorConfig(_Strict):
    id: str = Id
    zone: str | None = None


class RulesConfig(_Strict):
    grace_s: float = Field(default=30, ge=0, le=MAX_TIMER_S)
    lost_after_s: float = Field(default=60, gt=0, le=MAX_TIMER_S)
    warn_before_min: float = Field(default=60, ge=0, le=MAX_LIMIT_H * 60)
    slot_open_max_s: float = Field(default=120, gt=0, le=MAX_TIMER_S)
    door_open_max_s: float = Field(default=60, gt=0, le=MAX_TIMER_S)
    intake_window_s: float = Field(default=300, gt=0, le=MAX_TIMER_S)
    # A work order without valid_until authorises its slot for this long from valid_from.
    workorder_window_s: float = Field(default=3600, gt=0, le=MAX_TIMER_S)
    # Per-rule grace overrides, e.g. {unaccompanied: 15}; the rest use grace_s.
    grace_by_rule: dict[str, float] = {}
    # Second layer (DESIGN §6.2): hours from a detention decision to the transfer deadline
    # (CPL art. 85); meal interval (0 = off); hours from seizure to intake; work orders need an
    # approver other than the requester.
    transfer_limit_h: float = Field(default=24, gt=0, le=MAX_LIMIT_H)
    meal_interval_h: float = Field(default=0, ge=0, le=MAX_LIMIT_H)
    intake_within_h: float = Field(default=24, gt=0, le=MAX_LIMIT_H)
    workorder_requires_approval: bool = False

    @field_validator("grace_by_rule")
    @classmethod
    def _known_condition_rules(cls, value: dict[str, float]) -> dict[str, float]:
        for rule, seconds in value.items():
            if rule not in vocab.PERSON_CONDITIONS:
                raise ValueError(f"grace override for '{rule}', which is not a grace-based condition rule "
                                 f"(one of {', '.join(vocab.PERSON_CONDITIONS)})")
            if not 0 <= seconds <= MAX_TIMER_S:
                raise ValueError(f"grace for '{rule}' must be between 0 and {MAX_TIMER_S} s, got {seconds}")
        return value


class TimeLimitConfig(_Strict):
    # Absent: the basis's default limit (DESIGN §3).
    limit_h: float | None = Field(default=None, gt=0, le=MAX_LIMIT_H)
    extended_limit_h: float | None = Field(default=None, gt=0, le=MAX_LIMIT_H)
    # For bases with more than one extension tier (admin_summons: 12 h and 24 h).
    extended_tiers_h: list[float] | None = None
    # Climb the extended tiers one at a time (default: continued_questioning only).
    stepwise: bool | None = None
    # continued_questioning only: the limit of a vulnerable subject (default 4 h, no extension).
    vulnerable_limit_h: float | None = Field(default=None, gt=0, le=MAX_LIMIT_H)

    @field_validator("extended_tiers_h")
    @classmethod
    def _positive_tiers(cls, value: list[float] | None) -> list[float] | None:
        for t in value or []:
            if not 0 < t <= MAX_LIMIT_H:
                raise ValueError(f"every tier must be between 0 and {MAX_LIMIT_H} h, got {t}")
        return value


class SiteConfig(_Strict):
    site: SiteInfo
    zones: list[ZoneConfig] = Field(min_length=1)
    flow: list[tuple[str, str]] | None = None
    required_steps: list[ZoneType] = []
    readers: list[ReaderConfig] = []
    lockers: list[LockerBankConfig] = []
    doors: list[DoorConfig] = []
    rules: RulesConfig = RulesConfig()
    time_limits: dict[Basis, TimeLimitConfig] = {}
    # Floor plan (core_ext/layout.py); the engine ignores it.
    layout: LayoutConfig | None = None
    # Top-level keys the engine does not interpret (device wiring, uplink, ...).
    extras: dict[str, Any] = {}
    source: str = "<memory>"


class SiteConfigError(ValueError):
    """One or more faults in a site config; `faults` lists (line, key path, message)."""

    def __init__(self, source: str, faults: list[tuple[int | None, str, str]]):
        self.source = source
        self.faults = faults
        lines = [f"{source}:{line if line is not None else '?'}: {path}: {msg}" for line, path, msg in faults]
        super().__init__("invalid site config\n  " + "\n  ".join(lines))


ENGINE_KEYS = frozenset(SiteConfig.model_fields) - {"extras", "source"}


# --------------------------------------------------------------------------- YAML with lines


def _document(read: Callable[[], YamlDocument], source: str) -> YamlDocument:
    try:
        return read()
    except YamlFault as exc:
        raise SiteConfigError(source, [(exc.line, exc.path, exc.message)]) from None


# --------------------------------------------------------------------------- loading


def load_site(path: str | os.PathLike) -> SiteConfig:
    source = os.fspath(path)
    return site_from_document(_document(lambda: read_yaml(source), source))


def parse_site(text: str, source: str = "<memory>") -> SiteConfig:
    return site_from_document(_document(lambda: parse_yaml(text, source), source))


def site_from_document(doc: YamlDocument) -> SiteConfig:
    """The site config of a YAML document read with core_ext.yamlfile (faults name its lines)."""
    data, source = doc.data, doc.source
    if not isinstance(data, dict):
        raise SiteConfigError(source, [(1, "<root>", "a site config is a mapping with site, zones, ...")])
    engine_part = {k: v for k, v in data.items() if k in ENGINE_KEYS}
    extras = {k: v for k, v in data.items() if k not in ENGINE_KEYS}
    faults: list[tuple[int | None, str, str]] = []
    try:
        cfg = SiteConfig.model_validate({**engine_part, "extras": extras, "source": source})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            # pydantic appends the Literal/union branch name; drop non-key parts for the path
            loc = tuple(p for p in loc if not (isinstance(p, str) and (p == "[key]" or p.startswith(("function-", "literal[")))))
            msg = err["msg"]
            if err["type"] == "literal_error":
                msg = f"unknown value {err['input']!r}: {msg.removeprefix('Input should be ')}"
                msg = msg.replace("unknown value", "unknown " + _literal_kind(loc), 1)
            elif err["type"] == "extra_forbidden":
                msg = "unknown key"
            faults.append((doc.line_of(loc), path_str(loc), msg))
        raise SiteConfigError(source, faults) from None
    semantic = _semantic_faults(cfg)
    if semantic:
        raise SiteConfigError(source, [(doc.line_of(p), path_str(p), m) for p, m in semantic])
    return cfg


def _literal_kind(loc: tuple) -> str:
    if "time_limits" in loc:
        return "legal basis"
    if "type" in loc or "required_steps" in loc:
        return "zone type"
    return "value"


def _semantic_faults(cfg: SiteConfig) -> list[tuple[tuple, str]]:
    faults: list[tuple[tuple, str]] = []

    def unique(items: list, section: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.id in seen:
                faults.append(((section, i, "id"), f"duplicate id '{item.id}' (first at {section}[{seen[item.id]}])"))
            else:
                seen[item.id] = i

    unique(cfg.zones, "zones")
    unique(cfg.readers, "readers")
    unique(cfg.lockers, "lockers")
    unique(cfg.doors, "doors")
    zone_ids = {z.id for z in cfg.zones}
    for i, zone in enumerate(cfg.zones):
        if zone.requires_recording and not zone.cameras:
            faults.append((("zones", i, "cameras"),
                           f"zone '{zone.id}' requires recording but lists no camera "
                           "(add cameras or set requires_recording: false)"))
        if len(set(zone.cameras)) != len(zone.cameras):
            faults.append((("zones", i, "cameras"), f"zone '{zone.id}' lists a camera twice"))
    for i, pair in enumerate(cfg.flow or []):
        for j, zid in enumerate(pair):
            if zid not in zone_ids:
                faults.append((("flow", i, j), f"unknown zone '{zid}'"))
    for i, reader in enumerate(cfg.readers):
        if reader.zone not in zone_ids:
            faults.append((("readers", i, "zone"), f"reader '{reader.id}' points at missing zone '{reader.zone}'"))
    placed: list[tuple[str, list[Any]]] = [("lockers", cfg.lockers), ("doors", cfg.doors)]
    for section, items in placed:
        for i, item in enumerate(items):
            if item.zone is not None and item.zone not in zone_ids:
                faults.append(((section, i, "zone"), f"unknown zone '{item.zone}'"))
    present_types = {z.type for z in cfg.zones}
    for i, step in enumerate(cfg.required_steps):
        if step not in present_types:
            faults.append((("required_steps", i), f"required step '{step}' has no zone of that type in this site"))
    faults.extend(layout_faults(cfg))
    rules = cfg.rules
    if cfg.site.kind == "handling_area":
        for basis in vocab.BASES:
            limit_h, tiers = _time_limit(cfg, basis)
            if rules.warn_before_min / 60 >= limit_h:
                faults.append((("rules", "warn_before_min"),
                               f"warning {rules.warn_before_min} min before the limit is not inside the "
                               f"{limit_h} h limit of {basis}"))
    for basis, tl in cfg.time_limits.items():
        limit_h, tiers = _time_limit(cfg, basis)
        if any(t <= limit_h for t in tiers):
            faults.append((("time_limits", basis), f"extended limit must exceed the limit of {limit_h} h"))
        if tl.extended_tiers_h is not None and not tl.extended_tiers_h:
            faults.append((("time_limits", basis, "extended_tiers_h"), "must list at least one tier"))
        if tl.extended_tiers_h and tl.extended_limit_h is not None:
            faults.append((("time_limits", basis, "extended_limit_h"),
                           "give either extended_tiers_h (every tier) or extended_limit_h (the top tier), not both"))
        if tl.vulnerable_limit_h is not None:
            if basis != vocab.VULNERABLE_BASIS:
                faults.append((("time_limits", basis, "vulnerable_limit_h"),
                               f"only {vocab.VULNERABLE_BASIS} has a limit for vulnerable subjects (继续盘问规定 art. 10)"))
            elif tl.vulnerable_limit_h > limit_h:
                faults.append((("time_limits", basis, "vulnerable_limit_h"),
                               f"{tl.vulnerable_limit_h} h is longer than the {limit_h} h limit of {basis}"))
    if cfg.site.kind == "handling_area":
        vulnerable_h = _vulnerable_limit_h(cfg)
        if rules.warn_before_min / 60 >= vulnerable_h:
            faults.append((("rules", "warn_before_min"),
                           (f"warning {rules.warn_before_min} min before the limit is not inside the "
                            f"{vulnerable_h} h limit of vulnerable subjects")))
    return faults


def _time_limits(cfg: SiteConfig) -> dict[str, TimeLimitConfig]:
    return cast(dict[str, TimeLimitConfig], cfg.time_limits)


def _vulnerable_limit_h(cfg: SiteConfig) -> float:
    tl = _time_limits(cfg).get(vocab.VULNERABLE_BASIS)
    if tl is not None and tl.vulnerable_limit_h is not None:
        return tl.vulnerable_limit_h
    return vocab.DEFAULT_VULNERABLE_LIMIT_H


def _stepwise(cfg: SiteConfig, basis: str) -> bool:
    tl = _time_limits(cfg).get(basis)
    if tl is not None and tl.stepwise is not None:
        return tl.stepwise
    return basis in vocab.STEPWISE_BASES


def _time_limit(cfg: SiteConfig, basis: str) -> tuple[float, tuple[float, ...]]:
    """The limit and the ascending extended tiers of a basis, in hours, after overrides."""
    default_limit, default_tiers = vocab.DEFAULT_TIME_LIMITS_H[basis]
    tl = _time_limits(cfg).get(basis)
    if tl is None:
        return default_limit, default_tiers
    limit_h = default_limit if tl.limit_h is None else tl.limit_h
    if tl.extended_tiers_h:
        tiers = tuple(sorted(set(tl.extended_tiers_h)))
    elif tl.extended_limit_h is not None:
        # Keep the lower default tiers that still sit below the new top (admin_summons 12 h,
        # continued_questioning 24 h).
        tiers = tuple(sorted({t for t in default_tiers if limit_h < t < tl.extended_limit_h}
                             | {tl.extended_limit_h}))
    else:
        tiers = default_tiers
    return limit_h, tiers


# --------------------------------------------------------------------------- compiled model


@dataclass
class SiteModel:
    """The site interned to integers, as both engines consume it.

    Zones, readers, cameras, doors and slots are numbered in config order; slots are numbered
    across banks (bank b's slot s is ``slot_base[b] + s - 1``).
    """

    config: SiteConfig
    zone_ids: list[str]
    zone_type: list[int]
    zone_requires_recording: list[bool]
    zone_min_officers: list[int]
    zone_separate: list[bool]
    zone_cameras: list[list[int]]
    camera_ids: list[str]
    camera_zones: list[list[int]]
    reader_ids: list[str]
    reader_zone: list[int]
    door_ids: list[str]
    bank_ids: list[str]
    bank_slots: list[int]
    slot_base: list[int]
    slot_count: int
    slot_bank: list[int]
    slot_number: list[int]
    flow_allowed: set[tuple[int, int]] | None
    required_mask: int
    grace_ms: list[int]  # per rule code (only person conditions use it)
    lost_after_ms: int
    warn_before_ms: int
    slot_open_max_ms: int
    door_open_max_ms: int
    intake_window_ms: int
    workorder_window_ms: int
    basis_limit_ms: list[int]
    basis_tiers_ms: list[tuple[int, ...]]
    basis_stepwise: list[bool] = field(default_factory=list)
    vulnerable_limit_ms: int = vocab.DEFAULT_VULNERABLE_LIMIT_H * 3_600_000
    transfer_limit_ms: int = 24 * 3_600_000
    meal_interval_ms: int = 0
    intake_within_ms: int = 24 * 3_600_000
    workorder_requires_approval: bool = False
    timezone: str = vocab.DEFAULT_TIMEZONE
    zone_index: dict[str, int] = field(default_factory=dict)
    reader_index: dict[str, int] = field(default_factory=dict)
    camera_index: dict[str, int] = field(default_factory=dict)
    door_index: dict[str, int] = field(default_factory=dict)
    bank_index: dict[str, int] = field(default_factory=dict)

    def slot_name(self, slot: int) -> str:
        return f"{self.bank_ids[self.slot_bank[slot]]}/{self.slot_number[slot]}"


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def compile_site(cfg: SiteConfig) -> SiteModel:
    zone_index = {z.id: i for i, z in enumerate(cfg.zones)}
    camera_ids: list[str] = []
    camera_index: dict[str, int] = {}
    zone_cameras: list[list[int]] = []
    for zone in cfg.zones:
        cams = []
        for cam in zone.cameras:
            if cam not in camera_index:
                camera_index[cam] = len(camera_ids)
                camera_ids.append(cam)
            cams.append(camera_index[cam])
        zone_cameras.append(cams)
    camera_zones: list[list[int]] = [[] for _ in camera_ids]
    for zi, cams in enumerate(zone_cameras):
        for c in cams:
            camera_zones[c].append(zi)
    bank_slots = [b.slots for b in cfg.lockers]
    slot_base: list[int] = []
    slot_bank: list[int] = []
    slot_number: list[int] = []
    total = 0
    for bi, n in enumerate(bank_slots):
        slot_base.append(total)
        slot_bank.extend([bi] * n)
        slot_number.extend(range(1, n + 1))
        total += n
    required_mask = 0
    for step in cfg.required_steps:
        required_mask |= 1 << vocab.ZONE_TYPE_CODE[step]
    rules = cfg.rules
    grace_ms = [_ms(rules.grace_s)] * len(vocab.RULES)
    for rule, seconds in rules.grace_by_rule.items():
        grace_ms[vocab.RULE_CODE[rule]] = _ms(seconds)
    limits, tiers = [], []
    for basis in vocab.BASES:
        limit_h, tier_h = _time_limit(cfg, basis)
        limits.append(_ms(limit_h * 3600))
        tiers.append(tuple(_ms(t * 3600) for t in tier_h))
    return SiteModel(
        config=cfg,
        zone_ids=[z.id for z in cfg.zones],
        zone_type=[vocab.ZONE_TYPE_CODE[z.type] for z in cfg.zones],
        zone_requires_recording=[z.requires_recording for z in cfg.zones],
        zone_min_officers=[z.effective_min_officers for z in cfg.zones],
        zone_separate=[z.effective_separate for z in cfg.zones],
        zone_cameras=zone_cameras,
        camera_ids=camera_ids,
        camera_zones=camera_zones,
        reader_ids=[r.id for r in cfg.readers],
        reader_zone=[zone_index[r.zone] for r in cfg.readers],
        door_ids=[d.id for d in cfg.doors],
        bank_ids=[b.id for b in cfg.lockers],
        bank_slots=bank_slots,
        slot_base=slot_base,
        slot_count=total,
        slot_bank=slot_bank,
        slot_number=slot_number,
        flow_allowed=None if cfg.flow is None else {(zone_index[a], zone_index[b]) for a, b in cfg.flow},
        required_mask=required_mask,
        grace_ms=grace_ms,
        lost_after_ms=_ms(rules.lost_after_s),
        warn_before_ms=_ms(rules.warn_before_min * 60),
        slot_open_max_ms=_ms(rules.slot_open_max_s),
        door_open_max_ms=_ms(rules.door_open_max_s),
        intake_window_ms=_ms(rules.intake_window_s),
        workorder_window_ms=_ms(rules.workorder_window_s),
        basis_limit_ms=limits,
        basis_tiers_ms=tiers,
        basis_stepwise=[_stepwise(cfg, b) for b in vocab.BASES],
        vulnerable_limit_ms=_ms(_vulnerable_limit_h(cfg) * 3600),
        transfer_limit_ms=_ms(rules.transfer_limit_h * 3600),
        meal_interval_ms=_ms(rules.meal_interval_h * 3600),
        intake_within_ms=_ms(rules.intake_within_h * 3600),
        workorder_requires_approval=rules.workorder_requires_approval,
        timezone=cfg.site.timezone,
        zone_index=zone_index,
        reader_index={r.id: i for i, r in enumerate(cfg.readers)},
        camera_index=camera_index,
        door_index={d.id: i for i, d in enumerate(cfg.doors)},
        bank_index={b.id: i for i, b in enumerate(cfg.lockers)},
    )


def load_site_model(path: str | os.PathLike) -> SiteModel:
    return compile_site(load_site(path))
