"""The uplink batch a gateway POSTs to /api/v1/ingest (documented in docs/uplink.md).

Decoded with msgspec: it is the hot path (tens of thousands of entries a second), and its errors already name the
field (`$.entries[3].seq`). Bodies are decoded twice on purpose: once as raw JSON, stored
verbatim so nothing the gateway sent is lost (new fields included), and once against the
struct for their kind, to validate and to feed the projections.

Every struct here is `gc=False`: decoded JSON is a tree (no reference cycles), and untracked
instances keep Python's cyclic collector from rescanning a 10 000-entry batch over and over
(it more than halves the decode time).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from server.schemas.json_limits import raw_depth_exceeds, scan_path, value_depth
from server.schemas.uplink_bodies import (
    ALERT_DETAIL_MAX_BYTES,
    ALERT_DETAIL_MAX_DEPTH,
    BODY_TYPES,
    KNOWN_EVENT_TYPES,
    MAX_INT64,
    MAX_TS_MS,
    EventHeader,
    Id,
    Intake,
    KnownEvent,
    Ms,
    WorkOrder,
)

HexHash = Annotated[str, Meta(pattern="^[0-9a-fA-F]{8,128}$")]

KINDS = ("event", *BODY_TYPES)
Kind = Literal[KINDS]  # type: ignore[valid-type]  # a Literal of a run-time tuple (the vocabulary's kinds); mypy reads it as str
# Free-form parts of a body that the center keeps and shows again (health, item trail events,
# unknown fields of intake and work-order events listed on item pages) nest at most this deep.
BODY_MAX_DEPTH = 16


class RawEntry(Struct, gc=False, forbid_unknown_fields=False):
    seq: Annotated[int, Meta(ge=1, le=MAX_INT64)]
    ts: Ms
    kind: Kind
    hash: HexHash
    body: msgspec.Raw


class RawBatch(Struct, gc=False):
    gateway_id: Id
    site_id: Id
    entries: list[RawEntry]


# One struct per kind, tagged by `kind`: the whole batch validates in a single pass in C. Only
# when that fails (a bad field, or an event type this server does not know) does the slower
# per-entry path run, to name the field or accept the unknown type.
def _typed_entry(kind: str, body_type: Any) -> type:
    return msgspec.defstruct(
        f"{kind.title().replace('_', '')}Entry",
        [("seq", int), ("ts", int), ("hash", str), ("body", body_type)],
        tag_field="kind",
        tag=kind,
        forbid_unknown_fields=False,
        gc=False,
    )


_TYPED_ENTRIES = tuple(_typed_entry(kind, t) for kind, t in {"event": KnownEvent, **BODY_TYPES}.items())


class _TypedBatch(Struct, gc=False):
    entries: list[Union[_TYPED_ENTRIES]]  # type: ignore[valid-type]  # noqa: UP007 - a run-time tuple


class DecodedEntry(Struct, gc=False):
    seq: int
    ts: int
    kind: str
    hash: str
    raw_body: bytes
    body: Any  # one of the structs above; EventHeader for event types this server does not know


class TooManyEntries(ValueError):
    """More entries than the server accepts in one batch (HTTP 413)."""


class BatchError(ValueError):
    """A batch that does not match the format; `field` names where (entries[3].body.ts)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_raw_batch_decoder = msgspec.json.Decoder(RawBatch)
_event_header_decoder = msgspec.json.Decoder(EventHeader)
_known_event_decoder = msgspec.json.Decoder(KnownEvent)
_body_decoders: dict[str, msgspec.json.Decoder[Any]] = {kind: msgspec.json.Decoder(t) for kind, t in BODY_TYPES.items()}
_typed_batch_decoder = msgspec.json.Decoder(_TypedBatch)


_BYTE_OFFSET = re.compile(r"\(byte (\d+)\)")


def _split_error(exc: msgspec.ValidationError | msgspec.DecodeError, raw: bytes = b"") -> tuple[str, str]:
    """msgspec says 'Expected `int`, got `str` - at `$.entries[1].seq`'; split message and path.

    Syntax and encoding errors carry a byte offset at most: the path is found by scanning."""
    text = str(exc)
    message, sep, where = text.rpartition(" - at `")
    if sep:
        return where.rstrip("`").removeprefix("$").lstrip("."), message
    offset: int | None = None
    found = _BYTE_OFFSET.search(text)
    if found:
        offset = int(found.group(1))
    elif "UTF-8" in text:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            offset = bad.start
    if offset is not None and raw:
        return scan_path(raw, offset=offset) or "", text
    return "", text


def _decode(decoder: msgspec.json.Decoder, raw: bytes, prefix: str = "") -> Any:
    """decoder.decode(raw), with every failure a BatchError naming the field (prefixed by `prefix`)."""
    try:
        return decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        field, message = _split_error(exc, raw)
        raise BatchError(_join(prefix, field) or "body", message) from exc
    except RecursionError as exc:
        field = scan_path(raw, max_depth=BODY_MAX_DEPTH + 4) or ""
        raise BatchError(_join(prefix, field) or "body", "nested too deep") from exc


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    return prefix + (f".{field}" if field and not field.startswith("[") else field)


def decode_batch(raw: bytes, max_entries: int) -> tuple[RawBatch, list[DecodedEntry]]:
    """Parse and validate a batch; raise BatchError naming the first bad field."""
    if not raw.isascii():
        # Bodies are stored verbatim, unknown fields included, which the structs skip without
        # decoding: check the UTF-8 of the whole batch once (ASCII, the usual case, is a fast test).
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise BatchError(scan_path(raw, offset=bad.start) or "body", f"invalid UTF-8 at byte {bad.start}") from bad
    batch = _decode(_raw_batch_decoder, raw)
    if len(batch.entries) > max_entries:
        raise TooManyEntries(f"{len(batch.entries)} entries in one batch; the limit is {max_entries}")
    _check_contiguous(batch.entries)
    try:
        typed = _typed_batch_decoder.decode(raw).entries
    except (msgspec.ValidationError, msgspec.DecodeError):
        decoded = _decode_entry_by_entry(batch.entries)
    else:
        # entries of _typed_batch_decoder are the run-time union _TYPED_ENTRIES, each with .body
        decoded = [
            DecodedEntry(e.seq, e.ts, e.kind, e.hash, bytes(e.body), t.body)  # type: ignore[attr-defined]  # entries of _typed_batch_decoder are the run-time union _TYPED_ENTRIES, each with .body
            for e, t in zip(batch.entries, typed)
        ]
    _check_free_form(decoded)
    if b"\\u0000" in raw:  # rare: only then look for NUL in the fields the center keeps in columns
        _check_no_nul(decoded)
    return batch, decoded


def _nul_path(value: Any) -> str | None:
    """Where a NUL character sits in a decoded value ('' for the value itself), or None."""
    if isinstance(value, str):
        return "" if "\x00" in value else None
    if isinstance(value, Struct):
        value = msgspec.structs.asdict(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return f".{key!r}"
            inner = _nul_path(item)
            if inner is not None:
                return f".{key}{inner}"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = _nul_path(item)
            if inner is not None:
                return f"[{index}]{inner}"
    return None


def _check_no_nul(entries: list[DecodedEntry]) -> None:
    """PostgreSQL text cannot hold NUL: a known field with one is refused (unknown fields are kept
    verbatim in the body, escaped, which is fine)."""
    for index, e in enumerate(entries):
        where = _nul_path(e.body)
        if where is not None:
            raise BatchError(f"entries[{index}].body{where}", "NUL character (\\u0000) in a field")


def _check_free_form(entries: list[DecodedEntry]) -> None:
    """Depth and size bounds on the parts of bodies that are kept as free-form JSON and shown again."""
    for index, e in enumerate(entries):
        kind = e.kind
        if kind == "event":
            if type(e.body) in (Intake, WorkOrder):
                where = raw_depth_exceeds(e.raw_body, BODY_MAX_DEPTH)
                if where is not None:
                    raise BatchError(_join(f"entries[{index}].body", where), f"nested deeper than {BODY_MAX_DEPTH}")
        elif kind == "alert":
            detail = e.body.detail
            if value_depth(detail, ALERT_DETAIL_MAX_DEPTH) > ALERT_DETAIL_MAX_DEPTH:
                raise BatchError(f"entries[{index}].body.detail", f"nested deeper than {ALERT_DETAIL_MAX_DEPTH}")
            if len(e.raw_body) > ALERT_DETAIL_MAX_BYTES and len(msgspec.json.encode(detail)) > ALERT_DETAIL_MAX_BYTES:
                raise BatchError(f"entries[{index}].body.detail", f"larger than {ALERT_DETAIL_MAX_BYTES} bytes")
        elif kind in ("health", "item_trail"):
            value = (e.body.gateway, e.body.devices) if kind == "health" else e.body.events
            if value_depth(value, BODY_MAX_DEPTH) > BODY_MAX_DEPTH:
                raise BatchError(f"entries[{index}].body", f"nested deeper than {BODY_MAX_DEPTH}")


def _check_contiguous(entries: list[RawEntry]) -> None:
    for index in range(1, len(entries)):
        if entries[index].seq != entries[index - 1].seq + 1:
            raise BatchError(
                f"entries[{index}].seq",
                f"entries must have ascending contiguous seq: expected {entries[index - 1].seq + 1}, got {entries[index].seq}",
            )


def _decode_entry_by_entry(entries: list[RawEntry]) -> list[DecodedEntry]:
    decoded: list[DecodedEntry] = []
    for index, entry in enumerate(entries):
        raw_body = bytes(entry.body)
        prefix = f"entries[{index}].body"
        try:
            body = _decode_body(entry.kind, raw_body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            field, message = _split_error(exc, raw_body)
            raise BatchError(_join(prefix, field), message) from exc
        except RecursionError as exc:
            raise BatchError(
                _join(prefix, scan_path(raw_body, max_depth=BODY_MAX_DEPTH) or ""), "nested too deep"
            ) from exc
        decoded.append(DecodedEntry(entry.seq, entry.ts, entry.kind, entry.hash, raw_body, body))
    return decoded


def _decode_body(kind: str, raw_body: bytes) -> Any:
    if kind != "event":
        return _body_decoders[kind].decode(raw_body)
    try:
        return _known_event_decoder.decode(raw_body)
    except msgspec.ValidationError:
        header = _event_header_decoder.decode(raw_body)
        if header.type in KNOWN_EVENT_TYPES:
            raise  # a known type with a bad field: the original error names it
        # Stored and acknowledged, not projected: a newer gateway may report event types this
        # server predates, and refusing them would stall its uplink for good.
        return header


def openapi_components() -> tuple[dict[str, Any], dict[str, Any]]:
    """(batch schema, component schemas) for the OpenAPI document: one entry schema per kind."""
    kinds_to_body: dict[str, Any] = {"event": KnownEvent, **BODY_TYPES}

    class IngestResult(Struct):
        stored: int
        duplicates: int
        last_seq: int

    bodies = list(kinds_to_body.values())
    schemas, components = msgspec.json.schema_components(
        [*bodies, IngestResult], ref_template="#/components/schemas/{name}"
    )
    entry_variants = []
    for (kind, _), body_schema in zip(kinds_to_body.items(), schemas[: len(bodies)]):
        entry_variants.append(
            {
                "type": "object",
                "title": f"{kind} entry",
                "required": ["seq", "ts", "kind", "hash", "body"],
                "properties": {
                    "seq": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_INT64,
                        "description": "per-gateway sequence, from 1",
                    },
                    "ts": {"type": "integer", "minimum": 0, "maximum": MAX_TS_MS, "description": "epoch ms"},
                    "kind": {"enum": [kind]},
                    "hash": {"type": "string", "pattern": "^[0-9a-fA-F]{8,128}$"},
                    "body": body_schema,
                },
            }
        )
    components["IngestEntry"] = {"oneOf": entry_variants, "discriminator": {"propertyName": "kind"}}
    components["IngestBatch"] = {
        "type": "object",
        "title": "IngestBatch",
        "required": ["gateway_id", "site_id", "entries"],
        "properties": {
            "gateway_id": {"type": "string"},
            "site_id": {"type": "string"},
            "entries": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/IngestEntry"},
                "description": "ascending, contiguous seq",
            },
        },
    }
    return {"$ref": "#/components/schemas/IngestBatch"}, components
