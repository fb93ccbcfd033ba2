"""A refused event names the field at fault (the desk API returns it as `loc`)."""

from __future__ import annotations

import pytest

from core_ext.events import EventDecoder, EventError
from tests.engine.conftest import T0, small_site


@pytest.mark.parametrize(
    "event,field",
    [
        ({"type": "tag_seen", "reader": "r-w1", "tag": "x"}, "ts"),
        ({"ts": T0, "type": "tag_seen", "reader": "nowhere", "tag": "x"}, "reader"),
        (
            {
                "ts": T0,
                "type": "checkin",
                "person": "p",
                "role": "suspect",
                "sex": "X",
                "tag": "t",
                "basis": "admin_summons",
                "case": "c",
            },
            "sex",
        ),
        (
            {
                "ts": T0,
                "type": "checkin",
                "person": "p",
                "role": "suspect",
                "sex": "M",
                "tag": "t",
                "basis": "admin_summons",
                "case": "c",
                "arrived_ts": T0 + 1,
            },
            "arrived_ts",
        ),
        (
            {
                "ts": T0,
                "type": "checkin",
                "person": "p",
                "role": "suspect",
                "sex": "M",
                "tag": "A",
                "basis": "admin_summons",
                "case": "c",
            },
            "tag",
        ),
        ({"ts": T0, "type": "checkout", "person": "ghost"}, "person"),
        ({"ts": T0, "type": "locker", "bank": "bank", "slot": 9, "state": "open"}, "slot"),
        (
            {
                "ts": T0,
                "type": "workorder",
                "id": "w",
                "item": "i",
                "action": "withdraw",
                "bank": "bank",
                "slot": 1,
                "valid_from": T0,
                "valid_until": T0 - 1,
            },
            "valid_until",
        ),
        ({"ts": T0, "type": "camera", "camera": "cam-nope", "state": "recording"}, "camera"),
        ({"ts": T0, "type": "teleport"}, "type"),
    ],
)
def test_error_names_the_field(event, field):
    dec = EventDecoder(small_site())
    dec.decode({"ts": T0, "type": "enroll", "person": "o1", "role": "officer", "sex": "M", "tag": "A"})
    with pytest.raises(EventError) as info:
        dec.decode(event)
    assert info.value.field == field, str(info.value)
