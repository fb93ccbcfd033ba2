"""Site config faults name the file, the line, the key path and the fault."""
from __future__ import annotations

import glob

import pytest

from core_ext.site import SiteConfigError, load_site, load_site_model, parse_site

GOOD = """\
site: {id: s}
zones:
  - {id: a, type: entry, cameras: [c1]}
  - {id: b, type: waiting, cameras: [c2]}
readers:
  - {id: r1, zone: a}
"""


def faults(text):
    with pytest.raises(SiteConfigError) as info:
        parse_site(text, "site.yaml")
    return [(line, path, msg) for line, path, msg in info.value.faults], str(info.value)


@pytest.mark.parametrize("path", sorted(glob.glob("firmware_configs/sites/*.yaml")))
def test_shipped_sites_load(path):
    model = load_site_model(path)
    assert model.zone_ids and model.config.site.id


def test_demo_area_is_realistic():
    cfg = load_site("firmware_configs/sites/demo-area.yaml")
    types = [z.type for z in cfg.zones]
    assert len(cfg.zones) >= 12 and types.count("waiting") >= 2 and types.count("interrogation") >= 2
    assert {z.id for z in cfg.zones} == {r.zone for r in cfg.readers}          # a reader per zone
    assert all(len(z.cameras) >= 2 for z in cfg.zones if z.type == "interrogation")
    assert cfg.flow and cfg.lockers


def test_unknown_zone_in_flow():
    found, text = faults(GOOD + "flow:\n  - [a, b]\n  - [b, nowhere]\n")
    assert found == [(9, "flow[1][1]", "unknown zone 'nowhere'")]
    assert "site.yaml:9: flow[1][1]: unknown zone 'nowhere'" in text


def test_reader_pointing_at_missing_zone():
    found, _ = faults(GOOD + "  - {id: r2, zone: c}\n")
    assert found == [(7, "readers[1].zone", "reader 'r2' points at missing zone 'c'")]


def test_recording_zone_without_camera():
    found, _ = faults(GOOD.replace("{id: b, type: waiting, cameras: [c2]}", "{id: b, type: waiting}"))
    assert found[0][:2] == (4, "zones[1].cameras") and "requires recording" in found[0][2]


def test_recording_not_required_needs_no_camera():
    parse_site(GOOD.replace("{id: b, type: waiting, cameras: [c2]}", "{id: b, type: waiting, requires_recording: false}"))


def test_duplicate_ids():
    found, _ = faults(GOOD + "  - {id: r1, zone: b}\n")
    assert found == [(7, "readers[1].id", "duplicate id 'r1' (first at readers[0])")]


def test_duplicate_yaml_key():
    found, _ = faults(GOOD + "rules: {grace_s: 3}\nrules: {grace_s: 4}\n")
    assert found[0][:2] == (8, "rules") and "duplicate key" in found[0][2]


@pytest.mark.parametrize("rule,value,needle", [
    ("grace_s", -1, "greater than or equal to 0"),
    ("lost_after_s", 0, "greater than 0"),
    ("slot_open_max_s", 10_000_000, "less than or equal to"),
    ("grace_s", "soon", "valid number"),
])
def test_negative_or_absurd_thresholds(rule, value, needle):
    found, _ = faults(GOOD + f"rules:\n  {rule}: {value}\n")
    assert found[0][:2] == (8, f"rules.{rule}") and needle in found[0][2]


def test_misspelt_rule_key():
    found, _ = faults(GOOD + "rules:\n  gace_s: 3\n")
    assert found == [(8, "rules.gace_s", "unknown key")]


def test_unknown_zone_type_and_basis():
    found, _ = faults(GOOD.replace("type: waiting", "type: cell") + "time_limits:\n  martial_law: {limit_h: 3}\n")
    assert (4, "zones[1].type") == found[0][:2] and "unknown zone type 'cell'" in found[0][2]
    assert (8, "time_limits.martial_law") == found[1][:2] and "unknown legal basis 'martial_law'" in found[1][2]


def test_extended_limit_must_exceed_limit():
    found, _ = faults(GOOD + "time_limits:\n  admin_summons: {limit_h: 8, extended_limit_h: 6}\n")
    assert found[0][1] == "time_limits.admin_summons" and "must exceed" in found[0][2]


def test_required_step_without_zone():
    found, _ = faults(GOOD + "required_steps: [security_check]\n")
    assert found[0][1] == "required_steps[0]"


def test_yaml_syntax_error_has_line():
    found, _ = faults(GOOD + "flow: [[a, b]\n")
    assert found[0][0] is not None and found[0][1] == "<yaml>"


def test_device_wiring_is_kept_for_the_gateway():
    cfg = parse_site(GOOD + "devices:\n  - {id: r1, driver: em4100_serial}\n")
    assert cfg.extras["devices"][0]["driver"] == "em4100_serial"


def test_missing_file():
    with pytest.raises(SiteConfigError, match="cannot read"):
        load_site("/nonexistent/site.yaml")


# ------------------------------------------------------------------ second layer keys (issue 13)

@pytest.mark.parametrize("extra, line, path, message", [
    ("rules: {meal_interval_h: -1}\n", 7, "rules.meal_interval_h", "greater than or equal to 0"),
    ("rules: {transfer_limit_h: 0}\n", 7, "rules.transfer_limit_h", "greater than 0"),
    ("rules: {intake_within_h: 0}\n", 7, "rules.intake_within_h", "greater than 0"),
    ("rules: {workorder_requires_approval: maybe}\n", 7, "rules.workorder_requires_approval", "boolean"),
    ("time_limits:\n  admin_summons: {vulnerable_limit_h: 2}\n", 8, "time_limits.admin_summons.vulnerable_limit_h",
     "only continued_questioning"),
    ("time_limits:\n  continued_questioning: {vulnerable_limit_h: 13}\n", 8,
     "time_limits.continued_questioning.vulnerable_limit_h", "longer than the 12 h limit"),
    ("time_limits:\n  continued_questioning:\n    stepwise: often\n", 9, "time_limits.continued_questioning.stepwise",
     "boolean"),
    ("time_limits:\n  continued_questioning: {extended_tiers_h: [24, 48], extended_limit_h: 36}\n", 8,
     "time_limits.continued_questioning.extended_limit_h", "not both"),
    ("rules: {warn_before_min: 300}\n", 7, "rules.warn_before_min", "limit of vulnerable subjects"),
])
def test_second_layer_keys_validated(extra, line, path, message):
    found, text = faults(GOOD + extra)
    assert any(ln == line and p == path and message in m for ln, p, m in found), found
    assert f"site.yaml:{line}: {path}: " in text


def test_site_timezone_validated():
    found, _ = faults(GOOD.replace("site: {id: s}", "site: {id: s, timezone: Mars/Olympus}"))
    assert found[0][:2] == (1, "site.timezone") and "unknown time zone 'Mars/Olympus'" in found[0][2]


def test_second_layer_defaults_and_overrides():
    from core_ext.site import compile_site
    model = compile_site(parse_site(GOOD))
    cq = 3  # vocab.BASES index of continued_questioning
    assert model.basis_limit_ms[cq] == 12 * 3_600_000
    assert model.basis_tiers_ms[cq] == (24 * 3_600_000, 48 * 3_600_000) and model.basis_stepwise == [False] * 3 + [True]
    assert model.vulnerable_limit_ms == 4 * 3_600_000 and model.meal_interval_ms == 0
    assert model.transfer_limit_ms == model.intake_within_ms == 24 * 3_600_000 and not model.workorder_requires_approval
    custom = compile_site(parse_site(GOOD + "time_limits:\n  continued_questioning: {extended_limit_h: 36, "
                                             "vulnerable_limit_h: 3}\n  admin_summons: {limit_h: 8, stepwise: true}\n"))
    assert custom.basis_tiers_ms[cq] == (24 * 3_600_000, 36 * 3_600_000) and custom.vulnerable_limit_ms == 3 * 3_600_000
    assert custom.basis_stepwise[2] is True


@pytest.mark.parametrize("name", ["demo-area", "demo-property"])
def test_demo_sites_set_the_second_layer_policies(name):
    cfg = load_site(f"firmware_configs/sites/{name}.yaml")
    assert cfg.rules.meal_interval_h == 6 and cfg.rules.workorder_requires_approval is True
    assert cfg.site.timezone == "Asia/Shanghai"
