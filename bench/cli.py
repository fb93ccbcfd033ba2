"""Start-up of the `custody` command: `custody --help`, `custody replay --help` and a replay of a
ten-line log, each run as its own process N times (issue 18.6: imports happen per subcommand).

    .venv/bin/python bench/cli.py [--runs 10]

Prints the median and spread of wall time and of CPU time (user + system of the child, from the
operating system's accounting). Figures only: it never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# This folder holds gateway.py and server.py: off the path, or they shadow the packages.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]
try:  # the product as installed (a wheel, an editable install) or on PYTHONPATH
    import core_ext  # noqa: F401
except ImportError:  # a bare checkout: the packages beside this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core_ext.resources import site_file  # noqa: E402
from core_ext.site import load_site  # noqa: E402
from gateway.scenario import generate  # noqa: E402


def measure(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs + 1):  # the first run warms the file cache and is not counted
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(wall)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls[1:], cpus[1:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    events = list(generate(load_site(site_file("demo-area")), subjects=2, seed=1, hours=1).events())[:10]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        fh.write("".join(json.dumps(e) + "\n" for e in events))
    custody = [sys.executable, "-m", "gateway.commands.cli"]
    cases = {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "custody --help": [*custody, "--help"],
        "custody replay --help": [*custody, "replay", "--help"],
        "custody replay (10 lines)": [*custody, "replay", "--site", "demo-area", fh.name],
    }
    try:
        for name, argv in cases.items():
            walls, cpus = measure(argv, args.runs)
            print(
                f"{name:28s} wall median {statistics.median(walls) * 1000:6.0f} ms "
                f"(min {min(walls) * 1000:.0f}, max {max(walls) * 1000:.0f}); "
                f"cpu median {statistics.median(cpus) * 1000:6.0f} ms ({args.runs} runs)"
            )
    finally:
        os.unlink(fh.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
