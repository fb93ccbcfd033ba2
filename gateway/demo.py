"""`custody demo`: the main job on embedded defaults.

Today this replays a generated day on both demo sites through the engine and prints what it
caught (`--offline`); the live system (simulated devices, gateways, server, board) plugs in
here as it lands.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subjects", type=int, default=24, help="subjects (and property cases) in the day")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (same seed, same day)")
    parser.add_argument("--offline", action="store_true", help="replay a generated day and summarise it")


def run(args: argparse.Namespace) -> int:
    from gateway.demo_summary import run_offline

    return run_offline(args.subjects, args.seed)
