"""Scenario generator throughput: plan time, events/s as dicts and as JSON Lines.

    .venv/bin/python bench/scenario.py [--site S] [--scale 3] [--subjects 250] [--hours 96]

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# This folder holds gateway.py and server.py: off the path, or they shadow the packages.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]
try:  # the product as installed (a wheel, an editable install) or on PYTHONPATH
    import core_ext  # noqa: F401
except ImportError:  # a bare checkout: the packages beside this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core_ext.resources import site_argument  # noqa: E402
from core_ext.site import load_site  # noqa: E402
from gateway.scenario import generate  # noqa: E402
from gateway.scenario.route import scale_site  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", default="demo-area", type=site_argument, help="a site file or a packaged site's name")
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--subjects", type=int, default=250)
    ap.add_argument("--hours", type=float, default=96)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    cfg = load_site(args.site)
    if args.scale != 1:
        cfg = scale_site(cfg, args.scale)
    t0 = time.perf_counter()
    sc = generate(cfg, subjects=args.subjects, seed=args.seed, hours=args.hours)
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for _ in sc.events())
    dict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    size = sum(len(chunk) for chunk in sc.jsonl_chunks())
    jsonl_s = time.perf_counter() - t0
    print(
        f"site {cfg.site.id} x{args.scale}: {len(cfg.zones)} zones, {len(cfg.readers)} readers; "
        f"{args.subjects} subjects over {args.hours:g} h; {len(sc.people)} people"
    )
    print(f"plan:        {plan_s:8.2f} s")
    print(f"dicts:       {dict_s:8.2f} s  {n:,} events  {n / dict_s:,.0f} events/s")
    print(
        f"JSON Lines:  {jsonl_s:8.2f} s  {size / 1e6:,.0f} MB  {n / jsonl_s:,.0f} events/s  "
        f"{size / 1e6 / jsonl_s:,.0f} MB/s"
    )
    print(f"load average: {os.getloadavg()[0]:.1f} (other jobs on this machine slow the figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
