"""Work-order requests waiting for a second person's approval (办案与管理相分离).

A request is not a §6.2 event: the `workorder` event is journaled only when another user
approves it, carrying `requested_by` and `approved_by`. Until then the request is kept in
`workorder_requests.json` in the data directory (written atomically), so a gateway restart does
not lose what a custodian asked for.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

REQUESTS_FILE = "workorder_requests.json"


class RequestStoreError(ValueError):
    pass


class WorkOrderRequests:
    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir) / REQUESTS_FILE
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RequestStoreError(f"{self.path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise RequestStoreError(f"{self.path}: must map request ids to requests")
        return data

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted(self._load().values(), key=lambda r: r["requested_ts"])

    def get(self, request_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._load().get(request_id)

    def add(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            data = self._load()
            request = dict(request)
            request.setdefault("id", f"wo-{secrets.token_hex(4)}")
            if request["id"] in data:
                raise RequestStoreError(f"work order request {request['id']!r} exists already")
            data[request["id"]] = request
            self._save(data)
            return request

    def remove(self, request_id: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(request_id, None) is not None:
                self._save(data)
