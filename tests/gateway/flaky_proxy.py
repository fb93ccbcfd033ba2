"""A real HTTP proxy on loopback between a gateway and the center that misbehaves on demand.

    proxy = FlakyProxy(upstream=center.url).start()
    proxy.mode = "redirect"      # every request: 301 to a captive portal
    proxy.mode = "html"          # every request: 200 text/html
    proxy.mode = "partial"       # forwards everything but ingest, which gets 200 JSON without last_seq
    proxy.mode = "pass"          # a plain reverse proxy
    proxy.wait_answered("redirect", 3)

What a captive portal or a misconfigured proxy does. `answered[mode]` counts the requests
answered in each mode; `forwarded_ingests` the ingest batches that reached the center.
"""
from __future__ import annotations

import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

MODES = ("redirect", "html", "partial", "pass")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "te",
              "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"}
PORTAL_PAGE = b"<!doctype html><html><body><h1>Welcome to the guest network</h1><a href=/login>log in</a></body></html>"


class FlakyProxy:
    def __init__(self, upstream: str, mode: str = "pass") -> None:
        self.upstream = upstream.rstrip("/")
        self._mode = mode
        self.answered: Counter[str] = Counter()
        self.forwarded_ingests = 0
        self._cond = threading.Condition()
        self._client = httpx.Client(timeout=30, follow_redirects=False)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads the counters, not an access log

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                mode = proxy.mode
                if mode == "redirect":
                    self._send(301, b"", {"Location": "http://portal.invalid/login?next=" + self.path})
                elif mode == "html":
                    self._send(200, PORTAL_PAGE, {"Content-Type": "text/html; charset=utf-8"})
                elif mode == "partial" and self.path.startswith("/api/v1/ingest"):
                    self._send(200, b'{"stored": 1}', {"Content-Type": "application/json"})
                else:
                    self._forward(body)
                with proxy._cond:
                    proxy.answered[mode] += 1
                    proxy._cond.notify_all()

            def _forward(self, body: bytes) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                try:
                    response = proxy._client.request(self.command, proxy.upstream + self.path, content=body,
                                                     headers=headers)
                except httpx.TransportError as exc:
                    self._send(502, f"upstream: {exc}".encode(), {"Content-Type": "text/plain"})
                    return
                if self.path.startswith("/api/v1/ingest") and response.status_code == 200:
                    with proxy._cond:
                        proxy.forwarded_ingests += 1
                kept = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
                self._send(response.status_code, response.content, kept)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # http.server's naming

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                exc = sys.exc_info()[1]
                if isinstance(exc, ConnectionError):
                    return  # a client killed mid-request (the chaos test's SIGKILL): nothing to report
                super().handle_error(request, client_address)  # type: ignore[arg-type]

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="flaky-proxy", daemon=True)

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {value!r}")
        self._mode = value

    def start(self) -> FlakyProxy:
        self._thread.start()
        return self

    def wait_answered(self, mode: str, count: int, timeout: float = 30.0) -> None:
        """Until `count` requests were answered in `mode` (woken by each answer)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.answered[mode] >= count, timeout):
                raise AssertionError(f"only {self.answered[mode]} requests answered in mode {mode!r} "
                                     f"within {timeout}s (all: {dict(self.answered)})")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._client.close()
