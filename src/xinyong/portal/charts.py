"""Charts drawn on the server as SVG: horizontal bars for categories, columns for months.

No JavaScript and no inline styles (the portal's Content-Security-Policy forbids both):
presentation attributes only. Each chart is an image with a name: ``role="img"``, a
``<title>`` and a ``<desc>`` that says what it shows, referenced by ``aria-labelledby``;
the figure around it carries the caption and a table with the same numbers. Series differ
in pattern as well as colour (solid, hatched, dotted) and are named in a legend, and every
bar is labelled with its value in text, so nothing depends on telling colours apart. The
colours have at least 3:1 contrast against white (WCAG 1.4.11) and text at least 4.5:1.

Every piece of text goes through ``markupsafe.escape``; a value that is None (suppressed, or
not known) draws no bar, only its label. The output is well-formed XML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 400
INK = "#1b1b1b"  # 16:1 on white
MUTED = "#4a4a4a"  # 8.9:1
GRID = "#767676"  # 4.5:1, for the axis; grid lines are lighter
LIGHT = "#c9ccd1"
# Bar colours, 7:1 or more against white, each with its own pattern.
COLOURS = ("#0b4f9c", "#8a1c1c", "#1d5e2a")
FONT = "system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', sans-serif"
_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
# Characters XML 1.0 does not allow, which escaping alone would leave in.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    """One value of one series: ``value`` None draws no bar; ``label`` is shown as text."""

    value: float | None
    label: str


def _text(value: object) -> str:
    return str(escape(_NOT_XML.sub("", str(value))))


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _check_id(chart_id: str) -> str:
    if not _ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r} must be lower-case letters, digits and '-'")
    return chart_id


def _fill(chart_id: str, series: int) -> str:
    return COLOURS[series % len(COLOURS)] if series == 0 else f"url(#{chart_id}-s{series})"


def _defs(chart_id: str, series: int) -> str:
    """Patterns of the second and third series: hatched and dotted on their colour."""
    parts = []
    for s in range(1, series):
        colour = COLOURS[s % len(COLOURS)]
        if s % 2:
            mark = '<rect width="2" height="6" fill="#ffffff"/>'
            transform = ' patternTransform="rotate(45)"'
        else:
            mark = '<circle cx="3" cy="3" r="1.2" fill="#ffffff"/>'
            transform = ""
        parts.append(
            f'<pattern id="{chart_id}-s{s}" width="6" height="6" patternUnits="userSpaceOnUse"'
            f'{transform}><rect width="6" height="6" fill="{colour}"/>{mark}</pattern>'
        )
    return f"<defs>{''.join(parts)}</defs>" if parts else ""


def _open(chart_id: str, title: str, description: str, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart-svg"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc"'
        f' viewBox="0 0 {WIDTH} {_num(height)}" width="{WIDTH}" height="{_num(height)}"'
        f' font-family="{FONT}" font-size="14" fill="{INK}">'
        f'<title id="{chart_id}-title">{_text(title)}</title>'
        f'<desc id="{chart_id}-desc">{_text(description)}</desc>'
    )


def _legend(chart_id: str, series: Sequence[str], y: float) -> str:
    if len(series) < 2:
        return ""
    x = 8.0
    parts = []
    for s, name in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y - 12)}" width="14" height="14"'
            f' fill="{_fill(chart_id, s)}" stroke="{colour}"/>'
            f'<text x="{_num(x + 20)}" y="{_num(y)}">{_text(name)}</text>'
        )
        x += 20 + _width(name, 14) + 18
    return "".join(parts)


def _width(text: str, size: float) -> float:
    """A rough width of ``text`` in pixels: wide (CJK) characters one em, others 0.56."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.56 for ch in text)


def _wrap(text: str, size: float, room: float) -> list[str]:
    """``text`` in lines that fit ``room`` pixels (at spaces; CJK text anywhere)."""
    lines: list[str] = []
    line = ""
    for token in re.findall(r"\S+\s*|\s+", text) if " " in text else list(text):
        if line and _width(line + token.rstrip(), size) > room:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[str],
    bars: Sequence[Sequence[Bar]],
) -> Markup:
    """Horizontal bars: for each category its name, then one bar per series, each as long
    as its value relative to the largest and labelled with its text (and, with several
    series, the series' name). ``bars[i][j]`` is category i's value of series j."""
    chart_id = _check_id(chart_id)
    if len(bars) != len(categories) or any(len(row) != len(series) for row in bars):
        raise ValueError("bars must hold one Bar per series for each category")
    label_room = 170.0
    room = WIDTH - 16 - label_room
    known = [b.value for row in bars for b in row if b.value is not None]
    top = max(known, default=0.0)
    body: list[str] = []
    y = 8.0
    if len(series) > 1:
        y += 16
        body.append(_legend(chart_id, series, y))
        y += 12
    for name, row in zip(categories, bars, strict=True):
        for line in _wrap(name, 14, WIDTH - 16):
            y += 18
            body.append(f'<text x="8" y="{_num(y)}" font-weight="600">{_text(line)}</text>')
        y += 6
        for s, bar in enumerate(row):
            colour = COLOURS[s % len(COLOURS)]
            length = 0.0 if bar.value is None or top <= 0 else room * max(bar.value, 0) / top
            if length > 0:
                body.append(
                    f'<rect x="8" y="{_num(y)}" width="{_num(length)}" height="16"'
                    f' fill="{_fill(chart_id, s)}" stroke="{colour}" data-value="{_text(bar.value)}"/>'
                )
            text = f"{series[s]}: {bar.label}" if len(series) > 1 else bar.label
            colour_text = INK if bar.value is not None else MUTED
            body.append(
                f'<text x="{_num(8 + length + 6)}" y="{_num(y + 13)}" fill="{colour_text}">'
                f"{_text(text)}</text>"
            )
            y += 20
        y += 6
    height = y + 8
    return Markup(
        _open(chart_id, title, description, height)
        + _defs(chart_id, len(series))
        + "".join(body)
        + "</svg>"
    )


def ticks(top: float, count: int = 4) -> list[float]:
    """Round axis values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of 10)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and top >= 1:
        step = 1
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    tick_label: Callable[[float], str] = _num,
    height: float = 240,
) -> Markup:
    """Columns over time: one slot per category (month), one column per series, on a
    labelled vertical axis. ``values[i][j]`` is category i's value of series j; None draws
    nothing. The numbers themselves belong in the table beside the chart."""
    chart_id = _check_id(chart_id)
    if len(values) != len(categories) or any(len(row) != len(series) for row in values):
        raise ValueError("values must hold one value per series for each category")
    known = [v for row in values for v in row if v is not None]
    axis = ticks(max(known, default=0.0))
    top_value = axis[-1]
    left, right = 48.0, 8.0
    upper = 40.0 if len(series) > 1 else 14.0
    lower = 30.0
    plot_h = height - upper - lower
    plot_w = WIDTH - left - right
    body: list[str] = []
    if len(series) > 1:
        body.append(_legend(chart_id, series, 22))
    base = upper + plot_h
    for t in axis:
        y = base - plot_h * t / top_value
        body.append(
            f'<line x1="{_num(left)}" x2="{_num(WIDTH - right)}" y1="{_num(y)}" y2="{_num(y)}"'
            f' stroke="{LIGHT if t else GRID}" stroke-width="1"/>'
            f'<text x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" font-size="12"'
            f' fill="{MUTED}">{_text(tick_label(t))}</text>'
        )
    n = max(len(categories), 1)
    slot = plot_w / n
    column = min(18.0, slot * 0.8 / max(len(series), 1))
    every = max(1, math.ceil(n / 12))
    for i, (name, row) in enumerate(zip(categories, values, strict=True)):
        start = left + slot * i + (slot - column * len(series)) / 2
        for s, value in enumerate(row):
            if value is None or value <= 0:
                continue
            h = plot_h * value / top_value
            colour = COLOURS[s % len(COLOURS)]
            body.append(
                f'<rect x="{_num(start + column * s)}" y="{_num(base - h)}" width="{_num(column)}"'
                f' height="{_num(h)}" fill="{_fill(chart_id, s)}" stroke="{colour}"'
                f' data-value="{_text(value)}"/>'
            )
        if i % every == 0:
            body.append(
                f'<text x="{_num(left + slot * (i + 0.5))}" y="{_num(base + 18)}"'
                f' text-anchor="middle" font-size="12">{_text(name)}</text>'
            )
    return Markup(
        _open(chart_id, title, description, height)
        + _defs(chart_id, len(series))
        + "".join(body)
        + "</svg>"
    )
