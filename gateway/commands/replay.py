"""`custody replay --site SITE.yaml EVENTS.jsonl [--until TS] [--engine compiled|reference]`.

Reads the log in order, runs the engine and writes DESIGN §6.3 JSON Lines (alerts, trails,
item trails) to standard output. Bad input stops the replay with `FILE:LINE: message` on
standard error and exit status 1; everything produced before it has been written.
"""
from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import msgspec

from core_ext.resources import site_argument

if TYPE_CHECKING:
    from core_ext.api import CustodyEngine

# The engine (and pydantic, under the site loader) is imported when a replay runs, not when this
# module is: `custody replay --help` stays fast.

CHUNK = 32768
BLOCK_BYTES = 4 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True, type=site_argument,
                        help="site config (YAML, DESIGN §6.1): a file, or a packaged site's name (e.g. demo-area)")
    parser.add_argument("events", help="event log (JSON Lines, DESIGN §6.2); - for standard input")
    parser.add_argument("--until", type=int, default=None,
                        help="run timers up to this time (ms); events after it are not read "
                             "(default: the last event's time)")
    parser.add_argument("--engine", choices=("compiled", "reference"), default=None,
                        help="engine core (default: compiled when built)")


class ReplayError(Exception):
    pass


def replay(site_path: str, lines, source: str, out, until: int | None = None, engine: str | None = None) -> int:
    """Replays `lines` (an iterable of bytes lines); writes JSON Lines to the binary stream `out`."""
    from core_ext.api import CustodyEngine
    from core_ext.site import load_site_model

    eng = CustodyEngine(load_site_model(site_path), engine)
    # Millions of short-lived record tuples, no reference cycles: the cyclic collector would
    # only rescan the engine's state over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _replay(eng, lines, source, out, until)
    finally:
        if gc_was_enabled:
            gc.enable()


def _replay(eng: CustodyEngine, lines, source: str, out, until: int | None) -> int:
    from core_ext.api import EventError
    from core_ext.output import REPLAY_KINDS

    decode = msgspec.json.decode
    encode = msgspec.json.encode
    write = out.write

    def emit(records: list[dict]) -> None:
        chunk = [encode(r) for r in records if r["kind"] in REPLAY_KINDS]
        if chunk:
            write(b"\n".join(chunk) + b"\n")

    if until is None:
        # The fast path: blocks of raw lines through the compiled line scanner.
        first_line = 1
        for chunk in _line_blocks(lines):
            _feed_lines(eng, chunk, first_line, source, emit)
            first_line += len(chunk)
        emit(eng.finish(None))
        return 0

    events: list = []
    line_numbers: list[int] = []

    def flush() -> None:
        try:
            emit(eng.feed(events))
        except EventError as exc:
            emit(eng.pending)
            raise ReplayError(f"{source}:{line_numbers[exc.index or 0]}: {exc}") from None
        events.clear()
        line_numbers.clear()

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ev = decode(line)
        except msgspec.DecodeError as exc:
            flush()
            raise ReplayError(f"{source}:{lineno}: malformed JSON: {exc}") from None
        if until is not None and isinstance(ev, dict) and isinstance(ev.get("ts"), int) and ev["ts"] > until:
            break
        events.append(ev)
        line_numbers.append(lineno)
        if len(events) >= CHUNK:
            flush()
    flush()
    emit(eng.finish(until))
    return 0


def _line_blocks(stream) -> Iterator[list[bytes]]:
    """Lists of lines (without their newline) read in large blocks from a binary stream or
    any iterable of bytes lines."""
    read = getattr(stream, "read", None)
    if read is None:
        block: list[bytes] = []
        for line in stream:
            block.append(line.rstrip(b"\r\n"))
            if len(block) >= CHUNK:
                yield block
                block = []
        if block:
            yield block
        return
    tail = b""
    while True:
        data = read(BLOCK_BYTES)
        if not data:
            break
        parts = (tail + data).split(b"\n")
        tail = parts.pop()
        yield parts
    if tail:
        yield [tail]


def _feed_lines(eng: CustodyEngine, chunk: list[bytes], first_line: int, source: str, emit) -> None:
    from core_ext.api import EventError

    try:
        emit(eng.feed_lines(chunk))
    except EventError as exc:
        emit(eng.pending)
        raise ReplayError(f"{source}:{first_line + (exc.index or 0)}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from core_ext.site import SiteConfigError

    out = sys.stdout.buffer
    try:
        if args.events == "-":
            return replay(args.site, sys.stdin.buffer, "<stdin>", out, args.until, args.engine)
        with open(args.events, "rb") as fh:
            return replay(args.site, fh, args.events, out, args.until, args.engine)
    except (ReplayError, SiteConfigError) as exc:
        out.flush()
        print(f"custody replay: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"custody replay: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # compiled engine requested but not built
        print(f"custody replay: {exc}", file=sys.stderr)
        return 2
