"""Cross-process change feed: which sites changed, learnt from the database, never from memory.

PostgreSQL: LISTEN on the channel the ingest transaction NOTIFYs. SQLite: poll the per-site
version counters. Either way every server process learns of every commit, whichever process
made it. Subscribers (server-sent event streams) wait on an asyncio.Condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from server.models import Site
from server.services.live_signal import NOTIFY_CHANNEL
from server.settings import ServerSettings

log = logging.getLogger("custody.server.live")
_RECONNECT_DELAY_S = 1.0


class LiveHub:
    def __init__(self, settings: ServerSettings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        # Per-site change counters local to this process; only compared with themselves.
        self._changes: dict[str, int] = {}
        self._any_change = 0
        self._condition = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._listen_postgres(), name="live-listen")
        else:
            # The baseline is read before start() returns, so every snapshot a stream takes is
            # at least as new as it: a later change always shows up as a version difference.
            known = await asyncio.to_thread(self._read_versions)
            self._task = asyncio.create_task(self._poll_versions(known), name="live-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def counters(self) -> tuple[int, dict[str, int]]:
        return self._any_change, dict(self._changes)

    async def wait_for_change(
        self, site_ids: set[str] | None, seen: tuple[int, dict[str, int]], timeout: float
    ) -> bool:
        """True when one of site_ids (None: any site) changed since `seen`; False on timeout."""
        seen_any, seen_sites = seen

        def changed() -> bool:
            if site_ids is None:
                return self._any_change != seen_any
            return any(self._changes.get(s, 0) != seen_sites.get(s, 0) for s in site_ids)

        async with self._condition:
            try:
                await asyncio.wait_for(self._condition.wait_for(changed), timeout)
            except TimeoutError:
                return False
        return True

    async def _mark_changed(self, site_ids: list[str]) -> None:
        if not site_ids:
            return
        async with self._condition:
            for site_id in site_ids:
                self._changes[site_id] = self._changes.get(site_id, 0) + 1
            self._any_change += 1
            self._condition.notify_all()

    async def _all_site_ids(self) -> list[str]:
        def query() -> list[str]:
            with self._engine.connect() as conn:
                return [row[0] for row in conn.execute(select(Site.id))]

        return await asyncio.to_thread(query)

    async def _listen_postgres(self) -> None:
        conninfo = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    # Anything committed while we were not listening: tell everyone to refresh.
                    await self._mark_changed(await self._all_site_ids())
                    async for notify in conn.notifies():
                        await self._mark_changed([notify.payload])
            except psycopg.Error as exc:
                log.error("live feed: PostgreSQL LISTEN connection failed (%s); reconnecting", exc)
                await asyncio.sleep(_RECONNECT_DELAY_S)

    def _read_versions(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            return {row[0]: row[1] for row in conn.execute(select(Site.id, Site.live_version))}

    async def _poll_versions(self, known: dict[str, int]) -> None:
        while True:
            await asyncio.sleep(self._settings.live_poll_interval_s)
            try:
                current = await asyncio.to_thread(self._read_versions)
            except SQLAlchemyError as exc:  # the file may be briefly unreadable: report, keep polling
                log.error("live feed: reading site versions failed: %s", exc)
                continue
            await self._mark_changed([s for s, v in current.items() if known.get(s) != v])
            known = current
