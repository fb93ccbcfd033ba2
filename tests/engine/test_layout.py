"""Site layouts (core_ext/layout.py): faults name file:line: key.path, plans are normalised."""
from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import pytest

from core_ext.api import site_fingerprint
from core_ext.geometry import contains, exact, overlap_area, simple_polygon_fault
from core_ext.layout import flow_order, site_plan
from core_ext.resources import site_file, sites_dir
from core_ext.site import SiteConfigError, compile_site, load_site, parse_site
from server.web.floorplan import dot_points, place, positions_at

pytestmark = pytest.mark.floorplan

BASE = """\
site: {id: s}
zones:
  - {id: a, type: entry, cameras: [c1]}
  - {id: b, type: waiting, cameras: [c2]}
  - {id: c, type: exit, cameras: [c3]}
flow:
  - [a, b]
  - [b, c]
lockers:
  - {id: bank, slots: 4, zone: b}
doors:
  - {id: door, zone: a}
"""


def faults(text: str, source: str = "site.yaml") -> tuple[list, str]:
    with pytest.raises(SiteConfigError) as info:
        parse_site(text, source)
    return list(info.value.faults), str(info.value)


def with_layout(body: str) -> str:
    return BASE + "layout:\n" + body


GOOD_LAYOUT = """\
  zones:
    a: {rect: [0, 0, 4, 3]}
    b: {polygon: [[4, 0], [10, 0], [10, 3], [4, 3]]}
    c: {rect: [10, 0, 2, 3]}
  doors: {door: [0, 1.5]}
  lockers: {bank: [7, 0.5]}
"""


def test_a_sound_layout_gives_a_normalised_plan():
    cfg = parse_site(with_layout(GOOD_LAYOUT), "site.yaml")
    plan = site_plan(cfg)
    assert plan["source"] == "config" and plan["bounds"] == [0.0, 0.0, 12.0, 3.0]
    assert [z["id"] for z in plan["zones"]] == ["a", "b", "c"]
    assert plan["zones"][0]["points"] == [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]]
    for zone in plan["zones"]:
        assert contains(zone["points"], *zone["label"])
    assert plan["doors"] == [{"id": "door", "zone": "a", "at": [0.0, 1.5]}]
    assert plan["lockers"] == [{"id": "bank", "zone": "b", "at": [7.0, 0.5]}]
    assert plan["flow"] == [["a", "b"], ["b", "c"]]


def test_zone_without_geometry():
    found, text = faults(with_layout(GOOD_LAYOUT.replace("    c: {rect: [10, 0, 2, 3]}\n", "")))
    assert found == [(15, "layout.zones", "zone 'c' has no geometry (give it a rect or polygon)")]
    assert "site.yaml:15: layout.zones: zone 'c' has no geometry" in text


def test_layout_names_a_zone_the_site_does_not_have():
    text = with_layout(GOOD_LAYOUT.replace("    c: {rect: [10, 0, 2, 3]}\n", "    c: {rect: [10, 0, 2, 3]}\n    zz: {rect: [20, 0, 1, 1]}\n"))
    found, _ = faults(text)
    assert found == [(18, "layout.zones.zz", "unknown zone 'zz'")]


def test_overlapping_zones_are_refused_with_the_shared_area():
    text = with_layout(GOOD_LAYOUT.replace("c: {rect: [10, 0, 2, 3]}", "c: {rect: [9.5, 1, 2, 1]}"))
    found, text_out = faults(text)
    assert found == [(17, "layout.zones.c", "zone 'c' overlaps zone 'b' (0.5 m²)")]
    assert "site.yaml:17: layout.zones.c: zone 'c' overlaps zone 'b'" in text_out


def test_zones_sharing_a_wall_or_a_corner_do_not_overlap():
    # c touches b along x = 10 and a touches b along x = 4: area exactly 0
    parse_site(with_layout(GOOD_LAYOUT), "site.yaml")
    corner = GOOD_LAYOUT.replace("c: {rect: [10, 0, 2, 3]}", "c: {rect: [10, 3, 2, 2]}")
    parse_site(with_layout(corner), "site.yaml")


def test_non_convex_zones_overlap_exactly():
    ell = exact([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])
    in_the_notch = exact([(2, 2), (10, 2), (10, 10), (2, 10)])
    crossing = exact([(1, 1), (3, 1), (3, 3), (1, 3)])
    assert overlap_area(ell, in_the_notch) == 0
    assert overlap_area(ell, crossing) == 3  # the 2 × 2 square minus the notch's 1 × 1
    # a millimetre is a positive area, found without rounding
    sliver = exact([(9.999, 0), (12, 0), (12, 2), (9.999, 2)])
    assert overlap_area(ell, sliver) == Fraction(9.999 * 0 + 2) * (10 - Fraction(9.999))


def test_self_crossing_and_degenerate_polygons():
    assert "not simple" in simple_polygon_fault(exact([(0, 0), (4, 0), (0, 3), (4, 3), (2, -1)]))
    assert simple_polygon_fault(exact([(0, 0), (4, 0), (8, 0)])) == "the polygon has no area"
    text = with_layout(GOOD_LAYOUT.replace("b: {polygon: [[4, 0], [10, 0], [10, 3], [4, 3]]}",
                                           "b: {polygon: [[4, 0], [10, 3], [10, 0], [4, 3]]}"))
    found, _ = faults(text)
    assert found[0][1] == "layout.zones.b" and found[0][0] == 16


def test_shape_errors_from_the_model():
    found, _ = faults(with_layout(GOOD_LAYOUT.replace("a: {rect: [0, 0, 4, 3]}", "a: {rect: [0, 0, 0, 3]}")))
    assert found[0][:2] == (15, "layout.zones.a") and "width and height must be positive" in found[0][2]
    found, _ = faults(with_layout(GOOD_LAYOUT.replace("a: {rect: [0, 0, 4, 3]}", "a: {rect: [0, 0, 4, 3], polygon: [[0, 0], [1, 0], [1, 1]]}")))
    assert found[0][:2] == (15, "layout.zones.a") and "exactly one of rect" in found[0][2]
    found, _ = faults(with_layout(GOOD_LAYOUT.replace("a: {rect: [0, 0, 4, 3]}", "a: {circle: 3}")))
    assert (15, "layout.zones.a.circle", "unknown key") in found


def test_doors_and_banks_that_do_not_exist():
    found, _ = faults(with_layout(GOOD_LAYOUT.replace("doors: {door: [0, 1.5]}", "doors: {dor: [0, 1.5]}")))
    assert found == [(18, "layout.doors.dor", "unknown door 'dor'")]
    found, _ = faults(with_layout(GOOD_LAYOUT.replace("lockers: {bank: [7, 0.5]}", "lockers: {bnk: [7, 0.5]}")))
    assert found == [(19, "layout.lockers.bnk", "unknown locker bank 'bnk'")]


# --------------------------------------------------------------------------- SVG plans

SVG_OK = """\
<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 30">
  <rect x="0" y="0" width="120" height="30" fill="none"/>
  <g transform="translate(0, 0) scale(10)">
    <rect id="a" x="0" y="0" width="4" height="3"/>
  </g>
  <path id="b" d="M40 0 h60 v30 H40 z"/>
  <polygon id="c" points="100,0 120,0 120,30 100,30"/>
  <circle id="door" cx="0" cy="15" r="2"/>
  <ellipse id="bank" cx="70" cy="5" rx="3" ry="2"/>
</svg>
"""


def svg_site(tmp_path: Path, svg: str, scale: str = "0.1") -> tuple[str, Path]:
    (tmp_path / "plans").mkdir(exist_ok=True)
    (tmp_path / "plans" / "p.svg").write_text(svg)
    site = tmp_path / "site.yaml"
    site.write_text(with_layout(f"  svg: plans/p.svg\n  metres_per_unit: {scale}\n"))
    return str(site), site


def svg_faults(tmp_path: Path, svg: str) -> list:
    source, _ = svg_site(tmp_path, svg)
    with pytest.raises(SiteConfigError) as info:
        load_site(source)
    return [(line, path, msg) for line, path, msg in info.value.faults]


def test_svg_plan_in_metres_with_transforms(tmp_path):
    source, _ = svg_site(tmp_path, SVG_OK)
    plan = site_plan(load_site(source))
    assert plan["source"] == "svg"
    zones = {z["id"]: z["points"] for z in plan["zones"]}
    assert zones["a"] == [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]]  # scale(10) × 0.1 m
    assert zones["b"] == [[4.0, 0.0], [10.0, 0.0], [10.0, 3.0], [4.0, 3.0]]
    assert zones["c"] == [[10.0, 0.0], [12.0, 0.0], [12.0, 3.0], [10.0, 3.0]]
    assert plan["doors"] == [{"id": "door", "zone": "a", "at": [0.0, 1.5]}]
    assert plan["lockers"] == [{"id": "bank", "zone": "b", "at": [7.0, 0.5]}]


def test_svg_id_that_is_no_zone(tmp_path):
    found = svg_faults(tmp_path, SVG_OK.replace('  <circle id="door"', '  <rect id="lobby" x="0" y="40" width="1" height="1"/>\n  <circle id="door"'))
    assert found == [(14, "layout.svg", "plans/p.svg:9: element id 'lobby' is no zone, door or locker bank of this site")]


def test_svg_without_a_zone(tmp_path):
    found = svg_faults(tmp_path, SVG_OK.replace('<polygon id="c" points="100,0 120,0 120,30 100,30"/>', ""))
    assert found == [(14, "layout.svg", "zone 'c' has no element in plans/p.svg (no geometry)")]


def test_svg_zones_overlapping(tmp_path):
    found = svg_faults(tmp_path, SVG_OK.replace('points="100,0 120,0', 'points="95,0 120,0'))
    assert found == [(14, "layout.svg", "plans/p.svg:8: zone 'c' overlaps zone 'b' (0.75 m²)")]  # a triangle 5 × 30 units


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',   # entity expansion
    '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>',                          # external entity
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">',
])
def test_svg_with_a_doctype_is_refused_before_any_entity(tmp_path, doctype):
    svg = SVG_OK.replace('<?xml version="1.0"?>\n', f'<?xml version="1.0"?>\n{doctype}\n').replace('id="a"', 'id="a" class="&b;"')
    found = svg_faults(tmp_path, svg)
    assert found == [(14, "layout.svg", "plans/p.svg:2: a DOCTYPE is not allowed in an SVG plan (entities are refused)")]


@pytest.mark.parametrize(("change", "message"), [
    (('d="M40 0 h60 v30 H40 z"', 'd="M40 0 C 50 0 60 10 100 0 v30 H40 z"'),
     "plans/p.svg:7: path command 'C' is not supported in a zone outline (straight lines only: M L H V Z)"),
    (('transform="translate(0, 0) scale(10)"', 'transform="rotate(5)"'),
     "plans/p.svg:4: transform rotate(5) is not supported (use translate, scale or matrix)"),
    (('<rect id="a" x="0" y="0" width="4"', '<rect id="a" x="0" y="0" width="4mm"'),
     "plans/p.svg:5: width='4mm' is not a plain number (units other than px are not supported)"),
    (('<polygon id="c"', '<text id="c">c</text><polygon'),
     "plans/p.svg:8: element <text id='c'> cannot be a zone, door or locker bank (use rect, polygon, path, circle or ellipse)"),
    (('</svg>', ''), "plans/p.svg:12: not well-formed XML: no element found"),
])
def test_svg_faults_point_at_the_svg_line(tmp_path, change, message):
    found = svg_faults(tmp_path, SVG_OK.replace(*change))
    assert found == [(14, "layout.svg", message)]


def test_svg_that_cannot_be_read(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(with_layout("  svg: nowhere.svg\n"))
    with pytest.raises(SiteConfigError) as info:
        load_site(site)
    assert info.value.faults == [(14, "layout.svg", "cannot read nowhere.svg: No such file or directory")]


def test_svg_and_zones_together_are_refused():
    found, _ = faults(with_layout("  svg: p.svg\n" + GOOD_LAYOUT))
    assert found[0][:2] == (14, "layout") and "not both" in found[0][2]


# --------------------------------------------------------------------------- plans of every site


@pytest.mark.parametrize("path", sorted(str(p) for p in sites_dir().glob("*.yaml")))
def test_shipped_sites_have_a_drawn_plan(path):
    cfg = load_site(path)
    assert cfg.layout is not None
    plan = site_plan(cfg)
    assert plan["source"] in ("svg", "config")
    assert [z["id"] for z in plan["zones"]] == [z.id for z in cfg.zones]
    assert {d["id"] for d in plan["doors"]} == {d.id for d in cfg.doors}
    assert {b["id"] for b in plan["lockers"]} == {b.id for b in cfg.lockers}


def test_demo_area_one_way_loop_runs_wall_to_wall():
    """Each one-way step of the demo area's loop crosses a wall its two rooms share (the plan's arrows)."""
    cfg = load_site(site_file("demo-area"))
    zones = {z["id"]: exact(z["points"]) for z in site_plan(cfg)["zones"]}
    loop = ["entry", "reg", "check", "belong", "info", "corridor", "exit"]
    for a, b in itertools.pairwise(loop):
        assert (a, b) in set(cfg.flow) and (b, a) not in set(cfg.flow)
        assert overlap_area(zones[a], zones[b]) == 0
        assert _shared_wall(zones[a], zones[b]) > 0, (a, b)


def _shared_wall(a, b) -> Fraction:
    def cross(o, u, v):
        return (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0])

    total = Fraction(0)
    for i in range(len(a)):
        p, q = a[i], a[(i + 1) % len(a)]
        for j in range(len(b)):
            r, s = b[j], b[(j + 1) % len(b)]
            if cross(p, q, r) == 0 and cross(p, q, s) == 0:
                axis = 0 if p[0] != q[0] else 1
                lo = max(min(p[axis], q[axis]), min(r[axis], s[axis]))
                hi = min(max(p[axis], q[axis]), max(r[axis], s[axis]))
                total += max(Fraction(0), hi - lo)
    return total


def test_a_site_without_layout_gets_a_generated_plan_in_flow_order():
    cfg = parse_site(BASE.replace("  - [a, b]\n  - [b, c]\n", "  - [b, c]\n  - [a, b]\n"), "site.yaml")
    assert flow_order(cfg) == [["a"], ["b"], ["c"]]
    plan = site_plan(cfg)
    assert plan["source"] == "generated"
    xs = {z["id"]: z["points"][0][0] for z in plan["zones"]}
    assert xs["a"] < xs["b"] < xs["c"]
    shapes = [exact(z["points"]) for z in plan["zones"]]
    assert all(overlap_area(p, q) == 0 for i, p in enumerate(shapes) for q in shapes[i + 1:])
    assert [d["id"] for d in plan["doors"]] == ["door"] and [b["id"] for b in plan["lockers"]] == ["bank"]
    demo = load_site(site_file("demo-area"))
    columns = flow_order(demo)
    assert columns[0] == ["entry"] and columns[-1] == ["exit"] and "int1" in columns[-2]


def test_the_layout_is_not_part_of_the_engine_fingerprint():
    without = compile_site(parse_site(BASE, "site.yaml"))
    drawn = compile_site(parse_site(with_layout(GOOD_LAYOUT), "site.yaml"))
    moved = compile_site(parse_site(with_layout(GOOD_LAYOUT.replace("[0, 1.5]", "[0, 2]")), "site.yaml"))
    assert site_fingerprint(without) == site_fingerprint(drawn) == site_fingerprint(moved)
    other_rules = compile_site(parse_site(BASE + "rules: {grace_s: 10}\n", "site.yaml"))
    assert site_fingerprint(other_rules) != site_fingerprint(without)


# --------------------------------------------------------------------------- who is where, and the dots

TRAIL = {
    "person": "s1", "checkin_ts": 1000, "checkout_ts": None,
    "stays": [
        {"zone": "a", "enter_ts": 1000, "leave_ts": 2000, "officers": ["o2", "o1"]},
        {"zone": None, "enter_ts": 2000, "leave_ts": 2500, "officers": []},          # tag lost
        {"zone": "b", "enter_ts": 3000, "leave_ts": 4000, "officers": ["o1"]},
        {"zone": "c", "enter_ts": 4000, "leave_ts": None, "officers": []},           # still there
    ],
}


@pytest.mark.parametrize(("t", "expected"), [
    (999, []),
    (1000, [("s1", "subject", "a"), ("o1", "staff", "a"), ("o2", "staff", "a")]),
    (1999, [("s1", "subject", "a"), ("o1", "staff", "a"), ("o2", "staff", "a")]),
    (2000, [("s1", "subject", None)]),
    (2700, [("s1", "subject", None)]),                # between stays: location unknown
    (3000, [("s1", "subject", "b"), ("o1", "staff", "b")]),
    (4000, [("s1", "subject", "c")]),
    (10**13, [("s1", "subject", "c")]),               # an open stay runs on
])
def test_positions_at_follow_the_stays(t, expected):
    assert [(p["id"], p["kind"], p["zone"]) for p in positions_at(TRAIL, t)] == expected


def test_positions_at_after_checkout_show_nobody():
    closed = {**TRAIL, "checkout_ts": 5000, "stays": [*TRAIL["stays"][:3], {**TRAIL["stays"][3], "leave_ts": 5000}]}
    assert positions_at(closed, 4999)[0]["zone"] == "c"
    assert positions_at(closed, 5000) == []


@pytest.mark.parametrize("n", [1, 2, 5, 12, 40])
def test_dots_sit_inside_their_zone_apart(n):
    cfg = load_site(site_file("demo-area"))
    plan = site_plan(cfg)
    for zone in plan["zones"]:
        points = dot_points(zone, n)
        assert len(points) == n
        assert all(contains(zone["points"], x, y) for x, y in points), zone["id"]
        if n <= 12:  # a small room holds a dozen people apart; beyond that dots may share a place
            assert len(set(points)) == n, zone["id"]


def test_place_puts_subjects_first_and_lists_the_unplaced():
    plan = site_plan(parse_site(with_layout(GOOD_LAYOUT), "site.yaml"))
    people = [{"id": "o1", "kind": "staff", "zone": "a"}, {"id": "s1", "kind": "subject", "zone": "a"},
              {"id": "s2", "kind": "subject", "zone": None}, {"id": "s3", "kind": "subject", "zone": "elsewhere"}]
    dots, unplaced = place(plan, people)
    assert [d["id"] for d in dots] == ["s1", "o1"]
    assert [p["id"] for p in unplaced] == ["s2", "s3"]
    zone_a = plan["zones"][0]
    assert [(d["x"], d["y"]) for d in dots] == dot_points(zone_a, 2)


def test_svg_zone_with_too_many_corners(tmp_path):
    many = " ".join(f"{100 + 20 * i / 300:.4f},{(i % 2) * 0.001}" for i in range(300)) + " 120,30 100,30"
    found = svg_faults(tmp_path, SVG_OK.replace('points="100,0 120,0 120,30 100,30"', f'points="{many}"'))
    assert found == [(14, "layout.svg", "plans/p.svg:8: 'c' has 302 corners; a zone outline has at most 64")]
