"""Modbus door controllers: per door an open bit and a forced bit, and the last card presented
(a sequence counter that steps on every presentation, then the card number). Map from the profile.

Events: `door` forced on a rising forced bit (it implies open, so no separate `open` is
reported in that poll), else `door` open/closed on a change of the open bit; `badge` when the
card counter steps.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from drivers.modbus_base import ModbusSettings, ModbusUnitDriver, ModbusWiring, registers_to_int
from drivers.modbus_line import Span


class StatusMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    table: Literal["discrete_input", "coil"] = "discrete_input"
    address: int
    bits_per_door: int = 2
    open_bit: int = 0
    forced_bit: int = 1
    open_value: bool = True


class CardMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    table: Literal["input_register", "holding_register"] = "input_register"
    address: int
    registers_per_door: int = 4
    sequence_offset: int = 0  # a counter the controller steps on each presentation
    card_offset: int = 1
    card_words: int = 3  # big-endian words of the card number
    format: str = "{:010X}"  # same shape as EM4100 tags


class DoorSettings(ModbusSettings):
    doors: int = 1
    status: StatusMap
    card: CardMap | None = None


class DoorWiring(ModbusWiring):
    doors: list[str]  # door ids, in the controller's door order
    badge_readers: list[str] | None = None  # reader id per door in badge events; default the door id

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        return [("door", d) for d in self.doors]


class ModbusDoorDriver(ModbusUnitDriver):
    Wiring = DoorWiring  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them
    Settings = DoorSettings  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them

    def __init__(self, wiring: DoorWiring, settings: DoorSettings, emit) -> None:
        if len(wiring.doors) > settings.doors:
            raise ValueError(f"device {wiring.id}: {len(wiring.doors)} doors wired, "
                             f"the profile's controller has {settings.doors}")
        super().__init__(wiring, settings, emit)
        self._state: list[tuple[bool, bool]] | None = None
        self._card_sequence: list[int] | None = None

    def _spans(self) -> dict[str, Span]:
        s: DoorSettings = self.settings  # type: ignore[assignment]
        spans = {"status": Span(s.status.table, s.status.address, s.doors * s.status.bits_per_door)}
        if s.card is not None:
            spans["card"] = Span(s.card.table, s.card.address, s.doors * s.card.registers_per_door)
        return spans

    def _apply(self, values: dict[str, list[Any]]) -> None:
        s: DoorSettings = self.settings  # type: ignore[assignment]
        wiring: DoorWiring = self.wiring  # type: ignore[assignment]
        bits = values["status"]
        now = []
        for i in range(len(wiring.doors)):
            base = i * s.status.bits_per_door
            now.append((bool(bits[base + s.status.open_bit]) == s.status.open_value,
                        bool(bits[base + s.status.forced_bit])))
        before = self._state
        self._state = now
        if before is None and wiring.report_initial_state:
            before = [(not o, False) for o, _ in now]
        if before is not None:
            for door, (was, cur) in zip(wiring.doors, zip(before, now)):
                if cur[1] and not was[1]:
                    # Forced means opened without a release: one `forced` says both.
                    self._emit({"type": "door", "door": door, "state": "forced"})
                elif was[0] != cur[0]:
                    self._emit({"type": "door", "door": door, "state": "open" if cur[0] else "closed"})
        if s.card is not None:
            self._apply_cards(values["card"], s.card, wiring)

    def _apply_cards(self, registers: list[int], card: CardMap, wiring: DoorWiring) -> None:
        sequences, numbers = [], []
        for i in range(len(wiring.doors)):
            base = i * card.registers_per_door
            sequences.append(registers[base + card.sequence_offset])
            numbers.append(registers_to_int(registers[base + card.card_offset : base + card.card_offset + card.card_words]))
        before, self._card_sequence = self._card_sequence, sequences
        if before is None:
            return  # the last card before we started is history, not a presentation
        for i, (was, now) in enumerate(zip(before, sequences)):
            if was != now:
                reader = (wiring.badge_readers or wiring.doors)[i]
                self._emit({"type": "badge", "reader": reader, "tag": card.format.format(numbers[i])})
