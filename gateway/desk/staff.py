"""Desk staff accounts (a JSON file in the data directory) and their bearer tokens.

    custody gateway add-staff --data DIR --username desk1 --role desk

Passwords are stored as argon2 hashes. Tokens are random, held in memory and expire after
`token_ttl_s`; a gateway restart logs everyone out (the desk logs in again), which keeps no
secret on disk beyond the password hashes.

Every request re-checks its token's account against the file (re-read when it changes): an
account removed (`remove-staff`), disabled (`disable-staff`) or given a new password loses its
tokens at once, and a changed role applies to the next request.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    password_hash: str = ""  # the hash logged in with: a new password ends the session


# Why a token is not (or no longer) good: the desk API words each one for the user.
UNKNOWN_TOKEN = "unknown"
EXPIRED = "expired"
ACCOUNT_REMOVED = "removed"
ACCOUNT_DISABLED = "disabled"
PASSWORD_CHANGED = "password_changed"


class StaffStore:
    def __init__(self, data_dir: str | os.PathLike[str], token_ttl_s: float = 12 * 3600) -> None:
        self.path = Path(data_dir) / STAFF_FILE
        self.token_ttl_s = token_ttl_s
        self._sessions: dict[str, Session] = {}
        self._cache: tuple[tuple[int, int, int], dict[str, dict[str, Any]]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StaffError(f"{self.path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise StaffError(f"{self.path}: must map usernames to accounts")
        self._cache = (stamp, data)
        return data

    def _save(self, accounts: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(accounts, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)

    def add(self, username: str, password: str, role: str) -> None:
        if role not in ROLES:
            raise StaffError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise StaffError(f"username must be letters, digits, '-', '_' or '.', got {username!r}")
        if len(password) < 8:
            raise StaffError("password must have at least 8 characters")
        accounts = dict(self._load())
        if username in accounts:
            raise StaffError(f"staff account {username!r} exists already")
        accounts[username] = {"role": role, "hash": _hasher.hash(password)}
        self._save(accounts)

    def has(self, username: str) -> bool:
        return username in self._load()

    def remove(self, username: str) -> None:
        accounts = dict(self._load())
        if username not in accounts:
            raise StaffError(f"no staff account {username!r}")
        del accounts[username]
        self._save(accounts)

    def set_disabled(self, username: str, disabled: bool) -> None:
        accounts = dict(self._load())
        if username not in accounts:
            raise StaffError(f"no staff account {username!r}")
        account = dict(accounts[username])
        if disabled:
            account["disabled"] = True
        else:
            account.pop("disabled", None)
        accounts[username] = account
        self._save(accounts)

    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        account = self._load().get(username)
        if account is None or account.get("disabled"):
            # Spend the same time as a real check so usernames cannot be probed by timing.
            _hasher.hash(password)
            return None
        try:
            _hasher.verify(account["hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        token = secrets.token_urlsafe(32)
        session = Session(username, account["role"], time.time() + self.token_ttl_s, account["hash"])
        self._sessions[token] = session
        return token, session

    def logout(self, token: str) -> bool:
        return self._sessions.pop(token, None) is not None

    def resolve(self, token: str) -> tuple[Session | None, str | None]:
        """(the session with the account's current role, None), or (None, why the token is no good).
        Checked against the staff file on every call, so removing or disabling an account, or
        giving it a new password, ends its sessions at once."""
        session = self._sessions.get(token)
        if session is None:
            return None, UNKNOWN_TOKEN
        reason = None
        account = self._load().get(session.username)
        if session.expires_at < time.time():
            reason = EXPIRED
        elif account is None:
            reason = ACCOUNT_REMOVED
        elif account.get("disabled"):
            reason = ACCOUNT_DISABLED
        elif account.get("hash") != session.password_hash:
            reason = PASSWORD_CHANGED
        if reason is not None:
            self._sessions.pop(token, None)
            return None, reason
        assert account is not None
        if account.get("role") != session.role:
            session = Session(session.username, account["role"], session.expires_at, session.password_hash)
            self._sessions[token] = session
        return session, None

    def session(self, token: str) -> Session | None:
        return self.resolve(token)[0]
