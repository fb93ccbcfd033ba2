"""An asyncio view of a pyserial port, woken by the event loop instead of polling.

pyserial is blocking; a thread per port would not scale to dozens of readers and a
read timeout would be a disguised busy loop. Every port pyserial opens here (a tty,
a pty, `socket://`) has a file descriptor, so the loop tells us when bytes are ready.
A port that vanishes (EOF, EIO, "readiness to read but returned no data") becomes a
`DeviceDisconnected`, which makes the driver close, back off and reopen.
"""
from __future__ import annotations

import asyncio

import serial
from pydantic import BaseModel, ConfigDict

from drivers.base import DeviceDisconnected, DeviceTimeout
from drivers.per_loop import PerLoop


class SerialParams(BaseModel):
    """Line settings; profiles give defaults, a device entry may override them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1


class SerialLink:
    def __init__(self, url: str, params: SerialParams) -> None:
        self.url = url
        self.params = params
        self._port: serial.SerialBase | None = None
        self._buffer = bytearray()
        self._data_ready = asyncio.Event()
        self._failure: Exception | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self.params.baudrate,
                bytesize=self.params.bytesize,
                parity=self.params.parity,
                stopbits=self.params.stopbits,
                timeout=0,  # non-blocking reads: the event loop says when to read
                write_timeout=2,
            )
        except (serial.SerialException, ValueError) as exc:
            raise DeviceDisconnected(f"cannot open {self.url}: {exc}") from exc
        self._port = port
        self._failure = None
        self._buffer.clear()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(port.fileno(), self._on_readable)

    def close(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(port.fileno())
        port.close()
        self._data_ready.set()  # wake a reader so it sees the port is gone

    def _on_readable(self) -> None:
        port = self._port
        if port is None:
            return
        try:
            chunk = port.read(4096)
        except (serial.SerialException, OSError) as exc:
            self._failure = exc
            if self._loop is not None:
                self._loop.remove_reader(port.fileno())
            self._data_ready.set()
            return
        if chunk:
            self._buffer.extend(chunk)
            self._data_ready.set()

    async def read_some(self, timeout: float | None = None) -> bytes:
        """Everything received so far, waiting for at least one byte."""
        while not self._buffer:
            self._check_alive()
            self._data_ready.clear()
            try:
                await asyncio.wait_for(self._data_ready.wait(), timeout)
            except TimeoutError as exc:
                raise DeviceTimeout(f"{self.url}: no data within {timeout}s") from exc
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    async def read_before(self, deadline: float, what: str) -> bytes:
        """`read_some` for a reply due by `deadline` (event loop time): once it has passed,
        DeviceTimeout saying `what` is missing."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise DeviceTimeout(f"{self.url}: {what}")
        return await self.read_some(timeout=remaining)

    def discard_input(self) -> None:
        self._buffer.clear()

    def write(self, data: bytes) -> None:
        self._check_alive()
        assert self._port is not None
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"{self.url}: write failed: {exc}") from exc

    @property
    def failed(self) -> bool:
        return self._failure is not None

    def _check_alive(self) -> None:
        if self._failure is not None:
            raise DeviceDisconnected(f"{self.url}: {self._failure}")
        if self._port is None:
            raise DeviceDisconnected(f"{self.url}: port closed")


class SharedLine:
    """One RS-485 port used by several addressed devices (e.g. Kerong boards 0..15 daisy-chained):
    one open port, one transaction at a time (`lock`), closed when the last user lets go or the
    port itself fails. A device that stops answering only fails its own transactions."""

    def __init__(self, link: SerialLink) -> None:
        self.link = link
        self.lock = asyncio.Lock()
        self.users = 0


class SharedLines:
    def __init__(self) -> None:
        self._lines: dict[str, SharedLine] = {}

    def acquire(self, url: str, params: SerialParams) -> SharedLine:
        line = self._lines.get(url)
        if line is None:
            line = SharedLine(SerialLink(url, params))
        elif line.link.params != params:
            raise ValueError(f"serial line {url} is wired twice with different settings: "
                             f"{line.link.params.model_dump()} vs {params.model_dump()}")
        if line.link.failed:
            line.link.close()
        if not line.link.is_open:
            line.link.open()  # raises DeviceDisconnected before anything is counted
        self._lines[url] = line
        line.users += 1
        return line

    def release(self, line: SharedLine, port_failed: bool) -> None:
        line.users -= 1
        if port_failed or line.users <= 0:
            line.link.close()  # the others see DeviceDisconnected and reopen through acquire()
        if line.users <= 0 and self._lines.get(line.link.url) is line:
            del self._lines[line.link.url]


_shared: PerLoop[SharedLines] = PerLoop(SharedLines)


def shared_lines_for_running_loop() -> SharedLines:
    return _shared.get()
