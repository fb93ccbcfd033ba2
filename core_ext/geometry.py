"""Exact plane geometry for floor plans: simple polygons, their overlap, points inside them.

Coordinates are `Fraction`s (a float converts exactly), so "two zones overlap" is decided
without rounding: rooms that share a wall have an intersection of area exactly 0, rooms that
cross by a millimetre have a positive one. Polygons are small (a room has a handful of
corners), so the quadratic algorithms here cost nothing.

    simple_polygon_fault(points)  -> None or why the polygon is not a simple polygon of positive area
    overlap_area(a, b)            -> the exact area of the intersection of two simple polygons
    label_point(points)           -> a point well inside the polygon (float), for its label and dots
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

Pt = tuple[Fraction, Fraction]


def exact(points: Sequence[Sequence[float | int | Fraction]]) -> list[Pt]:
    return [(Fraction(x), Fraction(y)) for x, y in points]


def _cross(o: Pt, a: Pt, b: Pt) -> Fraction:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def signed_area(points: Sequence[Pt]) -> Fraction:
    total = Fraction(0)
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        total += x1 * y2 - x2 * y1
    return total / 2


def _on_segment(p: Pt, a: Pt, b: Pt) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_touch(a: Pt, b: Pt, c: Pt, d: Pt) -> bool:
    """Whether closed segments ab and cd share at least one point."""
    d1, d2 = _cross(c, d, a), _cross(c, d, b)
    d3, d4 = _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and _on_segment(a, c, d)) or (d2 == 0 and _on_segment(b, c, d))
            or (d3 == 0 and _on_segment(c, a, b)) or (d4 == 0 and _on_segment(d, a, b)))


def simple_polygon_fault(points: Sequence[Pt]) -> str | None:
    """None for a simple polygon of positive area, else what is wrong with it."""
    n = len(points)
    if n < 3:
        return f"a polygon needs at least 3 corners, got {n}"
    for i in range(n):
        if points[i] == points[(i + 1) % n]:
            return f"corner {i} repeats the next corner"
    if signed_area(points) == 0:
        return "the polygon has no area"
    for i in range(n):
        a, b, c = points[i], points[(i + 1) % n], points[(i + 2) % n]
        # an edge that folds straight back onto the previous one (a spike)
        if _cross(a, b, c) == 0 and (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1]) < 0:
            return f"the edges at corner {(i + 1) % n} fold back onto each other"
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if segments_touch(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]):
                return f"edge {i} crosses or touches edge {j} (the polygon is not simple)"
    return None


def _ccw(points: Sequence[Pt]) -> list[Pt]:
    pts = list(points)
    if signed_area(pts) < 0:
        pts.reverse()
    # drop corners on a straight line: ear clipping needs strictly convex ears
    out: list[Pt] = []
    for i, p in enumerate(pts):
        if _cross(pts[i - 1], p, pts[(i + 1) % len(pts)]) != 0:
            out.append(p)
    return out


def _in_triangle(p: Pt, a: Pt, b: Pt, c: Pt) -> bool:
    return _cross(a, b, p) >= 0 and _cross(b, c, p) >= 0 and _cross(c, a, p) >= 0


def triangulate(points: Sequence[Pt]) -> list[tuple[Pt, Pt, Pt]]:
    """Ear clipping of a simple polygon into counter-clockwise triangles (exact)."""
    pts = _ccw(points)
    triangles: list[tuple[Pt, Pt, Pt]] = []
    while len(pts) > 3:
        n = len(pts)
        for i in range(n):
            a, b, c = pts[i - 1], pts[i], pts[(i + 1) % n]
            if _cross(a, b, c) <= 0:
                continue
            if any(_in_triangle(p, a, b, c) for p in pts if p not in (a, b, c)):
                continue
            triangles.append((a, b, c))
            del pts[i]
            break
        else:  # cannot happen for a simple polygon; guard against an endless loop
            raise ValueError("polygon cannot be triangulated (not simple)")
    triangles.append((pts[0], pts[1], pts[2]))
    return triangles


def _clip(subject: list[Pt], clip: Sequence[Pt]) -> list[Pt]:
    """Sutherland–Hodgman: the part of convex `subject` inside convex counter-clockwise `clip`."""
    out = subject
    for i in range(len(clip)):
        if not out:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        points, out = out, []
        for j in range(len(points)):
            p, q = points[j], points[(j + 1) % len(points)]
            cp, cq = _cross(a, b, p), _cross(a, b, q)
            if cp >= 0:
                out.append(p)
            if (cp > 0 > cq) or (cp < 0 < cq):
                t = cp / (cp - cq)
                out.append((p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t))
    return out


def _bbox(points: Sequence[Pt]) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def overlap_area(a: Sequence[Pt], b: Sequence[Pt]) -> Fraction:
    """Exact area shared by two simple polygons (0 when they only share edges or corners)."""
    ax0, ay0, ax1, ay1 = _bbox(a)
    bx0, by0, bx1, by1 = _bbox(b)
    if ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0:
        return Fraction(0)
    total = Fraction(0)
    tb = [(t, _bbox(t)) for t in triangulate(b)]
    for ta in triangulate(a):
        x0, y0, x1, y1 = _bbox(ta)
        for t, (u0, v0, u1, v1) in tb:
            if x1 <= u0 or u1 <= x0 or y1 <= v0 or v1 <= y0:
                continue
            piece = _clip(list(ta), t)
            if len(piece) >= 3:
                total += abs(signed_area(piece))
    return total


# --------------------------------------------------------------------------- float helpers
# (placement of labels and dots; mirrored in server/static/floorplan.js)


def contains(points: Sequence[tuple[float, float]], x: float, y: float) -> bool:
    """Even-odd point in polygon (floats)."""
    inside = False
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def edge_distance(points: Sequence[tuple[float, float]], x: float, y: float) -> float:
    best = float("inf")
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        dx, dy = x2 - x1, y2 - y1
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / length2))
        px, py = x1 + t * dx - x, y1 + t * dy - y
        best = min(best, math.sqrt(px * px + py * py))
    return best


def label_point(points: Sequence[tuple[float, float]], steps: int = 24) -> tuple[float, float]:
    """The grid point inside the polygon farthest from its edges (a cheap pole of inaccessibility)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    best, best_d, best_c = (cx, cy), -1.0, 0.0
    for i in range(1, steps):
        for j in range(1, steps):
            x, y = x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * j / steps
            if contains(points, x, y):
                d = edge_distance(points, x, y)
                c = (x - cx) ** 2 + (y - cy) ** 2  # ties go to the point nearest the middle
                if d > best_d + 1e-9 or (abs(d - best_d) <= 1e-9 and c < best_c):
                    best, best_d, best_c = (x, y), d, c
    return round(best[0], 3), round(best[1], 3)
