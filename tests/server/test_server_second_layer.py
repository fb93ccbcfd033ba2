"""The center knows every second-layer value (DESIGN §3, §6.2; issue 13 item 5): a morning run
through the real engine, ingested as a gateway sends it, then the board JSON, the trail API and the
trail and report pages in both languages (SQLite and PostgreSQL through the `world` fixture)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from markupsafe import escape
from second_layer_day import (
    KEPT_REASON,
    MEAL_INTERVAL_MS,
    RELEASED_TO,
    TRANSFER_LIMIT_MS,
    T,
    ingest_day,
    run_day,
)

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def day():
    return run_day()


def _board(world):
    reply = world.client.get(f"/api/v1/sites/{world.site_id}/board", headers=world.auth("center_monitor"))
    assert reply.status_code == 200, reply.text
    return reply.json()


def _subjects(board):
    found = {s["person"]: s for z in board["zones"] for s in z["subjects"]}
    found.update({s["person"]: s for s in board["unlocated"]})
    return found


def test_board_shows_minor_vulnerable_guardian_exit_decision_and_meals(world, day):
    ingest_day(world, day)
    board = _board(world)
    subjects = _subjects(board)
    out = {s["person"]: s for s in board["out_of_area"]}
    assert set(subjects) == {"m1", "v1", "s2"} and set(out) == {"s1"}  # s3 checked out, s1 out of the area

    m1 = subjects["m1"]
    assert (m1["zone"], m1["minor"], m1["vulnerable"]) == ("int1", True, False)
    assert m1["guardian_present"] is True
    assert m1["guardians"] == [{"person": "g1", "zone": "int1", "with_subject": True}]
    assert m1["meal_due_ts"] == T(1) + MEAL_INTERVAL_MS and m1["last_meal_ts"] is None
    int1 = next(z for z in board["zones"] if z["id"] == "int1")
    assert [g["person"] for g in int1["guardians"]] == ["g1"]
    assert "g1" not in [s["person"] for s in int1["staff"]]  # neither staff nor subject

    v1 = subjects["v1"]
    assert (v1["vulnerable"], v1["minor"], v1["guardians"], v1["guardian_present"]) == (True, False, [], False)
    # the 4 h limit of a vulnerable person (DESIGN §3), as the gateway computed it
    assert v1["deadline_ts"] == T(1) + 4 * 3_600_000

    s1 = out["s1"]
    assert s1["out"] == {"since_ts": T(20), "reason": "medical", "until_ts": T(200), "approved_by": "chief-wang"}
    assert s1["zone"] is None

    s2 = subjects["s2"]
    assert s2["decision"] == {
        "kind": "criminal_detention",
        "ts": T(30),
        "transfer_deadline_ts": T(30) + TRANSFER_LIMIT_MS,
    }
    assert s2["last_meal_ts"] == T(40) and s2["meal_due_ts"] == T(40) + MEAL_INTERVAL_MS
    assert s2["out"] is None and subjects["m1"]["decision"] is None

    # the overview's next deadline skips the decided subject, whose summons clock has stopped
    overview = world.client.get("/api/v1/board", headers=world.auth("center_monitor")).json()
    mine = next(s for s in overview["sites"] if s["site_id"] == world.site_id)
    assert mine["next_deadline_ts"] == v1["deadline_ts"]
    assert mine["staff_present"] == 3  # o1, o2, of: the located guardian g1 is not staff

    # the guardian steps out: the minor is no longer accompanied by a guardian
    j = world.journal
    assert world.ingest(j.location(T(121), "g1", "hall", "int1")).status_code == 200
    m1 = _subjects(_board(world))["m1"]
    assert m1["guardian_present"] is False and m1["guardians"] == [
        {"person": "g1", "zone": "hall", "with_subject": False}
    ]
    # s1 comes back: in the area again, on the board's zones once read
    engine_return = [
        j.event(T(150), "return", person="s1"),
        j.custody(T(150), "s1", "return", case="c3"),
        j.location(T(151), "s1", "hall"),
    ]
    assert world.ingest(*engine_return).status_code == 200
    board = _board(world)
    assert (
        not board["out_of_area"] and _subjects(board)["s1"]["out"] is None and _subjects(board)["s1"]["zone"] == "hall"
    )


def test_trail_api_and_pages_show_exits_welfare_outcome_and_who_collected(world, day):
    ingest_day(world, day)
    trail = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/s3/trail", headers=world.auth("admin")).json()
    assert trail["source"] == "gateway"
    assert trail["exits"] == [
        {
            "leave_ts": T(50),
            "return_ts": T(90),
            "reason": "identify_scene",
            "until_ts": T(120),
            "approved_by": "chief-wang",
        }
    ]
    assert trail["welfare"] == [{"ts": T(40), "kind": "meal"}, {"ts": T(41), "kind": "water"}]
    assert (trail["outcome"], trail["released_to"]) == ("released", RELEASED_TO)
    assert (trail["belongings"], trail["belongings_reason"]) == ("kept", KEPT_REASON)

    # still in custody: derived live from the journal's events so far
    live = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/s1/trail", headers=world.auth("admin")).json()
    assert live["source"] == "live"
    assert live["exits"] == [
        {"leave_ts": T(20), "return_ts": None, "reason": "medical", "until_ts": T(200), "approved_by": "chief-wang"}
    ]
    s2 = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/s2/trail", headers=world.auth("admin")).json()
    assert s2["decisions"] == [{"ts": T(30), "kind": "criminal_detention"}] and s2["outcome"] is None
    m1 = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/m1/trail", headers=world.auth("admin")).json()
    assert (m1["minor"], m1["vulnerable"]) == (True, False)
    # a guardian in the room is not one of the officers present
    assert [s["officers"] for s in m1["stays"]] == [["o1", "of"]]

    expected = {
        "zh": [
            "指认现场",
            "chief-wang",
            "进餐",
            "饮水",
            "释放",
            "暂扣",
            "未成年人",
            "刑事拘留",
            "就医",
            "尚未返回",
            "临时出区",
            "领回人",
        ],
        "en": [
            "Identifying the scene",
            "chief-wang",
            "Meal",
            "Water",
            "Released",
            "Kept",
            "Minor",
            "Criminal detention",
            "Medical care",
            "still out",
            "Temporary exits",
            "Collected by",
        ],
    }
    for language, headers in (("zh", {}), ("en", EN)):
        pages = ""
        for person in ("s3", "s1", "s2", "m1"):
            for suffix in ("", "/report"):
                reply = world.client.get(
                    f"/sites/{world.site_id}/subjects/{person}{suffix}", headers={**world.auth("admin"), **headers}
                )
                assert reply.status_code == 200, f"{person}{suffix}: {reply.status_code}"
                pages += reply.text
        text = unescape(pages)
        for value in [*expected[language], RELEASED_TO, KEPT_REASON]:
            assert value in text, f"{language}: {value!r} not shown"
        assert str(escape(RELEASED_TO)) in pages
        # qualified msgids never leak onto a page (the scripts' i18n block holds them as keys)
        shown = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
        assert not re.search(r"(leave_reason|outcome|welfare|decision|belongings):\w", shown)


def test_descriptor_rules_are_validated_and_default(world, day):
    descriptor = day.descriptor(world.site_id)
    descriptor["rules"] = {"transfer_limit_h": -1}
    reply = world.client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=descriptor, headers=world.gw)
    assert reply.status_code == 422 and "transfer_limit_h" in reply.text
    # without rules the engine's defaults apply: transfer 24 h, meals not timed
    descriptor.pop("rules")
    assert (
        world.client.put(f"/api/v1/sites/{world.site_id}/descriptor", json=descriptor, headers=world.gw).status_code
        == 200
    )
    j = world.journal
    world.ingest(
        j.event(T(0), "checkin", person="d1", role="suspect", sex="M", tag="t-d1", basis="criminal_summons", case="c9"),
        j.custody(T(0), "d1", "in", case="c9"),
        j.event(T(5), "decision", person="d1", kind="arrest"),
        j.custody(T(5), "d1", "decision", case="c9"),
        j.event(T(6), "decision", person="d1", kind="criminal_detention"),  # a second decision changes nothing
    )
    d1 = _subjects(_board(world))["d1"]
    assert d1["decision"] == {"kind": "arrest", "ts": T(5), "transfer_deadline_ts": T(5) + 24 * 3_600_000}
    assert d1["meal_due_ts"] is None and d1["state"] == "in"


def test_second_layer_rule_alerts_carry_their_titles_in_both_languages(world, day):
    j = world.journal
    ingest_day(world, day)
    world.ingest(j.alert(T(121), "minor_without_guardian", "raised", "m1", zone="int1"))
    zh = world.client.get(f"/sites/{world.site_id}/subjects/m1", headers=world.auth("admin")).text
    en = world.client.get(f"/sites/{world.site_id}/subjects/m1", headers={**world.auth("admin"), **EN}).text
    assert "Minor questioned without a guardian" in en and "Criminal Procedure Law art. 281" in en
    shown = re.sub(r"<script[^>]*>.*?</script>", "", zh, flags=re.S).replace('data-rule="minor_without_guardian"', "")
    assert "询问未成年人无法定代理人到场" in shown and "刑事诉讼法第281条" in shown
    assert "minor_without_guardian" not in shown


def test_a_new_custody_starts_without_the_last_ones_exit_decision_meals_or_flags(world):
    j = world.journal
    reply = world.ingest(
        j.event(
            T(0),
            "checkin",
            person="r1",
            role="suspect",
            sex="M",
            tag="t-r1",
            basis="continued_questioning",
            case="c1",
            age=16,
            minor=False,
            guardian="g-old",
        ),
        j.custody(T(0), "r1", "in", case="c1", basis="continued_questioning"),
        j.event(T(5), "welfare", person="r1", kind="meal"),
        j.event(T(6), "welfare", person="r1", kind="water"),  # only a meal is the last meal
        j.event(T(10), "decision", person="r1", kind="admin_detention"),
        j.event(T(20), "leave", person="r1", reason="recover_stolen", until_ts=T(80), approved_by="chief"),
        j.event(T(30), "checkout", person="r1", outcome="admin_detention"),
        j.custody(T(30), "r1", "out"),
        # welfare for someone no longer in custody changes nothing
        j.event(T(31), "welfare", person="r1", kind="meal"),
    )
    assert reply.status_code == 200, reply.text
    assert "r1" not in _subjects(_board(world)) and not _board(world)["out_of_area"]
    trail = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/r1/trail", headers=world.auth("admin")).json()
    assert trail["source"] == "live" and trail["outcome"] == "admin_detention" and trail["belongings"] == "returned"
    assert [w["kind"] for w in trail["welfare"]] == ["meal", "water"]
    assert trail["exits"][0]["return_ts"] is None and trail["exits"][0]["reason"] == "recover_stolen"

    world.ingest(
        j.event(
            T(40),
            "checkin",
            person="r1",
            role="suspect",
            sex="M",
            tag="t-r1",
            basis="criminal_summons",
            case="c2",
            age=17,
        ),
        j.custody(T(40), "r1", "in", case="c2"),
    )
    r1 = _subjects(_board(world))["r1"]
    assert (r1["minor"], r1["vulnerable"], r1["guardians"], r1["out"], r1["decision"], r1["last_meal_ts"]) == (
        True,
        False,
        [],
        None,
        None,
        None,
    )
    fresh = world.client.get(f"/api/v1/sites/{world.site_id}/subjects/r1/trail", headers=world.auth("admin")).json()
    assert (fresh["exits"], fresh["welfare"], fresh["decisions"], fresh["outcome"]) == ([], [], [], None)
