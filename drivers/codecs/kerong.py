"""Kerong KR-CU lock board frames: `02 ADDR CMD [data] 03 SUM`, SUM = low byte of the sum before it.

`ADDR = (board << 4) | lock`. Which replies carry how many data bytes is a profile setting
(the status-of-all reply 0x35 carries four: hooks 1-8, hooks 9-16, IR 1-8, IR 9-16).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.codecs import Rejected, skip_to_start

STX, ETX = 0x02, 0x03


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode(address: int, command: int, data: bytes = b"") -> bytes:
    body = bytes([STX, address, command]) + data + bytes([ETX])
    return body + bytes([checksum(body)])


def address_of(board: int, lock: int) -> int:
    if not (0 <= board <= 15 and 0 <= lock <= 15):
        raise ValueError(f"Kerong board and lock must be 0..15, got board {board}, lock {lock}")
    return (board << 4) | lock


def bits_lsb_first(data: bytes) -> list[bool]:
    """Bit 0 of byte 0 is item 1."""
    return [bool(byte >> bit & 1) for byte in data for bit in range(8)]


def pack_bits_lsb_first(bits: list[bool]) -> bytes:
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Frame:
    address: int
    command: int
    data: bytes
    frame: bytes


class Decoder:
    def __init__(self, data_lengths: dict[int, int]) -> None:
        """`data_lengths`: command byte -> number of data bytes frames with it carry."""
        self._lengths = dict(data_lengths)
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | Rejected]:
        buf = self._buf
        buf.extend(data)
        out: list[Frame | Rejected] = []
        while True:
            if not skip_to_start(buf, STX, out):
                return out
            if len(buf) < 3:
                return out
            command = buf[2]
            if command not in self._lengths:
                out.append(Rejected(f"unknown command 0x{command:02X}", bytes(buf[:3])))
                del buf[:1]
                continue
            total = 3 + self._lengths[command] + 2
            if len(buf) < total:
                return out
            frame = bytes(buf[:total])
            if frame[-2] != ETX:
                out.append(Rejected("no ETX where the command's length puts it", frame))
                del buf[:1]
                continue
            if checksum(frame[:-1]) != frame[-1]:
                out.append(
                    Rejected(f"bad checksum (computed {checksum(frame[:-1]):02X}, frame says {frame[-1]:02X})", frame)
                )
                del buf[:1]
                continue
            del buf[:total]
            out.append(Frame(frame[1], command, frame[3:-2], frame))
