"""EM4100 / RDM6300 125 kHz frames: STX, 10 ASCII-hex, 2 ASCII-hex XOR checksum, ETX."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codecs import Rejected, skip_to_start

STX, ETX = 0x02, 0x03
FRAME_LEN = 14
_HEX = frozenset(b"0123456789ABCDEFabcdef")


@dataclass(frozen=True, slots=True)
class TagFrame:
    tag: str  # 10 upper-case hex chars: 2 version/customer + 8 card
    frame: bytes


def encode(tag: str) -> bytes:
    """The frame a reader sends for `tag` (10 hex chars)."""
    if len(tag) != 10 or not set(tag.encode()) <= _HEX:
        raise ValueError(f"EM4100 tag must be 10 hex characters, got {tag!r}")
    raw = bytes.fromhex(tag)
    checksum = 0
    for byte in raw:
        checksum ^= byte
    return bytes([STX]) + tag.upper().encode() + f"{checksum:02X}".encode() + bytes([ETX])


class Decoder:
    """Stream decoder; keeps a partial frame between `feed` calls."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[TagFrame | Rejected]:
        buf = self._buf
        buf.extend(data)
        out: list[TagFrame | Rejected] = []
        while True:
            if not skip_to_start(buf, STX, out):
                return out
            if len(buf) < FRAME_LEN:
                # An ETX or a new STX inside the partial frame means it can never complete.
                bad = _early_break(buf)
                if bad is None:
                    return out
                out.append(Rejected("truncated frame", bytes(buf[:bad])))
                del buf[:bad]
                continue
            frame = bytes(buf[:FRAME_LEN])
            result = _decode_frame(frame)
            if isinstance(result, TagFrame):
                del buf[:FRAME_LEN]
            else:
                # Drop only the STX: the real frame may start inside what looked like this one.
                bad = _early_break(buf[: FRAME_LEN - 1]) or 1
                result = Rejected(result.reason, bytes(buf[:bad]))
                del buf[:bad]
            out.append(result)


def _early_break(partial: bytearray) -> int | None:
    """Index of an STX/ETX after the leading STX that makes this frame impossible."""
    for i in range(1, len(partial)):
        if partial[i] in (STX, ETX):
            return i
    return None


def _decode_frame(frame: bytes) -> TagFrame | Rejected:
    if frame[13] != ETX:
        return Rejected("no ETX at byte 13", frame)
    body = frame[1:13]
    if not set(body) <= _HEX:
        return Rejected("non-hex character", frame)
    raw = bytes.fromhex(body.decode())
    checksum = 0
    for byte in raw[:5]:
        checksum ^= byte
    if checksum != raw[5]:
        return Rejected(f"bad checksum (computed {checksum:02X}, frame says {raw[5]:02X})", frame)
    return TagFrame(body[:10].decode().upper(), frame)
