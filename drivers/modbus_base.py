"""Shared wiring and life cycle of drivers for one Modbus unit on a shared line."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Literal

from drivers.base import Driver, SettingsBase, WiringBase
from drivers.modbus_line import LineParams, ModbusLine, ReadPlan, Span, lines_for_running_loop


def registers_to_int(words: Iterable[int]) -> int:
    """16-bit registers read as one unsigned number, the first register most significant."""
    number = 0
    for word in words:
        number = (number << 16) | word
    return number


class ModbusWiring(WiringBase):
    url: str  # tcp://host:port, or a serial device / pyserial URL for RTU
    unit: int = 1
    framer: Literal["socket", "rtu"] | None = None
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    timeout_s: float = 0.5
    poll_interval_s: float | None = None  # overrides the profile's
    report_initial_state: bool = False

    def line_params(self) -> LineParams:
        return LineParams(url=self.url, framer=self.framer, baudrate=self.baudrate, parity=self.parity,
                          stopbits=self.stopbits, timeout_s=self.timeout_s)


class ModbusSettings(SettingsBase):
    poll_interval_s: float = 0.2
    max_gap: int = 0  # registers a merged read may span that nobody asked for


class ModbusUnitDriver(Driver):
    Wiring = ModbusWiring
    Settings = ModbusSettings

    def __init__(self, wiring: ModbusWiring, settings: ModbusSettings, emit) -> None:
        super().__init__(wiring, settings, emit)
        self.line: ModbusLine | None = None
        self.plan = ReadPlan(self._spans(), max_gap=settings.max_gap)
        self.poll_interval_s = wiring.poll_interval_s or settings.poll_interval_s
        self.cycles = 0
        self._pending_values: dict[str, list[Any]] | None = None

    def _spans(self) -> dict[str, Span]:
        raise NotImplementedError

    async def _connect(self) -> None:
        if self.line is None:
            self.line = lines_for_running_loop().acquire(self.wiring.line_params())  # type: ignore[attr-defined]  # self.wiring is a ModbusWiring (set by __init__); Driver is not generic over it
        await self.line.ensure_connected()
        # The line being up says nothing about this unit: it counts as connected once it answers.
        self._pending_values = await self.poll_once()

    async def _disconnect(self) -> None:
        line, self.line = self.line, None
        if line is not None:
            await lines_for_running_loop().release(line)

    async def poll_once(self) -> dict[str, list[Any]]:
        """Read every span of this unit (one request per merged span)."""
        assert self.line is not None
        unit = self.wiring.unit  # type: ignore[attr-defined]  # self.wiring is a ModbusWiring (set by __init__); Driver is not generic over it
        results = [await self.line.read(span, unit) for span in self.plan.requests]
        self._frame_good()
        self.cycles += 1
        return self.plan.split(results)

    async def _session(self) -> None:
        values, self._pending_values = self._pending_values, None
        while True:
            if values is None:
                values = await self.poll_once()
            self._apply(values)
            values = None
            await asyncio.sleep(self.poll_interval_s)

    def _apply(self, values: dict[str, list[Any]]) -> None:
        raise NotImplementedError
