"""One probe across versions as an inline SVG: each version's factor against the best one,
with its confidence interval.

Sits under the package page (:mod:`.pages`), over the scoring layer's
:class:`~advisor.scoring.series.ProbeSeries`. Drawn server-side with :func:`.html.element`
(so every label is escaped), no script: versions evenly spaced along x in ascending order,
the factor ``version / reference`` on a log-scaled y (so 0.5 and 2 sit equally far from 1),
a dashed line at 1 (the reference), a vertical bar per interval. A point whose interval
excludes 1 is drawn filled (a real difference), otherwise hollow. Versions whose samples
give no interval are left out of the plot (the table beside it lists them). Every mark
carries ``data-version`` and a ``<title>`` (a tooltip in the browser).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from advisor.server.dashboard.html import Markup, element

if TYPE_CHECKING:
    from advisor.scoring.series import ProbeSeries, SeriesPoint

__all__ = ["HEIGHT", "WIDTH", "render_plot"]

WIDTH = 640
HEIGHT = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 52
_TICKS = (0.25, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0)


def _factor(value: float) -> str:
    return f"\u00d7{value:.3g}"  # a multiplication sign


def _bounds(points: tuple[SeriesPoint, ...]) -> tuple[float, float]:
    """The log range to show: every interval and 1, with a margin."""
    values = [1.0]
    for p in points:
        values += [v for v in (p.ratio, p.low, p.high) if v is not None and v > 0]
    low, high = math.log(min(values)), math.log(max(values))
    margin = max((high - low) * 0.08, 0.02)
    return low - margin, high + margin


def render_plot(series: ProbeSeries) -> Markup:
    """The SVG of ``series``; an empty string when no version has a factor besides the
    reference."""
    shown = tuple(p for p in series.points if p.ratio is not None)
    if len(shown) < 2:
        return Markup("")
    y_low, y_high = _bounds(shown)
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    step = plot_w / len(series.points)

    def x_of(index: int) -> float:
        return round(_LEFT + step * (index + 0.5), 1)

    def y_of(value: float) -> float:
        return round(_TOP + plot_h * (y_high - math.log(value)) / (y_high - y_low), 1)

    marks: list[Markup] = [
        element("rect", x=_LEFT, y=_TOP, width=plot_w, height=plot_h, fill="#fbfcfe", stroke="#ccd")
    ]
    for tick in _TICKS:
        if y_low <= math.log(tick) <= y_high:
            y = y_of(tick)
            marks.append(element("line", x1=_LEFT, x2=_LEFT + plot_w, y1=y, y2=y, stroke="#e4e7ee"))
            marks.append(element("text", _factor(tick), x=_LEFT - 6, y=y + 4, text_anchor="end"))
    one = y_of(1.0)
    marks.append(
        element(
            "line",
            x1=_LEFT,
            x2=_LEFT + plot_w,
            y1=one,
            y2=one,
            stroke="#555",
            stroke_dasharray="4 3",
            class_="reference",
        )
    )
    better = "lower is better" if series.lower_is_better else "higher is better"
    marks.append(
        element(
            "text",
            f"{series.metric} ({series.unit}) ÷ {series.reference} · {better}",
            x=_LEFT,
            y=HEIGHT - 6,
        )
    )
    for index, point in enumerate(series.points):
        x = x_of(index)
        marks.append(
            element("text", point.version, x=x, y=_TOP + plot_h + 16, text_anchor="middle")
        )
        if point.ratio is None:
            continue
        level = f"{series.confidence:.0%}"
        if point.low is not None and point.high is not None:
            tip = f"{point.version}: {_factor(point.ratio)} ({level} interval "
            tip += f"{_factor(point.low)} to {_factor(point.high)}, n={point.n})"
            marks.append(
                element(
                    "line",
                    element("title", tip),
                    x1=x,
                    x2=x,
                    y1=y_of(point.high),
                    y2=y_of(point.low),
                    stroke="#3457a6",
                    stroke_width=2,
                    class_="ci",
                    data_version=point.version,
                )
            )
        else:
            tip = f"{point.version}: the reference (n={point.n})"
        marks.append(
            element(
                "circle",
                element("title", tip),
                cx=x,
                cy=y_of(point.ratio),
                r=4.5,
                fill="#3457a6" if point.differs else "#fff",
                stroke="#3457a6",
                stroke_width=2,
                class_="point",
                data_version=point.version,
                data_ratio=f"{point.ratio:.6g}",
            )
        )
    label = f"{series.probe}: each version's {series.metric} against {series.reference}"
    return element(
        "svg",
        element("title", label),
        *marks,
        xmlns="http://www.w3.org/2000/svg",
        width=WIDTH,
        height=HEIGHT,
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        aria_label=label,
        class_="probe-plot",
        data_probe=series.probe,
    )
