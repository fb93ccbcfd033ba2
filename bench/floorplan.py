"""Floor plan costs: checking a site's layout, the exact overlap test at its worst, dot placement.

    .venv/bin/python bench/floorplan.py [--repeat 20]

Prints figures; never passes or fails on time.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

# bench/server.py would shadow the `server` package: this folder is not where packages come from
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
try:  # the product as installed (a wheel, an editable install) or on PYTHONPATH
    import core_ext  # noqa: F401
except ImportError:  # a bare checkout: the packages beside this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core_ext.geometry import exact, overlap_area  # noqa: E402
from core_ext.layout import MAX_CORNERS, site_plan  # noqa: E402
from core_ext.resources import site_file  # noqa: E402
from core_ext.site import load_site  # noqa: E402
from server.web.floorplan import dot_points, positions_at  # noqa: E402


def best_of(repeat: int, fn) -> float:  # type: ignore[no-untyped-def]
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    for name in ("demo-area", "demo-property"):
        path = site_file(name)
        load = best_of(args.repeat, lambda path=path: load_site(path))
        cfg = load_site(path)
        plan_s = best_of(args.repeat, lambda cfg=cfg: site_plan(cfg))
        print(f"{name}: load_site with layout checks {load * 1000:.1f} ms, site_plan {plan_s * 1000:.1f} ms "
              f"({len(cfg.zones)} zones)")
    # two star-shaped (non-convex) outlines of MAX_CORNERS corners each, crossing: the worst a site may ask
    def star(cx: float, n: int) -> list[tuple[float, float]]:
        return [(cx + (10 if i % 2 else 6) * math.cos(2 * math.pi * i / n), (10 if i % 2 else 6) * math.sin(2 * math.pi * i / n))
                for i in range(n)]
    a, b = exact(star(0, MAX_CORNERS)), exact(star(5, MAX_CORNERS))
    worst = best_of(1, lambda: overlap_area(a, b))
    print(f"overlap_area of two {MAX_CORNERS}-corner stars that cross: {worst:.2f} s (area {float(overlap_area(a, b)):.1f} m²)")
    zone = next(z for z in site_plan(load_site(site_file("demo-area")))["zones"] if z["id"] == "int1")
    for n in (1, 10, 40):
        print(f"dot_points(int1, {n}): {best_of(args.repeat, lambda n=n: dot_points(zone, n)) * 1000:.2f} ms")
    trail = {"person": "s", "checkin_ts": 0, "checkout_ts": None,
             "stays": [{"zone": "int1", "enter_ts": i * 1000, "leave_ts": (i + 1) * 1000, "officers": ["o1", "o2"]}
                       for i in range(400)]}
    print(f"positions_at over 400 stays: {best_of(args.repeat, lambda: positions_at(trail, 399_500)) * 1e6:.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
