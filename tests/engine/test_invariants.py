"""Property-based invariants of the engine over random valid logs (both engines)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from core_ext import vocab
from core_ext.api import CustodyEngine
from tests.engine.conftest import ENGINES, small_site
from tests.engine.strategies import event_logs

ONE_SHOT = {"flow_violation", "incomplete_exit", "locker_unauthorized_open", "item_mismatch", "door_forced"}
SITE = small_site()


def replay_all(events, until, engine):
    eng = CustodyEngine(SITE, engine)
    return eng.feed(events) + eng.finish(until)


def check_invariants(events, until, out):
    # Alerts come in time order, raise/clear alternate per (rule, subject), one-shots are never cleared.
    open_alerts: dict[tuple[str, str], int] = {}
    last_ts = 0
    for r in out:
        if r["kind"] != "alert":
            continue
        assert r["ts"] >= last_ts, r
        last_ts = r["ts"]
        assert r["rule"] in vocab.RULE_CODE and r["severity"]
        key = (r["rule"], r["subject"])
        if r["rule"] in ONE_SHOT:
            assert r["state"] == "raised"
            continue
        if r["state"] == "raised":
            assert key not in open_alerts, f"raised twice without a clear: {key}"
            open_alerts[key] = r["ts"]
        else:
            assert key in open_alerts, f"cleared but never raised: {key}"
            assert r["detail"]["raised_ts"] == open_alerts.pop(key)
        # a checked-out subject carries no open alert
        if r["kind"] == "trail":
            pass
    for r in out:
        if r["kind"] != "trail":
            continue
        stays = r["stays"]
        for s in stays:
            assert s["leave_ts"] is None or s["enter_ts"] <= s["leave_ts"]
            assert 0 <= s["unrecorded_ms"] <= ((s["leave_ts"] or until) - s["enter_ts"])
        for a, b in zip(stays, stays[1:]):
            assert a["leave_ts"] is not None and a["leave_ts"] <= b["enter_ts"], "stays overlap"
        assert stays == [] or stays[0]["enter_ts"] >= r["checkin_ts"]
        if r["checkout_ts"] is not None:
            assert all(s["leave_ts"] is not None and s["leave_ts"] <= r["checkout_ts"] for s in stays)
            # check-out cleared every alert of that subject
            assert not any(subj == r["subject"] for (_, subj) in open_alerts_at(out, r["checkout_ts"], r["subject"]))
        expected_closed = (r["checkout_ts"] is not None and not r["tag_lost"] and not r["steps_missing"]
                           and all(s["unrecorded_ms"] == 0 for s in stays))
        assert r["closed"] == expected_closed


def open_alerts_at(out, ts, subject):
    """(rule, subject) pairs of condition alerts of `subject` still raised after everything at `ts`."""
    state: dict[tuple[str, str], bool] = {}
    for r in out:
        if r["kind"] == "alert" and r["subject"] == subject and r["rule"] not in ONE_SHOT and r["ts"] <= ts:
            state[(r["rule"], r["subject"])] = r["state"] == "raised"
    return [k for k, v in state.items() if v]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_logs())
def test_invariants_reference(log):
    events, until = log
    check_invariants(events, until, replay_all(events, until, "reference"))


if "compiled" in ENGINES:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event_logs())
    def test_compiled_equals_reference(log):
        events, until = log
        ref = replay_all(events, until, "reference")
        assert replay_all(events, until, "compiled") == ref
        check_invariants(events, until, ref)
