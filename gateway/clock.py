"""The gateway clock: every event is stamped on receipt, never by the device.

Timestamps are the wall clock in integer milliseconds, made monotonic (a stamp never goes
below the previous one), because the engine rejects time going backwards and because a
replay of the journal must see exactly the order the live engine saw. After a restart the
clock starts from the journal's last timestamp, so an NTP step backwards while the gateway
was down cannot produce a journal whose times go back.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class GatewayClock:
    def __init__(self, source: Callable[[], int] = wall_ms, last_ms: int = 0) -> None:
        self._source = source
        self.last_ms = last_ms
        self.behind_stamps = 0  # stamps made while the wall clock was >1 s behind the last (health figure)

    def observe(self, ts_ms: int) -> None:
        """Never stamp below `ts_ms` from now on (the journal's last entry on restart)."""
        if ts_ms > self.last_ms:
            self.last_ms = ts_ms

    def now(self) -> int:
        """The current gateway time: max(wall clock, last stamp)."""
        wall = self._source()
        if wall < self.last_ms:
            if wall < self.last_ms - 1000:
                self.behind_stamps += 1
            return self.last_ms
        self.last_ms = wall
        return wall
