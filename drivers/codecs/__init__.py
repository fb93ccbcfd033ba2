"""Pure frame codecs: bytes in, decoded frames or rejections out; no I/O, no clocks.

Kept apart from the drivers so that they can be fuzzed and benchmarked on their own.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame (or run of bytes) dropped while re-synchronising, and why."""

    reason: str
    frame: bytes
