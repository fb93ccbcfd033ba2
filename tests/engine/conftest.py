"""Engine test helpers: a small site, an event builder, and both engines."""
from __future__ import annotations

import textwrap

import pytest

from core_ext.api import CustodyEngine
from core_ext.output import REPLAY_KINDS
from core_ext.select import CompiledEngine
from core_ext.site import compile_site, parse_site

ENGINES = ["reference"] + (["compiled"] if CompiledEngine is not None else [])

SMALL_SITE = textwrap.dedent("""
    site: {id: t, name: test, kind: handling_area}
    zones:
      - {id: entry, type: entry, requires_recording: false}
      - {id: check, type: security_check, cameras: [cam-check]}
      - {id: info, type: info_collection, requires_recording: false}
      - {id: wait1, type: waiting, cameras: [cam-w1]}
      - {id: wait2, type: waiting, cameras: [cam-w2]}
      - {id: int1, type: interrogation, cameras: [cam-i1a, cam-i1b]}
      - {id: hall, type: corridor, requires_recording: false}
      - {id: exit, type: exit, requires_recording: false}
    flow:
      - [entry, check]
      - [check, info]
      - [info, hall]
      - [hall, wait1]
      - [hall, wait2]
      - [hall, int1]
      - [wait1, hall]
      - [wait2, hall]
      - [int1, hall]
      - [hall, exit]
    required_steps: [security_check, info_collection]
    readers:
      - {id: r-entry, zone: entry}
      - {id: r-check, zone: check}
      - {id: r-info, zone: info}
      - {id: r-w1, zone: wait1}
      - {id: r-w2, zone: wait2}
      - {id: r-i1, zone: int1}
      - {id: r-hall, zone: hall}
      - {id: r-exit, zone: exit}
    lockers:
      - {id: bank, slots: 4}
    doors:
      - {id: door1}
    rules: {grace_s: 30, lost_after_s: 60, warn_before_min: 60, slot_open_max_s: 120,
            door_open_max_s: 60, intake_window_s: 300}
""")

S = 1000  # one second in ms
T0 = 1_700_000_000_000  # a fixed epoch for readable offsets


def small_site(extra: str = ""):
    return compile_site(parse_site(SMALL_SITE + textwrap.dedent(extra), "<small-site>"))


class Log:
    """Builds event lists with times relative to T0 in seconds."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def add(self, t: float, type_: str, **fields) -> Log:
        self.events.append({"ts": T0 + int(t * S), "type": type_, **fields})
        return self

    def enroll(self, t, person, sex="M", role="officer"):
        return self.add(t, "enroll", person=person, role=role, sex=sex, tag=f"tag-{person}")

    def checkin(self, t, person, case="case1", sex="M", basis="criminal_summons", **kw):
        return self.add(t, "checkin", person=person, role=kw.pop("role", "suspect"), sex=sex,
                        tag=f"tag-{person}", basis=basis, case=case, **kw)

    def seen(self, t, reader, *persons):
        for p in persons:
            self.add(t, "tag_seen", reader=reader, tag=f"tag-{p}")
        return self

    def stay(self, t_from, t_to, reader, *persons, every=10):
        """Reads every `every` s from t_from to t_to inclusive."""
        t = t_from
        while t <= t_to:
            self.seen(t, reader, *persons)
            t += every
        return self

    def cameras_on(self, t, *cams):
        for c in cams:
            self.add(t, "camera", camera=c, state="recording")
        return self

    def checkout(self, t, person):
        return self.add(t, "checkout", person=person)


ALL_CAMS = ("cam-check", "cam-w1", "cam-w2", "cam-i1a", "cam-i1b")


def run(events, site=None, engine="reference", until=None, kinds=REPLAY_KINDS):
    eng = CustodyEngine(site or small_site(), engine)
    out = eng.feed(sorted(events, key=lambda e: e["ts"]))  # stable: same-ts events keep log order
    out += eng.finish(None if until is None else T0 + int(until * S))
    return [r for r in out if r["kind"] in kinds]


def alerts(out, rule=None):
    return [(r["rule"], r["state"], r["subject"], (r["ts"] - T0) / S) for r in out
            if r["kind"] == "alert" and (rule is None or r["rule"] == rule)]


@pytest.fixture(params=ENGINES)
def engine(request):
    return request.param
