"""Simulated Modbus lock boards and door controllers, served by real pymodbus servers.

Each simulated unit keeps its state in plain Python (slot doors, item tags, door bits, last
card) laid out by the same profile register map the driver reads. pymodbus 3.16's SimDevice
calls our `action` on every request with the unit's register block, and we refresh the block
from the state there, so the wire always shows the current state. Coil writes are recorded as
unlock requests. Units sharing a URL share one server (one RS-485 line or one TCP gateway).
"""
from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from drivers.item_tags import ItemTags
from drivers.modbus_door import DoorSettings, DoorWiring
from drivers.modbus_lockboard import LockboardSettings, LockboardWiring

TABLE_FC = {"coil": (1, 5, 15), "discrete_input": (2,), "holding_register": (3, 6, 16, 22, 23),
            "input_register": (4,)}
TABLE_INDEX = {"coil": 0, "discrete_input": 1, "holding_register": 2, "input_register": 3}


class RegisterImage:
    """The four Modbus tables of one unit as plain lists, sized by the profile's map."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.tables: dict[str, list[Any]] = {
            "coil": [False] * _round16(sizes.get("coil", 16)),
            "discrete_input": [False] * _round16(sizes.get("discrete_input", 16)),
            "holding_register": [0] * max(1, sizes.get("holding_register", 1)),
            "input_register": [0] * max(1, sizes.get("input_register", 1)),
        }

    def sim_blocks(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        t = self.tables
        return ([SimData(0, count=len(t["coil"]), values=False, datatype=DataType.BITS)],
                [SimData(0, count=len(t["discrete_input"]), values=False, datatype=DataType.BITS)],
                [SimData(0, count=len(t["holding_register"]), values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=len(t["input_register"]), values=0, datatype=DataType.REGISTERS)])

    def table_for_fc(self, function_code: int) -> str | None:
        for table, codes in TABLE_FC.items():
            if function_code in codes:
                return table
        return None

    def refresh(self, table: str, registers: list[int]) -> None:
        values = self.tables[table]
        packed = SimUtils.bitsToRegisters(values) if table in ("coil", "discrete_input") else values
        registers[: len(packed)] = packed


def _round16(n: int) -> int:
    return max(16, (n + 15) // 16 * 16)


class _ModbusUnitSim:
    keys: list[tuple[str, str]]

    def __init__(self, unit: int, sizes: dict[str, int]) -> None:
        self.unit = unit
        self.image = RegisterImage(sizes)
        self.requests = 0
        self.log: list[tuple[int, int]] = []  # (function code, address) of every request, in order
        self.dead = False  # answers every request with exception 4 (device failure)
        self._silence: asyncio.Event | None = None  # set while the unit answers nothing at all

    def go_silent(self) -> None:
        """Stop answering, like a unit whose power or RS-485 pair failed."""
        self._silence = asyncio.Event()

    def wake(self) -> None:
        if self._silence is not None:
            self._silence.set()
            self._silence = None

    def device(self) -> SimDevice:
        return SimDevice(self.unit, simdata=self.image.sim_blocks(), action=self._action)

    async def _action(self, function_code: int, start_address: int, address: int, count: int,
                      registers: list[int], set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        self.log.append((function_code, address))
        silence = self._silence
        if silence is not None:
            await silence.wait()  # the master has long timed out; this late answer is dropped
            return ExcCodes.DEVICE_FAILURE
        if self.dead:
            return ExcCodes.DEVICE_FAILURE
        table = self.image.table_for_fc(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if set_values is not None:
            self._written(table, address, list(set_values))
        else:
            self.requests += 1
        self.image.refresh(table, registers)
        return None

    def _written(self, table: str, address: int, values: list[Any]) -> None:
        for offset, value in enumerate(values):
            self.image.tables[table][address + offset] = value


class LockboardSim(_ModbusUnitSim):
    def __init__(self, wiring: LockboardWiring, settings: LockboardSettings,
                 item_tags: ItemTags | None = None) -> None:
        s = settings
        self.item_tags = item_tags
        sizes: dict[str, int] = {}
        def need(table: str, end: int) -> None:
            sizes[table] = max(sizes.get(table, 0), end)
        need(s.unlock.table, s.unlock.address + s.slots)
        need(s.doors.table, s.doors.address + s.slots)
        if s.items is not None:
            need(s.items.table, s.items.address + s.slots * s.items.registers_per_slot())
        super().__init__(wiring.unit, sizes)
        self.wiring, self.settings = wiring, settings
        self.keys = [("locker", f"{wiring.bank}/{slot}")
                     for slot in range(wiring.first_slot, wiring.first_slot + s.slots)]
        self.unlocks: list[int] = []  # bank slot numbers, in order received
        self.on_unlock: Callable[[int], None] | None = None
        for slot in range(s.slots):
            self._set_door(slot, False)

    def _set_door(self, index: int, is_open: bool) -> None:
        d = self.settings.doors
        self.image.tables[d.table][d.address + index] = is_open == d.open_value

    async def apply(self, event: dict[str, Any]) -> None:
        index = event["slot"] - self.wiring.first_slot
        if "items" in event:
            self.set_items(event["slot"], event["items"])
        self._set_door(index, event["state"] == "open")

    def set_items(self, slot: int, items: list[str]) -> None:
        """Put tag numbers for these item ids (parsed back through the profile's format) in the slot."""
        spec = self.settings.items
        if spec is None:
            return
        index = slot - self.wiring.first_slot
        table = self.image.tables[spec.table]
        base = spec.address + index * spec.registers_per_slot()
        if spec.kind == "count":
            table[base] = len(items)
            return
        if len(items) > spec.per_slot:
            raise ValueError(f"slot {slot} senses at most {spec.per_slot} items, got {items}")
        numbers = [self._label_number(spec.format, item) for item in items]
        numbers += [0] * (spec.per_slot - len(numbers))
        for position, number in enumerate(numbers):
            words = [(number >> (16 * i)) & 0xFFFF for i in reversed(range(spec.words))]
            if spec.word_order == "little":
                words.reverse()
            start = base + position * spec.words
            table[start : start + spec.words] = words

    def _label_number(self, fmt: str, item: str) -> int:
        if self.item_tags is not None:
            bound = self.item_tags.number_for(item)
            if bound is not None:
                return bound
        try:
            return _number_from_format(fmt, item)
        except ValueError:
            if self.item_tags is None:
                raise
            return self.item_tags.allocate(item)  # a label stuck on at (simulated) intake

    def _written(self, table: str, address: int, values: list[Any]) -> None:
        u = self.settings.unlock
        for offset, value in enumerate(values):
            index = address + offset - u.address
            if table == u.table and 0 <= index < self.settings.slots and value:
                slot = index + self.wiring.first_slot
                self.unlocks.append(slot)
                if self.on_unlock is not None:
                    self.on_unlock(slot)
        if self.settings.unlock_release_after_s is not None:
            super()._written(table, address, values)
        # Otherwise the board pulses the lock itself: the coil reads back as off.


def _number_from_format(fmt: str, item: str) -> int:
    """Invert a format like "EV-{:06d}" for an item id (the simulator needs the tag number)."""
    prefix, _, rest = fmt.partition("{")
    spec, _, suffix = rest.partition("}")
    if not item.startswith(prefix) or not item.endswith(suffix):
        raise ValueError(f"item id {item!r} does not fit the profile's format {fmt!r}")
    body = item[len(prefix) : len(item) - len(suffix) if suffix else None]
    base = 16 if spec.lower().endswith("x") else 10
    try:
        number = int(body, base)
    except ValueError:
        raise ValueError(f"item id {item!r} does not fit the profile's format {fmt!r}") from None
    if fmt.format(number) != item:
        raise ValueError(f"item id {item!r} does not round-trip through {fmt!r}")
    return number


class DoorControllerSim(_ModbusUnitSim):
    def __init__(self, wiring: DoorWiring, settings: DoorSettings) -> None:
        s = settings
        sizes: dict[str, int] = {s.status.table: s.status.address + s.doors * s.status.bits_per_door}
        if s.card is not None:
            sizes[s.card.table] = s.card.address + s.doors * s.card.registers_per_door
        super().__init__(wiring.unit, sizes)
        self.wiring, self.settings = wiring, settings
        self.keys = [("door", d) for d in wiring.doors]
        self.keys += [("badge", r) for r in (wiring.badge_readers or wiring.doors)]
        for i in range(len(wiring.doors)):
            self._set(i, is_open=False, forced=False)

    def _set(self, index: int, *, is_open: bool, forced: bool) -> None:
        st = self.settings.status
        bits = self.image.tables[st.table]
        base = st.address + index * st.bits_per_door
        bits[base + st.open_bit] = is_open == st.open_value
        bits[base + st.forced_bit] = forced

    async def apply(self, event: dict[str, Any]) -> None:
        if event["type"] == "door":
            index = self.wiring.doors.index(event["door"])
            state = event["state"]
            self._set(index, is_open=state in ("open", "forced"), forced=state == "forced")
            return
        readers = self.wiring.badge_readers or self.wiring.doors
        index = readers.index(event["reader"])
        card = self.settings.card
        if card is None:
            raise ValueError(f"device {self.wiring.id}: profile has no card registers for badge events")
        regs = self.image.tables[card.table]
        base = card.address + index * card.registers_per_door
        regs[base + card.sequence_offset] = (regs[base + card.sequence_offset] + 1) & 0xFFFF
        number = int(event["tag"], 16)
        words = [(number >> (16 * i)) & 0xFFFF for i in reversed(range(card.card_words))]
        regs[base + card.card_offset : base + card.card_offset + card.card_words] = words


class ModbusLineSim:
    """One server for all simulated units of a URL: tcp://host:port (port 0 picks one),
    socket://host:port (RTU framing over TCP), or a device path (RTU over a socat pty pair)."""

    def __init__(self, url: str, framer: str | None, units: list[_ModbusUnitSim]) -> None:
        self.url = url
        self.framer = framer
        self.units = units
        self.server: ModbusTcpServer | ModbusSerialServer | None = None
        self._socat: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.actual_url = url

    async def start(self) -> str:
        devices = [u.device() for u in self.units]
        parts = urlsplit(self.url)
        if parts.scheme == "tcp":
            framer = FramerType.RTU if self.framer == "rtu" else FramerType.SOCKET
            server: ModbusTcpServer | ModbusSerialServer = ModbusTcpServer(devices, framer=framer, address=(parts.hostname or "127.0.0.1", parts.port or 0))
            await server.serve_forever(background=True)
            port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]  # a listening TCP server's transport is an asyncio.Server-backed transport with .sockets
            self.actual_url = f"tcp://{parts.hostname or '127.0.0.1'}:{port}"
        elif parts.scheme == "socket":
            server = ModbusSerialServer(devices, framer=FramerType.RTU, port=self.url)
            await server.serve_forever(background=True)
        else:
            sim_end = await self._start_pty_pair(self.url)
            server = ModbusSerialServer(devices, framer=FramerType.RTU, port=sim_end, baudrate=19200)
            await server.serve_forever(background=True)
        self.server = server
        return self.actual_url

    async def _start_pty_pair(self, link: str) -> str:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("RTU over a pty needs socat (scripts/system-deps.sh installs it)")
        sim_end = f"{link}.sim"
        Path(link).parent.mkdir(parents=True, exist_ok=True)
        for path in (link, sim_end):
            Path(path).unlink(missing_ok=True)
        # -d -d makes socat log each pty it creates and, once both exist, the start of its
        # transfer loop: wait for that line instead of polling for the links.
        self._socat = await asyncio.create_subprocess_exec(
            socat, "-d", "-d", f"pty,raw,echo=0,link={link}", f"pty,raw,echo=0,link={sim_end}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert self._socat.stderr is not None
        seen: list[str] = []
        while True:
            line = await asyncio.wait_for(self._socat.stderr.readline(), 10)
            if not line:
                raise RuntimeError(f"socat exited before linking {link} and {sim_end}: {' | '.join(seen)}")
            seen.append(line.decode(errors="replace").strip())
            if b"starting data transfer loop" in line:
                break
        self._drain = asyncio.create_task(self._drain_stderr(self._socat.stderr))
        return sim_end

    async def _drain_stderr(self, stream: asyncio.StreamReader) -> None:
        """Keep reading socat's log so a full pipe never blocks it."""
        while await stream.readline():
            pass

    async def stop(self) -> None:
        for unit in self.units:
            unit.wake()
        if self.server is not None:
            await self.server.shutdown()
            self.server = None
        if self._socat is not None and self._socat.returncode is None:
            self._socat.send_signal(signal.SIGTERM)
            await self._socat.wait()
        self._socat = None
        if self._drain is not None:
            await self._drain
            self._drain = None
