"""`custody replay` as DESIGN §6.3: output records, --until, and bad input by line number."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.engine.conftest import ENGINES

SITE = "firmware_configs/sites/demo-area.yaml"
T = 1_763_700_000_000


def replay(tmp_path, lines, *args, engine="reference"):
    log = tmp_path / "events.jsonl"
    log.write_text("".join((json.dumps(line) if not isinstance(line, str) else line) + "\n" for line in lines))
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "replay", "--site", SITE, str(log), "--engine", engine, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, out, proc.stderr


def ev(dt, type_, **kw):
    return {"ts": T + dt, "type": type_, **kw}


CLEAN = [
    ev(0, "camera", camera="cam-wait1", state="recording"),
    ev(0, "enroll", person="o1", role="officer", sex="M", tag="A1"),
    ev(1000, "checkin", person="s1", role="suspect", sex="M", tag="B1", basis="criminal_summons", case="K"),
    ev(2000, "tag_seen", reader="rdr-wait1", tag="B1"),
    ev(2000, "tag_seen", reader="rdr-wait1", tag="A1"),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_output_records_match_the_contract(tmp_path, engine):
    rc, out, err = replay(
        tmp_path,
        CLEAN + [ev(40_000, "tag_seen", reader="rdr-wait1", tag="B1"), ev(50_000, "checkout", person="s1")],
        engine=engine,
    )
    assert rc == 0, err
    kinds = [r["kind"] for r in out]
    assert kinds == ["alert", "trail"]
    alert = out[0]
    assert set(alert) == {"kind", "ts", "rule", "state", "subject", "zone", "severity", "detail"}
    assert alert["rule"] == "incomplete_exit" and alert["ts"] == T + 50_000
    trail = out[1]
    assert {"kind", "subject", "checkin_ts", "checkout_ts", "stays", "steps_missing", "closed"} <= set(trail)
    assert set(trail["stays"][0]) == {"zone", "enter_ts", "leave_ts", "officers", "unrecorded_ms"}


def test_until_runs_timers_and_reports_subjects_still_in(tmp_path):
    rc, out, _ = replay(tmp_path, CLEAN, "--until", str(T + 200_000))
    assert rc == 0
    assert [(r["rule"], r["ts"] - T) for r in out if r["kind"] == "alert"] == [("tag_lost", 62_000)]
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert trail["checkout_ts"] is None and trail["closed"] is False


def test_until_before_later_events_stops_there(tmp_path):
    rc, out, _ = replay(tmp_path, CLEAN + [ev(500_000, "checkout", person="s1")], "--until", str(T + 10_000))
    assert rc == 0 and [r["kind"] for r in out] == ["trail"] and out[0]["checkout_ts"] is None


@pytest.mark.parametrize(
    "bad,needle",
    [
        ('{"ts": 5, "type": ', "malformed JSON"),
        (ev(3000, "tag_seen", reader="rdr-nowhere", tag="B1"), "unknown reader 'rdr-nowhere'"),
        (ev(3000, "teleport", person="s1"), "unknown event type 'teleport'"),
        (ev(3000, "checkout", person="ghost"), "'ghost' is not checked in"),
        (
            ev(3000, "checkin", person="s1", role="suspect", sex="M", tag="B9", basis="criminal_summons", case="K"),
            "already checked in",
        ),
        (
            ev(3000, "checkin", person="s2", role="suspect", sex="M", tag="B1", basis="criminal_summons", case="K"),
            "already worn by 's1'",
        ),
        (
            ev(3000, "checkin", person="s2", role="suspect", sex="M", tag="B2", basis="martial", case="K"),
            "unknown basis 'martial'",
        ),
        (ev(3000, "camera", camera="cam-x", state="recording"), "unknown camera"),
        (ev(3000, "locker", bank="belong-a", slot=99, state="open"), "slots 1..24"),
        (ev(-10_000, "tag_seen", reader="rdr-wait1", tag="B1"), "goes back in time"),
        ({"type": "tag_seen", "reader": "rdr-wait1", "tag": "B1"}, "field 'ts'"),
        (ev(3000, "tag_seen", reader="rdr-wait1"), "missing field 'tag'"),
    ],
)
def test_bad_input_names_the_line(tmp_path, bad, needle):
    rc, out, err = replay(tmp_path, CLEAN + [bad, ev(9000, "checkout", person="s1")])
    assert rc == 1
    assert "events.jsonl:6: " in err and needle in err, err


def test_checked_out_twice(tmp_path):
    rc, out, err = replay(tmp_path, CLEAN + [ev(5000, "checkout", person="s1"), ev(6000, "checkout", person="s1")])
    assert rc == 1 and "events.jsonl:7: " in err and "checked out already" in err
    # what was accepted before the bad line is not lost: the first check-out's trail was written
    assert [r["kind"] for r in out].count("trail") == 1


def test_engine_selection_is_reported_and_can_be_forced():
    env = dict(os.environ, CUSTODY_ENGINE="reference")
    forced = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "--version"], capture_output=True, text=True, env=env
    )
    assert forced.returncode == 0 and "reference (pure Python, forced by CUSTODY_ENGINE)" in forced.stdout
    env["CUSTODY_ENGINE"] = "turbo"
    bad = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "--version"], capture_output=True, text=True, env=env
    )
    assert bad.returncode != 0 and "CUSTODY_ENGINE must be" in bad.stderr


def test_compiled_core_loaded_in_ci():
    """In CI the compiled core must be built and picked by default; elsewhere say which runs."""
    from core_ext.select import COMPILED_ERROR, ENGINE_NAME, CompiledEngine

    if os.environ.get("CI") == "true" or CompiledEngine is not None:
        assert CompiledEngine is not None, f"compiled core did not load: {COMPILED_ERROR}"
        from core_ext.select import SCANNER_ERROR, compiled_scan_tag_reads  # the replay fast path is built with it

        assert compiled_scan_tag_reads is not None, f"compiled line scanner did not load: {SCANNER_ERROR}"
        if not os.environ.get("CUSTODY_ENGINE"):
            assert ENGINE_NAME == "compiled (Cython)"
    else:
        assert "reference" in ENGINE_NAME


def test_bad_site_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {id: x}\nzones:\n  - {id: a, type: moon}\n")
    log = tmp_path / "e.jsonl"
    log.write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.commands.cli", "replay", "--site", str(bad), str(log)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "bad.yaml:3: zones[0].type: unknown zone type 'moon'" in proc.stderr


@pytest.mark.parametrize("slot", [[1], True, "x", 0, 25])
def test_bad_slot_says_what_a_slot_is(tmp_path, slot):
    rc, _, err = replay(tmp_path, CLEAN + [ev(3000, "locker", bank="belong-a", slot=slot, state="open")])
    assert rc == 1 and "events.jsonl:6: " in err
    assert ("slot number" in err) or ("slots 1..24" in err), err


# ------------------------------------------------------------------ second layer (issue 13)

SECOND = [
    ev(0, "camera", camera="cam-wait1", state="recording"),
    ev(0, "enroll", person="o1", role="officer", sex="M", tag="A1"),
    ev(0, "enroll", person="g1", role="guardian", sex="F", tag="G1", **{"for": "k1"}),
    ev(
        1000, "checkin", person="k1", role="suspect", sex="M", tag="B1", basis="continued_questioning", case="K", age=15
    ),
    ev(2000, "tag_seen", reader="rdr-wait1", tag="B1"),
    ev(2000, "tag_seen", reader="rdr-wait1", tag="A1"),
    ev(10_000, "leave", person="k1", reason="medical", until_ts=T + 600_000, approved_by="chief"),
    ev(20_000, "welfare", person="k1", kind="water"),
    ev(300_000, "return", person="k1"),
    ev(310_000, "checkout", person="k1", outcome="released", released_to="father"),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_trails_carry_the_second_layer(tmp_path, engine):
    rc, out, err = replay(tmp_path, SECOND, engine=engine)
    assert rc == 0, err
    trail = [r for r in out if r["kind"] == "trail"][0]
    assert trail["exits"] == [
        {"leave_ts": T + 10_000, "return_ts": T + 300_000, "reason": "medical", "until_ts": T + 600_000}
    ]
    assert trail["welfare"] == [{"ts": T + 20_000, "kind": "water"}]
    assert trail["outcome"] == "released" and trail["released_to"] == "father"
    assert trail["minor"] is True and trail["vulnerable"] is True


@pytest.mark.parametrize(
    "line, bad, message",
    [
        (5, ev(1500, "extend", person="k1"), r"vulnerable subject .* no extension \(继续盘问规定 art\. 10\)"),
        (5, ev(1500, "return", person="k1"), r"not out on a temporary exit"),
        (5, ev(1500, "checkout", person="k1", outcome="escaped"), r"unknown outcome 'escaped'"),
        (5, ev(1500, "leave", person="k1", reason="lunch", until_ts=T, approved_by="c"), r"unknown reason 'lunch'"),
        (5, ev(1500, "decision", person="k1", kind="fine"), r"unknown kind 'fine'"),
        (5, ev(1500, "welfare", person="k1", kind="tv"), r"unknown kind 'tv'"),
    ],
)
def test_second_layer_bad_input_by_line(tmp_path, line, bad, message):
    rc, _, err = replay(tmp_path, SECOND[:4] + [bad])
    assert rc == 1
    assert f"events.jsonl:{line}: " in err
    assert __import__("re").search(message, err), err


def test_stepwise_skip_by_line(tmp_path):
    lines = CLEAN[:2] + [
        ev(1000, "checkin", person="s1", role="suspect", sex="M", tag="B1", basis="continued_questioning", case="K"),
        ev(5000, "extend", person="s1", limit_h=48),
    ]
    rc, _, err = replay(tmp_path, lines)
    assert rc == 1 and "events.jsonl:4: " in err
    assert (
        "skips the 24 h tier of continued_questioning: tiers are climbed one at a time (继续盘问规定 art. 11, 17)"
        in err
    )
