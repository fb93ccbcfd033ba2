"""Store-and-forward uplink: journal entries to the central server, in order, exactly once.

The server is asked where its copy of this gateway's journal ends (GET /api/v1/gateway/state)
and entries after that are POSTed to /api/v1/ingest in batches with contiguous seq. The server
stores a batch atomically and acknowledges replays as duplicates, so resending after a lost
answer is harmless. A 409 says where the server really is; everything else that fails
(connection refused, timeouts, 5xx, 401/403, even a 422 that needs a new server) is retried
with exponential backoff and jitter, forever, and reported in health: entries are never
skipped. Progress is stored in the journal's meta table after each acknowledged batch, and the
server's own last_seq wins at every (re)start.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from drivers.base import Backoff
from gateway.journal import Entry, Journal

log = logging.getLogger("gateway.uplink")

ACKED_KEY = "uplink_acked_seq"


class UplinkRefused(RuntimeError):
    pass


def encode_batch(gateway_id: str, site_id: str, entries: list[Entry]) -> bytes:
    """The batch as JSON, bodies spliced in verbatim (they are already canonical JSON)."""
    parts = [f'{{"seq":{e.seq},"ts":{e.ts},"kind":"{e.kind}","hash":"{e.hash}","body":{e.body}}}' for e in entries]
    head = f'{{"gateway_id":"{gateway_id}","site_id":"{site_id}","entries":['
    return (head + ",".join(parts) + "]}").encode("utf-8")


class Uplink:
    def __init__(self, journal: Journal, server_url: str, gateway_id: str, site_id: str, credential: str,
                 descriptor: dict[str, Any] | None = None, batch_max: int = 2000,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0, timeout_s: float = 15.0) -> None:
        self.journal = journal
        self.server_url = server_url.rstrip("/")
        self.gateway_id = gateway_id
        self.site_id = site_id
        self.credential = credential
        self.descriptor = descriptor
        self.batch_max = batch_max
        self.timeout_s = timeout_s
        self.backoff = Backoff(backoff_initial_s, backoff_max_s)
        self.acked_seq = int(journal.get_meta(ACKED_KEY, "0") or 0)
        self.wake = asyncio.Event()
        self.connected = False
        self.last_error: str | None = None
        self.last_success_at: float | None = None
        self.batches_sent = 0
        self.entries_sent = 0
        self._resumed = False
        self._descriptor_sent = descriptor is None

    def notify(self, records: list[dict[str, Any]] | None = None, changed: set[str] | None = None) -> None:
        """Engine-task listener: new entries are in the journal."""
        self.wake.set()

    def health_figures(self) -> dict[str, Any]:
        undelivered = max(0, self.journal.last_seq - self.acked_seq)
        return {"server": self.server_url, "connected": self.connected, "acked_seq": self.acked_seq,
                "undelivered": undelivered, "last_error": self.last_error,
                "last_success_at": self.last_success_at}

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.server_url, timeout=self.timeout_s,
                                     headers={"Authorization": f"Bearer {self.credential}"}) as client:
            while True:
                try:
                    progressed = await self._step(client)
                except (httpx.HTTPError, UplinkRefused) as exc:
                    self._failed(exc)
                    await asyncio.sleep(self.backoff.next_delay())
                    continue
                if not progressed:
                    self.wake.clear()
                    if self.journal.last_seq <= self.acked_seq:
                        try:
                            await asyncio.wait_for(self.wake.wait(), 5.0)
                        except TimeoutError:
                            pass  # periodic re-check, e.g. after the journal was written by a restart

    async def _step(self, client: httpx.AsyncClient) -> bool:
        if not self._descriptor_sent:
            response = await client.put(f"/api/v1/sites/{self.site_id}/descriptor", json=self.descriptor)
            self._check(response, "site descriptor")
            self._descriptor_sent = True
            log.info("site descriptor sent", extra={"fields": {"site": self.site_id}})
        if not self._resumed:
            response = await client.get("/api/v1/gateway/state")
            self._check(response, "gateway state")
            server_seq = int(response.json()["last_seq"])
            if server_seq > self.journal.last_seq:
                raise UplinkRefused(
                    f"the server holds seq {server_seq} for gateway {self.gateway_id!r} but this journal ends at "
                    f"{self.journal.last_seq}: this data directory is not that gateway's journal")
            await self._set_acked(server_seq)
            self._resumed = True
            self.connected = True
        # Reading and encoding run in a worker thread: a batch of thousands of entries would
        # otherwise hold the event loop (and every alert behind it) for milliseconds.
        prepared = await asyncio.to_thread(self._prepare, self.acked_seq, self.batch_max)
        if prepared is None:
            return False
        entries, body = prepared
        response = await client.post("/api/v1/ingest", content=body, headers={"Content-Type": "application/json"})
        if response.status_code == 409:
            expected = int(response.json()["expected_seq"])
            log.warning("server expects another seq; resuming there",
                        extra={"fields": {"expected_seq": expected, "sent_from": entries[0].seq}})
            await self._set_acked(min(expected - 1, self.journal.last_seq))
            return True
        if response.status_code == 413 and self.batch_max > 1:
            self.batch_max = max(1, self.batch_max // 2)
            log.warning("server refused the batch size; halving", extra={"fields": {"batch_max": self.batch_max}})
            return True
        self._check(response, "ingest")
        await self._set_acked(int(response.json()["last_seq"]))
        self.batches_sent += 1
        self.entries_sent += len(entries)
        self.connected = True
        self.last_error = None
        self.last_success_at = time.time()
        self.backoff.reset()
        return True

    def _prepare(self, after: int, limit: int) -> tuple[list[Entry], bytes] | None:
        entries = self.journal.read_after(after, limit)
        if not entries:
            return None
        return entries, encode_batch(self.gateway_id, self.site_id, entries)

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code >= 400:
            raise UplinkRefused(f"{what}: HTTP {response.status_code}: {response.text[:500]}")

    async def _set_acked(self, seq: int) -> None:
        if seq != self.acked_seq:
            self.acked_seq = seq
            await asyncio.to_thread(self.journal.set_meta, ACKED_KEY, str(seq))

    def _failed(self, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("uplink failed; retrying with backoff", extra={"fields": {
                "server": self.server_url, "error": message, "undelivered": self.journal.last_seq - self.acked_seq}})
        self.last_error = message
        self.connected = False
        # After any failure ask the server again where it is: a lost answer may have been stored.
        self._resumed = False
