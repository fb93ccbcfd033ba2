"""The consoles' static files: packaged with the gateway and found with importlib.resources, a string
catalogue per language with the same keys and every key the pages use, no data put into markup
as HTML, and a strict Content-Security-Policy on every console response."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from gw_processes import GatewayProcess
from gw_sites import NO_DEVICES_SITE, write_site

from gateway.desk.console import CSP, console_root

pytestmark = pytest.mark.timeout(60)

ROOT = console_root()
SCRIPTS = sorted(p.name for p in ROOT.iterdir() if p.name.endswith(".js"))


def catalogue(lang: str) -> dict[str, str]:
    return json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def used_keys() -> set[str]:
    keys = set(re.findall(r'data-i18n="([^"]+)"', (ROOT / "index.html").read_text(encoding="utf-8")))
    for name in SCRIPTS:
        source = (ROOT / name).read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\(\s*"([^"$]+)"', source))
    return keys


def test_catalogues_have_the_same_keys_and_every_key_used():
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    assert all(v.strip() for v in zh.values()) and all(v.strip() for v in en.values())
    missing = sorted(k for k in used_keys() if k not in zh)
    assert not missing, f"keys the console uses but the catalogues lack: {missing}"
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert sum(1 for v in zh.values() if cjk.search(v)) > 0.9 * len(zh)
    assert not [k for k, v in en.items() if cjk.search(v)]
    # Placeholders agree between the languages.
    for key in zh:
        assert set(re.findall(r"\{(\w+)\}", zh[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


@pytest.mark.floorplan
def test_the_floor_plan_renderer_is_the_centers_copy_byte_for_byte():
    """One renderer, two copies: the gateway may not import server/ and ships its own static files,
    so gateway/desk/console/floorplan.js is a copy of server/static/floorplan.js; they must not drift."""
    from gw_processes import REPO

    original = (REPO / "server" / "static" / "floorplan.js").read_bytes()
    copy = (ROOT / "floorplan.js").read_bytes()
    assert copy == original, (
        "gateway/desk/console/floorplan.js differs from server/static/floorplan.js: "
        "edit the original and copy it (cp server/static/floorplan.js gateway/desk/console/)"
    )
    html = (ROOT / "index.html").read_text(encoding="utf-8")
    assert '<script src="/console/floorplan.js"></script>' in html


@pytest.mark.parametrize(
    "group, values",
    [
        ("rules", "RULES"),
        ("zone_type", "ZONE_TYPES"),
        ("", "SUBJECT_ROLES"),
        ("", "STAFF_ROLES"),
        ("", "BASES"),
        ("", "OUTCOMES"),
        ("", "LEAVE_REASONS"),
        ("", "DECISION_KINDS"),
        ("", "WELFARE_KINDS"),
        ("", "WORKORDER_ACTIONS"),
        ("belongings", "BELONGINGS"),
        ("sexes", "SEXES"),
    ],
)
def test_every_vocabulary_value_has_a_label(group, values):
    from core_ext import vocab

    zh = catalogue("zh-CN")
    prefix = f"v.{group}." if group else "v."
    missing = [v for v in getattr(vocab, values) if prefix + v not in zh]
    assert not missing, f"vocab.{values} values without a console label ({prefix}…): {missing}"


def test_no_markup_from_data():
    for name in SCRIPTS:
        source = (ROOT / name).read_text(encoding="utf-8")
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert banned not in source, f"{name} uses {banned}"
    html = (ROOT / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script in index.html"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler in index.html"
    assert not re.search(r"\sstyle=", html), "inline style in index.html"


def test_console_is_served_with_a_strict_policy(tmp_path):
    gw = GatewayProcess(
        write_site(tmp_path, NO_DEVICES_SITE), tmp_path / "data", extra=["--health-interval", "3600"]
    ).start()
    try:
        page = httpx.get(gw.desk_url + "/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        for name in [*SCRIPTS, "console.css", "i18n/zh-CN.json"]:
            answer = httpx.get(f"{gw.desk_url}/console/{name}")
            assert answer.status_code == 200, name
            assert answer.headers["content-security-policy"] == CSP
        assert httpx.get(gw.desk_url + "/console/../api.py").status_code == 404
        assert httpx.get(gw.desk_url + "/console/nothing.js").status_code == 404
    finally:
        assert gw.stop() == 0
