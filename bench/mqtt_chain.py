"""The MQTT reader chain measured end to end, all on loopback; figures only (never pass/fail).

    .venv/bin/python bench/mqtt_chain.py [--seconds 5] [--ladder 5000,10000,15000,20000] [--burst 20000] [--tls]

Chain: fixed readers publishing over MQTT in their vendors' formats (one Zebra FX reader and one
Impinj R700, four antennas each = eight reader ids in eight zones; the payloads come from the
simulators in drivers/sim/mqtt_readers.py), QoS 1 → a real Mosquitto with a password file (and
TLS with --tls) → `custody gateway run` in its own process (mqtt_reader drivers → stamping →
engine → SQLite journal) → uplink over HTTP → the central server (`python -m server run`) on a
throw-away PostgreSQL database on 127.0.0.1:5432 → acknowledgement. Alerts go back out on MQTT.
200 enrolled staff tags are read in turn, so the engine does its real work (zone moves,
location outputs), not only unknown-tag counting; a person moves to the next zone after
--moves-every of their reads (default 20; fixed readers re-report the tags in view).

How latency is observed: a separate poller process reads the journal's last seq (SQLite, WAL) and
the center's last stored seq for the gateway (PostgreSQL) every --poll-ms and records when each
changed. After a phase the journal is read back; each publisher's reads appear in publish order
(one MQTT connection per reader keeps order), so the k-th read published is matched to the k-th
journaled read of that reader, checked by reader and tag. Latency = first poll that saw the seq −
publish time: it includes up to one poll interval of observation delay (the figures are an upper
bound by at most --poll-ms).

Phases (printed with these numbers; run in the order 2, 4, 3, 1, heaviest last):
1. ladder: offered rates for --seconds each; journaled and center-stored reads/s; a step keeps up
   when, one second after it, neither the journal nor the center is behind by more than half a
   second of reads. sustained_per_s = the highest step that keeps up.
2. latency at 1,000 and 5,000 msg/s: publish → journaled and publish → stored at the center, p50/p99.
3. burst: --burst messages published as fast as the publishers can (QoS 1), then the number that
   never reached the center.
4. alert latency: under a 5,000/s background load, a probe suspect's reads break the site's
   one-way flow every other read; publish of the violating read → flow_violation alert received by
   an MQTT subscriber.

Broker settings that matter (set here and in docs/drivers.md): Mosquitto's defaults allow 20
QoS 1 messages in flight to a subscriber and queue 1,000 more, then DROP; a burst of reads above
that is lost at the broker before the gateway sees it. Here: max_inflight_messages 1000,
max_queued_messages 0 (no limit). --broker-defaults runs with Mosquitto's defaults instead.

Last line: mqtt_chain: sustained_per_s=N p99_ms_at_5k=N burst_sent=N burst_lost=N alert_p99_ms=N
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from drivers.config import load_devices  # noqa: E402
from drivers.mqtt_link import MqttTls, new_client, parse_mqtt_url, unique_client_id  # noqa: E402
from drivers.sim.broker import BrokerTls, MosquittoBroker, free_loopback_port  # noqa: E402
from drivers.sim.mqtt_readers import MqttReaderSim  # noqa: E402
from gateway.desk.staff import StaffStore  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("CUSTODY_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
STAFF = 200
PROBE_TAG = "E20000000000000000FFFF01"
DESK_PASSWORD = "bench-password"
USERS = {"gateway": "gw pass/1", "reader": "rdr:pass@2", "display": "disp-3"}
GATEWAY_ID = "bench-gw"
VENDORS = (("fx-1", "zebra-iot-connector", "fx9600-bench"), ("r700-1", "impinj-iot-interface", "impinj-bench"))
READERS = 8  # 2 vendor readers x 4 antennas


def staff_tag(i: int) -> str:
    return f"E2000000000000000000{i:04X}"


def site_yaml(broker_url: str, tls: str) -> str:
    zones = "\n".join(f"  - {{id: z{i}, type: waiting, requires_recording: false}}" for i in range(READERS))
    readers = "\n".join(f"  - {{id: rdr-{i}, zone: z{i}}}" for i in range(READERS))
    flow = "\n".join(f"  - [z{i}, z{i + 1}]" for i in range(READERS - 1))
    devices = []
    for v, (device, profile, name) in enumerate(VENDORS):
        antennas = ", ".join(f"{a + 1}: rdr-{v * 4 + a}" for a in range(4))
        devices.append(
            f'  - {{id: {device}, profile: {profile}, broker: "{broker_url}", {tls}'
            f"readers: {{{name}: {{{antennas}}}}}}}"
        )
    return (
        f"site: {{id: bench, name: Bench, kind: handling_area}}\nzones:\n{zones}\nflow:\n{flow}\n"
        f"readers:\n{readers}\nrules: {{grace_s: 600, lost_after_s: 3600}}\ndevices:\n" + "\n".join(devices) + "\n"
    )


# ---- peers ----------------------------------------------------------------------------------------


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # start-up
    raise RuntimeError(f"{what} did not start")


def fresh_database() -> tuple[str, str, str]:
    name = f"custody_mqtt_chain_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    user, host, port = params.get("user", "postgres"), params.get("host", "127.0.0.1"), params.get("port", "5432")
    return (
        name,
        f"postgresql+psycopg://{user}@{host}:{port}/{name}",
        f"host={host} port={port} user={user} dbname={name}",
    )


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(tmp: Path, database_url: str) -> tuple[subprocess.Popen[bytes], str, str]:
    def cli(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "server", *args, "--database", database_url],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    cli("add-site", "--id", "bench", "--name", "Bench")
    credential = cli("add-gateway", "--id", GATEWAY_ID, "--site", "bench")
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "run",
                "--port",
                str(port),
                "--database",
                database_url,
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_http(url + "/healthz", proc, "server", log)
    return proc, url, credential


def start_gateway(
    tmp: Path, site: Path, data: Path, server_url: str, credential: str, mqtt_url: str, tls_args: list[str]
) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "credential").write_text(credential)
    StaffStore(data).add("bench", DESK_PASSWORD, "supervisor")
    port = free_loopback_port()
    log = tmp / "gateway.log"
    env = {**os.environ, "CUSTODY_MQTT_URL": mqtt_url}  # the password stays out of the process list
    with open(log, "wb") as out:
        profile = (
            ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE_GATEWAY"]]
            if os.environ.get("BENCH_PROFILE_GATEWAY")
            else []
        )  # a developer's aid: where the gateway's time goes
        proc = subprocess.Popen(
            [
                sys.executable,
                *profile,
                "-m",
                "gateway.commands.cli",
                "gateway",
                "run",
                "--site",
                str(site),
                "--data",
                str(data),
                "--server",
                server_url,
                "--gateway-id",
                GATEWAY_ID,
                "--credential-file",
                str(tmp / "credential"),
                *tls_args,
                "--desk-port",
                str(port),
                "--health-interval",
                "5",
                "--log-level",
                "WARNING",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/healthz", proc, "gateway", log)
    return proc, url


# ---- observation ------------------------------------------------------------------------------------


def poll_stores(
    journal_path: str, pg_conninfo: str, out_path: str, interval_s: float, stop: Any, ready: Any, nice: int
) -> None:
    """In its own process: (time ns, journal last seq, center last seq) whenever either changed.

    On a shared, busy machine an observer that waits for the scheduler reports its own waiting as
    latency; raising its priority (it uses a few percent of a core) keeps that error small."""
    if nice:
        try:
            os.nice(nice)
        except PermissionError:
            print(
                "observer: cannot raise its priority (not root); latencies include its scheduling delay",
                file=sys.stderr,
            )
    while not Path(journal_path).exists():
        time.sleep(0.05)
    journal = sqlite3.connect(journal_path, timeout=5)
    center = psycopg.connect(pg_conninfo, autocommit=True)
    query = "SELECT coalesce(max(seq), 0) FROM journal_entries WHERE gateway_id = %s"
    last = (-1, -1)
    with open(out_path, "w") as out:
        ready.set()
        while not stop.is_set():
            j = journal.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]
            c = center.execute(query, (GATEWAY_ID,)).fetchone()[0]
            if (j, c) != last:
                out.write(f"{time.time_ns()} {j} {c}\n")
                out.flush()
                last = (j, c)
            time.sleep(interval_s)
    journal.close()
    center.close()


class Stores:
    """The poller's record, loaded after a phase: when did seq N reach the journal / the center?"""

    def __init__(self, path: Path) -> None:
        self.t: list[int] = []
        self.j: list[int] = []
        self.c: list[int] = []
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue  # the line the poller is writing right now
            t, j, c = map(int, parts)
            self.t.append(t)
            self.j.append(j)
            self.c.append(c)
        # running maxima, so bisect works on monotone lists
        for xs in (self.j, self.c):
            for i in range(1, len(xs)):
                xs[i] = max(xs[i], xs[i - 1])

    def seen_at(self, seq: int, center: bool) -> int | None:
        xs = self.c if center else self.j
        i = bisect.bisect_left(xs, seq)
        return self.t[i] if i < len(xs) else None


def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu_s_task(pid: int, tid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by each part of the chain between two readings (load-independent efficiency)."""

    def __init__(self, pids: dict[str, int], pg_conninfo: str, db_name: str) -> None:
        self.pids, self.pg_conninfo, self.db_name = pids, pg_conninfo, db_name

    def _pg_pids(self) -> list[int]:
        with psycopg.connect(self.pg_conninfo, autocommit=True) as conn:
            me = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,)).fetchall()
        return [r[0] for r in rows if r[0] != me]

    def read(self) -> dict[str, float]:
        out = {name: proc_cpu_s(pid) for name, pid in self.pids.items()}
        gw = self.pids["gateway"]
        # asyncio loop (drivers' decoding, engine, uplink, desk) vs threads (paho network loops,
        # journal writes off the loop)
        out["gateway: event-loop thread"] = proc_cpu_s_task(gw, gw)
        out["bench publishers"] = time.process_time()
        out["PostgreSQL backends"] = sum(proc_cpu_s(pid) for pid in self._pg_pids())
        return out


class JournalReader:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), timeout=5)

    def last_seq(self) -> int:
        return self.db.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0]

    def stamps_after(self, seq: int) -> dict[int, int]:
        """seq -> the gateway's receipt stamp (ms) of the tag reads journaled after `seq`."""
        rows = self.db.execute("SELECT seq, ts FROM entries WHERE seq > ? AND kind = 'event'", (seq,))
        return dict(rows.fetchall())

    def reads_after(self, seq: int) -> list[tuple[int, str, str]]:
        """(seq, reader, tag) of the tag reads journaled after `seq`, in order."""
        rows = self.db.execute("SELECT seq, body FROM entries WHERE seq > ? AND kind = 'event' ORDER BY seq", (seq,))
        out = []
        for s, body in rows:
            event = json.loads(body)
            if event.get("type") == "tag_seen":
                out.append((s, event["reader"], event["tag"]))
        return out


class Desk:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        token = self.http.post("/desk/v1/login", json={"username": "bench", "password": DESK_PASSWORD}).json()
        self.http.headers["Authorization"] = f"Bearer {token['token']}"

    def gateway(self) -> dict[str, Any]:
        response = self.http.get("/desk/v1/health")
        response.raise_for_status()
        return response.json()

    def settle(self, timeout_s: float = 180.0) -> bool:
        """Until nothing is queued at the gateway and the center holds the whole journal."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            g = self.gateway()["gateway"]
            if g["backlog"] == 0 and g["uplink"]["acked_seq"] >= g["journal"]["last_seq"]:
                return True
            time.sleep(0.2)  # benchmark bookkeeping
        return False


# ---- publishing ---------------------------------------------------------------------------------------


@dataclass
class Published:
    """What one publisher sent, in order: (publish time ns, reader id, tag)."""

    sent: list[tuple[int, str, str]] = field(default_factory=list)


class RawMqttPublisher:
    """A minimal MQTT 3.1.1 QoS 1 publisher on a plain (or TLS) socket, pipelined.

    Why not paho here: paho-mqtt 2.x rescans its whole outgoing list on every PUBACK, so a single
    client publishing QoS 1 with many messages outstanding is capped at ~3-6 k msg/s on this
    machine (measured), and the bench would measure paho, not the chain. Real fixed readers
    publish with their own firmware clients. Packets are the standard CONNECT (user, password),
    PUBLISH QoS 1 with packet ids, PUBACK; up to `window` unacknowledged, one thread."""

    def __init__(self, url: str, tls: MqttTls | None, client_id: str, window: int = 20_000) -> None:
        import socket

        self.url = parse_mqtt_url(url)
        sock = socket.create_connection((self.url.host, self.url.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.url.tls:
            sock = (tls or MqttTls()).context().wrap_socket(sock, server_hostname=self.url.host)
        self.sock: Any = sock
        self.window = window
        self.next_id = 0
        self.sent = 0
        self.acked = 0
        self._rx = bytearray()
        self._out = bytearray()
        flags = 0x02 | (0x80 if self.url.username else 0) | (0x40 if self.url.password is not None else 0)
        body = _mqtt_str(b"MQTT") + bytes([4, flags, 0, 60]) + _mqtt_str(client_id.encode())
        if self.url.username:
            body += _mqtt_str(self.url.username.encode())
        if self.url.password is not None:
            body += _mqtt_str(self.url.password.encode())
        self.sock.sendall(bytes([0x10]) + _varint(len(body)) + body)
        connack = self._read_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise RuntimeError(f"publisher refused by the broker: CONNACK {connack.hex()}")
        self.sock.setblocking(False)

    def _read_exact(self, n: int) -> bytes:
        while len(self._rx) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("broker closed the publisher's connection")
            self._rx += chunk
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def publish(self, topic: bytes, payload: bytes) -> None:
        self.next_id = self.next_id % 65535 + 1
        body = _mqtt_str(topic) + self.next_id.to_bytes(2, "big") + payload
        self._out += bytes([0x32]) + _varint(len(body)) + body
        self.sent += 1
        if self.sent - self.acked >= self.window:
            self.send()
            self._drain(block=True)

    def send(self) -> None:
        """Write what publish() buffered (the caller batches: one write per tick)."""
        import select

        view = memoryview(self._out)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                self._drain(block=False)
                select.select([self.sock], [self.sock], [], 0.05)
        view.release()
        self._out.clear()
        self._drain(block=False)

    def _drain(self, block: bool) -> None:
        import select

        while True:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                if not block:
                    break
                select.select([self.sock], [], [], 0.05)
                continue
            if not chunk:
                raise RuntimeError("broker closed the publisher's connection")
            self._rx += chunk
            acks = len(self._rx) // 4  # the broker sends nothing but PUBACKs (40 02 id id) here
            self.acked += acks
            del self._rx[: acks * 4]
            if not block or self.sent - self.acked < self.window:
                break

    def flush(self, timeout: float = 120) -> None:
        self.send()
        deadline = time.monotonic() + timeout
        while self.acked < self.sent:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.sent - self.acked} publishes not acknowledged after {timeout}s")
            self._drain(block=True)

    def close(self) -> None:
        import contextlib

        self.flush(30)
        with contextlib.suppress(OSError):
            self.sock.setblocking(True)
            self.sock.sendall(bytes([0xE0, 0]))
        self.sock.close()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_str(b: bytes) -> bytes:
    return len(b).to_bytes(2, "big") + b


class Publisher:
    """One vendor reader (its own MQTT connection, QoS 1), publishing its vendor's payloads."""

    def __init__(self, sim: MqttReaderSim, url: str, tls: MqttTls | None) -> None:
        self.sim = sim
        self.mqtt = RawMqttPublisher(url, tls, unique_client_id("bench-reader", sim.wiring.id))
        self.readers = list(sim.source)
        self.log = Published()
        self._cache: dict[tuple[str, str], tuple[bytes, bytes]] = {}

    def payload(self, reader: str, tag: str) -> tuple[bytes, bytes]:
        key = (reader, tag)
        hit = self._cache.get(key)
        if hit is None:
            topic, payload = self.sim.payload_for({"type": "tag_seen", "reader": reader, "tag": tag, "rssi": -55})
            hit = self._cache[key] = (topic.encode(), payload)
        return hit

    def publish(self, reader: str, tag: str) -> None:
        topic, payload = self.payload(reader, tag)
        self.log.sent.append((time.time_ns(), reader, tag))
        self.mqtt.publish(topic, payload)

    def send(self) -> None:
        self.mqtt.send()

    def flush(self, timeout: float = 120) -> None:
        self.mqtt.flush(timeout)

    def close(self) -> None:
        self.mqtt.close()


class Load:
    """Reads of the 200 staff tags spread over both publishers and their eight reader ids.

    Fixed readers re-report every tag in view (typically about once a second), so most reads
    repeat a person's zone; `moves_every` = 20 moves each person to the next reader after 20 of
    their reads (5 % of reads are zone changes, each adding a location output to the journal and
    the uplink). `--moves-every 1` makes every read a move (the heaviest case)."""

    def __init__(self, publishers: list[Publisher], moves_every: int) -> None:
        self.publishers = publishers
        self.moves_every = max(1, moves_every)
        self.n = 0

    def one(self) -> None:
        n = self.n
        staff = (n * 7) % STAFF
        reader = (staff + n // (STAFF * self.moves_every)) % READERS
        pub = self.publishers[reader // 4]
        pub.publish(pub.readers[reader % 4], staff_tag(staff))
        self.n += 1

    def paced(self, rate: int, seconds: float, every_tick: Any = None) -> int:
        tick = 0.005
        per_tick = rate * tick
        owed = 0.0
        sent = 0
        start = time.perf_counter()
        next_at = start
        while next_at - start < seconds:
            owed += per_tick
            while owed >= 1:
                self.one()
                owed -= 1
                sent += 1
            if every_tick is not None:
                every_tick()
            for p in self.publishers:
                p.send()  # one write per connection per tick
            next_at += tick
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        return sent

    def reset_logs(self) -> None:
        for p in self.publishers:
            p.log = Published()

    def flush(self) -> None:
        for p in self.publishers:
            p.flush()


def match(publishers: list[Publisher], reads: list[tuple[int, str, str]]) -> tuple[list[tuple[int, int]], int]:
    """(publish ns, journal seq) per read, matched per publisher in order; and the number unmatched."""
    pairs: list[tuple[int, int]] = []
    unmatched = 0
    for pub in publishers:
        mine = [r for r in reads if r[1] in pub.sim.source]
        k = 0
        for sent_ns, reader, tag in pub.log.sent:
            if k < len(mine) and mine[k][1] == reader and mine[k][2] == tag:
                pairs.append((sent_ns, mine[k][0]))
                k += 1
            else:
                unmatched += 1
    return pairs, unmatched


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


# ---- phases --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    sustained: int = 0
    p99_at_5k: float = float("nan")
    burst_sent: int = 0
    burst_lost: int = -1
    alert_p99: float = float("nan")


class Bench:
    def __init__(
        self, args: argparse.Namespace, load: Load, desk: Desk, journal: JournalReader, poll_file: Path, cpu: CpuMeter
    ) -> None:
        self.args, self.load, self.desk, self.journal, self.poll_file = args, load, desk, journal, poll_file
        self.cpu = cpu
        self.fig = Figures()

    def _reads_between(self, after_seq: int, upto_seq: int) -> int:
        return self.journal.db.execute(
            "SELECT count(*) FROM entries WHERE seq > ? AND seq <= ? AND kind = 'event' AND body LIKE '%\"tag_seen\"%'",
            (after_seq, upto_seq),
        ).fetchone()[0]

    def ladder(self) -> None:
        self.desk.settle()
        cpu0 = self.cpu.read()
        reads0 = self.journal.last_seq()
        print(f"1. sustained: offered reads/s for {self.args.seconds:.0f} s each (QoS 1, 2 readers x 4 antennas)")
        print(
            f"   {'offered':>8} {'sent/s':>8} {'journaled/s':>12} {'at center/s':>12} {'behind 1 s later':>17}  keeps up"
        )
        for rate in self.args.ladder:
            self.desk.settle()
            g0 = self.desk.gateway()["gateway"]
            j0, c0 = g0["journal"]["last_seq"], g0["uplink"]["acked_seq"]
            t0 = time.perf_counter()
            sent = self.load.paced(rate, self.args.seconds)
            self.load.flush()
            elapsed = time.perf_counter() - t0
            g1 = self.desk.gateway()["gateway"]
            journaled = self._reads_between(j0, g1["journal"]["last_seq"])
            at_center = self._reads_between(c0, g1["uplink"]["acked_seq"])
            time.sleep(1.0)  # one second of grace, then: how much is still behind?
            g2 = self.desk.gateway()["gateway"]
            behind_j = sent - self._reads_between(j0, g2["journal"]["last_seq"])
            behind_c = sent - self._reads_between(c0, g2["uplink"]["acked_seq"])
            ok = (
                sent >= rate * self.args.seconds * 0.95
                and journaled >= 0.9 * sent
                and at_center >= 0.9 * sent
                and behind_j <= rate * 0.5
                and behind_c <= rate * 0.5
            )
            print(
                f"   {rate:>8,} {sent / elapsed:>8,.0f} {journaled / elapsed:>12,.0f} {at_center / elapsed:>12,.0f} "
                f"{f'{behind_j:,} / {behind_c:,}':>17}  {'yes' if ok else 'no'}"
            )
            if ok:
                self.fig.sustained = max(self.fig.sustained, rate)
        self.desk.settle()
        cpu1 = self.cpu.read()
        reads = self._reads_between(reads0, self.journal.last_seq())
        parts = {k: (cpu1[k] - cpu0[k]) / reads * 1e6 for k in cpu0}
        print(
            f"   CPU per read over the ladder ({reads:,} reads, to the center): "
            + ", ".join(f"{k} {v:.0f} us" for k, v in parts.items())
        )
        total = sum(v for k, v in parts.items() if not k.startswith(("bench", "gateway:")))
        print(
            f"   -> the chain without the load generator needs {total:.0f} us of CPU per read: at most "
            f"~{2e6 / total:,.0f} reads/s on 2 idle cores; the gateway process alone ({parts['gateway']:.0f} us) "
            f"would allow ~{1e6 / parts['gateway']:,.0f}/s on one core"
        )

    def latency(self, rate: int) -> float:
        self.desk.settle()
        self.load.reset_logs()
        start_seq = self.journal.last_seq()
        sent = self.load.paced(rate, self.args.latency_seconds)
        self.load.flush()
        self.desk.settle()
        time.sleep(3 * self.args.poll_ms / 1000 + 0.2)  # let the poller see the last seq
        stores = Stores(self.poll_file)
        pairs, unmatched = match(self.load.publishers, self.journal.reads_after(start_seq))
        to_journal, to_center, to_stamp = [], [], []
        stamps = self.journal.stamps_after(start_seq)
        for sent_ns, seq in pairs:
            to_stamp.append(stamps[seq] - sent_ns / 1e6)
            j, c = stores.seen_at(seq, False), stores.seen_at(seq, True)
            if j is not None:
                to_journal.append((j - sent_ns) / 1e6)
            if c is not None:
                to_center.append((c - sent_ns) / 1e6)
        print(
            f"   {rate:>6,}/s: {sent:,} published, {len(pairs):,} matched ({unmatched} unmatched); "
            f"publish -> journaled p50 {pct(to_journal, 0.5):.1f} p99 {pct(to_journal, 0.99):.1f} ms; "
            f"publish -> stored at center p50 {pct(to_center, 0.5):.1f} p99 {pct(to_center, 0.99):.1f} ms; "
            f"(publish -> the gateway's receipt stamp, ±1 ms: p50 {pct(to_stamp, 0.5):.1f} p99 {pct(to_stamp, 0.99):.1f} ms)"
        )
        return pct(to_journal, 0.99)

    def burst(self) -> None:
        self.desk.settle()
        self.load.reset_logs()
        start_seq = self.journal.last_seq()
        t0 = time.perf_counter()
        for i in range(self.args.burst):
            self.load.one()
            if i % 500 == 499:
                for p in self.load.publishers:
                    p.send()
        for p in self.load.publishers:
            p.send()
        t_pub = time.perf_counter() - t0
        self.load.flush()
        t_acked = time.perf_counter() - t0
        settled = self.desk.settle(timeout_s=300)
        t_center = time.perf_counter() - t0
        acked = self.desk.gateway()["gateway"]["uplink"]["acked_seq"]
        reads = [r for r in self.journal.reads_after(start_seq) if r[0] <= acked]
        pairs, _ = match(self.load.publishers, reads)
        self.fig.burst_sent = self.args.burst
        self.fig.burst_lost = self.args.burst - len(pairs)
        print(
            f"3. burst: {self.args.burst:,} reads published in {t_pub:.2f} s ({self.args.burst / t_pub:,.0f}/s), "
            f"all PUBACKed after {t_acked:.2f} s, {'all' if settled else 'NOT all'} at the center after "
            f"{t_center:.2f} s; {len(pairs):,} stored at the center in publish order, {len(reads) - len(pairs)} extra "
            f"(duplicates), lost {self.fig.burst_lost}"
        )

    def alerts(self, broker_url: str, tls: MqttTls | None) -> None:
        self.desk.settle()
        url = parse_mqtt_url(broker_url)
        stamps: list[tuple[int, int]] = []
        subscribed = threading.Event()
        sub = new_client(url, tls, unique_client_id("bench-display", "alerts"))
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("custody/bench/alerts", qos=1)
        sub.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()

        def on_message(c: Any, u: Any, msg: Any) -> None:
            now = time.time_ns()
            alert = json.loads(msg.payload)
            if alert.get("rule") == "flow_violation" and alert.get("subject") == "probe":
                stamps.append((alert["ts"], now))

        sub.on_message = on_message
        sub.connect(url.host, url.port)
        sub.loop_start()
        subscribed.wait(10)
        fx = self.load.publishers[0]  # antennas 1 and 2 of one reader: zones z0 and z1, one ordered connection
        fx.publish("rdr-0", PROBE_TAG)
        violations: list[int] = []
        state = {"tick": 0, "zone": 0}

        def probe() -> None:
            state["tick"] += 1
            if state["tick"] % 8:
                return  # a probe read every 40 ms
            state["zone"] = 1 - state["zone"]
            if state["zone"] == 0:
                violations.append(time.time_ns())  # z1 -> z0 breaks the one-way flow
            fx.publish(f"rdr-{state['zone']}", PROBE_TAG)

        self.load.paced(5000, self.args.latency_seconds, every_tick=probe)
        self.load.flush()
        self.desk.settle()
        time.sleep(1.0)
        sub.disconnect()
        sub.loop_stop()
        written = sorted(violations)
        samples = []
        for stamp_ms, arrived_ns in stamps:
            i = bisect.bisect_right(written, stamp_ms * 1_000_000 + 999_999) - 1
            if i >= 0:
                samples.append((arrived_ns - written[i]) / 1e6)
        self.fig.alert_p99 = pct(samples, 0.99)
        print(
            f"4. alerts: 5,000 reads/s background, {len(written)} violating probe reads published, {len(samples)} "
            f"flow_violation alerts received; publish -> alert on MQTT p50 {pct(samples, 0.5):.1f} "
            f"p99 {self.fig.alert_p99:.1f} ms, max {max(samples) if samples else float('nan'):.1f} ms"
        )


def main(args: argparse.Namespace) -> Figures:
    tmp = Path(tempfile.mkdtemp(prefix="custody-bench-mqtt-"))
    conf = "" if args.broker_defaults else "max_inflight_messages 1000\nmax_queued_messages 0"
    tls = None
    tls_site, tls_args = "", []
    broker_tls = None
    if args.tls:
        from drivers.sim.certs import TestPki

        pki = TestPki.create(tmp / "pki")
        tls = MqttTls(ca_file=pki.ca_file)
        broker_tls = BrokerTls(pki.ca_file, pki.server_cert, pki.server_key)
        tls_site, tls_args = f'tls: {{ca_file: "{pki.ca_file}"}}, ', ["--mqtt-ca-file", str(pki.ca_file)]
    loop = asyncio.new_event_loop()  # only for the broker's subprocess; the bench itself is threads and sockets
    broker = loop.run_until_complete(MosquittoBroker(users=USERS, tls=broker_tls, extra_conf=conf).start())
    db_name, db_url, db_conninfo = fresh_database()
    server = gateway = None
    poller = None
    stop = multiprocessing.Event()
    publishers: list[Publisher] = []
    fig = Figures()
    try:
        server, server_url, credential = start_server(tmp, db_url)
        site = tmp / "site.yaml"
        site.write_text(site_yaml(broker.url_for("gateway", USERS["gateway"]), tls_site))
        data = tmp / "data"
        gateway, desk_url = start_gateway(
            tmp, site, data, server_url, credential, broker.url_for("gateway", USERS["gateway"]), tls_args
        )
        desk = Desk(desk_url)
        for i in range(STAFF):
            desk.http.post(
                "/desk/v1/staff", json={"person": f"s{i}", "role": "officer", "sex": "M", "tag": staff_tag(i)}
            ).raise_for_status()
        desk.http.post(
            "/desk/v1/checkins",
            json={
                "person": "probe",
                "role": "suspect",
                "sex": "M",
                "tag": PROBE_TAG,
                "basis": "criminal_summons",
                "case": "c-probe",
            },
        ).raise_for_status()
        while not all(d["connected"] for d in desk.gateway()["devices"].values()):
            time.sleep(0.1)  # the reader drivers connecting to the broker
        poll_file = tmp / "poll.txt"
        ready = multiprocessing.Event()
        poller = multiprocessing.Process(
            target=poll_stores,
            args=(
                str(data / "journal.db"),
                db_conninfo,
                str(poll_file),
                args.poll_ms / 1000,
                stop,
                ready,
                args.observer_nice,
            ),
        )
        poller.start()
        ready.wait(30)
        sims = {spec.id: MqttReaderSim(spec.wiring, spec.settings) for spec in load_devices(site)}  # type: ignore[arg-type]  # the spec's wiring/settings are those of the simulator's driver (chosen by driver name above)
        reader_url = broker.url_for("reader", USERS["reader"])
        publishers = [Publisher(sims[device], reader_url, tls) for device, _, _ in VENDORS]
        assert broker._process is not None
        cpu = CpuMeter(
            {"gateway": gateway.pid, "center (server)": server.pid, "Mosquitto": broker._process.pid},
            db_conninfo,
            db_name,
        )
        bench = Bench(
            args, Load(publishers, args.moves_every), desk, JournalReader(data / "journal.db"), poll_file, cpu
        )
        print(
            f"loopback chain: Mosquitto ({'TLS, ' if args.tls else ''}password file"
            f"{', default limits' if args.broker_defaults else ', max_inflight_messages 1000, max_queued_messages 0'})"
            f" -> gateway (mqtt_reader drivers, SQLite journal) -> center on PostgreSQL {db_name}; "
            f"latency observed by polling both stores every {args.poll_ms} ms; load average before: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        # Heaviest last: after the ladder the center's database is still busy for a while
        # (autovacuum/analyze of a few hundred thousand new rows), which would weigh on the
        # latency phases.
        print("2. latency (publish time -> first poll that saw the entry):")
        bench.latency(1000)
        bench.fig.p99_at_5k = bench.latency(5000)
        bench.alerts(broker.url_for("display", USERS["display"]), tls)
        if args.burst:
            bench.burst()
        if args.ladder:
            bench.ladder()
        g = desk.gateway()
        gw = g["gateway"]
        print(
            f"gateway totals: {gw['events']:,} events journaled, {gw['rejected_device_events']} refused, "
            f"{gw['alerts_raised']:,} alerts; MQTT outputs {gw['mqtt']['published']:,} published, "
            f"{gw['mqtt']['dropped_local']} dropped locally; devices: "
            + ", ".join(
                f"{k} good {d['frames_good']:,} bad {d['frames_bad']} reconnects {d['reconnects']}"
                for k, d in g["devices"].items()
            )
        )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        fig = bench.fig
    finally:
        stop.set()
        for p in publishers:
            try:
                p.close()
            except (OSError, RuntimeError) as exc:
                print(f"publisher close: {exc}", file=sys.stderr)
        if poller is not None:
            poller.join(10)
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(60)
            except subprocess.TimeoutExpired:
                gateway.kill()
                gateway.wait()
        if server is not None:
            server.terminate()
            server.wait()
        loop.run_until_complete(broker.stop())
        loop.close()
        drop_database(db_name)
        shutil.rmtree(tmp, ignore_errors=True)
    return fig


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per ladder step")
    parser.add_argument(
        "--ladder",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[5000, 10000, 15000, 20000],
        help="offered reads/s, comma-separated; empty: none",
    )
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument(
        "--moves-every",
        type=int,
        default=20,
        help="a person moves to the next reader after this many of their reads (1: every read)",
    )
    parser.add_argument("--poll-ms", type=float, default=2.0)
    parser.add_argument(
        "--observer-nice",
        type=int,
        default=-10,
        help="niceness increment of the store poller (negative: higher priority; needs root)",
    )
    parser.add_argument("--tls", action="store_true", help="the broker speaks TLS only (a test CA made here)")
    parser.add_argument(
        "--broker-defaults",
        action="store_true",
        help="Mosquitto's default max_inflight_messages/max_queued_messages (20/1000)",
    )
    f = main(parser.parse_args())
    print(
        f"mqtt_chain: sustained_per_s={f.sustained} p99_ms_at_5k={f.p99_at_5k:.0f} burst_sent={f.burst_sent} "
        f"burst_lost={f.burst_lost} alert_p99_ms={f.alert_p99:.0f}"
    )
