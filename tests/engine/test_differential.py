"""Compiled core vs reference twin: byte-identical JSON Lines on generated days with every
violation injected (DESIGN rules), including one log of more than 100 k events."""
from __future__ import annotations

import msgspec
import pytest

from core_ext import vocab
from core_ext.api import CustodyEngine
from core_ext.site import load_site_model
from gateway.scenario import generate
from tests.engine.conftest import ENGINES

pytestmark = pytest.mark.skipif("compiled" not in ENGINES, reason="compiled core not built (CI requires it: see test_compiled_core_loaded_in_ci)")


PROPERTY_RULES = {"locker_unauthorized_open", "item_mismatch", "item_overdue", "slot_left_open", "door_forced",
                  "door_held_open"}


def jsonl(model, scenario, engine):
    eng = CustodyEngine(model, engine)
    out = []
    for batch in scenario.event_batches():
        out += eng.feed(batch)
    out += eng.finish(scenario.last_ts)
    return b"\n".join(msgspec.json.encode(r) for r in out)


@pytest.mark.parametrize("site", ["demo-area", "demo-property"])
def test_every_violation_injected_is_identical(site):
    model = load_site_model(f"firmware_configs/sites/{site}.yaml")
    rules = set(vocab.FIRST_LAYER_RULES) if site == "demo-area" else PROPERTY_RULES
    scenario = generate(model, subjects=30, seed=5, inject=rules)
    ref = jsonl(model, scenario, "reference")
    comp = jsonl(model, scenario, "compiled")
    events = sum(len(b) for b in scenario.event_batches())
    assert events > 100_000
    assert comp == ref
    raised = {r["rule"] for r in map(msgspec.json.decode, ref.split(b"\n")) if r["kind"] == "alert"}
    expected = {e.rule for e in scenario.expected}
    assert expected <= raised


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_days_are_identical(seed):
    model = load_site_model("firmware_configs/sites/demo-area.yaml")
    scenario = generate(model, subjects=12, seed=seed, hours=12)
    assert jsonl(model, scenario, "compiled") == jsonl(model, scenario, "reference")
