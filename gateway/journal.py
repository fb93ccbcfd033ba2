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
from typing import Any, Protocol

import msgspec
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine

from core_ext.chain import (  # one definition for the gateway and the center
    GENESIS_HASH,
    SIGNATURE_KIND,
    chain_hash,
)

JOURNAL_FILE = "journal.db"
GATEWAY_ID_KEY = "gateway_id"  # meta: the gateway id this journal belongs to (signatures name it)

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
SIGNATURE_BODY_FIELDS = ("ts", "signed_seq", "signed_hash", "key_id", "sig")


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
    status: bytes        # ZoneStatus.to_json()


@dataclass(frozen=True)
class ReplayStep:
    """One step of a replay: an event entry (`event` set) or a tick (`tick_ms` set)."""
    seq: int
    event: dict[str, Any] | None = None
    tick_ms: int | None = None


class JournalError(RuntimeError):
    pass


class HeadSigner(Protocol):
    """Makes the body of a signature entry (gateway/signing.py's ChainSigner)."""

    def body(self, ts: int, signed_seq: int, signed_hash: str) -> dict[str, Any]: ...


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
        self.signer: HeadSigner | None = None
        self.sign_every = 0
        self._since_signature = 0

    def set_signer(self, signer: HeadSigner, sign_every: int) -> None:
        """From now on, sign the chain head after every `sign_every` entries (0: only on `sign_head`).
        The count goes on from the journal's last signature, so restarts do not reset it."""
        self.signer, self.sign_every = signer, sign_every
        if not sign_every:
            return
        with self.engine.connect() as conn:
            last_signed = conn.exec_driver_sql(
                "SELECT max(seq) FROM entries WHERE seq > ? AND kind = ?",
                (self.last_seq - sign_every, SIGNATURE_KIND)).scalar()
        self._since_signature = self.last_seq - last_signed if last_signed else min(self.last_seq, sign_every)

    def sign_head(self) -> bool:
        """Sign the chain head now (clean shutdown) unless the head is already a signature."""
        if self.signer is None or self.last_seq == 0:
            return False
        with self.engine.connect() as conn:
            kind = conn.exec_driver_sql("SELECT kind FROM entries WHERE seq = ?", (self.last_seq,)).scalar()
        if kind == SIGNATURE_KIND:
            return False
        self.append([], sign=True)
        return True

    def close(self) -> None:
        self.engine.dispose()

    # ---- writing (one writer) ---------------------------------------------------------------

    def append(self, items: Sequence[tuple[int, str, Any]], tick_ms: int | None = None,
               snapshot: Snapshot | None = None, sign: bool = False) -> tuple[int, int]:
        """Write (ts, kind, body) entries in one transaction; returns (first seq, last seq).

        With `tick_ms`, also records that the engine ticked to `tick_ms` right before these
        entries (they are the tick's outputs). With `snapshot` (its after_seq is ignored), stores
        the engine state as it is right after these entries, in the same transaction. With a
        signer set, a signature entry of the new head follows the entries when `sign_every`
        entries have been written since the last one (or when `sign`); the returned last seq
        is then the signature's."""
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
        self._since_signature += len(rows)
        if self.signer is not None and seq > 0 and (
                sign or (self.sign_every and self._since_signature >= self.sign_every)):
            # ts: the head's time, so a signature never stamps the journal ahead of the gateway clock.
            encoded = canonical(self.signer.body(max_ts, seq, prev))
            prev = chain_hash(prev, encoded)
            seq += 1
            rows.append((seq, max_ts, SIGNATURE_KIND, encoded.decode("utf-8"), prev))
            self._since_signature = 0
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

    def verify(self, max_faults: int = 20, public_key: Any = None, gateway_id: str | None = None) -> VerifyReport:
        """The chain, and with `public_key` (an Ed25519PublicKey) and `gateway_id`, its signatures."""
        return verify_entries(self.iter_entries(), max_faults, public_key, gateway_id)

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
    signatures: int = 0           # signature entries seen
    valid_signatures: int = 0     # of them, verified with the public key
    covered_seq: int = 0          # the chain up to here is intact and signed by a valid signature
    last_seq: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_entries(entries: Iterator[Entry], max_faults: int = 20, public_key: Any = None,
                   gateway_id: str | None = None) -> VerifyReport:
    """Recompute the chain; report each entry whose seq, hash, ts or kind does not fit, and each
    signature entry that does not sign the entry right before it (with `public_key`: that does not
    verify). `covered_seq` is how far the chain is intact and covered by a valid signature."""
    from core_ext.chain import key_id, raw_public_key, verify_head

    expected_key = key_id(raw_public_key(public_key)) if public_key is not None else None
    faults: list[str] = []
    report = VerifyReport(0, faults)
    prev = GENESIS_HASH
    expected_seq = 1
    for e in entries:
        report.entries += 1
        report.last_seq = e.seq
        if e.seq != expected_seq:
            faults.append(f"seq {e.seq}: expected seq {expected_seq} (entries missing or renumbered)")
        expected_seq = e.seq + 1
        intact_before = not faults
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
            header = _header_faults(e, body)
            faults.extend(header)
            if canonical(body) != body_bytes:
                faults.append(f"seq {e.seq}: body is not in canonical form (re-encoded by hand?)")
            if e.kind == SIGNATURE_KIND and not header:
                report.signatures += 1
                problem = _signature_problem(e, body, prev, expected_key, public_key, gateway_id, verify_head)
                if problem:
                    faults.append(f"seq {e.seq}: bad signature: {problem}")
                elif public_key is not None:
                    report.valid_signatures += 1
                    if intact_before:
                        report.covered_seq = body["signed_seq"]
        # Continue the chain from the stored hash, so one edit is reported once, not at every later entry.
        prev = e.hash
        if len(faults) >= max_faults:
            faults.append(f"stopped after {max_faults} faults")
            break
    return report


def _signature_problem(e: Entry, body: dict[str, Any], prev_hash: str, expected_key: str | None, public_key: Any,
                       gateway_id: str | None, verify_head: Any) -> str | None:
    signed_seq, signed_hash = body["signed_seq"], body["signed_hash"]
    if signed_seq != e.seq - 1 or signed_hash != prev_hash:
        return (f"signs seq {signed_seq} hash {str(signed_hash)[:16]}…, but the entry before it is seq {e.seq - 1} "
                f"hash {prev_hash[:16]}…")
    if public_key is None:
        return None
    if body["key_id"] != expected_key:
        return f"made with key {body['key_id']}, the public key given is {expected_key}"
    if not isinstance(signed_seq, int) or not isinstance(body["sig"], str) or gateway_id is None \
            or not verify_head(public_key, gateway_id, signed_seq, signed_hash, body["sig"]):
        return f"does not verify with key {expected_key} for gateway {gateway_id!r}"
    return None


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
    elif e.kind == SIGNATURE_KIND:
        missing = [name for name in SIGNATURE_BODY_FIELDS if name not in body]
        if missing or "kind" in body or "type" in body:
            faults.append(f"seq {e.seq}: kind column 'signature' but the body is not a signature "
                          f"(missing {', '.join(missing) or 'nothing'})")
    elif body.get("kind") != e.kind:
        faults.append(f"seq {e.seq}: kind column {e.kind!r} differs from the body's kind {body.get('kind')!r}")
    return faults

