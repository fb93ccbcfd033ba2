"""A multi-day fixture for the supervision figures: generated days with announced violations, run
through the real engine, journalled as a gateway journals them, ready to ingest.

Each day is a scenario day (gateway/scenario.py) starting 24 h after the previous one; the engine
runs across all of them like a gateway that never restarts. (Work order ids of later days get a
day prefix. Handling areas only: a generated property-room day leaves items in its slots, so a
second day on the same engine is not a clean day; use one day there.) What the days contain is known from
the scenarios themselves (their check-in/check-out events and their `expected` alerts), which is
what the tests compute the expected figures from. Reader events (tag_seen) are journalled by a
gateway too, but are left out here: no figure reads them, and they are most of the volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core_ext.api import CustodyEngine
from core_ext.site import SiteModel, load_site_model
from gateway.scenario import DEFAULT_START_MS, Scenario, generate

ROOT = Path(__file__).resolve().parents[2]
AREA = ROOT / "firmware_configs" / "sites" / "demo-area.yaml"
PROPERTY = ROOT / "firmware_configs" / "sites" / "demo-property.yaml"
DAY_MS = 86_400_000
# The alerts whose subject's trail does not close (DESIGN §3: lost tag, unrecorded time, missing step).
TRAIL_BREAKING = frozenset({"tag_lost", "recording_gap", "incomplete_exit"})


@dataclass
class Days:
    model: SiteModel
    scenarios: list[Scenario]
    events: list[dict[str, Any]] = field(default_factory=list)  # every scenario event but reads
    entries: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (ts, kind, body)

    def descriptor(self, site_id: str, name: str) -> dict[str, Any]:
        cfg = self.model.config
        return {
            "id": site_id,
            "name": name,
            "kind": cfg.site.kind,
            "timezone": cfg.site.timezone,
            "zones": [
                {
                    "id": z.id,
                    "type": z.type,
                    "name": z.name or None,
                    "cameras": list(z.cameras),
                    "requires_recording": z.requires_recording,
                }
                for z in cfg.zones
            ],
            "lockers": [{"id": b.id, "slots": b.slots, "zone": b.zone} for b in cfg.lockers],
            "doors": [{"id": d.id} for d in cfg.doors],
        }


def expected_alerts(days: Days) -> list[tuple[str, str, int, int | None, str]]:
    """(rule, subject, ts, cleared_ts, injected) of every announced alert of every day."""
    return [(e.rule, e.subject, e.ts, e.cleared_ts, e.injected) for s in days.scenarios for e in s.expected]


def run_days(
    path: Path, plan: list[tuple[int, set[str]]], subjects: int, hours: float = 12, start_ms: int = DEFAULT_START_MS
) -> Days:
    """`plan`: (seed, rules to inject) per day."""
    model = load_site_model(path)
    engine = CustodyEngine(model)
    days = Days(model, [])
    last = start_ms
    for index, (seed, inject) in enumerate(plan):
        scenario = generate(
            model, subjects=subjects, seed=seed, start_ms=start_ms + index * DAY_MS, hours=hours, inject=inject
        )
        assert scenario.start_ms >= last, "days must not overlap"
        days.scenarios.append(scenario)
        for batch in scenario.event_batches():
            if not batch:
                continue
            if index:  # every generated day numbers its work orders from 1; ids must stay unique
                batch = [{**e, "id": f"d{index}-{e['id']}"} if e["type"] == "workorder" else e for e in batch]
            outputs = engine.feed(batch)
            batch_ts = batch[-1]["ts"]
            for event in batch:
                if event["type"] != "tag_seen":
                    days.events.append(event)
                    days.entries.append((event["ts"], "event", event))
            days.entries.extend((o.get("ts", batch_ts), o["kind"], o) for o in outputs)
        days.entries.extend((o.get("ts", scenario.last_ts), o["kind"], o) for o in engine.tick(scenario.last_ts))
        last = scenario.last_ts
    days.entries.extend((o.get("ts", last), o["kind"], o) for o in engine.finish(last))
    return days
