"""What the demo reports at the end: read back from the central server's API (what the center
really sees) and from the gateways' journals (what they produced), never from the player's
own idea of what should have happened."""
from __future__ import annotations

from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from core_ext.i18n import cli_locale, gettext
from core_ext.i18n.rules import rule_title
from gateway.journal import Journal


class CenterClient:
    """The central server's API as the admin user."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30.0)

    async def login(self, username: str, password: str) -> None:
        answer = await self.client.post("/login/access-token", data={"username": username, "password": password})
        answer.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    async def close(self) -> None:
        await self.client.aclose()

    async def ok_json(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.client.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"center {method} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    async def alerts(self, site_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = await self.ok_json("GET", "/alerts", params={"site_id": site_id, "limit": 1000, "offset": len(out)})
            rows = page["alerts"]
            out += rows
            if len(rows) < 1000:
                return out

    async def gateways(self, site_id: str) -> list[dict[str, Any]]:
        return await self.ok_json("GET", f"/sites/{site_id}/gateways")

    async def trail(self, site_id: str, person: str) -> dict[str, Any] | None:
        answer = await self.client.get(f"/sites/{site_id}/subjects/{person}/trail")
        if answer.status_code == 404:
            return None
        if answer.status_code >= 400:
            raise RuntimeError(f"center trail {site_id}/{person}: {answer.status_code} {answer.text}")
        return answer.json()

    async def items(self, site_id: str) -> list[dict[str, Any]]:
        return await self.ok_json("GET", f"/sites/{site_id}/items")


def journal_counts(data_dir: Path, delivered_seq: int) -> dict[str, int]:
    """Entries and events a gateway journaled, and how many of them the server acknowledged."""
    journal = Journal(data_dir)
    try:
        events = events_delivered = entries = 0
        for entry in journal.iter_entries():
            entries += 1
            if entry.kind == "event":
                events += 1
                if entry.seq <= delivered_seq:
                    events_delivered += 1
        return {"entries": entries, "entries_delivered": min(entries, delivered_seq), "events": events,
                "events_delivered": events_delivered, "events_lost": events - events_delivered,
                "rejected_device_events": journal.count_rejected()}
    finally:
        journal.close()


async def site_summary(center: CenterClient, site_id: str, checkins: list[str]) -> dict[str, Any]:
    alerts = await center.alerts(site_id)
    gateways = await center.gateways(site_id)
    trails = {person: await center.trail(site_id, person) for person in checkins}
    seen = [p for p, t in trails.items() if t is not None]
    closed = [p for p, t in trails.items() if t is not None and t.get("closed")]
    return {
        "alerts": alerts,
        "alerts_by_rule": dict(sorted(Counter(a["rule"] for a in alerts).items())),
        "gateways": gateways,
        "subjects_checked_in": len(checkins),
        "subjects_seen": seen,
        "trails_closed": closed,
    }


def expected_report(expected: list[dict[str, Any]], alerts_by_site: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each alert the scenario's injections announce, and whether the center has it."""
    raised = {(site, a["rule"], a["subject"]) for site, alerts in alerts_by_site.items() for a in alerts}
    return [{**e, "seen": (e["site"], e["rule"], e["subject"]) in raised} for e in expected]


def unexpected_alerts(expected: list[dict[str, Any]], alerts_by_site: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Alerts at the center beyond those the injections announced (per site, rule and subject,
    by count): on a clean demo day, none. At high speeds thresholds shrink (grace 30 s / speed)
    towards the machine's scheduling jitter, and this is where that would show."""
    allowance = Counter((e["site"], e["rule"], e["subject"]) for e in expected)
    out = []
    for site, alerts in alerts_by_site.items():
        for a in sorted(alerts, key=lambda a: a["raised_ts"]):
            key = (site, a["rule"], a["subject"])
            if allowance[key] > 0:
                allowance[key] -= 1
                continue
            out.append({"site": site, "rule": a["rule"], "subject": a["subject"], "zone": a["zone"],
                        "raised_ts": a["raised_ts"], "detail": a["detail"]})
    return out


def build_report(sites: dict[str, Any], expected: list[dict[str, Any]], *, speed: float, seconds: float,
                 board_url: str, processes: dict[str, int | None]) -> dict[str, Any]:
    """The --report JSON (events_delivered and events_lost are added once the gateways stopped)."""
    alerts_by_site = {s: v["alerts"] for s, v in sites.items()}
    checked = expected_report(expected, alerts_by_site)
    by_rule: Counter[str] = Counter()
    for v in sites.values():
        by_rule.update(v["alerts_by_rule"])
    return {
        "speed": speed,
        "seconds": seconds,
        "board_url": board_url,
        "subjects_seen": sum(len(v["subjects_seen"]) for v in sites.values()),
        "alerts_by_rule": dict(sorted(by_rule.items())),
        "gateways_connected": sum(1 for v in sites.values() for g in v["gateways"] if g["last_seen_ts"]),
        "expected_alerts": checked,
        "expected_seen": sum(1 for e in checked if e["seen"]),
        "expected_played": sum(1 for e in checked if e["played"]),
        "unexpected_alerts": unexpected_alerts(checked, alerts_by_site),
        "processes": processes,
        "sites": {s: {k: v for k, v in site.items() if k != "alerts"} for s, site in sites.items()},
    }


def print_summary(report: dict[str, Any]) -> None:
    """For people, in the CLI's language ($CUSTODY_LOCALE / LANG, default zh-CN); rule ids stay beside titles."""
    locale = cli_locale()
    _ = partial(gettext, locale)
    closed = sum(len(site.get("trails_closed", [])) for site in report["sites"].values())
    lines = [
        "",
        _("subjects seen at the center: %(seen)s (custody loops closed: %(closed)s); gateways connected: %(gateways)s") % {
            "seen": report["subjects_seen"], "closed": closed, "gateways": report["gateways_connected"]},
        _("events delivered: %(delivered)s, lost: %(lost)s") % {
            "delivered": report.get("events_delivered"), "lost": report.get("events_lost")},
        _("announced violations caught: %(seen)s of %(played)s played (%(day)s in the day); "
          "alerts nobody announced: %(unannounced)s") % {
            "seen": report["expected_seen"], "played": report["expected_played"], "day": len(report["expected_alerts"]),
            "unannounced": len(report["unexpected_alerts"])},
    ]
    lines += ["  " + _("missed: %(site)s %(title)s (%(rule)s) %(subject)s due at %(time)s") % {
        "site": e["site"], "title": rule_title(e["rule"], locale), "rule": e["rule"], "subject": e["subject"],
        "time": e["day_time"]} for e in report["expected_alerts"] if e["played"] and not e["seen"]]
    lines += ["  " + _("unannounced: %(site)s %(title)s (%(rule)s) %(subject)s in %(zone)s") % {
        "site": a["site"], "title": rule_title(a["rule"], locale), "rule": a["rule"], "subject": a["subject"],
        "zone": a["zone"]} for a in report["unexpected_alerts"]]
    lines += [_("alerts at the center by rule:")] + [
        f"  {rule_title(rule, locale)} ({rule})  {n}" for rule, n in report["alerts_by_rule"].items()]
    print("\n".join(lines), flush=True)
