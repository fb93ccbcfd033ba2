"""Hypothesis strategies: random but valid event logs for the small test site."""
from __future__ import annotations

from hypothesis import strategies as st

from tests.engine.conftest import T0

READERS = ["r-entry", "r-check", "r-info", "r-w1", "r-w2", "r-i1", "r-hall", "r-exit"]
CAMS = ["cam-check", "cam-w1", "cam-w2", "cam-i1a", "cam-i1b"]
STAFF = [("o1", "M"), ("o2", "M"), ("of", "F")]
SUBJECTS = [("s1", "M", "K"), ("s2", "F", "K"), ("s3", "M", "L")]
ITEMS = ["EV-1", "EV-2", "EV-3"]


@st.composite
def event_logs(draw, max_steps=120):
    """A log that is valid by construction: check-ins/outs consistent, time moving forward."""
    t = T0
    events = [{"ts": t, "type": "enroll", "person": p, "role": "officer", "sex": s, "tag": f"tag-{p}"} for p, s in STAFF]
    inside: set[str] = set()
    wo = 0
    for _ in range(draw(st.integers(1, max_steps))):
        t += draw(st.sampled_from([0, 1, 500, 1000, 5000, 15_000, 29_999, 30_000, 30_001, 61_000, 600_000]))
        kind = draw(st.sampled_from(["read", "read", "read", "read", "camera", "checkin", "checkout", "extend",
                                     "door", "intake", "locker", "workorder"]))
        if kind == "read":
            who = draw(st.sampled_from([p for p, _ in STAFF] + [s for s, _, _ in SUBJECTS] + ["stranger"]))
            events.append({"ts": t, "type": "tag_seen", "reader": draw(st.sampled_from(READERS)), "tag": f"tag-{who}"})
        elif kind == "camera":
            events.append({"ts": t, "type": "camera", "camera": draw(st.sampled_from(CAMS)),
                           "state": draw(st.sampled_from(["recording", "stopped", "offline", "online"]))})
        elif kind == "checkin":
            name, sex, case = draw(st.sampled_from(SUBJECTS))
            if name in inside:
                continue
            inside.add(name)
            events.append({"ts": t, "type": "checkin", "person": name, "role": "suspect", "sex": sex,
                           "tag": f"tag-{name}", "case": case,
                           "basis": draw(st.sampled_from(["admin_summons", "criminal_summons"])),
                           "arrived_ts": t - draw(st.sampled_from([0, 3_600_000, 30_000_000])),
                           "extended": draw(st.booleans())})
        elif kind in ("checkout", "extend"):
            if not inside:
                continue
            name = draw(st.sampled_from(sorted(inside)))
            if kind == "checkout":
                inside.discard(name)
                events.append({"ts": t, "type": "checkout", "person": name})
            else:
                events.append({"ts": t, "type": "extend", "person": name, "level": "extended"})
        elif kind == "door":
            events.append({"ts": t, "type": "door", "door": "door1", "state": draw(st.sampled_from(["open", "closed", "forced"]))})
        elif kind == "intake":
            events.append({"ts": t, "type": "intake", "item": draw(st.sampled_from(ITEMS)), "case": "K",
                           "bank": "bank", "slot": draw(st.integers(1, 2))})
        elif kind == "locker":
            state = draw(st.sampled_from(["open", "closed"]))
            ev = {"ts": t, "type": "locker", "bank": "bank", "slot": draw(st.integers(1, 2)), "state": state}
            if state == "closed":
                ev["items"] = draw(st.lists(st.sampled_from(ITEMS + ["FAKE"]), max_size=3))
            events.append(ev)
        else:
            wo += 1
            events.append({"ts": t, "type": "workorder", "id": f"WO-{wo}", "item": draw(st.sampled_from(ITEMS)),
                           "action": draw(st.sampled_from(["withdraw", "return", "dispose"])), "bank": "bank",
                           "slot": draw(st.integers(1, 2)), "valid_from": t, "valid_until": t + 600_000,
                           "due_ts": t + draw(st.sampled_from([1000, 3_600_000]))})
    return events, t + draw(st.sampled_from([0, 30_000, 100_000, 10_000_000]))
