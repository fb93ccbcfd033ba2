"""The uplink against a real central server: the server's last_seq wins over local progress, a
journal shorter than what the server holds is refused loudly, batches respect the size limit."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from gw_processes import CentralServer

from gateway.journal import Journal
from gateway.uplink import ACKED_KEY, Uplink

pytestmark = [pytest.mark.durability, pytest.mark.timeout(120)]
T0 = 1_790_000_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[CentralServer]:
    srv = CentralServer(tmp_path_factory.mktemp("uplink"), "up-site", "up-gw").start()
    yield srv
    srv.stop()


def _journal(path, events: int) -> Journal:
    journal = Journal(path)
    journal.append([(T0 + i, "event", {"ts": T0 + i, "type": "door", "door": "door-main",
                                       "state": "open" if i % 2 == 0 else "closed"}) for i in range(events)])
    return journal


async def _run_until(uplink: Uplink, predicate, timeout: float = 20) -> None:
    task = asyncio.create_task(uplink.run())
    try:
        async def waiter() -> None:
            while not predicate():
                await asyncio.sleep(0.05)  # watching another component's progress counter
        await asyncio.wait_for(waiter(), timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_server_position_wins_and_batches_are_split(tmp_path, server):
    journal = _journal(tmp_path / "a", 25)
    journal.set_meta(ACKED_KEY, "20")  # stale local belief: the server really holds nothing
    uplink = Uplink(journal, server.url, "up-gw", "up-site", server.credential, batch_max=7)
    await _run_until(uplink, lambda: uplink.acked_seq == 25)
    assert uplink.batches_sent == 4 and uplink.entries_sent == 25
    assert journal.get_meta(ACKED_KEY) == "25"
    assert await asyncio.to_thread(server.last_seq, "up-gw") == 25
    # A restarted uplink with everything delivered sends nothing again.
    again = Uplink(journal, server.url, "up-gw", "up-site", server.credential)
    await _run_until(again, lambda: again.connected)
    assert again.batches_sent == 0 and again.health_figures()["undelivered"] == 0
    journal.close()


async def test_a_journal_shorter_than_the_server_copy_is_refused(tmp_path, server):
    delivered = _journal(tmp_path / "b-long", 25)
    first = Uplink(delivered, server.url, "up-gw", "up-site", server.credential)
    await _run_until(first, lambda: first.acked_seq == 25)
    delivered.close()
    journal = _journal(tmp_path / "b", 3)  # e.g. an old backup restored on the gateway
    uplink = Uplink(journal, server.url, "up-gw", "up-site", server.credential)
    await _run_until(uplink, lambda: uplink.last_error is not None)
    assert "not that gateway's journal" in uplink.last_error
    assert uplink.batches_sent == 0 and await asyncio.to_thread(server.last_seq, "up-gw") == 25
    journal.close()


async def test_wrong_credential_is_retried_and_reported(tmp_path, server):
    journal = _journal(tmp_path / "c", 2)
    uplink = Uplink(journal, server.url, "up-gw", "up-site", "cgw_not-a-credential", backoff_initial_s=0.05)
    await _run_until(uplink, lambda: uplink.last_error is not None)
    assert "HTTP 401" in uplink.last_error and not uplink.connected
    journal.close()
