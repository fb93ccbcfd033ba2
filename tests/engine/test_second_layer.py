"""The second layer (DESIGN §3 and §6.2 "Second layer"), on both cores: each rule raised at its
exact time and cleared when its condition ends, a near miss per rule, stepwise tiers, bad input.
Times are seconds after T0 (2023-11-14 22:13:20 UTC = 06:13:20 in Asia/Shanghai)."""

from __future__ import annotations

import pytest

from core_ext import vocab
from core_ext.api import CustodyEngine, EventError
from core_ext.site import compile_site, load_site, parse_site
from gateway.scenario import generate
from tests.engine.conftest import ALL_CAMS, SMALL_SITE, T0, Log, alerts, run

H = 3600
SITE2 = compile_site(
    parse_site(
        SMALL_SITE.replace(
            "intake_window_s: 300}", "intake_window_s: 300, meal_interval_h: 6, workorder_requires_approval: true}"
        ),
        "<second-layer-site>",
    )
)


def base(log=None):
    log = log or Log()
    log.cameras_on(0, *ALL_CAMS)
    log.enroll(0, "o1").enroll(0, "o2").enroll(0, "of", sex="F")
    return log


def go(log, engine, until=None, site=SITE2):
    return run(log.events, site=site, engine=engine, until=until)


def trail(out, subject):
    return [r for r in out if r["kind"] == "trail" and r["subject"] == subject][-1]


def bad(log, engine, match, site=SITE2):
    eng = CustodyEngine(site, engine)
    with pytest.raises(EventError, match=match) as err:
        eng.feed(sorted(log.events, key=lambda e: e["ts"]))
    return err.value


# ------------------------------------------------------------------ vulnerable persons


def cq(log, t, person, **kw):
    return log.checkin(t, person, basis="continued_questioning", **kw)


def test_vulnerable_in_waiting(engine):
    log = cq(base(), 1, "v1", age=15)
    log.stay(10, 100, "r-w1", "v1", "o1")
    log.seen(100, "r-hall", "v1", "o1")
    out = go(log, engine, until=110)
    assert alerts(out, "vulnerable_in_waiting") == [
        ("vulnerable_in_waiting", "raised", "v1", 40.0),
        ("vulnerable_in_waiting", "cleared", "v1", 100.0),
    ]
    raised = [r for r in out if r.get("rule") == "vulnerable_in_waiting"]
    assert [r["zone"] for r in raised] == ["wait1", "wait1"]


@pytest.mark.parametrize("fields", [{"age": 16}, {"age": 69}, {"age": 15, "basis": "criminal_summons"}])
def test_not_vulnerable_near_miss(engine, fields):
    fields = dict(fields)
    log = base().checkin(1, "v1", basis=fields.pop("basis", "continued_questioning"), **fields)
    log.stay(10, 100, "r-w1", "v1", "o1")
    assert alerts(go(log, engine), "vulnerable_in_waiting") == []


@pytest.mark.parametrize("fields", [{"age": 70}, {"pregnant": True}, {"age": 12}])
def test_vulnerable_limit_is_four_hours(engine, fields):
    log = cq(base(), 0, "v1", **fields).stay(10, 20, "r-hall", "v1", "o1")
    out = go(log, engine, until=5 * H)
    assert alerts(out, "time_limit_warning")[0][3] == 3 * H
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "v1", 4 * H)]
    assert trail(out, "v1")["vulnerable"] is True


def test_vulnerable_cannot_be_extended(engine):
    err = bad(cq(base(), 0, "v1", age=75).add(10, "extend", person="v1"), engine, r"vulnerable.*no extension.*art\. 10")
    assert err.field == "person"
    bad(cq(base(), 0, "v1", pregnant=True, extended=True), engine, r"vulnerable.*no extension")


# ------------------------------------------------------------------ stepwise tiers


def test_continued_questioning_climbs_12_24_48(engine):
    log = cq(base(), 0, "s1").stay(10, 20, "r-hall", "s1", "o1")
    log.add(11.5 * H, "extend", person="s1")  # 12 -> 24
    log.add(23.5 * H, "extend", person="s1", limit_h=48)  # 24 -> 48
    out = go(log, engine, until=49 * H)
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") == [
        ("time_limit_warning", "raised", "s1", 11 * H),
        ("time_limit_warning", "cleared", "s1", 11.5 * H),
        ("time_limit_warning", "raised", "s1", 23 * H),
        ("time_limit_warning", "cleared", "s1", 23.5 * H),
        ("time_limit_warning", "raised", "s1", 47 * H),
        ("time_limit_warning", "cleared", "s1", 48 * H),
        ("time_limit_exceeded", "raised", "s1", 48 * H),
    ]


def test_checkin_extended_starts_at_the_first_tier(engine):
    out = go(cq(base(), 0, "s1", extended=True), engine, until=25 * H)
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "s1", 24 * H)]


@pytest.mark.parametrize(
    "extends, match",
    [
        ([{"limit_h": 48}], r"skips the 24 h tier.*one at a time.*art\. 11, 17"),
        ([{}, {"limit_h": 24}], r"not above the 24 h limit in force"),
        ([{}, {}, {}], r"already at the top tier"),
        ([{"limit_h": 36}], r"not an extended limit of continued_questioning \(allowed: 24, 48\)"),
    ],
)
def test_stepwise_bad_input(engine, extends, match):
    log = cq(base(), 0, "s1")
    for i, fields in enumerate(extends):
        log.add(10 + i, "extend", person="s1", **fields)
    err = bad(log, engine, match)
    assert err.index == len(log.events) - 1


def test_other_bases_keep_the_first_release_rule(engine):
    # admin_summons: without limit_h the highest tier; a jump 8 -> 24 is fine (not stepwise)
    out = go(base().checkin(0, "s1", basis="admin_summons").add(10, "extend", person="s1"), engine, until=25 * H)
    assert alerts(out, "time_limit_exceeded") == [("time_limit_exceeded", "raised", "s1", 24 * H)]


# ------------------------------------------------------------------ waiting rooms


def test_mixed_sex_waiting_raised_for_each(engine):
    log = base().checkin(1, "m1", case="A").checkin(1, "f1", case="B", sex="F")
    log.stay(10, 80, "r-w1", "m1", "o1")
    log.stay(20, 70, "r-w1", "f1")
    log.seen(80, "r-hall", "f1")
    out = go(log, engine, until=90)
    assert alerts(out, "mixed_sex_waiting") == [
        ("mixed_sex_waiting", "raised", "f1", 50.0),
        ("mixed_sex_waiting", "raised", "m1", 50.0),
        ("mixed_sex_waiting", "cleared", "f1", 80.0),
        ("mixed_sex_waiting", "cleared", "m1", 80.0),
    ]
    raised = [r for r in out if r.get("rule") == "mixed_sex_waiting" and r["state"] == "raised"]
    assert raised[1]["detail"] == {"with": ["f1"]}


def test_same_sex_waiting_room_near_miss(engine):
    log = base().checkin(1, "m1", case="A").checkin(1, "m2", case="B")
    log.stay(10, 100, "r-w1", "m1", "m2", "o1")
    log.checkin(1, "f1", case="C", sex="F").stay(10, 100, "r-w2", "f1", "of")  # the other room
    assert alerts(go(log, engine), "mixed_sex_waiting") == []


# ------------------------------------------------------------------ minors and guardians


def guardian(log, t, person, ward=None, sex="F"):
    fields = {"person": person, "role": "guardian", "sex": sex, "tag": f"tag-{person}"}
    if ward:
        fields["for"] = ward
    return log.add(t, "enroll", **fields)


def test_minor_without_guardian(engine):
    log = guardian(base(), 0, "g1", "k1").checkin(1, "k1", minor=True)
    log.stay(10, 70, "r-i1", "k1", "o1", "o2")
    log.seen(70, "r-i1", "g1")
    out = go(log, engine, until=80)
    assert alerts(out, "minor_without_guardian") == [
        ("minor_without_guardian", "raised", "k1", 40.0),
        ("minor_without_guardian", "cleared", "k1", 70.0),
    ]


@pytest.mark.parametrize("how", ["enrolled_for", "named_at_checkin"])
def test_guardian_present_near_miss(engine, how):
    log = base()
    if how == "enrolled_for":
        guardian(log, 0, "g1", "k1").checkin(1, "k1", age=14)
    else:
        guardian(log, 0, "g1").checkin(1, "k1", age=14, guardian="g1")
    log.seen(10, "r-i1", "k1", "o1", "o2")
    log.stay(39, 100, "r-i1", "g1", "k1", "o1", "o2")
    assert alerts(go(log, engine), "minor_without_guardian") == []


def test_guardian_of_another_child_does_not_count_nor_as_officer(engine):
    log = guardian(base(), 0, "g2", "other-kid").checkin(1, "k1", minor=True)
    log.stay(10, 50, "r-i1", "k1", "o1", "g2")
    out = go(log, engine, until=50)
    assert sorted(a[0] for a in alerts(out) if a[1] == "raised") == ["insufficient_officers", "minor_without_guardian"]
    assert not any(a[2] == "g2" for a in alerts(out))  # guardians are never alerted about


def test_female_minor_without_female_staff(engine):
    log = guardian(base(), 0, "g1", "k1").checkin(1, "k1", sex="F", age=15)
    log.stay(10, 60, "r-i1", "k1", "o1", "o2", "g1")
    log.seen(60, "r-i1", "of")
    out = go(log, engine, until=70)
    assert alerts(out, "female_minor_without_female_staff") == [
        ("female_minor_without_female_staff", "raised", "k1", 40.0),
        ("female_minor_without_female_staff", "cleared", "k1", 60.0),
    ]
    assert alerts(out, "minor_without_guardian") == []


def test_female_minor_with_female_staff_near_miss(engine):
    log = guardian(base(), 0, "g1", "k1").checkin(1, "k1", sex="F", minor=True)
    log.stay(10, 100, "r-i1", "k1", "o1", "o2", "g1", "of")
    assert alerts(go(log, engine)) == []


# ------------------------------------------------------------------ temporary exit


def test_temporary_exit_overdue_and_presence_cleared(engine):
    log = base().checkin(1, "s1").stay(10, 100, "r-w1", "s1")  # unaccompanied from 40
    log.add(100, "leave", person="s1", reason="identify_scene", until_ts=T0 + 1000 * 1000, approved_by="chief")
    log.stay(110, 1400, "r-w1", "s1", every=100)  # reads while out are ignored
    log.add(1500, "return", person="s1")
    out = go(log, engine, until=1600)
    assert alerts(out) == [
        ("unaccompanied", "raised", "s1", 40.0),
        ("unaccompanied", "cleared", "s1", 100.0),
        ("temp_exit_overdue", "raised", "s1", 1000.0),
        ("temp_exit_overdue", "cleared", "s1", 1500.0),
        ("tag_lost", "raised", "s1", 1560.0),  # counted from the return
    ]
    t = trail(out, "s1")
    assert t["exits"] == [
        {"leave_ts": T0 + 100_000, "return_ts": T0 + 1_500_000, "reason": "identify_scene", "until_ts": T0 + 1_000_000}
    ]
    assert t["stays"][-1]["leave_ts"] == T0 + 100_000 and t["tag_lost"] is True


def test_back_in_time_near_miss_and_no_flow_check_after_return(engine):
    log = base().checkin(1, "s1").stay(10, 100, "r-w1", "s1", "o1")
    log.add(100, "leave", person="s1", reason="medical", until_ts=T0 + 1000 * 1000, approved_by="chief")
    log.add(1000, "return", person="s1")
    log.stay(1010, 1100, "r-exit", "s1", "o1")  # wait1 -> exit is not in the flow
    out = go(log, engine, until=1100)
    assert alerts(out) == []


def test_return_of_someone_not_out_is_bad_input(engine):
    err = bad(base().checkin(1, "s1").add(5, "return", person="s1"), engine, r"not out on a temporary exit")
    assert err.field == "person"
    bad(
        base().checkin(1, "s1").add(5, "leave", person="s1", reason="shopping", until_ts=T0, approved_by="c"),
        engine,
        r"unknown reason 'shopping'",
    )


# ------------------------------------------------------------------ decision and transfer


def test_decision_stops_the_clock_and_arms_transfer(engine):
    log = base().checkin(0, "s1", basis="admin_summons").stay(10, 20, "r-hall", "s1", "o1")
    log.add(7.5 * H, "decision", person="s1", kind="criminal_detention")
    log.add(8 * H, "extend", person="s1", limit_h=12)  # changes nothing now
    log.add(9 * H, "decision", person="s1", kind="arrest")  # does not re-arm
    out = go(log, engine, until=32 * H)
    assert alerts(out, "time_limit_warning") + alerts(out, "time_limit_exceeded") + alerts(out, "transfer_overdue") == [
        ("time_limit_warning", "raised", "s1", 7 * H),
        ("time_limit_warning", "cleared", "s1", 7.5 * H),
        ("transfer_overdue", "raised", "s1", 31.5 * H),
    ]
    raised = [r for r in out if r.get("rule") == "transfer_overdue"][0]
    assert raised["detail"] == {
        "decision_ts": T0 + int(7.5 * H * 1000),
        "decision": "criminal_detention",
        "deadline_ts": T0 + int(31.5 * H * 1000),
    }


def test_transferred_in_time_near_miss(engine):
    log = base().checkin(0, "s1").add(100, "decision", person="s1", kind="admin_detention")
    log.add(100 + 24 * H, "checkout", person="s1", outcome="admin_detention")
    out = go(log, engine)
    assert alerts(out, "transfer_overdue") == []
    assert trail(out, "s1")["outcome"] == "admin_detention"


def test_checkout_clears_transfer_overdue(engine):
    log = base().checkin(0, "s1").add(100, "decision", person="s1", kind="arrest")
    log.add(100 + 25 * H, "checkout", person="s1", outcome="transferred")
    assert alerts(go(log, engine), "transfer_overdue") == [
        ("transfer_overdue", "raised", "s1", 100 + 24 * H),
        ("transfer_overdue", "cleared", "s1", 100 + 25 * H),
    ]


# ------------------------------------------------------------------ meals


def test_meal_overdue_cleared_by_a_meal_and_rearmed(engine):
    log = base().checkin(0, "s1")
    log.add(6.5 * H, "welfare", person="s1", kind="meal")
    log.add(7 * H, "welfare", person="s1", kind="water")
    log.checkout(13 * H, "s1")
    out = go(log, engine)
    assert alerts(out, "meal_overdue") == [
        ("meal_overdue", "raised", "s1", 6 * H),
        ("meal_overdue", "cleared", "s1", 6.5 * H),
        ("meal_overdue", "raised", "s1", 12.5 * H),
        ("meal_overdue", "cleared", "s1", 13 * H),
    ]
    assert trail(out, "s1")["welfare"] == [
        {"ts": T0 + int(6.5 * H * 1000), "kind": "meal"},
        {"ts": T0 + 7 * H * 1000, "kind": "water"},
    ]


def test_meal_in_time_near_miss_and_off_by_default(engine):
    log = base().checkin(0, "s1").add(5 * H, "welfare", person="s1", kind="meal").checkout(10.9 * H, "s1")
    assert alerts(go(log, engine), "meal_overdue") == []
    assert alerts(go(base().checkin(0, "s1").checkout(20 * H, "s1"), engine, site=None), "meal_overdue") == []


# ------------------------------------------------------------------ check-out: belongings, night release


def belongings(log, t, item, owner, slot=1):
    return log.add(t, "intake", item=item, case="K", bank="bank", slot=slot, by="cust", owner=owner)


def test_belongings_not_returned(engine):
    log = belongings(belongings(base(), 10, "B-2", "s1"), 10, "B-1", "s1").checkin(1, "s1")
    log.checkout(100, "s1")
    out = go(log, engine)
    assert alerts(out, "belongings_not_returned") == [("belongings_not_returned", "raised", "s1", 100.0)]
    raised = [r for r in out if r.get("rule") == "belongings_not_returned"][0]
    assert raised["detail"] == {"items": ["B-1", "B-2"]}


def test_belongings_released_or_kept_near_miss(engine):
    log = belongings(base(), 10, "B-1", "s1").checkin(1, "s1")
    log.add(
        40,
        "workorder",
        id="WO-R",
        item="B-1",
        action="release",
        bank="bank",
        slot=1,
        by="cust",
        requested_by="o1",
        approved_by="o2",
    )
    log.add(50, "locker", bank="bank", slot=1, state="open").add(
        60, "locker", bank="bank", slot=1, state="closed", items=[]
    )
    log.add(100, "checkout", person="s1", outcome="released")
    out = go(log, engine)
    assert alerts(out, "belongings_not_returned") == [] and alerts(out, "item_mismatch") == []
    item = [r for r in out if r["kind"] == "item_trail"][0]
    assert item["closed"] is True and item["events"][-1]["event"] == "released"
    log2 = belongings(base(), 10, "B-1", "s1").checkin(1, "s1")
    log2.add(100, "checkout", person="s1", belongings="kept", belongings_reason="evidence")
    out2 = go(log2, engine)
    assert alerts(out2, "belongings_not_returned") == []
    assert trail(out2, "s1")["belongings_reason"] == "evidence"
    bad(base().checkin(1, "s1").add(5, "checkout", person="s1", belongings="kept"), engine, "needs a belongings_reason")


NIGHT = 15 * H  # 21:13 in Asia/Shanghai
DAY = 4 * H  # 10:13


@pytest.mark.parametrize(
    "t, fields, raised",
    [
        (NIGHT, {}, True),
        (NIGHT, {"outcome": "released"}, True),
        (0.5 * H, {}, True),  # 06:43: still night until 07:00
        (DAY, {}, False),  # daytime
        (NIGHT, {"released_to": "mother"}, False),  # handed to family
        (NIGHT, {"outcome": "criminal_detention"}, False),  # not a release
    ],
)
def test_vulnerable_night_release(engine, t, fields, raised):
    log = cq(base(), 0, "v1", age=80).add(t, "checkout", person="v1", **fields)
    out = go(log, engine)
    assert alerts(out, "vulnerable_night_release") == (
        [("vulnerable_night_release", "raised", "v1", t)] if raised else []
    )
    assert trail(out, "v1")["released_to"] == fields.get("released_to")


def test_night_is_site_time():
    site = compile_site(
        parse_site(SMALL_SITE.replace("kind: handling_area}", "kind: handling_area, timezone: UTC}"), "<utc>")
    )
    log = cq(base(), 0, "v1", age=80).add(DAY, "checkout", person="v1")  # 02:13 UTC
    assert alerts(go(log, "reference", site=site), "vulnerable_night_release") != []


# ------------------------------------------------------------------ seizure, approval, unlock


def test_intake_overdue(engine):
    log = Log().add(0, "seizure", item="S-1", case="K", by="o1")
    log.add(25 * H, "intake", item="S-1", case="K", bank="bank", slot=1, by="cust", seized_ts=T0)
    out = go(log, engine)
    assert alerts(out, "intake_overdue") == [
        ("intake_overdue", "raised", "S-1", 24 * H),
        ("intake_overdue", "cleared", "S-1", 25 * H),
    ]
    events = [r for r in out if r["kind"] == "item_trail"][0]["events"]
    assert events[0]["event"] == "seizure" and events[-2]["seized_ts"] == T0


def test_intake_in_time_near_miss(engine):
    log = Log().add(0, "seizure", item="S-1", case="K", by="o1", seized_ts=T0 - 3600 * 1000)
    log.add(22.9 * H, "intake", item="S-1", case="K", bank="bank", slot=1)
    log.add(23 * H, "seizure", item="S-1", case="K", by="o1")  # already taken in: nothing
    assert alerts(go(log, engine, until=50 * H)) == []


@pytest.mark.parametrize(
    "approval, raised",
    [
        ({}, True),
        ({"requested_by": "o1", "approved_by": "o1"}, True),
        ({"requested_by": "o1", "approved_by": "cust"}, True),
        ({"requested_by": "o1", "approved_by": "o2"}, False),
    ],
)
def test_workorder_unapproved(engine, approval, raised):
    log = Log().add(0, "intake", item="E-1", case="K", bank="bank", slot=2, by="cust")
    log.add(10, "locker", bank="bank", slot=2, state="open").add(
        20, "locker", bank="bank", slot=2, state="closed", items=["E-1"]
    )
    log.add(1000, "workorder", id="WO-1", item="E-1", action="withdraw", bank="bank", slot=2, by="cust", **approval)
    log.add(1010, "locker", bank="bank", slot=2, state="open")
    log.add(1020, "locker", bank="bank", slot=2, state="closed", items=[])
    out = go(log, engine)
    if raised:
        assert alerts(out) == [
            ("workorder_unapproved", "raised", "bank/2", 1000.0),
            ("locker_unauthorized_open", "raised", "bank/2", 1010.0),
            ("item_mismatch", "raised", "bank/2", 1020.0),
        ]
        ev = [r for r in out if r.get("rule") == "workorder_unapproved"][0]
        assert ev["detail"]["workorder"] == "WO-1"
    else:
        assert alerts(out) == []
    # without the site rule, any order authorises
    assert alerts(go(log, engine, site=None)) == []


def test_unlock_is_recorded_on_the_slot_item_trails(engine):
    log = Log().add(0, "intake", item="E-1", case="K", bank="bank", slot=2, by="cust")
    log.add(5, "unlock", bank="bank", slot=2, by="cust")
    log.add(10, "locker", bank="bank", slot=2, state="open").add(
        20, "locker", bank="bank", slot=2, state="closed", items=["E-1"]
    )
    out = go(log, engine)
    events = [r for r in out if r["kind"] == "item_trail"][0]["events"]
    assert [e["event"] for e in events] == ["intake", "unlock", "open"]
    assert events[1] == {"ts": T0 + 5000, "event": "unlock", "slot": "bank/2", "by": "cust"} and alerts(out) == []


# ------------------------------------------------------------------ a first-release log


def test_first_release_log_replays_as_before():
    """A generated day with every first-layer rule injected, on the demo area without the
    second layer's optional keys: only first-layer alerts (plus mixed_sex_waiting where its
    condition holds, DESIGN §6.2 (b)), every injection found, trails carrying empty new keys."""
    cfg = load_site("firmware_configs/sites/demo-area.yaml")
    cfg = cfg.model_copy(
        update={"rules": cfg.rules.model_copy(update={"meal_interval_h": 0, "workorder_requires_approval": False})}
    )
    model = compile_site(cfg)
    scenario = generate(model, subjects=16, seed=3, hours=12, inject=set(vocab.FIRST_LAYER_RULES))
    batches = [[e for e in map(_first_release_event, b) if e is not None] for b in scenario.event_batches()]
    assert any(e["type"] == "checkin" for b in batches for e in b)
    for engine in ("reference", "compiled"):
        eng = CustodyEngine(model, engine if engine != "compiled" or _compiled() else "reference")
        out = [r for b in batches for r in eng.feed(b)] + eng.finish(scenario.last_ts)
        rules = {r["rule"] for r in out if r["kind"] == "alert"}
        assert rules <= set(vocab.FIRST_LAYER_RULES) | {"mixed_sex_waiting"}
        # (the consequence the generator also announces, belongings_not_returned, needs `owner`)
        assert {e.rule for e in scenario.expected if e.rule in vocab.FIRST_LAYER_RULES} <= rules
        for t in (r for r in out if r["kind"] == "trail"):
            assert t["exits"] == [] and t["welfare"] == [] and t["decisions"] == []
            assert t["outcome"] is None and t["released_to"] is None and t["minor"] is False


_SECOND_LAYER_TYPES = {"leave", "return", "decision", "welfare", "seizure", "unlock"}
_SECOND_LAYER_FIELDS = {
    "age",
    "pregnant",
    "guardian",
    "outcome",
    "released_to",
    "belongings",
    "belongings_reason",
    "owner",
    "seized_ts",
    "requested_by",
    "approved_by",
}


def _first_release_event(ev: dict) -> dict | None:
    """The generated day as the first release logged it: no second-layer events or fields, no
    guardians, no minors (a minor's guardian is second layer), belongings disposed of. A subject
    out on a temporary exit is then merely unread (a first-layer tag_lost)."""
    if ev["type"] in _SECOND_LAYER_TYPES or ev.get("role") == "guardian":
        return None
    out = {k: v for k, v in ev.items() if k not in _SECOND_LAYER_FIELDS}
    if out["type"] == "checkin":
        out["minor"] = False
    if out.get("action") == "release":
        out["action"] = "dispose"
    return out


def _compiled() -> bool:
    from tests.engine.conftest import ENGINES

    return "compiled" in ENGINES
