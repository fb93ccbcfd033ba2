"""Chafon CF-RU5102 / UHFReader18 UHF readers: the gateway polls inventory, the reader answers.

One command at a time on the line; a reply that does not come within the timeout counts as
missed, and after `max_missed_replies` in a row the reader is treated as gone (reconnect).
"""
from __future__ import annotations

import asyncio

from drivers.base import DeviceTimeout
from drivers.codecs import Rejected, chafon
from drivers.serial_base import ReaderMixin, ReaderWiring, SerialDriver, SerialSettings
from drivers.serial_link import SerialParams


class ChafonSettings(SerialSettings):
    serial: SerialParams = SerialParams(baudrate=57600)
    address: int = 0x00  # reader address; 0xFF broadcasts
    inventory_command: int = chafon.CMD_INVENTORY
    poll_interval_s: float = 0.2
    reply_timeout_s: float = 0.5
    max_missed_replies: int = 3


class ChafonWiring(ReaderWiring):
    address: int | None = None  # overrides the profile's reader address


class ChafonUhfDriver(ReaderMixin, SerialDriver):  # type: ignore[misc]  # ReaderMixin and SerialDriver both declare `wiring`; the reader's is the narrower
    Wiring = ChafonWiring
    Settings = ChafonSettings

    async def _session(self) -> None:
        settings: ChafonSettings = self.settings  # type: ignore[assignment]
        address = self.wiring.address if self.wiring.address is not None else settings.address  # type: ignore[attr-defined]  # self.wiring is a ChafonWiring (Wiring = ChafonWiring); Driver is not generic over it
        command = chafon.encode_command(address, settings.inventory_command)
        decoder = chafon.FrameDecoder()
        missed = 0
        while True:
            self.link.discard_input()
            decoder.reset()
            self.link.write(command)
            try:
                await self._read_inventory(decoder, settings)
                missed = 0
            except DeviceTimeout:
                missed += 1
                self._frame_bad("no reply to inventory", decoder.pending())
                if missed >= settings.max_missed_replies:
                    raise
            await asyncio.sleep(settings.poll_interval_s)

    async def _read_inventory(self, decoder: chafon.FrameDecoder, settings: ChafonSettings) -> None:
        """Read replies until the reader says the inventory is complete."""
        deadline = asyncio.get_running_loop().time() + settings.reply_timeout_s
        while True:
            data = await self.link.read_before(deadline, "inventory reply incomplete")
            for item in decoder.feed(data):
                if isinstance(item, Rejected):
                    self._frame_bad(item.reason, item.frame)
                    continue
                if item.command != settings.inventory_command:
                    self._frame_bad(f"reply to command 0x{item.command:02X}, expected inventory", item.frame)
                    continue
                epcs = chafon.decode_inventory(item)
                if isinstance(epcs, Rejected):
                    self._frame_bad(epcs.reason, epcs.frame)
                    return
                self._frame_good()
                for epc in epcs:
                    self._report_tag(epc)
                if item.status != chafon.STATUS_MORE_DATA:
                    return
