"""Live board, trails, alerts and ledger derived from ingested entries."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.server, pytest.mark.timeout(60)]

T0 = 1_763_700_000_000
MIN = 60_000


def _board(world, role="center_monitor"):
    reply = world.client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth(role))
    assert reply.status_code == 200, reply.text
    return reply.json()


def _zone(board, zone_id):
    return next(z for z in board["zones"] if z["id"] == zone_id)


def _admit(world, person="sus-1", zone="wait1", ts=T0):
    j = world.journal
    return world.ingest(
        j.event(ts, "enroll", person="off-1", role="officer", sex="F", tag="tag-o1"),
        j.event(
            ts,
            "checkin",
            person=person,
            role="suspect",
            sex="M",
            tag="tag-s1",
            basis="criminal_summons",
            case="c-7",
            arrived_ts=ts - 10 * MIN,
        ),
        j.custody(ts, person, "in", case="c-7", arrived_ts=ts - 10 * MIN),
        j.location(ts + MIN, person, zone),
        j.location(ts + MIN, "off-1", zone),
    )


def test_board_shows_subjects_and_staff_per_zone_with_time_limit(world):
    assert _admit(world).status_code == 200
    board = _board(world)
    assert [z["id"] for z in board["zones"]] == ["entry", "check", "wait1", "int1", "exit"]
    wait = _zone(board, "wait1")
    assert [s["person"] for s in wait["subjects"]] == ["sus-1"]
    subject = wait["subjects"][0]
    assert subject["arrived_ts"] == T0 - 10 * MIN
    assert subject["deadline_ts"] == T0 - 10 * MIN + 12 * 3_600_000
    assert subject["case"] == "c-7" and subject["zone_since_ts"] == T0 + MIN
    assert [s["person"] for s in wait["staff"]] == ["off-1"] and wait["staff"][0]["role"] == "officer"
    # moves, loss of location, and check-out
    j = world.journal
    world.ingest(j.location(T0 + 5 * MIN, "sus-1", "int1", "wait1"), j.location(T0 + 5 * MIN, "off-1", None, "wait1"))
    board = _board(world)
    assert _zone(board, "int1")["subjects"][0]["person"] == "sus-1"
    assert not _zone(board, "wait1")["subjects"] and not _zone(board, "wait1")["staff"]
    world.ingest(j.location(T0 + 6 * MIN, "sus-1", None, "int1"))
    assert [s["person"] for s in _board(world)["unlocated"]] == ["sus-1"]
    world.ingest(j.event(T0 + 9 * MIN, "checkout", person="sus-1"), j.custody(T0 + 9 * MIN, "sus-1", "out"))
    board = _board(world)
    assert not board["unlocated"] and all(not z["subjects"] for z in board["zones"])


def test_located_people_without_a_custody_record_count_as_staff(world):
    j = world.journal
    world.ingest(j.location(T0, "guard-7", "entry"))
    staff = _zone(_board(world), "entry")["staff"]
    assert [(s["person"], s["role"]) for s in staff] == [("guard-7", None)]


def test_location_for_an_undescribed_zone_still_shows(world):
    j = world.journal
    world.ingest(j.custody(T0, "sus-9", "in"), j.location(T0, "sus-9", "annex"))
    annex = _zone(_board(world), "annex")
    assert annex["type"] == "unknown" and annex["subjects"][0]["person"] == "sus-9"


def test_alert_raise_clear_acknowledge_resolve_keeps_who_and_when(world):
    _admit(world)
    j = world.journal
    world.ingest(j.alert(T0 + 2 * MIN, "unaccompanied", "raised", "sus-1", zone="wait1"))
    board = _board(world)
    assert [a["rule"] for a in board["alerts"]] == ["unaccompanied"]
    alert = board["alerts"][0]
    assert alert["cleared_ts"] is None and alert["status"] == "open"
    # cleared by the gateway: still on the board until handled
    world.ingest(j.alert(T0 + 3 * MIN, "unaccompanied", "cleared", "sus-1", zone="wait1"))
    alert = _board(world)["alerts"][0]
    assert alert["cleared_ts"] == T0 + 3 * MIN
    c = world.client
    ack = c.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge", json={"comment": "on it"}, headers=world.auth("center_monitor")
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["acknowledged_by"].startswith("center_monitor-") and ack.json()["status"] == "acknowledged"
    again = c.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={"comment": ""}, headers=world.auth("area_staff"))
    assert again.status_code == 409
    assert (
        c.post(
            f"/api/v1/alerts/{alert['id']}/resolve", json={"comment": ""}, headers=world.auth("area_staff")
        ).status_code
        == 422
    )
    done = c.post(
        f"/api/v1/alerts/{alert['id']}/resolve", json={"comment": "officer returned"}, headers=world.auth("area_staff")
    )
    assert done.status_code == 200
    detail = done.json()
    assert detail["status"] == "resolved" and detail["resolve_comment"] == "officer returned"
    assert [(a["action"], a["comment"]) for a in detail["actions"]] == [
        ("acknowledge", "on it"),
        ("resolve", "officer returned"),
    ]
    assert all(a["at_ts"] > 0 for a in detail["actions"])
    assert not _board(world)["alerts"]


def test_alert_filters_and_scope(world, client, admin_token):
    from server_world import make_world

    _admit(world)
    j = world.journal
    world.ingest(
        j.alert(T0 + 2 * MIN, "unaccompanied", "raised", "sus-1", zone="wait1"),
        j.alert(T0 + 3 * MIN, "flow_violation", "raised", "sus-1", zone="int1"),
        j.alert(T0 + 4 * MIN, "unaccompanied", "cleared", "sus-1", zone="wait1"),
    )
    other = make_world(client, admin_token)
    other.ingest(other.journal.alert(T0, "door_forced", "raised", "door-main"))
    q = f"/api/v1/alerts?site_id={world.site_id}"
    monitor = world.auth("center_monitor")
    assert client.get(q, headers=monitor).json()["total"] == 2
    assert [a["rule"] for a in client.get(q + "&rule=flow_violation", headers=monitor).json()["alerts"]] == [
        "flow_violation"
    ]
    assert [a["rule"] for a in client.get(q + "&active=true", headers=monitor).json()["alerts"]] == ["flow_violation"]
    assert [a["rule"] for a in client.get(q + f"&since_ts={T0 + 3 * MIN}", headers=monitor).json()["alerts"]] == [
        "flow_violation"
    ]
    staff_view = client.get("/api/v1/alerts", headers=world.auth("area_staff")).json()
    assert {a["site_id"] for a in staff_view["alerts"]} == {world.site_id}
    foreign = client.get(f"/api/v1/alerts?site_id={other.site_id}", headers=monitor).json()["alerts"][0]
    assert (
        client.post(
            f"/api/v1/alerts/{foreign['id']}/acknowledge", json={}, headers=world.auth("area_staff")
        ).status_code
        == 404
    )


def test_live_trail_then_gateway_trail_with_footage(world):
    _admit(world)
    j = world.journal
    world.ingest(j.location(T0 + 5 * MIN, "sus-1", "int1", "wait1"))
    trail = world.client.get(
        f"/api/v1/sites/{world.site_id}/subjects/sus-1/trail", headers=world.auth("area_staff")
    ).json()
    assert trail["source"] == "live"
    assert [(s["zone"], s["enter_ts"], s["leave_ts"]) for s in trail["stays"]] == [
        ("wait1", T0 + MIN, T0 + 5 * MIN),
        ("int1", T0 + 5 * MIN, None),
    ]
    assert [s["officers"] for s in trail["stays"]] == [["off-1"], []]  # off-1 stayed in wait1
    world.ingest(j.location(T0 + 6 * MIN, "off-1", "int1", "wait1"))
    trail = world.client.get(
        f"/api/v1/sites/{world.site_id}/subjects/sus-1/trail", headers=world.auth("area_staff")
    ).json()
    assert [s["officers"] for s in trail["stays"]] == [["off-1"], ["off-1"]]
    assert trail["stays"][1]["footage"] == [
        {"camera": "cam-int1a", "from_ts": T0 + 5 * MIN, "to_ts": None},
        {"camera": "cam-int1b", "from_ts": T0 + 5 * MIN, "to_ts": None},
    ]
    world.ingest(
        j.alert(T0 + 6 * MIN, "insufficient_officers", "raised", "sus-1", zone="int1"),
        j.event(T0 + 9 * MIN, "checkout", person="sus-1"),
        j.custody(T0 + 9 * MIN, "sus-1", "out"),
        j.entry(
            "trail",
            T0 + 9 * MIN,
            {
                "kind": "trail",
                "subject": "sus-1",
                "checkin_ts": T0,
                "checkout_ts": T0 + 9 * MIN,
                "stays": [
                    {
                        "zone": "wait1",
                        "enter_ts": T0 + MIN,
                        "leave_ts": T0 + 5 * MIN,
                        "officers": ["off-1"],
                        "unrecorded_ms": 0,
                    },
                    {
                        "zone": "int1",
                        "enter_ts": T0 + 5 * MIN,
                        "leave_ts": T0 + 9 * MIN,
                        "officers": ["off-1"],
                        "unrecorded_ms": 30_000,
                    },
                ],
                "steps_missing": ["security_check"],
                "closed": False,
            },
        ),
    )
    trail = world.client.get(
        f"/api/v1/sites/{world.site_id}/subjects/sus-1/trail", headers=world.auth("center_monitor")
    ).json()
    assert trail["source"] == "gateway" and trail["closed"] is False and trail["steps_missing"] == ["security_check"]
    assert trail["stays"][1]["unrecorded_ms"] == 30_000 and trail["stays"][1]["officers"] == ["off-1"]
    assert trail["stays"][1]["footage"][0] == {"camera": "cam-int1a", "from_ts": T0 + 5 * MIN, "to_ts": T0 + 9 * MIN}
    assert [a["rule"] for a in trail["alerts"]] == ["insufficient_officers"]
    assert (
        world.client.get(
            f"/api/v1/sites/{world.site_id}/subjects/nobody/trail", headers=world.auth("admin")
        ).status_code
        == 404
    )


def test_property_ledger_follows_intake_withdrawal_return_and_disposal(client, admin_token):
    from server_world import make_world

    room = make_world(client, admin_token, kind="property_room")
    store = {
        "id": room.site_id,
        "name": "Property room",
        "kind": "property_room",
        "zones": [{"id": "store", "type": "property_store", "cameras": ["cam-store"]}],
        "lockers": [{"id": "bank-a", "slots": 16, "zone": "store"}],
    }
    assert client.put(f"/api/v1/sites/{room.site_id}/descriptor", json=store, headers=room.gw).status_code == 200
    j = room.journal
    room.ingest(
        j.event(T0, "intake", item="knife-1", case="c-7", bank="bank-a", slot=3, by="cus-1"),
        j.event(T0, "intake", item="phone-2", case="c-7", bank="bank-a", slot=3),
        j.event(T0 + MIN, "locker", bank="bank-a", slot=3, state="open"),
        j.event(T0 + 2 * MIN, "locker", bank="bank-a", slot=3, state="closed", items=["knife-1", "phone-2"]),
    )
    ledger = {
        i["item"]: i
        for i in client.get(f"/api/v1/sites/{room.site_id}/items", headers=room.auth("property_custodian")).json()
    }
    assert {k: v["state"] for k, v in ledger.items()} == {"knife-1": "in", "phone-2": "in"}
    room.ingest(
        j.event(
            T0 + 3 * MIN,
            "workorder",
            id="wo-1",
            item="phone-2",
            action="withdraw",
            bank="bank-a",
            slot=3,
            valid_from=T0,
            valid_until=T0 + 60 * MIN,
            due_ts=T0 + 120 * MIN,
        ),
        j.event(T0 + 4 * MIN, "locker", bank="bank-a", slot=3, state="open"),
        j.event(T0 + 5 * MIN, "locker", bank="bank-a", slot=3, state="closed", items=["knife-1"]),
    )
    ledger = {
        i["item"]: i
        for i in client.get(f"/api/v1/sites/{room.site_id}/items", headers=room.auth("property_custodian")).json()
    }
    assert ledger["phone-2"]["state"] == "out" and ledger["phone-2"]["due_ts"] == T0 + 120 * MIN
    counts = client.get(f"/api/v1/sites/{room.site_id}/board", headers=room.auth("property_custodian")).json()["items"]
    assert counts == {"in_store": 1, "out": 1, "overdue": 1, "disposed": 0}  # T0 + 2 h is long past
    room.ingest(
        j.event(T0 + 30 * MIN, "locker", bank="bank-a", slot=3, state="closed", items=["knife-1", "phone-2"]),
        j.entry(
            "item_trail",
            T0 + 40 * MIN,
            {"kind": "item_trail", "item": "knife-1", "events": [{"ts": T0, "what": "intake"}], "closed": True},
        ),
    )
    ledger = {
        i["item"]: i
        for i in client.get(f"/api/v1/sites/{room.site_id}/items", headers=room.auth("center_monitor")).json()
    }
    assert ledger["phone-2"]["state"] == "in" and ledger["phone-2"]["due_ts"] is None
    assert ledger["knife-1"]["state"] == "disposed" and ledger["knife-1"]["closed"] is True
    trail = client.get(
        f"/api/v1/sites/{room.site_id}/items/phone-2/trail", headers=room.auth("property_custodian")
    ).json()
    assert [e["type"] for e in trail["events"]] == ["intake", "workorder"]
    # every opening of its slot, with the property store's footage for exactly that time
    assert [(o["open_ts"], o["close_ts"], o["items_sensed"]) for o in trail["openings"]] == [
        (T0 + MIN, T0 + 2 * MIN, ["knife-1", "phone-2"]),
        (T0 + 4 * MIN, T0 + 5 * MIN, ["knife-1"]),
    ]
    assert trail["openings"][1]["footage"] == [{"camera": "cam-store", "from_ts": T0 + 4 * MIN, "to_ts": T0 + 5 * MIN}]
    # and the pages: the ledger links each item to its trail
    token = room.tokens["property_custodian"]
    client.cookies.set("custody_token", token)
    try:
        ledger_page = client.get(f"/sites/{room.site_id}/items")
        assert ledger_page.status_code == 200 and f"/sites/{room.site_id}/items/phone-2" in ledger_page.text
        item_page = client.get(f"/sites/{room.site_id}/items/knife-1")
        assert item_page.status_code == 200 and "wo-1" not in item_page.text and '"what": "intake"' in item_page.text
        phone_page = client.get(f"/sites/{room.site_id}/items/phone-2").text
        assert phone_page.count("wo-1") == 1 and phone_page.count("cam-store:") == 2
    finally:
        client.cookies.clear()


def test_health_is_kept_per_gateway(world):
    j = world.journal
    world.ingest(j.entry("health", T0, {"gateway": {"uptime_s": 12}, "devices": {"rdr-entry": {"ok": True}}}))
    gateways = world.client.get(f"/api/v1/sites/{world.site_id}/gateways", headers=world.auth("admin")).json()
    assert gateways[0]["health"] == {"gateway": {"uptime_s": 12}, "devices": {"rdr-entry": {"ok": True}}}
    assert gateways[0]["health_ts"] == T0 and gateways[0]["last_seq"] == 1


def test_overview_counts(world):
    _admit(world)
    j = world.journal
    world.ingest(j.alert(T0 + 2 * MIN, "unaccompanied", "raised", "sus-1", zone="wait1"))
    sites = world.client.get("/api/v1/board", headers=world.auth("area_staff")).json()["sites"]
    assert sites[0]["last_report_ts"] > T0  # the server's clock when the batch arrived
    assert sites == [
        {
            "site_id": world.site_id,
            "name": "Demo handling area",
            "kind": "handling_area",
            "timezone": "Asia/Shanghai",
            "version": sites[0]["version"],
            "subjects_in_custody": 1,
            "staff_present": 1,
            "open_alerts": 1,
            "unacknowledged_alerts": 1,
            "next_deadline_ts": T0 - 10 * MIN + 12 * 3_600_000,
            "last_report_ts": sites[0]["last_report_ts"],
            "chain_conflicts": 0,
        }
    ]


def test_a_clear_without_its_raise_is_kept_and_a_repeated_raise_is_one_alert(world):
    j = world.journal
    world.ingest(j.alert(T0, "tag_lost", "cleared", "sus-3"), j.alert(T0 + MIN, "door_forced", "raised", "door-main"))
    # the same raise journalled again under a new seq (a re-journalled gateway) is the same alert
    world.ingest(j.alert(T0 + MIN, "door_forced", "raised", "door-main"))
    alerts = world.client.get(f"/api/v1/alerts?site_id={world.site_id}", headers=world.auth("admin")).json()["alerts"]
    assert sorted((a["rule"], a["raised_ts"], a["cleared_ts"]) for a in alerts) == [
        ("door_forced", T0 + MIN, None),
        ("tag_lost", T0, T0),
    ]


def test_a_subject_brought_in_again_starts_a_new_stay(world):
    j = world.journal
    world.ingest(
        j.custody(T0, "sus-r", "in"),
        j.location(T0, "sus-r", "wait1"),
        j.location(T0 + 5 * MIN, "sus-r", None, "wait1"),
        j.custody(T0 + 5 * MIN, "sus-r", "out"),
    )
    later = T0 + 24 * 60 * MIN
    world.ingest(j.custody(later, "sus-r", "in", arrived_ts=later), j.location(later + MIN, "sus-r", "check"))
    subject = _zone(_board(world), "check")["subjects"][0]
    assert subject["person"] == "sus-r" and subject["checkin_ts"] == later and subject["arrived_ts"] == later
    trail = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/sus-r/trail", headers=world.auth("admin")).json()
    assert trail["checkin_ts"] == later and trail["checkout_ts"] is None
    assert [s["zone"] for s in trail["stays"]] == ["check"]  # the earlier stay's wait1 is not this stay's
