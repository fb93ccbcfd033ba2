"""Hypothesis strategies: random but valid event logs for the small test site."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.engine.conftest import T0

READERS = ["r-entry", "r-check", "r-info", "r-w1", "r-w2", "r-i1", "r-hall", "r-exit"]
CAMS = ["cam-check", "cam-w1", "cam-w2", "cam-i1a", "cam-i1b"]
STAFF = [("o1", "M"), ("o2", "M"), ("of", "F")]
SUBJECTS = [("s1", "M", "K"), ("s2", "F", "K"), ("s3", "M", "L"), ("k4", "F", "L")]
ITEMS = ["EV-1", "EV-2", "EV-3"]
GUARDIANS = [("g1", "F", "k4"), ("g2", "M", None)]


@st.composite
def event_logs(draw, max_steps=120):
    """A log that is valid by construction: check-ins/outs consistent, time moving forward."""
    t = T0
    events = [
        {"ts": t, "type": "enroll", "person": p, "role": "officer", "sex": s, "tag": f"tag-{p}"} for p, s in STAFF
    ]
    for g, sex, ward in GUARDIANS:
        ev = {"ts": t, "type": "enroll", "person": g, "role": "guardian", "sex": sex, "tag": f"tag-{g}"}
        if ward:
            ev["for"] = ward
        events.append(ev)
    inside: set[str] = set()
    away: set[str] = set()
    stepwise: set[str] = set()
    wo = 0
    for _ in range(draw(st.integers(1, max_steps))):
        t += draw(st.sampled_from([0, 1, 500, 1000, 5000, 15_000, 29_999, 30_000, 30_001, 61_000, 600_000]))
        kind = draw(
            st.sampled_from(
                [
                    "read",
                    "read",
                    "read",
                    "read",
                    "camera",
                    "checkin",
                    "checkout",
                    "extend",
                    "door",
                    "intake",
                    "locker",
                    "workorder",
                    "leave",
                    "return",
                    "decision",
                    "welfare",
                    "seizure",
                    "unlock",
                ]
            )
        )
        if kind == "read":
            who = draw(
                st.sampled_from(
                    [p for p, _ in STAFF] + [s for s, _, _ in SUBJECTS] + [g for g, _, _ in GUARDIANS] + ["stranger"]
                )
            )
            events.append({"ts": t, "type": "tag_seen", "reader": draw(st.sampled_from(READERS)), "tag": f"tag-{who}"})
        elif kind == "camera":
            events.append(
                {
                    "ts": t,
                    "type": "camera",
                    "camera": draw(st.sampled_from(CAMS)),
                    "state": draw(st.sampled_from(["recording", "stopped", "offline", "online"])),
                }
            )
        elif kind == "checkin":
            name, sex, case = draw(st.sampled_from(SUBJECTS))
            if name in inside:
                continue
            inside.add(name)
            basis = draw(st.sampled_from(["admin_summons", "criminal_summons", "continued_questioning"]))
            ev = {
                "ts": t,
                "type": "checkin",
                "person": name,
                "role": "suspect",
                "sex": sex,
                "tag": f"tag-{name}",
                "case": case,
                "basis": basis,
                "arrived_ts": t - draw(st.sampled_from([0, 3_600_000, 30_000_000])),
                "extended": basis != "continued_questioning" and draw(st.booleans()),
            }
            if basis == "continued_questioning":
                stepwise.add(name)  # may be vulnerable: never extended here
            else:
                stepwise.discard(name)
            age = draw(st.sampled_from([None, 14, 15, 17, 30, 75]))
            if age is not None:
                ev["age"] = age
            if sex == "F" and draw(st.booleans()):
                ev["pregnant"] = True
            if draw(st.booleans()):
                ev["minor"] = True
                if draw(st.booleans()):
                    ev["guardian"] = "g2"
            events.append(ev)
        elif kind in ("checkout", "extend", "leave", "return", "decision", "welfare"):
            pool = sorted(away) if kind == "return" else sorted(inside - away) if kind == "leave" else sorted(inside)
            if not pool:
                continue
            name = draw(st.sampled_from(pool))
            if kind == "checkout":
                inside.discard(name)
                away.discard(name)
                ev = {
                    "ts": t,
                    "type": "checkout",
                    "person": name,
                    "outcome": draw(st.sampled_from(["released", "released", "criminal_detention", "bail"])),
                }
                if draw(st.booleans()):
                    ev["released_to"] = "family"
                if draw(st.booleans()):
                    ev["belongings"], ev["belongings_reason"] = "kept", "evidence"
                events.append(ev)
            elif kind == "extend":
                if name in stepwise:
                    continue
                events.append({"ts": t, "type": "extend", "person": name, "level": "extended"})
            elif kind == "leave":
                away.add(name)
                events.append(
                    {
                        "ts": t,
                        "type": "leave",
                        "person": name,
                        "approved_by": "chief",
                        "reason": draw(st.sampled_from(["identify_scene", "recover_stolen", "medical", "other"])),
                        "until_ts": t + draw(st.sampled_from([0, 30_000, 600_000])),
                    }
                )
            elif kind == "return":
                away.discard(name)
                events.append({"ts": t, "type": "return", "person": name})
            elif kind == "decision":
                events.append(
                    {
                        "ts": t,
                        "type": "decision",
                        "person": name,
                        "kind": draw(st.sampled_from(["criminal_detention", "admin_detention", "arrest"])),
                    }
                )
            else:
                events.append(
                    {
                        "ts": t,
                        "type": "welfare",
                        "person": name,
                        "kind": draw(st.sampled_from(["meal", "meal", "water", "rest"])),
                    }
                )
        elif kind == "seizure":
            events.append(
                {
                    "ts": t,
                    "type": "seizure",
                    "item": draw(st.sampled_from(ITEMS + ["EV-9"])),
                    "case": "K",
                    "by": "o1",
                    "seized_ts": t - draw(st.sampled_from([0, 80_000_000])),
                }
            )
        elif kind == "unlock":
            events.append({"ts": t, "type": "unlock", "bank": "bank", "slot": draw(st.integers(1, 2)), "by": "o1"})
        elif kind == "door":
            events.append(
                {"ts": t, "type": "door", "door": "door1", "state": draw(st.sampled_from(["open", "closed", "forced"]))}
            )
        elif kind == "intake":
            ev = {
                "ts": t,
                "type": "intake",
                "item": draw(st.sampled_from(ITEMS)),
                "case": "K",
                "bank": "bank",
                "slot": draw(st.integers(1, 2)),
            }
            owner = draw(st.sampled_from([None, "s1", "s2", "k4"]))
            if owner:
                ev["owner"] = owner
            events.append(ev)
        elif kind == "locker":
            state = draw(st.sampled_from(["open", "closed"]))
            ev = {"ts": t, "type": "locker", "bank": "bank", "slot": draw(st.integers(1, 2)), "state": state}
            if state == "closed":
                ev["items"] = draw(st.lists(st.sampled_from(ITEMS + ["FAKE"]), max_size=3))
            events.append(ev)
        else:
            wo += 1
            ev = {
                "ts": t,
                "type": "workorder",
                "id": f"WO-{wo}",
                "item": draw(st.sampled_from(ITEMS)),
                "action": draw(st.sampled_from(["withdraw", "return", "dispose", "release"])),
                "bank": "bank",
                "slot": draw(st.integers(1, 2)),
                "valid_from": t,
                "valid_until": t + 600_000,
                "due_ts": t + draw(st.sampled_from([1000, 3_600_000])),
                "by": "o1",
                "requested_by": "o2",
            }
            approver = draw(st.sampled_from([None, "o2", "of", "of"]))
            if approver:
                ev["approved_by"] = approver
            events.append(ev)
    return events, t + draw(st.sampled_from([0, 30_000, 100_000, 10_000_000]))
