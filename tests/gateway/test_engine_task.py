"""The engine task: journal before answer, refused device events kept aside, and a restart that
rebuilds the engine from the journal carries on exactly as an uninterrupted run."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from gw_sites import NO_DEVICES_SITE, write_site

from core_ext.api import CustodyEngine
from core_ext.site import load_site_model
from gateway.clock import GatewayClock
from gateway.desk.checks import DeskRejected
from gateway.engine_task import EngineRunner
from gateway.journal import Journal
from gateway.zone_status import ZoneStatus

pytestmark = pytest.mark.timeout(60)
T0 = 1_790_000_000_000


class Harness:
    """A runner on a fake clock whose time only moves when the test says so."""

    def __init__(self, site: Path, data: Path, snapshot_every: int = 0) -> None:
        self.now = T0
        self.snapshot_every = snapshot_every
        self.site = site
        self.data = data
        self.records: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.open()

    def open(self) -> None:
        self.journal = Journal(self.data)
        model = load_site_model(self.site)
        clock = GatewayClock(lambda: self.now)
        self.runner = EngineRunner(CustodyEngine(model), self.journal, clock,
                                   ZoneStatus("gw-test", model.zone_ids), tick_interval_s=0.01,
                                   snapshot_every=self.snapshot_every)
        self.runner.rebuild()
        self.runner.listeners.append(self._seen)
        self.task = asyncio.create_task(self.runner.run())

    def _seen(self, records: list[dict[str, Any]], changed: set[str]) -> None:
        self.records.extend(records)
        self.changed.set()

    async def restart(self) -> None:
        self.runner.stop()
        await self.task
        self.journal.close()
        self.open()

    async def device(self, at: int, event: dict[str, Any], source: str = "dev") -> None:
        self.now = at
        self.runner.submit_device(event, source)
        await self.runner.drained()

    async def desk(self, at: int, event: dict[str, Any]) -> Any:
        self.now = at
        return await self.runner.submit_desk(event)

    async def until_alert(self, at: int, rule: str) -> None:
        self.now = at
        async def waiter() -> None:
            while not any(r.get("kind") == "alert" and r["rule"] == rule and r["state"] == "raised"
                          for r in self.records):
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(waiter(), 5)

    async def close(self) -> None:
        self.runner.stop()
        await self.task
        self.journal.close()

    def outputs(self) -> list[dict[str, Any]]:
        return [json.loads(e.body) for e in self.journal.read_after(0, 10_000) if e.kind not in ("event", "health")]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(e.body) for e in self.journal.read_after(0, 10_000) if e.kind == "event"]


async def _phase1(h: Harness) -> None:
    await h.desk(T0, {"type": "enroll", "person": "o1", "role": "officer", "sex": "M", "tag": "O1"})
    await h.desk(T0 + 10, {"type": "checkin", "person": "p1", "role": "suspect", "sex": "M", "tag": "P1",
                           "basis": "admin_summons", "case": "c1"})
    await h.device(T0 + 100, {"type": "tag_seen", "reader": "rdr-int1", "tag": "P1"})
    await h.device(T0 + 150, {"type": "door", "door": "door-main", "state": "open"})
    await h.until_alert(T0 + 1200, "unaccompanied")  # fired by a tick at T0 + 1199


async def _phase2(h: Harness) -> None:
    await h.device(T0 + 1300, {"type": "tag_seen", "reader": "rdr-int1", "tag": "O1"})
    await h.until_alert(T0 + 2600, "insufficient_officers")
    await h.until_alert(T0 + 2600, "door_held_open")  # armed before the restart
    await h.desk(T0 + 2700, {"type": "checkout", "person": "p1"})


async def test_restart_from_the_journal_carries_on_exactly(tmp_path):
    site = write_site(tmp_path, NO_DEVICES_SITE)
    straight = Harness(site, tmp_path / "straight")
    await _phase1(straight)
    await _phase2(straight)
    await straight.close()

    restarted = Harness(site, tmp_path / "restarted")
    await _phase1(restarted)
    await restarted.restart()
    assert restarted.runner.stats.replayed_events == 4
    await _phase2(restarted)
    await restarted.close()

    assert restarted.events() == straight.events()
    assert restarted.outputs() == straight.outputs()
    rules = [(o["rule"], o["state"], o["ts"]) for o in straight.outputs() if o["kind"] == "alert"]
    assert ("door_held_open", "raised", T0 + 150 + 2000) in rules
    assert ("unaccompanied", "raised", T0 + 100 + 1000) in rules
    assert sum(1 for r in rules if r[:2] == ("unaccompanied", "raised")) == 1  # not fired again after restart
    assert Journal(tmp_path / "restarted").verify().ok


async def test_restart_from_a_snapshot_replays_only_the_tail_and_carries_on_exactly(tmp_path):
    site = write_site(tmp_path, NO_DEVICES_SITE)
    straight = Harness(site, tmp_path / "straight")
    await _phase1(straight)
    await _phase2(straight)
    await straight.close()

    restarted = Harness(site, tmp_path / "restarted", snapshot_every=3)
    await _phase1(restarted)
    await h_device_after_snapshot(restarted)
    await restarted.restart()
    stats = restarted.runner.stats
    assert 0 < stats.resumed_from_seq < restarted.journal.last_seq   # resumed, with a tail left to replay
    assert 1 <= stats.replayed_events < 5                              # not all five journaled events
    await _phase2(restarted)
    await restarted.close()
    assert [e for e in restarted.events() if e.get("tag") != "UNBOUND"] == straight.events()
    assert restarted.outputs() == straight.outputs()
    assert Journal(tmp_path / "restarted").verify().ok


async def h_device_after_snapshot(h: Harness) -> None:
    """One more journaled event after the last snapshot, so the restart has a tail to replay."""
    await h.device(T0 + 1250, {"type": "tag_seen", "reader": "rdr-entry", "tag": "UNBOUND"})


async def test_refused_device_event_is_kept_aside_and_its_neighbours_applied(tmp_path):
    h = Harness(write_site(tmp_path, NO_DEVICES_SITE), tmp_path / "data")
    try:
        h.now = T0
        h.runner.submit_device({"type": "door", "door": "door-main", "state": "open"}, "doors-1")
        h.runner.submit_device({"type": "tag_seen", "reader": "rdr-nowhere", "tag": "X"}, "rdr-9")
        h.runner.submit_device({"type": "door", "door": "door-main", "state": "closed"}, "doors-1")
        await h.runner.drained()
        assert [e["state"] for e in h.events()] == ["open", "closed"]
        [rejected] = h.journal.rejected()
        assert rejected["source"] == "rdr-9"
        assert "unknown reader 'rdr-nowhere'" in rejected["error"]
        assert h.runner.stats.rejected_device_events == 1
    finally:
        await h.close()


async def test_refused_desk_request_changes_nothing(tmp_path):
    h = Harness(write_site(tmp_path, NO_DEVICES_SITE), tmp_path / "data")
    try:
        await h.desk(T0, {"type": "checkin", "person": "p1", "role": "suspect", "sex": "M", "tag": "P1",
                          "basis": "admin_summons", "case": "c1"})
        before = h.journal.last_seq
        with pytest.raises(DeskRejected) as refused:
            await h.desk(T0 + 5, {"type": "checkin", "person": "p2", "role": "suspect", "sex": "F", "tag": "P1",
                                  "basis": "admin_summons", "case": "c2"})
        assert refused.value.field == "tag"
        with pytest.raises(DeskRejected) as refused:
            await h.desk(T0 + 6, {"type": "checkout", "person": "nobody"})
        assert (refused.value.field, refused.value.status) == ("person", 404)
        assert h.journal.last_seq == before
        assert "p2" not in h.runner.engine.decoder.persons.index
    finally:
        await h.close()


@pytest.mark.parametrize("kind", ["previous_format", "garbage"])
async def test_unreadable_snapshot_means_a_warning_and_a_full_replay(tmp_path, caplog, kind):
    """Issue 11: an engine snapshot of the previous (pickled) format, or garbage, never stops the
    gateway: it warns and rebuilds the engine from the whole journal, and carries on exactly."""
    import pickle
    import sqlite3

    site = write_site(tmp_path, NO_DEVICES_SITE)
    straight = Harness(site, tmp_path / "straight")
    await _phase1(straight)
    await _phase2(straight)
    await straight.close()

    restarted = Harness(site, tmp_path / "restarted", snapshot_every=3)
    await _phase1(restarted)
    await h_device_after_snapshot(restarted)
    restarted.runner.stop()
    await restarted.task
    restarted.journal.close()
    [db] = [p for p in (tmp_path / "restarted").iterdir() if p.suffix in (".db", ".sqlite", ".sqlite3")]
    bad = (pickle.dumps({"format": 1, "core": "reference", "site": "x", "decoder": {}, "state": {}})
           if kind == "previous_format" else b"\x00garbage\xff")
    with sqlite3.connect(db) as conn:
        assert conn.execute("UPDATE snapshots SET engine = ?, status = ?", (bad, bad)).rowcount >= 1
    with caplog.at_level("WARNING", logger="custody"):
        restarted.open()
    assert "engine snapshot not usable, replaying the whole journal" in caplog.text
    assert restarted.runner.stats.resumed_from_seq == 0
    assert restarted.runner.stats.replayed_events == len(restarted.events()) == 5   # every journaled event
    await _phase2(restarted)
    await restarted.close()
    assert [e for e in restarted.events() if e.get("tag") != "UNBOUND"] == straight.events()
    assert restarted.outputs() == straight.outputs()


def test_zone_status_with_desk_view_round_trips_as_json(tmp_path):
    """The status saved with a snapshot (plain JSON, issue 11) carries the desk consoles' view."""
    from core_ext.site import load_site
    from core_ext.snapshot import SnapshotError
    from gateway.desk.view import DeskView, SiteFacts

    cfg = load_site(write_site(tmp_path, NO_DEVICES_SITE))
    model = load_site_model(write_site(tmp_path, NO_DEVICES_SITE))
    eng = CustodyEngine(model)
    status = ZoneStatus("gw", model.zone_ids, DeskView(SiteFacts.of(cfg)))
    events = [{"ts": T0, "type": "enroll", "person": "o1", "role": "officer", "sex": "M", "tag": "T-o1"},
              {"ts": T0 + 1, "type": "checkin", "person": "s1", "role": "suspect", "sex": "F", "tag": "T-s1",
               "basis": "admin_summons", "case": "K", "age": 15}]
    status.apply(events)
    status.apply(eng.feed(events) + eng.tick(T0 + 3_600_000))
    fresh = ZoneStatus("gw", model.zone_ids, DeskView(SiteFacts.of(cfg)))
    back = ZoneStatus.from_json(status.to_json(), fresh)
    assert back.view is not None and back.view.__dict__ == status.view.__dict__
    assert {k: v for k, v in back.__dict__.items() if k != "view"} == \
        {k: v for k, v in status.__dict__.items() if k != "view"}
    no_view = ZoneStatus("gw", model.zone_ids)
    no_view.apply(events)
    with pytest.raises(SnapshotError, match="no desk view"):
        ZoneStatus.from_json(no_view.to_json(), fresh)
