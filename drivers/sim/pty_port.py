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
    def __init__(self, link: str | Path | None = None,
                 on_data: Callable[[bytes], None] | None = None) -> None:
        self.link = Path(link) if link is not None else None
        self.on_data = on_data
        self.master: int | None = None
        self._slave: int | None = None
        self.slave_name: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        if data and self.on_data is not None:
            self.on_data(data)

    def write(self, data: bytes) -> None:
        if self.master is None:
            raise OSError(f"simulated port {self.path} is not open")
        view = memoryview(data)
        while view:
            written = os.write(self.master, view)
            view = view[written:]

    def vanish(self) -> None:
        """Pull the plug: the driver's next read fails and the path disappears."""
        if self.master is not None:
            if self._loop is not None:
                self._loop.remove_reader(self.master)
            os.close(self.master)
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
