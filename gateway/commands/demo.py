"""`custody demo`: a complete live handling area and property room on loopback.

    custody demo [--speed FACTOR] [--duration SECONDS] [--no-browser] [--report FILE] [--broker URL]
    custody demo --offline        # no processes: a generated day through the engine, summarised

The live demo is in gateway/demo/live.py; the offline summary in gateway/demo/summary.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--speed",
        type=float,
        default=30.0,
        metavar="FACTOR",
        help="how many times faster than real time the day plays (default 30: 90 min in 3 min); "
        "every rule threshold is divided by it",
    )
    parser.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="stop after this many seconds (default: when the day has been played)",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open the board in a browser")
    parser.add_argument("--report", type=Path, metavar="FILE", help="write a JSON summary here at the end")
    parser.add_argument(
        "--broker", metavar="URL", help="use this MQTT broker (mqtt://HOST:PORT) instead of starting one"
    )
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (same seed, same day)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the working directory (site files, journals, logs, database) at the end",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="no live system: replay a generated day through the engine and summarise it",
    )
    parser.add_argument("--subjects", type=int, default=24, help="--offline only: subjects (and cases) in the day")


def run(args: argparse.Namespace) -> int:
    if args.offline:
        from gateway.demo.summary import run_offline

        return run_offline(args.subjects, args.seed)
    if not 1 <= args.speed <= 600:
        print(f"custody demo: --speed must be between 1 and 600, got {args.speed:g}", file=sys.stderr)
        return 2
    if args.duration is not None and args.duration <= 0:
        print(f"custody demo: --duration must be positive, got {args.duration:g}", file=sys.stderr)
        return 2
    if args.broker is not None and not args.broker.startswith("mqtt://"):
        print(f"custody demo: --broker must be mqtt://HOST:PORT, got {args.broker!r}", file=sys.stderr)
        return 2
    from gateway.demo.live import DemoOptions, run_live

    opts = DemoOptions(
        speed=args.speed,
        duration_s=args.duration,
        open_browser=not args.no_browser,
        report=args.report,
        broker_url=args.broker,
        seed=args.seed,
        keep=args.keep,
    )
    return asyncio.run(run_live(opts))
