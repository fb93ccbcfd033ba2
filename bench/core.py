"""Engine benchmark: the compiled core against its pure-Python twin on one realistic workload.

    .venv/bin/python bench/core.py [--scale 3] [--subjects 900] [--hours 72] [--min-events 5000000]

Workload: the demo handling area scaled (every station zone repeated; default x3 gives 35
zones and 38 readers), three generated days with every subject escorted by officers, tag reads every
1-2 s for everyone present, camera blips, belongings lockers, doors. Both engines run in this
process on the same pre-decoded records (the compiled core on pre-packed batches). Prints the
split between JSON decoding, interning/validation, packing and the engine, memory per tracked
person, `custody replay` end to end, and as its LAST line:

    compiled_events_per_s=<n> reference_events_per_s=<n> ratio=<r>

Times are CPU time of this process (time.process_time), so other load on the machine inflates
them less than wall time would. Figures only: it never fails on a time.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import tempfile
import time
import tracemalloc

# This folder holds gateway.py and server.py: off the path, or they shadow the packages.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != os.path.dirname(os.path.abspath(__file__))]
try:  # the product as installed (a wheel, an editable install) or on PYTHONPATH
    import core_ext  # noqa: F401
except ImportError:  # a bare checkout: the packages beside this folder
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import msgspec  # noqa: E402

from core_ext.events import EventDecoder  # noqa: E402
from core_ext.reference import ReferenceEngine  # noqa: E402
from core_ext.resources import site_file  # noqa: E402
from core_ext.select import COMPILED_ERROR, CompiledEngine  # noqa: E402
from core_ext.site import compile_site, load_site  # noqa: E402
from gateway.scenario import generate  # noqa: E402
from gateway.scenario.route import scale_site  # noqa: E402

BATCH = 65_536
# CPU time of this process, not wall time: the machine is shared (2 cores, often other jobs), and
# time spent descheduled says nothing about the engine. Everything measured here is single-threaded.
clock = time.process_time


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "inf"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=3)
    ap.add_argument("--subjects", type=int, default=900)
    ap.add_argument("--hours", type=float, default=72)
    ap.add_argument("--min-events", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    if CompiledEngine is None:
        print(f"compiled core not built: {COMPILED_ERROR}", file=sys.stderr)
        return 2

    cfg = scale_site(load_site(site_file("demo-area")), args.scale)
    site = compile_site(cfg)
    t0 = clock()
    sc = generate(cfg, subjects=args.subjects, seed=args.seed, hours=args.hours)
    first_people = len(sc.people)
    lines: list[bytes] = []
    for chunk in sc.jsonl_chunks():
        lines.extend(chunk.splitlines())
    gen_s = clock() - t0
    n = len(lines)
    print(
        f"workload: site x{args.scale} ({len(site.zone_ids)} zones, {len(site.reader_ids)} readers, "
        f"{len(site.camera_ids)} cameras, {site.slot_count} slots), {first_people} people, "
        f"{n:,} events; generated in {gen_s:.1f} s"
    )
    if n < args.min_events:
        print(f"note: the generated day has fewer than {args.min_events:,} events; raise --subjects or --hours")

    gc.disable()  # millions of short-lived dicts: the cyclic GC only adds pauses here
    t0 = clock()
    events = [msgspec.json.decode(line) for line in lines]
    json_s = clock() - t0

    decoder = EventDecoder(site)
    t0 = clock()
    records = decoder.decode_batch(events)
    intern_s = clock() - t0
    del events

    from core_ext._engine import pack_records

    t0 = clock()
    packed = [pack_records(records[i : i + BATCH]) for i in range(0, len(records), BATCH)]
    pack_s = clock() - t0
    gc.enable()
    gc.collect()
    # The millions of input tuples held by this benchmark are not engine state: freeze them out of
    # the cyclic collector's reach, or every full collection triggered by the engines' own few
    # allocations would walk them (100+ ms pauses that a gateway, which holds no such list, never sees).
    gc.freeze()

    # Warm-up pass (first touch of the packed pages, lazy allocations), then the measured one on
    # a fresh engine, then a third pass under tracemalloc for the memory figure only.
    warm = CompiledEngine(site)
    for batch in packed:
        warm.feed_packed(*batch)
    del warm
    compiled = CompiledEngine(site)
    t0 = clock()
    out_c = []
    for batch in packed:
        out_c += compiled.feed_packed(*batch)
    compiled_s = clock() - t0
    out_c += compiled.finish(decoder.last_ts)
    tracemalloc.start()
    probe = CompiledEngine(site)
    base = tracemalloc.get_traced_memory()[0]
    for batch in packed:
        probe.feed_packed(*batch)
    py_state = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del probe

    warm_r = ReferenceEngine(site)
    for i in range(0, min(len(records), 4 * BATCH), BATCH):
        warm_r.feed(records[i : i + BATCH])
    del warm_r
    reference = ReferenceEngine(site)
    t0 = clock()
    out_r = []
    for i in range(0, len(records), BATCH):
        out_r += reference.feed(records[i : i + BATCH])
    reference_s = clock() - t0
    out_r += reference.finish(decoder.last_ts)
    same = out_c == out_r

    persons = len(decoder.persons)
    # C structs (PersonState + CondState) plus what the Python side of the compiled engine holds
    # (stays, alerts and trail history of subjects, zone sets), per interned person.
    from core_ext._engine import PERSON_C_BYTES

    c_bytes = PERSON_C_BYTES
    per_person = c_bytes + py_state / max(persons, 1)

    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
        fh.write(b"\n".join(lines) + b"\n")
        log_path = fh.name
    site_path = log_path + ".yaml"
    with open(site_path, "w", encoding="utf-8") as fh:
        import yaml

        fh.write(yaml.safe_dump(cfg.model_dump(exclude={"extras", "source"}, mode="json"), sort_keys=False))
    from gateway.commands.replay import replay

    sink = io.BytesIO()
    t0 = clock()
    with open(log_path, "rb") as fh:
        replay(site_path, fh, log_path, sink, None, "compiled")
    replay_s = clock() - t0
    os.unlink(log_path)
    os.unlink(site_path)

    outputs = len(out_c)
    print(f"outputs: {outputs:,} state changes (alerts, moves, trails); compiled == reference: {same}")
    print(
        f"compiled hot path: {n - compiled.slow_events:,} events stayed in C, {compiled.slow_events:,} "
        f"({compiled.slow_events / n:.2%}) took the Python-object slow path (moves, conditions, custody, property)"
    )
    print(
        f"split per event stage: json decode {rate(n, json_s)}, intern+validate {rate(n, intern_s)}, "
        f"pack {rate(len(records), pack_s)}, compiled engine {rate(len(records), compiled_s)}, "
        f"reference engine {rate(len(records), reference_s)}"
    )
    total = json_s + intern_s + pack_s + compiled_s
    print(
        f"share of the compiled pipeline: json {json_s / total:.0%}, intern {intern_s / total:.0%}, "
        f"pack {pack_s / total:.0%}, engine {compiled_s / total:.0%}"
    )
    print(
        f"memory per tracked person: ~{per_person:,.0f} B ({persons} persons; {c_bytes} B C state + "
        f"{py_state / max(persons, 1):,.0f} B Python-side history)"
    )
    print(f"custody replay end to end (read, parse, intern, engine, write): {rate(n, replay_s)} ({replay_s:.2f} s)")
    ce = len(records) / compiled_s
    re_ = len(records) / reference_s
    print(f"compiled_events_per_s={ce:.0f} reference_events_per_s={re_:.0f} ratio={ce / re_:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
