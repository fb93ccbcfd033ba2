"""Signed chain heads (issue 11, item 3, gateway side): the key made at first start (mode 600), a
signature entry every N entries and at clean shutdown, `custody journal verify --public-key`
catching edits and bad signatures offline, the engine's replay ignoring signatures, and a real
center enrolling the key on first use and verifying the signatures (or refusing another key)."""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from gw_processes import CentralServer
from gw_sites import NO_DEVICES_SITE, write_site

from core_ext.chain import head_message, load_public_key
from gateway.journal import GATEWAY_ID_KEY, Journal
from gateway.settings import GatewaySettings
from gateway.signing import KEY_FILE, PUBLIC_KEY_FILE, ChainSigner
from gateway.supervisor import Gateway
from gateway.uplink import Uplink

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000_000


def _events(start: int, count: int) -> list[tuple[int, str, dict]]:
    return [(T0 + i, "event", {"ts": T0 + i, "type": "door", "door": "door-main",
                               "state": "open" if i % 2 == 0 else "closed"}) for i in range(start, start + count)]


def _signed_journal(directory: Path, gateway_id: str = "sig-gw", every: int = 5) -> tuple[Journal, ChainSigner]:
    signer = ChainSigner.load_or_create(directory, gateway_id)
    journal = Journal(directory)
    journal.set_meta(GATEWAY_ID_KEY, gateway_id)
    journal.set_signer(signer, every)
    return journal, signer


def _verify(data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.commands.cli", "journal", "verify", "--data", str(data),
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def test_key_is_made_once_private_and_reloaded(tmp_path):
    first = ChainSigner.load_or_create(tmp_path, "gw-1")
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (tmp_path / PUBLIC_KEY_FILE).read_text() == first.public_pem
    assert first.public_pem.startswith("-----BEGIN PUBLIC KEY-----") and len(first.key_id) == 16
    key_file.chmod(0o644)  # e.g. copied carelessly: tightened again on the next start
    again = ChainSigner.load_or_create(tmp_path, "gw-1")
    assert again.key_id == first.key_id and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.write_text("not a key")
    with pytest.raises(ValueError, match=f"{KEY_FILE}: not an unencrypted PEM private key"):
        ChainSigner.load_or_create(tmp_path, "gw-1")


def test_signatures_every_n_entries_sign_the_entry_before(tmp_path):
    journal, signer = _signed_journal(tmp_path, every=5)
    journal.append(_events(0, 3))
    journal.append(_events(3, 3))   # 6 since the start: a signature follows this batch
    journal.append(_events(6, 2))
    journal.close()
    # A restart goes on counting from the last signature, not from zero.
    journal, signer = _signed_journal(tmp_path, every=5)
    journal.append(_events(8, 3))   # 2 + 3 = 5: signed
    assert journal.sign_head() is False  # the head is a signature already
    journal.append(_events(11, 1))
    assert journal.sign_head() is True   # clean shutdown
    entries = journal.read_after(0, 100)
    kinds = "".join("s" if e.kind == "signature" else "e" for e in entries)
    assert kinds == "eeeeees" + "eeeees" + "es"
    public = load_public_key(signer.public_pem)
    for before, entry in itertools.pairwise(entries):
        if entry.kind != "signature":
            continue
        body = msgspec.json.decode(entry.body)
        assert set(body) == {"ts", "signed_seq", "signed_hash", "key_id", "sig"}
        assert (body["signed_seq"], body["signed_hash"], body["key_id"]) == (before.seq, before.hash, signer.key_id)
        assert body["ts"] == entry.ts <= T0 + 11
        public.verify(base64.b64decode(body["sig"]), head_message("sig-gw", before.seq, before.hash))
    report = journal.verify(public_key=public, gateway_id="sig-gw")
    assert report.ok and (report.signatures, report.valid_signatures) == (3, 3)
    assert report.covered_seq == report.last_seq - 1 == 14
    journal.close()


def test_journal_verify_cli_reports_bad_signatures_and_coverage(tmp_path):
    data = tmp_path / "gw"
    journal, signer = _signed_journal(data, every=4)
    journal.append(_events(0, 4))       # seq 1-4, signature 5
    journal.append(_events(4, 4))       # seq 6-9, signature 10
    journal.append(_events(8, 2))       # seq 11-12, not yet signed
    journal.close()
    public = data / PUBLIC_KEY_FILE
    ok = _verify(data, "--public-key", str(public))
    assert ok.returncode == 0, ok.stderr
    assert "2 of 2 signatures valid; entries 1-9 of 12 covered by a valid signature, entries 10-12 not yet signed" \
        in ok.stdout
    unchecked = _verify(data)
    assert unchecked.returncode == 0 and "2 signature entries not checked (no --public-key)" in unchecked.stdout

    other = ChainSigner.load_or_create(tmp_path / "other", "sig-gw")
    wrong = _verify(data, "--public-key", str(tmp_path / "other" / PUBLIC_KEY_FILE))
    assert wrong.returncode == 1
    assert f"seq 5: bad signature: made with key {signer.key_id}, the public key given is {other.key_id}" in wrong.stderr
    assert "no entry covered by a valid signature" in wrong.stderr

    # A forged signature: right key id, signature of another head (the hash chain itself stays intact).
    db = sqlite3.connect(data / "journal.db")
    body = json.loads(db.execute("SELECT body FROM entries WHERE seq = 10").fetchone()[0])
    forged = base64.b64encode(base64.b64decode(body["sig"])[::-1]).decode()
    forged_body = msgspec.json.encode({**body, "sig": forged}, order="sorted").decode()
    db.execute("UPDATE entries SET body = ? WHERE seq = 10", (forged_body,))
    db.commit()
    bad = _verify(data, "--public-key", str(public))
    assert bad.returncode == 1
    assert "seq 10: hash mismatch" in bad.stderr
    assert f"seq 10: bad signature: does not verify with key {signer.key_id} for gateway 'sig-gw'" in bad.stderr
    assert "1 of 2 signatures valid; entries 1-4 of 12 covered" in bad.stderr
    # The gateway id the signatures name is part of what is signed.
    renamed = _verify(data, "--public-key", str(public), "--gateway-id", "another-gw")
    assert "seq 5: bad signature: does not verify" in renamed.stderr
    db.close()


async def test_replay_ignores_signatures_and_shutdown_signs(tmp_path):
    settings = GatewaySettings(site_path=write_site(tmp_path, NO_DEVICES_SITE), data_dir=tmp_path / "data",
                               desk_port=None, health_interval_s=3600, sign_every=3)
    gateway = Gateway(settings)
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(stop))
    await gateway.started.wait()
    assert gateway.runner is not None
    for i in range(10):
        gateway.runner.submit_device({"type": "door", "door": "door-main", "state": "open" if i % 2 == 0 else "closed"},
                                     "test")
        await gateway.runner.drained()
    stop.set()
    await asyncio.wait_for(run, 30)
    again = Gateway(settings)
    again.open()
    assert again.runner is not None and again.journal is not None
    assert again.runner.stats.replayed_events == 10
    kinds = [e.kind for e in again.journal.read_after(0, 100)]
    assert kinds.count("signature") >= 3 and kinds[-1] == "signature"  # the shutdown signed the head
    assert again.journal.verify(public_key=load_public_key(again.signer.public_pem),  # type: ignore[union-attr]
                                gateway_id="gw-test-gw").covered_seq == len(kinds) - 1
    again.journal.close()


@pytest.mark.durability
async def test_center_enrols_the_key_and_verifies_signatures(tmp_path):
    (tmp_path / "center").mkdir()
    center = CentralServer(tmp_path / "center", "sig-site", "sig-gw").start()
    try:
        journal, signer = _signed_journal(tmp_path / "gw", every=4)
        journal.append(_events(0, 10))
        uplink = Uplink(journal, center.url, "sig-gw", "sig-site", center.credential, batch_max=3,
                        public_key_pem=signer.public_pem, backoff_initial_s=0.05, backoff_max_s=0.2)
        task = asyncio.create_task(uplink.run())
        try:
            await _until(lambda: uplink.acked_seq == journal.last_seq)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert uplink.key_status == "registered"
        with sqlite3.connect(center.db_path) as db:
            key_id, verified, last_signed = db.execute(
                "SELECT key_id, signatures_verified, last_signed_seq FROM gateways WHERE id = 'sig-gw'").fetchone()
        assert (key_id, verified, last_signed) == (signer.key_id, 1, 10)
        journal.close()
    finally:
        center.stop()


@pytest.mark.durability
async def test_another_key_at_the_center_is_an_error_in_health(tmp_path, caplog):
    (tmp_path / "center").mkdir()
    center = CentralServer(tmp_path / "center", "sig-site", "sig-gw").start()
    try:
        enrolled = ChainSigner.load_or_create(tmp_path / "old-box", "sig-gw")
        first = Uplink(Journal(tmp_path / "old-box"), center.url, "sig-gw", "sig-site", center.credential,
                       public_key_pem=enrolled.public_pem)
        task = asyncio.create_task(first.run())
        await _until(lambda: first.key_status == "registered")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        first.journal.close()

        journal, signer = _signed_journal(tmp_path / "gw", every=100)
        journal.append(_events(0, 6))
        uplink = Uplink(journal, center.url, "sig-gw", "sig-site", center.credential,
                        public_key_pem=signer.public_pem, backoff_initial_s=0.05, backoff_max_s=0.2)
        task = asyncio.create_task(uplink.run())
        try:
            await _until(lambda: uplink.acked_seq == 6)  # uplinking goes on
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert uplink.key_status is not None and uplink.key_status.startswith("conflict: ")
        assert enrolled.key_id in uplink.health_figures()["key_status"]
        errors = [r for r in caplog.records if r.name == "gateway.uplink" and r.levelname == "ERROR"]
        assert errors and "another chain-signing key" in errors[0].getMessage()
        journal.close()
    finally:
        center.stop()


async def _until(predicate, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)  # the uplink's progress counter: a short, bounded poll
