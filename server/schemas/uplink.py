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

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

from server.schemas.uplink_bodies import BODY_TYPES, KNOWN_EVENT_TYPES, EventHeader, Id, KnownEvent, Ms

HexHash = Annotated[str, Meta(pattern="^[0-9a-fA-F]{8,128}$")]

KINDS = ("event", "alert", "location", "custody", "trail", "item_trail", "health")
Kind = Literal["event", "alert", "location", "custody", "trail", "item_trail", "health"]


class RawEntry(Struct, gc=False, forbid_unknown_fields=False):
    seq: Annotated[int, Meta(ge=1)]
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
        tag_field="kind", tag=kind, forbid_unknown_fields=False, gc=False,
    )


_TYPED_ENTRIES = tuple(_typed_entry(kind, t) for kind, t in {"event": KnownEvent, **BODY_TYPES}.items())


class _TypedBatch(Struct, gc=False):
    entries: list[Union[_TYPED_ENTRIES]]  # type: ignore[valid-type]


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
_body_decoders = {kind: msgspec.json.Decoder(t) for kind, t in BODY_TYPES.items()}
_typed_batch_decoder = msgspec.json.Decoder(_TypedBatch)


def _split_error(exc: msgspec.ValidationError | msgspec.DecodeError) -> tuple[str, str]:
    """msgspec says 'Expected `int`, got `str` - at `$.entries[1].seq`'; split message and path."""
    text = str(exc)
    message, sep, where = text.rpartition(" - at `")
    if not sep:
        return "", text
    return where.rstrip("`").removeprefix("$").lstrip("."), message


def decode_batch(raw: bytes, max_entries: int) -> tuple[RawBatch, list[DecodedEntry]]:
    """Parse and validate a batch; raise BatchError naming the first bad field."""
    try:
        batch = _raw_batch_decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        field, message = _split_error(exc)
        raise BatchError(field or "body", message) from exc
    if len(batch.entries) > max_entries:
        raise TooManyEntries(f"{len(batch.entries)} entries in one batch; the limit is {max_entries}")
    _check_contiguous(batch.entries)
    try:
        typed = _typed_batch_decoder.decode(raw).entries
    except msgspec.ValidationError:
        return batch, _decode_entry_by_entry(batch.entries)
    return batch, [
        DecodedEntry(e.seq, e.ts, e.kind, e.hash, bytes(e.body), t.body) for e, t in zip(batch.entries, typed)
    ]


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
        try:
            body = _decode_body(entry.kind, raw_body)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            field, message = _split_error(exc)
            raise BatchError(f"entries[{index}].body" + (f".{field}" if field else ""), message) from exc
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
                    "seq": {"type": "integer", "minimum": 1, "description": "per-gateway sequence, from 1"},
                    "ts": {"type": "integer", "minimum": 0, "description": "epoch ms"},
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
