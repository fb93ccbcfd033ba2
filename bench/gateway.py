"""Gateway benchmark: the whole edge pipeline on loopback, figures only (never pass/fail).

    .venv/bin/python bench/gateway.py [--readers 8] [--seconds 5] [--ladder 5000,...] [--rate 5000]

Pipeline: EM4100 frames written to real ptys → `custody gateway run` (its own process, as
deployed: serial drivers → stamping → engine → SQLite journal, WAL, synchronous=NORMAL) →
uplink over HTTP to a real central server (`python -m server run`, SQLite) and local MQTT
outputs to a real Mosquitto. The frame producer and an MQTT subscriber run in this process;
figures are read from the gateway's desk API health.

1. Throughput ladder: frames paced at each offered rate for --seconds; prints events/s
   journaled, entries/s acknowledged by the server, and what was left behind at the end (not
   yet journaled; journaled but not yet at the server). A step "keeps up" when both stay small.
2. Latency: a paced background load of --rate events/s plus a probe subject whose every other
   move breaks the site's one-way flow; each such frame yields a `flow_violation` alert on
   MQTT. Latency = alert received by an MQTT subscriber − probe frame written to the pty.
3. In this process, without devices: events/s through the engine task and journal alone, and
   the restart cost (a fresh engine rebuilt from the run's whole journal).

Last line: sustained_events_per_s=... journal_events_per_s=... engine_journal_direct_events_per_s=...
uplink_entries_per_s=... alert_p50_ms=... alert_p99_ms=... replay_events_per_s=...
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from core_ext.api import CustodyEngine  # noqa: E402
from core_ext.site import load_site_model  # noqa: E402
from drivers.codecs.em4100 import encode  # noqa: E402
from drivers.config import load_devices  # noqa: E402
from drivers.sim.broker import MosquittoBroker, free_loopback_port  # noqa: E402
from drivers.sim.player import SimulatedSite  # noqa: E402
from gateway.clock import GatewayClock  # noqa: E402
from gateway.desk.staff import StaffStore  # noqa: E402
from gateway.engine_task import EngineRunner  # noqa: E402
from gateway.journal import Journal  # noqa: E402
from gateway.zone_status import ZoneStatus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAFF = 200
PROBE_TAG = "0C00000001"
PASSWORD = "bench-password"


@dataclass
class Figures:
    sustained: int = 0
    journal_rate: float = float("nan")
    uplink_rate: float = float("nan")
    direct_rate: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    replay_rate: float = float("nan")


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


FRAMES = [encode(staff_tag(i)) for i in range(STAFF)]


def frames_for(start: int, count: int) -> bytes:
    """`count` staff frames; consecutive calls walk the staff list so people keep moving."""
    return b"".join(FRAMES[(start + k * 7) % STAFF] for k in range(count))


async def write_all(fd: int, data: bytes) -> None:
    """Write to a non-blocking pty master, waiting for the reader side when it is full."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            ready = loop.create_future()
            loop.add_writer(fd, lambda ready=ready: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_writer(fd)


class AlertClock:
    """MQTT subscriber thread: arrival time of every flow_violation alert of the probe."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.stamps: list[tuple[int, int]] = []  # (alert ts = the frame's gateway stamp, arrival wall ns)
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-clock")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("custody/bench/alerts", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rc, p: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect(host, int(port))
        self.client.loop_start()

    def _message(self, c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time_ns()
        alert = json.loads(msg.payload)
        if alert["rule"] == "flow_violation" and alert["subject"] == "probe":
            self.stamps.append((alert["ts"], now))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # start-up
    raise RuntimeError(f"{what} did not start")


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
    _wait_http(url + "/healthz", proc, "server")
    return proc, url, credential


def start_gateway(tmp: Path, site: Path, data: Path, server_url: str, credential: str,
                  broker_url: str, extra: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "credential").write_text(credential)
    StaffStore(data).add("bench", PASSWORD, "supervisor")
    port = free_loopback_port()
    log = open(tmp / "gateway.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.commands.cli", "gateway", "run", "--site", str(site),
                             "--data", str(data), "--server", server_url, "--gateway-id", "bench-gw",
                             "--credential-file", str(tmp / "credential"), "--mqtt", broker_url,
                             "--desk-port", str(port), "--health-interval", "5", "--log-level", "WARNING", *extra],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/healthz", proc, "gateway")
    return proc, url


class Health:
    def __init__(self, desk: httpx.AsyncClient) -> None:
        self.desk = desk

    async def get(self) -> dict[str, Any]:
        response = await self.desk.get("/desk/v1/health")
        response.raise_for_status()
        return response.json()

    async def figures(self) -> tuple[int, int, int, int]:
        """(events journaled, backlog not yet journaled, journal last seq, server-acknowledged seq)"""
        g = (await self.get())["gateway"]
        return g["events"], g["backlog"], g["journal"]["last_seq"], g["uplink"]["acked_seq"]

    async def settle(self) -> None:
        while True:
            _, backlog, last, acked = await self.figures()
            if backlog == 0 and acked >= last:
                return
            await asyncio.sleep(0.2)  # benchmark bookkeeping: wait for the gateway to catch up


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


async def throughput(args: argparse.Namespace, health: Health, fds: list[int], fig: Figures) -> None:
    print(f"throughput ladder: paced frames over {len(fds)} pty readers, {args.seconds:.0f} s per step "
          "(an event is a tag read; many also yield a location output)")
    print(f"  {'offered':>9} {'journaled':>10} {'server acked':>13} {'backlog':>9} {'uplink lag':>11}  keeps up")
    best_journal = best_uplink = 0.0
    for rate in args.ladder:
        await health.settle()
        e0, _, _, a0 = await health.figures()
        t0 = time.perf_counter()
        await paced(fds, rate, args.seconds)
        e1, backlog, last, a1 = await health.figures()
        t1 = time.perf_counter()
        journaled, acked, lag = (e1 - e0) / (t1 - t0), (a1 - a0) / (t1 - t0), last - a1
        engine_ok = backlog < rate * 0.5
        uplink_ok = engine_ok and lag < 2 * max(acked, 1)
        verdict = "all" if uplink_ok else ("engine+journal only" if engine_ok else "no")
        print(f"  {rate:>9,} {journaled:>10,.0f} {acked:>13,.0f} {backlog:>9,} {lag:>11,}  {verdict}")
        if engine_ok:
            best_journal = max(best_journal, journaled)
        if uplink_ok:
            fig.sustained = rate
        best_uplink = max(best_uplink, acked)
    fig.journal_rate, fig.uplink_rate = best_journal, best_uplink
    started = time.perf_counter()
    await health.settle()
    print(f"  catch-up after the ladder: {time.perf_counter() - started:.1f} s")


async def latency(args: argparse.Namespace, fds: list[int], broker_url: str, fig: Figures) -> None:
    clock = AlertClock(broker_url)
    await asyncio.to_thread(clock.subscribed.wait, 10)
    running = True
    tick_s = 0.01
    per_tick = max(1, int(args.rate * tick_s))

    async def background() -> None:
        n = 0
        next_at = time.perf_counter()
        while running:
            for i, fd in enumerate(fds):
                await write_all(fd, frames_for(n * 13 + i, max(1, per_tick // len(fds))))
            n += 1
            next_at += tick_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    load = asyncio.create_task(background())
    await asyncio.sleep(1.0)
    sent_wall: list[int] = []
    zone = 0
    # First read puts the probe in z0; z0 -> z1 is allowed, z1 -> z0 breaks the flow.
    await write_all(fds[0], encode(PROBE_TAG))
    end = time.perf_counter() + args.latency_seconds
    while time.perf_counter() < end:
        await asyncio.sleep(0.02)
        zone = 1 - zone
        if zone == 0:
            sent_wall.append(time.time_ns())
        await write_all(fds[zone], encode(PROBE_TAG))
    await asyncio.sleep(1.0)
    running = False
    await load
    clock.close()
    # Each alert is matched to the last probe frame written before its gateway stamp (wall
    # clock on both sides). Under heavy load a probe's two reads, made on two readers 20 ms
    # apart, can be received in the other order; that move is then not a violation, and it
    # is counted here rather than hidden.
    import bisect
    written = sorted(sent_wall)
    samples, to_stamp, from_stamp = [], [], []
    for stamp_ms, arrived_ns in clock.stamps:
        i = bisect.bisect_right(written, stamp_ms * 1_000_000 + 999_999) - 1
        if i >= 0:
            samples.append((arrived_ns - written[i]) / 1e6)
            to_stamp.append(stamp_ms - written[i] / 1e6)
            from_stamp.append(arrived_ns / 1e6 - stamp_ms)
    if not samples:
        print(f"latency: {len(sent_wall)} probe violations sent, no alert received")
        return
    samples.sort()
    fig.p50 = statistics.median(samples)
    fig.p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"latency: background {args.rate} events/s over {len(fds)} ptys, {len(sent_wall)} probe violations written, "
          f"{len(samples)} alerts ({len(sent_wall) - len(samples)} moves received out of order across the two readers)")
    print(f"  frame written -> alert on MQTT: p50 {fig.p50:.2f} ms, p99 {fig.p99:.2f} ms, max {samples[-1]:.2f} ms")
    # Split at the gateway's stamp (ms resolution): device + driver side, then engine +
    # journal commit + MQTT publish + broker + subscriber.
    to_stamp.sort()
    from_stamp.sort()

    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * q))]
    print(f"  split at the gateway stamp (±1 ms): write->stamp p50 {pct(to_stamp, .5):.1f} p99 "
          f"{pct(to_stamp, .99):.1f} ms; stamp->MQTT p50 {pct(from_stamp, .5):.1f} p99 {pct(from_stamp, .99):.1f} ms")


async def in_process_figures(site: Path, data: Path, readers: int, fig: Figures) -> None:
    """Engine task + journal alone (no devices, no uplink), then the restart cost."""
    model = load_site_model(site)
    with tempfile.TemporaryDirectory(prefix="custody-bench-direct-") as direct:
        journal = Journal(direct)
        runner = EngineRunner(CustodyEngine(model), journal, GatewayClock(), ZoneStatus("bench", model.zone_ids))
        task = asyncio.create_task(runner.run())
        for i in range(STAFF):
            await runner.submit_desk({"type": "enroll", "person": f"s{i}", "role": "officer", "sex": "M",
                                      "tag": staff_tag(i)})
        n = 200_000
        started = time.perf_counter()
        for i in range(n):
            runner.submit_device({"type": "tag_seen", "reader": f"rdr-{i % readers}",
                                  "tag": staff_tag((i * 7) % STAFF)}, "bench")
            if i % 5000 == 0:
                await asyncio.sleep(0)
        await runner.drained()
        fig.direct_rate = n / (time.perf_counter() - started)
        runner.stop()
        await task
        journal.close()
    print(f"engine task + journal alone (in-process submissions, no drivers): {fig.direct_rate:,.0f} events/s")
    journal = Journal(data)
    runner = EngineRunner(CustodyEngine(model), journal, GatewayClock(), ZoneStatus("bench", model.zone_ids))
    runner.rebuild()
    journal.close()
    fig.replay_rate = runner.stats.replayed_events / max(runner.stats.replay_seconds, 1e-9)
    print(f"restart: rebuilt the engine from {runner.stats.replayed_events:,} journaled events in "
          f"{runner.stats.replay_seconds:.1f} s ({fig.replay_rate:,.0f} events/s)")


async def main(args: argparse.Namespace) -> Figures:
    fig = Figures()
    with tempfile.TemporaryDirectory(prefix="custody-bench-gw-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site.yaml"
        site.write_text(site_yaml(tmp, args.readers))
        data = tmp / "data"
        sims = SimulatedSite(load_devices(site))
        await sims.start()
        broker = await MosquittoBroker().start()
        server, server_url, credential = await asyncio.to_thread(start_server, tmp)
        gateway: subprocess.Popen[bytes] | None = None
        try:
            extra = ["--power-loss-safe"] if args.power_loss_safe else []
            gateway, desk_url = await asyncio.to_thread(start_gateway, tmp, site, data, server_url, credential,
                                                        broker.url, extra)
            async with httpx.AsyncClient(base_url=desk_url, timeout=30) as desk:
                token = (await desk.post("/desk/v1/login", json={"username": "bench", "password": PASSWORD})).json()
                desk.headers["Authorization"] = f"Bearer {token['token']}"
                for i in range(STAFF):
                    (await desk.post("/desk/v1/staff", json={"person": f"s{i}", "role": "officer", "sex": "M",
                                                             "tag": staff_tag(i)})).raise_for_status()
                (await desk.post("/desk/v1/checkins", json={"person": "probe", "role": "suspect", "sex": "M",
                                                            "tag": PROBE_TAG, "basis": "criminal_summons",
                                                            "case": "c-probe"})).raise_for_status()
                health = Health(desk)
                while not all(d["connected"] for d in (await health.get())["devices"].values()):
                    await asyncio.sleep(0.1)  # readers opening their ptys
                fds = [sims.ptys[f"rdr-{i}"].master for i in range(args.readers)]
                if args.ladder:
                    await throughput(args, health, fds, fig)
                await latency(args, fds, broker.url, fig)
                await health.settle()
                g = (await health.get())["gateway"]
                print(f"gateway totals: {g['events']:,} events, {g['alerts_raised']:,} alerts raised; MQTT "
                      f"{g['mqtt']['published']:,} published, {g['mqtt']['dropped_local']:,} dropped locally; "
                      f"{g['rejected_device_events']} device events refused")
            gateway.send_signal(signal.SIGTERM)
            await asyncio.to_thread(gateway.wait, 60)
            await in_process_figures(site, data, args.readers, fig)
        finally:
            if gateway is not None and gateway.poll() is None:
                gateway.kill()
                gateway.wait()
            server.terminate()
            server.wait()
            await broker.stop()
            await sims.stop()
    return fig


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="per ladder step")
    parser.add_argument("--ladder", type=lambda v: [int(x) for x in v.split(",") if x],
                        default=[5000, 10000, 20000, 30000, 50000],
                        help="offered events/s, comma-separated; empty: latency only")
    parser.add_argument("--rate", type=int, default=5000, help="background events/s during the latency probe")
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--power-loss-safe", action="store_true", help="run the gateway with synchronous=FULL")
    f = asyncio.run(main(parser.parse_args()))
    print(f"sustained_events_per_s={f.sustained} journal_events_per_s={f.journal_rate:.0f} "
          f"engine_journal_direct_events_per_s={f.direct_rate:.0f} uplink_entries_per_s={f.uplink_rate:.0f} "
          f"alert_p50_ms={f.p50:.2f} alert_p99_ms={f.p99:.2f} replay_events_per_s={f.replay_rate:.0f}")
