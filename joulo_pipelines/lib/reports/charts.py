"""Bar charts as inline SVG, drawn here so a report needs no JavaScript library and no network.

Each bar carries its exact value in `data-value` (and a <title> for hovering), so what the picture shows
can be checked against the warehouse. Floats only place pixels; the values stay Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from markupsafe import Markup, escape

from joulo_pipelines.lib.formatting import number


@dataclass(frozen=True)
class Series:
    key: str  # data-series on each bar
    name: str  # legend
    colour: str
    values: list[Decimal]


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above value: round axis steps."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = Decimal(step).scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)


def bar_chart(chart_id: str, labels: list[str], series: list[Series], unit: str, language: str, places: int = 0,
              width: int = 540, height: int = 240) -> Markup:
    """Stacked bars per label (e.g. a month), one colour per series, a legend and a labelled y axis; figures
    written in `language`."""
    left, right, top, bottom = 64, 12, 28, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum((s.values[i] for s in series), Decimal(0)) for i in range(len(labels))]
    highest = max(totals, default=Decimal(0))
    step = _nice_ceiling(highest / 4)
    ticks = max(1, int((highest / step).to_integral_value(rounding=ROUND_CEILING)))  # up to 4, fewer if bars sit low
    ceiling = step * ticks
    tick_places = max(0, -step.normalize().as_tuple().exponent)
    slot = plot_w / max(len(labels), 1)
    bar_w = min(slot * 0.6, 56)

    def y(value: Decimal) -> float:
        return top + plot_h - float(value / ceiling) * plot_h

    parts = [f'<svg id="{escape(chart_id)}" class="chart" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(unit)} by month">']
    for tick in range(ticks + 1):
        value = step * tick
        ty = y(value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" fill="#666">'
                     f'{escape(number(value, tick_places, language))}</text>')
    parts.append(f'<text x="4" y="14" font-size="11" fill="#666">{escape(unit)}</text>')
    legend_x = left
    for s in series:
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{escape(s.colour)}"/>'
                     f'<text x="{legend_x + 14}" y="15" font-size="11" fill="#333">{escape(s.name)}</text>')
        legend_x += 24 + 7 * len(s.name)
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar_w) / 2
        base = Decimal(0)
        for s in series:
            value = s.values[i]
            if value > 0:
                y_top, y_bottom = y(base + value), y(base)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" height="{y_bottom - y_top:.1f}" '
                    f'fill="{escape(s.colour)}" data-series="{escape(s.key)}" data-label="{escape(label)}" '
                    f'data-value="{value}"><title>{escape(label)}: {escape(number(value, places, language))} '
                    f'{escape(unit)} ({escape(s.name)})</title></rect>')
                base += value
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
                     f'fill="#333">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
