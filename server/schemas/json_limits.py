"""Bounds on JSON a client sends: nesting depth, and where in a document a fault is.

msgspec stops at its own recursion limit with an error that names no field, and its UTF-8 and
syntax errors name a byte offset at most; these helpers turn either into a path
(`entries[3].body.detail.a`) so the answer says where. They run only on the error path, or on
the few small bodies whose free-form fields (alert detail, health) are kept and shown later.
"""

from __future__ import annotations

import re
from typing import Any

# A JSON string (with escapes) or one structural character.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.DOTALL)
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


def _render(frames: list[list[Any]]) -> str:
    out = []
    for kind, label in frames:
        if label is None:
            continue
        out.append(f"[{label}]" if kind == "[" else f".{label}")
    return "".join(out).lstrip(".")


def scan_path(raw: bytes, *, offset: int | None = None, max_depth: int | None = None) -> str | None:
    """The path of the value at byte `offset`, or of the first container nested deeper than `max_depth`."""
    frames: list[list[Any]] = []  # [kind, current key or index]
    expect_key = False
    for match in _TOKEN.finditer(raw):
        if offset is not None and match.start() >= offset:
            return _render(frames)
        token = match.group()
        first = token[0]
        if first == 0x22:  # a string
            if expect_key and frames:
                frames[-1][1] = token[1:-1].decode("utf-8", "replace")[:64]
                expect_key = False
        elif first in _OPEN:
            frames.append(["[", 0] if first == 0x5B else ["{", None])
            expect_key = first == 0x7B
            if max_depth is not None and len(frames) > max_depth:
                frames.pop()
                return _render(frames)
        elif first in _CLOSE:
            if frames:
                frames.pop()
            expect_key = False
        elif first == 0x2C and frames:  # a comma
            if frames[-1][0] == "[":
                frames[-1][1] += 1
            else:
                expect_key = True
    return _render(frames) if offset is not None else None


def raw_depth_exceeds(raw: bytes, max_depth: int) -> str | None:
    """None when `raw` nests at most `max_depth` containers deep, else the path where it goes deeper."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:  # cannot nest deeper than it has brackets
        return None
    return scan_path(raw, max_depth=max_depth)


def value_depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON (a scalar is 0), counted up to limit + 1 at most."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
            stack.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
