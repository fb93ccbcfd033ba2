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


def skip_to_start(buf: bytearray, start_byte: int, out: list) -> bool:
    """Drops (and reports in `out`) the bytes before the first `start_byte` of `buf`, for codecs
    whose frames open with a start byte. False when no start byte is left: wait for more data."""
    start = buf.find(start_byte)
    if start < 0:
        if buf:
            out.append(Rejected("garbage outside a frame", bytes(buf)))
            buf.clear()
        return False
    if start:
        out.append(Rejected("garbage before STX", bytes(buf[:start])))
        del buf[:start]
    return True
