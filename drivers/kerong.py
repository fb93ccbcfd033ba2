"""Kerong KR-CU serial lock boards: poll `status of all`, `unlock one` on request.

Slot doors are reported on change only; the first status after start sets the baseline
silently (unless `report_initial_state`), so a gateway restart does not look like every
slot opening. Hook polarity differs between firmware: it is the profile's `hook_bit_closed`.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping

from drivers.base import DeviceError, DeviceTimeout
from drivers.codecs import Rejected, kerong
from drivers.lock_bank import LockBankMixin
from drivers.serial_base import SerialDriver, SerialSettings, SerialWiring
from drivers.serial_link import SerialParams, SharedLine, shared_lines_for_running_loop


class KerongSettings(SerialSettings):
    serial: SerialParams = SerialParams(baudrate=19200)
    slots: int = 16
    command_status_all: int = 0x32
    command_unlock: int = 0x31
    reply_status_all: int = 0x35
    reply_unlock: int = 0x35  # the board answers an unlock with its status
    reply_data_lengths: dict[int, int] = {0x35: 4}
    hook_bit_closed: int = 1  # the value of a hook bit while the slot door is closed
    poll_interval_s: float = 0.2
    reply_timeout_s: float = 0.5
    max_missed_replies: int = 3


class KerongWiring(SerialWiring):
    board: int = 0  # 0..15, the board's DIP address on the line
    bank: str
    first_slot: int = 1  # bank slot number of this board's lock 0 (a bank may span boards)
    report_initial_state: bool = False

    def site_references(self, declared: Mapping[str, set[str]]) -> list[tuple[str, str]]:
        return [("bank", self.bank)]


class KerongLockBoardDriver(LockBankMixin, SerialDriver):
    Wiring = KerongWiring  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them
    Settings = KerongSettings

    def __init__(self, wiring: KerongWiring, settings: KerongSettings, emit) -> None:
        super().__init__(wiring, settings, emit)
        self.bank = wiring.bank
        self._shared: SharedLine | None = None
        self._line = asyncio.Lock()  # replaced by the shared line's lock on connect
        self._decoder = kerong.Decoder(settings.reply_data_lengths)
        self._slot_open: list[bool] | None = None

    async def _connect(self) -> None:
        # Boards 0..15 may share one RS-485 port: one open port, one transaction at a time.
        self._shared = shared_lines_for_running_loop().acquire(self.wiring.port,
                                                               self.wiring.serial or self.settings.serial)
        self.link = self._shared.link
        self._line = self._shared.lock
        self._decoder = kerong.Decoder(self.settings.reply_data_lengths)

    async def _disconnect(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            shared_lines_for_running_loop().release(shared, port_failed=shared.link.failed)

    async def unlock(self, slot: int) -> None:
        settings: KerongSettings = self.settings
        self._check_slot(slot)
        if not self.health.connected:
            raise DeviceError(f"device {self.id}: not connected, cannot unlock slot {slot}")
        address = kerong.address_of(self.wiring.board, slot - self.wiring.first_slot)
        reply = await self._transact(kerong.encode(address, settings.command_unlock), settings.reply_unlock)
        self._apply_status(reply)

    async def _session(self) -> None:
        settings: KerongSettings = self.settings
        request = kerong.encode(kerong.address_of(self.wiring.board, 0), settings.command_status_all)
        missed = 0
        while True:
            try:
                reply = await self._transact(request, settings.reply_status_all)
                missed = 0
                self._apply_status(reply)
            except DeviceTimeout:
                missed += 1
                self._frame_bad("no status reply", b"")
                if missed >= settings.max_missed_replies:
                    raise
            await asyncio.sleep(settings.poll_interval_s)

    async def _transact(self, request: bytes, expected_reply: int) -> kerong.Frame:
        settings: KerongSettings = self.settings
        async with self._line:
            self.link.discard_input()
            self.link.write(request)
            deadline = asyncio.get_running_loop().time() + settings.reply_timeout_s
            missing = f"no reply to {request.hex(' ')}"
            while True:
                data = await self.link.read_before(deadline, missing)
                for item in self._decoder.feed(data):
                    if isinstance(item, Rejected):
                        self._frame_bad(item.reason, item.frame)
                    elif item.command != expected_reply or item.address >> 4 != self.wiring.board:
                        self._frame_bad("reply for another command or board", item.frame)
                    else:
                        self._frame_good()
                        return item

    def _apply_status(self, reply: kerong.Frame) -> None:
        settings: KerongSettings = self.settings
        hooks = kerong.bits_lsb_first(reply.data[:2])[: settings.slots]
        now_open = [bit != bool(settings.hook_bit_closed) for bit in hooks]
        for _index, slot, now in self._door_changes(now_open):
            self._emit({"type": "locker", "bank": self.bank, "slot": slot, "state": "open" if now else "closed"})
