"""The gateway journal: SQLite through SQLAlchemy, WAL, one hash chain over every entry.

Every device event, desk event, engine output and health report becomes one entry
(seq, ts, kind, body, hash). `seq` is contiguous from 1; `body` is canonical JSON (UTF-8,
keys sorted, no spaces, as msgspec writes it); `hash = sha256(prev_hash + body)` with 64
zeros before the first entry, so changing, removing or reordering any stored entry breaks
the chain from there on (`custody journal verify`). The entry's ts and kind are checked
against the body (events carry `ts`/`type`, outputs `ts`/`kind`), so they cannot be edited
unnoticed either.

Durability: in WAL mode a committed transaction is in the WAL file before `append` returns,
so killing the process (kill -9) loses nothing committed. `synchronous=NORMAL` (the default)
may lose the last transactions on a power cut but never corrupts; `power_loss_safe=True` sets
`synchronous=FULL`, which fsyncs the WAL on every commit.

Besides entries the file holds: `ticks` (the engine tick times that produced outputs, so a
replay fires timers exactly where the live engine did), `rejected` (device events the engine
refused, kept locally with the reason), `snapshots` (the engine and zone status as they were
right after a given entry, committed with that entry, so a restart replays only the tail; the
last two are kept), and `meta` (uplink progress and the like). Snapshots are a cache: they are
outside the hash chain and a restart without them replays the whole journal.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import (
    Column, Integer, LargeBinary, MetaData, String, Table, Text, create_engine, event, func, select,
)
from sqlalchemy.engine import Engine

from core_ext.chain import GENESIS_HASH, chain_hash  # one definition for the gateway and the center

JOURNAL_FILE = "journal.db"

metadata = MetaData()
entries_table = Table(
    "entries", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
)
ticks_table = Table(
    "ticks", metadata,
    Column("after_seq", Integer, nullable=False, index=True),
    Column("now_ms", Integer, nullable=False),
)
rejected_table = Table(
    "rejected", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Integer, nullable=False),
    Column("source", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("error", Text, nullable=False),
)
snapshots_table = Table(
    "snapshots", metadata,
    Column("after_seq", Integer, primary_key=True, autoincrement=False),
    Column("ticked_to", Integer, nullable=False),
    Column("engine", LargeBinary, nullable=False),
    Column("status", LargeBinary, nullable=False),
)
SNAPSHOTS_KEPT = 2
meta_table = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

_encoder = msgspec.json.Encoder(order="sorted")


def canonical(body: Any) -> bytes:
    """The byte string the chain hashes and the uplink sends: sorted keys, UTF-8, compact."""
    return _encoder.encode(body)


@dataclass(frozen=True)
class Entry:
    seq: int
    ts: int
    kind: str
    body: str  # canonical JSON text
    hash: str


@dataclass(frozen=True)
class Snapshot:
    after_seq: int       # the engine state is the one right after this entry
    ticked_to: int       # the last tick applied before the snapshot (-1: none)
    engine: bytes        # CustodyEngine.snapshot()
    status: bytes        # the pickled ZoneStatus


@dataclass(frozen=True)
class ReplayStep:
    """One step of a replay: an event entry (`event` set) or a tick (`tick_ms` set)."""
    seq: int
    event: dict[str, Any] | None = None
    tick_ms: int | None = None


class JournalError(RuntimeError):
    pass


def make_engine(path: Path, power_loss_safe: bool) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    synchronous = "FULL" if power_loss_safe else "NORMAL"

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=10000")
        # No automatic checkpoints inside commits: a checkpoint copies the WAL into the database
        # and syncs it, which would stall the commit that triggered it (and every alert behind
        # it) for tens of milliseconds. `checkpoint()` runs them on a timer instead.
        cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    return engine


class Journal:
    """Single writer (the engine task); any number of readers (uplink, CLI)."""

    def __init__(self, data_dir: str | os.PathLike[str], power_loss_safe: bool = False) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / JOURNAL_FILE
        self.power_loss_safe = power_loss_safe
        self.engine = make_engine(self.path, power_loss_safe)
        metadata.create_all(self.engine)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(entries_table.c.seq, entries_table.c.hash, entries_table.c.ts)
                .order_by(entries_table.c.seq.desc()).limit(1)).first()
            self.last_ts = conn.execute(select(func.max(entries_table.c.ts))).scalar() or 0
        self.last_seq = row.seq if row else 0
        self.last_hash = row.hash if row else GENESIS_HASH

    def close(self) -> None:
        self.engine.dispose()

    # ---- writing (one writer) ---------------------------------------------------------------

    def append(self, items: Sequence[tuple[int, str, Any]], tick_ms: int | None = None,
               snapshot: Snapshot | None = None) -> tuple[int, int]:
        """Write (ts, kind, body) entries in one transaction; returns (first seq, last seq).

        With `tick_ms`, also records that the engine ticked to `tick_ms` right before these
        entries (they are the tick's outputs). With `snapshot` (its after_seq is ignored), stores
        the engine state as it is right after these entries, in the same transaction."""
        seq, prev = self.last_seq, self.last_hash
        first = seq + 1
        rows = []
        max_ts = self.last_ts
        for ts, kind, body in items:
            encoded = canonical(body)
            prev = chain_hash(prev, encoded)
            seq += 1
            rows.append((seq, ts, kind, encoded.decode("utf-8"), prev))
            if ts > max_ts:
                max_ts = ts
        with self.engine.begin() as conn:
            if tick_ms is not None:
                conn.exec_driver_sql("INSERT INTO ticks (after_seq, now_ms) VALUES (?, ?)", (first - 1, tick_ms))
            if rows:
                conn.exec_driver_sql("INSERT INTO entries (seq, ts, kind, body, hash) VALUES (?, ?, ?, ?, ?)", rows)
            if snapshot is not None:
                conn.exec_driver_sql("INSERT OR REPLACE INTO snapshots (after_seq, ticked_to, engine, status) "
                                     "VALUES (?, ?, ?, ?)", (seq, snapshot.ticked_to, snapshot.engine, snapshot.status))
                conn.exec_driver_sql("DELETE FROM snapshots WHERE after_seq NOT IN "
                                     "(SELECT after_seq FROM snapshots ORDER BY after_seq DESC LIMIT ?)",
                                     (SNAPSHOTS_KEPT,))
        self.last_seq, self.last_hash, self.last_ts = seq, prev, max_ts
        return first, seq

    def record_rejected(self, ts: int, source: str, body: Any, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(rejected_table.insert().values(ts=ts, source=source, body=canonical(body).decode(), error=error))

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES (?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---- reading -------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()
        return default if value is None else value

    def read_after(self, seq: int, limit: int) -> list[Entry]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT seq, ts, kind, body, hash FROM entries WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)).all()
        return [Entry(*row) for row in rows]

    def ts_of(self, seq: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(entries_table.c.ts).where(entries_table.c.seq == seq)).scalar()

    def rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(rejected_table).order_by(rejected_table.c.id.desc()).limit(limit)).all()
        return [dict(row._mapping) for row in rows]

    def count_rejected(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(rejected_table)).scalar_one()

    def latest_snapshot(self) -> Snapshot | None:
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT after_seq, ticked_to, engine, status FROM snapshots "
                                       "ORDER BY after_seq DESC LIMIT 1").first()
        return None if row is None else Snapshot(row[0], row[1], bytes(row[2]), bytes(row[3]))

    def replay_steps(self, chunk: int = 20_000, after_seq: int = 0, ticked_to: int = -1) -> Iterator[ReplayStep]:
        """Every journaled event and recorded tick after `after_seq` (and, for ticks recorded right
        after that entry, later than `ticked_to`), in the order the live engine applied them."""
        decode = msgspec.json.decode
        with self.engine.connect() as conn:
            ticks = conn.exec_driver_sql(
                "SELECT after_seq, now_ms FROM ticks WHERE after_seq > ? OR (after_seq = ? AND now_ms > ?) "
                "ORDER BY rowid", (after_seq, after_seq, ticked_to)).all()
        tick_index = 0
        after = after_seq
        while True:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT seq, body FROM entries WHERE seq > ? AND kind = 'event' ORDER BY seq LIMIT ?",
                    (after, chunk)).all()
            if not rows:
                break
            for seq, body in rows:
                while tick_index < len(ticks) and ticks[tick_index][0] < seq:
                    yield ReplayStep(ticks[tick_index][0], tick_ms=ticks[tick_index][1])
                    tick_index += 1
                yield ReplayStep(seq, event=decode(body))
            after = rows[-1][0]
        for after_seq, now_ms in ticks[tick_index:]:
            yield ReplayStep(after_seq, tick_ms=now_ms)

    def checkpoint(self) -> tuple[int, int]:
        """Copy committed WAL pages into the database without blocking the writer (PASSIVE);
        returns (WAL pages, pages checkpointed)."""
        with self.engine.connect() as conn:
            busy, log_pages, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return log_pages, done

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def synchronous_mode(self) -> int:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA synchronous").scalar_one()

    # ---- verification -------------------------------------------------------------------------------

    def verify(self, max_faults: int = 20) -> "VerifyReport":
        return verify_entries(self.iter_entries(), max_faults)

    def iter_entries(self, chunk: int = 20_000) -> Iterator[Entry]:
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT seq, ts, kind, body, hash FROM entries WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, chunk)).all()
            if not rows:
                return
            for row in rows:
                yield Entry(*row)
            after = rows[-1][0]


@dataclass
class VerifyReport:
    entries: int
    faults: list[str]

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_entries(entries: Iterator[Entry], max_faults: int = 20) -> VerifyReport:
    """Recompute the chain; report each entry whose seq, hash, ts or kind does not fit."""
    faults: list[str] = []
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for e in entries:
        count += 1
        if e.seq != expected_seq:
            faults.append(f"seq {e.seq}: expected seq {expected_seq} (entries missing or renumbered)")
        expected_seq = e.seq + 1
        body_bytes = e.body.encode("utf-8")
        digest = chain_hash(prev, body_bytes)
        if digest != e.hash:
            faults.append(f"seq {e.seq}: hash mismatch (body or an earlier entry was changed): "
                          f"stored {e.hash[:16]}…, computed {digest[:16]}…")
        try:
            body = msgspec.json.decode(body_bytes)
        except msgspec.DecodeError as exc:
            faults.append(f"seq {e.seq}: body is not JSON: {exc}")
            body = None
        if isinstance(body, dict):
            faults.extend(_header_faults(e, body))
            if canonical(body) != body_bytes:
                faults.append(f"seq {e.seq}: body is not in canonical form (re-encoded by hand?)")
        # Continue the chain from the stored hash, so one edit is reported once, not at every later entry.
        prev = e.hash
        if len(faults) >= max_faults:
            faults.append(f"stopped after {max_faults} faults")
            break
    return VerifyReport(count, faults)


def _header_faults(e: Entry, body: dict[str, Any]) -> list[str]:
    faults = []
    if "ts" in body and body["ts"] != e.ts:
        faults.append(f"seq {e.seq}: ts column {e.ts} differs from the body's ts {body['ts']}")
    if e.kind == "event":
        if "type" not in body or "kind" in body:
            faults.append(f"seq {e.seq}: kind column 'event' but the body is not an event")
    elif e.kind == "health":
        if "gateway" not in body:
            faults.append(f"seq {e.seq}: kind column 'health' but the body is not a health report")
    elif body.get("kind") != e.kind:
        faults.append(f"seq {e.seq}: kind column {e.kind!r} differs from the body's kind {body.get('kind')!r}")
    return faults

