"""Passwords (argon2id), user bearer tokens and gateway credentials.

User tokens and gateway credentials are 256-bit random secrets; only their sha256 is stored,
which is enough for secrets that cannot be guessed (a slow hash is for human passwords).
"""
from __future__ import annotations

import hashlib
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

TOKEN_PREFIX = "cut_"       # custody user token
CREDENTIAL_PREFIX = "cgw_"  # custody gateway credential


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False
    except InvalidHashError as exc:
        raise ValueError("stored password hash is not an argon2 hash") from exc


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
