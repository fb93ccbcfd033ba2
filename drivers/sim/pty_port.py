"""A real pseudo-terminal standing in for a serial device.

The driver opens the slave side by path (optionally a stable symlink, as udev would give a
USB adapter); the simulator reads and writes the master side through the event loop.
`vanish()` closes the master, which the driver sees exactly like a USB adapter pulled out;
`reappear()` makes a new pty behind the same symlink.
"""

from __future__ import annotations

import asyncio
import os
import pty
import tty
from collections.abc import Callable
from pathlib import Path


class PtyPort:
    def __init__(self, link: str | Path | None = None, on_data: Callable[[bytes], None] | None = None) -> None:
        self.link = Path(link) if link is not None else None
        self.listeners: list[Callable[[bytes], None]] = [on_data] if on_data is not None else []
        self.master: int | None = None
        self._slave: int | None = None
        self.slave_name: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outgoing = bytearray()
        self._writer_armed = False
        self._drained = asyncio.Event()

    @property
    def path(self) -> str:
        """What a driver opens."""
        if self.link is not None:
            return str(self.link)
        assert self.slave_name is not None
        return self.slave_name

    def open(self) -> None:
        master, slave = pty.openpty()
        tty.setraw(slave)  # no echo, no line editing: bytes pass as on a real UART
        os.set_blocking(master, False)
        self.master, self._slave = master, slave
        self.slave_name = os.ttyname(slave)
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.link.with_name(self.link.name + ".tmp")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.slave_name)
            tmp.replace(self.link)  # atomic: a driver never sees a half-made link
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(master, self._on_readable)

    def _on_readable(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError:
            # EIO: nobody has the slave open right now (the driver is between reconnects).
            # Our own slave fd normally prevents that; stop listening until reopened.
            if self._loop is not None and self.master is not None:
                self._loop.remove_reader(self.master)
            return
        for listener in self.listeners if data else ():
            listener(data)

    def write(self, data: bytes) -> None:
        """Queue bytes for the driver; what the pty buffer cannot take now goes out when the
        driver has read enough (the event loop reports the master writable), like a UART."""
        if self.master is None:
            raise OSError(f"simulated port {self.path} is not open")
        pending = bool(self._outgoing)
        self._outgoing.extend(data)
        if not pending:
            self._flush()

    def _flush(self) -> None:
        if self.master is None:
            self._outgoing.clear()
            return
        try:
            while self._outgoing:
                written = os.write(self.master, self._outgoing)
                del self._outgoing[:written]
        except BlockingIOError:
            pass
        assert self._loop is not None
        if self._outgoing:
            if not self._writer_armed:
                self._loop.add_writer(self.master, self._flush)
                self._writer_armed = True
        elif self._writer_armed:
            self._loop.remove_writer(self.master)
            self._writer_armed = False
            self._drained.set()
        else:
            self._drained.set()

    async def drain(self) -> None:
        """Until everything written has gone into the pty."""
        while self._outgoing:
            self._drained.clear()
            await self._drained.wait()

    def vanish(self) -> None:
        """Pull the plug: the driver's next read fails and the path disappears."""
        if self.master is not None:
            if self._loop is not None:
                self._loop.remove_reader(self.master)
                if self._writer_armed:
                    self._loop.remove_writer(self.master)
                    self._writer_armed = False
            os.close(self.master)
            self._outgoing.clear()
            self._drained.set()
            self.master = None
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        if self.link is not None:
            self.link.unlink(missing_ok=True)

    def reappear(self) -> None:
        self.open()

    def close(self) -> None:
        self.vanish()
