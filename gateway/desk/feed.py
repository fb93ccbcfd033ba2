"""Server-sent events for the consoles: what changed, pushed by the gateway as it is journaled.

The engine task calls `committed` after each journal write (in journal order, on the event loop);
the feed tells every open console which of its views changed (`persons`, `ledger`) and forwards
slot door changes and enrolment-reader reads as they are. Reads at a reader marked
`enrolment: true` are tapped before the engine (`tap`): the engine drops reads of tags nobody
wears, and those are exactly the new wristbands and badges the desk is binding.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from gateway.desk.view import PERSON_EVENTS, PROPERTY_EVENTS

QUEUE_MAX = 200
HEARTBEAT_S = 15.0


def _end(queue: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Replace whatever is queued with the end marker."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


class LiveFeed:
    def __init__(self, enrolment_readers: set[str], tag_owner: Callable[[str], str | None]) -> None:
        self.enrolment_readers = enrolment_readers
        self.tag_owner = tag_owner
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.closed = False

    # ---- producers (event loop thread) ------------------------------------------------------------

    def committed(self, records: list[dict[str, Any]], changed: set[str]) -> None:
        if not self._queues:
            return
        persons = ledger = False
        lockers = []
        for rec in records:
            etype = rec.get("type")
            kind = rec.get("kind")
            if etype is not None:  # an event (welfare and decision events have a `kind` of their own)
                if etype in PERSON_EVENTS:
                    persons = True
                elif etype in PROPERTY_EVENTS:
                    ledger = True
                    if etype == "locker":
                        lockers.append({k: rec.get(k) for k in ("ts", "bank", "slot", "state", "items")})
            elif kind in ("location", "custody"):
                persons = True
            elif kind == "alert":
                if "/" in rec["subject"] or rec["rule"] in ("item_overdue", "intake_overdue"):
                    ledger = True
                else:
                    persons = True
        if persons or ledger:
            self._send({"type": "changed", "persons": persons, "ledger": ledger, "lockers": lockers})

    def tap(self, event: dict[str, Any]) -> None:
        if event.get("type") == "tag_seen" and event.get("reader") in self.enrolment_readers and self._queues:
            tag = event.get("tag")
            if isinstance(tag, str) and tag:
                self._send({"type": "enrolment_read", "reader": event["reader"], "tag": tag, "ts": event["ts"],
                            "worn_by": self.tag_owner(tag)})

    def _send(self, message: dict[str, Any]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A console that stopped reading: end its stream (it reconnects and reloads).
                self._queues.discard(queue)
                _end(queue)

    def close(self) -> None:
        self.closed = True
        for queue in list(self._queues):
            _end(queue)
        self._queues.clear()

    # ---- one console's stream ---------------------------------------------------------------------

    async def stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_MAX)
        self._queues.add(queue)
        try:
            yield "retry: 2000\nevent: hello\ndata: {}\n\n"
            while not self.closed:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield f"event: {message['type']}\ndata: {json.dumps(message, ensure_ascii=False)}\n\n"
        finally:
            self._queues.discard(queue)
