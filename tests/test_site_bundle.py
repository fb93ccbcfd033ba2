"""One YAML loader (core_ext/yamlfile.py) for sites and profiles, and the site bundle: the gateway
reads its site file once into config, compiled model and device specs (issue 12 item 5)."""
from __future__ import annotations

import shutil

import pytest
import yaml

from core_ext import yamlfile
from core_ext.resources import site_file
from core_ext.site import SiteConfigError
from core_ext.yamlfile import YamlFault, parse_yaml
from drivers.config import DeviceConfigError, load_devices, load_profile
from gateway.site_bundle import load_site_bundle

SITE = site_file("demo-area")


def test_lines_and_nearest_parent():
    doc = parse_yaml("a:\n  b:\n    - x\n    - {c: 1}\n", "t.yaml")
    assert doc.data == {"a": {"b": ["x", {"c": 1}]}}
    assert doc.line_of(("a", "b", 1, "c")) == 4
    assert doc.line_of(("a", "b", 1, "missing")) == 4
    assert doc.line_of(("nope",)) == 1


def test_duplicate_key_names_file_line_and_path():
    with pytest.raises(YamlFault) as exc:
        parse_yaml("a:\n  b: 1\n  b: 2\n", "t.yaml")
    assert str(exc.value) == "t.yaml:3: a.b: duplicate key"


def test_not_yaml_names_the_line():
    with pytest.raises(YamlFault) as exc:
        parse_yaml("a: [1, 2\nb: 3\n", "t.yaml")
    assert exc.value.source == "t.yaml" and exc.value.line is not None and exc.value.path == "<yaml>"


def test_the_c_and_python_parsers_agree_on_the_demo_sites():
    text = SITE.read_text(encoding="utf-8")
    fast = parse_yaml(text, "x")
    pure_loader = yamlfile.Loader
    try:
        yamlfile.Loader = yaml.SafeLoader
        pure = parse_yaml(text, "x")
    finally:
        yamlfile.Loader = pure_loader
    assert fast.data == pure.data == yaml.safe_load(text)
    assert fast.lines == pure.lines


def test_a_duplicate_key_in_the_devices_is_refused(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(SITE.read_text(encoding="utf-8").replace(
        "devices:\n", "devices:\n", 1) + "\nextra_key: 1\nextra_key: 2\n")
    with pytest.raises(DeviceConfigError, match=r"site.yaml:\d+: extra_key: duplicate key"):
        load_devices(path)
    with pytest.raises(SiteConfigError, match=r"duplicate key"):
        load_site_bundle(path)


def test_a_duplicate_key_in_a_profile_is_refused(tmp_path):
    (tmp_path / "p.yaml").write_text("driver: em4100_serial\ndriver: em4100_serial\n")
    with pytest.raises(DeviceConfigError, match=r"p.yaml:2: driver: duplicate key"):
        load_profile("p", tmp_path)


def test_the_bundle_reads_the_site_file_once(monkeypatch):
    reads = []
    real = yamlfile.read_yaml

    def counting(path):
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr("gateway.site_bundle.read_yaml", counting)
    monkeypatch.setattr("drivers.config.read_yaml", counting)
    monkeypatch.setattr("core_ext.site.read_yaml", counting)
    bundle = load_site_bundle(SITE)
    site_reads = [p for p in reads if p == str(SITE)]
    assert site_reads == [str(SITE)]
    assert bundle.config.site.id == "demo-area"
    assert bundle.model.zone_ids and bundle.devices and bundle.wiring_faults == []


def test_wiring_faults_are_named(tmp_path):
    text = SITE.read_text(encoding="utf-8")
    shutil.copytree(SITE.parent.parent / "plans", tmp_path / "plans")  # the site's layout names ../plans/*.svg
    (tmp_path / "sites").mkdir()
    path = tmp_path / "sites" / "site.yaml"
    path.write_text(text.replace("devices:\n", "devices:\n  - {id: rdr-ghost, profile: rdm6300, port: /tmp/x}\n", 1))
    bundle = load_site_bundle(path)
    assert bundle.wiring_faults == [f"{path}:95: device rdr-ghost: reader 'rdr-ghost' is not declared in the site"]
