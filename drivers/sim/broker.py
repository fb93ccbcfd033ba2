"""Start Debian's Mosquitto on a free loopback port for tests and the demo.

    async with MosquittoBroker() as broker:   # or: broker = MosquittoBroker(); await broker.start()
        url = broker.url                      # mqtt://127.0.0.1:<port>

The config is generated (a listener on 127.0.0.1 only, anonymous allowed, no persistence).
`users={"gw": "secret"}` writes a password file with `mosquitto_passwd` and refuses anonymous
clients; `tls=BrokerTls(ca, cert, key)` makes the listener TLS only (`broker.url` is then
`mqtts://`), `require_certificate=True` asks clients for a certificate from that CA;
`extra_conf` appends lines (e.g. `max_queued_messages 0`). `url_for(user, password)` is the URL
with credentials (percent-encoded). Readiness is a real MQTT CONNECT answered by a CONNACK (any
return code: a refusal proves the broker is up), not a sleep. Where mosquitto is not installed and
CI is not set, `start_test_broker()` falls back to amqtt if that is installed; under CI a
missing mosquitto is an error, never a skip.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

MOSQUITTO_PATHS = ("mosquitto", "/usr/sbin/mosquitto")


class BrokerUnavailable(RuntimeError):
    pass


def find_mosquitto() -> str | None:
    for candidate in MOSQUITTO_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class BrokerTls:
    ca_file: Path
    cert_file: Path
    key_file: Path


async def mqtt_handshake(host: str, port: int, timeout: float = 1.0, tls: bool = False,
                         any_answer: bool = False) -> bool:
    """True when a broker answers CONNECT with a successful CONNACK (`any_answer`: with any CONNACK)."""
    connect = bytes([0x10, 17, 0x00, 0x04]) + b"MQTT" + bytes([0x04, 0x02, 0x00, 0x3C, 0x00, 0x05]) + b"probe"
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a readiness probe: is anyone answering MQTT there?
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(connect)
        await writer.drain()
        connack = await asyncio.wait_for(reader.readexactly(4), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        writer.close()
        return False
    answered = connack[0] == 0x20 and (any_answer or connack[3] == 0x00)
    try:
        writer.write(bytes([0xE0, 0x00]))  # DISCONNECT
        await writer.drain()
    except OSError:
        pass  # a broker that refused us has already closed the connection: the CONNACK is the answer
    finally:
        writer.close()
    return answered


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started the broker dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class MosquittoBroker:
    def __init__(self, port: int | None = None, host: str = "127.0.0.1", startup_timeout_s: float = 10.0,
                 users: dict[str, str] | None = None, tls: BrokerTls | None = None,
                 require_certificate: bool = False, extra_conf: str = "") -> None:
        self.host = host
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self.users = dict(users or {})
        self.tls = tls
        self.require_certificate = require_certificate
        self.extra_conf = extra_conf
        self._process: asyncio.subprocess.Process | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def url_for(self, user: str, password: str) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}"

    def _security_conf(self, directory: Path) -> str:
        lines = []
        if self.users:
            passwd = shutil.which("mosquitto_passwd")
            if passwd is None:
                raise BrokerUnavailable("mosquitto_passwd is not installed (it comes with the mosquitto package)")
            password_file = directory / "passwd"
            for i, (user, password) in enumerate(self.users.items()):
                subprocess.run([passwd, "-b", *(["-c"] if i == 0 else []), str(password_file), user, password],
                               check=True, capture_output=True)
            password_file.chmod(0o644)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += [f"cafile {self.tls.ca_file}", f"certfile {self.tls.cert_file}", f"keyfile {self.tls.key_file}",
                      "tls_version tlsv1.2"]
            if self.require_certificate:
                lines.append("require_certificate true")
        return "\n".join(lines) + "\n"

    async def start(self) -> MosquittoBroker:
        binary = find_mosquitto()
        if binary is None:
            raise BrokerUnavailable("mosquitto is not installed (apt-get install mosquitto; see scripts/system-deps.sh)")
        for attempt in range(5):
            port = self.port or free_loopback_port()
            self._dir = tempfile.TemporaryDirectory(prefix="custody-mosquitto-")
            conf = Path(self._dir.name) / "mosquitto.conf"
            self.log_path = Path(self._dir.name) / "mosquitto.log"
            # As root, keep mosquitto root: dropping to `nobody` would clear the parent-death
            # signal below, and a test killed by a timeout would leave its broker running.
            run_as = "user root\n" if os.geteuid() == 0 else ""
            conf.write_text(
                run_as +
                f"listener {port} {self.host}\n"
                + self._security_conf(Path(self._dir.name)) +
                "persistence false\n"
                f"log_dest file {self.log_path}\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
                + self.extra_conf + ("\n" if self.extra_conf else ""),
                encoding="utf-8")
            os.chmod(self._dir.name, 0o755)  # mosquitto drops to `nobody` when started as root
            self.log_path.touch()
            os.chmod(self.log_path, 0o666)
            self._process = await asyncio.create_subprocess_exec(
                binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                preexec_fn=_die_with_parent)
            if await self._wait_ready(port):
                self.port = port
                return self
            stderr = await self._reap()
            if self.port is not None or attempt == 4:
                raise BrokerUnavailable(f"mosquitto did not start on {self.host}:{port}: {stderr}")
            # Someone took the free port between our probe and mosquitto's bind: try another.
        raise AssertionError("unreachable")

    async def _wait_ready(self, port: int) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout_s
        delay = 0.02
        while loop.time() < deadline:
            if self._process is not None and self._process.returncode is not None:
                return False
            if await self._answers(port):
                return True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)  # back off: startup takes tens of milliseconds
        return False

    async def _answers(self, port: int) -> bool:
        if self.require_certificate:
            # The probe has no client certificate: a TLS handshake that gets as far as asking
            # for one proves the listener is up.
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, port), 1.0)
            except (OSError, TimeoutError):
                return False
            writer.close()
            return True
        return await mqtt_handshake(self.host, port, tls=self.tls is not None, any_answer=True)

    async def _reap(self) -> str:
        process, self._process = self._process, None
        err = ""
        if process is not None:
            if process.returncode is None:
                process.terminate()
            _, stderr = await process.communicate()
            err = (stderr or b"").decode(errors="replace").strip()
        if self._dir is not None:
            if self.log_path is not None and self.log_path.exists():
                err = (err + " " + self.log_path.read_text(errors="replace")).strip()
            self._dir.cleanup()
            self._dir = None
        return err

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        await self._reap()

    async def restart(self) -> None:
        """Stop and start again on the same port (clients see the broker go away and come back)."""
        port = self.port
        await self.stop()
        self.port = port
        await self.start()

    async def __aenter__(self) -> MosquittoBroker:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


class EmbeddedBroker:
    """amqtt, only for machines without mosquitto and never under CI."""

    def __init__(self) -> None:
        self.host, self.port = "127.0.0.1", free_loopback_port()
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> EmbeddedBroker:
        from amqtt.broker import Broker  # optional: not a project dependency

        self._broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
                               "auth": {"allow-anonymous": True}, "topic-check": {"enabled": False}})
        await self._broker.start()
        return self

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


async def start_test_broker() -> MosquittoBroker | EmbeddedBroker:
    """Mosquitto; amqtt only where mosquitto is absent and CI is not set; else a loud error."""
    if find_mosquitto() is not None or os.environ.get("CI"):
        return await MosquittoBroker().start()
    try:
        return await EmbeddedBroker().start()
    except ImportError as exc:
        raise BrokerUnavailable("neither mosquitto nor amqtt is installed") from exc
