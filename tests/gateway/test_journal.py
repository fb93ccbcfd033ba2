"""The journal: contiguous seq, hash chain, edits detected, reopen continues, durability modes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.clock import GatewayClock
from gateway.journal import GENESIS_HASH, Journal

pytestmark = pytest.mark.timeout(60)
REPO = Path(__file__).resolve().parents[2]


def _fill(journal: Journal) -> None:
    journal.append(
        [
            (1000, "event", {"ts": 1000, "type": "door", "door": "door-main", "state": "open"}),
            (
                1000,
                "alert",
                {
                    "kind": "alert",
                    "ts": 1000,
                    "rule": "door_forced",
                    "state": "raised",
                    "subject": "door-main",
                    "zone": "entry",
                    "severity": "high",
                    "detail": {"名": "值"},
                },
            ),
        ]
    )
    journal.append(
        [(1500, "event", {"ts": 1500, "type": "door", "door": "door-main", "state": "closed"})], tick_ms=1499
    )


def test_entries_are_contiguous_and_chained_like_the_server_builder(tmp_path):
    journal = Journal(tmp_path)
    _fill(journal)
    entries = journal.read_after(0, 10)
    assert [e.seq for e in entries] == [1, 2, 3]
    prev = GENESIS_HASH
    for e in entries:
        body = json.loads(e.body)
        # Same rule as tests/server/uplink_builder.py: sha256(prev + sorted compact JSON), UTF-8.
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert canonical == e.body
        prev = hashlib.sha256((prev + canonical).encode()).hexdigest()
        assert e.hash == prev
    assert journal.verify().ok
    journal.close()


def test_reopen_continues_the_chain_and_replays_ticks_in_place(tmp_path):
    journal = Journal(tmp_path)
    _fill(journal)
    journal.close()
    again = Journal(tmp_path)
    assert (again.last_seq, again.last_ts) == (3, 1500)
    again.append([(2000, "event", {"ts": 2000, "type": "door", "door": "door-main", "state": "open"})])
    assert again.verify().ok and again.verify().entries == 4
    steps = [(s.seq, s.event["ts"] if s.event else None, s.tick_ms) for s in again.replay_steps()]
    # The tick (recorded after seq 2) comes before the event at seq 3, as the live engine ran it.
    assert steps == [(1, 1000, None), (2, None, 1499), (3, 1500, None), (4, 2000, None)]
    again.close()


@pytest.mark.parametrize(
    "edit, fault",
    [
        ("UPDATE entries SET body = replace(body, 'open', 'shut') WHERE seq = 1", "seq 1: hash mismatch"),
        ("DELETE FROM entries WHERE seq = 2", "seq 3: expected seq 2"),
        ("UPDATE entries SET ts = 999 WHERE seq = 3", "seq 3: ts column 999"),
        ("UPDATE entries SET kind = 'location' WHERE seq = 2", "seq 2: kind column 'location'"),
    ],
)
def test_verify_cli_detects_an_edit(tmp_path, edit, fault):
    journal = Journal(tmp_path)
    _fill(journal)
    journal.close()
    ok = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "journal", "verify", "--data", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "3 entries, hash chain intact" in ok.stdout
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        conn.execute(edit)
    bad = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "journal", "verify", "--data", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert fault in bad.stderr, bad.stderr


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path):
    journal = Journal(tmp_path)
    _fill(journal)
    journal.close()
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        body = '{"door":"door-main","state":"closed","ts":1000,"type":"door"}'
        forged = hashlib.sha256((GENESIS_HASH + body).encode()).hexdigest()
        conn.execute("UPDATE entries SET body = ?, hash = ? WHERE seq = 1", (body, forged))
    report = Journal(tmp_path).verify()
    assert not report.ok
    assert report.faults[0].startswith("seq 2: hash mismatch")


@pytest.mark.parametrize("safe, level", [(False, 1), (True, 2)])  # NORMAL = 1, FULL = 2
def test_power_loss_safe_mode_is_synchronous_full(tmp_path, safe, level):
    journal = Journal(tmp_path, power_loss_safe=safe)
    assert journal.synchronous_mode() == level
    with journal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    journal.close()


def test_clock_never_goes_back():
    wall = iter([1000, 1005, 900, 1010])
    clock = GatewayClock(lambda: next(wall))
    clock.observe(1002)
    assert [clock.now() for _ in range(4)] == [1002, 1005, 1005, 1010]


def test_checkpoint_moves_the_wal_into_the_database_and_keeps_everything(tmp_path):
    journal = Journal(tmp_path)
    _fill(journal)
    wal_pages, done = journal.checkpoint()
    assert wal_pages > 0 and done == wal_pages
    journal.close()
    status = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "journal", "status", "--data", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0 and status.stdout.startswith(
        "last seq 3; uplink acknowledged up to 0 (3 undelivered)"
    )
    assert Journal(tmp_path).verify().entries == 3
