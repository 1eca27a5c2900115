"""PNG charts for /statistik: stacked horizontal bars that read well on a phone.

Horizontal bars because kecamatan names are long ("Amfoang Barat Daya") and a phone is
narrow: names sit on the left, one bar per line, the total at the end of each bar. The image
is 1080 px wide (a phone screen's width; Telegram shows it without shrinking text much) and as
tall as its bars need, so its size is known in advance (`png_size`).

matplotlib is imported lazily (it costs ~0.5 s) and used through its object API with the Agg
canvas only — no pyplot, no global state — so charts can be drawn in a worker thread while the
event loop goes on. The plotted numbers are exactly `ChartData`'s; tests check that data.
"""

from __future__ import annotations

import io
import textwrap

from bot.formatting import number
from bot.services.statistics import ChartData

DPI = 150
WIDTH_PX = 1080
_BAR_INCHES = 0.36
_FRAME_INCHES = 2.2  # title, legend and axis


def png_size(chart: ChartData) -> tuple[int, int]:
    """(width, height) in pixels of the chart's PNG."""
    height_in = _FRAME_INCHES + _BAR_INCHES * max(len(chart.categories), 2)
    return WIDTH_PX, round(height_in * DPI)


def render_png(chart: ChartData) -> bytes:
    """Draw the chart as a PNG (stacked horizontal bars, first category on top)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = png_size(chart)
    width_in, height_in = width / DPI, height / DPI
    labels = [textwrap.shorten(c, 28, placeholder="…") for c in chart.categories]
    figure = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    # Fixed margins (the labels' width estimated from their length): a layout engine would
    # measure every text first and take a third of the drawing time.
    label_in = 0.25 + 0.075 * max((len(x) for x in labels), default=4)
    figure.subplots_adjust(left=label_in / width_in, right=0.95, top=1 - 0.9 / height_in,
                           bottom=0.6 / height_in)
    axes = figure.add_subplot()
    positions = list(range(len(chart.categories)))
    left = [0] * len(positions)
    for series in chart.series:
        axes.barh(positions, series.values, left=left, color=series.color, label=series.label, height=0.7)
        left = [a + b for a, b in zip(left, series.values, strict=True)]
    peak = max(left, default=0)
    for y, total in zip(positions, left, strict=True):
        axes.text(total + peak * 0.01, y, number(total, chart.lang), va="center", fontsize=9)
    axes.set_yticks(positions, labels, fontsize=10)
    axes.set_ylim(len(positions) - 0.5, -0.5)  # the first category on top, as in the text
    axes.set_xlim(0, max(peak * 1.12, 1))
    axes.set_xlabel(chart.axis_label, fontsize=10)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(chart.series), frameon=False,
                fontsize=10)
    figure.suptitle("\n".join(textwrap.wrap(chart.title, 60)), fontsize=12, fontweight="bold",
                    y=1 - 0.1 / height_in, va="top")
    buffer = io.BytesIO()
    # Light compression: a third of the time of the default level, still ~100 kB.
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
