"""Passwords (argon2id), user bearer tokens and gateway credentials.

User tokens and gateway credentials are 256-bit random secrets; only their sha256 is stored,
which is enough for secrets that cannot be guessed (a slow hash is for human passwords).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Every argon2 computation in the process, whoever asks, holds one of these: bogus log-ins in
# bulk cannot take more cores than this from the board.
_HASHING_SLOTS = threading.BoundedSemaphore(2)

TOKEN_PREFIX = "cut_"  # custody user token
CREDENTIAL_PREFIX = "cgw_"  # custody gateway credential


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_password(password: str) -> str:
    with _HASHING_SLOTS:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _HASHING_SLOTS:
            return _hasher.verify(password_hash, password)
    except VerificationError:
        return False
    except InvalidHashError as exc:
        raise ValueError("stored password hash is not an argon2 hash") from exc


class PasswordQueueFull(Exception):
    """More log-ins waiting for password checks than the server queues (HTTP 503, Retry-After)."""


class PasswordWork:
    """Password checks for log-in routes, off the event loop and off the request thread pool.

    They run on `workers` threads of their own; waiting requests wait on the event loop (no
    thread held), so a burst of log-ins never takes the threads the board and API run on.
    Beyond `queue_max` waiting, a log-in is refused at once."""

    def __init__(self, workers: int, queue_max: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._queue_max = queue_max
        self._waiting = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        if self._waiting >= self._queue_max:
            raise PasswordQueueFull(f"{self._waiting} log-ins are waiting for a password check")
        self._waiting += 1  # only touched on the event loop
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, verify_password, password_hash, password
            )
        finally:
            self._waiting -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
