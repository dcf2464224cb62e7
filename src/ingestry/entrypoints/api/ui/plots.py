"""Server-drawn SVG plots: no chart library, no JavaScript, nothing fetched at run time.

A plot is a few hundred bytes of SVG per series (one `<path>` per series, one `<rect>`
per bar of the first series), so it renders as fast as the page and prints, zooms and
screenshots like text. Colours are fixed per series so every plot reads the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

#: Series drawn, in order, with their colours (colour-blind safe, Okabe-Ito).
SERIES: tuple[tuple[str, str], ...] = (
    ("received", "#0072B2"),
    ("records_created", "#009E73"),
    ("records_updated", "#E69F00"),
    ("quarantined", "#D55E00"),
)

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    counts: Mapping[str, int]


STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def filled(points: Sequence[Point], every: str, since: datetime, now: datetime) -> list[Point]:
    """Every hour (or day) from `since` to `now`, zero where nothing ran, so the x axis
    is time; weeks keep the buckets that have data."""
    step = STEP.get(every)
    if step is None:
        return list(points)
    fields = {"minute": 0, "second": 0, "microsecond": 0}
    if every == "day":
        fields["hour"] = 0
    at = since.astimezone(UTC).replace(**fields)  # type: ignore[arg-type]
    found = {p.at.astimezone(UTC): p for p in points}
    out = []
    while at <= now:
        out.append(found.get(at, Point(at, {})))
        at += step
    return out


def _ticks(top: int) -> list[int]:
    if top <= 0:
        return [0]
    step = 1
    while top / step > 4:
        for factor in (2, 5, 10):
            if top / (step * factor) <= 4:
                step *= factor
                break
        else:
            step *= 10
    last = -(-top // step) * step  # the first tick at or above the top value
    return list(range(0, last + 1, step))


def volume_svg(title: str, points: Sequence[Point], *, label_format: str = "%m-%d") -> str:
    """A line plot of the ingest counters per bucket (received as bars, the others as
    lines), with axes, a legend and a `<title>` for screen readers."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max((max(p.counts.get(name, 0) for name, _ in SERIES) for p in points), default=0)
    ticks = _ticks(top)
    scale_top = max(ticks[-1], 1)
    n = len(points)
    slot = inner_w / max(n, 1)

    def x(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    def y(value: int) -> float:
        return TOP + inner_h - inner_h * value / scale_top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="t-{id(points)}" class="plot">',
        f'<title id="t-{id(points)}">{escape(title)}</title>',
        f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">'
            f"{tick:,}</text>"
        )
    if not points:
        parts.append(
            f'<text x="{LEFT + inner_w / 2}" y="{TOP + inner_h / 2}" text-anchor="middle" '
            'font-size="13" fill="#666">no ingests in this period</text>'
        )
    bar_name, bar_colour = SERIES[0]
    for i, point in enumerate(points):
        value = point.counts.get(bar_name, 0)
        width = max(slot * 0.6, 1.0)
        parts.append(
            f'<rect class="bar" x="{x(i) - width / 2:.1f}" y="{y(value):.1f}" width="{width:.1f}" '
            f'height="{TOP + inner_h - y(value):.1f}" fill="{bar_colour}" fill-opacity="0.35">'
            f"<title>{point.at:%Y-%m-%d %H:%M} {bar_name}: {value:,}</title></rect>"
        )
    for name, colour in SERIES[1:]:
        if not points:
            break
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x(i):.1f},{y(p.counts.get(name, 0)):.1f}"
            for i, p in enumerate(points)
        )
        parts.append(
            f'<path class="series" d="{path}" fill="none" stroke="{colour}" stroke-width="2">'
            f"<title>{name}</title></path>"
        )
        if n <= 60:  # dots, so a lone bucket's value shows too
            parts.extend(
                f'<circle cx="{x(i):.1f}" cy="{y(p.counts.get(name, 0)):.1f}" r="3" '
                f'fill="{colour}"/>'
                for i, p in enumerate(points)
                if p.counts.get(name, 0)
            )
    every = max(1, n // 6)
    for i in range(0, n, every):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11">'
            f"{points[i].at.strftime(label_format)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def legend_html() -> str:
    return "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>'
        f"{name.replace('_', ' ')}</span>"
        for name, colour in SERIES
    )


#: How far back each plot reaches, and how its buckets are labelled.
PLOT_SPAN = {"hour": timedelta(hours=48), "day": timedelta(days=30), "week": timedelta(weeks=26)}
PLOT_LABEL = {"hour": "%d %Hh", "day": "%m-%d", "week": "%Y-%m-%d"}


def plot_since(every: str) -> datetime:
    """The start of the span a plot of `every` buckets shows (it ends now)."""
    return datetime.now(UTC) - PLOT_SPAN[every]


def volume_plot(title: str, buckets: Sequence[Any], every: str) -> str:
    """The ingest-volume SVG of stats buckets, gaps filled up to now."""
    points = [Point(b.bucket, b.counts) for b in buckets]
    points = filled(points, every, plot_since(every), datetime.now(UTC))
    return volume_svg(title, points, label_format=PLOT_LABEL[every])


def plot_every(value: str | None) -> str:
    """The bucket size asked for, `day` when none or an unknown one."""
    return value if value in PLOT_SPAN else "day"
