"""The compiled core's contract (issue 12 item 7): every enum of core_ext/_engine.pxd equals the
code of core_ext/codes.py / core_ext/vocab.py it mirrors, the .pyx spells codes by those names, and
one selector (core_ext/select.py, governed by CUSTODY_ENGINE) picks every compiled module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core_ext import codes, select, vocab
from core_ext.api import CustodyEngine
from core_ext.events import EventDecoder
from tests.engine.conftest import small_site

CORE = Path(codes.__file__).parent
PXD = CORE / "_engine.pxd"
PYX = CORE / "_engine.pyx"

_ENUM_HEAD = re.compile(r"^cdef enum(?: (\w+))?:")
_MEMBER = re.compile(r"^\s+(\w+)\s*=\s*(-?\d+)\s*(?:#.*)?$")


def pxd_enums(text: str) -> dict[str, dict[str, int]]:
    """Enum name ('' for the anonymous ones, merged) → {member: value}, from the .pxd text. Every
    member must spell its value: an implicit one would be a number nobody checked."""
    enums: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        head = _ENUM_HEAD.match(line)
        if head:
            current = enums.setdefault(head.group(1) or "", {})
            continue
        if current is None:
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t")):
            current = None
            continue
        member = _MEMBER.match(line)
        assert member, f"{PXD.name}:{number}: enum member without an explicit value: {line.strip()!r}"
        name, value = member.group(1), int(member.group(2))
        assert name not in current, f"{PXD.name}:{number}: {name} twice"
        current[name] = value
    return enums


def _named(prefix: str, values: tuple[str, ...], rename: dict[str, str] | None = None) -> dict[str, int]:
    rename = rename or {}
    return {prefix + rename.get(v, v.upper()): i for i, v in enumerate(values)}


def _codes_with(prefix: str) -> dict[str, int]:
    return {name: value for name, value in vars(codes).items() if name.startswith(prefix) and isinstance(value, int)}


_COND_RENAME = {
    "female_search_without_female_officer": "FEMALE_SEARCH",
    "female_minor_without_female_staff": "FEMALE_MINOR",
}

# What each .pxd enum mirrors, derived from the Python codes (never typed out here).
EXPECTED: dict[str, dict[str, int]] = {
    "EventType": _named("E_", vocab.EVENT_TYPES, {"tag_seen": "TAG"}),
    "TimerKind": _codes_with("T_"),
    "PersonKind": _codes_with("KIND_"),
    "Role": _named("ROLE_", vocab.ROLES),
    "Sex": _named("SEX_", vocab.SEXES),
    "ZoneType": _named("ZT_", vocab.ZONE_TYPES, {"security_check": "SECURITY"}),
    "CameraState": _named("CAM_", vocab.CAMERA_STATES),
    "WelfareKind": _named("WELFARE_", vocab.WELFARE_KINDS),
    "Belongings": _named("BELONGINGS_", vocab.BELONGINGS),
    "CheckinFlag": {**_codes_with("FLAG_"), "GUARDIAN_SHIFT": codes.GUARDIAN_SHIFT},
    "CheckoutFlag": _codes_with("CO_"),
    "": {
        **_named("COND_", vocab.PERSON_CONDITIONS, _COND_RENAME),
        "N_COND": codes.N_COND,
        "N_TIMER_KINDS": len(codes.TIMER_CLASS),
        "N_SEXES": len(vocab.SEXES),
    },
}


def test_every_pxd_enum_mirrors_its_python_codes():
    enums = pxd_enums(PXD.read_text(encoding="utf-8"))
    assert set(enums) == set(EXPECTED), (
        f"enums without a check here: {sorted(set(enums) - set(EXPECTED))}, "
        f"checks without an enum: {sorted(set(EXPECTED) - set(enums))}"
    )
    for name, expected in EXPECTED.items():
        assert enums[name] == expected, f"{PXD.name} enum {name or '(anonymous)'} diverges from core_ext"


def test_condition_slots_are_the_codes_condition_order():
    assert codes.CONDITIONS == tuple(vocab.RULE_CODE[r] for r in vocab.PERSON_CONDITIONS)
    # the compiled core's names for the other codes it uses in C agree with core_ext.codes
    enums = {k: v for members in pxd_enums(PXD.read_text(encoding="utf-8")).values() for k, v in members.items()}
    for name in (
        "ROLE_OFFICER",
        "SEX_F",
        "ZT_SECURITY",
        "ZT_WAITING",
        "ZT_INTERROGATION",
        "ZT_QUESTIONING",
        "WELFARE_MEAL",
        "KIND_IN",
        "T_COND",
    ):
        assert enums[name] == getattr(codes, name), name
    assert enums["ROLE_GUARDIAN"] == vocab.ROLE_GUARDIAN
    assert enums["CAM_RECORDING"] == codes.CAMERA_RECORDING and enums["CAM_ONLINE"] == codes.CAMERA_ONLINE


def test_the_parser_refuses_a_diverging_or_unspelled_enum():
    """The checks above can fail: a shifted value and an implicit one are both caught."""
    text = PXD.read_text(encoding="utf-8")
    shifted = pxd_enums(text.replace("    CAM_ONLINE = 3", "    CAM_ONLINE = 4"))
    assert shifted["CameraState"] != EXPECTED["CameraState"]
    with pytest.raises(AssertionError, match="without an explicit value"):
        pxd_enums(text.replace("    CAM_ONLINE = 3", "    CAM_ONLINE"))


def test_pyx_spells_codes_by_name():
    """No code value as a bare number in the .pyx: no `range(9)`, no C array sized by a literal,
    no comparison of a record field or state with a literal code."""
    bad = []
    for number, line in enumerate(PYX.read_text(encoding="utf-8").splitlines(), 1):
        code = line.split("#", 1)[0]
        if re.search(r"range\(\d+\)|\b(?:r\.[a-e]|state|kind|etype|role|sex)\s*[!=]=\s*\d", code) or re.match(
            r"\s*cdef [\w\s*]+\[\d+\]", code
        ):
            bad.append(f"{number}: {line.strip()}")
    assert not bad, "bare code literals in _engine.pyx:\n" + "\n".join(bad)


def test_pxd_declares_the_engine_class():
    text = PXD.read_text(encoding="utf-8")
    assert re.search(r"^cdef class CompiledEngine:", text, re.M)
    declared = set(re.findall(r"^    cdef [\w*\s]+?\b(_\w+)\(self", text, re.M))
    implemented = set(re.findall(r"^    cdef [\w*\s]+?\b(_\w+)\(self", PYX.read_text(encoding="utf-8"), re.M))
    assert declared and declared == implemented


# ---------------------------------------------------------------------------- one selector


def _run(code: str, env: dict[str, str], path: str | None = None) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter; with `path`, only that copy of the packages is importable
    (it becomes PYTHONPATH and the working directory)."""
    env = dict(os.environ, **env)
    if path is not None:
        env["PYTHONPATH"] = path
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=path)


def test_reference_forces_both_twins():
    proc = _run(
        "from core_ext import select, engine_info; from core_ext.api import CustodyEngine\n"
        "from tests.engine.conftest import small_site\n"
        "e = CustodyEngine(small_site())\n"
        "print(e.core.name, e.decoder._scan is None, select.DEFAULT_SCANNER is None)\n"
        "print(engine_info())",
        {"CUSTODY_ENGINE": "reference"},
    )
    assert proc.returncode == 0, proc.stderr
    first, info = proc.stdout.splitlines()
    assert first == "reference True True"
    assert info == (
        "reference (pure Python, forced by CUSTODY_ENGINE); scanner: reference (pure Python, forced by CUSTODY_ENGINE)"
    )


def test_version_names_engine_and_scanner():
    proc = subprocess.run([sys.executable, "-m", "gateway.commands.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert f"(engine: {select.ENGINE_NAME}; scanner: {select.SCANNER_NAME})" in proc.stdout
    if os.environ.get("CI") == "true" and not os.environ.get("CUSTODY_ENGINE"):
        assert proc.stdout.strip().endswith("(engine: compiled (Cython); scanner: compiled (Cython))")


def test_engine_argument_picks_the_scanner_too():
    site = small_site()
    assert CustodyEngine(site, "reference").decoder._scan is None
    assert EventDecoder(site, "reference")._scan is None
    if select.compiled_scan_tag_reads is not None:
        assert CustodyEngine(site, "compiled").decoder._scan is select.compiled_scan_tag_reads
    with pytest.raises(ValueError, match="unknown engine"):
        EventDecoder(site, "turbo")


@pytest.mark.parametrize("missing", ["_linescan", "_engine"])
def test_compiled_makes_a_missing_compiled_module_an_error(tmp_path, missing):
    """A copy of core_ext where one extension does not load (its file is not a shared object; a
    removed file would be found in the editable install's tree instead): CUSTODY_ENGINE=compiled
    refuses it, the default falls back to that module's twin and says so."""
    built = sorted(CORE.glob(f"{missing}.*.so")) + sorted(CORE.glob(f"{missing}.*.pyd"))
    if not built:
        if os.environ.get("CI") == "true":
            pytest.fail(f"core_ext/{missing} is not built")
        pytest.skip(f"core_ext/{missing} is not built here: nothing to remove")
    copy = tmp_path / "core_ext"
    shutil.copytree(CORE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in built:
        (copy / path.name).write_bytes(b"not a shared object\n")
    refused = _run("import core_ext.select", {"CUSTODY_ENGINE": "compiled"}, str(tmp_path))
    assert refused.returncode != 0
    assert "CUSTODY_ENGINE=compiled but the compiled core did not load" in refused.stderr
    assert f"core_ext.{missing}:" in refused.stderr
    fallback = _run(
        "from core_ext import select, engine_info; print(select.__file__); print(engine_info())",
        {"CUSTODY_ENGINE": ""},
        str(tmp_path),
    )
    assert fallback.returncode == 0, fallback.stderr
    where, info = fallback.stdout.splitlines()
    assert Path(where).parent == copy
    what = "compiled scanner not available" if missing == "_linescan" else "compiled core not available"
    assert what in info and "compiled (Cython)" in info  # the other one still loads
