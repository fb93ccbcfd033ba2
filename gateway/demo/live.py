"""`custody demo`: the whole system live on loopback, in one process tree.

    broker (Mosquitto, or --broker, or embedded amqtt)
    central server            `python -m server run` on SQLite, own process
    per demo site:  simulators (this process: ptys, Modbus TCP servers, Frigate publisher)
                    gateway     `custody gateway run` on the demo variant of the site file
    scenario player (this process): a generated day, `speed` times faster than real time

Start-up order makes every peer ready before its clients (server before gateways, simulators
before gateways, gateways' devices connected before the day starts). Shut-down runs the other
way and lets each gateway deliver its journal before it stops, so the report's
`events_lost` means what it says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
import webbrowser
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core_ext.i18n import cli_locale, gettext
from core_ext.i18n.rules import rule_title
from core_ext.resources import sites_dir
from core_ext.site import load_site_model
from drivers.sim.broker import BrokerUnavailable, EmbeddedBroker, MosquittoBroker, find_mosquitto, mqtt_handshake
from drivers.sim.player import SimulatedSite
from gateway.demo import site as demo_site
from gateway.demo.player import ItemRenamer, SitePlayer, Timeline, desk_login
from gateway.demo.processes import Child, ChildFailed, free_port, run_cli
from gateway.demo.report import CenterClient, build_report, journal_counts, print_summary, site_summary
from gateway.desk.staff import StaffStore
from gateway.scenario import Scenario, generate
from gateway.scenario.route import ScenarioError

log = logging.getLogger("demo")


class DemoInterrupted(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoSite:
    file: str
    subjects: int
    inject: tuple[str, ...]


# A 90-minute day per site, sized so every injection lands inside it (docs/scenario.md:
# about one subject per injection, rooms booked one group at a time).
# Second-layer rules shown live are those whose timing holds at 30×–60×: a missing guardian,
# an exit back late, belongings not given back, an order without an approver, a seizure not
# taken in (meal_overdue needs 6 h of the day, vulnerable_night_release a night of wall time).
DEMO_SITES = (
    DemoSite(
        "demo-area.yaml",
        13,
        (
            "tag_lost",
            "flow_violation",
            "time_limit_warning",
            "door_forced",
            "insufficient_officers",
            "unaccompanied",
            "recording_gap",
            "co_suspects_together",
            "minor_without_guardian",
            "temp_exit_overdue",
            "belongings_not_returned",
        ),
    ),
    DemoSite(
        "demo-property.yaml",
        6,
        (
            "item_mismatch",
            "slot_left_open",
            "locker_unauthorized_open",
            "door_held_open",
            "item_overdue",
            "workorder_unapproved",
            "intake_overdue",
        ),
    ),
)
DEMO_HOURS = 1.5
ADMIN = "admin"
DESK_USER = "demo-desk"
KEEPER_USER = "demo-keeper"  # a second property account: work orders need another person's approval
DRAIN_TIMEOUT_S = 60.0


@dataclass
class DemoOptions:
    speed: float = 30.0
    duration_s: float | None = None  # None: until the day has been played
    open_browser: bool = True
    report: Path | None = None
    broker_url: str | None = None
    seed: int = 1
    keep: bool = False


@dataclass
class SiteRuntime:
    site: DemoSite
    site_id: str = ""
    name: str = ""
    kind: str = ""
    sims: SimulatedSite | None = None
    gateway: Child | None = None
    data_dir: Path | None = None
    desk_url: str = ""
    scenario: Scenario | None = None
    player: SitePlayer | None = None
    drained: bool = False  # the uplink had delivered everything journaled when the demo stopped


@dataclass
class LiveDemo:
    opts: DemoOptions
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="custody-demo-")))
    password: str = field(default_factory=lambda: os.environ.get("CUSTODY_DEMO_PASSWORD") or secrets.token_urlsafe(9))
    broker: Any = None
    broker_url: str = ""
    server: Child | None = None
    server_url: str = ""
    sites: list[SiteRuntime] = field(default_factory=list)
    center: CenterClient | None = None
    timeline: Timeline | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float = field(default_factory=time.time)
    printed_alerts: set[int] = field(default_factory=set)
    locale: str = field(default_factory=cli_locale)  # rule titles in the CLI's language ($CUSTODY_LOCALE, LANG)

    # ---- start -------------------------------------------------------------------------------

    async def start(self) -> None:
        _ = partial(gettext, self.locale)
        say(_("working directory %(dir)s") % {"dir": self.workdir})
        self._plan_day()  # CPU-bound: before any simulator must answer on time
        await self._start_broker()
        self._check_stop()
        await self._start_server()
        for rt in self.sites:
            self._check_stop()
            await self._start_site(rt)
        await asyncio.gather(*(self._wait_devices(rt) for rt in self.sites))
        self._check_stop()
        self._start_clock()

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise DemoInterrupted("interrupted while starting")

    async def _start_broker(self) -> None:
        _ = partial(gettext, self.locale)
        if self.opts.broker_url:
            self.broker_url = self.opts.broker_url
            parts = urlsplit(self.broker_url)
            if not await mqtt_handshake(parts.hostname or "127.0.0.1", parts.port or 1883, timeout=5.0):
                raise BrokerUnavailable(
                    f"--broker {self.broker_url}: no MQTT broker answers there (CONNECT got no CONNACK)"
                )
            say(_("MQTT broker: %(url)s (given)") % {"url": self.broker_url})
            return
        if find_mosquitto() is not None:
            self.broker = await MosquittoBroker().start()
            say(_("MQTT broker: Mosquitto on %(url)s") % {"url": self.broker.url})
        else:
            try:
                self.broker = await EmbeddedBroker().start()
            except ImportError as exc:
                raise BrokerUnavailable(
                    "mosquitto is not installed and the embedded broker is not either: "
                    "apt-get install mosquitto, or pip install 'custody-gateway[embedded-broker]', "
                    "or pass --broker mqtt://HOST:PORT"
                ) from exc
            say(_("MQTT broker: embedded amqtt on %(url)s (mosquitto not installed)") % {"url": self.broker.url})
        self.broker_url = self.broker.url

    async def _start_server(self) -> None:
        _ = partial(gettext, self.locale)
        db = f"sqlite:///{self.workdir / 'center.db'}"
        await run_cli(
            [sys.executable, "-m", "server", "create-admin", "--username", ADMIN, "--database", db],
            env={"CUSTODY_ADMIN_PASSWORD": self.password},
        )
        port = free_port()
        self.server_url = f"http://127.0.0.1:{port}"
        self.server = Child(
            "central server",
            [
                sys.executable,
                "-m",
                "server",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database",
                db,
                "--log-level",
                "warning",
            ],
            self.workdir / "center.log",
        )
        await self.server.start()
        await self.server.wait_http(self.server_url + "/healthz")
        self.center = CenterClient(self.server_url)
        await self.center.login(ADMIN, self.password)
        say(_("central server: %(url)s (SQLite %(db)s)") % {"url": self.server_url, "db": self.workdir / "center.db"})

    async def _start_site(self, rt: SiteRuntime) -> None:
        _ = partial(gettext, self.locale)
        assert self.center is not None
        original = sites_dir() / rt.site.file
        data = demo_site.load_yaml(original)
        rt.site_id, rt.name, rt.kind = data["site"]["id"], data["site"]["name"], data["site"]["kind"]
        await self.center.ok_json(
            "POST",
            "/sites",
            json={
                "id": rt.site_id,
                "name": rt.name,
                "kind": rt.kind,
                "timezone": data["site"].get("timezone", "Asia/Shanghai"),
            },
        )
        gateway_id = f"{rt.site_id}-gw"
        registered = await self.center.ok_json("POST", f"/sites/{rt.site_id}/gateways", json={"id": gateway_id})
        rt.data_dir = self.workdir / gateway_id
        rt.data_dir.mkdir()
        credential_file = rt.data_dir / "credential"
        credential_file.write_text(registered["credential"], encoding="utf-8")
        credential_file.chmod(0o600)
        await asyncio.to_thread(StaffStore(rt.data_dir).add, DESK_USER, self.password, "supervisor")
        await asyncio.to_thread(StaffStore(rt.data_dir).add, KEEPER_USER, self.password, "custodian")

        # Simulators first, at this demo's places; the gateway's site file then points at them.
        sim_dir = self.workdir / "sim" / rt.site_id
        sim_dir.mkdir(parents=True)
        scaled = demo_site.scale_rules(data, self.opts.speed)
        devices = demo_site.relocate_devices(scaled, sim_dir, self.broker_url)
        demo_site.tune_settings(devices, demo_site.parse_entries(devices, str(original)), rt.site_id)
        rt.sims = SimulatedSite(demo_site.parse_entries(devices, str(original)))
        started = await rt.sims.start()
        places = demo_site.wiring_places(started)
        for entry in devices:
            entry.update(places.get(entry["id"], {}))
        site_file = self.workdir / f"{rt.site_id}.yaml"
        demo_site.write_site(scaled, devices, site_file, self.opts.speed, original)

        desk_port = free_port()
        rt.desk_url = f"http://127.0.0.1:{desk_port}"
        rt.gateway = Child(
            f"gateway {gateway_id}",
            [
                sys.executable,
                "-m",
                "gateway.commands.cli",
                "gateway",
                "run",
                "--site",
                str(site_file),
                "--data",
                str(rt.data_dir),
                "--server",
                self.server_url,
                "--credential-file",
                str(credential_file),
                "--mqtt",
                self.broker_url,
                "--desk-port",
                str(desk_port),
                "--health-interval",
                "2",
            ],
            self.workdir / f"{gateway_id}.log",
        )
        await rt.gateway.start()
        await rt.gateway.wait_http(rt.desk_url + "/healthz")
        say(
            _("gateway %(id)s: %(n)s simulated devices, desk API %(url)s/docs")
            % {"id": gateway_id, "n": len(started), "url": rt.desk_url}
        )

    async def _wait_devices(self, rt: SiteRuntime, timeout_s: float = 30.0) -> None:
        """Until every device of the gateway is connected: reads sent earlier would be lost."""
        assert rt.gateway is not None
        token = await desk_login(rt.desk_url, DESK_USER, self.password)
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=rt.desk_url, headers=headers, timeout=10.0) as client:
            while True:
                health = (await client.get("/desk/v1/health")).json()
                waiting = sorted(d for d, h in health["devices"].items() if not h.get("connected"))
                if not waiting:
                    break
                if rt.gateway.exited() or time.monotonic() > deadline:
                    raise ChildFailed(
                        f"{rt.gateway.name}: devices not connected: {', '.join(waiting)}; "
                        f"log {rt.gateway.log_path}:\n{rt.gateway.log_tail()}"
                    )
                await asyncio.sleep(0.2)
        assert rt.sims is not None
        model = load_site_model(sites_dir() / rt.site.file)
        reader_zones = {r.id: r.zone for r in model.config.readers}
        data_dir, desk_url, password = rt.data_dir, rt.desk_url, self.password
        assert data_dir is not None

        async def act_as(name: str) -> str:
            """The scenario's custodians log in at the desk as themselves (the desk records `by` only so)."""
            store = StaffStore(data_dir)
            if not await asyncio.to_thread(store.has, name):
                await asyncio.to_thread(store.add, name, password, "custodian")
            return await desk_login(desk_url, name, password)

        rt.player = SitePlayer(
            rt.site_id,
            rt.sims,
            rt.desk_url,
            token,
            Timeline(0, 0, self.opts.speed),
            ItemRenamer(),
            reader_zones,
            act_as,
        )
        if rt.scenario is not None:
            await rt.player.log_in_staff(rt.scenario.events())

    def _plan_day(self) -> None:
        for site in DEMO_SITES:
            model = load_site_model(sites_dir() / site.file)
            self.sites.append(
                SiteRuntime(
                    site,
                    scenario=generate(
                        model, subjects=site.subjects, seed=self.opts.seed, hours=DEMO_HOURS, inject=set(site.inject)
                    ),
                )
            )

    def _start_clock(self) -> None:
        t0 = min(next(iter(rt.scenario.events()))["ts"] for rt in self.sites if rt.scenario)
        # Start a second from now: the players' first events then all run on schedule.
        self.timeline = Timeline(t0, int(time.time() * 1000) + 1000, self.opts.speed)
        renamer = ItemRenamer()  # one table for both sites: item ids stay unique across the demo
        for rt in self.sites:
            assert rt.player is not None
            rt.player.timeline = self.timeline
            rt.player.rename = renamer

    # ---- run ---------------------------------------------------------------------------------

    def day_seconds(self) -> float:
        assert self.timeline is not None
        last = max(rt.scenario.last_ts for rt in self.sites if rt.scenario)
        return (last - self.timeline.scenario_t0) / 1000 / self.opts.speed

    async def run(self) -> None:
        assert self.timeline is not None
        loop = asyncio.get_running_loop()
        board = f"{self.server_url}/sites/{self.sites[0].site_id}"
        duration = self.opts.duration_s if self.opts.duration_s is not None else self.day_seconds() + 5
        _ = partial(gettext, self.locale)
        say("")
        say("  " + _("board:    %(url)s   (every site: %(all)s/)") % {"url": board, "all": self.server_url})
        say("  " + _("login:    %(user)s / %(password)s") % {"user": ADMIN, "password": self.password})
        for rt in self.sites:
            say(
                "  "
                + _("console:  %(url)s/   %(site)s (registration desk and property room)")
                % {"url": rt.desk_url, "site": rt.site_id}
            )
        say(
            "  "
            + _(
                "console logins: %(desk)s / %(password)s (desk and property room), %(keeper)s / %(password)s "
                "(custodian: approves the other's work orders)"
            )
            % {"desk": DESK_USER, "keeper": KEEPER_USER, "password": self.password}
        )
        say(
            "  "
            + _("playing %(hours)s h of a day at %(speed)sx (%(seconds)s s); stopping after %(duration)s s or Ctrl-C")
            % {
                "hours": f"{DEMO_HOURS:g}",
                "speed": f"{self.opts.speed:g}",
                "seconds": f"{self.day_seconds():.0f}",
                "duration": f"{duration:.0f}",
            }
        )
        say("")
        if self.opts.open_browser:
            open_browser(self.server_url + "/")
        players = [
            asyncio.create_task(rt.player.play(rt.scenario.events()), name=f"play {rt.site_id}")
            for rt in self.sites
            if rt.player and rt.scenario
        ]
        watcher = asyncio.create_task(self._watch(), name="watch")
        stopper = asyncio.create_task(self.stop.wait())
        pending: set[asyncio.Task[Any]] = {*players, watcher, stopper}
        deadline = loop.time() + duration
        try:
            # Until --duration, Ctrl-C, or a failure; players that finish the day leave the rest running.
            while stopper in pending and (timeout := deadline - loop.time()) > 0:
                done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stopper and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]  # a done task with an exception: raising it is the point
        finally:
            for task in (*players, watcher, stopper):
                task.cancel()
            await asyncio.gather(*players, watcher, stopper, return_exceptions=True)

    async def _watch(self) -> None:
        """Print each new alert the center has, and fail loudly if a child dies."""
        _ = partial(gettext, self.locale)
        assert self.center is not None and self.timeline is not None
        while True:
            await asyncio.sleep(2.0)
            for child in [self.server, *(rt.gateway for rt in self.sites)]:
                if child is not None and child.exited():
                    raise ChildFailed(
                        f"{child.name} exited with status {child.process.returncode}; "  # type: ignore[union-attr]  # a child that exited has a process
                        f"log {child.log_path}:\n{child.log_tail()}"
                    )
            for rt in self.sites:
                for alert in sorted(await self.center.alerts(rt.site_id), key=lambda a: a["raised_ts"]):
                    if alert["id"] in self.printed_alerts:
                        continue
                    self.printed_alerts.add(alert["id"])
                    day = self.timeline.scenario_ms(alert["raised_ts"])
                    title = rule_title(alert["rule"], self.locale)
                    say(
                        "  " + _("ALERT") + f" {clock(day)}  {rt.site_id:<14} {title} "
                        f"({alert['rule']})  {alert['subject']}  {alert['zone'] or ''}"
                    )

    # ---- stop --------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until each gateway's uplink has delivered everything it journaled."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        for rt in self.sites:
            if rt.gateway is None or rt.gateway.exited() or rt.player is None:
                continue
            async with httpx.AsyncClient(base_url=rt.desk_url, timeout=10.0, headers=rt.player.desk.headers) as client:
                while time.monotonic() < deadline:
                    health = (await client.get("/desk/v1/health")).json()["gateway"]
                    if health["backlog"] == 0 and health["uplink"]["undelivered"] == 0:
                        rt.drained = True
                        break
                    await asyncio.sleep(0.2)

    async def shutdown(self) -> dict[str, Any]:
        """Stop everything in order and return the report."""
        report: dict[str, Any] = {}
        try:
            if self.center is not None and self.sites and self.timeline is not None:
                await self.drain()
                report = await self._report()
        finally:
            await self._stop_all(report)
        return report

    async def _stop_all(self, report: dict[str, Any]) -> None:
        """Gateways, then the server, simulators and broker: every step runs even if one fails."""
        statuses: dict[str, int | None] = {}
        failures: list[BaseException] = []

        async def step(action: Any) -> None:
            try:
                await action
            except Exception as exc:  # noqa: BLE001 - kept and re-raised after the other steps
                failures.append(exc)

        async def stop_child(child: Child) -> None:
            statuses[child.name] = await child.stop()

        for rt in self.sites:
            if rt.gateway is not None:
                await step(stop_child(rt.gateway))
        if report and self.center is not None:
            await step(self._count_journals(report))
        if self.center is not None:
            await step(self.center.close())
        if self.server is not None:
            await step(stop_child(self.server))
        for rt in self.sites:
            if rt.sims is not None:
                await step(rt.sims.stop())
        if self.broker is not None:
            await step(self.broker.stop())
        if report:
            report["exit_statuses"] = statuses
        if not self.opts.keep:
            shutil.rmtree(self.workdir)
        for exc in failures[1:]:
            print(f"custody demo: while stopping, also: {exc!r}", file=sys.stderr)
        if failures:
            raise failures[0]

    async def _report(self) -> dict[str, Any]:
        assert self.center is not None and self.timeline is not None
        sites: dict[str, Any] = {}
        expected = []
        for rt in self.sites:
            assert rt.player is not None and rt.scenario is not None
            summary = await site_summary(self.center, rt.site_id, rt.player.stats.checkins)
            if rt.kind == "property_room":
                summary["items"] = await self.center.items(rt.site_id)
            summary["play"] = rt.player.stats.__dict__ | {"items": len(rt.player.stats.items)}
            summary["drained"] = rt.drained
            sites[rt.site_id] = summary
            played_until = rt.player.stats.last_scenario_ts or 0
            for e in rt.scenario.expected:
                expected.append(
                    {
                        "site": rt.site_id,
                        "rule": e.rule,
                        "subject": rt.player.rename.ids.get(e.subject, e.subject),
                        "due_ts": self.timeline.wall_ms(e.ts),
                        "day_time": clock(e.ts),
                        "played": e.ts <= played_until,
                    }
                )
        processes = {
            "server": self.server.pid if self.server else None,
            **{rt.gateway.name: rt.gateway.pid for rt in self.sites if rt.gateway},
        }
        return build_report(
            sites,
            expected,
            speed=self.opts.speed,
            seconds=round(time.time() - self.started_at, 1),
            board_url=f"{self.server_url}/sites/{self.sites[0].site_id}",
            processes=processes,
        )

    async def _count_journals(self, report: dict[str, Any]) -> None:
        """After the gateways stopped: what each journaled against what the server acknowledged."""
        assert self.center is not None
        delivered = lost = 0
        for rt in self.sites:
            if rt.data_dir is None:
                continue
            gateways = await self.center.gateways(rt.site_id)
            acked = max((g["last_seq"] for g in gateways), default=0)
            counts = await asyncio.to_thread(journal_counts, rt.data_dir, acked)
            report["sites"][rt.site_id]["journal"] = counts
            delivered += counts["events_delivered"]
            lost += counts["events_lost"]
        report["events_delivered"] = delivered
        report["events_lost"] = lost


def clock(ts_ms: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ts_ms / 1000 + 8 * 3600))  # the demo sites are in UTC+8


def say(line: str) -> None:
    print(line, flush=True)


def open_browser(url: str) -> None:
    """Only where a graphical browser can exist: a console browser would take over the terminal."""
    _ = partial(gettext, cli_locale())
    graphical = sys.platform in ("darwin", "win32") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if not graphical:
        say("  " + _("(no graphical display here: open %(url)s in a browser yourself)") % {"url": url})
        return
    if not webbrowser.open(url):
        say("  " + _("(could not start a browser: open %(url)s yourself)") % {"url": url})


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _log_to_file(path: Path) -> _Counter:
    """The simulators' libraries (pymodbus, paho) log to the working directory, not the terminal:
    a gateway stopping mid-poll makes pymodbus print a page of frames. Warnings are counted and
    the count is printed at the end."""
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    counter = _Counter()
    root.addHandler(handler)
    root.addHandler(counter)
    root.setLevel(logging.INFO)
    return counter


async def run_live(opts: DemoOptions) -> int:
    _ = partial(gettext, cli_locale())
    demo = LiveDemo(opts)
    warnings = _log_to_file(demo.workdir / "demo.log")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C: a clean stop, also while starting
        loop.add_signal_handler(sig, demo.stop.set)
    status = 0
    report: dict[str, Any] = {}
    try:
        try:
            await demo.start()
            await demo.run()
        finally:
            if demo.server is not None:
                say(_("stopping: delivering what the gateways journaled, then stopping every process"))
            report = await demo.shutdown()
    except DemoInterrupted as exc:
        print(f"custody demo: {exc}", file=sys.stderr)
        status = 130
    except (ChildFailed, BrokerUnavailable, demo_site.DemoSiteError, ScenarioError) as exc:
        print(f"custody demo: {exc}", file=sys.stderr)
        status = 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if report:
        print_summary(report)
        if opts.report is not None:
            opts.report.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            say(_("report written to %(path)s") % {"path": opts.report})
    if warnings.count:
        say(_("the simulators logged %(n)s warning(s) (demo.log; --keep keeps it)") % {"n": warnings.count})
    if opts.keep:
        say(_("kept %(dir)s (site files, journals, logs, center.db)") % {"dir": demo.workdir})
    return status
