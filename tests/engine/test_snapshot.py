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


# ------------------------------------------------------------------ plain-data format (issue 11 item 7)

def _first_release_pickle(eng: CustodyEngine) -> bytes:
    """A snapshot as the previous format wrote it: a pickle of the state dict (format 1)."""
    import pickle
    return pickle.dumps({"format": 1, "core": eng.core.name, "site": "x", "decoder": {}, "state": {}}, protocol=5)


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_is_versioned_json_without_pickles(engine):
    import msgspec
    eng = CustodyEngine(MODEL, engine)
    eng.feed(batches()[0][0])
    doc = msgspec.json.decode(eng.snapshot())
    assert doc["format"] == "custody-engine-snapshot" and doc["version"] == 3 and doc["core"] == engine
    assert b"\x80" not in eng.snapshot()[:1]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("what, data, reason", [
    ("previous format", None, "older format"),
    ("garbage", b"\x00\x13 not json at all \xff", "not a snapshot"),
    ("empty", b"", "not a snapshot"),
    ("other document", b'{"hello": "world"}', "not an engine snapshot"),
    ("other version", b'{"format": "custody-engine-snapshot", "version": 99}', "version 99"),
])
def test_unreadable_snapshot_is_refused_never_loaded(engine, what, data, reason):
    eng = CustodyEngine(MODEL, engine)
    if data is None:
        data = _first_release_pickle(eng)
    with pytest.raises(SnapshotMismatch, match=reason):
        CustodyEngine.restore(MODEL, data, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_of_another_layout_is_refused(engine):
    import msgspec
    eng = CustodyEngine(MODEL, engine)
    eng.feed(batches()[0][0])
    doc = msgspec.json.decode(eng.snapshot())
    pairs = doc["state"]["__m"]
    doc["state"]["__m"] = [p for p in pairs if p[0] != "heap"]          # a key gone
    with pytest.raises(SnapshotMismatch, match="another layout"):
        CustodyEngine.restore(MODEL, msgspec.json.encode(doc), engine)
    doc = msgspec.json.decode(eng.snapshot())
    text = msgspec.json.encode(doc).replace(b'"__o":"Interner"', b'"__o":"Subprocess"')   # not an engine class
    with pytest.raises(SnapshotMismatch, match="unknown object 'Subprocess'"):
        CustodyEngine.restore(MODEL, text, engine)
