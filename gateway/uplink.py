"""Store-and-forward uplink: journal entries to the central server, in order, exactly once.

The server is asked where its copy of this gateway's journal ends (GET /api/v1/gateway/state)
and entries after that are POSTed to /api/v1/ingest in batches with contiguous seq. The server
stores a batch atomically and acknowledges replays as duplicates, so resending after a lost
answer is harmless. A 409 says where the server really is; everything else that fails
(connection refused, timeouts, 5xx, 401/403, even a 422 that needs a new server) is retried
with exponential backoff and jitter, forever, and reported in health: entries are never
skipped. Progress is stored in the journal's meta table after each acknowledged batch, and the
server's own last_seq wins at every (re)start.

Only an answer of the expected shape counts: a redirect (3xx, never followed: a captive portal
or a misconfigured proxy), a 2xx whose body is not JSON, or JSON with a field missing or of the
wrong type is a failed attempt like a refused connection (retried with backoff, in health), and
nothing is marked delivered. A 409 `conflict: chain` (the center says the batch contradicts the
chain it holds) is logged at ERROR and retried: it needs an operator at the center.

Before the first batch the uplink enrols the gateway's chain-signing key
(PUT /api/v1/gateway/public-key, trust on first use). A 409 there (the center holds another key
for this gateway) is logged at ERROR and shown in health as `key_status`; uplinking goes on.
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


class UnexpectedAnswer(UplinkRefused):
    """The answer is not what the center sends: a redirect, not JSON, a field missing or mistyped."""


def _answer(response: httpx.Response, what: str, fields: dict[str, type] | None = None) -> dict[str, Any]:
    """The JSON object of a 2xx answer holding `fields` of the given types; UnexpectedAnswer otherwise."""
    status_code = response.status_code
    if 300 <= status_code < 400:
        raise UnexpectedAnswer(
            f"{what}: HTTP {status_code} redirect to {response.headers.get('location', '?')!r} "
            "(not followed: is a proxy or captive portal in the way?)"
        )
    if not 200 <= status_code < 300:
        raise UplinkRefused(f"{what}: HTTP {status_code}: {response.text[:500]}")
    try:
        data = response.json()
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
        raise UnexpectedAnswer(
            f"{what}: HTTP {status_code} but the body is not JSON "
            f"({response.headers.get('content-type', 'no content type')}): {response.text[:200]!r}"
        ) from exc
    if not isinstance(data, dict):
        raise UnexpectedAnswer(f"{what}: HTTP {status_code} but the JSON is a {type(data).__name__}, not an object")
    for name, kind in (fields or {}).items():
        value = data.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UnexpectedAnswer(f"{what}: field {name!r} should be {kind.__name__}, the answer has {value!r}")
    return data


def encode_batch(gateway_id: str, site_id: str, entries: list[Entry]) -> bytes:
    """The batch as JSON, bodies spliced in verbatim (they are already canonical JSON)."""
    parts = [f'{{"seq":{e.seq},"ts":{e.ts},"kind":"{e.kind}","hash":"{e.hash}","body":{e.body}}}' for e in entries]
    head = f'{{"gateway_id":"{gateway_id}","site_id":"{site_id}","entries":['
    return (head + ",".join(parts) + "]}").encode("utf-8")


class Uplink:
    def __init__(
        self,
        journal: Journal,
        server_url: str,
        gateway_id: str,
        site_id: str,
        credential: str,
        descriptor: dict[str, Any] | None = None,
        batch_max: int = 2000,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        timeout_s: float = 15.0,
        public_key_pem: str | None = None,
    ) -> None:
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
        self.public_key_pem = public_key_pem
        # None: no key to enrol; "pending", "registered", or "conflict: <the center's words>"
        self.key_status: str | None = "pending" if public_key_pem else None
        self.failed_attempts = 0
        self.unexpected_answers = 0

    def notify(self, records: list[dict[str, Any]] | None = None, changed: set[str] | None = None) -> None:
        """Engine-task listener: new entries are in the journal."""
        self.wake.set()

    def health_figures(self) -> dict[str, Any]:
        undelivered = max(0, self.journal.last_seq - self.acked_seq)
        return {
            "server": self.server_url,
            "connected": self.connected,
            "acked_seq": self.acked_seq,
            "undelivered": undelivered,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at,
            "failed_attempts": self.failed_attempts,
            "unexpected_answers": self.unexpected_answers,
            "key_status": self.key_status,
        }

    async def run(self) -> None:
        async with httpx.AsyncClient(
            base_url=self.server_url,
            timeout=self.timeout_s,
            follow_redirects=False,
            headers={"Authorization": f"Bearer {self.credential}"},
        ) as client:
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
            _answer(response, "site descriptor", {"id": str})
            self._descriptor_sent = True
            log.info("site descriptor sent", extra={"fields": {"site": self.site_id}})
        if self.key_status == "pending":
            await self._enrol_key(client)
        if not self._resumed:
            response = await client.get("/api/v1/gateway/state")
            server_seq = _answer(response, "gateway state", {"last_seq": int})["last_seq"]
            if server_seq < 0:
                raise UnexpectedAnswer(f"gateway state: last_seq {server_seq} is negative")
            if server_seq > self.journal.last_seq:
                raise UplinkRefused(
                    f"the server holds seq {server_seq} for gateway {self.gateway_id!r} but this journal ends at "
                    f"{self.journal.last_seq}: this data directory is not that gateway's journal"
                )
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
            return await self._conflict(response, entries)
        if response.status_code == 413 and self.batch_max > 1:
            self.batch_max = max(1, self.batch_max // 2)
            log.warning("server refused the batch size; halving", extra={"fields": {"batch_max": self.batch_max}})
            return True
        answer = _answer(response, "ingest", {"last_seq": int, "stored": int, "duplicates": int})
        acked = answer["last_seq"]
        if not 0 <= acked <= self.journal.last_seq:
            raise UnexpectedAnswer(
                f"ingest: the answer says last_seq {acked}, but this journal ends at {self.journal.last_seq}"
            )
        await self._set_acked(acked)
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

    async def _conflict(self, response: httpx.Response, entries: list[Entry]) -> bool:
        """A 409 from ingest: a gap (resend from expected_seq) or a chain conflict (an operator's matter)."""
        try:
            data = response.json()
        except ValueError as exc:
            raise UnexpectedAnswer(f"ingest: HTTP 409 but the body is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(data, dict):
            raise UnexpectedAnswer(f"ingest: HTTP 409 with JSON {type(data).__name__}, not an object")
        if data.get("conflict") == "chain":
            message = (
                f"the center refuses the batch from seq {entries[0].seq}: it contradicts the chain it holds "
                f"({data.get('detail')!r}); nothing more is delivered until an operator at the center "
                "clears the conflict"
            )
            log.error(
                "uplink: chain conflict at the center",
                extra={"fields": {"seq": data.get("seq"), "detail": data.get("detail"), "sent_from": entries[0].seq}},
            )
            raise UplinkRefused(message)
        expected = data.get("expected_seq")
        if not isinstance(expected, int) or isinstance(expected, bool) or expected < 1:
            raise UnexpectedAnswer(f"ingest: HTTP 409 without a usable expected_seq: {response.text[:200]!r}")
        log.warning(
            "server expects another seq; resuming there",
            extra={"fields": {"expected_seq": expected, "sent_from": entries[0].seq}},
        )
        await self._set_acked(min(expected - 1, self.journal.last_seq))
        return True

    async def _enrol_key(self, client: httpx.AsyncClient) -> None:
        response = await client.put("/api/v1/gateway/public-key", json={"public_key_pem": self.public_key_pem})
        if response.status_code == 409:
            detail = response.text[:500]
            try:
                parsed = response.json()
                if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
                    detail = parsed["detail"]
            except ValueError:
                pass  # not JSON: the raw text is the detail
            self.key_status = f"conflict: {detail}"
            log.error(
                "the center holds another chain-signing key for this gateway; its signatures will not "
                "verify there until an admin registers this gateway's key (docs/gateway.md)",
                extra={"fields": {"detail": detail, "gateway": self.gateway_id}},
            )
            return
        if response.status_code == 404 and "json" in response.headers.get("content-type", ""):
            self.key_status = "not supported by the center"
            log.warning(
                "the center does not take chain-signing keys (an older version?); signatures are uplinked unverified",
                extra={"fields": {"gateway": self.gateway_id}},
            )
            return
        answer = _answer(response, "public key enrolment")
        self.key_status = "registered"
        log.info("chain-signing key registered at the center", extra={"fields": {"key_id": answer.get("key_id")}})

    async def _set_acked(self, seq: int) -> None:
        if seq != self.acked_seq:
            self.acked_seq = seq
            await asyncio.to_thread(self.journal.set_meta, ACKED_KEY, str(seq))

    def _failed(self, exc: Exception) -> None:
        self.failed_attempts += 1
        if isinstance(exc, UnexpectedAnswer):
            self.unexpected_answers += 1
        message = f"{type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning(
                "uplink failed; retrying with backoff",
                extra={
                    "fields": {
                        "server": self.server_url,
                        "error": message,
                        "undelivered": self.journal.last_seq - self.acked_seq,
                    }
                },
            )
        self.last_error = message
        self.connected = False
        # After any failure ask the server again where it is: a lost answer may have been stored.
        self._resumed = False
