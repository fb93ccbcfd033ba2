"""Sites, zones, gateways and the descriptor a gateway PUTs for its site."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from core_ext import vocab

if TYPE_CHECKING:
    ZoneType: TypeAlias = str
    SiteKind: TypeAlias = str
else:  # the one vocabulary (core_ext/vocab.py): values appended there are accepted here
    ZoneType = vocab.one_of(vocab.ZONE_TYPES)
    SiteKind = vocab.one_of(vocab.SITE_KINDS)
IdStr = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


def _known_timezone(name: str) -> str:
    """An IANA time zone this machine knows (zoneinfo), e.g. Asia/Shanghai."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai") from exc
    return name


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_timezone)]


class ZoneDescriptor(BaseModel):
    id: str = Field(min_length=1, max_length=64)  # the site config's own ids, any script
    type: ZoneType
    name: str | None = Field(None, max_length=200)
    cameras: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default_factory=list, max_length=64)
    requires_recording: bool = True


Coord = Annotated[float, Field(ge=-100_000, le=100_000, description="metres")]
XY = Annotated[list[Coord], Field(min_length=2, max_length=2)]


class PlanZone(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    type: str | None = Field(default=None, max_length=32)
    points: list[XY] = Field(min_length=3, max_length=500, description="outline corners in metres")
    label: XY | None = Field(default=None, description="where the zone's label sits")


class PlanMark(BaseModel):
    id: str = Field(min_length=1, max_length=128)
    zone: str | None = Field(default=None, max_length=64)
    at: XY


class SitePlan(BaseModel):
    """A site's floor plan, normalised by the gateway (core_ext/layout.py): x right, y down, metres."""

    version: int = Field(1, ge=1)
    source: Literal["config", "svg", "generated"] = "generated"
    bounds: list[Coord] = Field(min_length=4, max_length=4, description="x0, y0, x1, y1")
    zones: list[PlanZone] = Field(max_length=500)
    doors: list[PlanMark] = Field(default_factory=list, max_length=500)
    lockers: list[PlanMark] = Field(default_factory=list, max_length=500)
    flow: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(default_factory=list, max_length=5000)


class SiteRules(BaseModel):
    """The site's rule settings the board's countdowns need (the site file's `rules`, DESIGN §6.2);
    absent ones are the engine's defaults."""

    transfer_limit_h: float | None = Field(None, gt=0, le=10_000, description="decision to transfer (default 24)")
    meal_interval_h: float | None = Field(None, ge=0, le=10_000, description="0: meals not timed (the default)")
    intake_within_h: float | None = Field(None, gt=0, le=10_000, description="seizure to intake (default 24)")
    workorder_requires_approval: bool | None = None


class SiteDescriptor(BaseModel):
    """What a gateway tells the server about its site, so the board knows zones before events."""

    id: str = IdStr
    name: str = Field(min_length=1, max_length=200)
    kind: SiteKind = "handling_area"
    timezone: TimeZone = "Asia/Shanghai"
    zones: list[ZoneDescriptor] = Field(default_factory=list, max_length=1000)
    lockers: list[dict[str, Any]] = Field(default_factory=list, max_length=1000, description="e.g. {id: bank-a, slots: 16}")
    doors: list[dict[str, Any]] = Field(default_factory=list, max_length=1000, description="e.g. {id: door-main}")
    plan: SitePlan | None = Field(default=None, description="the floor plan; without it the center draws a grid")
    rules: SiteRules | None = Field(default=None, description="rule settings behind the board's countdowns")


class SiteCreate(BaseModel):
    id: str = IdStr
    name: str = Field(min_length=1, max_length=200)
    kind: SiteKind = "handling_area"
    timezone: TimeZone = "Asia/Shanghai"


class ZonePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    zone_id: str
    type: str
    name: str | None
    cameras: list[str]
    requires_recording: bool


class SitePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str
    timezone: str
    lockers: list[Any]
    doors: list[Any]
    descriptor_ts: int | None


class SiteDetail(SitePublic):
    zones: list[ZonePublic]


_PEM_DESCRIPTION = "Ed25519 public key, PEM SubjectPublicKeyInfo"


class GatewayCreate(BaseModel):
    id: str = IdStr
    name: str = Field("", max_length=200)
    public_key_pem: str | None = Field(None, min_length=1, max_length=4000, description=_PEM_DESCRIPTION)


class ChainConflictMark(BaseModel):
    seq: int = Field(description="the first seq at fault")
    ts: int
    detail: str


class GatewayPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    site_id: str
    name: str
    last_seq: int
    last_seen_ts: int | None
    health: dict[str, Any] | None
    health_ts: int | None
    active: bool
    chain_conflict: ChainConflictMark | None = Field(
        None, description="set when a batch contradicted the chain or a signature, until an admin clears it")
    key_id: str | None = Field(None, description="the registered signing key (docs/uplink.md); null: none")
    signatures_verified: int = 0
    signatures_unverified: int = Field(0, description="signed chain heads stored while no key was registered")
    last_signed_seq: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _conflict_from_columns(cls, data: Any) -> Any:
        seq = getattr(data, "chain_conflict_seq", None)
        if seq is None or isinstance(data, dict):
            return data
        fields = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        fields["chain_conflict"] = {"seq": seq, "ts": data.chain_conflict_ts, "detail": data.chain_conflict_detail or ""}
        return fields


class PublicKeyIn(BaseModel):
    public_key_pem: str = Field(min_length=1, max_length=4000, description=_PEM_DESCRIPTION)


class PublicKeyReplace(PublicKeyIn):
    comment: str = Field(min_length=1, max_length=2000, description="why the key is replaced (audited)")


class ConflictClear(BaseModel):
    comment: str = Field(min_length=1, max_length=2000, description="what was checked (audited)")


class GatewayAuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action: str
    at_ts: int
    username: str | None
    comment: str


class GatewayRegistered(GatewayPublic):
    credential: str = Field(description="shown once; the gateway sends it as a Bearer token")


class GatewayState(BaseModel):
    gateway_id: str
    site_id: str
    last_seq: int = Field(description="highest seq stored; resume the uplink at last_seq + 1")
    last_hash: str = Field(description="the stored hash of last_seq (64 zeros before the first entry): the next "
                                       "entry must chain from it")
