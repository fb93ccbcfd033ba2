"""A site with a gateway and users per role, unique to one test (shared database, no interference)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
from fastapi.testclient import TestClient
from uplink_builder import JournalBuilder, demo_descriptor


@dataclass
class World:
    """One site with a gateway and a user per role, unique to the test that asked for it."""

    client: TestClient
    site_id: str
    gateway_id: str
    credential: str
    tokens: dict[str, str] = field(default_factory=dict)
    journal: JournalBuilder | None = None

    def auth(self, role: str) -> dict[str, str]:
        # Users are made on first use: argon2 hashing is deliberately slow, so only pay for what a test needs.
        if role not in self.tokens:
            username = f"{role}-{self.site_id[5:]}"
            site = self.site_id if role in ("area_staff", "property_custodian") else None
            created = self.client.post("/api/v1/users", headers=self.auth("admin"), json={
                "username": username, "role": role, "site_id": site, "password": "correct horse battery"})
            assert created.status_code == 201, created.text
            self.tokens[role] = login(self.client, username, "correct horse battery")
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def gw(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    def ingest(self, *entries: dict) -> httpx.Response:
        return self.client.post("/api/v1/ingest", json=self.journal.batch(*entries), headers=self.gw)


def make_world(client: TestClient, admin_token: str, kind: str = "handling_area") -> World:
    tag = uuid.uuid4().hex[:8]
    site_id, gateway_id = f"site-{tag}", f"gw-{tag}"
    admin = {"Authorization": f"Bearer {admin_token}"}
    assert client.post("/api/v1/sites", json={"id": site_id, "name": f"Site {tag}", "kind": kind}, headers=admin).status_code == 201
    reply = client.post(f"/api/v1/sites/{site_id}/gateways", json={"id": gateway_id}, headers=admin)
    assert reply.status_code == 201, reply.text
    world = World(client, site_id, gateway_id, reply.json()["credential"], journal=JournalBuilder(gateway_id, site_id))
    world.tokens["admin"] = admin_token
    described = client.put(f"/api/v1/sites/{site_id}/descriptor", json=demo_descriptor(site_id), headers=world.gw)
    assert described.status_code == 200, described.text
    return world


def login(client: TestClient, username: str, password: str) -> str:
    reply = client.post("/api/v1/login/access-token", data={"username": username, "password": password})
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]
