"""Builds uplink batches the way a gateway journals them: contiguous seq, chained sha256 hashes.

The hash covers the body's canonical bytes (sorted keys, compact, UTF-8); the body is handed
back in that key order, so httpx's `json=` (compact, ensure_ascii=False) sends exactly those
bytes, as the center's chain check requires.
"""

from __future__ import annotations

import json
from typing import Any

from core_ext.chain import GENESIS_HASH, chain_hash


class JournalBuilder:
    def __init__(self, gateway_id: str, site_id: str, start_seq: int = 1) -> None:
        self.gateway_id = gateway_id
        self.site_id = site_id
        self.next_seq = start_seq
        self._prev_hash = GENESIS_HASH
        self.hashes: dict[int, str] = {}

    def entry(self, kind: str, ts: int, body: dict[str, Any]) -> dict[str, Any]:
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = chain_hash(self._prev_hash, encoded.encode())
        self._prev_hash = digest
        self.hashes[self.next_seq] = digest
        entry = {"seq": self.next_seq, "ts": ts, "kind": kind, "hash": digest, "body": json.loads(encoded)}
        self.next_seq += 1
        return entry

    def event(self, ts: int, type_: str, **fields: Any) -> dict[str, Any]:
        return self.entry("event", ts, {"ts": ts, "type": type_, **fields})

    def location(self, ts: int, person: str, zone: str | None, prev: str | None = None) -> dict[str, Any]:
        return self.entry("location", ts, {"ts": ts, "person": person, "zone": zone, "prev": prev})

    def custody(
        self,
        ts: int,
        person: str,
        state: str,
        *,
        role: str = "suspect",
        sex: str = "M",
        case: str = "case-1",
        basis: str = "criminal_summons",
        arrived_ts: int | None = None,
        limit_h: int = 12,
    ) -> dict[str, Any]:
        arrived = arrived_ts if arrived_ts is not None else ts
        limit_ms = limit_h * 3_600_000
        return self.entry(
            "custody",
            ts,
            {
                "ts": ts,
                "person": person,
                "state": state,
                "role": role,
                "sex": sex,
                "case": case,
                "basis": basis,
                "arrived_ts": arrived,
                "limit_ms": limit_ms,
                "deadline_ts": arrived + limit_ms,
            },
        )

    def alert(
        self,
        ts: int,
        rule: str,
        state: str,
        subject: str,
        zone: str | None = None,
        severity: str = "high",
        detail: Any = None,
    ) -> dict[str, Any]:
        return self.entry(
            "alert",
            ts,
            {
                "kind": "alert",
                "ts": ts,
                "rule": rule,
                "state": state,
                "subject": subject,
                "zone": zone,
                "severity": severity,
                "detail": detail or {},
            },
        )

    def batch(self, *entries: dict[str, Any]) -> dict[str, Any]:
        return {"gateway_id": self.gateway_id, "site_id": self.site_id, "entries": list(entries)}


def demo_descriptor(site_id: str, name: str = "Demo handling area") -> dict[str, Any]:
    return {
        "id": site_id,
        "name": name,
        "kind": "handling_area",
        "timezone": "Asia/Shanghai",
        "zones": [
            {"id": "entry", "type": "entry", "cameras": ["cam-entry"]},
            {"id": "check", "type": "security_check", "cameras": ["cam-check"]},
            {"id": "wait1", "type": "waiting", "cameras": ["cam-wait1"]},
            {"id": "int1", "type": "interrogation", "cameras": ["cam-int1a", "cam-int1b"]},
            {"id": "exit", "type": "exit", "cameras": ["cam-exit"]},
        ],
        "lockers": [{"id": "bank-a", "slots": 16}],
        "doors": [{"id": "door-main"}],
    }
