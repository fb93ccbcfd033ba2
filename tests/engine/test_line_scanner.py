"""The compiled JSON Lines fast path must agree with the general decoder on every line."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_ext.events import EventDecoder, EventError
from core_ext.select import compiled_scan_tag_reads
from tests.engine.conftest import ENGINES, small_site

SITE = small_site()
SCANNER_ENGINE = "compiled" if compiled_scan_tag_reads is not None else None
HEAD = [
    {"ts": 0, "type": "enroll", "person": "o1", "role": "officer", "sex": "M", "tag": "A"},
    {"ts": 0, "type": "enroll", "person": "o2", "role": "officer", "sex": "F", "tag": "é-tag"},
]


def via_dicts(lines):
    dec = EventDecoder(SITE)
    try:
        return dec.decode_batch([msgspec.json.decode(line) for line in lines if line.strip()]), None
    except (EventError, msgspec.DecodeError) as exc:
        return None, type(exc).__name__


def via_lines(lines):
    # the compiled scanner whenever it is built, also under CUSTODY_ENGINE=reference (which would
    # give the decoder the general path, and this test would compare that path with itself)
    dec = EventDecoder(SITE, SCANNER_ENGINE)
    try:
        return dec.decode_lines(lines), None
    except EventError as exc:
        return None, exc


values = st.one_of(
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["r-w1", "r-hall", "nope", "A", "é-tag", "B", "tag_seen", "camera"]),
    st.none(),
    st.booleans(),
)
tag_read = st.fixed_dictionaries(
    {
        "ts": st.integers(0, 20),
        "type": st.just("tag_seen"),
        "reader": st.sampled_from(["r-w1", "r-hall", "nope"]),
        "tag": st.sampled_from(["A", "é-tag", "B", "", 'x"y']),
    },
    optional={"rssi": st.one_of(st.integers(-90, 0), st.floats(-90, 0)), "extra": values},
)


@st.composite
def line_lists(draw):
    events = draw(
        st.lists(
            st.one_of(tag_read, st.dictionaries(st.sampled_from(["ts", "type", "reader", "tag"]), values)), max_size=12
        )
    )
    events.sort(key=lambda e: e.get("ts") if isinstance(e.get("ts"), int) else 0)
    lines = [
        json.dumps(
            e, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")]))
        ).encode()
        for e in HEAD + events
    ]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from([b"", b"  ", b"{", b"[]", b'{"ts": 1.5}'])))
    return lines


@pytest.mark.skipif("compiled" not in ENGINES, reason="the line scanner is part of the compiled core")
@settings(max_examples=400, deadline=None)
@given(line_lists())
def test_line_scanner_agrees_with_general_decoder(lines):
    expected, err_kind = via_dicts(lines)
    got, err = via_lines(lines)
    if err_kind is None:
        assert err is None and got == expected
    else:
        assert err is not None and got is None
