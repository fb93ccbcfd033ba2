"""A small second-layer morning run through the real engine and journalled as a gateway journals it
(each event, then the engine's outputs for it), ready to ingest; DESIGN §3 and §6.2 "Second layer".

Who is there at the end (`UNTIL`):
  m1  a 15-year-old girl (minor) in int1 with her guardian g1 (enrolled `for: m1`) and a female officer;
  v1  75 years old under continued questioning (vulnerable), in the corridor with an officer;
  s1  out on a temporary exit for medical care, approved by chief-wang, due back at T(200);
  s2  under a criminal detention decision at T(30), fed at T(40);
  s3  out to identify the scene T(50)–T(90), fed and given water, checked out at T(110) as released,
      collected by her mother, her belongings kept with a reason.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from core_ext.api import CustodyEngine
from core_ext.site import SiteModel, compile_site, parse_site
from gateway.supervisor import site_descriptor

MIN = 60_000
T0 = 1_763_683_200_000  # 2025-11-21 00:00 UTC = 08:00 in Asia/Shanghai


def T(minutes: float) -> int:  # noqa: N802 - reads like the brief's T(…) times
    return T0 + int(minutes * MIN)


SITE_YAML = textwrap.dedent("""
    site: {id: sl, name: Second layer area, kind: handling_area, timezone: Asia/Shanghai}
    zones:
      - {id: entry, type: entry, requires_recording: false}
      - {id: wait1, type: waiting, cameras: [cam-w1]}
      - {id: int1, type: interrogation, cameras: [cam-i1]}
      - {id: hall, type: corridor, requires_recording: false}
      - {id: exit, type: exit, requires_recording: false}
    required_steps: []
    readers:
      - {id: r-entry, zone: entry}
      - {id: r-w1, zone: wait1}
      - {id: r-i1, zone: int1}
      - {id: r-hall, zone: hall}
      - {id: r-exit, zone: exit}
    lockers:
      - {id: bank, slots: 4}
    rules: {grace_s: 30, lost_after_s: 36000, meal_interval_h: 6, transfer_limit_h: 20}
""")

TRANSFER_LIMIT_MS = 20 * 3_600_000
MEAL_INTERVAL_MS = 6 * 3_600_000
UNTIL = T(120)
RELEASED_TO = "李某（母亲）"
KEPT_REASON = "涉案手机暂扣"


def site_model() -> SiteModel:
    return compile_site(parse_site(SITE_YAML, "<second-layer-site>"))


def events() -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(minutes: float, type_: str, **fields: Any) -> None:
        ev.append({"ts": T(minutes), "type": type_, **fields})

    def seen(minutes: float, reader: str, *people: str) -> None:
        for person in people:
            add(minutes, "tag_seen", reader=reader, tag=f"tag-{person}")

    for camera in ("cam-w1", "cam-i1"):
        add(0, "camera", camera=camera, state="recording")
    for person, sex in (("o1", "M"), ("o2", "M"), ("of", "F")):
        add(0, "enroll", person=person, role="officer", sex=sex, tag=f"tag-{person}")
    add(0, "enroll", person="g1", role="guardian", sex="F", tag="tag-g1", **{"for": "m1"})
    add(1, "checkin", person="m1", role="suspect", sex="F", tag="tag-m1", basis="criminal_summons", case="c1", age=15)
    add(1, "checkin", person="v1", role="suspect", sex="M", tag="tag-v1", basis="continued_questioning", case="c2", age=75)
    for person, case in (("s1", "c3"), ("s2", "c4"), ("s3", "c5")):
        add(1, "checkin", person=person, role="suspect", sex="M" if person != "s3" else "F", tag=f"tag-{person}",
            basis="criminal_summons", case=case)
    seen(2, "r-i1", "m1", "g1", "of", "o1")
    seen(2, "r-hall", "v1", "o2", "s1", "s2", "s3")
    add(20, "leave", person="s1", reason="medical", until_ts=T(200), approved_by="chief-wang")
    add(30, "decision", person="s2", kind="criminal_detention")
    add(40, "welfare", person="s2", kind="meal")
    add(40, "welfare", person="s3", kind="meal")
    add(41, "welfare", person="s3", kind="water")
    add(50, "leave", person="s3", reason="identify_scene", until_ts=T(120), approved_by="chief-wang")
    add(90, "return", person="s3")
    seen(95, "r-exit", "s3")
    add(110, "checkout", person="s3", outcome="released", released_to=RELEASED_TO, belongings="kept",
        belongings_reason=KEPT_REASON)
    return ev


@dataclass
class Day:
    model: SiteModel
    entries: list[tuple[str, int, dict[str, Any]]]  # (kind, ts, body) in journal order

    def descriptor(self, site_id: str) -> dict[str, Any]:
        return {**site_descriptor(self.model.config), "id": site_id}


def run_day(until: int = UNTIL) -> Day:
    model = site_model()
    engine = CustodyEngine(model)
    entries: list[tuple[str, int, dict[str, Any]]] = []
    for event in events():
        outputs = engine.feed([event])
        entries.append(("event", event["ts"], event))
        entries.extend((o["kind"], o.get("ts", event["ts"]), o) for o in outputs)
    entries.extend((o["kind"], o.get("ts", until), o) for o in engine.tick(until))
    return Day(model, entries)


def ingest_day(world, day: Day, chunk: int = 400) -> None:
    """PUT the site's descriptor (with its rules) and ingest the day's journal in batches."""
    described = world.client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=day.descriptor(world.site_id),
                                 headers=world.gw)
    assert described.status_code == 200, described.text
    j = world.journal
    for start in range(0, len(day.entries), chunk):
        batch = [j.entry(kind, ts, body) for kind, ts, body in day.entries[start:start + chunk]]
        reply = world.ingest(*batch)
        assert reply.status_code == 200, reply.text
