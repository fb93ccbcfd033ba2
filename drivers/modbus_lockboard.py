"""Modbus lock boards: a coil releases a slot's lock, discrete inputs give slot doors,
input registers give the items sensed in each slot (tag ids, or a count). Map from the profile."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from drivers.base import DeviceError
from drivers.item_tags import ItemTags
from drivers.lock_bank import LockBankMixin
from drivers.modbus_base import ModbusSettings, ModbusUnitDriver, ModbusWiring, registers_to_int
from drivers.modbus_line import PRIORITY_COMMAND, Span


class _Map(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoilMap(_Map):
    table: Literal["coil"] = "coil"
    address: int  # slot 1 is at `address`, slot n at `address + n - 1`


class DoorMap(_Map):
    table: Literal["discrete_input", "coil"] = "discrete_input"
    address: int
    open_value: bool = True  # polarity: the bit value while the slot door is open


class ItemsMap(_Map):
    kind: Literal["tag_ids", "count"] = "tag_ids"
    table: Literal["input_register", "holding_register"] = "input_register"
    address: int
    per_slot: int = 1  # tag-id positions per slot (kind tag_ids)
    words: Literal[1, 2] = 2  # registers per tag id
    word_order: Literal["big", "little"] = "big"
    format: str = "EV-{:06d}"  # item id from the tag number; 0 means an empty position

    @model_validator(mode="after")
    def _format_takes_a_number(self) -> ItemsMap:
        try:
            self.format.format(1)
        except (IndexError, KeyError, ValueError) as exc:
            raise ValueError(f"items.format {self.format!r} cannot format a number: {exc}") from exc
        return self

    def registers_per_slot(self) -> int:
        return 1 if self.kind == "count" else self.per_slot * self.words


class LockboardSettings(ModbusSettings):
    slots: int = 16
    unlock: CoilMap
    unlock_release_after_s: float | None = None  # switch the coil off again (boards without a pulse)
    doors: DoorMap
    items: ItemsMap | None = None


class LockboardWiring(ModbusWiring):
    bank: str
    first_slot: int = 1  # bank slot number of the board's first slot (a bank may span boards)

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        return [("bank", self.bank)]


class ModbusLockboardDriver(LockBankMixin, ModbusUnitDriver):
    Wiring = LockboardWiring  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them
    Settings = LockboardSettings  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them

    uses_item_tags = True

    def __init__(self, wiring: LockboardWiring, settings: LockboardSettings, emit,
                 item_tags: ItemTags | None = None) -> None:
        self.bank = wiring.bank
        self.item_tags = item_tags or ItemTags()
        super().__init__(wiring, settings, emit)
        self._slot_open: list[bool] | None = None
        self.items: list[list[str]] | list[int] | None = None

    @property
    def _s(self) -> LockboardSettings:
        return self.settings

    def _spans(self) -> dict[str, Span]:
        s: LockboardSettings = self.settings
        spans = {"doors": Span(s.doors.table, s.doors.address, s.slots)}
        if s.items is not None:
            spans["items"] = Span(s.items.table, s.items.address, s.slots * s.items.registers_per_slot())
        return spans

    async def unlock(self, slot: int) -> None:
        s = self._s
        self._check_slot(slot)
        line = self.line
        if line is None or not self.health.connected:
            raise DeviceError(f"device {self.id}: not connected, cannot unlock slot {slot}")
        address = s.unlock.address + slot - self.wiring.first_slot
        await line.write_coil(address, True, self.wiring.unit, PRIORITY_COMMAND)
        if s.unlock_release_after_s is not None:
            await asyncio.sleep(s.unlock_release_after_s)
            await line.write_coil(address, False, self.wiring.unit, PRIORITY_COMMAND)

    def _apply(self, values: dict[str, list[Any]]) -> None:
        s = self._s
        now_open = [bool(v) == s.doors.open_value for v in values["doors"]]
        if s.items is not None:
            self.items = self._decode_items(values["items"])
        for index, slot, now in self._door_changes(now_open):
            event: dict[str, Any] = {"type": "locker", "bank": self.bank, "slot": slot,
                                     "state": "open" if now else "closed"}
            if not now and self.items is not None:
                if s.items is not None and s.items.kind == "count":
                    event["item_count"] = self.items[index]
                else:
                    event["items"] = list(self.items[index])  # type: ignore[arg-type]
            self._emit(event)

    def _decode_items(self, registers: list[int]) -> list[list[str]] | list[int]:
        spec = self._s.items
        assert spec is not None
        if spec.kind == "count":
            return list(registers)
        per_slot: list[list[str]] = []
        stride = spec.registers_per_slot()
        for slot in range(self._s.slots):
            ids = []
            for position in range(spec.per_slot):
                start = slot * stride + position * spec.words
                words = registers[start : start + spec.words]
                number = registers_to_int(reversed(words) if spec.word_order == "little" else words)
                if number:
                    ids.append(self.item_tags.item_for(number, spec.format))
            per_slot.append(ids)
        return per_slot
