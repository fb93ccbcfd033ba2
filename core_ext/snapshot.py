"""Engine snapshots as versioned plain data (JSON), never pickles.

A snapshot is one JSON document:

    {"format": "custody-engine-snapshot", "version": 3, "core": "reference"|"compiled",
     "site": <fingerprint of the site config>, "decoder": <state>, "state": <core state>}

The states are what `EventDecoder.export_state`, `ReferenceEngine.export_state` and
`CompiledEngine.export_state` return, made JSON-safe by `to_plain`: JSON scalars and lists stay as
they are; a tuple becomes {"__t": [...]}, a set {"__s": [...]}, a dict {"__m": [[key, value], ...]}
(keys need not be strings), and an object of one of the few engine classes listed in `CLASSES`
{"__o": name, "f": {field: value}}. `from_plain` reverses it and builds only those classes, and
only when every field they have is present, so a snapshot of another layout is refused instead of
half restored. Anything that is not a snapshot of this version raises `SnapshotError`; the caller
(`CustodyEngine.restore`) turns that into `SnapshotMismatch`, and the gateway then replays its
journal from the start.

Version history: 1 and 2 were pickles (1: the first release; 2 was never released); 3 is this.
"""
from __future__ import annotations

from typing import Any

import msgspec

FORMAT = "custody-engine-snapshot"
VERSION = 3


class SnapshotError(ValueError):
    """Not a readable snapshot of this version and layout."""


def _classes() -> dict[str, type]:
    from core_ext.events import Interner
    from core_ext.property import Item, Slot
    from core_ext.reference import _Person

    return {"Person": _Person, "Slot": Slot, "Item": Item, "Interner": Interner}


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(cls.__slots__)  # type: ignore[attr-defined]


def to_plain(obj: Any, names: dict[type, str] | None = None) -> Any:
    if names is None:
        names = {cls: name for name, cls in _classes().items()}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [to_plain(x, names) for x in obj]
    if isinstance(obj, tuple):
        return {"__t": [to_plain(x, names) for x in obj]}
    if isinstance(obj, (set, frozenset)):
        try:
            items = sorted(obj)
        except TypeError:
            items = list(obj)
        return {"__s": [to_plain(x, names) for x in items]}
    if isinstance(obj, dict):
        return {"__m": [[to_plain(k, names), to_plain(v, names)] for k, v in obj.items()]}
    name = names.get(type(obj))
    if name is None:
        raise TypeError(f"engine state holds a {type(obj).__name__}, which snapshots do not carry")
    return {"__o": name, "f": {f: to_plain(getattr(obj, f), names) for f in _fields(type(obj))}}


def from_plain(data: Any, classes: dict[str, type] | None = None) -> Any:
    if classes is None:
        classes = _classes()
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_plain(x, classes) for x in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise SnapshotError(f"unexpected value in snapshot: {str(data)[:80]}")
    if "__t" in data:
        return tuple(from_plain(x, classes) for x in _list(data["__t"]))
    if "__s" in data:
        return {_hashable(from_plain(x, classes)) for x in _list(data["__s"])}
    if "__m" in data:
        out = {}
        for pair in _list(data["__m"]):
            if not isinstance(pair, list) or len(pair) != 2:
                raise SnapshotError("a mapping entry is not a [key, value] pair")
            out[_hashable(from_plain(pair[0], classes))] = from_plain(pair[1], classes)
        return out
    if "__o" in data:
        cls = classes.get(data["__o"])
        fields = data.get("f")
        if cls is None or not isinstance(fields, dict):
            raise SnapshotError(f"unknown object {data.get('__o')!r} in snapshot")
        expected = _fields(cls)
        if set(fields) != set(expected):
            raise SnapshotError(f"{data['__o']} of another layout (fields {sorted(fields)}, expected {sorted(expected)})")
        obj: Any = object.__new__(cls)
        for f in expected:
            setattr(obj, f, from_plain(fields[f], classes))
        return obj
    raise SnapshotError(f"unexpected mapping in snapshot: {sorted(data)[:4]}")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise SnapshotError("a container's items are not a list")
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, dict, set)):
        raise SnapshotError("an unhashable key or set member in snapshot")
    return value


def encode(core: str, site: str, decoder: dict, state: dict) -> bytes:
    return msgspec.json.encode({"format": FORMAT, "version": VERSION, "core": core, "site": site,
                                "decoder": to_plain(decoder), "state": to_plain(state)})


def decode(data: bytes) -> dict[str, Any]:
    """The snapshot's header and states; SnapshotError for anything else (an older format,
    garbage, another layout)."""
    if data[:1] == b"\x80":
        raise SnapshotError("a snapshot of an older format (before version 3)")
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise SnapshotError(f"not a snapshot: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SnapshotError("not an engine snapshot")
    if doc.get("version") != VERSION:
        raise SnapshotError(f"snapshot format version {doc.get('version')!r}, this engine reads version {VERSION}")
    for key in ("core", "site", "decoder", "state"):
        if key not in doc:
            raise SnapshotError(f"snapshot without {key!r}")
    return doc


def states(doc: dict[str, Any]) -> tuple[dict, dict]:
    decoder, state = from_plain(doc["decoder"]), from_plain(doc["state"])
    if not isinstance(decoder, dict) or not isinstance(state, dict):
        raise SnapshotError("snapshot states are not mappings")
    return decoder, state
