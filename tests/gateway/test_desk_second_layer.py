"""The desk API's second layer (DESIGN §6.2 "Second layer", §6.5) on a real gateway process:
guardians, temporary exits and returns, decisions, welfare, seizures, the new check-in, check-out,
intake and work-order fields, work orders approved by a second person, opening a slot; refusals
as 4xx naming the field, citing the rule's source, in the caller's language, journaling nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gw_helpers import STAFF_PASSWORD, Desk, add_staff
from gw_processes import GatewayProcess
from gw_sites import CONSOLE_SITE, NO_DEVICES_SITE, write_site

from gateway.desk.staff import StaffStore

pytestmark = pytest.mark.timeout(120)

CHECKIN = {"person": "p1", "role": "suspect", "sex": "M", "tag": "T1", "basis": "criminal_summons", "case": "c1"}
EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("desk2")
    data = tmp / "data"
    add_staff(data)
    StaffStore(data).add("keeper2", STAFF_PASSWORD, "custodian")
    gw = GatewayProcess(write_site(tmp, NO_DEVICES_SITE), data, extra=["--health-interval", "3600"]).start()
    yield gw
    assert gw.stop() == 0


def last_seq(desk: Desk) -> int:
    return desk.health()["gateway"]["journal"]["last_seq"]


def refused(desk: Desk, path: str, body: dict | None, status: int, field: str, *, headers: dict | None = None) -> str:
    """Posts, expects the refusal naming `field`, checks nothing was journaled; returns the message."""
    before = last_seq(desk)
    response = desk.client.post(path, json=body, headers=headers or {})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"][-1] == field, response.text
    assert last_seq(desk) == before
    return detail[0]["msg"]


def test_person_second_layer(gateway):
    desk = Desk(gateway.desk_url)
    checked_in = desk.ok(
        "/desk/v1/checkins", {**CHECKIN, "age": 15, "guardian": "g1", "name": "王五", "id_card": "110101201101011234"}
    )
    assert checked_in["event"]["age"] == 15 and checked_in["event"]["guardian"] == "g1"
    guardian = desk.ok("/desk/v1/guardians", {"person": "g1", "sex": "F", "tag": "G1", "for": "p1"})
    assert guardian["event"] == {**guardian["event"], "type": "enroll", "role": "guardian", "for": "p1"}
    assert "不能担任本人的监护人" in refused(
        desk, "/desk/v1/guardians", {"person": "g2", "sex": "F", "tag": "G2", "for": "g2"}, 422, "for"
    )

    # Temporary exit: reason from the vocabulary, return time in the future, back before leaving again.
    ts = checked_in["ts"]
    assert "须晚于现在" in refused(
        desk,
        "/desk/v1/leaves",
        {"person": "p1", "reason": "medical", "until_ts": ts - 1, "approved_by": "chief"},
        422,
        "until_ts",
    )
    refused(
        desk,
        "/desk/v1/leaves",
        {"person": "p1", "reason": "shopping", "until_ts": ts + 3_600_000, "approved_by": "chief"},
        422,
        "reason",
    )
    message = refused(desk, "/desk/v1/returns", {"person": "p1"}, 422, "person")
    assert "办案区使用管理规定" in message
    assert "Rules on the Use of Handling Areas art. 4-5" in refused(
        desk, "/desk/v1/returns", {"person": "p1"}, 422, "person", headers=EN
    )
    out = desk.ok(
        "/desk/v1/leaves",
        {"person": "p1", "reason": "identify_scene", "until_ts": ts + 3_600_000, "approved_by": "chief"},
    )
    assert out["event"]["type"] == "leave"
    refused(
        desk,
        "/desk/v1/leaves",
        {"person": "p1", "reason": "medical", "until_ts": ts + 3_600_000, "approved_by": "chief"},
        422,
        "person",
    )
    persons = desk.client.get("/desk/v1/persons").json()["persons"]
    [p1] = [p for p in persons if p["person"] == "p1"]
    assert p1["flags"] == {**p1["flags"], "minor": True, "out": True}
    assert p1["out"]["until_ts"] == ts + 3_600_000
    desk.ok("/desk/v1/returns", {"person": "p1"})

    meal = desk.ok("/desk/v1/welfare", {"person": "p1", "kind": "meal"})
    assert meal["event"] == {**meal["event"], "type": "welfare", "kind": "meal"}
    refused(desk, "/desk/v1/welfare", {"person": "p1", "kind": "nap"}, 422, "kind")
    decided = desk.ok("/desk/v1/decisions", {"person": "p1", "kind": "criminal_detention"})
    assert decided["event"]["type"] == "decision"
    [p1] = [p for p in desk.client.get("/desk/v1/persons").json()["persons"] if p["person"] == "p1"]
    assert p1["last_meal_ts"] == meal["ts"] and p1["decision"]["kind"] == "criminal_detention"
    assert [x["reason"] for x in p1["exits"]] == ["identify_scene"]

    # Check-out: belongings kept need a reason (art. 32); outcome from the vocabulary.
    assert "第32条" in refused(
        desk, "/desk/v1/checkouts", {"person": "p1", "belongings": "kept"}, 422, "belongings_reason"
    )
    refused(desk, "/desk/v1/checkouts", {"person": "p1", "outcome": "vanished"}, 422, "outcome")
    done = desk.ok(
        "/desk/v1/checkouts",
        {
            "person": "p1",
            "outcome": "criminal_detention",
            "released_to": "看守所",
            "belongings": "kept",
            "belongings_reason": "证据",
        },
    )
    assert done["event"]["outcome"] == "criminal_detention"
    refused(desk, "/desk/v1/welfare", {"person": "p1", "kind": "water"}, 409, "person")  # checked out
    refused(desk, "/desk/v1/decisions", {"person": "nobody", "kind": "arrest"}, 404, "person")


def test_vulnerable_subject_gets_no_extension(gateway):
    desk = Desk(gateway.desk_url)
    pregnant = {**CHECKIN, "person": "p5", "tag": "T5", "sex": "F", "basis": "continued_questioning", "pregnant": True}
    message = refused(desk, "/desk/v1/checkins", {**pregnant, "extended": True}, 422, "extended")
    assert "第10条" in message
    desk.ok("/desk/v1/checkins", pregnant)
    assert "art. 10" in refused(desk, "/desk/v1/extensions", {"person": "p5"}, 422, "person", headers=EN)
    # Continued questioning climbs 12 -> 24 -> 48 one tier at a time (art. 11, 17).
    desk.ok("/desk/v1/checkins", {**CHECKIN, "person": "p6", "tag": "T6", "basis": "continued_questioning", "age": 40})
    assert "逐级" in refused(desk, "/desk/v1/extensions", {"person": "p6", "limit_h": 48}, 422, "limit_h")
    step = desk.ok("/desk/v1/extensions", {"person": "p6", "approved_by": "chief"})
    assert step["outputs"][0]["limit_ms"] == 24 * 3_600_000


def test_property_second_layer(gateway):
    keeper, other = Desk(gateway.desk_url, "keeper1"), Desk(gateway.desk_url, "keeper2")
    seized = keeper.ok("/desk/v1/seizures", {"item": "EV-7", "case": "c1"})
    assert seized["event"] == {**seized["event"], "type": "seizure", "by": "keeper1"}
    refused(
        keeper,
        "/desk/v1/seizures",
        {"item": "EV-8", "case": "c1", "seized_ts": seized["ts"] + 86_400_000},
        422,
        "seized_ts",
    )
    ledger = keeper.client.get("/desk/v1/ledger").json()
    assert [s["item"] for s in ledger["seizures"]] == ["EV-7"]
    assert ledger["seizures"][0]["deadline_ts"] == seized["ts"] + 24 * 3_600_000
    proposal = keeper.client.get("/desk/v1/intake-slot", params={"owner": "true"}).json()
    assert proposal == {"bank": "bank-a", "slot": 1}
    taken = keeper.ok(
        "/desk/v1/intakes",
        {"item": "EV-7", "case": "c1", "bank": "bank-a", "slot": 1, "owner": "p1", "seized_ts": seized["ts"]},
    )
    assert taken["event"]["owner"] == "p1"
    ledger = keeper.client.get("/desk/v1/ledger").json()
    assert ledger["seizures"] == []
    assert ledger["banks"][0]["slots"][0]["status"] == "occupied"
    assert keeper.client.get("/desk/v1/intake-slot").json() == {"bank": "bank-a", "slot": 2}

    # A work order: requested by keeper1, not approvable by keeper1, approved by keeper2.
    request = keeper.client.post(
        "/desk/v1/workorders/requests", json={"item": "EV-7", "action": "release", "bank": "bank-a", "slot": 1}
    )
    assert request.status_code == 201, request.text
    order_id = request.json()["id"]
    message = refused(keeper, f"/desk/v1/workorders/requests/{order_id}/approve", None, 422, "approved_by")
    assert "办案与管理相分离" in message
    approved = other.ok(f"/desk/v1/workorders/requests/{order_id}/approve", {})
    assert approved["event"] == {
        **approved["event"],
        "type": "workorder",
        "id": order_id,
        "action": "release",
        "requested_by": "keeper1",
        "approved_by": "keeper2",
    }
    assert keeper.client.get("/desk/v1/workorders/requests").json() == []
    refused(other, f"/desk/v1/workorders/requests/{order_id}/approve", None, 404, "request_id")
    # Direct orders name their approver: never the requester.
    refused(
        keeper,
        "/desk/v1/workorders",
        {
            "id": "wo-9",
            "item": "EV-7",
            "action": "withdraw",
            "bank": "bank-a",
            "slot": 1,
            "valid_from": 0,
            "valid_until": approved["ts"] + 60_000,
            "approved_by": "keeper1",
        },
        422,
        "approved_by",
    )


def test_unlock_refusals(gateway):
    keeper, desk = Desk(gateway.desk_url, "keeper1"), Desk(gateway.desk_url)
    response = desk.client.post("/desk/v1/slots/bank-a/2/unlock")
    assert response.status_code == 403 and "desk" in response.json()["detail"]
    # Covered now (an intake window), but this site wires no lock board to the bank.
    keeper.ok("/desk/v1/intakes", {"item": "EV-20", "case": "c2", "bank": "bank-a", "slot": 3})
    message = refused(keeper, "/desk/v1/slots/bank-a/3/unlock", None, 409, "slot")
    assert "没有驱动柜格bank-a/3的锁控板" in message
    refused(keeper, "/desk/v1/slots/bank-z/1/unlock", None, 404, "bank")
    refused(keeper, "/desk/v1/slots/bank-a/9/unlock", None, 404, "slot")


def test_unlock_refused_when_the_board_is_offline_or_nothing_covers(tmp_path):
    # The console site with no simulators running: its lock board never connects.
    site = write_site(tmp_path, CONSOLE_SITE, site_id="offline", modbus_port=1)
    data = tmp_path / "data"
    add_staff(data)
    gw = GatewayProcess(site, data, extra=["--health-interval", "3600"]).start()
    try:
        keeper = Desk(gw.desk_url, "keeper1")
        assert "不在入库授权时段内" in refused(keeper, "/desk/v1/slots/belong-a/2/unlock", None, 409, "slot")
        keeper.ok("/desk/v1/intakes", {"item": "EV-000001", "case": "c1", "bank": "belong-a", "slot": 2})
        message = refused(keeper, "/desk/v1/slots/belong-a/2/unlock", None, 409, "slot", headers=EN)
        assert "lock board lockboard-a of slot belong-a/2 is offline" in message
        assert httpx.get(gw.desk_url + "/openapi.json").json()["paths"]["/desk/v1/slots/{bank}/{slot}/unlock"]
    finally:
        assert gw.stop() == 0


def test_consoles_state_survives_a_restart(tmp_path):
    """The consoles' view is rebuilt from the journal: the same people, ledger and exits after a
    restart, with and without an engine snapshot to resume from."""
    site = write_site(tmp_path, NO_DEVICES_SITE)
    data = tmp_path / "data"
    add_staff(data)
    for snapshot_every in ("100000", "1"):  # replay everything; then resume from a snapshot
        gw = GatewayProcess(site, data, extra=["--health-interval", "3600", "--snapshot-every", snapshot_every]).start()
        try:
            desk, keeper = Desk(gw.desk_url), Desk(gw.desk_url, "keeper1")
            person, item = f"r{snapshot_every}", f"EV-{snapshot_every}"
            checked_in = desk.ok("/desk/v1/checkins", {**CHECKIN, "person": person, "tag": f"R{snapshot_every}"})
            desk.ok(
                "/desk/v1/leaves",
                {
                    "person": person,
                    "reason": "medical",
                    "until_ts": checked_in["ts"] + 3_600_000,
                    "approved_by": "chief",
                },
            )
            keeper.ok(
                "/desk/v1/intakes",
                {"item": item, "case": "c1", "bank": "bank-a", "slot": 1 if snapshot_every == "1" else 2},
            )
            before = (
                desk.client.get("/desk/v1/persons").json()["persons"],
                keeper.client.get("/desk/v1/ledger").json()["banks"],
            )
        finally:
            assert gw.stop() == 0
        gw = GatewayProcess(site, data, extra=["--health-interval", "3600"]).start()
        try:
            desk, keeper = Desk(gw.desk_url), Desk(gw.desk_url, "keeper1")
            after = (
                desk.client.get("/desk/v1/persons").json()["persons"],
                keeper.client.get("/desk/v1/ledger").json()["banks"],
            )
            assert after[0] == before[0]
            strip = [[{k: v for k, v in s.items() if k != "coverage"} for s in b["slots"]] for b in after[1]]
            assert strip == [[{k: v for k, v in s.items() if k != "coverage"} for s in b["slots"]] for b in before[1]]
            [mine] = [p for p in after[0] if p["person"] == person]
            assert mine["flags"]["out"] and mine["out"]["reason"] == "medical"
            resumed = desk.health()["gateway"]["resumed_from_seq"]
            assert (resumed > 0) == (snapshot_every == "1"), resumed
        finally:
            assert gw.stop() == 0
