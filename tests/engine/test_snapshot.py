"""Engine snapshots: resuming from one gives exactly what an uninterrupted run gives."""
from __future__ import annotations

import pytest

from core_ext import vocab
from core_ext.api import CustodyEngine, SnapshotMismatch
from core_ext.site import compile_site, load_site
from gateway.scenario import generate
from tests.engine.conftest import ENGINES, small_site

SITE = load_site("firmware_configs/sites/demo-area.yaml")
MODEL = compile_site(SITE)


def batches():
    scenario = generate(MODEL, subjects=14, seed=9, hours=10, inject=set(vocab.FIRST_LAYER_RULES))
    return list(scenario.event_batches()), scenario.last_ts


@pytest.mark.parametrize("engine", ENGINES)
def test_resume_from_snapshot_equals_uninterrupted(engine):
    chunks, last_ts = batches()
    whole = CustodyEngine(MODEL, engine)
    expected = [r for b in chunks for r in whole.feed(b)] + whole.finish(last_ts)

    first = CustodyEngine(MODEL, engine)
    got = []
    cut = len(chunks) // 2
    for b in chunks[:cut]:
        got += first.feed(b)
    got += first.tick(chunks[cut][0]["ts"] - 1)   # a tick before the snapshot, as a gateway does
    data = first.snapshot()
    resumed = CustodyEngine.restore(MODEL, data, engine)
    for b in chunks[cut:]:
        got += resumed.feed(b)
    got += resumed.finish(last_ts)
    assert got == expected
    assert any(r["kind"] == "alert" for r in got[len(got) // 2:])   # the second half still raises alerts


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_refused_under_another_site_or_core(engine):
    eng = CustodyEngine(MODEL, engine)
    eng.feed(batches()[0][0])
    data = eng.snapshot()
    with pytest.raises(SnapshotMismatch, match="different site config"):
        CustodyEngine.restore(small_site(), data, engine)
    other = "reference" if engine == "compiled" else "compiled"
    if other in ENGINES:
        with pytest.raises(SnapshotMismatch, match="core"):
            CustodyEngine.restore(MODEL, data, other)
