"""Central server benchmarks; prints figures, never passes or fails on time.

  .venv/bin/python bench/server.py [--database URL] [--gateways 4] [--batches 40] [--batch-size 5000]
                                   [--ingest-workers 1] [--sites 200] [--subjects 50] [--requests 2000]

1. ingest: events/s into PostgreSQL through HTTP (a real `python -m server run` process), several
   gateways posting concurrently, each batch one transaction; plus the same batches through the
   service layer alone, to show what HTTP and JSON cost.
2. board: response time of GET /api/v1/sites/{id}/board for `sites` sites with `subjects`
   subjects each (plus staff and alerts), p50/p99 over `requests` requests; and the overview.
3. live: ingest through one process, time until the board arrives over SSE from another.

Without --database it creates a throw-away database on 127.0.0.1:5432 and drops it afterwards.
"""
from __future__ import annotations

import argparse
import json
import queue
import random
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "server"))

from server_process import ServerProcess  # noqa: E402

from core_ext.chain import GENESIS_HASH, chain_hash  # noqa: E402
from server import migrate  # noqa: E402
from server.db import make_engine, make_session_factory  # noqa: E402
from server.schemas.sites import GatewayCreate, SiteCreate, SiteDescriptor  # noqa: E402
from server.schemas.uplink import decode_batch  # noqa: E402
from server.schemas.users import UserCreate  # noqa: E402
from server.security import now_ms  # noqa: E402
from server.services import ingest as ingest_service  # noqa: E402
from server.services import sites as site_service  # noqa: E402
from server.services.users import create_user, issue_token  # noqa: E402

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
T0 = 1_763_700_000_000
ZONES = [("entry", "entry"), ("check", "security_check"), ("info", "info_collection"), ("wait1", "waiting"),
         ("wait2", "waiting"), ("int1", "interrogation"), ("int2", "interrogation"), ("med", "medical"),
         ("rest", "rest"), ("exit", "exit")]


def descriptor(site_id: str) -> SiteDescriptor:
    return SiteDescriptor.model_validate({
        "id": site_id, "name": f"Area {site_id}", "kind": "handling_area",
        "zones": [{"id": z, "type": t, "cameras": [f"cam-{z}"]} for z, t in ZONES],
    })


class Journal:
    """Entries chained as a gateway chains them (the center checks every hash)."""

    def __init__(self, gateway_id: str, site_id: str) -> None:
        self.gateway_id, self.site_id, self.seq, self.prev = gateway_id, site_id, 0, GENESIS_HASH

    def entry(self, kind: str, ts: int, body: dict) -> dict:
        self.seq += 1
        # msgspec keeps the dict's order, so the batch carries exactly these body bytes
        self.prev = chain_hash(self.prev, msgspec.json.encode(body))
        return {"seq": self.seq, "ts": ts, "kind": kind, "hash": self.prev, "body": body}

    def batch(self, entries: list[dict]) -> bytes:
        return msgspec.json.encode({"gateway_id": self.gateway_id, "site_id": self.site_id, "entries": entries})


def realistic_entries(journal: Journal, n: int, people: int, start_ts: int) -> list[dict]:
    """Mostly reader events, as on a real site; a location change for about one in eight."""
    entries, rng = [], random.Random(journal.gateway_id)
    for i in range(n):
        ts = start_ts + i * 50
        person = f"p{rng.randrange(people)}"
        roll = rng.random()
        if roll < 0.80:
            entries.append(journal.entry("event", ts, {"ts": ts, "type": "tag_seen", "reader": f"rdr-{rng.choice(ZONES)[0]}", "tag": f"tag-{person}", "rssi": -48.5}))
        elif roll < 0.92:
            entries.append(journal.entry("location", ts, {"ts": ts, "person": person, "zone": rng.choice(ZONES)[0], "prev": None}))
        elif roll < 0.97:
            entries.append(journal.entry("event", ts, {"ts": ts, "type": "camera", "camera": f"cam-{rng.choice(ZONES)[0]}", "state": "recording"}))
        else:
            entries.append(journal.entry("custody", ts, {"ts": ts, "person": person, "state": "in", "role": "suspect", "sex": "M", "case": "c-1", "basis": "criminal_summons", "arrived_ts": ts, "limit_ms": 43_200_000, "deadline_ts": ts + 43_200_000}))
    return entries


def fresh_database() -> tuple[str, str]:
    name = f"custody_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def setup_sites(sessions, count: int, prefix: str) -> list[tuple[str, str, str]]:
    """(site_id, gateway_id, credential) per site."""
    made = []
    with sessions() as session:
        for i in range(count):
            site_id, gateway_id = f"{prefix}-{i:03d}", f"gw-{prefix}-{i:03d}"
            site_service.create_site(session, SiteCreate(id=site_id, name=f"Area {i}"), now_ms())
            gateway, credential = site_service.register_gateway(session, site_id, GatewayCreate(id=gateway_id), now_ms())
            site_service.put_descriptor(session, gateway, site_id, descriptor(site_id), now_ms())
            made.append((site_id, gateway_id, credential))
    return made


def bench_ingest(args, sessions, server: ServerProcess) -> None:
    print(f"\n== ingest: {args.gateways} gateways x {args.batches} batches x {args.batch_size} entries, "
          f"{args.ingest_workers} server worker process(es) ==")
    sites = setup_sites(sessions, args.gateways * 2, "ing")
    http_sites, direct_sites = sites[: args.gateways], sites[args.gateways :]

    # the chain check alone (one sha256 per entry), CPU time of this process: what it adds to the ingest
    journal = Journal("gw-chain", "site-chain")
    raw = [journal.batch(realistic_entries(journal, args.batch_size, 100, T0 + b * 10_000_000)) for b in range(4)]
    decoded = [decode_batch(body, 1_000_000)[1] for body in raw]
    prev, cpu, decode_cpu = GENESIS_HASH, 0.0, 0.0
    for body, entries in zip(raw, decoded):
        started = time.process_time()
        prev = ingest_service._check_chain(entries, prev)
        cpu += time.process_time() - started
        started = time.process_time()
        decode_batch(body, 1_000_000)
        decode_cpu += time.process_time() - started
    total = sum(len(e) for e in decoded)
    print(f"chain check alone: {1e6 * cpu / total:.2f} µs/entry CPU ({total} entries); "
          f"batch decode for comparison: {1e6 * decode_cpu / total:.2f} µs/entry")

    # service layer alone: decode + one transaction per batch, no HTTP
    journal = Journal(direct_sites[0][1], direct_sites[0][0])
    bodies = [journal.batch(realistic_entries(journal, args.batch_size, 100, T0 + b * 10_000_000)) for b in range(max(4, args.batches // 4))]
    started = time.perf_counter()
    for body in bodies:
        _, entries = decode_batch(body, 1_000_000)
        with sessions() as session:
            ingest_service.ingest_batch(session, journal.gateway_id, journal.site_id, entries, now_ms())
    elapsed = time.perf_counter() - started
    total = len(bodies) * args.batch_size
    print(f"service layer (1 thread, no HTTP): {total} entries in {elapsed:.2f} s = {total / elapsed:,.0f} entries/s")

    # over HTTP, gateways in parallel; batches built before the clock starts
    per_gateway = []
    for site_id, gateway_id, credential in http_sites:
        journal = Journal(gateway_id, site_id)
        per_gateway.append((credential, [journal.batch(realistic_entries(journal, args.batch_size, 100, T0 + b * 10_000_000)) for b in range(args.batches)]))
    latencies: list[float] = []

    def run_gateway(credential: str, batches: list[bytes]) -> int:
        stored = 0
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}, timeout=120) as client:
            for body in batches:
                t = time.perf_counter()
                reply = client.post("/api/v1/ingest", content=body)
                latencies.append(time.perf_counter() - t)
                reply.raise_for_status()
                stored += reply.json()["stored"]
        return stored

    started = time.perf_counter()
    with ThreadPoolExecutor(len(per_gateway)) as pool:
        stored = sum(pool.map(lambda g: run_gateway(*g), per_gateway))
    elapsed = time.perf_counter() - started
    size_mb = sum(len(b) for _, bs in per_gateway for b in bs) / 1e6
    print(f"HTTP, {len(per_gateway)} gateways concurrently: {stored} entries in {elapsed:.2f} s = {stored / elapsed:,.0f} entries/s "
          f"({size_mb / elapsed:.1f} MB/s of JSON); batch latency p50 {1000 * percentile(latencies, 50):.0f} ms, p99 {1000 * percentile(latencies, 99):.0f} ms")


def bench_board(args, sessions, server: ServerProcess) -> None:
    print(f"\n== board: {args.sites} sites x {args.subjects} subjects ==")
    started = time.perf_counter()
    sites = setup_sites(sessions, args.sites, "brd")
    rng = random.Random(7)
    for site_id, gateway_id, _ in sites:
        journal = Journal(gateway_id, site_id)
        entries = []
        for s in range(args.subjects):
            person, ts = f"sus-{s}", T0 + s * 1000
            entries.append(journal.entry("custody", ts, {"ts": ts, "person": person, "state": "in", "role": "suspect", "sex": "M", "case": f"c-{s % 7}", "basis": "criminal_summons", "arrived_ts": ts, "limit_ms": 43_200_000, "deadline_ts": ts + 43_200_000}))
            entries.append(journal.entry("location", ts, {"ts": ts, "person": person, "zone": rng.choice(ZONES)[0], "prev": None}))
        for o in range(args.subjects // 5):
            entries.append(journal.entry("event", T0, {"ts": T0, "type": "enroll", "person": f"off-{o}", "role": "officer", "sex": "M", "tag": f"t-off-{o}"}))
            entries.append(journal.entry("location", T0, {"ts": T0, "person": f"off-{o}", "zone": rng.choice(ZONES)[0], "prev": None}))
        for a in range(5):
            entries.append(journal.entry("alert", T0 + a, {"ts": T0 + a, "rule": "unaccompanied", "state": "raised", "subject": f"sus-{a}", "zone": "wait1", "severity": "high", "detail": {}}))
        _, decoded = decode_batch(journal.batch(entries), 1_000_000)
        with sessions() as session:
            ingest_service.ingest_batch(session, gateway_id, site_id, decoded, now_ms())
    print(f"loaded in {time.perf_counter() - started:.1f} s")

    with sessions() as session:
        user = create_user(session, UserCreate(username=f"bench-{uuid.uuid4().hex[:6]}", role="center_monitor", password="bench password"), now_ms())
        token, _ = issue_token(session, user, now_ms(), 3600)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for site_id, _, _ in sites[:20]:  # warm up
            client.get(f"/api/v1/sites/{site_id}/board").raise_for_status()
        times = []
        for _ in range(args.requests):
            site_id = rng.choice(sites)[0]
            t = time.perf_counter()
            reply = client.get(f"/api/v1/sites/{site_id}/board")
            times.append(time.perf_counter() - t)
            reply.raise_for_status()
        subjects = sum(len(z["subjects"]) for z in reply.json()["zones"])
        print(f"GET /sites/{{id}}/board ({subjects} subjects, 10 zones): p50 {1000 * percentile(times, 50):.1f} ms, "
              f"p99 {1000 * percentile(times, 99):.1f} ms, mean {1000 * statistics.fmean(times):.1f} ms over {len(times)} requests")
        times = []
        for _ in range(max(50, args.requests // 20)):
            t = time.perf_counter()
            client.get("/api/v1/board").raise_for_status()
            times.append(time.perf_counter() - t)
        print(f"GET /board (overview of all {len(sites) + 2 * args.gateways} sites): p50 {1000 * percentile(times, 50):.1f} ms, p99 {1000 * percentile(times, 99):.1f} ms")
    return sites, headers


def bench_live(server_a: ServerProcess, server_b: ServerProcess, site: tuple[str, str, str], headers: dict, rounds: int = 20) -> None:
    print("\n== live: ingest through process A, board over SSE from process B ==")
    site_id, gateway_id, credential = site
    events: queue.Queue = queue.Queue()

    done = threading.Event()

    def reader() -> None:
        try:
            with httpx.stream("GET", f"{server_b.url}/api/v1/live?site_id={site_id}", headers=headers, timeout=httpx.Timeout(5, read=60)) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.put((time.perf_counter(), json.loads(line[6:])))
        except httpx.TransportError as exc:
            if not done.is_set():  # only the shutdown at the end is expected to cut the stream
                print(f"live stream failed: {exc}", file=sys.stderr)

    threading.Thread(target=reader, daemon=True).start()
    events.get(timeout=30)
    with httpx.Client(base_url=server_a.url, headers={"Authorization": f"Bearer {credential}"}) as client:
        state = client.get("/api/v1/gateway/state").json()
        journal = Journal(gateway_id, site_id)
        journal.seq, journal.prev = state["last_seq"], state["last_hash"]
        delays = []
        for i in range(rounds):
            person = f"live-{i}"
            body = journal.batch([journal.entry("custody", T0, {"ts": T0, "person": person, "state": "in"}), journal.entry("location", T0, {"ts": T0, "person": person, "zone": "entry", "prev": None})])
            sent = time.perf_counter()
            client.post("/api/v1/ingest", content=body, headers={"Content-Type": "application/json"}).raise_for_status()
            while True:
                received, board = events.get(timeout=30)
                if any(s["person"] == person for z in board["zones"] for s in z["subjects"]):
                    delays.append(received - sent)
                    break
    done.set()
    print(f"ingest -> SSE on another process: p50 {1000 * percentile(delays, 50):.0f} ms, max {1000 * max(delays):.0f} ms over {rounds} rounds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="PostgreSQL URL (default: a throw-away database on 127.0.0.1)")
    parser.add_argument("--gateways", type=int, default=4)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--subjects", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--ingest-workers", type=int, default=1, help="worker processes of the server that takes the uplink")
    args = parser.parse_args()

    dropped = None
    url = args.database
    if url is None:
        dropped, url = fresh_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    logs = Path("/tmp") / f"custody-bench-{uuid.uuid4().hex[:6]}"
    logs.mkdir()
    server_a = ServerProcess(url, logs / "a.log", {"CUSTODY_SERVER_INGEST_MAX_ENTRIES": str(max(10_000, args.batch_size)), "CUSTODY_SERVER_INGEST_MAX_BYTES": str(64 * 1024 * 1024)},
                             ("--workers", str(args.ingest_workers)))
    server_b = ServerProcess(url, logs / "b.log")
    try:
        server_a.wait_ready()
        server_b.wait_ready()
        print(f"database {engine.url.render_as_string(hide_password=True)}; server processes {server_a.url}, {server_b.url}; logs in {logs}")
        bench_ingest(args, sessions, server_a)
        sites, headers = bench_board(args, sessions, server_b)
        bench_live(server_a, server_b, sites[0], headers)
    finally:
        server_a.stop()
        server_b.stop()
        engine.dispose()
        if dropped:
            drop_database(dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
