"""Driver benchmarks: frames per second each decoder sustains, and the time of one Modbus poll
cycle of 8 lock boards x 16 slots over loopback. Prints figures; never passes or fails on time.

    .venv/bin/python bench/drivers.py [--seconds 1.0] [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This folder holds gateway.py and server.py: off the path, or they shadow the packages.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]
try:  # the product as installed (a wheel, an editable install) or on PYTHONPATH
    import drivers  # noqa: F401
except ImportError:  # a bare checkout: the packages beside this folder
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.codecs import chafon, em4100, kerong  # noqa: E402
from drivers.codecs.ascii_line import LineDecoder  # noqa: E402
from drivers.config import load_devices  # noqa: E402
from drivers.sim.player import SimulatedSite  # noqa: E402

ACTIVE = r"^\$ (?P<reader>[0-9A-Za-z]+) (?P<group>[0-9A-Za-z]+) (?P<tag>[0-9A-Fa-f]{4,24}) (?P<status>[0-9A-Za-z]+) (?P<rssi>-?[0-9]{1,3})$"


def decoder_rate(name: str, make, chunk: bytes, frames_per_chunk: int, seconds: float) -> None:
    decoder = make()
    frames = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            out = decoder.feed(chunk)
            frames += len(out)
    elapsed = time.perf_counter() - start
    assert frames % frames_per_chunk == 0
    mb = frames / frames_per_chunk * len(chunk) / elapsed / 1e6
    print(f"{name:<34} {frames / elapsed:>12,.0f} frames/s  ({mb:5.1f} MB/s)")


def bench_decoders(seconds: float) -> None:
    print("decoder throughput (one core, 32 frames per feed, pure Python)")
    em = em4100.encode("0A00123456") * 32
    decoder_rate("EM4100 / RDM6300", em4100.Decoder, em, 32, seconds)
    inv = chafon.encode_response(0, 1, 1, chafon.encode_inventory_data([bytes(12)] * 4)) * 32
    decoder_rate("Chafon frame + CRC (4 EPC each)", chafon.FrameDecoder, inv, 32, seconds)

    class ChafonFull:
        def __init__(self) -> None:
            self.d = chafon.FrameDecoder()

        def feed(self, data: bytes) -> list:
            return [chafon.decode_inventory(r) for r in self.d.feed(data)]

    decoder_rate("Chafon frame + CRC + EPC list", ChafonFull, inv, 32, seconds)
    kr = kerong.encode(0x00, 0x35, bytes([0xFF, 0xFF, 0, 0])) * 32
    decoder_rate("Kerong KR-CU status", lambda: kerong.Decoder({0x35: 4}), kr, 32, seconds)
    line = b"$ A7 01 00AB12 00 -61\r\n" * 32
    decoder_rate("active reader ASCII line (regex)", lambda: LineDecoder(ACTIVE), line, 32, seconds)


# poll_interval_s is long so the drivers' own polling stays out of the timed cycles.
BOARDS = "devices:\n" + "".join(
    f'  - {{id: board-{n}, profile: generic-lockboard-16, url: "URL", unit: {n}, bank: bank-{n}, '
    f"poll_interval_s: 3600}}\n"
    for n in range(1, 9)
)


async def bench_modbus(cycles: int) -> None:
    for label, url in (
        ("Modbus TCP, 8 units on one connection", "tcp://127.0.0.1:0"),
        ("Modbus RTU framing over TCP (socket://)", None),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            if url is None:
                from drivers.sim.broker import free_loopback_port

                url = f"socket://127.0.0.1:{free_loopback_port()}"
                text = BOARDS.replace("unit:", "framer: rtu, unit:").replace("URL", url)
            else:
                text = BOARDS.replace("URL", url)
            path = Path(tmp) / "site.yaml"
            path.write_text(text)
            site = SimulatedSite(load_devices(path))
            specs = await site.start()
            drivers = [spec.create(lambda event: None) for spec in specs]
            try:
                for d in drivers:
                    d.start()
                for d in drivers:
                    await d.wait_frames(1, 10)  # connected and polled once; next poll in an hour
                timings = []
                for _ in range(cycles):
                    start = time.perf_counter()
                    # One cycle: every board reads its slot doors and item registers.
                    await asyncio.gather(*(d.poll_once() for d in drivers))
                    timings.append(time.perf_counter() - start)
                requests = sum(len(d.plan.requests) for d in drivers)
                timings.sort()
                print(
                    f"{label}: one poll cycle of 8 boards x 16 slots ({requests} requests): "
                    f"median {statistics.median(timings) * 1e3:.2f} ms, "
                    f"p95 {timings[int(len(timings) * 0.95)] * 1e3:.2f} ms, "
                    f"max {timings[-1] * 1e3:.2f} ms over {cycles} cycles"
                )
            finally:
                for d in drivers:
                    await d.close()
                await site.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per decoder")
    parser.add_argument("--cycles", type=int, default=200, help="Modbus poll cycles to time")
    args = parser.parse_args()
    bench_decoders(args.seconds)
    asyncio.run(bench_modbus(args.cycles))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
