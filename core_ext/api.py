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

import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec

from core_ext import snapshot as snapshots
from core_ext.events import EventDecoder, EventError
from core_ext.output import OutputFormatter
from core_ext.select import engine_class
from core_ext.site import SiteModel

__all__ = ["CustodyEngine", "EventError", "SnapshotMismatch", "site_fingerprint"]

SNAPSHOT_FORMAT = snapshots.VERSION


class SnapshotMismatch(ValueError):
    """A snapshot that cannot resume this engine (other site config, other core, an older or
    unreadable format, another layout). The journal is the record: replay it instead."""


def site_fingerprint(site: SiteModel) -> str:
    """Identity of what the engine depends on in a site config (not its device wiring, not its
    floor plan: redrawing the plan must not invalidate the engine's snapshots; not a reader's
    `enrolment` mark, which is for the desk console only)."""
    cfg = site.config.model_dump(
        mode="json", exclude={"extras": True, "source": True, "layout": True, "readers": {"__all__": {"enrolment"}}}
    )
    return hashlib.sha256(msgspec.json.encode(cfg, order="sorted")).hexdigest()


class CustodyEngine:
    def __init__(self, site: SiteModel, engine: str | None = None):
        self.site = site
        self.core = engine_class(engine)(site)
        self.engine_name = self.core.name
        self.decoder = EventDecoder(site, engine)
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

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> bytes:
        """The whole engine state (decoder and core) as a versioned JSON document (core_ext/
        snapshot.py), to resume from later with `CustodyEngine.restore` instead of replaying every
        event since the start. A snapshot belongs to one site config and one core; restoring it
        elsewhere is refused."""
        return snapshots.encode(
            self.core.name, site_fingerprint(self.site), self.decoder.export_state(), self.core.export_state()
        )

    @classmethod
    def restore(cls, site: SiteModel, data: bytes, engine: str | None = None) -> CustodyEngine:
        """An engine resumed from `snapshot()` bytes; SnapshotMismatch for a snapshot of another
        site config or core, of an older format, of another layout, or for anything unreadable."""
        eng = cls(site, engine)
        try:
            doc = snapshots.decode(data)
            if doc["core"] != eng.core.name:
                raise SnapshotMismatch(f"snapshot of the {doc['core']} core, this engine runs the {eng.core.name} core")
            if doc["site"] != site_fingerprint(site):
                raise SnapshotMismatch("snapshot was taken under a different site config")
            decoder, state = snapshots.states(doc)
            _same_keys("decoder", decoder, eng.decoder.export_state())
            _same_keys("engine", state, eng.core.export_state())
            eng.decoder.import_state(decoder)
            eng.formatter = OutputFormatter(eng.decoder)  # it holds the decoder's name tables
            eng.core.import_state(state)
        except snapshots.SnapshotError as exc:
            raise SnapshotMismatch(str(exc)) from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            if isinstance(exc, SnapshotMismatch):
                raise
            raise SnapshotMismatch(f"snapshot of another layout: {type(exc).__name__}: {exc}") from None
        return eng

    @property
    def unknown_tag_reads(self) -> int:
        return self.decoder.unknown_tag_reads


def _same_keys(what: str, state: dict, fresh: dict) -> None:
    if set(state) != set(fresh):
        missing, extra = sorted(set(fresh) - set(state)), sorted(set(state) - set(fresh))
        raise SnapshotMismatch(f"{what} state of another layout (missing {missing}, unknown {extra})")
