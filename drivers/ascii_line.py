"""Active 2.4 GHz / 433 MHz readers that print one ASCII line per read (format from the profile)."""
from __future__ import annotations

from drivers.codecs.ascii_line import LineDecoder
from drivers.serial_base import ReaderMixin, ReaderWiring, SerialDriver, SerialSettings
from drivers.serial_link import SerialParams


class AsciiLineSettings(SerialSettings):
    serial: SerialParams = SerialParams(baudrate=115200)
    pattern: str  # regex with named groups tag, and optionally rssi and reader
    terminator: str = "\r\n"
    max_line: int = 256
    # How the simulator prints a read: str.format with tag, rssi, reader.
    sim_format: str | None = None


class AsciiLineSerialDriver(ReaderMixin, SerialDriver):  # type: ignore[misc]  # ReaderMixin and SerialDriver both declare `wiring`; the reader's is the narrower
    Wiring = ReaderWiring
    Settings = AsciiLineSettings  # type: ignore[assignment]  # a driver narrows its Wiring/Settings class; Driver is not generic over them

    async def _session(self) -> None:
        settings: AsciiLineSettings = self.settings  # type: ignore[assignment]
        decoder = LineDecoder(settings.pattern, settings.terminator.encode(), settings.max_line)
        async for line in self._unsolicited_frames(decoder):
            self._report_tag(line.tag, line.rssi, line.reader)
