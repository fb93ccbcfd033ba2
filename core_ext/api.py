"""The engine as the rest of the product uses it: events in (dicts), records out (dicts).

    eng = CustodyEngine(load_site_model("site.yaml"))          # default core, see core_ext.select
    out = eng.feed(events)       # DESIGN §6.2 dicts in order → alert/trail/item_trail/location/custody
    out = eng.tick(now_ms)       # fire timers due by now
    out = eng.finish(until_ms)   # timers up to until, trails of subjects still in, item trails

A bad event raises `EventError` (with `.index` in the batch) after the events before it in the
same batch have been applied and their outputs kept in `eng.pending`, so nothing already
accepted is lost.
"""
from __future__ import annotations

from typing import Any, Iterable

from core_ext.events import EventDecoder, EventError
from core_ext.output import OutputFormatter
from core_ext.select import engine_class
from core_ext.site import SiteModel

__all__ = ["CustodyEngine", "EventError"]


class CustodyEngine:
    def __init__(self, site: SiteModel, engine: str | None = None):
        self.site = site
        self.core = engine_class(engine)(site)
        self.engine_name = self.core.name
        self.decoder = EventDecoder(site)
        self.formatter = OutputFormatter(self.decoder)
        self.pending: list[dict[str, Any]] = []

    def feed(self, events: Iterable[dict]) -> list[dict[str, Any]]:
        return self.formatter.format_all(self.feed_raw(events))

    def feed_raw(self, events: Iterable[dict]) -> list[tuple]:
        """Like feed, but returns the engine's output tuples unformatted."""
        try:
            records = self.decoder.decode_batch(events if isinstance(events, list) else list(events))
        except EventError as exc:
            self.pending = self.formatter.format_all(self.core.feed(exc.records))
            raise
        return self.core.feed(records)

    def feed_lines(self, lines: list[bytes]) -> list[dict[str, Any]]:
        """JSON Lines in (bytes per line); same contract as feed, `.index` is the line's position."""
        try:
            records = self.decoder.decode_lines(lines)
        except EventError as exc:
            self.pending = self.formatter.format_all(self.core.feed(exc.records))
            raise
        return self.formatter.format_all(self.core.feed(records))

    def tick(self, now: int) -> list[dict[str, Any]]:
        return self.formatter.format_all(self.core.tick(now))

    def finish(self, until: int | None = None) -> list[dict[str, Any]]:
        if until is None:
            until = max(self.decoder.last_ts, 0)
        return self.formatter.format_all(self.core.finish(until))

    @property
    def unknown_tag_reads(self) -> int:
        return self.decoder.unknown_tag_reads
