"""Gateway benchmark: the whole edge pipeline on loopback, figures only (never pass/fail).

    .venv/bin/python bench/gateway.py [--readers 8] [--seconds 10] [--rate 5000] [--latency-seconds 15]

Pipeline: EM4100 frames written to real ptys → the gateway's serial drivers → stamping →
engine → SQLite journal (WAL, synchronous=NORMAL) → uplink over HTTP to a real central server
(`python -m server run`, SQLite) and local MQTT outputs to a real Mosquitto. Everything runs
on this machine: the gateway, the frame producer and the paho subscriber share one process,
the server and the broker are separate processes.

Phase 1, throughput: producers write frames as fast as the ptys take them (staff tags moving
between zones, so each event also yields a location output) for --seconds after a warm-up.
Prints events/s journaled, entries/s acknowledged by the server, and the backlog left.

Phase 2, latency: a paced background load of --rate events/s, plus a probe subject whose every
other move breaks the site's one-way flow; each such frame yields a `flow_violation` alert on
MQTT. Latency = alert received by an MQTT subscriber − probe frame written to the pty.

Last line: journal_events_per_s=<n> uplink_entries_per_s=<n> alert_p50_ms=<x> alert_p99_ms=<x>
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from drivers.codecs.em4100 import encode  # noqa: E402
from drivers.config import load_devices  # noqa: E402
from drivers.sim.broker import MosquittoBroker, free_loopback_port  # noqa: E402
from drivers.sim.player import SimulatedSite  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402
from gateway.supervisor import Gateway  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAFF = 200


def site_yaml(tmp: Path, readers: int) -> str:
    zones = "\n".join(f"  - {{id: z{i}, type: waiting, cameras: [cam-{i}]}}" for i in range(readers))
    rdrs = "\n".join(f"  - {{id: rdr-{i}, zone: z{i}}}" for i in range(readers))
    devs = "\n".join(f"  - {{id: rdr-{i}, profile: rdm6300, port: \"{tmp}/rdr-{i}\"}}" for i in range(readers))
    # One-way flow z0 -> z1 -> ... ; the probe's move z1 -> z0 is a flow violation.
    flow = "\n".join(f"  - [z{i}, z{i + 1}]" for i in range(readers - 1))
    return (f"site: {{id: bench, name: Bench, kind: handling_area}}\nzones:\n{zones}\nflow:\n{flow}\n"
            f"readers:\n{rdrs}\nrules: {{grace_s: 600, lost_after_s: 3600}}\ndevices:\n{devs}\n")


def staff_tag(i: int) -> str:
    return f"0B{i:08X}"


PROBE_TAG = "0C00000001"


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking pty master, waiting for the reader side when it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_writer(fd)


class AlertClock:
    """MQTT subscriber thread: arrival time of every flow_violation alert of the probe."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.arrivals: list[int] = []
        self.stamps: list[tuple[int, int]] = []  # (alert ts ms = the frame's gateway stamp, arrival wall ns)
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-clock")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("custody/bench/alerts", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect(host, int(port))
        self.client.loop_start()

    def _message(self, c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter_ns()
        alert = json.loads(msg.payload)
        if alert["rule"] == "flow_violation" and alert["subject"] == "probe":
            self.arrivals.append(now)
            self.stamps.append((alert["ts"], time.time_ns()))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    db = f"sqlite:///{tmp / 'server.db'}"
    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "server", *args, "--database", db], cwd=REPO,
                              check=True, capture_output=True, text=True).stdout.strip()
    cli("add-site", "--id", "bench", "--name", "Bench")
    credential = cli("add-gateway", "--id", "bench-gw", "--site", "bench")
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "server", "run", "--port", str(port), "--database", db,
                             "--log-level", "warning"], cwd=REPO)
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, credential
        except httpx.TransportError:
            time.sleep(0.1)  # server start-up
    raise RuntimeError("server did not start")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="custody-bench-gw-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site.yaml"
        site.write_text(site_yaml(tmp, args.readers))
        sims = SimulatedSite(load_devices(site))
        await sims.start()
        broker = await MosquittoBroker().start()
        server, server_url, credential = await asyncio.to_thread(start_server, tmp)
        try:
            await run_gateway(args, site, tmp / "data", sims, broker.url, server_url, credential)
            await asyncio.to_thread(replay_figure, site, tmp / "data")
        finally:
            server.terminate()
            server.wait()
            await broker.stop()
            await sims.stop()


async def run_gateway(args: argparse.Namespace, site: Path, data: Path, sims: SimulatedSite, broker_url: str,
                      server_url: str, credential: str) -> None:
    gateway = Gateway(GatewaySettings(site_path=site, data_dir=data, server_url=server_url,
                                      credential=credential, gateway_id="bench-gw", mqtt_url=broker_url,
                                      desk_port=None, health_interval_s=5.0))
    gateway.open()
    stop = asyncio.Event()
    run = asyncio.create_task(gateway.run(stop))
    try:
        await gateway.started.wait()
        runner = gateway.runner
        assert runner is not None and gateway.uplink is not None
        for i in range(STAFF):
            await runner.submit_desk({"type": "enroll", "person": f"s{i}", "role": "officer", "sex": "M",
                                      "tag": staff_tag(i)})
        await runner.submit_desk({"type": "checkin", "person": "probe", "role": "suspect", "sex": "M",
                                  "tag": PROBE_TAG, "basis": "criminal_summons", "case": "c-probe"})
        for slot in gateway.devices.values():
            assert slot.driver is not None
            await slot.driver.wait_connected(10)
        fds = [sims.ptys[f"rdr-{i}"].master for i in range(args.readers)]
        if args.ladder:
            await throughput(args, gateway, fds)
        await latency(args, gateway, fds, broker_url)
    finally:
        stop.set()
        await run


FRAMES: list[bytes] = []


def frames_for(start: int, count: int) -> bytes:
    """`count` staff frames; consecutive calls walk the staff list so people keep moving."""
    return b"".join(FRAMES[(start + k * 7) % STAFF] for k in range(count))


async def paced(fds: list[int], rate: int, seconds: float) -> None:
    tick_s = 0.01
    per_reader = max(1, round(rate * tick_s / len(fds)))
    n = 0
    next_at = time.perf_counter()
    end = next_at + seconds
    while next_at < end:
        for i, fd in enumerate(fds):
            await write_all(fd, frames_for(n + i, per_reader))
        n += per_reader * len(fds)
        next_at += tick_s
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def settle(gateway: Gateway) -> None:
    runner, uplink = gateway.runner, gateway.uplink
    assert runner is not None and uplink is not None
    await runner.drained()
    while uplink.acked_seq < runner.journal.last_seq:
        uplink.wake.set()
        await asyncio.sleep(0.2)  # benchmark bookkeeping: wait for the uplink to catch up


def replay_figure(site: Path, data: Path) -> None:
    """Restart cost: a fresh engine rebuilt from this run's whole journal (no snapshot yet)."""
    from core_ext.api import CustodyEngine
    from core_ext.site import load_site_model
    from gateway.clock import GatewayClock
    from gateway.engine_task import EngineRunner
    from gateway.journal import Journal
    from gateway.zone_status import ZoneStatus

    global REPLAY_RATE
    model = load_site_model(site)
    journal = Journal(data)
    runner = EngineRunner(CustodyEngine(model), journal, GatewayClock(), ZoneStatus("bench", model.zone_ids))
    runner.rebuild()
    journal.close()
    stats = runner.stats
    REPLAY_RATE = stats.replayed_events / max(stats.replay_seconds, 1e-9)
    print(f"restart: rebuilt the engine from {stats.replayed_events:,} journaled events in "
          f"{stats.replay_seconds:.1f} s ({REPLAY_RATE:,.0f} events/s)")


async def throughput(args: argparse.Namespace, gateway: Gateway, fds: list[int]) -> None:
    global JOURNAL_RATE, UPLINK_RATE, SUSTAINED
    runner, uplink = gateway.runner, gateway.uplink
    assert runner is not None and uplink is not None
    FRAMES.extend(encode(staff_tag(i)) for i in range(STAFF))
    print(f"throughput ladder: paced frames over {len(fds)} pty readers, {args.seconds:.0f} s per step "
          "(an event is a tag read; most also yield a location output, so ~2 journal entries per event)")
    print(f"  {'offered':>9} {'journaled':>10} {'server acked':>13} {'backlog':>9} {'uplink lag':>11}  keeps up")
    for rate in args.ladder:
        await settle(gateway)
        e0, a0, t0 = runner.stats.events, uplink.acked_seq, time.perf_counter()
        await paced(fds, rate, args.seconds)
        e1, a1, t1 = runner.stats.events, uplink.acked_seq, time.perf_counter()
        backlog, lag = runner.backlog(), runner.journal.last_seq - uplink.acked_seq
        journaled, acked = (e1 - e0) / (t1 - t0), (a1 - a0) / (t1 - t0)
        engine_ok = backlog < rate * 0.5
        uplink_ok = lag < 2 * max(acked, 1) and engine_ok
        verdict = "all" if uplink_ok else ("engine+journal only" if engine_ok else "no")
        print(f"  {rate:>9,} {journaled:>10,.0f} {acked:>13,.0f} {backlog:>9,} {lag:>11,}  {verdict}")
        if engine_ok:
            JOURNAL_RATE = max(JOURNAL_RATE if JOURNAL_RATE == JOURNAL_RATE else 0, journaled)
        if uplink_ok:
            SUSTAINED = rate
        UPLINK_RATE = max(UPLINK_RATE if UPLINK_RATE == UPLINK_RATE else 0, acked)
    drain_start = time.perf_counter()
    await settle(gateway)
    print(f"  catch-up after the ladder: {time.perf_counter() - drain_start:.1f} s; journal "
          f"{runner.journal.last_seq:,} entries, {runner.journal.size_bytes() / 1e6:.0f} MB")

    # The same engine and journal without devices: how far the core of the pipeline goes.
    n = 100_000
    started = time.perf_counter()
    for i in range(n):
        runner.submit_device({"type": "tag_seen", "reader": f"rdr-{i % len(fds)}",
                              "tag": staff_tag((i * 7) % STAFF)}, "bench")
        if i % 5000 == 0:
            await asyncio.sleep(0)
    await runner.drained()
    global DIRECT_RATE
    DIRECT_RATE = n / (time.perf_counter() - started)
    print(f"  engine + journal alone (events submitted in-process, no drivers): {DIRECT_RATE:,.0f} events/s")
    await settle(gateway)


async def latency(args: argparse.Namespace, gateway: Gateway, fds: list[int], broker_url: str) -> None:
    clock = AlertClock(broker_url)
    await asyncio.to_thread(clock.subscribed.wait, 10)
    running = True
    tick_s = 0.01
    per_tick = max(1, int(args.rate * tick_s))

    async def background() -> None:
        n = 0
        next_at = time.perf_counter()
        while running:
            for k in range(per_tick):
                await write_all(fds[(n + k) % len(fds)], encode(staff_tag((n * 13 + k) % STAFF)))
            n += per_tick
            next_at += tick_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    load = asyncio.create_task(background())
    await asyncio.sleep(1.0)
    sent: list[int] = []
    sent_wall: list[int] = []
    probe_fd = {0: fds[0], 1: fds[1]}
    zone = 0
    # First read puts the probe in z0; z0 -> z1 is allowed, z1 -> z0 breaks the flow.
    await write_all(probe_fd[0], encode(PROBE_TAG))
    end = time.perf_counter() + args.latency_seconds
    while time.perf_counter() < end:
        await asyncio.sleep(0.02)
        zone = 1 - zone
        if zone == 0:
            sent.append(time.perf_counter_ns())
            sent_wall.append(time.time_ns())
        await write_all(probe_fd[zone], encode(PROBE_TAG))
    await asyncio.sleep(1.0)
    running = False
    await load
    clock.close()
    samples = [(arrived - written) / 1e6 for written, arrived in zip(sent, clock.arrivals)]
    global P50, P99
    if len(clock.arrivals) != len(sent) or not samples:
        print(f"latency: {len(sent)} probe violations sent, {len(clock.arrivals)} alerts received: unmatched")
        P50 = P99 = float("nan")
        return
    samples.sort()
    P50 = statistics.median(samples)
    P99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"latency: background {args.rate} events/s over {len(fds)} ptys, {len(samples)} probe alerts")
    print(f"  frame written -> alert on MQTT: p50 {P50:.2f} ms, p99 {P99:.2f} ms, max {samples[-1]:.2f} ms")
    # Split at the gateway's stamp (wall clock, ms resolution): device + driver side, then
    # engine + journal commit + MQTT publish + broker + subscriber.
    before = sorted(ts - w / 1e6 for w, (ts, _) in zip(sent_wall, clock.stamps))
    after = sorted(a / 1e6 - ts for ts, a in clock.stamps)
    pct = lambda xs, q: xs[min(len(xs) - 1, int(len(xs) * q))]  # noqa: E731
    print(f"  split at the gateway stamp (±1 ms): write->stamp p50 {pct(before, .5):.1f} p99 {pct(before, .99):.1f} ms; "
          f"stamp->MQTT p50 {pct(after, .5):.1f} p99 {pct(after, .99):.1f} ms")


JOURNAL_RATE = UPLINK_RATE = P50 = P99 = DIRECT_RATE = REPLAY_RATE = float("nan")
SUSTAINED = 0

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="per ladder step")
    parser.add_argument("--ladder", type=lambda v: [int(x) for x in v.split(",") if x],
                        default=[5000, 10000, 20000, 30000, 50000],
                        help="offered events/s, comma-separated; empty: latency only")
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    arguments = parser.parse_args()
    asyncio.run(main(arguments))
    print(f"sustained_events_per_s={SUSTAINED} journal_events_per_s={JOURNAL_RATE:.0f} "
          f"engine_journal_direct_events_per_s={DIRECT_RATE:.0f} uplink_entries_per_s={UPLINK_RATE:.0f} "
          f"alert_p50_ms={P50:.2f} alert_p99_ms={P99:.2f} replay_events_per_s={REPLAY_RATE:.0f}")
