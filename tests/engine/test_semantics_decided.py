"""DESIGN §6.2 "Where the first release left room", and the defects of issue 18, on both cores.

Acceptance site: 30 s grace, 60 s lost_after (the small test site). Times are seconds after T0.
"""

from __future__ import annotations

import pytest

from core_ext.api import CustodyEngine, EventError
from tests.engine.conftest import ALL_CAMS, T0, Log, alerts, run, small_site

H = 3600


def base(log=None):
    log = log or Log()
    log.cameras_on(0, *ALL_CAMS)
    log.enroll(0, "o1").enroll(0, "o2").enroll(0, "of", sex="F")
    return log


def raw_alerts(out, rule=None):
    return [r for r in out if r["kind"] == "alert" and (rule is None or r["rule"] == rule)]


# ------------------------------------------------------------------ same-instant order (defects 1 and 3)


def test_loss_at_the_grace_deadline_ends_the_condition_first(engine):
    """Defect 1: the officer's tag is declared lost at the very millisecond the subject's
    insufficient_officers grace ends. The lost-tag timer was re-armed lazily after the grace
    timer was armed, so heap order alone fired the grace first (raise + clear at one instant)."""
    log = base().checkin(0, "s1")
    log.seen(-10 + 10, "r-i1", "o1")  # o1 in int1 from 0 (lost timer armed for 60)
    log.seen(0.5, "r-i1", "o1")  # read again: the lost deadline moves to 60.5
    log.seen(30.5, "r-i1", "s1")  # s1 with one officer: grace ends at 60.5
    log.stay(40.5, 90.5, "r-i1", "s1")  # s1 keeps being read; o1 never again
    out = run(log.events, engine=engine, until=91)
    assert alerts(out, "insufficient_officers") == []
    assert alerts(out, "unaccompanied") == [("unaccompanied", "raised", "s1", 90.5)]


@pytest.mark.parametrize("delta_ms, raised", [(-1, True), (0, False), (1, False)])
def test_officer_loss_one_ms_around_the_grace_deadline(engine, delta_ms, raised):
    log = base().checkin(0, "s1")
    log.seen(0, "r-i1", "o1")  # o1 lost at 60 exactly
    log.seen(30 + delta_ms / 1000, "r-i1", "s1")  # grace deadline at 60 + delta
    log.stay(40, 59, "r-i1", "s1", every=19)
    out = run(log.events, engine=engine, until=70)
    got = alerts(out, "insufficient_officers")
    if raised:
        assert got == [
            ("insufficient_officers", "raised", "s1", 59.999),
            ("insufficient_officers", "cleared", "s1", 60.0),
        ]
    else:
        assert got == []


def test_recording_gap_and_loss_at_one_instant(engine):
    """Defect 3, with the issue's log on a zone with a camera: camera off 30 s after the read,
    next read 60,001 ms after the first. Only tag_lost (raised and cleared), no recording_gap."""
    log = Log().add(0, "camera", camera="cam-check", state="recording").checkin(0, "s3")
    log.seen(12.070, "r-check", "s3")
    log.add(42.070, "camera", camera="cam-check", state="offline")
    log.seen(72.071, "r-check", "s3")
    out = run(log.events, engine=engine, until=73)
    assert alerts(out, "recording_gap") == []
    assert alerts(out, "tag_lost") == [("tag_lost", "raised", "s3", 72.07), ("tag_lost", "cleared", "s3", 72.071)]


def test_lost_tags_at_one_instant_fire_in_arm_order(engine):
    """Two subjects lost at the same millisecond: in the order their anchors were set (the
    order of their last reads), not the order their lazy heap entries happened to be pushed."""
    log = base().checkin(0, "sA").checkin(0, "sB", case="other")
    log.seen(1, "r-w1", "sA").seen(1, "r-w2", "sB")  # A's lost timer pushed first...
    log.seen(5, "r-w2", "sB").seen(5, "r-w1", "sA")  # ...but A's last read comes after B's
    out = run(log.events, engine=engine, until=70)
    assert [a[2] for a in alerts(out, "tag_lost")] == ["sB", "sA"]


# ------------------------------------------------------------------ stays end at a loss


def test_stay_ends_at_the_loss_and_unrecorded_counts_only_inside(engine):
    log = base().checkin(0, "s1")
    log.stay(10, 20, "r-w1", "s1", "o1")  # last read at 20: lost at 80
    log.add(30, "camera", camera="cam-w1", state="stopped")  # unrecorded from 30 ...
    log.stay(30, 120, "r-w1", "o1")
    log.seen(120, "r-w1", "s1")  # found again: a new stay
    log.add(125, "camera", camera="cam-w1", state="recording")
    out = run(log.events, engine=engine, until=130)
    trail = [r for r in out if r["kind"] == "trail"][0]
    stays = [
        (s["zone"], s["enter_ts"] - T0, None if s["leave_ts"] is None else s["leave_ts"] - T0, s["unrecorded_ms"])
        for s in trail["stays"]
    ]
    assert stays == [("wait1", 10_000, 80_000, 50_000), ("wait1", 120_000, None, 5_000)]


# ------------------------------------------------------------------ alert zones


def test_alert_zones(engine):
    log = base().checkin(0, "s1", basis="admin_summons", arrived_ts=T0 - int(7.5 * H * 1000))
    log.stay(10, 50, "r-w1", "s1")  # unaccompanied from 10, raised at 40 in wait1
    log.stay(51, 60, "r-hall", "s1")  # moves on, still unaccompanied
    log.seen(61, "r-hall", "o1")  # cleared in hall: repeats wait1
    out = run(log.events, engine=engine, until=200)
    unacc = raw_alerts(out, "unaccompanied")
    assert [(a["state"], a["zone"]) for a in unacc] == [("raised", "wait1"), ("cleared", "wait1")]
    warn = raw_alerts(out, "time_limit_warning")
    assert [(a["state"], a["zone"]) for a in warn] == [("raised", None)]  # at check-in: not yet read
    lost = raw_alerts(out, "tag_lost")
    assert [(a["state"], a["zone"]) for a in lost] == [("raised", "hall")]  # the last known zone
    exceeded = raw_alerts(out, "time_limit_exceeded")
    assert exceeded == []


def test_time_limit_zone_is_the_zone_at_that_moment(engine):
    log = base().checkin(0, "s1", basis="admin_summons")
    log.stay(7 * H - 20, 7 * H + 20, "r-w1", "s1", "o1")
    out = run(log.events, engine=engine, until=7 * H + 100)
    warn = raw_alerts(out, "time_limit_warning")
    assert [(a["state"], a["zone"], a["ts"] - T0) for a in warn] == [("raised", "wait1", 7 * H * 1000)]


def test_time_limit_at_the_instant_of_a_loss_has_no_zone(engine):
    # Lost at 7 h exactly: the loss fires first, so the warning finds the location unknown.
    log = base().checkin(0, "s1", basis="admin_summons").seen(7 * H - 60, "r-w1", "s1", "o1")
    out = run(log.events, engine=engine, until=7 * H + 1)
    warn = raw_alerts(out, "time_limit_warning")
    assert [(a["zone"], a["ts"] - T0) for a in warn] == [(None, 7 * H * 1000)]


# ------------------------------------------------------------------ extensions (defect 5)


def test_extension_to_a_limit_already_past_changes_no_alert(engine):
    log = base().checkin(0, "s1", basis="admin_summons", arrived_ts=T0 - 24 * H * 1000)
    log.add(10, "extend", person="s1", level="extended")  # the 24 h tier: already past
    out = run(log.events, engine=engine, until=100)
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") == [
        ("time_limit_warning", "raised", "s1", 0.0),
        ("time_limit_warning", "cleared", "s1", 0.0),
        ("time_limit_exceeded", "raised", "s1", 0.0),
    ]
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert trail["deadline_ts"] == T0  # the limit in force is the 24 h tier


def test_extension_to_the_limit_in_force_changes_nothing(engine):
    log = base().checkin(0, "s1", basis="admin_summons")
    log.add(7.5 * H, "extend", person="s1", limit_h=12)
    log.add(7.6 * H, "extend", person="s1", limit_h=12)
    out = run(log.events, engine=engine, until=12 * H)
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") == [
        ("time_limit_warning", "raised", "s1", 7 * H),
        ("time_limit_warning", "cleared", "s1", 7.5 * H),
        ("time_limit_warning", "raised", "s1", 11 * H),
        ("time_limit_warning", "cleared", "s1", 12 * H),
        ("time_limit_exceeded", "raised", "s1", 12 * H),
    ]


def test_extension_below_the_limit_in_force_is_bad_input(engine):
    log = base().checkin(0, "s1", basis="admin_summons").add(10, "extend", person="s1")  # 24 h
    log.add(20, "extend", person="s1", limit_h=12)
    eng = CustodyEngine(small_site(), engine)
    with pytest.raises(EventError, match="below the 24 h limit in force") as err:
        eng.feed(log.events)
    assert err.value.index == len(log.events) - 1 and err.value.field == "limit_h"


# ------------------------------------------------------------------ re-check-in, re-enrolment


def test_recheckin_starts_a_new_custody(engine):
    log = base().checkin(0, "s1", basis="admin_summons").seen(10, "r-w1", "s1", "o1")
    log.checkout(6 * H, "s1")
    log.checkin(7 * H, "s1", basis="admin_summons").seen(7 * H + 10, "r-w1", "s1", "o1")
    out = run(log.events, engine=engine, until=14.5 * H)
    # the old custody's 7 h warning never fires; the new one warns at 7 h + 7 h
    assert alerts(out, "time_limit_warning") == [("time_limit_warning", "raised", "s1", 14 * H)]
    trails = [r for r in out if r["kind"] == "trail"]
    assert [t["checkin_ts"] - T0 for t in trails] == [0, 7 * H * 1000]
    assert trails[1]["alerts"][0]["rule"] == "tag_lost"  # nothing carried over but the new alerts


def test_reenrolment_keeps_the_location(engine):
    log = base().checkin(0, "s1").seen(10, "r-w1", "s1", "o1")
    log.add(20, "enroll", person="o1", role="officer", sex="M", tag="new-tag-o1")  # new wristband
    log.stay(30, 55, "r-w1", "s1")
    log.add(55, "tag_seen", reader="r-w1", tag="new-tag-o1")
    out = run(log.events, engine=engine, until=60)
    assert alerts(out, "unaccompanied") == []


# ------------------------------------------------------------------ lockers, doors, duplicates


def intake(log, t, item, slot=1):
    return log.add(t, "intake", item=item, case="K1", bank="bank", slot=slot, by="cust")


def locker(log, t, slot, state, items=None):
    fields = {"bank": "bank", "slot": slot, "state": state}
    if items is not None:
        fields["items"] = items
    return log.add(t, "locker", **fields)


def withdraw(log, t, wo, item, slot, due, action="withdraw"):
    return log.add(
        t,
        "workorder",
        id=wo,
        item=item,
        action=action,
        bank="bank",
        slot=slot,
        by="off",
        valid_from=T0 + int(t * 1000),
        valid_until=T0 + int((t + 600) * 1000),
        due_ts=T0 + int(due * 1000),
    )


def test_reintake_then_second_withdrawal_raises_overdue_once(engine):
    """Defect 2: the first withdrawal's due timer must be void after the re-intake."""
    log = Log()
    intake(log, 0, "I1", 1)
    locker(log, 10, 1, "open")
    locker(log, 20, 1, "closed", ["I1"])
    withdraw(log, 30, "WO-1", "I1", 1, due=130)
    locker(log, 40, 1, "open")
    locker(log, 50, 1, "closed", [])
    intake(log, 60, "I1", 2)
    locker(log, 65, 2, "open")
    locker(log, 70, 2, "closed", ["I1"])
    withdraw(log, 80, "WO-2", "I1", 2, due=380)
    locker(log, 90, 2, "open")
    locker(log, 100, 2, "closed", [])
    out = run(log.events, engine=engine, until=400)
    assert alerts(out, "item_overdue") == [("item_overdue", "raised", "I1", 380.0)]


@pytest.mark.parametrize(
    "reintake_at, expected",
    [
        (100, []),
        (200, [("item_overdue", "raised", "I8", 150.0), ("item_overdue", "cleared", "I8", 200.0)]),
    ],
)
def test_reintake_settles_an_overdue_item(engine, reintake_at, expected):
    """Defect 4: a re-intake into another slot clears a raised item_overdue; the due timer is void."""
    log = Log()
    intake(log, 0, "I8", 1)
    locker(log, 10, 1, "open")
    locker(log, 20, 1, "closed", ["I8"])
    withdraw(log, 30, "WO-8", "I8", 1, due=150)
    locker(log, 40, 1, "open")
    locker(log, 50, 1, "closed", [])
    intake(log, reintake_at, "I8", 3)
    out = run(log.events, engine=engine, until=1000)
    assert alerts(out, "item_overdue") == expected
    trail = [r for r in out if r["kind"] == "item_trail"][0]
    assert trail["events"][-1]["event"] == ("intake" if not expected else "overdue_cleared")


def test_closed_while_closed_and_open_while_open_change_nothing(engine):
    log = Log()
    intake(log, 0, "I1", 1)
    locker(log, 5, 1, "closed", ["SWAPPED"])  # not open: ignored, items included
    locker(log, 10, 1, "open")
    locker(log, 400, 1, "open")  # already open: coverage judged at the first open
    locker(log, 401, 1, "closed", ["I1"])
    out = run(log.events, engine=engine, until=500)
    assert alerts(out) == [
        ("slot_left_open", "raised", "bank/1", 130.0),
        ("slot_left_open", "cleared", "bank/1", 401.0),
    ]


def test_return_of_an_item_the_ledger_never_had(engine):
    log = Log()
    withdraw(log, 0, "WO-R", "STRAY", 1, due=1000, action="return")
    locker(log, 10, 1, "open")
    locker(log, 20, 1, "closed", ["STRAY"])
    locker(log, 700, 1, "open")  # the order's window is over
    locker(log, 710, 1, "closed", ["STRAY"])  # in the ledger now: no mismatch
    out = run(log.events, engine=engine, until=800)
    assert alerts(out) == [("locker_unauthorized_open", "raised", "bank/1", 700.0)]


def test_forced_door_counts_as_open(engine):
    log = Log().add(10, "door", door="door1", state="forced").add(100, "door", door="door1", state="closed")
    out = run(log.events, engine=engine)
    assert alerts(out) == [
        ("door_forced", "raised", "door1", 10.0),
        ("door_held_open", "raised", "door1", 70.0),
        ("door_held_open", "cleared", "door1", 100.0),
    ]


def test_duplicate_workorder_id_is_bad_input(engine):
    log = Log()
    withdraw(log, 0, "WO-1", "I1", 1, due=100)
    withdraw(log, 1, "WO-1", "I2", 2, due=100)
    eng = CustodyEngine(small_site(), engine)
    with pytest.raises(EventError, match="duplicate work order id 'WO-1'") as err:
        eng.feed(log.events)
    assert err.value.index == 1
