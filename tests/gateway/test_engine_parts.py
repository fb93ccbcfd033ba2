"""The engine task's parts, each alone (issue 12 item 6): intake and batching, apply, the snapshot
policy, the journal write, recovery returning fresh objects."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gw_sites import NO_DEVICES_SITE, write_site

from core_ext.api import CustodyEngine
from core_ext.site import load_site_model
from gateway.clock import GatewayClock
from gateway.engine_apply import SnapshotPolicy, apply_batch, apply_tick
from gateway.engine_intake import DeskEvent, DeviceEvent, Health, Intake
from gateway.engine_recovery import recover
from gateway.journal import Journal
from gateway.journal_writer import EngineStats, JournalWriter
from gateway.zone_status import ZoneStatus

pytestmark = pytest.mark.timeout(60)
T0 = 1_790_000_000_000
CHECKIN = {"type": "checkin", "person": "p1", "role": "suspect", "sex": "M", "tag": "P1",
           "basis": "criminal_summons", "case": "c1"}


@pytest.fixture
def model(tmp_path):
    return load_site_model(write_site(tmp_path, NO_DEVICES_SITE))


class Ticks:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now


async def test_intake_stamps_in_order_and_batches_up_to_the_limit():
    intake = Intake(GatewayClock(Ticks(T0)))
    seen: list[dict[str, Any]] = []
    intake.device_taps.append(seen.append)
    for i in range(5):
        intake.device({"type": "tag_seen", "reader": "rdr-entry", "tag": f"T{i}"}, "rdr")
    desk = intake.desk(dict(CHECKIN))
    intake.health({"ok": True})
    first, stop = intake.take(4)
    assert not stop and [type(i) for i in first] == [DeviceEvent] * 4
    rest, stop = intake.take(10)
    assert not stop and [type(i) for i in rest] == [DeviceEvent, DeskEvent, Health]
    stamps = [i.event["ts"] for i in first + rest[:2]]
    assert stamps == sorted(stamps) and len(set(stamps)) == 6
    assert [e["tag"] for e in seen] == [f"T{i}" for i in range(5)]
    assert intake.submitted == 7 and not desk.done()
    desk.cancel()


async def test_intake_stop_marker_keeps_what_is_behind_it():
    intake = Intake(GatewayClock(Ticks(T0)))
    intake.health({"n": 1})
    intake.stop()
    intake.health({"n": 2})
    batch, stop = intake.take(10)
    assert stop and [i.body for i in batch] == [{"n": 1}]
    assert intake and intake.take(10) == ([batch[0].__class__(T0 + 2, {"n": 2})], False)
    assert not await intake.wait(0.001)


async def test_apply_sets_a_refused_device_event_aside_and_applies_its_neighbours(model):
    engine = CustodyEngine(model)
    loop = asyncio.get_running_loop()
    batch = [
        DeviceEvent({"ts": T0, "type": "door", "door": "door-main", "state": "open"}, "doors"),
        DeviceEvent({"ts": T0 + 1, "type": "tag_seen", "reader": "rdr-nowhere", "tag": "X"}, "rdr-9"),
        DeskEvent({"ts": T0 + 2, **CHECKIN}, loop.create_future()),
        DeskEvent({"ts": T0 + 3, **CHECKIN, "person": "p2"}, loop.create_future()),  # tag P1 is worn
        Health(T0 + 4, {"ok": True}),
    ]
    write = apply_batch(engine, batch, T0 + 4)
    assert [(s.source, "rdr-nowhere" in err) for s, err in write.rejected] == [("rdr-9", True)]
    assert [k for _, k, _ in write.items][:1] == ["event"] and ("health" in [k for _, k, _ in write.items])
    assert len(write.answers) == 1 and write.answers[0][2]["person"] == "p1"
    assert len(write.refusals) == 1 and write.refusals[0][0] is batch[3].future
    assert write.submitted == 5 and write.tick_ms is None


def test_a_tick_without_output_writes_nothing(model):
    engine = CustodyEngine(model)
    assert apply_tick(engine, T0) is None


def test_snapshot_policy_counts_entries():
    policy = SnapshotPolicy(10)
    assert [policy.due(n) for n in (4, 5, 1, 9, 2)] == [False, False, True, False, True]
    assert not any(SnapshotPolicy(0).due(1000) for _ in range(3))


async def test_the_journal_write_answers_the_desk_with_its_seq_and_tells_listeners(model, tmp_path):
    engine = CustodyEngine(model)
    journal = Journal(tmp_path / "data")
    status = ZoneStatus("gw-test", model.zone_ids)
    heard: list[tuple[int, set[str]]] = []
    stats = EngineStats()
    writer = JournalWriter(journal, status, stats, [lambda records, changed: heard.append((len(records), changed))])
    future = asyncio.get_running_loop().create_future()
    write = apply_batch(engine, [DeskEvent({"ts": T0, **CHECKIN}, future),
                                 DeviceEvent({"ts": T0 + 5, "type": "tag_seen", "reader": "rdr-int1", "tag": "P1"}, "r")],
                        T0 + 5)
    await writer.commit(write)
    result = future.result()
    assert result.seq == 1 and result.event["person"] == "p1"
    assert journal.last_seq == len(write.items)
    assert stats.events == 2 and stats.batches == 1
    assert heard == [(len(write.records), {"int1"})]
    journal.close()


async def test_recovery_returns_fresh_objects_and_leaves_the_given_ones_alone(model, tmp_path):
    journal = Journal(tmp_path / "data")
    first = CustodyEngine(model)
    status = ZoneStatus("gw-test", model.zone_ids)
    write = apply_batch(first, [DeskEvent({"ts": T0, **CHECKIN}, asyncio.get_running_loop().create_future()),
                                DeviceEvent({"ts": T0 + 5, "type": "tag_seen", "reader": "rdr-int1", "tag": "P1"}, "r")],
                        T0 + 5)
    write.engine_snapshot = (-1, first.snapshot())
    await JournalWriter(journal, status, EngineStats(), []).commit(write)
    journal.append([(T0 + 9, "event", {"ts": T0 + 9, "type": "tag_seen", "reader": "rdr-entry", "tag": "P1"})], None)

    template_engine, template_status = CustodyEngine(model), ZoneStatus("gw-test", model.zone_ids)
    result = recover(journal, template_engine, template_status)
    assert result.engine is not template_engine and result.status is not template_status  # from the snapshot
    assert result.resumed_from_seq == len(write.items) and result.replayed_events == 1
    assert result.status.where == {"p1": "entry"}
    assert template_status.where == {} and "p1" not in template_engine.decoder.persons.index
    journal.close()
