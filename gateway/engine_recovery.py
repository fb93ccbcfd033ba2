"""Recovery: the engine and zone status a gateway had before it stopped, rebuilt from its journal.
Resumes from the latest usable snapshot, then replays the journaled events and ticks after it
(all of them when there is none). Returns fresh objects; nothing that already runs is changed."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from core_ext.api import CustodyEngine, EventError, SnapshotMismatch
from core_ext.snapshot import SnapshotError
from gateway.journal import Journal, JournalError, Snapshot
from gateway.zone_status import ZoneStatus

log = logging.getLogger("gateway.engine")
REPLAY_BATCH = 5000


@dataclass
class Recovered:
    engine: CustodyEngine
    status: ZoneStatus
    ticked_to: int           # the last tick applied (-1: none)
    replayed_events: int
    replay_seconds: float
    resumed_from_seq: int    # the snapshot resumed from (0: replayed from the start)


def recover(journal: Journal, engine: CustodyEngine, status: ZoneStatus) -> Recovered:
    """`engine` and `status` are fresh (nothing applied yet); they are used when no snapshot
    applies, and as the template (site, core, desk view) of a restored one."""
    started = time.perf_counter()
    engine, status, after_seq, ticked_to = _resume(journal.latest_snapshot(), engine, status)
    pending: list[tuple[int, dict[str, Any]]] = []
    count = 0

    def flush() -> None:
        if not pending:
            return
        events = [ev for _, ev in pending]
        try:
            outputs = engine.feed(events)
        except EventError as exc:
            seq = pending[exc.index][0] if exc.index is not None else pending[0][0]
            raise JournalError(
                f"{journal.path}: seq {seq}: journaled event refused on replay: {exc}. The site "
                "config no longer matches this journal (a reader, camera, bank or door was removed?)"
            ) from exc
        status.apply(events)
        status.apply(outputs)
        pending.clear()

    for step in journal.replay_steps(after_seq=after_seq, ticked_to=ticked_to):
        if step.event is not None:
            pending.append((step.seq, step.event))
            count += 1
            if len(pending) >= REPLAY_BATCH:
                flush()
        else:
            flush()
            assert step.tick_ms is not None
            status.apply(engine.tick(step.tick_ms))
            ticked_to = step.tick_ms
    flush()
    seconds = time.perf_counter() - started
    log.info("engine rebuilt from journal", extra={"fields": {
        "resumed_from_seq": after_seq, "events": count, "seconds": round(seconds, 3), "last_seq": journal.last_seq}})
    return Recovered(engine, status, ticked_to, count, seconds, after_seq)


def _resume(snap: Snapshot | None, engine: CustodyEngine,
            status: ZoneStatus) -> tuple[CustodyEngine, ZoneStatus, int, int]:
    """Engine and zone status from a snapshot, and where the replay goes on from."""
    if snap is None:
        return engine, status, 0, -1
    try:
        restored = CustodyEngine.restore(engine.site, snap.engine, engine.core.name)
        restored_status = ZoneStatus.from_json(snap.status, status)
    except (SnapshotMismatch, SnapshotError) as exc:
        # e.g. the site config changed, the other core is running now, the snapshot is of an
        # older format or has no desk view: the journal is the record, the snapshot only a
        # shortcut, so replay everything instead.
        log.warning("engine snapshot not usable, replaying the whole journal", extra={"fields": {
            "after_seq": snap.after_seq, "reason": str(exc)}})
        return engine, status, 0, -1
    return restored, restored_status, snap.after_seq, snap.ticked_to
