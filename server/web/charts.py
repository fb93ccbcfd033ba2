"""Geometry of the supervision charts, drawn as SVG by templates/_charts.html (no script).

Made to survive a black-and-white printer: series differ by fill pattern (solid, hatched) and by
line dash and marker shape, never by colour alone, and every bar and point carries its value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

# Series styles in order: what tells them apart in print (see _charts.html and app.css).
STYLES = ("solid", "hatched", "dotted")


@dataclass
class Tick:
    pos: float
    label: str


@dataclass
class HBar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str
    style: str
    href: str | None = None


@dataclass
class HBarRow:
    label: str
    y: float
    bars: list[HBar] = field(default_factory=list)


@dataclass
class Legend:
    label: str
    style: str


@dataclass
class HBarChart:
    id: str
    width: int
    height: int
    plot_x: float
    plot_width: float
    rows: list[HBarRow]
    ticks: list[Tick]
    legend: list[Legend]
    title: str


def _nice_max(value: float) -> float:
    """The axis top: four ticks of a round step (1, 2 or 5 × 10^n, at least 1) that cover value."""
    if value <= 0:
        return 4.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return 4 * max(step, 1.0)


def _fmt(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.1f}%"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def hbar_chart(chart_id: str, title: str, categories: list[str], series: list[tuple[str, list[float]]],
               hrefs: list[list[str | None]] | None = None, width: int = 760, label_width: int = 230) -> HBarChart:
    """One row per category, one bar per series in it (e.g. this week and the week before)."""
    bar_h, gap, top = 14, 10, 26
    per_row = bar_h * len(series) + gap
    top_value = _nice_max(max([v for _, values in series for v in values] + [0]))
    plot_x, plot_w = float(label_width), float(width - label_width - 50)
    rows = []
    for i, category in enumerate(categories):
        y = top + i * per_row
        row = HBarRow(category, y)
        for s, (_name, values) in enumerate(series):
            value = values[i]
            row.bars.append(HBar(plot_x, y + s * bar_h, round(plot_w * value / top_value, 1), bar_h - 2, value,
                                 _fmt(value), STYLES[s % len(STYLES)], hrefs[s][i] if hrefs else None))
        rows.append(row)
    ticks = [Tick(round(plot_x + plot_w * k / 4, 1), _fmt(top_value * k / 4)) for k in range(5)]
    height = top + len(categories) * per_row + 10
    return HBarChart(chart_id, width, max(height, 60), plot_x, plot_w, rows, ticks,
                     [Legend(name, STYLES[s % len(STYLES)]) for s, (name, _) in enumerate(series)], title)


@dataclass
class Point:
    x: float
    y: float
    value: float
    label: str


@dataclass
class Line:
    label: str
    style: str
    points: list[Point]
    path: str


@dataclass
class LineChart:
    id: str
    width: int
    height: int
    plot_x: float
    plot_y: float
    plot_width: float
    plot_height: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    legend: list[Legend]
    title: str


def line_chart(chart_id: str, title: str, labels: list[str], series: list[tuple[str, list[float | None]]],
               percent: bool = False, width: int = 760, height: int = 260) -> LineChart:
    """Values over days; a None value breaks the line (a day with nothing to measure)."""
    plot_x, plot_y, plot_w, plot_h = 50.0, 42.0, float(width - 80), float(height - 82)
    values = [v for _, vs in series for v in vs if v is not None]
    top_value = 1.0 if percent else _nice_max(max(values + [0]))
    n = max(len(labels), 1)

    def x_of(i: int) -> float:
        return round(plot_x + (plot_w * (i + 0.5) / n), 1)

    def y_of(v: float) -> float:
        return round(plot_y + plot_h - plot_h * v / top_value, 1)

    lines = []
    for s, (name, vs) in enumerate(series):
        points = [Point(x_of(i), y_of(v), v, _fmt(v, percent)) for i, v in enumerate(vs) if v is not None]
        path, pen_down = [], False
        for i, v in enumerate(vs):
            if v is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x_of(i)} {y_of(v)}")
            pen_down = True
        lines.append(Line(name, STYLES[s % len(STYLES)], points, " ".join(path)))
    step = max(1, math.ceil(n / 16))  # at most 16 day labels
    x_ticks = [Tick(x_of(i), label) for i, label in enumerate(labels) if i % step == 0]
    y_ticks = [Tick(y_of(top_value * k / 4), _fmt(top_value * k / 4, percent)) for k in range(5)]
    return LineChart(chart_id, width, height, plot_x, plot_y, plot_w, plot_h, x_ticks, y_ticks, lines,
                     [Legend(name, STYLES[s % len(STYLES)]) for s, (name, _) in enumerate(series)], title)
