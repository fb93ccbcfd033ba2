"""What the consoles' view (gateway/desk/view.py) costs on the journal commit path.

    python bench/desk_view.py [--reads 200000]

ZoneStatus.apply runs on every journal write; with the desk consoles it also feeds the DeskView.
Applies a synthetic stream (tag reads, one zone change per 20 reads, as on the demo site) with and
without the view and prints the best of five runs. Prints figures; never passes or fails on time.
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

from core_ext.resources import sites_dir
from core_ext.site import load_site
from gateway.desk.view import DeskView, SiteFacts
from gateway.zone_status import ZoneStatus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200_000)
    args = parser.parse_args()
    cfg = load_site(str(sites_dir() / "demo-area.yaml"))
    zones = [z.id for z in cfg.zones]
    records: list[dict] = []
    for i in range(args.reads):
        records.append({"ts": i, "type": "tag_seen", "reader": "rdr-int1", "tag": f"T{i % 50}"})
        if i % 20 == 0:
            records.append(
                {"kind": "location", "ts": i, "person": f"p{i % 50}", "zone": zones[i % len(zones)], "prev": None}
            )
    for label, with_view in (("zone status alone", False), ("zone status + desk view", True)):
        best = float("inf")
        for _ in range(5):
            status = ZoneStatus("bench", zones, DeskView(SiteFacts.of(cfg)) if with_view else None)
            started = time.perf_counter()
            status.apply(records)
            best = min(best, time.perf_counter() - started)
        print(
            f"{label:24} {len(records)} records in {best * 1000:7.1f} ms  ({best / len(records) * 1e9:4.0f} ns/record)"
        )


if __name__ == "__main__":
    main()
