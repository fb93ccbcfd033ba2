"""Floor plans of a site: the optional `layout:` key of the site file, checked and normalised.

The engine ignores the layout (it is not part of `site_fingerprint`); the gateway sends the
normalised plan to the center with its site descriptor, and the consoles draw it.

Two ways to give a layout (coordinates in metres, x to the right, y downwards as in SVG)::

    layout:
      zones:                               # every zone of the site, exactly once
        entry:    {rect: [0, 0, 4, 3]}     # x, y, width, height
        corridor: {polygon: [[4, 0], [20, 0], [20, 2], [4, 2]]}
      doors:   {door-main: [0, 1.5]}       # optional: where doors and locker banks sit
      lockers: {belong-a: [9, 4.5]}

    layout:
      svg: ../plans/demo-area.svg          # relative to the site file
      metres_per_unit: 0.1                 # SVG user units -> metres (default 1)

In an SVG plan every element with an `id` must be a zone (a `rect`, `polygon` or straight-line
`path`), a door or a locker bank (any of those, or a `circle`/`ellipse`; its centre is used).
Group transforms `translate`, `scale` and `matrix` are applied. The file is parsed with expat
and any DOCTYPE is refused, so no entity (internal or external) is ever expanded.

A site without `layout:` gets a generated plan: zones in flow order, one column per step of
the flow, so every site has a picture. `site_plan(cfg)` returns the normalised plan (see
`PLAN_VERSION`); `layout_faults(cfg)` the faults `core_ext.site` reports with file:line.
"""
from __future__ import annotations

import os
import re
import xml.parsers.expat
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core_ext import geometry as g

if TYPE_CHECKING:
    from core_ext.site import SiteConfig

PLAN_VERSION = 1
MAX_SVG_BYTES = 2_000_000
MAX_COORD_M = 100_000.0
MAX_CORNERS = 64  # per zone outline: the exact overlap check is quadratic in corners (bench/floorplan.py)

Point = tuple[float, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite(value: float) -> float:
    if not -MAX_COORD_M <= value <= MAX_COORD_M:
        raise ValueError(f"coordinate {value} is not within ±{MAX_COORD_M:g} m")
    return value


class ZoneShape(_Strict):
    rect: tuple[float, float, float, float] | None = Field(default=None, description="x, y, width, height (m)")
    polygon: list[Point] | None = Field(default=None, min_length=3, max_length=MAX_CORNERS)

    @model_validator(mode="after")
    def _one_shape(self) -> ZoneShape:
        if (self.rect is None) == (self.polygon is None):
            raise ValueError("give exactly one of rect: [x, y, width, height] or polygon: [[x, y], ...]")
        if self.rect is not None:
            for v in self.rect:
                _finite(v)
            if self.rect[2] <= 0 or self.rect[3] <= 0:
                raise ValueError(f"rect width and height must be positive, got {self.rect[2]} × {self.rect[3]}")
        for x, y in self.polygon or []:
            _finite(x)
            _finite(y)
        return self

    def points(self) -> list[Point]:
        if self.rect is not None:
            x, y, w, h = self.rect
            return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        assert self.polygon is not None
        return list(self.polygon)


class LayoutConfig(_Strict):
    svg: str | None = Field(default=None, min_length=1, description="SVG plan, relative to the site file")
    metres_per_unit: float = Field(default=1.0, gt=0, le=1000)
    zones: dict[str, ZoneShape] = {}
    doors: dict[str, Point] = {}
    lockers: dict[str, Point] = {}

    @field_validator("doors", "lockers")
    @classmethod
    def _finite_points(cls, value: dict[str, Point]) -> dict[str, Point]:
        for x, y in value.values():
            _finite(x)
            _finite(y)
        return value

    @model_validator(mode="after")
    def _svg_or_zones(self) -> LayoutConfig:
        if self.svg is not None and self.zones:
            raise ValueError("give zones or svg, not both")
        if self.svg is None and not self.zones:
            raise ValueError("a layout gives zones: {zone: {rect|polygon}} or svg: FILE")
        return self


# --------------------------------------------------------------------------- SVG


class SvgError(ValueError):
    def __init__(self, line: int | None, message: str):
        self.line = line
        super().__init__(message)


@dataclass
class _SvgShape:
    id: str
    tag: str
    line: int
    points: list[tuple[Fraction, Fraction]] | None  # polygon corners (rect, polygon, path)
    centre: tuple[Fraction, Fraction] | None = None  # circle/ellipse


@dataclass
class _SvgPlan:
    shapes: list[_SvgShape] = field(default_factory=list)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_LENGTH = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px)?\s*$")
_TRANSFORM = re.compile(r"\s*(\w+)\s*\(([^)]*)\)\s*,?")
_PATH_TOKEN = re.compile(r"([MmLlHhVvZz])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([,\s]+)|(.)")

Matrix = tuple[Fraction, Fraction, Fraction, Fraction, Fraction, Fraction]  # a b c d e f
_IDENTITY: Matrix = (Fraction(1), Fraction(0), Fraction(0), Fraction(1), Fraction(0), Fraction(0))


def _mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f)


def _apply(m: Matrix, x: Fraction, y: Fraction) -> tuple[Fraction, Fraction]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _length(value: str | None, what: str, line: int) -> Fraction:
    if value is None:
        return Fraction(0)
    match = _LENGTH.match(value)
    if not match:
        raise SvgError(line, f"{what}={value!r} is not a plain number (units other than px are not supported)")
    return Fraction(match.group(1))


def _transform(value: str, line: int) -> Matrix:
    m = _IDENTITY
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _TRANSFORM.match(text, pos)
        if not match:
            raise SvgError(line, f"transform={value!r} cannot be read")
        name, args = match.group(1), [Fraction(n) for n in _NUMBER.findall(match.group(2))]
        if name == "translate" and len(args) in (1, 2):
            step: Matrix = (Fraction(1), Fraction(0), Fraction(0), Fraction(1), args[0], args[1] if len(args) == 2 else Fraction(0))
        elif name == "scale" and len(args) in (1, 2):
            step = (args[0], Fraction(0), Fraction(0), args[1] if len(args) == 2 else args[0], Fraction(0), Fraction(0))
        elif name == "matrix" and len(args) == 6:
            step = (args[0], args[1], args[2], args[3], args[4], args[5])
        else:
            raise SvgError(line, f"transform {name}({match.group(2).strip()}) is not supported "
                                 "(use translate, scale or matrix)")
        m = _mul(m, step)
        pos = match.end()
    return m


def _path_points(d: str, line: int) -> list[tuple[Fraction, Fraction]]:
    """A closed straight-line path (M, L, H, V, Z, absolute or relative) as polygon corners."""
    tokens: list[str | Fraction] = []
    for cmd, num, _space, other in _PATH_TOKEN.findall(d):
        if other:
            raise SvgError(line, f"path command {other!r} is not supported in a zone outline "
                                 "(straight lines only: M L H V Z)")
        if cmd:
            tokens.append(cmd)
        elif num:
            tokens.append(Fraction(num))
    points: list[tuple[Fraction, Fraction]] = []
    x = y = Fraction(0)
    cmd = ""
    i = 0
    closed = False
    while i < len(tokens):
        token = tokens[i]
        if isinstance(token, str):
            cmd = token
            i += 1
            if cmd in "Zz":
                closed = True
                continue
        elif not cmd:
            raise SvgError(line, "path data starts with a number")
        if closed:
            raise SvgError(line, "a zone outline is one closed path (nothing after Z)")

        def take(count: int, command: str) -> list[Fraction]:
            nonlocal i
            args = [a for a in tokens[i:i + count] if isinstance(a, Fraction)]
            if len(args) < count:
                raise SvgError(line, f"path command {command} needs {count} number(s)")
            i += count
            return args

        if cmd in "MmLl":
            dx, dy = take(2, cmd)
            if cmd.islower():
                x, y = x + dx, y + dy
            else:
                x, y = dx, dy
            if cmd in "Mm" and points:
                raise SvgError(line, "a zone outline is one closed path (a second M starts another)")
            cmd = {"M": "L", "m": "l"}.get(cmd, cmd)
        elif cmd in "Hh":
            (v,) = take(1, cmd)
            x = x + v if cmd == "h" else v
        elif cmd in "Vv":
            (v,) = take(1, cmd)
            y = y + v if cmd == "v" else v
        points.append((x, y))
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return points


def _points_attr(value: str, line: int) -> list[tuple[Fraction, Fraction]]:
    nums = [Fraction(n) for n in _NUMBER.findall(value)]
    if len(nums) % 2:
        raise SvgError(line, "points= has an odd count of numbers")
    pts = [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    return pts


def parse_svg(data: bytes) -> _SvgPlan:
    """The id'd shapes of an SVG file. Refuses a DOCTYPE (so no entity is ever expanded)."""
    if len(data) > MAX_SVG_BYTES:
        raise SvgError(None, f"the SVG is larger than {MAX_SVG_BYTES} bytes")
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    plan = _SvgPlan()
    stack: list[Matrix] = [_IDENTITY]
    depth = [0]

    def refuse_doctype(*_args: Any) -> None:
        raise SvgError(parser.CurrentLineNumber, "a DOCTYPE is not allowed in an SVG plan (entities are refused)")

    def refuse_entity(*_args: Any) -> Any:
        raise SvgError(parser.CurrentLineNumber, "entity declarations are not allowed in an SVG plan")

    def start(name: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        tag = name.rsplit("}", 1)[-1]
        if depth[0] == 0 and tag != "svg":
            raise SvgError(line, f"the root element is <{tag}>, not <svg>")
        depth[0] += 1
        m = stack[-1]
        if "transform" in attrs:
            m = _mul(m, _transform(attrs["transform"], line))
        stack.append(m)
        ident = attrs.get("id")
        if ident is None or depth[0] == 1:
            return
        points: list[tuple[Fraction, Fraction]] | None = None
        centre = None
        if tag == "rect":
            x, y = _length(attrs.get("x"), "x", line), _length(attrs.get("y"), "y", line)
            w, h = _length(attrs.get("width"), "width", line), _length(attrs.get("height"), "height", line)
            points = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        elif tag == "polygon":
            points = _points_attr(attrs.get("points", ""), line)
        elif tag == "path":
            points = _path_points(attrs.get("d", ""), line)
        elif tag in ("circle", "ellipse"):
            centre = _apply(m, _length(attrs.get("cx"), "cx", line), _length(attrs.get("cy"), "cy", line))
        else:
            raise SvgError(line, f"element <{tag} id={ident!r}> cannot be a zone, door or locker bank "
                                 "(use rect, polygon, path, circle or ellipse)")
        if points is not None:
            points = [_apply(m, x, y) for x, y in points]
        plan.shapes.append(_SvgShape(id=ident, tag=tag, line=line, points=points, centre=centre))

    def end(_name: str) -> None:
        stack.pop()
        depth[0] -= 1

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_entity
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise SvgError(exc.lineno, f"not well-formed XML: {xml.parsers.expat.ErrorString(exc.code)}") from None
    except ArithmeticError as exc:
        raise SvgError(parser.CurrentLineNumber, f"bad number: {exc}") from None
    return plan


# --------------------------------------------------------------------------- checking and plans


Fault = tuple[tuple, str]


@dataclass
class _Resolved:
    zones: dict[str, list[tuple[Fraction, Fraction]]]  # exact corners, metres
    zone_paths: dict[str, tuple]                        # where to blame each zone
    doors: dict[str, tuple[float, float]]
    lockers: dict[str, tuple[float, float]]
    source: str


def svg_path(cfg: SiteConfig, svg: str) -> str:
    base = os.path.dirname(os.path.abspath(cfg.source)) if cfg.source and not cfg.source.startswith("<") else os.getcwd()
    return os.path.normpath(os.path.join(base, svg))


def _resolve(cfg: SiteConfig, faults: list[Fault]) -> _Resolved | None:
    layout = cfg.layout
    assert layout is not None
    zone_ids = [z.id for z in cfg.zones]
    door_ids = {d.id for d in cfg.doors}
    bank_ids = {b.id for b in cfg.lockers}
    zones: dict[str, list[tuple[Fraction, Fraction]]] = {}
    paths: dict[str, tuple] = {}
    doors = {k: (float(x), float(y)) for k, (x, y) in layout.doors.items()}
    lockers = {k: (float(x), float(y)) for k, (x, y) in layout.lockers.items()}
    if layout.svg is not None:
        where = ("layout", "svg")
        path = svg_path(cfg, layout.svg)
        name = layout.svg
        try:
            with open(path, "rb") as fh:
                plan = parse_svg(fh.read())
        except OSError as exc:
            faults.append((where, f"cannot read {name}: {exc.strerror}"))
            return None
        except SvgError as exc:
            faults.append((where, f"{name}:{exc.line if exc.line is not None else '?'}: {exc}"))
            return None
        scale = Fraction(layout.metres_per_unit)
        seen: dict[str, int] = {}
        blamed: set[str] = set()
        for shape in plan.shapes:
            at = f"{name}:{shape.line}"
            if shape.id in seen:
                faults.append((where, f"{at}: id {shape.id!r} appears twice (first at line {seen[shape.id]})"))
                continue
            seen[shape.id] = shape.line
            if shape.points is not None:
                pts = [(x * scale, y * scale) for x, y in shape.points]
            else:
                assert shape.centre is not None
                pts = [(shape.centre[0] * scale, shape.centre[1] * scale)]
            if shape.points is not None and len(shape.points) > MAX_CORNERS:
                faults.append((where, f"{at}: {shape.id!r} has {len(shape.points)} corners; a zone outline has at most {MAX_CORNERS}"))
                blamed.add(shape.id)
                continue
            if shape.id in zone_ids:
                if shape.points is None:
                    faults.append((where, f"{at}: zone {shape.id!r} is a <{shape.tag}>; a zone is a rect, polygon or path"))
                    blamed.add(shape.id)
                    continue
                zones[shape.id] = pts
                paths[shape.id] = (where, at)
            elif shape.id in door_ids or shape.id in bank_ids:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                centre = (float((min(xs) + max(xs)) / 2), float((min(ys) + max(ys)) / 2))
                (doors if shape.id in door_ids else lockers).setdefault(shape.id, centre)
            else:
                faults.append((where, f"{at}: element id {shape.id!r} is no zone, door or locker bank of this site"))
        for zid in zone_ids:
            if zid not in zones and zid not in blamed:
                faults.append((where, f"zone {zid!r} has no element in {name} (no geometry)"))
        source = "svg"
    else:
        for zid, outline in layout.zones.items():
            if zid not in zone_ids:
                faults.append((("layout", "zones", zid), f"unknown zone {zid!r}"))
                continue
            zones[zid] = g.exact(outline.points())
            paths[zid] = (("layout", "zones", zid), "")
        missing = [z for z in zone_ids if z not in layout.zones]
        for zid in missing:
            faults.append((("layout", "zones"), f"zone {zid!r} has no geometry (give it a rect or polygon)"))
        source = "config"
    for section, known, placed in (("doors", door_ids, layout.doors), ("lockers", bank_ids, layout.lockers)):
        for key in placed:
            if key not in known:
                faults.append((("layout", section, key), f"unknown {'door' if section == 'doors' else 'locker bank'} {key!r}"))
    return _Resolved(zones=zones, zone_paths=paths, doors=doors, lockers=lockers, source=source)


def _blame(resolved: _Resolved, zid: str) -> tuple[tuple, str]:
    path, prefix = resolved.zone_paths[zid]
    return path, (prefix + ": " if prefix else "")


def _check_shapes(resolved: _Resolved, order: list[str], faults: list[Fault]) -> list[str]:
    good: list[str] = []
    for zid in order:
        if zid not in resolved.zones:
            continue
        fault = g.simple_polygon_fault(resolved.zones[zid])
        if fault:
            path, prefix = _blame(resolved, zid)
            faults.append((path, f"{prefix}zone {zid!r}: {fault}"))
        else:
            good.append(zid)
    for i, a in enumerate(good):
        for b in good[i + 1:]:
            area = g.overlap_area(resolved.zones[a], resolved.zones[b])
            if area > 0:
                path, prefix = _blame(resolved, b)
                faults.append((path, f"{prefix}zone {b!r} overlaps zone {a!r} ({float(area):.3g} m²)"))
    return good


def layout_faults(cfg: SiteConfig) -> list[Fault]:
    """Faults of the site's layout as (key path, message); [] when it has none or it is sound."""
    if cfg.layout is None:
        return []
    faults: list[Fault] = []
    resolved = _resolve(cfg, faults)
    if resolved is not None:
        _check_shapes(resolved, [z.id for z in cfg.zones], faults)
    return faults


def _r(v: float | Fraction) -> float:
    return round(float(v), 3)


def site_plan(cfg: SiteConfig) -> dict[str, Any]:
    """The normalised plan (zones as polygons in metres, doors, locker banks, flow) of a checked site.

    {"version": 1, "source": "config"|"svg"|"generated", "bounds": [x0, y0, x1, y1],
     "zones": [{"id", "type", "points": [[x, y], ...], "label": [x, y]}],
     "doors": [{"id", "at": [x, y]}], "lockers": [{"id", "at": [x, y]}], "flow": [[a, b], ...]}
    """
    if cfg.layout is None:
        return generated_plan(cfg)
    faults: list[Fault] = []
    resolved = _resolve(cfg, faults)
    if resolved is None or faults:
        raise ValueError(f"the layout of {cfg.source} has faults: {faults}")
    zones = {zid: [(_r(x), _r(y)) for x, y in pts] for zid, pts in resolved.zones.items()}
    return _plan(cfg, resolved.source, zones, resolved.doors, resolved.lockers)


def _plan(cfg: SiteConfig, source: str, zones: dict[str, list[tuple[float, float]]],
          doors: dict[str, tuple[float, float]], lockers: dict[str, tuple[float, float]]) -> dict[str, Any]:
    return build_plan(
        source, [(z.id, z.type) for z in cfg.zones], zones,
        [(d.id, d.zone) for d in cfg.doors], doors, [(b.id, b.zone) for b in cfg.lockers], lockers,
        [list(pair) for pair in cfg.flow] if cfg.flow is not None else [],
    )


def build_plan(source: str, zone_list: list[tuple[str, str]], zones: dict[str, list[tuple[float, float]]],
               door_list: list[tuple[str, str | None]], doors: dict[str, tuple[float, float]],
               bank_list: list[tuple[str, str | None]], lockers: dict[str, tuple[float, float]],
               flow: list[list[str]]) -> dict[str, Any]:
    """The normalised plan from zone outlines; doors and banks not placed sit on or in their zone."""
    out_zones = []
    for zid, ztype in zone_list:
        pts = zones[zid]
        out_zones.append({"id": zid, "type": ztype, "points": [[x, y] for x, y in pts],
                          "label": list(g.label_point(pts))})
    out_doors = []
    for did, dzone in door_list:
        at = doors.get(did)
        if at is None and dzone is not None and dzone in zones:
            at = _edge_point(zones[dzone])
        if at is not None:
            out_doors.append({"id": did, "zone": dzone, "at": [_r(at[0]), _r(at[1])]})
    out_lockers = []
    for bid, bzone in bank_list:
        at = lockers.get(bid)
        if at is None and bzone is not None and bzone in zones:
            lx, ly = g.label_point(zones[bzone])
            at = (lx, ly - 0.8)
        if at is not None:
            out_lockers.append({"id": bid, "zone": bzone, "at": [_r(at[0]), _r(at[1])]})
    marks: list[list[float]] = [d["at"] for d in out_doors + out_lockers]  # type: ignore[misc]
    xs = [p[0] for pts in zones.values() for p in pts] + [m[0] for m in marks]
    ys = [p[1] for pts in zones.values() for p in pts] + [m[1] for m in marks]
    return {
        "version": PLAN_VERSION, "source": source, "bounds": [_r(min(xs)), _r(min(ys)), _r(max(xs)), _r(max(ys))],
        "zones": out_zones, "doors": out_doors, "lockers": out_lockers, "flow": flow,
    }


def _edge_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Middle of the polygon's first edge (a door drawn on the zone's wall)."""
    (x1, y1), (x2, y2) = points[0], points[1]
    return (x1 + x2) / 2, (y1 + y2) / 2


# Generated plans: one column per step of the flow from the entry, rooms of CELL_W × CELL_H.
CELL_W, CELL_H, GAP = 5.0, 4.0, 1.0


def flow_order(cfg: SiteConfig) -> list[list[str]]:
    """Zones in columns by their distance along the flow from the entry zones (config order inside)."""
    return flow_columns([(z.id, z.type) for z in cfg.zones], [(a, b) for a, b in cfg.flow] if cfg.flow else None)


def flow_columns(zone_list: list[tuple[str, str]], flow: list[tuple[str, str]] | None) -> list[list[str]]:
    ids = [zid for zid, _ in zone_list]
    if not flow:
        # no flow: a near-square grid in the given order
        per = max(1, int(len(ids) ** 0.5 + 0.999))
        return [ids[i:i + per] for i in range(0, len(ids), per)]
    nexts: dict[str, list[str]] = {z: [] for z in ids}
    for a, b in flow:
        if a in nexts:
            nexts[a].append(b)
    starts = [zid for zid, ztype in zone_list if ztype == "entry"] or ids[:1]
    depth = {z: 0 for z in starts}
    queue = deque(starts)
    while queue:
        here = queue.popleft()
        for nxt in nexts[here]:
            if nxt not in depth and nxt in nexts:
                depth[nxt] = depth[here] + 1
                queue.append(nxt)
    # exits go last, unreachable zones after them
    last = max(depth.values(), default=0)
    for zid, ztype in zone_list:
        if ztype == "exit" and zid in depth:
            depth[zid] = last + 1
    columns: dict[int, list[str]] = {}
    far = max(depth.values(), default=0) + 1
    for zid in ids:
        columns.setdefault(depth.get(zid, far), []).append(zid)
    return [columns[k] for k in sorted(columns)]


def grid_zones(columns: list[list[str]]) -> dict[str, list[tuple[float, float]]]:
    zones: dict[str, list[tuple[float, float]]] = {}
    for ci, column in enumerate(columns):
        for ri, zid in enumerate(column):
            x, y = ci * (CELL_W + GAP), ri * (CELL_H + GAP)
            zones[zid] = [(x, y), (x + CELL_W, y), (x + CELL_W, y + CELL_H), (x, y + CELL_H)]
    return zones


def generated_plan(cfg: SiteConfig) -> dict[str, Any]:
    return _plan(cfg, "generated", grid_zones(flow_order(cfg)), {}, {})
