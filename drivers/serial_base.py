"""Shared plumbing for drivers on a serial port (tty, pty, or `socket://`)."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from pydantic import model_validator

from drivers.base import Driver, Emit, Health, SettingsBase, WiringBase
from drivers.codecs import Rejected
from drivers.serial_link import SerialLink, SerialParams


class SerialWiring(WiringBase):
    port: str  # a device path, or any pyserial URL (socket://host:port, rfc2217://...)
    serial: SerialParams | None = None  # overrides the profile's line settings


class SerialSettings(SettingsBase):
    serial: SerialParams = SerialParams()


class ReaderWiring(SerialWiring):
    """A tag reader: where its reads go."""

    reader: str | None = None  # reader id in events; defaults to the device id
    event: Literal["tag_seen", "badge"] = "tag_seen"
    bank: str | None = None  # a badge reader at a locker bank reports `bank` instead of `reader`
    # Vendor reader ids on a shared line (active readers) -> our reader ids.
    readers: dict[str, str] | None = None

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        if self.bank:
            return [("bank", self.bank)]
        if self.readers:
            return [("reader", r) for r in self.readers.values()]
        reader = self.reader or self.id
        # A badge reader on a door reports under the door's id, which names no reader.
        if self.event == "badge" and reader in declared["door"]:
            return []
        return [("reader", reader)]

    @model_validator(mode="after")
    def _bank_only_for_badges(self) -> ReaderWiring:
        if self.bank is not None and self.event != "badge":
            raise ValueError("`bank` is only meaningful with `event: badge`")
        return self


class SerialDriver(Driver):
    Wiring = SerialWiring
    Settings = SerialSettings

    def __init__(self, wiring: SerialWiring, settings: SerialSettings, emit) -> None:
        super().__init__(wiring, settings, emit)
        self.link = SerialLink(wiring.port, wiring.serial or settings.serial)

    async def _connect(self) -> None:
        self.link.open()

    async def _disconnect(self) -> None:
        self.link.close()

    async def _unsolicited_frames(self, decoder: Any) -> AsyncIterator[Any]:
        """The good frames of a device that sends on its own, for as long as the link lives;
        rejected bytes are counted and logged here. `decoder.feed(bytes)` gives frames and
        `Rejected`s."""
        while True:
            for item in decoder.feed(await self.link.read_some()):
                if isinstance(item, Rejected):
                    self._frame_bad(item.reason, item.frame)
                else:
                    self._frame_good()
                    yield item


class ReaderMixin:
    """Emits a decoded tag as the event its wiring asks for."""

    wiring: ReaderWiring
    id: str
    health: Health
    _emit: Emit

    def _report_tag(self, tag: str, rssi: int | None = None, vendor_reader: str | None = None) -> None:
        reader = self.wiring.reader or self.id
        if vendor_reader is not None and self.wiring.readers is not None:
            mapped = self.wiring.readers.get(vendor_reader)
            if mapped is None:
                self.health.frames_ignored += 1  # a reader on the line that this site does not use
                return
            reader = mapped
        if self.wiring.event == "badge":
            if self.wiring.bank is not None:
                self._emit({"type": "badge", "bank": self.wiring.bank, "tag": tag})
            else:
                self._emit({"type": "badge", "reader": reader, "tag": tag})
            return
        event: dict[str, Any] = {"type": "tag_seen", "reader": reader, "tag": tag}
        if rssi is not None:
            event["rssi"] = rssi
        self._emit(event)
