"""Real peers for gateway tests: the central server and the gateway as subprocesses."""
from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from drivers.sim.broker import free_loopback_port

REPO = Path(__file__).resolve().parents[2]


def _wait_http(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout_s: float,
               verify: ssl.SSLContext | bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log_path.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(url, timeout=1.0, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # not listening yet: start-up polling, not a busy loop
    raise RuntimeError(f"{url} not ready after {timeout_s}s: {log_path.read_text(errors='replace')[-4000:]}")


def server_cli(database_url: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "server", *args, "--database", database_url],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"custody server {args}: {result.stderr}")
    return result.stdout.strip()


class CentralServer:
    """`custody server run` on SQLite in a temp dir, with one site and one gateway registered."""

    def __init__(self, directory: Path, site_id: str, gateway_id: str, port: int | None = None) -> None:
        self.db_path = directory / "server.db"
        self.database_url = f"sqlite:///{self.db_path}"
        self.port = port or free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        server_cli(self.database_url, "add-site", "--id", site_id, "--name", "Gateway test area")
        self.credential = server_cli(self.database_url, "add-gateway", "--id", gateway_id, "--site", site_id)
        self.credential_file = directory / "credential"
        self.credential_file.write_text(self.credential)

    def start(self) -> CentralServer:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server", "run", "--host", "127.0.0.1", "--port", str(self.port),
             "--database", self.database_url, "--log-level", "warning"],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_http(self.url + "/healthz", self.process, self.log_path, 30)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def last_seq(self, gateway_id: str) -> int:
        response = httpx.get(self.url + "/api/v1/gateway/state",
                             headers={"Authorization": f"Bearer {self.credential}"}, timeout=5)
        response.raise_for_status()
        return int(response.json()["last_seq"])


class GatewayProcess:
    """`custody gateway run` as a real process, so a test can kill -9 it."""

    def __init__(self, site: Path, data: Path, *, server: CentralServer | None = None,
                 mqtt_url: str | None = None, extra: list[str] | None = None,
                 desk_tls: tuple[Path, Path, Path] | None = None, server_url: str | None = None) -> None:
        """desk_tls: (certificate, key, CA file) to serve the desk API over HTTPS; server_url: reach
        the center through another address (a proxy) than `server.url`."""
        self.site, self.data = site, data
        self.desk_port = free_loopback_port()
        self.verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=desk_tls[2]) if desk_tls else True
        self.desk_url = f"{'https' if desk_tls else 'http'}://127.0.0.1:{self.desk_port}"
        self.args = [sys.executable, "-m", "gateway.commands.cli", "gateway", "run", "--site", str(site), "--data", str(data),
                     "--desk-port", str(self.desk_port), "--health-interval", "1"]
        if desk_tls is not None:
            self.args += ["--desk-cert", str(desk_tls[0]), "--desk-key", str(desk_tls[1])]
        if server is not None:
            self.args += ["--server", server_url or server.url, "--credential-file", str(server.credential_file)]
        if mqtt_url is not None:
            self.args += ["--mqtt", mqtt_url]
        self.args += extra or []
        self.log_path = data.parent / f"{data.name}-gateway.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> GatewayProcess:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        _wait_http(self.desk_url + "/healthz", self.process, self.log_path, timeout_s, self.verify)
        return self

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gateway did not stop on SIGTERM: {self.log_path.read_text()[-3000:]}") from None
