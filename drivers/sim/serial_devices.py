"""Simulated serial devices that speak the real frames on a pty: EM4100 and active ASCII
readers (unsolicited), a Chafon UHF reader and a Kerong lock board (command/response)."""

from __future__ import annotations

from typing import Any

from drivers.ascii_line import AsciiLineSettings
from drivers.chafon import ChafonSettings, ChafonWiring
from drivers.codecs import Rejected, chafon, em4100, kerong
from drivers.kerong import KerongSettings, KerongWiring
from drivers.serial_base import ReaderWiring
from drivers.sim.pty_port import PtyPort

EventKey = tuple[str, str]


def reader_keys(wiring: ReaderWiring) -> list[EventKey]:
    """Which §6.2 events this reader can be made to produce."""
    if wiring.event == "badge":
        if wiring.bank is not None:
            return [("badge", f"bank:{wiring.bank}")]
        return [("badge", wiring.reader or wiring.id)]
    if wiring.readers:
        return [("tag_seen", r) for r in wiring.readers.values()]
    return [("tag_seen", wiring.reader or wiring.id)]


class Em4100ReaderSim:
    def __init__(self, wiring: ReaderWiring, port: PtyPort) -> None:
        self.wiring, self.port = wiring, port
        self.keys = reader_keys(wiring)

    async def apply(self, event: dict[str, Any]) -> None:
        self.port.write(em4100.encode(event["tag"]))

    def close(self) -> None:
        self.port.close()


class AsciiReaderSim:
    def __init__(self, wiring: ReaderWiring, settings: AsciiLineSettings, port: PtyPort) -> None:
        if settings.sim_format is None:
            raise ValueError(f"device {wiring.id}: profile has no sim_format to simulate its lines")
        self.wiring, self.settings, self.port = wiring, settings, port
        self.keys = reader_keys(wiring)
        self._vendor = {ours: vendor for vendor, ours in (wiring.readers or {}).items()}

    async def apply(self, event: dict[str, Any]) -> None:
        vendor = self._vendor.get(event.get("reader", ""), "01")
        line = self.settings.sim_format.format(reader=vendor, tag=event["tag"], rssi=event.get("rssi", -60))  # type: ignore[union-attr]  # only ASCII-line readers reach this, whose settings have sim_format
        self.port.write(line.encode("ascii"))

    def close(self) -> None:
        self.port.close()


class ChafonReaderSim:
    """Answers inventory polls with the tags read since the last poll (each read once)."""

    MAX_TAGS_PER_FRAME = 4  # larger inventories go out as `more data follows` + final frame

    def __init__(self, wiring: ChafonWiring, settings: ChafonSettings, port: PtyPort) -> None:
        self.wiring, self.settings, self.port = wiring, settings, port
        self.keys = reader_keys(wiring)
        self.address = wiring.address if wiring.address is not None else settings.address
        self.pending: list[bytes] = []
        self.polls = 0
        self.rejected: list[Rejected] = []
        self.mute = False  # a reader that stopped answering
        self._decoder = chafon.FrameDecoder(min_len=4)
        port.listeners.append(self._on_data)

    async def apply(self, event: dict[str, Any]) -> None:
        self.pending.append(bytes.fromhex(event["tag"]))

    def _on_data(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, Rejected):
                self.rejected.append(item)
                self.port.write(chafon.encode_response(0x00, 0x00, chafon.STATUS_ILLEGAL_COMMAND))
                continue
            if item.address not in (self.address, 0xFF) or self.mute:
                continue
            self.polls += 1
            # A command has no status byte; the FrameDecoder parsed it as one: rejoin.
            if item.command != self.settings.inventory_command:
                self.port.write(chafon.encode_response(self.address, 0x00, chafon.STATUS_ILLEGAL_COMMAND))
                continue
            tags, self.pending = self.pending, []
            if not tags:
                self.port.write(chafon.encode_response(self.address, item.command, chafon.STATUS_NO_TAG))
                continue
            chunks = [tags[i : i + self.MAX_TAGS_PER_FRAME] for i in range(0, len(tags), self.MAX_TAGS_PER_FRAME)]
            for n, chunk in enumerate(chunks):
                status = chafon.STATUS_MORE_DATA if n < len(chunks) - 1 else chafon.STATUS_INVENTORY_DONE
                self.port.write(
                    chafon.encode_response(self.address, item.command, status, chafon.encode_inventory_data(chunk))
                )

    def close(self) -> None:
        self.port.close()


class KerongBoardSim:
    def __init__(self, wiring: KerongWiring, settings: KerongSettings, port: PtyPort) -> None:
        self.wiring, self.settings, self.port = wiring, settings, port
        self.keys = [
            ("locker", f"{wiring.bank}/{slot}") for slot in range(wiring.first_slot, wiring.first_slot + settings.slots)
        ]
        self.slot_open = [False] * settings.slots
        self.item_present = [False] * settings.slots
        self.unlocks: list[int] = []  # bank slot numbers, in order received
        self.polls = 0
        self.rejected: list[Rejected] = []
        self.mute = False  # a board that lost power: answers nothing
        # Requests carry no data: every command the board accepts is 0 data bytes long.
        self._decoder = kerong.Decoder({settings.command_status_all: 0, settings.command_unlock: 0})
        port.listeners.append(self._on_data)

    async def apply(self, event: dict[str, Any]) -> None:
        index = event["slot"] - self.wiring.first_slot
        self.slot_open[index] = event["state"] == "open"
        if "items" in event:
            self.item_present[index] = bool(event["items"])

    def _status(self) -> bytes:
        closed_bit = bool(self.settings.hook_bit_closed)
        hooks = [closed_bit if not is_open else not closed_bit for is_open in self.slot_open]
        data = kerong.pack_bits_lsb_first(hooks + [False] * (16 - len(hooks)))
        data += kerong.pack_bits_lsb_first(self.item_present + [False] * (16 - len(hooks)))
        return data

    def _on_data(self, data: bytes) -> None:
        s = self.settings
        for item in self._decoder.feed(data):
            if isinstance(item, Rejected):
                self.rejected.append(item)
                continue
            if item.address >> 4 != self.wiring.board or self.mute:
                continue
            if item.command == s.command_unlock:
                self.unlocks.append((item.address & 0x0F) + self.wiring.first_slot)
                reply_command = s.reply_unlock
            else:
                self.polls += 1
                reply_command = s.reply_status_all
            self.port.write(kerong.encode(item.address, reply_command, self._status()))

    def close(self) -> None:
        self.port.close()
