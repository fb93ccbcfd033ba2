"""One Modbus line (a TCP connection or an RS-485 port) shared by every unit on it.

A single worker sends one request at a time, so units never collide on the line; requests
wait in a priority queue, so an unlock jumps ahead of queued polls and waits for at most
the one poll already on the wire. A unit that stops answering only costs its own request
timeouts: its driver backs off and stops queueing polls for it, and its neighbours' polls
go on. Adjacent spans of one table are read in one request (`ReadPlan`).
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.base import DeviceDisconnected, DeviceError, DeviceTimeout, cancel_and_wait
from drivers.per_loop import PerLoop

Table = Literal["coil", "discrete_input", "holding_register", "input_register"]
BIT_TABLES = frozenset({"coil", "discrete_input"})
MAX_COUNT = {"coil": 2000, "discrete_input": 2000, "holding_register": 125, "input_register": 125}
PRIORITY_COMMAND = 0
PRIORITY_POLL = 1


class LineParams(BaseModel):
    """How to reach a line. `url`: tcp://host:port, or a serial device / pyserial URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    framer: Literal["socket", "rtu"] | None = None  # default: socket for tcp://, rtu otherwise
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    timeout_s: float = 0.5


class ModbusUnitError(DeviceError):
    """The unit answered with a Modbus exception (e.g. 2 illegal address, 4 device failure)."""


@dataclass(frozen=True)
class Span:
    table: Table
    address: int
    count: int


@dataclass
class ReadPlan:
    """Merges named spans into as few requests as the tables and size limits allow; a span
    longer than one request may carry is split over several."""

    spans: dict[str, Span]
    max_gap: int = 0
    requests: list[Span] = field(init=False)

    def __post_init__(self) -> None:
        self.requests = []
        for table in sorted({s.table for s in self.spans.values()}):
            limit = MAX_COUNT[table]
            ordered = sorted((s for s in self.spans.values() if s.table == table), key=lambda s: s.address)
            current: Span | None = None
            for span in ordered:
                if current is not None and span.address <= current.address + current.count + self.max_gap:
                    end = max(current.address + current.count, span.address + span.count)
                    current = Span(table, current.address, end - current.address)
                    continue
                if current is not None:
                    self.requests.extend(_chunks(current, limit))
                current = span
            if current is not None:
                self.requests.extend(_chunks(current, limit))

    def split(self, results: list[list[Any]]) -> dict[str, list[Any]]:
        """Values per span name, given one result list per request (same order)."""
        by_address: dict[tuple[str, int], Any] = {}
        for request, values in zip(self.requests, results):
            for offset, value in enumerate(values[: request.count]):
                by_address[(request.table, request.address + offset)] = value
        return {name: [by_address[(span.table, span.address + i)] for i in range(span.count)]
                for name, span in self.spans.items()}


def _chunks(span: Span, limit: int) -> list[Span]:
    return [Span(span.table, start, min(limit, span.address + span.count - start))
            for start in range(span.address, span.address + span.count, limit)]


class ModbusLine:
    def __init__(self, params: LineParams) -> None:
        self.params = params
        self._client = _make_client(params)
        self._queue: asyncio.PriorityQueue[tuple[int, int, Any]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._worker: asyncio.Task[None] | None = None
        self._connect_lock = asyncio.Lock()
        self.users = 0
        self.requests_sent = 0

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def ensure_connected(self) -> None:
        async with self._connect_lock:
            if not self._client.connected:
                ok = await self._client.connect()
                if not ok:
                    raise DeviceDisconnected(f"cannot connect to Modbus line {self.params.url}")
            if self._worker is None or self._worker.done():
                self._worker = asyncio.create_task(self._work(), name=f"modbus-line:{self.params.url}")

    async def read(self, span: Span, unit: int, priority: int = PRIORITY_POLL) -> list[Any]:
        return await self._submit(priority, ("read", span, unit))

    async def write_coil(self, address: int, value: bool, unit: int, priority: int = PRIORITY_COMMAND) -> None:
        await self._submit(priority, ("write_coil", address, value, unit))

    async def write_register(self, address: int, value: int, unit: int, priority: int = PRIORITY_COMMAND) -> None:
        await self._submit(priority, ("write_register", address, value, unit))

    async def _submit(self, priority: int, request: tuple[Any, ...]) -> Any:
        if not self._client.connected:
            raise DeviceDisconnected(f"Modbus line {self.params.url} is not connected")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((priority, next(self._order), (request, future)))
        return await future

    async def _work(self) -> None:
        while True:
            _, _, (request, future) = await self._queue.get()
            if future.cancelled():
                continue
            try:
                result = await self._execute(request)
            except DeviceError as exc:
                if not future.cancelled():
                    future.set_exception(exc)
            else:
                if not future.cancelled():
                    future.set_result(result)

    async def _execute(self, request: tuple[Any, ...]) -> Any:
        client = self._client
        kind = request[0]
        self.requests_sent += 1
        try:
            if kind == "read":
                _, span, unit = request
                call = {
                    "coil": client.read_coils,
                    "discrete_input": client.read_discrete_inputs,
                    "holding_register": client.read_holding_registers,
                    "input_register": client.read_input_registers,
                }[span.table]
                response = await call(span.address, count=span.count, device_id=unit)
                where = f"unit {unit} {span.table} {span.address}+{span.count}"
            elif kind == "write_coil":
                _, address, value, unit = request
                response = await client.write_coil(address, value, device_id=unit)
                where = f"unit {unit} coil {address}"
            else:
                _, address, value, unit = request
                response = await client.write_register(address, value, device_id=unit)
                where = f"unit {unit} holding register {address}"
        except ModbusException as exc:
            if not client.connected:
                raise DeviceDisconnected(f"{self.params.url}: {exc}") from exc
            raise DeviceTimeout(f"{self.params.url}: {exc}") from exc
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise ModbusUnitError(f"{self.params.url} {where}: Modbus exception {code}")
        if kind != "read":
            return None
        if span.table in BIT_TABLES:
            return list(response.bits[: span.count])
        return list(response.registers)

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await cancel_and_wait(worker)
        while not self._queue.empty():
            _, _, (_, future) = self._queue.get_nowait()
            if not future.done():
                future.set_exception(DeviceDisconnected(f"Modbus line {self.params.url} closed"))
        self._client.close()


def _make_client(params: LineParams) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    parts = urlsplit(params.url)
    # reconnect_delay=0: pymodbus must not reconnect on its own; the drivers' backoff does.
    if parts.scheme == "tcp":
        framer = FramerType.RTU if params.framer == "rtu" else FramerType.SOCKET
        return AsyncModbusTcpClient(parts.hostname or "127.0.0.1", port=parts.port or 502, framer=framer,
                                    timeout=params.timeout_s, retries=0, reconnect_delay=0)
    return AsyncModbusSerialClient(params.url, framer=FramerType.RTU, baudrate=params.baudrate,
                                   parity=params.parity, stopbits=params.stopbits,
                                   timeout=params.timeout_s, retries=0, reconnect_delay=0)


class LineRegistry:
    """Lines shared by the drivers of one event loop, keyed by URL."""

    def __init__(self) -> None:
        self._lines: dict[str, ModbusLine] = {}

    def acquire(self, params: LineParams) -> ModbusLine:
        line = self._lines.get(params.url)
        if line is None:
            line = self._lines[params.url] = ModbusLine(params)
        elif line.params != params:
            raise ValueError(f"Modbus line {params.url} is wired twice with different settings: "
                             f"{line.params.model_dump()} vs {params.model_dump()}")
        line.users += 1
        return line

    async def release(self, line: ModbusLine) -> None:
        line.users -= 1
        if line.users <= 0 and self._lines.get(line.params.url) is line:
            del self._lines[line.params.url]
            await line.close()


_registries: PerLoop[LineRegistry] = PerLoop(LineRegistry)


def lines_for_running_loop() -> LineRegistry:
    return _registries.get()
