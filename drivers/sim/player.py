"""Drive simulated devices from a list of DESIGN §6.2 events.

`SimulatedSite` builds one simulator per wired device (from the same `DeviceSpec`s the
drivers use), starts them (ptys behind each reader's `port` path, pymodbus servers on each
Modbus URL, NVR publishers on each broker) and hands back the specs rewritten to where the
simulators really listen (e.g. `tcp://127.0.0.1:0` becomes the port the server got).
`play()` makes the simulators produce, on the wire, each event of the list in order; an
event no simulator can produce is an error naming its index, never skipped.

    site = SimulatedSite(specs)
    specs = await site.start()
    drivers = [spec.create(collector) for spec in specs]
    ...
    await site.play(events, after_each=wait_until_reported)   # or pace=... for the demo
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from drivers.config import DeviceSpec
from drivers.item_tags import ItemTags
from drivers.sim.modbus_devices import DoorControllerSim, LockboardSim, ModbusLineSim
from drivers.sim.mqtt_publisher import MqttPublisherSim
from drivers.sim.mqtt_readers import MqttReaderSim
from drivers.sim.nvr import FrigateSim, JsonNvrSim
from drivers.sim.pty_port import PtyPort
from drivers.sim.serial_devices import (
    AsciiReaderSim,
    ChafonReaderSim,
    Em4100ReaderSim,
    KerongBoardSim,
)

DEVICE_EVENTS = frozenset({"tag_seen", "camera", "door", "badge", "locker"})


class SimulatedDevice(Protocol):
    keys: list[tuple[str, str]]

    async def apply(self, event: dict[str, Any]) -> None: ...


class PlaybackError(ValueError):
    pass


def event_key(event: dict[str, Any]) -> tuple[str, str]:
    kind = event.get("type")
    if kind == "tag_seen":
        return ("tag_seen", event["reader"])
    if kind == "camera":
        return ("camera", event["camera"])
    if kind == "door":
        return ("door", event["door"])
    if kind == "badge":
        return ("badge", f"bank:{event['bank']}") if "bank" in event else ("badge", event["reader"])
    if kind == "locker":
        return ("locker", f"{event['bank']}/{event['slot']}")
    raise PlaybackError(f"event type {kind!r} is not produced by devices (device events: {sorted(DEVICE_EVENTS)})")


class SimulatedSite:
    def __init__(self, specs: Sequence[DeviceSpec], item_tags: ItemTags | None = None) -> None:
        """`item_tags`: share it with the drivers (`spec.create(emit, item_tags)`) when item ids
        do not come from label numbers through the profile's format."""
        self.specs = list(specs)
        self.item_tags = item_tags
        self.devices: dict[str, SimulatedDevice] = {}  # device id -> simulator
        self.ptys: dict[str, PtyPort] = {}
        self._pty_by_path: dict[str, PtyPort] = {}
        self.modbus_lines: dict[str, ModbusLineSim] = {}
        self._routes: dict[tuple[str, str], SimulatedDevice] = {}
        self._mqtt: list[MqttPublisherSim] = []

    async def start(self) -> list[DeviceSpec]:
        modbus_units: dict[str, list[tuple[DeviceSpec, Any]]] = {}
        for spec in self.specs:
            sim = self._build(spec)
            if isinstance(sim, LockboardSim | DoorControllerSim):
                modbus_units.setdefault(spec.wiring.url, []).append((spec, sim))  # type: ignore[attr-defined]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
            self.devices[spec.id] = sim
            for key in sim.keys:
                if key in self._routes:
                    raise PlaybackError(
                        f"two simulated devices produce {key}: {getattr(self._routes[key], 'wiring').id} and {spec.id}"  # noqa: B009
                    )
                self._routes[key] = sim
        rewritten: dict[str, DeviceSpec] = {}
        for url, members in modbus_units.items():
            framer = getattr(members[0][0].wiring, "framer", None)
            line = ModbusLineSim(url, framer, [sim for _, sim in members])
            actual = await line.start()
            self.modbus_lines[url] = line
            for spec, _ in members:
                rewritten[spec.id] = _with_wiring(spec, url=actual)
        for publisher in self._mqtt:
            await publisher.start()
        return [rewritten.get(spec.id, spec) for spec in self.specs]

    def _build(self, spec: DeviceSpec) -> SimulatedDevice:
        w, s, name = spec.wiring, spec.settings, spec.driver_name
        if name in ("em4100_serial", "ascii_line_serial", "chafon_uhf", "kerong_serial"):
            path = w.port  # type: ignore[attr-defined]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
            port = self._pty_by_path.get(path)
            if port is None:
                port = self._pty_by_path[path] = PtyPort(path)
                port.open()
            elif name != "kerong_serial":
                raise PlaybackError(f"device {spec.id}: port {path} is already used by another device")
            self.ptys[spec.id] = port  # boards daisy-chained on one RS-485 line share it
            if name == "em4100_serial":
                return Em4100ReaderSim(w, port)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
            if name == "ascii_line_serial":
                return AsciiReaderSim(w, s, port)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
            if name == "chafon_uhf":
                return ChafonReaderSim(w, s, port)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
            return KerongBoardSim(w, s, port)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        if name == "modbus_lockboard":
            return LockboardSim(w, s, self.item_tags)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        if name == "modbus_door":
            return DoorControllerSim(w, s)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        sim: MqttPublisherSim
        if name == "frigate_mqtt":
            sim = FrigateSim(w, s)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        elif name == "mqtt_json_nvr":
            sim = JsonNvrSim(w, s)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        elif name == "mqtt_reader":
            sim = MqttReaderSim(w, s)  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        else:
            raise PlaybackError(f"device {spec.id}: no simulator for driver {name!r}")
        self._mqtt.append(sim)
        return sim

    def device_for(self, event: dict[str, Any]) -> SimulatedDevice:
        key = event_key(event)
        sim = self._routes.get(key)
        if sim is None:
            raise PlaybackError(f"no simulated device produces {key[0]} for {key[1]!r}")
        return sim

    async def apply(self, event: dict[str, Any]) -> None:
        await self.device_for(event).apply(event)

    async def play(
        self,
        events: Sequence[dict[str, Any]],
        *,
        after_each: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        pace: float | None = None,
    ) -> int:
        """Produce each device event in order; other event types (checkin, intake, ...) are not
        device traffic and are passed over, counted in the return value's complement.

        `after_each` runs after each device event (a test waits there until the driver reported
        it); `pace` sleeps (ts delta / pace) seconds between events for a live demo.
        Returns the number of device events produced."""
        for index, event in enumerate(events):
            if event.get("type") in DEVICE_EVENTS:
                self.device_for_checked(index, event)
        produced = 0
        last_ts: int | None = None
        for event in events:
            if event.get("type") not in DEVICE_EVENTS:
                continue
            if pace and last_ts is not None and "ts" in event:
                await asyncio.sleep(max(0, event["ts"] - last_ts) / 1000 / pace)
            last_ts = event.get("ts", last_ts)
            await self.apply(event)
            produced += 1
            if after_each is not None:
                await after_each(event)
        return produced

    def device_for_checked(self, index: int, event: dict[str, Any]) -> SimulatedDevice:
        try:
            return self.device_for(event)
        except (PlaybackError, KeyError) as exc:
            raise PlaybackError(f"event #{index} {event}: {exc}") from exc

    async def stop(self) -> None:
        for publisher in self._mqtt:
            await publisher.stop()
        for line in self.modbus_lines.values():
            await line.stop()
        for port in self._pty_by_path.values():
            port.close()


def _with_wiring(spec: DeviceSpec, **changes: Any) -> DeviceSpec:
    return DeviceSpec(
        spec.driver_name, spec.profile, spec.wiring.model_copy(update=changes), spec.settings, spec.source
    )
