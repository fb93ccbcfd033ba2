"""Log-in throttling with exponential backoff, per account and per client address.

Shared by the center (API and page log-ins) and the gateway's desk log-in, so it lives where the
edge may import it and depends on nothing but the standard library.

Policy: each key (an account, an address) may fail `free_failures` times in a row; every further
failure blocks the key for base_s * 2**(n - 1) seconds (n = failures beyond the free ones), capped
at max_s. A success clears the account's count. A check answers how long to wait (0: go ahead);
callers answer 429 with Retry-After. State is in memory, per process, bounded in size (the oldest
keys are forgotten first): with several server processes an attacker gets at most that many
times the attempts, still exponentially fewer.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int
    blocked_until: float


class Throttle:
    def __init__(
        self,
        free_failures: int = 3,
        base_s: float = 1.0,
        max_s: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if base_s <= 0 or max_s < base_s or free_failures < 0:
            raise ValueError("throttle needs 0 < base_s <= max_s and free_failures >= 0")
        self.free_failures = free_failures
        self.base_s = base_s
        self.max_s = max_s
        self.max_keys = max_keys
        self.clock = clock
        self._states: OrderedDict[str, _State] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0.0: now)."""
        with self._lock:
            state = self._states.get(key)
            if state is None:
                return 0.0
            return max(0.0, state.blocked_until - self.clock())

    def failure(self, key: str) -> float:
        """Count a failure; returns the block it starts (0.0 while failures are free)."""
        now = self.clock()
        with self._lock:
            state = self._states.pop(key, None) or _State(0, 0.0)
            state.failures += 1
            beyond = state.failures - self.free_failures
            block = 0.0 if beyond <= 0 else min(self.max_s, self.base_s * 2 ** min(beyond - 1, 60))
            state.blocked_until = now + block
            self._states[key] = state  # most recent last
            while len(self._states) > self.max_keys:
                self._states.popitem(last=False)
            return block

    def success(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)


class LoginThrottle:
    """One throttle per account and one per client address, checked together.

    Attempts also take a slot while their password is checked: one at a time per account and
    `address_parallel` per address, so a burst of parallel guesses cannot all pass the check
    before the first failure is counted.

        wait = throttle.begin(username, address)
        if wait: answer 429, Retry-After: wait
        ok = None
        try: ok = check the password
        finally: throttle.finish(username, address, ok)
    """

    def __init__(self, account: Throttle, address: Throttle, address_parallel: int = 4) -> None:
        self.account = account
        self.address = address
        self.address_parallel = address_parallel
        self._busy: dict[str, int] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int:
        """Whole seconds to wait before this attempt may be checked (0: go ahead)."""
        wait = max(self.account.retry_after(_norm(username)), self.address.retry_after(address))
        return math.ceil(wait) if wait > 0 else 0

    def begin(self, username: str, address: str) -> int:
        """0 when the attempt may go ahead (then call finish), else whole seconds to wait."""
        wait = self.retry_after(username, address)
        if wait:
            return wait
        account_key, address_key = "u:" + _norm(username), "a:" + address
        with self._lock:
            if self._busy.get(account_key, 0) >= 1 or self._busy.get(address_key, 0) >= self.address_parallel:
                return 1
            self._busy[account_key] = self._busy.get(account_key, 0) + 1
            self._busy[address_key] = self._busy.get(address_key, 0) + 1
        return 0

    def finish(self, username: str, address: str, ok: bool | None) -> None:
        """Release the attempt's slots; ok True clears the account's failures, False counts one,
        None (the check did not happen: a server fault) counts nothing."""
        with self._lock:
            for key in ("u:" + _norm(username), "a:" + address):
                left = self._busy.get(key, 0) - 1
                if left > 0:
                    self._busy[key] = left
                else:
                    self._busy.pop(key, None)
        if ok is True:
            self.account.success(_norm(username))
        elif ok is False:
            self.account.failure(_norm(username))
            self.address.failure(address)


def _norm(username: str) -> str:
    return username.strip().casefold()[:256]
