"""The report's charts: Altair (Vega-Lite) specs, rendered to inline SVG by vl-convert.

Why SVG and not vega-embed in the page: vl-convert (the Vega project's converter, a Rust build of
Vega and Vega-Lite shipped in its wheel) renders the chart when the report is written, so the page
carries no JavaScript at all. It opens offline by construction (nothing to fetch, nothing to
inline), prints as vectors, shows inside Synapse's ``displayHTML`` and in a mail client, and stays
a few hundred kilobytes. The cost is interactivity (no tooltips or zoom); the figures a reader
needs are printed beside each chart in a table.

Every chart here is counts only: its data frame comes from :mod:`accelerator.report.transform`.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd

STATUS_COLOURS = {"LOADED": "#2e7d32", "DUPLICATE": "#9e9e9e", "PENDING": "#f9a825", "REJECTED": "#c62828"}
WIDTH = 520


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an ``<svg>`` element (no XML prolog), rendered by vl-convert."""
    import vl_convert as vlc

    # Dates in object columns (Delta ``date``) become ISO strings, as Vega-Lite parses them.
    spec: dict[str, Any] = json.loads(json.dumps(chart.to_dict(), default=str))
    svg: str = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg") :]


def delivery_grid(grid: pd.DataFrame) -> alt.Chart:
    statuses = list(STATUS_COLOURS)
    base = alt.Chart(grid).encode(
        x=alt.X("feed:N", title=None, axis=alt.Axis(labelAngle=-35)),
        y=alt.Y("authority:N", title=None),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "status:N",
            scale=alt.Scale(domain=statuses, range=[STATUS_COLOURS[s] for s in statuses]),
            legend=alt.Legend(title="worst status", orient="bottom"),
        )
    )
    text = base.mark_text(color="white", fontSize=11).encode(text="deliveries:Q")
    return (cells + text).properties(width=WIDTH, height=max(24 * grid["authority"].nunique(), 40))


def bars(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    horizontal: bool = False,
    colour: str | None = None,
    height: int = 180,
) -> alt.Chart:
    """A bar chart of counts (``x`` the category, ``y`` the count)."""
    if horizontal:
        enc: dict[str, Any] = {
            # no axis title: long labels (blocking rules) would run into it; the caption names it
            "y": alt.Y(f"{x}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=360)),
            "x": alt.X(f"{y}:Q", title=y_title),
        }
        height = max(22 * len(df), 40)
    else:
        enc = {"x": alt.X(f"{x}:O", title=x_title), "y": alt.Y(f"{y}:Q", title=y_title)}
    if colour:
        enc["color"] = alt.Color(f"{colour}:N", legend=alt.Legend(orient="bottom", title=None))
    return alt.Chart(df).mark_bar().encode(**enc).properties(width=WIDTH, height=height)


def match_weights(df: pd.DataFrame, threshold: float) -> alt.LayerChart:
    """Stored pairs per whole match weight, coloured by whether they link, the threshold a rule."""
    bars_ = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("weight:Q", title="match weight (bits)", bin=False),
            y=alt.Y("pairs:Q", title="stored pairs"),
            color=alt.Color(
                "links:N",
                scale=alt.Scale(domain=["not linked", "linked"], range=["#90a4ae", "#1565c0"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
        )
    )
    rule = alt.Chart(pd.DataFrame({"threshold": [threshold]})).mark_rule(color="#c62828", strokeWidth=2)
    rule = rule.encode(x="threshold:Q")
    label = rule.mark_text(align="left", dx=4, dy=-6, color="#c62828").encode(
        text=alt.value(f"threshold {threshold:g}"), y=alt.value(0)
    )
    return (bars_ + rule + label).properties(width=WIDTH, height=200)


def lines(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    colour: str,
    x_title: str,
    y_title: str,
    x_type: str = "T",
    y_format: str | None = None,
    facet: str | None = None,
) -> alt.Chart | alt.FacetChart:
    """A line chart with points (a trend: one point per run or as_of)."""
    y_axis = alt.Axis(format=y_format) if y_format else alt.Axis()
    chart = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:{x_type}", title=x_title),
            y=alt.Y(f"{y}:Q", title=y_title, axis=y_axis),
            color=alt.Color(f"{colour}:N", legend=alt.Legend(orient="bottom", title=None, columns=4)),
        )
    )
    if facet:
        return chart.properties(width=WIDTH // 2 - 20, height=140).facet(
            facet=alt.Facet(f"{facet}:N", title=None), columns=2
        )
    return chart.properties(width=WIDTH, height=180)


def prevalence(df: pd.DataFrame) -> alt.Chart:
    """Each headline's prevalence per authority (share of families), one row of bars each."""
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("measure:N", title=None, sort=None),
            x=alt.X("prevalence:Q", title="share of families", axis=alt.Axis(format="%")),
            color=alt.Color("authority:N", legend=alt.Legend(orient="bottom", title=None)),
            yOffset="authority:N",
        )
        .properties(width=WIDTH, height=max(16 * len(df), 120))
    )


def timings(df: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_bar(color="#5e35b1")
        .encode(
            y=alt.Y("stage:N", sort=alt.SortField("order"), title=None),
            x=alt.X("seconds:Q", title="seconds"),
        )
        .properties(width=WIDTH, height=max(24 * len(df), 40))
    )
