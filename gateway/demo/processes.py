"""The demo's child processes (central server, gateways): started in their own process group so
a terminal's Ctrl-C reaches only the demo, which then stops them in order; each also gets
SIGTERM from the kernel if the demo itself dies (PR_SET_PDEATHSIG), so none is left behind.
Children run in the demo's own working directory and environment: they find the product where
the demo found it (installed, or PYTHONPATH).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx


class ChildFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the demo process dies, however it dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    def __init__(self, name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.args, self.log_path = name, args, log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(log {self.log_path} unreadable: {exc})"

    async def wait_http(self, url: str, timeout_s: float = 60.0) -> None:
        """Until `url` answers 200; a child that exits first is an error with its log's tail."""
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if self.process.returncode is not None:
                    raise ChildFailed(
                        f"{self.name} exited with status {self.process.returncode} while starting; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(0.2)
        raise ChildFailed(
            f"{self.name} did not answer {url} within {timeout_s:.0f} s; log {self.log_path}:\n{self.log_tail()}"
        )

    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def stop(self, timeout_s: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout_s`; the exit status."""
        process = self.process
        if process is None:
            return None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout_s)
            except TimeoutError:
                process.kill()
                await process.wait()
        return process.returncode


async def run_cli(args: list[str], env: dict[str, str] | None = None, timeout_s: float = 120.0) -> str:
    """A one-shot command (e.g. `python -m server create-admin`); its stdout, or an error with stderr."""
    process = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_die_with_parent,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ChildFailed(f"{' '.join(args[:4])} did not finish within {timeout_s:.0f} s") from None
    if process.returncode != 0:
        raise ChildFailed(
            f"{' '.join(args[:5])} failed with status {process.returncode}: {err.decode(errors='replace').strip()}"
        )
    return out.decode()
