"""The offline demo: a generated day on both demo sites through the engine, summarised.

Used by `custody demo --offline` (and by `custody demo` until the live system is there): it
shows what the engine makes of a realistic day with a few injected violations, in a form a
newcomer can read in a minute.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core_ext.api import CustodyEngine
from core_ext.site import load_site_model
from gateway.scenario import generate

CST = timezone(timedelta(hours=8), "CST")
DEMO_SITES = ("firmware_configs/sites/demo-area.yaml", "firmware_configs/sites/demo-property.yaml")
DEMO_INJECT = {
    "demo-area": ("unaccompanied", "insufficient_officers", "co_suspects_together", "recording_gap",
                  "time_limit_warning", "flow_violation"),
    "demo-property": ("locker_unauthorized_open", "item_mismatch", "item_overdue", "door_held_open"),
}


@dataclass
class SiteRun:
    site_id: str
    engine: str
    events: int = 0
    seconds: float = 0.0
    subjects: int = 0
    trails_closed: int = 0
    alerts_by_rule: Counter = field(default_factory=Counter)
    expected: int = 0
    expected_seen: int = 0
    first_alerts: list = field(default_factory=list)
    items: int = 0


def run_site(path: str, subjects: int, seed: int, inject: tuple[str, ...]) -> SiteRun:
    model = load_site_model(path)
    scenario = generate(model, subjects=subjects, seed=seed, inject=set(inject))
    eng = CustodyEngine(model)
    result = SiteRun(model.config.site.id, eng.engine_name)
    outputs = []
    t0 = time.perf_counter()
    for batch in scenario.event_batches():
        result.events += len(batch)
        outputs += eng.feed(batch)
    outputs += eng.finish(scenario.last_ts)
    result.seconds = time.perf_counter() - t0
    for rec in outputs:
        if rec["kind"] == "alert" and rec["state"] == "raised":
            result.alerts_by_rule[rec["rule"]] += 1
            if len(result.first_alerts) < 12:
                result.first_alerts.append(rec)
        elif rec["kind"] == "trail":
            result.subjects += 1
            result.trails_closed += rec["closed"]
        elif rec["kind"] == "item_trail":
            result.items += 1
    raised = {(r["rule"], r["subject"], r["ts"]) for r in outputs if r["kind"] == "alert" and r["state"] == "raised"}
    result.expected = len(scenario.expected)
    result.expected_seen = sum((e.rule, e.subject, e.ts) in raised for e in scenario.expected)
    return result


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, CST).strftime("%H:%M:%S")


def print_summary(runs: list[SiteRun]) -> None:
    for r in runs:
        rate = r.events / r.seconds if r.seconds else 0
        print(f"\n== {r.site_id}: {r.events:,} events in {r.seconds:.2f} s ({rate:,.0f} events/s, engine {r.engine})")
        if r.subjects:
            print(f"   subjects through custody: {r.subjects}, loops closed: {r.trails_closed}")
        if r.items:
            print(f"   items tracked: {r.items}")
        print(f"   injected violations caught at their expected time: {r.expected_seen}/{r.expected}")
        if r.alerts_by_rule:
            print("   alerts raised by rule:")
            for rule, n in sorted(r.alerts_by_rule.items()):
                print(f"     {rule:<40} {n}")
        for a in r.first_alerts[:6]:
            print(f"   {_clock(a['ts'])}  {a['severity']:<8} {a['rule']:<28} {a['subject']:<14} zone={a['zone']}")


def run_offline(subjects: int = 24, seed: int = 1) -> int:
    runs = []
    for path in DEMO_SITES:
        site_id = path.rsplit("/", 1)[-1].removesuffix(".yaml")
        runs.append(run_site(path, subjects, seed, DEMO_INJECT.get(site_id, ())))
    print_summary(runs)
    missed = sum(r.expected - r.expected_seen for r in runs)
    if missed:
        print(f"\n{missed} injected violation(s) were not raised when expected")
        return 1
    return 0
