"""The gateway process: one asyncio supervisor over drivers, engine, journal, uplink, outputs.

    gw = Gateway(settings); await gw.run(stop_event)

Start-up: load the site and its device wiring (errors name file, line and key), open the
journal, rebuild the engine from its latest snapshot plus the journal after it (see
docs/gateway.md), then start the engine task, one task per device, MQTT outputs, the uplink,
the desk API and the health reporter. A device task that dies of an unexpected error is
restarted with backoff; the drivers themselves reconnect after link failures. The other
long-lived tasks (uplink, health, checkpoint, MQTT outputs' network thread, desk API) are
SupervisedTasks (gateway/tasks.py): any exception is logged with its traceback, the task
restarts with backoff, and health shows each task's state, restarts and last error. A failure of
the engine task (a journal write failed) stops the gateway with an error: running on with state
the journal does not hold would break the custody record.

The journal's chain head is signed with the gateway's Ed25519 key (gateway/signing.py) every
`sign_every` entries and at a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from core_ext.api import CustodyEngine
from core_ext.layout import site_plan
from core_ext.site import SiteConfig
from drivers.base import Backoff, Driver, cancel_and_wait
from drivers.config import DeviceSpec
from gateway.clock import GatewayClock
from gateway.desk.api import create_desk_app
from gateway.desk.feed import LiveFeed
from gateway.desk.orders import WorkOrderRequests
from gateway.desk.routes import DeskContext
from gateway.desk.staff import StaffStore
from gateway.desk.view import DeskView, SiteFacts
from gateway.engine_task import EngineRunner
from gateway.journal import GATEWAY_ID_KEY, Journal
from gateway.outputs_mqtt import MqttOutputs
from gateway.settings import GatewaySettings
from gateway.signing import ChainSigner
from gateway.site_bundle import load_site_bundle
from gateway.tasks import SupervisedTask
from gateway.uplink import Uplink
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway")


class GatewayConfigError(ValueError):
    pass


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the supervisor owns the signals, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class DeviceSlot:
    def __init__(self, spec: DeviceSpec) -> None:
        self.spec = spec
        self.driver: Driver | None = None
        self.crashes = 0
        self.backoff = Backoff(spec.wiring.backoff_initial_s, spec.wiring.backoff_max_s)


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.bundle = load_site_bundle(settings.site_path)  # the site file, read once
        self.site = self.bundle.config
        self.site_id = self.site.site.id
        self.gateway_id = settings.gateway_id or f"{self.site_id}-gw"
        self.specs = self.bundle.devices
        if self.bundle.wiring_faults:
            raise GatewayConfigError("\n".join(self.bundle.wiring_faults))
        if settings.server_url and not settings.credential:
            raise GatewayConfigError(
                "--server needs the gateway's credential (--credential-file or "
                "CUSTODY_GATEWAY_CREDENTIAL; `custody server add-gateway` prints it)"
            )
        self.started_at = time.time()
        self.journal: Journal | None = None
        self.runner: EngineRunner | None = None
        self.mqtt: MqttOutputs | None = None
        self.uplink: Uplink | None = None
        self.desk_server: _EmbeddedServer | None = None
        self.feed: LiveFeed | None = None
        self._desk_app: Any = None
        self.devices: dict[str, DeviceSlot] = {s.id: DeviceSlot(s) for s in self.specs}
        self.journal_over_bound = False
        self._closing = False
        self._last_bound_warning = 0.0
        self._tasks: list[asyncio.Task[Any]] = []
        self.supervised: dict[str, SupervisedTask] = {}
        self.signer: ChainSigner | None = None
        self.started = asyncio.Event()  # set once every part runs (benchmarks and embedders wait on it)

    # ---- life cycle -----------------------------------------------------------------------------

    def open(self) -> None:
        """Journal and engine, rebuilt from the journal (synchronous: nothing runs yet)."""
        s = self.settings
        self.journal = Journal(s.data_dir, power_loss_safe=s.power_loss_safe)
        self.signer = ChainSigner.load_or_create(s.data_dir, self.gateway_id)
        self.journal.set_signer(self.signer, s.sign_every)
        if self.journal.get_meta(GATEWAY_ID_KEY) != self.gateway_id:
            self.journal.set_meta(GATEWAY_ID_KEY, self.gateway_id)  # `custody journal verify` needs it
        engine = CustodyEngine(self.bundle.model, s.engine)
        status = ZoneStatus(self.site_id, [z.id for z in self.site.zones], DeskView(SiteFacts.of(self.site)))
        # Rebuilt from the journal before anything reads it (fresh engine and status, no swap later).
        self.runner = EngineRunner.recovered(
            engine,
            self.journal,
            GatewayClock(),
            status,
            batch_max=s.batch_max,
            tick_interval_s=s.tick_interval_s,
            snapshot_every=s.snapshot_every,
        )

    async def run(self, stop: asyncio.Event) -> None:
        if self.runner is None:
            self.open()
        assert self.runner is not None and self.journal is not None
        s = self.settings
        runner_task = asyncio.create_task(self.runner.run(), name="engine")
        if s.mqtt_url:
            self.mqtt = MqttOutputs(
                s.mqtt_url, self.site_id, self.gateway_id, self.runner.status, self.health, tls=s.mqtt_tls
            )
            self.runner.listeners.append(self.mqtt.committed)
            self.mqtt.start()
            self._supervise("mqtt-outputs", self._watch_mqtt, before_restart=self.mqtt.restart_network)
        # The floor plan is worked out once (~60 ms for the demo area): the center's descriptor and
        # the desk console's plan view both serve it.
        plan = site_plan(self.site)
        if s.server_url:
            assert s.credential is not None and self.signer is not None
            self.uplink = Uplink(
                self.journal,
                s.server_url,
                self.gateway_id,
                self.site_id,
                s.credential,
                site_descriptor(self.site, plan),
                s.uplink_batch_max,
                backoff_max_s=s.uplink_backoff_max_s,
                public_key_pem=self.signer.public_pem,
            )
            self.runner.listeners.append(self.uplink.notify)
            self._supervise("uplink", self.uplink.run)
        for slot in self.devices.values():
            self._start_device(slot)
        if s.desk_port is not None:
            if s.desk_cert is None and not _is_loopback(s.desk_host):
                log.warning(
                    "the desk API listens beyond loopback without TLS: passwords and tokens cross the "
                    "network in clear text; use --desk-cert/--desk-key (docs/gateway.md)",
                    extra={"fields": {"desk_host": s.desk_host}},
                )
            runner = self.runner

            def tag_owner(tag: str) -> str | None:
                person = runner.engine.decoder.tag_owner.get(tag)
                return None if person is None else runner.engine.decoder.persons.names[person]

            self.feed = LiveFeed({r.id for r in self.site.readers if r.enrolment}, tag_owner)
            runner.listeners.append(self.feed.committed)
            if self.feed.enrolment_readers:
                runner.device_taps.append(self.feed.tap)
            context = DeskContext(runner, self.site, self.feed, WorkOrderRequests(s.data_dir), self.lock_board)
            self._desk_app = create_desk_app(
                self.runner,
                StaffStore(s.data_dir),
                self.runner.status,
                self.health,
                plan=plan,
                context=context,
            )
            self._supervise("desk-api", self._serve_desk)
        self._supervise("health", self._report_health)
        self._supervise("checkpoint", self._checkpoint_journal)
        log.info(
            "gateway running",
            extra={
                "fields": {
                    "site": self.site_id,
                    "gateway": self.gateway_id,
                    "devices": len(self.devices),
                    "journal_seq": self.journal.last_seq,
                    "replayed_events": self.runner.stats.replayed_events,
                    "desk": self.desk_url(),
                    "server": s.server_url,
                    "mqtt": self.mqtt.url if self.mqtt else None,
                }
            },
        )
        # Everything built so far (modules, site, engine rebuilt from the journal) lives as long
        # as the process: move it out of the collector's way, so a full collection scans only
        # what was allocated since. Measured: a full collection of the start-up heap alone takes
        # ~30 ms, which showed up directly as frame-to-alert p99 latency.
        gc.collect()
        gc.freeze()
        self.started.set()
        stop_task = asyncio.create_task(stop.wait(), name="stop")
        try:
            done, _ = await asyncio.wait({stop_task, runner_task}, return_when=asyncio.FIRST_COMPLETED)
            if runner_task in done:
                # Only a failed journal write ends the engine task on its own.
                runner_task.result()
                raise RuntimeError("engine task ended unexpectedly")
        finally:
            await self._shutdown(runner_task, stop_task)

    async def _shutdown(self, runner_task: asyncio.Task[None], stop_task: asyncio.Task[Any]) -> None:
        self._closing = True
        if self.feed is not None:
            self.feed.close()  # ends the consoles' event streams, so the desk server can stop
        if self.desk_server is not None:
            self.desk_server.should_exit = True
        for slot in self.devices.values():
            if slot.driver is not None:
                await slot.driver.close()
        assert self.runner is not None and self.journal is not None
        if not runner_task.done():
            self.runner.stop()  # drains what the devices and the desk queued
            await asyncio.wait({runner_task}, timeout=30)
        for task in self._tasks:
            if task.get_name() == "desk-api":
                await asyncio.wait({task}, timeout=5)
            await cancel_and_wait(task)
        await cancel_and_wait(stop_task)
        if self.mqtt is not None:
            await self.mqtt.stop()
        try:
            if self.journal.sign_head():
                log.info("chain head signed", extra={"fields": {"seq": self.journal.last_seq - 1}})
        except Exception:  # the journal is intact without it; the next start signs again
            log.exception("could not sign the chain head at shutdown")
        self.journal.close()
        log.info("gateway stopped", extra={"fields": {"journal_seq": self.journal.last_seq}})

    # ---- supervised tasks -----------------------------------------------------------------------

    def _supervise(self, name: str, body: Any, before_restart: Any = None) -> None:
        task = SupervisedTask(name, body, before_restart=before_restart, stopping=lambda: self._closing)
        self.supervised[name] = task
        self._tasks.append(task.start())

    def desk_url(self) -> str | None:
        s = self.settings
        if s.desk_port is None:
            return None
        scheme = "https" if s.desk_cert is not None else "http"
        return f"{scheme}://{s.desk_host}:{s.desk_port}"

    async def _serve_desk(self) -> None:
        """One uvicorn server run; a new one after a failure (e.g. the port was taken)."""
        s = self.settings
        tls: dict[str, Any] = {}
        if s.desk_cert is not None and s.desk_key is not None:
            tls = {"ssl_certfile": str(s.desk_cert), "ssl_keyfile": str(s.desk_key)}
        config = uvicorn.Config(
            self._desk_app, host=s.desk_host, port=s.desk_port or 0, log_config=None, lifespan="off", **tls
        )
        self.desk_server = _EmbeddedServer(config)
        try:
            await self.desk_server.serve()
        except SystemExit as exc:  # uvicorn exits when it cannot bind: retry with backoff instead
            raise RuntimeError(f"desk API could not start on {self.desk_url()} (see the error above)") from exc
        if not self._closing:
            raise RuntimeError(f"desk API server on {self.desk_url()} ended")

    async def _watch_mqtt(self) -> None:
        assert self.mqtt is not None
        while True:
            if not self.mqtt.network_alive():
                raise RuntimeError("the MQTT outputs' network thread ended (a callback raised?)")
            await asyncio.sleep(1.0)

    # ---- devices ----------------------------------------------------------------------------------

    def lock_board(self, bank: str, slot: int) -> Driver | None:
        """The lock board driver that drives `slot` of `bank` (a bank may span boards), if any."""
        for device in self.devices.values():
            driver = device.driver
            covers = getattr(driver, "covers", None)
            if covers is not None and covers(bank, slot):
                return driver
        return None

    def _start_device(self, slot: DeviceSlot) -> None:
        assert self.runner is not None
        device_id = slot.spec.id
        submit = self.runner.submit_device
        slot.driver = slot.spec.create(lambda event: submit(event, device_id))
        task = slot.driver.start()
        task.add_done_callback(lambda t, slot=slot: self._device_ended(slot, t))  # type: ignore[misc]  # a default argument binds the loop's slot; mypy cannot infer such a lambda

    def _device_ended(self, slot: DeviceSlot, task: asyncio.Task[None]) -> None:
        if self._closing or task.cancelled():
            return
        exc = task.exception()
        slot.crashes += 1
        delay = slot.backoff.next_delay()
        log.error(
            "device task died; restarting",
            extra={
                "fields": {
                    "device": slot.spec.id,
                    "error": f"{type(exc).__name__}: {exc}",
                    "crashes": slot.crashes,
                    "restart_in_s": round(delay, 2),
                }
            },
        )
        self._tasks.append(asyncio.create_task(self._restart_device(slot, delay), name=f"restart:{slot.spec.id}"))

    async def _restart_device(self, slot: DeviceSlot, delay: float) -> None:
        await asyncio.sleep(delay)
        if slot.driver is not None:
            await slot.driver.close()
        if not self._closing:
            self._start_device(slot)

    # ---- health -------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        assert self.runner is not None and self.journal is not None
        stats = self.runner.stats
        journal_bytes = self.journal.size_bytes()
        gateway = {
            "id": self.gateway_id,
            "site": self.site_id,
            "uptime_s": round(time.time() - self.started_at, 1),
            "engine": self.runner.engine.engine_name,
            "backlog": self.runner.backlog(),
            "events": stats.events,
            "outputs": stats.outputs,
            "alerts_raised": stats.alerts_raised,
            "rejected_device_events": stats.rejected_device_events,
            "rejected_desk_requests": stats.rejected_desk_requests,
            "replayed_events": stats.replayed_events,
            "replay_seconds": round(stats.replay_seconds, 3),
            "resumed_from_seq": stats.resumed_from_seq,
            "snapshots": stats.snapshots,
            "clock_behind_stamps": self.runner.clock.behind_stamps,
            "journal": {
                "last_seq": self.journal.last_seq,
                "bytes": journal_bytes,
                "max_bytes": self.settings.journal_max_bytes,
                "over_bound": self.journal_over_bound,
                "power_loss_safe": self.settings.power_loss_safe,
            },
        }
        if self.uplink is not None:
            gateway["uplink"] = self.uplink.health_figures()
        if self.mqtt is not None:
            gateway["mqtt"] = self.mqtt.health_figures()
        gateway["tasks"] = {name: task.figures() for name, task in self.supervised.items()}
        if self.signer is not None:
            gateway["signing"] = {"key_id": self.signer.key_id, "sign_every": self.settings.sign_every}
        devices = {}
        for device_id, slot in self.devices.items():
            figures = slot.driver.health.as_dict() if slot.driver is not None else {"connected": False}
            devices[device_id] = {**figures, "task_crashes": slot.crashes, "driver": slot.spec.driver_name}
        return {"gateway": gateway, "devices": devices}

    def _check_journal_bound(self) -> None:
        assert self.journal is not None
        size = self.journal.size_bytes()
        self.journal_over_bound = size > self.settings.journal_max_bytes
        if self.journal_over_bound and time.monotonic() - self._last_bound_warning > 600:
            self._last_bound_warning = time.monotonic()
            log.error(
                "journal is over its disk bound; still accepting every event (nothing is dropped): "
                "free disk or archive the data directory",
                extra={
                    "fields": {
                        "bytes": size,
                        "max_bytes": self.settings.journal_max_bytes,
                        "undelivered": self.uplink.health_figures()["undelivered"] if self.uplink else None,
                    }
                },
            )

    async def _report_health(self) -> None:
        assert self.runner is not None
        while True:
            self._check_journal_bound()
            # Gathered once (it stats the journal files) for both the journal and MQTT.
            figures = self.health()
            self.runner.submit_health(figures)
            if self.mqtt is not None:
                self.mqtt.publish_health(figures)
            await asyncio.sleep(self.settings.health_interval_s)

    async def _checkpoint_journal(self) -> None:
        """WAL checkpoints off the commit path (see Journal.checkpoint), once a second."""
        assert self.journal is not None
        while True:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(self.journal.checkpoint)


def site_descriptor(site: SiteConfig, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the gateway PUTs to /api/v1/sites/{id}/descriptor: the site, its zones and its floor plan
    (`plan`: the site's plan when the caller has it already)."""
    return {
        "id": site.site.id,
        "name": site.site.name or site.site.id,
        "kind": site.site.kind,
        "timezone": site.site.timezone,
        "zones": [
            {
                "id": z.id,
                "type": z.type,
                "name": z.name or None,
                "cameras": list(z.cameras),
                "requires_recording": z.requires_recording,
            }
            for z in site.zones
        ],
        "lockers": [{"id": b.id, "slots": b.slots, "zone": b.zone} for b in site.lockers],
        "doors": [{"id": d.id} for d in site.doors],
        # the floor plan (core_ext/layout.py): the site file's layout, or one generated from the flow
        "plan": site_plan(site) if plan is None else plan,
        # the rule settings behind the center's countdowns (transfer after a decision, meals)
        "rules": {
            "transfer_limit_h": site.rules.transfer_limit_h,
            "meal_interval_h": site.rules.meal_interval_h,
            "intake_within_h": site.rules.intake_within_h,
            "workorder_requires_approval": site.rules.workorder_requires_approval,
        },
    }
