"""Picks every compiled module or its pure-Python twin, under one switch.

Two compiled modules have a twin: the engine core (core_ext/_engine.pyx, twin
core_ext/reference.py) and the JSON Lines scanner (core_ext/_linescan.pyx, twin the general
decoding path of core_ext/events.py). `CUSTODY_ENGINE` governs both:

- unset: each compiled module when it is built and loads, else its twin (saying why);
- `reference`: both twins;
- `compiled`: both compiled modules; one that does not load is an error, not a silent fallback.

`ENGINE_NAME` and `SCANNER_NAME` say which were picked (`custody --version` prints both).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from core_ext.core import EngineCore
from core_ext.reference import ReferenceEngine

if TYPE_CHECKING:
    from core_ext import _engine
    from core_ext.site import SiteModel

# _linescan.scan_tag_reads(lines, start, reader_index, reader_zone, tag_owner, last_ts, out)
#   → (index of the first line not taken, last ts, reads of tags nobody wears)
ScanTagReads = Callable[
    [list[bytes], int, dict[str, int], list[int], dict[str, int], int, list[tuple]], tuple[int, int, int]
]


def _load_engine() -> tuple[type[_engine.CompiledEngine] | None, str | None]:
    try:
        from core_ext._engine import CompiledEngine
    except ImportError as exc:  # not built (or failed to load): say why
        return None, str(exc)
    return CompiledEngine, None


def _load_scanner() -> tuple[ScanTagReads | None, str | None]:
    try:
        from core_ext._linescan import scan_tag_reads
    except ImportError as exc:
        return None, str(exc)
    return scan_tag_reads, None


CompiledEngine, COMPILED_ERROR = _load_engine()
compiled_scan_tag_reads, SCANNER_ERROR = _load_scanner()

_forced = os.environ.get("CUSTODY_ENGINE", "").strip().lower()
if _forced not in ("", "compiled", "reference"):
    raise RuntimeError(f"CUSTODY_ENGINE must be 'compiled' or 'reference', got {_forced!r}")
if _forced == "compiled" and (CompiledEngine is None or compiled_scan_tag_reads is None):
    _why = "; ".join(
        f"{module}: {error}"
        for module, error in (("core_ext._engine", COMPILED_ERROR), ("core_ext._linescan", SCANNER_ERROR))
        if error
    )
    raise RuntimeError(f"CUSTODY_ENGINE=compiled but the compiled core did not load ({_why})")

DefaultEngine: Callable[[SiteModel], EngineCore] = (
    ReferenceEngine if _forced == "reference" or CompiledEngine is None else CompiledEngine
)
ENGINE_NAME = (
    "compiled (Cython)"
    if DefaultEngine is CompiledEngine
    else (
        "reference (pure Python, forced by CUSTODY_ENGINE)"
        if _forced == "reference"
        else f"reference (pure Python; compiled core not available: {COMPILED_ERROR})"
    )
)

# None: the decoder's general path (msgspec + validation) reads every line.
DEFAULT_SCANNER: ScanTagReads | None = None if _forced == "reference" else compiled_scan_tag_reads
SCANNER_NAME = (
    "compiled (Cython)"
    if DEFAULT_SCANNER is not None
    else (
        "reference (pure Python, forced by CUSTODY_ENGINE)"
        if _forced == "reference"
        else f"reference (pure Python; compiled scanner not available: {SCANNER_ERROR})"
    )
)


def engine_class(name: str | None) -> Callable[[SiteModel], EngineCore]:
    """'compiled', 'reference' or None (the default) → the core class."""
    if name is None:
        return DefaultEngine
    if name == "reference":
        return ReferenceEngine
    if name == "compiled":
        if CompiledEngine is None:
            raise RuntimeError(
                f"the compiled engine is not built ({COMPILED_ERROR}); run `make install` or use --engine reference"
            )
        return CompiledEngine
    raise ValueError(f"unknown engine {name!r} (compiled or reference)")


def line_scanner(name: str | None) -> ScanTagReads | None:
    """The JSON Lines scanner that goes with engine `name` ('compiled', 'reference' or None, the
    default): the compiled scan_tag_reads, or None for the decoder's pure-Python path."""
    if name is None:
        return DEFAULT_SCANNER
    if name == "reference":
        return None
    if name == "compiled":
        if compiled_scan_tag_reads is None:
            raise RuntimeError(
                f"the compiled line scanner is not built ({SCANNER_ERROR}); "
                "run `make install` or use --engine reference"
            )
        return compiled_scan_tag_reads
    raise ValueError(f"unknown engine {name!r} (compiled or reference)")
