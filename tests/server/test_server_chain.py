"""The center checks every gateway's hash chain and its signed chain heads (docs/uplink.md)."""
from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from server_process import REPO
from sqlalchemy import func, select

from core_ext.chain import head_message, key_id
from server.db import make_engine
from server.models import JournalEntry

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

T0 = 1_763_700_000_000


def _stored(settings, gateway_id: str) -> list[tuple[int, str]]:
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(JournalEntry.seq, JournalEntry.hash).where(JournalEntry.gateway_id == gateway_id)
                            .order_by(JournalEntry.seq)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _gateway(world) -> dict:
    listed = world.client.get(f"/api/v1/sites/{world.site_id}/gateways", headers=world.auth("admin")).json()
    return next(g for g in listed if g["id"] == world.gateway_id)


def _reads(world, n: int, start: int = 0) -> list[dict]:
    return [world.journal.event(T0 + start + i, "tag_seen", reader="rdr-entry", tag=f"t{start + i}") for i in range(n)]


def test_replay_with_the_same_hashes_is_acknowledged(world, settings):
    entries = _reads(world, 3)
    assert world.ingest(*entries).json() == {"stored": 3, "duplicates": 0, "last_seq": 3}
    assert world.ingest(*entries).json() == {"stored": 0, "duplicates": 3, "last_seq": 3}
    assert _gateway(world)["chain_conflict"] is None


def test_rewritten_replay_is_409_naming_the_first_differing_seq_and_marks_the_gateway(world, settings, client):
    j = world.journal
    first = _reads(world, 3)
    assert world.ingest(*first).status_code == 200
    # Same seqs 2..3, other bodies and (self-consistent) hashes, plus a new entry 4: nothing is stored.
    forger = type(j)(world.gateway_id, world.site_id)
    forger._prev_hash, forger.next_seq = j.hashes[1], 2
    forged = [forger.event(T0 + 50 + i, "tag_seen", reader="rdr-entry", tag=f"forged{i}") for i in range(3)]
    reply = world.client.post("/api/v1/ingest", json=forger.batch(first[0], *forged), headers=world.gw)
    assert reply.status_code == 409, reply.text
    assert reply.json()["conflict"] == "chain" and reply.json()["seq"] == 2
    assert "expected_seq" not in reply.json()  # a chain conflict is not a resume point
    assert _stored(settings, world.gateway_id) == [(1, j.hashes[1]), (2, j.hashes[2]), (3, j.hashes[3])]

    mark = _gateway(world)["chain_conflict"]
    assert mark["seq"] == 2 and "hash" in mark["detail"]
    board = client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth("area_staff")).json()
    assert [c["gateway_id"] for c in board["chain_conflicts"]] == [world.gateway_id]
    overview = client.get("/api/v1/board", headers=world.auth("center_monitor")).json()
    assert next(s for s in overview["sites"] if s["site_id"] == world.site_id)["chain_conflicts"] == 1

    # The real gateway goes on; the mark stays until an admin clears it with a comment.
    assert world.ingest(*_reads(world, 1, start=10)).json()["last_seq"] == 4
    assert _gateway(world)["chain_conflict"]["seq"] == 2
    clear = f"/api/v1/gateways/{world.gateway_id}/chain-conflict/clear"
    assert client.post(clear, json={"comment": "x"}, headers=world.auth("center_monitor")).status_code == 403
    assert client.post(clear, json={"comment": ""}, headers=world.auth("admin")).status_code == 422
    assert client.post(clear, json={"comment": "replayed from a stolen credential; rotated"}, headers=world.auth("admin")).status_code == 200
    assert _gateway(world)["chain_conflict"] is None
    assert client.post(clear, json={"comment": "again"}, headers=world.auth("admin")).status_code == 409
    audit = client.get(f"/api/v1/gateways/{world.gateway_id}/audit", headers=world.auth("admin")).json()
    assert [a["action"] for a in audit] == ["chain_conflict", "conflict_cleared"]
    assert audit[1]["username"] and "stolen credential" in audit[1]["comment"]


def test_new_entry_that_does_not_follow_the_chain_is_refused(world, settings):
    j = world.journal
    assert world.ingest(*_reads(world, 2)).status_code == 200
    good = j.event(T0 + 5, "tag_seen", reader="rdr-entry", tag="t5")
    bad = dict(good, hash="ab" * 32)
    reply = world.client.post("/api/v1/ingest", json=j.batch(bad), headers=world.gw)
    assert reply.status_code == 409 and reply.json()["seq"] == 3
    # a body changed after hashing (same hash) is refused too
    tampered = dict(good, body={**good["body"], "tag": "other"})
    assert world.client.post("/api/v1/ingest", json=j.batch(tampered), headers=world.gw).json()["seq"] == 3
    assert len(_stored(settings, world.gateway_id)) == 2
    assert world.client.post("/api/v1/ingest", json=j.batch(good), headers=world.gw).json()["last_seq"] == 3


def test_a_break_inside_a_new_batch_stores_nothing(world, settings):
    entries = _reads(world, 4)
    entries[2] = dict(entries[2], hash="cd" * 32)
    reply = world.ingest(*entries)
    assert reply.status_code == 409 and reply.json()["seq"] == 3
    assert _stored(settings, world.gateway_id) == []


# --- signed chain heads ---------------------------------------------------------------------


def _key() -> tuple[Ed25519PrivateKey, str, str]:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    return private, pem, key_id(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def _signature(world, private: Ed25519PrivateKey, kid: str, signed_seq: int, signed_hash: str | None = None) -> dict:
    signed_hash = signed_hash or world.journal.hashes[signed_seq]
    sig = base64.b64encode(private.sign(head_message(world.gateway_id, signed_seq, signed_hash))).decode()
    return world.journal.entry("signature", T0 + 900, {
        "ts": T0 + 900, "signed_seq": signed_seq, "signed_hash": signed_hash, "key_id": kid, "sig": sig})


def test_signatures_without_a_key_are_stored_unverified(world):
    private, _, kid = _key()
    reads = _reads(world, 2)
    assert world.ingest(*reads, _signature(world, private, kid, 2)).json()["stored"] == 3
    gateway = _gateway(world)
    assert gateway["key_id"] is None and gateway["signatures_unverified"] == 1 and gateway["signatures_verified"] == 0


def test_key_enrolment_is_trust_on_first_use_and_signatures_verify(world, client):
    private, pem, kid = _key()
    enrol = client.put("/api/v1/gateway/public-key", json={"public_key_pem": pem}, headers=world.gw)
    assert enrol.status_code == 200 and enrol.json()["key_id"] == kid
    assert client.put("/api/v1/gateway/public-key", json={"public_key_pem": pem}, headers=world.gw).status_code == 200
    _, other_pem, other_kid = _key()
    assert client.put("/api/v1/gateway/public-key", json={"public_key_pem": other_pem}, headers=world.gw).status_code == 409
    bad = client.put("/api/v1/gateway/public-key", json={"public_key_pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, headers=world.gw)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "public_key_pem"

    assert world.ingest(*_reads(world, 2)).status_code == 200
    # the signature of a seq stored in an earlier batch (3 signs 2), and of one in the same batch (5 signs 4)
    batch = [_signature(world, private, kid, 2)]
    batch += _reads(world, 1, start=3)
    batch.append(_signature(world, private, kid, 4))
    reply = world.ingest(*batch)
    assert reply.status_code == 200, reply.text
    gateway = _gateway(world)
    assert gateway["signatures_verified"] == 2 and gateway["last_signed_seq"] == 4 and gateway["chain_conflict"] is None

    # An admin replaces the key (audited); signatures by the old key are then refused.
    assert client.put(f"/api/v1/gateways/{world.gateway_id}/public-key", json={"public_key_pem": other_pem, "comment": "box replaced"},
                      headers=world.auth("admin")).json()["key_id"] == other_kid
    reply = world.ingest(_signature(world, private, kid, 5))
    assert reply.status_code == 409 and reply.json()["seq"] == 6
    audit = [a["action"] for a in client.get(f"/api/v1/gateways/{world.gateway_id}/audit", headers=world.auth("admin")).json()]
    assert audit == ["key_registered", "key_replaced", "chain_conflict"]


@pytest.mark.parametrize("fault", ["forged signature", "other hash", "later seq", "other key id"])
def test_a_bad_signature_is_409_nothing_stored_and_marks_the_gateway(world, client, settings, fault):
    private, pem, kid = _key()
    assert client.put("/api/v1/gateway/public-key", json={"public_key_pem": pem}, headers=world.gw).status_code == 200
    reads = _reads(world, 2)
    if fault == "forged signature":
        signature = _signature(world, Ed25519PrivateKey.generate(), kid, 2)
    elif fault == "other hash":
        signature = _signature(world, private, kid, 2, signed_hash="ef" * 32)
    elif fault == "later seq":  # a signature entry (seq 3) claiming to sign itself
        sig = base64.b64encode(private.sign(head_message(world.gateway_id, 3, "ef" * 32))).decode()
        signature = world.journal.entry("signature", T0 + 900, {
            "ts": T0 + 900, "signed_seq": 3, "signed_hash": "ef" * 32, "key_id": kid, "sig": sig})
    else:
        signature = _signature(world, private, "0123456789abcdef", 2)
    reply = world.ingest(*reads, signature)
    assert reply.status_code == 409, reply.text
    assert reply.json()["conflict"] == "chain" and reply.json()["seq"] == 3
    assert _stored(settings, world.gateway_id) == []
    assert _gateway(world)["chain_conflict"]["seq"] == 3


def test_add_gateway_registers_the_public_key_from_a_file(tmp_path: Path):
    _, pem, kid = _key()
    (tmp_path / "gw.pub").write_text(pem)
    url = f"sqlite:///{tmp_path / 'keys.db'}"

    def server(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "server", *args, "--database", url], cwd=REPO, capture_output=True,
                              text=True, timeout=60, check=False)

    assert server("add-site", "--id", "s1", "--name", "S").returncode == 0
    made = server("add-gateway", "--id", "gw-1", "--site", "s1", "--public-key", str(tmp_path / "gw.pub"))
    assert made.returncode == 0 and kid in made.stderr
    (tmp_path / "bad.pub").write_text("not a key")
    bad = server("add-gateway", "--id", "gw-2", "--site", "s1", "--public-key", str(tmp_path / "bad.pub"))
    assert bad.returncode == 1 and "PEM" in bad.stderr
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
        assert conn.exec_driver_sql("SELECT key_id FROM gateways WHERE id = 'gw-1'").scalar_one() == kid
    engine.dispose()
