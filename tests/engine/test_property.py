"""Lockers, work orders, items and doors (DESIGN §6.2 'Lockers'). Runs on both engines."""

from __future__ import annotations

from tests.engine.conftest import T0, Log, alerts, run

S = 1000


def ms(t):
    return T0 + int(t * S)


def intake(log, t, item, slot=1, by="cust"):
    log.add(t, "intake", item=item, case="K1", bank="bank", slot=slot, by=by)
    return log


def locker(log, t, slot, state, items=None):
    fields = {"bank": "bank", "slot": slot, "state": state}
    if items is not None:
        fields["items"] = items
    return log.add(t, "locker", **fields)


def item_trail(out, item):
    return [r for r in out if r["kind"] == "item_trail" and r["item"] == item][0]


def test_intake_then_close_with_item_is_clean(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 40, 1, "closed", ["EV-1"])
    out = run(log.events, engine=engine)
    assert alerts(out) == []
    trail = item_trail(out, "EV-1")
    assert [e["event"] for e in trail["events"]] == ["intake", "open"]
    assert trail["events"][1]["by"] == "cust" and trail["closed"] is False


def test_unauthorized_open(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    locker(log, 400, 1, "open")  # intake window (300 s) is over
    locker(log, 410, 1, "closed", ["EV-1"])
    out = run(log.events, engine=engine)
    assert alerts(out) == [("locker_unauthorized_open", "raised", "bank/1", 400.0)]


def test_withdraw_return_in_time(engine):
    log = Log()
    intake(log, 10, "EV-1", slot=2)
    locker(log, 20, 2, "open")
    locker(log, 30, 2, "closed", ["EV-1"])
    log.add(
        1000,
        "workorder",
        id="WO-1",
        item="EV-1",
        action="withdraw",
        bank="bank",
        slot=2,
        by="off1",
        valid_from=ms(1000),
        valid_until=ms(2000),
        due_ts=ms(5000),
    )
    locker(log, 1100, 2, "open")
    locker(log, 1110, 2, "closed", [])
    log.add(
        3000,
        "workorder",
        id="WO-2",
        item="EV-1",
        action="return",
        bank="bank",
        slot=2,
        valid_from=ms(3000),
        valid_until=ms(4000),
    )
    locker(log, 3100, 2, "open")
    locker(log, 3110, 2, "closed", ["EV-1"])
    out = run(log.events, engine=engine, until=6000)
    assert alerts(out) == []
    events = [e["event"] for e in item_trail(out, "EV-1")["events"]]
    assert events == ["intake", "open", "workorder", "open", "withdrawn", "workorder", "open", "returned"]


def test_item_overdue_raised_at_due_and_cleared_on_return(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    log.add(
        100,
        "workorder",
        id="WO-1",
        item="EV-1",
        action="withdraw",
        bank="bank",
        slot=1,
        valid_from=ms(100),
        valid_until=ms(200),
        due_ts=ms(1000),
    )
    locker(log, 110, 1, "open")
    locker(log, 120, 1, "closed", [])
    log.add(
        1500,
        "workorder",
        id="WO-2",
        item="EV-1",
        action="return",
        bank="bank",
        slot=1,
        valid_from=ms(1500),
        valid_until=ms(1600),
    )
    locker(log, 1510, 1, "open")
    locker(log, 1520, 1, "closed", ["EV-1"])
    out = run(log.events, engine=engine)
    assert alerts(out) == [("item_overdue", "raised", "EV-1", 1000.0), ("item_overdue", "cleared", "EV-1", 1520.0)]


def test_swap_is_item_mismatch(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    log.add(
        100,
        "workorder",
        id="WO-1",
        item="EV-1",
        action="withdraw",
        bank="bank",
        slot=1,
        valid_from=ms(100),
        valid_until=ms(200),
    )
    locker(log, 110, 1, "open")
    locker(log, 120, 1, "closed", ["FAKE-9"])  # EV-1 taken out, something else put in
    out = run(log.events, engine=engine)
    mism = [r for r in out if r["kind"] == "alert" and r["rule"] == "item_mismatch"]
    assert [(a["ts"], a["subject"], a["detail"]) for a in mism] == [
        (ms(120), "bank/1", {"missing": [], "unexpected": ["FAKE-9"]})
    ]


def test_missing_item_without_work_order(engine):
    log = Log()
    intake(log, 10, "EV-1").add(11, "intake", item="EV-2", case="K1", bank="bank", slot=1)
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-2"])
    out = run(log.events, engine=engine)
    mism = [r for r in out if r["kind"] == "alert"]
    assert [(a["rule"], a["detail"]) for a in mism] == [("item_mismatch", {"missing": ["EV-1"], "unexpected": []})]
    assert item_trail(out, "EV-1")["events"][-1]["event"] == "missing"


def test_slot_left_open(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 200, 1, "closed", ["EV-1"])
    out = run(log.events, engine=engine)
    assert alerts(out) == [
        ("slot_left_open", "raised", "bank/1", 140.0),
        ("slot_left_open", "cleared", "bank/1", 200.0),
    ]


def test_slot_closed_just_inside_limit(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 140, 1, "closed", ["EV-1"])
    assert alerts(run(log.events, engine=engine)) == []


def test_dispose_closes_item_trail(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    log.add(
        100,
        "workorder",
        id="WO-D",
        item="EV-1",
        action="dispose",
        bank="bank",
        slot=1,
        valid_from=ms(100),
        valid_until=ms(200),
    )
    locker(log, 110, 1, "open")
    locker(log, 120, 1, "closed", [])
    locker(log, 150, 1, "open")  # still inside the work order: authorised
    locker(log, 160, 1, "closed", [])  # and nothing expected any more
    out = run(log.events, engine=engine)
    assert alerts(out) == []
    trail = item_trail(out, "EV-1")
    assert trail["closed"] is True and trail["events"][-1]["event"] == "disposed"


def test_work_order_outside_validity_is_unauthorized(engine):
    log = Log()
    intake(log, 10, "EV-1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    log.add(
        500,
        "workorder",
        id="WO-1",
        item="EV-1",
        action="withdraw",
        bank="bank",
        slot=1,
        valid_from=ms(1000),
        valid_until=ms(2000),
    )
    locker(log, 600, 1, "open")
    locker(log, 610, 1, "closed", ["EV-1"])
    assert alerts(run(log.events, engine=engine)) == [("locker_unauthorized_open", "raised", "bank/1", 600.0)]


def test_badge_names_who_opened(engine):
    log = Log().enroll(0, "cust1", role="custodian")
    intake(log, 10, "EV-1")
    log.add(19, "badge", bank="bank", tag="tag-cust1")
    locker(log, 20, 1, "open")
    locker(log, 30, 1, "closed", ["EV-1"])
    out = run(log.events, engine=engine)
    assert item_trail(out, "EV-1")["events"][1]["by"] == "cust1"


def test_door_forced_and_held_open(engine):
    log = Log()
    log.add(10, "door", door="door1", state="open")
    log.add(100, "door", door="door1", state="closed")
    log.add(200, "door", door="door1", state="forced")
    log.add(230, "door", door="door1", state="closed")
    log.add(300, "door", door="door1", state="open")
    log.add(359, "door", door="door1", state="closed")
    out = run(log.events, engine=engine)
    assert alerts(out) == [
        ("door_held_open", "raised", "door1", 70.0),
        ("door_held_open", "cleared", "door1", 100.0),
        ("door_forced", "raised", "door1", 200.0),
    ]
