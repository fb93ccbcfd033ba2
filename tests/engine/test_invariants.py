"""Property-based invariants of the engine over random valid logs (both engines)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from core_ext import vocab
from core_ext.api import CustodyEngine
from core_ext.site import compile_site, parse_site
from tests.engine.conftest import ENGINES, SMALL_SITE
from tests.engine.strategies import event_logs

ONE_SHOT = set(vocab.ONE_SHOT_RULES)
PRESENCE = set(vocab.PERSON_CONDITIONS) | {"tag_lost"}
TIME_LIMITS = {"time_limit_warning", "time_limit_exceeded"}
# the small site with the second layer's site policies switched on
SITE = compile_site(
    parse_site(
        SMALL_SITE.replace(
            "intake_window_s: 300}", "intake_window_s: 300, meal_interval_h: 1, workorder_requires_approval: true}"
        ),
        "<invariants-site>",
    )
)


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
        expected_closed = (
            r["checkout_ts"] is not None
            and not r["tag_lost"]
            and not r["steps_missing"]
            and all(s["unrecorded_ms"] == 0 for s in stays)
        )
        assert r["closed"] == expected_closed
    check_second_layer(events, out)


def check_second_layer(events, out):
    """A subject out on a temporary exit has no presence alert (none raised while out, none still
    raised at the leave); a decision leaves no time-limit alert raised, and none fires after it."""
    away: dict[str, int] = {}
    exits: list[tuple[str, int, int]] = []
    decided: dict[str, int] = {}
    custody_end: dict[str, int] = {}
    for ev in events:
        who = ev.get("person")
        if ev["type"] == "leave":
            away[who] = ev["ts"]
        elif ev["type"] in ("return", "checkout") and who in away:
            exits.append((who, away.pop(who), ev["ts"]))
        if ev["type"] == "decision" and who not in decided:
            decided[who] = ev["ts"]
        if ev["type"] == "checkout" and who in decided:
            custody_end[who] = ev["ts"]
        if ev["type"] == "checkin":
            decided.pop(who, None)
    exits += [(who, t, 1 << 62) for who, t in away.items()]
    alerts = [r for r in out if r["kind"] == "alert"]
    for who, leave, back in exits:
        assert not any(
            a["subject"] == who and a["rule"] in PRESENCE and a["state"] == "raised" and leave <= a["ts"] <= back
            for a in alerts
        ), (who, leave, back)
        assert not [k for k in open_alerts_at(out, leave, who) if k[0] in PRESENCE]
    for who, t in decided.items():
        end = custody_end.get(who, 1 << 62)
        assert not [k for k in open_alerts_at(out, t, who) if k[0] in TIME_LIMITS]
        assert not any(
            a["subject"] == who and a["rule"] in TIME_LIMITS and a["state"] == "raised" and t <= a["ts"] <= end
            for a in alerts
        )


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
