"""The consoles' view, fed exactly what the engine task journals (events, then the engine's outputs):
the ledger moves at each slot close, coverage for unlock, one-shot slot alerts until the next
authorised opening, the people in the area with their flags and companions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gw_sites import NO_DEVICES_SITE, write_site

from core_ext.api import CustodyEngine
from core_ext.site import compile_site, load_site
from gateway.desk.view import DeskView, SiteFacts
from gateway.zone_status import ZoneStatus

T0 = 1_800_000_000_000


class Fed:
    def __init__(self, site: Path, engine: str) -> None:
        cfg = load_site(str(site))
        self.engine = CustodyEngine(compile_site(cfg), engine)
        self.status = ZoneStatus("t", [z.id for z in cfg.zones], DeskView(SiteFacts.of(cfg)))
        self.view = self.status.view
        assert self.view is not None

    def __call__(self, ts: int, **event: Any) -> list[dict[str, Any]]:
        event["ts"] = T0 + ts
        outputs = self.engine.feed([event])
        self.status.apply([event, *outputs])
        return outputs


@pytest.fixture(params=["reference", "compiled"])
def fed(tmp_path: Path, request: pytest.FixtureRequest) -> Fed:
    return Fed(write_site(tmp_path, NO_DEVICES_SITE), request.param)


def slot(fed: Fed, n: int) -> dict[str, Any]:
    return fed.view.ledger(T0)["banks"][0]["slots"][n - 1]


def test_ledger_follows_intake_withdrawal_and_return(fed):
    fed(0, type="intake", item="EV-1", case="c1", bank="bank-a", slot=1, owner="p1")
    assert fed.view.coverage("bank-a", 1, T0 + 1000) == {"by": "intake", "until_ts": T0 + 300_000}
    assert fed.view.coverage("bank-a", 1, T0 + 300_001) is None
    fed(1000, type="locker", bank="bank-a", slot=1, state="open")
    assert slot(fed, 1)["status"] == "open"
    fed(2000, type="locker", bank="bank-a", slot=1, state="closed", items=["EV-1"])
    assert slot(fed, 1)["status"] == "occupied" and slot(fed, 1)["sensed"] == ["EV-1"]
    fed(
        400_000,
        type="workorder",
        id="wo-1",
        item="EV-1",
        action="withdraw",
        bank="bank-a",
        slot=1,
        valid_from=T0 + 400_000,
        valid_until=T0 + 900_000,
        due_ts=T0 + 3_600_000,
        requested_by="k1",
        approved_by="k2",
    )
    assert fed.view.coverage("bank-a", 1, T0 + 500_000) == {
        "by": "workorder",
        "workorder": "wo-1",
        "until_ts": T0 + 900_000,
    }
    fed(500_000, type="locker", bank="bank-a", slot=1, state="open")
    fed(501_000, type="locker", bank="bank-a", slot=1, state="closed", items=[])
    ledger = fed.view.ledger(T0 + 502_000)
    assert ledger["banks"][0]["slots"][0]["status"] == "empty"
    assert [(i["item"], i["due_ts"]) for i in ledger["out"]] == [("EV-1", T0 + 3_600_000)]
    fed(
        4_000_000,
        type="workorder",
        id="wo-2",
        item="EV-1",
        action="return",
        bank="bank-a",
        slot=1,
        valid_from=T0 + 4_000_000,
        valid_until=T0 + 4_600_000,
    )
    fed(4_100_000, type="locker", bank="bank-a", slot=1, state="open")
    fed(4_101_000, type="locker", bank="bank-a", slot=1, state="closed", items=["EV-1"])
    ledger = fed.view.ledger(T0 + 4_102_000)
    assert ledger["out"] == [] and ledger["overdue"] == []
    assert [i["item"] for i in ledger["banks"][0]["slots"][0]["items"]] == ["EV-1"]
    assert [h["event"] for h in ledger["banks"][0]["slots"][0]["history"]][-3:] == ["workorder", "open", "closed"]


def test_one_shot_slot_alert_shows_until_the_next_authorised_opening(fed):
    fed(0, type="locker", bank="bank-a", slot=2, state="open")  # nothing covers it
    assert slot(fed, 2)["status"] == "alert"
    fed(1000, type="locker", bank="bank-a", slot=2, state="closed", items=[])
    assert slot(fed, 2)["status"] == "alert"
    fed(2000, type="intake", item="EV-2", case="c1", bank="bank-a", slot=2)
    fed(3000, type="unlock", bank="bank-a", slot=2, by="k1")
    assert slot(fed, 2)["status"] == "occupied"
    assert [h["event"] for h in slot(fed, 2)["history"]] == ["open", "alert", "closed", "intake", "unlock"]


def test_people_in_the_area(fed):
    fed(0, type="enroll", person="o1", role="officer", sex="F", tag="O1")
    fed(
        0,
        type="checkin",
        person="p1",
        role="suspect",
        sex="F",
        tag="P1",
        basis="continued_questioning",
        case="c1",
        age=15,
        guardian="g1",
        name="王五",
    )
    fed(0, type="enroll", person="g1", role="guardian", sex="M", tag="G1", **{"for": "p1"})
    for tag in ("P1", "O1", "G1"):
        fed(1000, type="tag_seen", reader="rdr-int1", tag=tag)
    [p1] = fed.view.persons()
    assert p1["zone"] == "int1" and p1["name"] == "王五"
    assert {c["person"]: c["role"] for c in p1["companions"]} == {"o1": "officer", "g1": "guardian"}
    assert p1["flags"] == {"minor": True, "vulnerable": True, "guardian_present": True, "out": False, "decided": False}
    assert p1["deadline_ts"] == T0 + 4 * 3_600_000  # vulnerable: 4 h (继续盘问规定 art. 10)
    fed(2000, type="leave", person="p1", reason="medical", until_ts=T0 + 3_600_000, approved_by="chief")
    [p1] = fed.view.persons()
    assert p1["zone"] is None and p1["flags"]["out"] and not p1["flags"]["guardian_present"]
    fed(3000, type="return", person="p1")
    fed(4000, type="welfare", person="p1", kind="meal")
    fed(5000, type="decision", person="p1", kind="criminal_detention")
    [p1] = fed.view.persons()
    assert p1["last_meal_ts"] == T0 + 4000 and p1["exits"][0]["return_ts"] == T0 + 3000
    assert p1["decision"] == {
        "kind": "criminal_detention",
        "ts": T0 + 5000,
        "transfer_by_ts": T0 + 5000 + 24 * 3_600_000,
    }
    fed(6000, type="checkout", person="p1", outcome="criminal_detention")
    assert fed.view.persons() == []
