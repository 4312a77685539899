"""Alert charts: small PNGs drawn from a finding's `ChartData` (never from the engine).

Two kinds:

- ``durations``: the job's minutes over recent nights (bars), the baseline's usual range
  (a band) and tonight's run or ETA (a marker, red when outside the band).
- ``forecast``: the distribution of the expected end (a histogram of the simulated ends)
  against the deadline (a line), with the share of samples past it.

Teams shows a chart inline as a ``data:`` URI inside the alert's card, and a card must stay
under about 28 KB, so charts are small on purpose: 4 x 2 inches at 80 dpi, three colours,
no anti-aliased fills. `render_chart` checks the size and returns None when a chart still
comes out over `CHART_MAX_BYTES` (the alert then goes out as text).

Matplotlib runs headless (``Agg``) through its object API (no global ``pyplot`` state), so
charts can be drawn in worker threads (`draw_chart`) without holding up the event loop.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Final

from agents.watch.model import ChartData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHART_MAX_BYTES", "draw_chart", "render_chart"]

CHART_MAX_BYTES: Final = 15_000
"""Largest chart sent: base64 makes it 20 KB, leaving 8 KB of a Teams card for the text.

Typical charts are 5-8 KB; only a very busy one (hundreds of nights) comes near."""

_SIZE: Final = (4.0, 2.0)
_DPI: Final = 80
_BASE: Final = "#5b7083"
_BAND: Final = "#c9e4c5"
_ALARM: Final = "#c0392b"


def _figure() -> Figure:
    # Imported on the first chart, not at start-up: matplotlib costs ~0.4 s to import and
    # most commands never draw.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE, dpi=_DPI)
    figure.set_layout_engine("tight")
    return figure


def _durations(data: ChartData) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    labels = [day.strftime("%d.%m") for day, _ in data.history]
    values = [minutes for _, minutes in data.history]
    positions = list(range(len(values)))
    if data.band is not None:
        axes.axhspan(data.band[0], data.band[1], color=_BAND, label="usual", zorder=0)
    axes.bar(positions, values, color=_BASE, width=0.6, zorder=2)
    if data.tonight is not None:
        outside = data.band is not None and not data.band[0] <= data.tonight <= data.band[1]
        at = len(values)
        axes.bar([at], [data.tonight], color=_ALARM if outside else _BASE, width=0.6, zorder=2)
        positions.append(at)
        labels.append("tonight")
    step = max(1, len(positions) // 6)
    axes.set_xticks(positions[::step] if positions else [])
    axes.set_xticklabels(labels[::step] if labels else [], fontsize=6)
    axes.tick_params(axis="y", labelsize=6)
    axes.set_ylabel("minutes", fontsize=6)
    return figure


def _forecast(data: ChartData) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    samples = list(data.samples)
    if samples:
        axes.hist(samples, bins=24, color=_BASE, zorder=2)
    if data.deadline is not None:
        axes.axvline(data.deadline, color=_ALARM, linewidth=1.5, zorder=3)
        if samples:
            late = sum(1 for s in samples if s > data.deadline) / len(samples)
            axes.text(
                data.deadline,
                axes.get_ylim()[1] * 0.9,
                f" deadline · {late:.0%} late",
                color=_ALARM,
                fontsize=6,
            )
    axes.tick_params(labelsize=6)
    origin = data.origin.strftime("%H:%M") if data.origin is not None else "now"
    axes.set_xlabel(f"minutes after {origin}", fontsize=6)
    axes.set_yticks([])
    return figure


def render_chart(data: ChartData) -> bytes | None:
    """Draw one chart as a PNG.

    Args:
        data: The numbers (``kind`` ``durations`` or ``forecast``).

    Returns:
        The PNG, or None when there is nothing to draw (no numbers, an unknown kind) or the
        PNG would be over `CHART_MAX_BYTES`.
    """
    if data.kind == "durations" and (data.history or data.tonight is not None):
        figure = _durations(data)
    elif data.kind == "forecast" and data.samples:
        figure = _forecast(data)
    else:
        return None
    figure.suptitle(data.title[:80], fontsize=7)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI, metadata={"Software": None})
    png = out.getvalue()
    return png if len(png) <= CHART_MAX_BYTES else None


async def draw_chart(data: ChartData | None) -> bytes | None:
    """`render_chart` in a worker thread (drawing takes tens of milliseconds).

    Args:
        data: The numbers, or None.

    Returns:
        The PNG, or None (no chart).
    """
    if data is None:
        return None
    return await asyncio.to_thread(render_chart, data)
