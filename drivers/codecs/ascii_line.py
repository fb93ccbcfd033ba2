"""Configurable ASCII line frames of active 2.4 GHz / 433 MHz readers.

There is no standard: a profile gives the line terminator and a regular expression with
named groups `tag` (required), `rssi` and `reader` (optional), e.g. for
`$ readerID group tagID status RSSI\\r\\n`:
    ^\\$ (?P<reader>\\w+) \\w+ (?P<tag>[0-9A-Fa-f]+) \\w+ (?P<rssi>-?\\d+)$
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.codecs import Rejected


@dataclass(frozen=True, slots=True)
class LineFrame:
    tag: str
    rssi: int | None
    reader: str | None
    frame: bytes


class LineDecoder:
    def __init__(self, pattern: str, terminator: bytes = b"\r\n", max_line: int = 256, encoding: str = "ascii") -> None:
        self._regex = re.compile(pattern)
        if "tag" not in self._regex.groupindex:
            raise ValueError(f"line pattern {pattern!r} has no (?P<tag>...) group")
        self._has_rssi = "rssi" in self._regex.groupindex
        self._has_reader = "reader" in self._regex.groupindex
        self._terminator = terminator
        self._max_line = max_line
        self._encoding = encoding
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[LineFrame | Rejected]:
        buf = self._buf
        buf.extend(data)
        out: list[LineFrame | Rejected] = []
        while True:
            end = buf.find(self._terminator)
            if end < 0:
                if len(buf) > self._max_line:
                    out.append(Rejected(f"line longer than {self._max_line} bytes", bytes(buf)))
                    buf.clear()
                return out
            raw = bytes(buf[:end])
            del buf[: end + len(self._terminator)]
            if not raw:
                continue  # blank keep-alive lines carry nothing
            out.append(self._parse(raw))

    def _parse(self, raw: bytes) -> LineFrame | Rejected:
        if len(raw) > self._max_line:
            return Rejected(f"line longer than {self._max_line} bytes", raw)
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError:
            return Rejected(f"not {self._encoding} text", raw)
        match = self._regex.fullmatch(text.strip())
        if match is None:
            return Rejected("line does not match the profile's pattern", raw)
        rssi = None
        if self._has_rssi and match.group("rssi") is not None:
            try:
                rssi = int(match.group("rssi"))
            except ValueError:
                return Rejected("RSSI is not an integer", raw)
        reader = match.group("reader") if self._has_reader else None
        return LineFrame(match.group("tag").upper(), rssi, reader, raw)
