"""Picks the engine core: the compiled Cython module when built, else the pure-Python twin.

`CUSTODY_ENGINE=reference` forces the twin; `CUSTODY_ENGINE=compiled` makes a missing compiled
core an error instead of a silent fallback. `ENGINE_NAME` says which one runs.
"""
from __future__ import annotations

import logging
import os

from core_ext.reference import ReferenceEngine

log = logging.getLogger("custody.engine")

try:
    from core_ext._engine import CompiledEngine
    COMPILED_ERROR: str | None = None
except ImportError as exc:  # the extension is not built (or failed to load): say why
    CompiledEngine = None
    COMPILED_ERROR = str(exc)

_forced = os.environ.get("CUSTODY_ENGINE", "").strip().lower()
if _forced not in ("", "compiled", "reference"):
    raise RuntimeError(f"CUSTODY_ENGINE must be 'compiled' or 'reference', got {_forced!r}")
if _forced == "compiled" and CompiledEngine is None:
    raise RuntimeError(f"CUSTODY_ENGINE=compiled but the compiled core did not load: {COMPILED_ERROR}")

DefaultEngine = ReferenceEngine if _forced == "reference" or CompiledEngine is None else CompiledEngine
ENGINE_NAME = "compiled (Cython)" if DefaultEngine is CompiledEngine else (
    "reference (pure Python, forced by CUSTODY_ENGINE)" if _forced == "reference"
    else f"reference (pure Python; compiled core not available: {COMPILED_ERROR})")


def engine_class(name: str | None):
    """'compiled', 'reference' or None (the default) → the core class."""
    if name is None:
        return DefaultEngine
    if name == "reference":
        return ReferenceEngine
    if name == "compiled":
        if CompiledEngine is None:
            raise RuntimeError(f"the compiled engine is not built ({COMPILED_ERROR}); "
                               "run `make install` or use --engine reference")
        return CompiledEngine
    raise ValueError(f"unknown engine {name!r} (compiled or reference)")
