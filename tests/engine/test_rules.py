"""Every rule of DESIGN §3: raised at the exact threshold, cleared when the condition ends,
and nothing when the condition ends just inside the grace. Runs on both engines."""

from __future__ import annotations

from tests.engine.conftest import ALL_CAMS, Log, alerts, run, small_site

H = 3600


def base(log=None):
    log = log or Log()
    log.cameras_on(0, *ALL_CAMS)
    log.enroll(0, "o1").enroll(0, "o2").enroll(0, "of", sex="F")
    return log


# ------------------------------------------------------------------ unaccompanied


def test_unaccompanied_raised_at_grace_and_cleared(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 100, "r-w1", "s1")  # alone in wait1 from t=10
    log.seen(100, "r-w1", "o1")  # an officer arrives at 100
    out = run(log.events, engine=engine, until=100)
    assert alerts(out, "unaccompanied") == [
        ("unaccompanied", "raised", "s1", 40.0),
        ("unaccompanied", "cleared", "s1", 100.0),
    ]


def test_unaccompanied_just_inside_grace_raises_nothing(engine):
    log = base().checkin(1, "s1")
    log.seen(10, "r-w1", "s1")
    log.seen(39.999, "r-w1", "o1")
    log.stay(40, 100, "r-w1", "s1", "o1")
    assert alerts(run(log.events, engine=engine), "unaccompanied") == []


def test_unaccompanied_ends_exactly_at_grace_raises_nothing(engine):
    log = base().checkin(1, "s1")
    log.seen(10, "r-w1", "s1")
    log.seen(40, "r-w1", "o1")
    assert alerts(run(log.events, engine=engine), "unaccompanied") == []


def test_unaccompanied_fires_between_events_at_exact_deadline(engine):
    # No event arrives between t=10 and t=55: the timer still fires at 40 exactly.
    log = base().checkin(1, "s1").seen(10, "r-w1", "s1").seen(55, "r-w1", "s1", "o1")
    assert alerts(run(log.events, engine=engine), "unaccompanied") == [
        ("unaccompanied", "raised", "s1", 40.0),
        ("unaccompanied", "cleared", "s1", 55.0),
    ]


def test_officer_leaving_starts_unaccompanied(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 50, "r-w1", "s1", "o1")
    log.seen(50, "r-hall", "o1")  # officer walks out at 50
    log.stay(60, 90, "r-w1", "s1")
    out = run(log.events, engine=engine, until=90)
    assert alerts(out, "unaccompanied") == [("unaccompanied", "raised", "s1", 80.0)]


# ------------------------------------------------------------------ insufficient officers


def test_insufficient_officers_in_interrogation(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 70, "r-i1", "s1", "o1")  # one investigator from 10
    log.seen(70, "r-i1", "o2")  # second arrives at 70
    out = run(log.events, engine=engine, until=70)
    assert alerts(out, "insufficient_officers") == [
        ("insufficient_officers", "raised", "s1", 40.0),
        ("insufficient_officers", "cleared", "s1", 70.0),
    ]
    raised = [r for r in out if r["kind"] == "alert" and r.get("rule") == "insufficient_officers"][0]
    assert raised["zone"] == "int1" and raised["detail"] == {"officers": 1, "min_officers": 2}
    assert alerts(out, "unaccompanied") == []


def test_insufficient_officers_just_inside_grace(engine):
    log = base().checkin(1, "s1")
    log.seen(10, "r-i1", "s1", "o1")
    log.seen(39, "r-i1", "o2")
    log.stay(40, 80, "r-i1", "s1", "o1", "o2")
    assert alerts(run(log.events, engine=engine), "insufficient_officers") == []


def test_waiting_room_needs_only_one_officer(engine):
    log = base().checkin(1, "s1").stay(10, 100, "r-w1", "s1", "o1")
    assert alerts(run(log.events, engine=engine)) == []


# ------------------------------------------------------------------ co-suspects


def test_co_suspects_together_raised_for_each(engine):
    log = base().checkin(1, "s1", case="K").checkin(1, "s2", case="K")
    log.stay(10, 50, "r-w1", "s1", "o1")
    log.stay(20, 50, "r-w1", "s2")
    log.seen(60, "r-w2", "s2")  # s2 moved to wait2 at 60
    log.stay(60, 80, "r-w1", "s1", "o1").seen(61, "r-w2", "o2")
    out = run(log.events, engine=engine, until=80)
    assert alerts(out, "co_suspects_together") == [
        ("co_suspects_together", "raised", "s2", 50.0),  # s2's arrival started both conditions;
        ("co_suspects_together", "raised", "s1", 50.0),  # the mover is evaluated first
        ("co_suspects_together", "cleared", "s2", 60.0),
        ("co_suspects_together", "cleared", "s1", 60.0),
    ]
    raised = [r for r in out if r.get("rule") == "co_suspects_together" and r["state"] == "raised"]
    assert raised[1]["detail"] == {"case": "K", "with": ["s2"]}


def test_different_cases_and_corridor_do_not_separate(engine):
    log = base().checkin(1, "s1", case="K").checkin(1, "s2", case="L").checkin(1, "s3", case="K")
    log.stay(10, 100, "r-w1", "s1", "s2", "o1")  # different cases share wait1: fine
    log.stay(10, 100, "r-hall", "s3", "o2")
    log.stay(110, 200, "r-hall", "s1", "s3", "o2")  # same case in the corridor: not separating
    assert alerts(run(log.events, engine=engine), "co_suspects_together") == []


def test_co_suspects_just_inside_grace(engine):
    log = base().checkin(1, "s1", case="K").checkin(1, "s2", case="K")
    log.seen(10, "r-w1", "s1", "s2", "o1")
    log.seen(39.5, "r-w2", "s2", "o2")
    assert alerts(run(log.events, engine=engine), "co_suspects_together") == []


# ------------------------------------------------------------------ recording gap


def test_recording_gap_when_all_cameras_stop(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 200, "r-i1", "s1", "o1", "o2")
    log.add(50, "camera", camera="cam-i1a", state="stopped")  # one of two: still recorded
    log.add(60, "camera", camera="cam-i1b", state="offline")  # none records from 60
    log.add(70, "camera", camera="cam-i1a", state="online")  # online changes nothing
    log.add(120, "camera", camera="cam-i1b", state="recording")
    out = run(log.events, engine=engine, until=200)
    assert alerts(out, "recording_gap") == [
        ("recording_gap", "raised", "s1", 90.0),
        ("recording_gap", "cleared", "s1", 120.0),
    ]
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert trail["stays"][0]["unrecorded_ms"] == 60_000


def test_short_recording_blip_raises_nothing_but_counts(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 100, "r-w1", "s1", "o1")
    log.add(50, "camera", camera="cam-w1", state="stopped")
    log.add(60, "camera", camera="cam-w1", state="recording")
    out = run(log.events, engine=engine, until=100)
    assert alerts(out, "recording_gap") == []
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert trail["stays"][0]["unrecorded_ms"] == 10_000 and trail["closed"] is False


def test_camera_never_started_is_not_recording(engine):
    log = Log().enroll(0, "o1").checkin(1, "s1").stay(10, 50, "r-w1", "s1", "o1")
    assert alerts(run(log.events, engine=engine), "recording_gap") == [("recording_gap", "raised", "s1", 40.0)]


# ------------------------------------------------------------------ female search


def test_female_search_without_female_officer(engine):
    log = base().checkin(1, "f1", sex="F")
    log.stay(10, 60, "r-check", "f1", "o1")
    log.seen(60, "r-check", "of")
    out = run(log.events, engine=engine, until=60)
    assert alerts(out, "female_search_without_female_officer") == [
        ("female_search_without_female_officer", "raised", "f1", 40.0),
        ("female_search_without_female_officer", "cleared", "f1", 60.0),
    ]


def test_female_search_with_female_officer_is_fine(engine):
    log = base().checkin(1, "f1", sex="F").stay(10, 60, "r-check", "f1", "of")
    log.checkin(1, "m1", case="other").stay(10, 60, "r-check", "m1")
    out = run(log.events, engine=engine, until=60)
    assert alerts(out, "female_search_without_female_officer") == []


# ------------------------------------------------------------------ tag lost


def test_tag_lost_and_found(engine):
    log = base().checkin(1, "s1")
    log.stay(10, 30, "r-w1", "s1", "o1")  # last read at 30
    log.stay(40, 200, "r-w1", "o1")
    log.seen(150, "r-w1", "s1")  # found again at 150
    out = run(log.events, engine=engine, until=200)
    assert alerts(out, "tag_lost") == [("tag_lost", "raised", "s1", 90.0), ("tag_lost", "cleared", "s1", 150.0)]
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert [(s["zone"], s["enter_ts"] - trail["checkin_ts"], s["leave_ts"]) for s in trail["stays"]][0][:2] == (
        "wait1",
        9000,
    )
    assert trail["stays"][0]["leave_ts"] == trail["checkin_ts"] + 89_000
    assert trail["gaps"] == [{"from_ts": trail["checkin_ts"] + 89_000, "to_ts": trail["checkin_ts"] + 149_000}]
    assert trail["tag_lost"] is True and trail["closed"] is False


def test_wristband_never_read_is_lost_from_checkin(engine):
    log = base().checkin(5, "s1").stay(0, 100, "r-w1", "o1")
    assert alerts(run(log.events, engine=engine, until=100), "tag_lost") == [("tag_lost", "raised", "s1", 65.0)]


def test_read_just_inside_lost_after(engine):
    log = base().checkin(1, "s1").seen(10, "r-w1", "s1", "o1").seen(70, "r-w1", "s1", "o1")
    log.seen(100, "r-w1", "s1", "o1")
    assert alerts(run(log.events, engine=engine, until=100), "tag_lost") == []


def test_lost_subject_suspends_conditions(engine):
    log = base().checkin(1, "s1").stay(10, 20, "r-w1", "s1")  # alone: unaccompanied at 40
    out = run(log.events, engine=engine, until=100)
    assert alerts(out) == [
        ("unaccompanied", "raised", "s1", 40.0),
        ("tag_lost", "raised", "s1", 80.0),
        ("unaccompanied", "cleared", "s1", 80.0),
    ]


def test_unknown_tags_are_ignored(engine):
    log = base().checkin(1, "s1").seen(10, "r-w1", "s1", "o1").add(11, "tag_seen", reader="r-w1", tag="stray")
    assert alerts(run(log.events, engine=engine, until=20)) == []


# ------------------------------------------------------------------ flow, exit


def test_flow_violation_one_shot(engine):
    log = base().checkin(1, "s1")
    log.seen(10, "r-w1", "s1", "o1")  # first zone after check-in: not checked
    log.seen(20, "r-w2", "s1", "o1")  # wait1 → wait2 is not in the flow
    log.seen(30, "r-hall", "s1", "o1")  # wait2 → hall is allowed
    out = run(log.events, engine=engine, until=30)
    assert alerts(out, "flow_violation") == [("flow_violation", "raised", "s1", 20.0)]
    ev = [r for r in out if r.get("rule") == "flow_violation"][0]
    assert ev["detail"] == {"from": "wait1", "to": "wait2"} and ev["zone"] == "wait2"


def test_incomplete_exit_and_checkout_clears(engine):
    log = base().checkin(1, "s1").stay(10, 100, "r-w1", "s1")  # unaccompanied raised at 40
    log.checkout(100, "s1")
    out = run(log.events, engine=engine)
    assert alerts(out) == [
        ("unaccompanied", "raised", "s1", 40.0),
        ("incomplete_exit", "raised", "s1", 100.0),
        ("unaccompanied", "cleared", "s1", 100.0),
    ]
    ev = [r for r in out if r.get("rule") == "incomplete_exit"][0]
    assert ev["detail"] == {"missing": ["security_check", "info_collection"]}


def test_complete_loop_closes_the_trail(engine):
    log = base().checkin(1, "s1")
    log.stay(2, 30, "r-entry", "s1", "o1")
    log.stay(31, 60, "r-check", "s1", "o1")
    log.stay(61, 90, "r-info", "s1", "o1")
    log.stay(91, 100, "r-hall", "s1", "o1")
    log.stay(101, 150, "r-i1", "s1", "o1", "o2")
    log.stay(151, 160, "r-hall", "s1", "o1")
    log.stay(161, 170, "r-exit", "s1", "o1")
    log.checkout(170, "s1")
    out = run(log.events, engine=engine)
    assert alerts(out) == []
    trail = [r for r in out if r["kind"] == "trail"]
    assert len(trail) == 1 and trail[0]["closed"] is True and trail[0]["steps_missing"] == []
    assert [s["zone"] for s in trail[0]["stays"]] == ["entry", "check", "info", "hall", "int1", "hall", "exit"]
    assert trail[0]["stays"][4]["officers"] == ["o1", "o2"]
    stays = trail[0]["stays"]
    assert all(a["leave_ts"] == b["enter_ts"] for a, b in zip(stays, stays[1:]))


# ------------------------------------------------------------------ time limits


def test_time_limit_warning_then_exceeded(engine):
    log = base().checkin(1, "s1", basis="admin_summons", arrived_ts=None)
    log.events[-1]["arrived_ts"] = log.events[-1]["ts"] - 3600 * 1000  # arrived an hour before check-in
    log.stay(10, 60, "r-w1", "s1", "o1")
    out = run(log.events, engine=engine, until=8 * H)
    arrived = 1 - 3600
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") == [
        ("time_limit_warning", "raised", "s1", arrived + 7 * H),
        ("time_limit_warning", "cleared", "s1", arrived + 8 * H),
        ("time_limit_exceeded", "raised", "s1", arrived + 8 * H),
    ]
    raised = [r for r in out if r.get("rule") == "time_limit_exceeded"][0]
    assert raised["detail"]["limit_ms"] == 8 * H * 1000


def test_checkout_exactly_at_limit_is_not_exceeded(engine):
    log = base().checkin(0, "s1", basis="admin_summons").checkout(8 * H, "s1")
    out = run(log.events, engine=engine)
    assert alerts(out, "time_limit_warning") == [
        ("time_limit_warning", "raised", "s1", 7 * H),
        ("time_limit_warning", "cleared", "s1", 8 * H),
    ]
    assert alerts(out, "time_limit_exceeded") == []


def test_checkout_after_extension_clears_nothing_more(engine):
    log = base().checkin(0, "s1", basis="criminal_summons")
    log.add(11.5 * H, "extend", person="s1", level="extended")
    log.checkout(22 * H, "s1")
    out = run(log.events, engine=engine)
    assert alerts(out, "time_limit_warning") == [
        ("time_limit_warning", "raised", "s1", 11 * H),
        ("time_limit_warning", "cleared", "s1", 11.5 * H),
    ]
    assert alerts(out, "time_limit_exceeded") == []


def test_extension_rearms_at_new_deadline(engine):
    log = base().checkin(0, "s1", basis="criminal_summons").add(11.5 * H, "extend", person="s1", level="extended")
    out = run(log.events, engine=engine, until=24 * H)
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") == [
        ("time_limit_warning", "raised", "s1", 11 * H),
        ("time_limit_warning", "cleared", "s1", 11.5 * H),
        ("time_limit_warning", "raised", "s1", 23 * H),
        ("time_limit_warning", "cleared", "s1", 24 * H),
        ("time_limit_exceeded", "raised", "s1", 24 * H),
    ]


def test_admin_summons_extension_tier(engine):
    log = base().checkin(0, "s1", basis="admin_summons").add(1, "extend", person="s1", level="extended", limit_h=12)
    out = run(log.events, engine=engine, until=13 * H)
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "s1", 12 * H)]
    log2 = base().checkin(0, "s1", basis="admin_summons").add(1, "extend", person="s1", level="extended")
    out2 = run(log2.events, engine=engine, until=13 * H)
    assert alerts(out2, "time_limit_exceeded") == []  # without limit_h the highest tier (24 h) applies


def test_deadline_already_past_fires_at_checkin(engine):
    log = base().checkin(10 * H, "s1", basis="admin_summons")
    log.events[-1]["arrived_ts"] = log.events[-1]["ts"] - int(7.5 * H * 1000)
    out = run(log.events, engine=engine, until=10 * H)
    assert alerts(out, "time_limit_warning") == [("time_limit_warning", "raised", "s1", 10 * H)]
    assert alerts(out, "time_limit_exceeded") == []


def test_checkin_extended_uses_extended_limit(engine):
    log = base().checkin(0, "s1", basis="criminal_summons", extended=True)
    out = run(log.events, engine=engine, until=24 * H)
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "s1", 24 * H)]


def test_site_time_limit_override():
    site = small_site("time_limits:\n  admin_summons: {limit_h: 4, extended_limit_h: 8}\n")
    log = base().checkin(0, "s1", basis="admin_summons")
    out = run(log.events, site=site, until=5 * H)
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "s1", 4 * H)]
