"""Chafon CF-RU5102 / UHFReader18 frames: `Len Adr Cmd Data CRC16` (CRC-16/MCRF4XX, LSB first).

`Len` counts every byte after itself. Commands carry `Len Adr Cmd Data CRC`; responses carry
`Len Adr reCmd Status Data CRC`.
"""
from __future__ import annotations

from dataclasses import dataclass

from drivers.codecs import Rejected

CMD_INVENTORY = 0x01
STATUS_INVENTORY_DONE = 0x01
STATUS_SCAN_TIME_OVER = 0x02
STATUS_MORE_DATA = 0x03
STATUS_NO_TAG = 0xFB
STATUS_BAD_LENGTH = 0xFD
STATUS_ILLEGAL_COMMAND = 0xFE
# Statuses after which the data field holds `Num (EPClen EPC)*`.
INVENTORY_DATA_STATUSES = frozenset({STATUS_INVENTORY_DONE, STATUS_SCAN_TIME_OVER, STATUS_MORE_DATA})
STATUS_NAMES = {
    STATUS_INVENTORY_DONE: "inventory done",
    STATUS_SCAN_TIME_OVER: "scan time over",
    STATUS_MORE_DATA: "more data follows",
    STATUS_NO_TAG: "no tag",
    STATUS_BAD_LENGTH: "bad length",
    STATUS_ILLEGAL_COMMAND: "illegal command or CRC error",
}
MIN_RESPONSE_LEN = 5  # Adr reCmd Status CRC CRC


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16_mcrf4xx(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def _with_crc(body: bytes) -> bytes:
    crc = crc16_mcrf4xx(body)
    return body + bytes([crc & 0xFF, crc >> 8])


def encode_command(address: int, command: int, data: bytes = b"") -> bytes:
    return _with_crc(bytes([len(data) + 4, address, command]) + data)


def encode_response(address: int, command: int, status: int, data: bytes = b"") -> bytes:
    return _with_crc(bytes([len(data) + 5, address, command, status]) + data)


def encode_inventory_data(epcs: list[bytes]) -> bytes:
    out = bytearray([len(epcs)])
    for epc in epcs:
        out.append(len(epc))
        out.extend(epc)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Response:
    address: int
    command: int
    status: int
    data: bytes
    frame: bytes


class FrameDecoder:
    """Splits a byte stream into CRC-checked frames; resynchronises one byte at a time."""

    def __init__(self, min_len: int = MIN_RESPONSE_LEN) -> None:
        self._buf = bytearray()
        self._min_len = min_len

    def feed(self, data: bytes) -> list[Response | Rejected]:
        buf = self._buf
        buf.extend(data)
        out: list[Response | Rejected] = []
        skipped = bytearray()
        while buf:
            length = buf[0]
            if length < self._min_len:
                skipped.append(buf.pop(0))
                continue
            if len(buf) < length + 1:
                # A corrupt byte can look like a long length and stall the stream: if a complete,
                # CRC-valid frame already starts later in the buffer, the wait is for nothing.
                later = self._complete_frame_after(0)
                if later is None:
                    break
                skipped.extend(buf[:later])
                del buf[:later]
                continue
            frame = bytes(buf[: length + 1])
            crc = frame[-2] | (frame[-1] << 8)
            if crc16_mcrf4xx(frame[:-2]) != crc:
                skipped.append(buf.pop(0))
                continue
            if skipped:
                out.append(Rejected("bad CRC or garbage", bytes(skipped)))
                skipped.clear()
            del buf[: length + 1]
            out.append(Response(frame[1], frame[2], frame[3], frame[4:-2], frame))
        if skipped:
            out.append(Rejected("bad CRC or garbage", bytes(skipped)))
        return out

    def _complete_frame_after(self, position: int) -> int | None:
        buf = self._buf
        for i in range(position + 1, len(buf) - self._min_len):
            length = buf[i]
            end = i + length + 1
            if length >= self._min_len and end <= len(buf):
                if crc16_mcrf4xx(bytes(buf[i : end - 2])) == buf[end - 2] | (buf[end - 1] << 8):
                    return i
        return None

    def pending(self) -> bytes:
        return bytes(self._buf)

    def reset(self) -> None:
        self._buf.clear()


def decode_inventory(response: Response) -> list[str] | Rejected:
    """EPCs (upper-case hex) of an inventory reply; an error status or bad layout is Rejected."""
    if response.status == STATUS_NO_TAG:
        return []
    if response.status not in INVENTORY_DATA_STATUSES:
        name = STATUS_NAMES.get(response.status, "unknown status")
        return Rejected(f"reader status 0x{response.status:02X} ({name})", response.frame)
    data = response.data
    if not data:
        return Rejected("inventory reply without a tag count", response.frame)
    count, pos, epcs = data[0], 1, []
    for _ in range(count):
        if pos >= len(data):
            return Rejected("inventory reply shorter than its tag count", response.frame)
        epc_len = data[pos]
        epc = data[pos + 1 : pos + 1 + epc_len]
        if epc_len == 0 or len(epc) != epc_len:
            return Rejected("EPC length runs past the reply", response.frame)
        epcs.append(epc.hex().upper())
        pos += 1 + epc_len
    if pos != len(data):
        return Rejected("bytes after the last EPC", response.frame)
    return epcs
