"""Play a generated day live: scenario time mapped to wall time, device events through the
simulators (real wire protocols), desk events through the gateway's desk API.

Scenario time t plays at wall time `wall0 + (t - t0) / speed`. The player sleeps until each
event's wall time (an absolute schedule, so lag never accumulates) and reports how far behind
it fell. Times inside desk events (arrival, work-order windows, due times) are mapped the same
way, extension tiers are scaled like the site's limits, and item ids are renamed to the
label-shaped ids the in-slot RFID lock boards report ("EV-000001", the profile's
`items.format`): the generator's ids ("ev-0001-1", "sub-0001-phone") cannot come from a
label number, and the demo's gateways are separate processes that cannot share an
`ItemTags` table with the simulators.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from drivers.sim.player import DEVICE_EVENTS, SimulatedSite
from gateway.demo.site import scale_hours

log = logging.getLogger("demo.player")

ITEM_ID_FORMAT = "EV-{:06d}"  # the generic-lockboard-16 profile's items.format
DESK_ROUTES = {
    "enroll": "/desk/v1/staff",
    "checkin": "/desk/v1/checkins",
    "extend": "/desk/v1/extensions",
    "checkout": "/desk/v1/checkouts",
    "intake": "/desk/v1/intakes",
    "workorder": "/desk/v1/workorders",
    "leave": "/desk/v1/leaves",
    "return": "/desk/v1/returns",
    "decision": "/desk/v1/decisions",
    "welfare": "/desk/v1/welfare",
    "seizure": "/desk/v1/seizures",
}
GUARDIAN_ROUTE = "/desk/v1/guardians"  # an `enroll` with role guardian (DESIGN §6.2 "Guardians")
WALL_TIME_FIELDS = ("arrived_ts", "valid_from", "valid_until", "due_ts", "until_ts", "seized_ts")
# A person read in one zone and then in the next: in a real building seconds apart, in the
# accelerated day a few milliseconds. A polled reader (UHF inventory) reports its read up to a
# poll later and a busy gateway may take two ready serial ports in either order, so the next
# zone's read is held until this long after the previous zone's: the wire then carries the
# moves in the order they happened. (Each hold is counted; later events catch up.)
ZONE_CHANGE_GUARD_S = 0.06
# How long the door waits for the unlock the custodian asked for. At 30-60x a second of day is a
# few milliseconds of wall time: a slow answer (a loaded machine) must not hold up every other
# device, so past this budget the door opens anyway and the unlock finishes in the background.
UNLOCK_WAIT_S = 0.05


class DeskRefused(RuntimeError):
    pass


class Timeline:
    """Scenario milliseconds ↔ wall-clock milliseconds at `speed`."""

    def __init__(self, scenario_t0: int, wall_t0_ms: int, speed: float) -> None:
        self.scenario_t0, self.wall_t0_ms, self.speed = scenario_t0, wall_t0_ms, speed

    def wall_ms(self, scenario_ms: int) -> int:
        return self.wall_t0_ms + round((scenario_ms - self.scenario_t0) / self.speed)

    def scenario_ms(self, wall_ms: int) -> int:
        return self.scenario_t0 + round((wall_ms - self.wall_t0_ms) * self.speed)


class ItemRenamer:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, item: str) -> str:
        new = self.ids.get(item)
        if new is None:
            new = self.ids[item] = ITEM_ID_FORMAT.format(len(self.ids) + 1)
        return new


@dataclass
class PlayStats:
    site_id: str
    device_events: int = 0
    desk_events: int = 0
    checkins: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    unlocks: int = 0  # slots opened through the desk API before their door opened
    unlocks_refused: int = 0  # opens nothing covered (the scenario's unauthorised openings)
    max_lag_ms: int = 0
    zone_change_holds: int = 0
    last_scenario_ts: int | None = None
    finished: bool = False


class SitePlayer:
    def __init__(
        self,
        site_id: str,
        sims: SimulatedSite,
        desk_url: str,
        desk_token: str,
        timeline: Timeline,
        renamer: ItemRenamer,
        reader_zones: dict[str, str],
        act_as: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        """act_as(name) -> a desk token of that staff member: the desk records `by` only as the
        logged-in user, so an event done by a custodian is posted with the custodian's own log-in."""
        self.act_as = act_as
        self._tokens: dict[str, str] = {}
        self.site_id, self.sims, self.timeline, self.rename = site_id, sims, timeline, renamer
        self.reader_zones = reader_zones
        self.last_read: dict[str, tuple[str, float]] = {}  # tag -> (zone, monotonic time sent)
        self.desk = httpx.AsyncClient(
            base_url=desk_url, headers={"Authorization": f"Bearer {desk_token}"}, timeout=30.0
        )
        self.stats = PlayStats(site_id)
        self._unlocks: set[asyncio.Task[None]] = set()
        self._unlock_errors: list[BaseException] = []

    def live_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as this live demo plays it (wall times, label-shaped item ids, scaled tiers)."""
        out = dict(event)
        for key in WALL_TIME_FIELDS:
            if key in out:
                out[key] = self.timeline.wall_ms(out[key])
        if "item" in out:
            out["item"] = self.rename(out["item"])
        if "items" in out:
            out["items"] = [self.rename(i) for i in out["items"]]
        if out.get("type") == "extend" and "limit_h" in out:
            out["limit_h"] = scale_hours(out["limit_h"], self.timeline.speed)
        return out

    async def play(self, events: Any) -> PlayStats:
        try:
            for event in events:
                due_ms = self.timeline.wall_ms(event["ts"])
                ahead_s = due_ms / 1000 - time.time()
                if ahead_s > 0:
                    await asyncio.sleep(ahead_s)
                else:
                    self.stats.max_lag_ms = max(self.stats.max_lag_ms, round(-ahead_s * 1000))
                    await asyncio.sleep(0)  # catching up: still let the simulators answer polls
                live = self.live_event(event)
                kind = live["type"]
                if kind == "tag_seen":
                    await self.hold_zone_change(live)
                if kind == "locker" and live["state"] == "open":
                    task = asyncio.create_task(self.unlock(live), name=f"unlock {live['bank']}/{live['slot']}")
                    self._unlocks.add(task)
                    task.add_done_callback(self._unlock_done)
                    await asyncio.wait({task}, timeout=UNLOCK_WAIT_S)
                if kind in DEVICE_EVENTS:
                    await self.sims.apply(live)
                    self.stats.device_events += 1
                else:
                    await self.desk_call(live)
                    self.stats.desk_events += 1
                self.stats.last_scenario_ts = event["ts"]
            self.stats.finished = True
            await asyncio.gather(*self._unlocks)
            if self._unlock_errors:
                raise self._unlock_errors[0]  # an unlock that failed in the background
        finally:
            for task in self._unlocks:
                task.cancel()
            await asyncio.gather(*self._unlocks, return_exceptions=True)
            await self.desk.aclose()
        return self.stats

    async def log_in_staff(self, events: Any) -> int:
        """Before the day starts: every scenario staff member who records at the desk logs in once
        (an account, a password hash, a log-in each take a while; during the day they would hold up
        every device behind them). Returns how many logged in."""
        if self.act_as is None:
            return 0
        for event in events:
            who = event.get("by") if event.get("type") not in DEVICE_EVENTS else None
            if isinstance(who, str) and who not in self._tokens:
                self._tokens[who] = await self.act_as(who)
        return len(self._tokens)

    def _unlock_done(self, task: asyncio.Task[None]) -> None:
        self._unlocks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._unlock_errors.append(task.exception())  # type: ignore[arg-type]  # checked not None just above

    async def hold_zone_change(self, event: dict[str, Any]) -> None:
        zone = self.reader_zones[event["reader"]]
        previous = self.last_read.get(event["tag"])
        if previous is not None and previous[0] != zone:
            wait = ZONE_CHANGE_GUARD_S - (time.monotonic() - previous[1])
            if wait > 0:
                self.stats.zone_change_holds += 1
                await asyncio.sleep(wait)
        self.last_read[event["tag"]] = (zone, time.monotonic())

    async def unlock(self, event: dict[str, Any]) -> None:
        """The custodian presses "open slot" before pulling the door, as at the console: the gateway
        journals the unlock and sends the real command to the simulated lock board. An opening
        that nothing covers (an injected unauthorised open) is refused and the door is forced
        open anyway, which is what the injection is about."""
        answer = await self.desk.post(f"/desk/v1/slots/{event['bank']}/{event['slot']}/unlock")
        if answer.status_code == 201:
            self.stats.unlocks += 1
        elif answer.status_code in (403, 409, 422):
            self.stats.unlocks_refused += 1
            log.debug(
                "unlock refused",
                extra={
                    "fields": {
                        "site": self.site_id,
                        "slot": f"{event['bank']}/{event['slot']}",
                        "status": answer.status_code,
                        "answer": answer.text,
                    }
                },
            )
        else:
            raise DeskRefused(
                f"{self.site_id}: unlock of {event['bank']}/{event['slot']} failed: {answer.status_code} {answer.text}"
            )

    async def desk_call(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        route = DESK_ROUTES.get(kind)
        if route is None:
            raise DeskRefused(f"{self.site_id}: scenario event type {kind!r} has no desk route")
        body = {k: v for k, v in event.items() if k not in ("ts", "type")}
        if kind == "enroll" and body.get("role") == "guardian":
            route = GUARDIAN_ROUTE
            body.pop("role")
        headers = None
        who = body.get("by")
        if isinstance(who, str) and self.act_as is not None:
            if who not in self._tokens:
                self._tokens[who] = await self.act_as(who)
            headers = {"Authorization": f"Bearer {self._tokens[who]}"}
        answer = await self.desk.post(route, json=body, headers=headers)
        if answer.status_code != 201:
            raise DeskRefused(f"{self.site_id}: desk {route} refused {body}: {answer.status_code} {answer.text}")
        if kind == "checkin":
            self.stats.checkins.append(event["person"])
        elif kind == "intake":
            self.stats.items.append(event["item"])


async def desk_login(desk_url: str, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=desk_url, timeout=10.0) as client:
        answer = await client.post("/desk/v1/login", json={"username": username, "password": password})
        if answer.status_code != 200:
            raise DeskRefused(f"desk login at {desk_url} failed: {answer.status_code} {answer.text}")
        return answer.json()["token"]
