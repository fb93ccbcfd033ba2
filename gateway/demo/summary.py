"""The offline demo: a generated day on both demo sites through the engine, summarised.

Used by `custody demo --offline` (and by `custody demo` until the live system is there): it
shows what the engine makes of a realistic day with a few injected violations, in a form a
newcomer can read in a minute.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from core_ext.api import CustodyEngine
from core_ext.i18n import cli_locale, gettext
from core_ext.i18n.formatting import format_ts
from core_ext.i18n.rules import rule_title, severity_title
from core_ext.resources import site_file
from core_ext.site import load_site_model
from gateway.scenario import generate

DEMO_SITES = ("demo-area", "demo-property")  # packaged sites (firmware_configs/sites)
DEMO_INJECT = {
    "demo-area": (
        "unaccompanied",
        "insufficient_officers",
        "co_suspects_together",
        "recording_gap",
        "time_limit_warning",
        "flow_violation",
        # second layer (DESIGN §3): a day of 24 h from 08:00 has the night and the meals
        "minor_without_guardian",
        "temp_exit_overdue",
        "belongings_not_returned",
        "meal_overdue",
        "vulnerable_night_release",
    ),
    "demo-property": (
        "locker_unauthorized_open",
        "item_mismatch",
        "item_overdue",
        "door_held_open",
        "workorder_unapproved",
        "intake_overdue",
    ),
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


def run_site(path: str | Path, subjects: int, seed: int, inject: tuple[str, ...]) -> SiteRun:
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


def print_summary(runs: list[SiteRun], locale: str | None = None) -> None:
    """A human-readable summary in the CLI's language ($CUSTODY_LOCALE / LANG, default zh-CN);
    rule ids stay beside their translated titles so they can be grepped."""
    locale = locale or cli_locale()
    _ = partial(gettext, locale)
    for r in runs:
        rate = r.events / r.seconds if r.seconds else 0
        print(
            "\n== "
            + _("%(site)s: %(events)s events in %(seconds).2f s (%(rate)s events/s, engine %(engine)s)")
            % {
                "site": r.site_id,
                "events": f"{r.events:,}",
                "seconds": r.seconds,
                "rate": f"{rate:,.0f}",
                "engine": r.engine,
            }
        )
        if r.subjects:
            print(
                "   "
                + _("subjects through custody: %(subjects)d, loops closed: %(closed)d")
                % {"subjects": r.subjects, "closed": r.trails_closed}
            )
        if r.items:
            print("   " + _("items tracked: %(items)d") % {"items": r.items})
        print(
            "   "
            + _("injected violations caught at their expected time: %(seen)d/%(expected)d")
            % {"seen": r.expected_seen, "expected": r.expected}
        )
        if r.alerts_by_rule:
            print("   " + _("alerts raised by rule:"))
            for rule, n in sorted(r.alerts_by_rule.items()):
                print(f"     {rule_title(rule, locale)} ({rule})  {n}")
        for a in r.first_alerts[:6]:
            # Site time zone: the demo sites are in the default zone (Asia/Shanghai).
            print(
                f"   {format_ts(a['ts'], style='clock')}  {severity_title(a['severity'], locale)} {rule_title(a['rule'], locale)} ({a['rule']})  "
                f"{a['subject']}  " + _("zone: %(zone)s") % {"zone": a["zone"] or "—"}
            )


def run_offline(subjects: int = 24, seed: int = 1) -> int:
    runs = []
    for name in DEMO_SITES:
        runs.append(run_site(site_file(name), subjects, seed, DEMO_INJECT.get(name, ())))
    print_summary(runs)
    missed = sum(r.expected - r.expected_seen for r in runs)
    if missed:
        _ = partial(gettext, cli_locale())
        print("\n" + _("%(missed)d injected violation(s) were not raised when expected") % {"missed": missed})
        return 1
    return 0
