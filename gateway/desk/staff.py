"""Desk staff accounts (a JSON file in the data directory) and their bearer tokens.

    custody gateway add-staff --data DIR --username desk1 --role desk

Passwords are stored as argon2 hashes. Tokens are random, held in memory and expire after
`token_ttl_s`; a gateway restart logs everyone out (the desk logs in again), which keeps no
secret on disk beyond the password hashes.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

STAFF_FILE = "staff.json"
ROLES = ("desk", "custodian", "supervisor")

_hasher = PasswordHasher()


class StaffError(ValueError):
    pass


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    expires_at: float


class StaffStore:
    def __init__(self, data_dir: str | os.PathLike[str], token_ttl_s: float = 12 * 3600) -> None:
        self.path = Path(data_dir) / STAFF_FILE
        self.token_ttl_s = token_ttl_s
        self._sessions: dict[str, Session] = {}

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StaffError(f"{self.path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise StaffError(f"{self.path}: must map usernames to accounts")
        return data

    def add(self, username: str, password: str, role: str) -> None:
        if role not in ROLES:
            raise StaffError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise StaffError(f"username must be letters, digits, '-', '_' or '.', got {username!r}")
        if len(password) < 8:
            raise StaffError("password must have at least 8 characters")
        accounts = self._load()
        if username in accounts:
            raise StaffError(f"staff account {username!r} exists already")
        accounts[username] = {"role": role, "hash": _hasher.hash(password)}
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(accounts, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        account = self._load().get(username)
        if account is None:
            # Spend the same time as a real check so usernames cannot be probed by timing.
            _hasher.hash(password)
            return None
        try:
            _hasher.verify(account["hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        token = secrets.token_urlsafe(32)
        session = Session(username, account["role"], time.time() + self.token_ttl_s)
        self._sessions[token] = session
        return token, session

    def session(self, token: str) -> Session | None:
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires_at < time.time():
            del self._sessions[token]
            return None
        return session
