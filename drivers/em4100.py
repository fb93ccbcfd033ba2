"""EM4100 / RDM6300 125 kHz readers: unsolicited 14-byte frames on a serial line."""
from __future__ import annotations

from drivers.codecs.em4100 import Decoder
from drivers.serial_base import ReaderMixin, ReaderWiring, SerialDriver, SerialSettings
from drivers.serial_link import SerialParams


class Em4100Settings(SerialSettings):
    serial: SerialParams = SerialParams(baudrate=9600)


class Em4100SerialDriver(ReaderMixin, SerialDriver):  # type: ignore[misc]  # ReaderMixin and SerialDriver both declare `wiring`; the reader's is the narrower
    Wiring = ReaderWiring
    Settings = Em4100Settings

    async def _session(self) -> None:
        async for frame in self._unsolicited_frames(Decoder()):
            self._report_tag(frame.tag)
