"""Interactive plotly figures of a run, ready to serialise into the HTML report.

Names from the run (strategies, tickers) are HTML-escaped before they go into
a figure: plotly.js renders a subset of HTML in labels and decodes entities
back for display, so escaped names read correctly and markup never runs.
Lines are thinned with :func:`stats.minmax_indices` to at most ``max_points``
points per trace (peaks and troughs kept); stacked areas share one strided grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from alphalab.report.rundir import RunData
from alphalab.report.stats import (
    OTHER,
    drawdown,
    growth,
    histogram,
    minmax_indices,
    monthly_returns,
    rolling_sharpe,
    rolling_window,
    stride_indices,
    top_weights,
)
from alphalab.report.style import color_map
from alphalab.report.tables import esc

__all__ = [
    "MAX_POINTS",
    "fig_drawdown",
    "fig_equity",
    "fig_monthly",
    "fig_returns_dist",
    "fig_rolling_sharpe",
    "fig_weights",
]

MAX_POINTS = 2000
_MAX_AREA_POINTS = 500
_TOP_ASSETS = 10


# ------------------------------------------------------------------- charts
def _dates(idx: pd.Index) -> list[str]:
    return list(pd.DatetimeIndex(idx).strftime("%Y-%m-%d"))


def _line_traces(
    frame: pd.DataFrame, benchmark: str | None, max_points: int, hover: str
) -> list[go.Scatter]:
    colors = color_map(list(frame.columns), benchmark)
    traces = []
    for name in frame.columns:
        col = frame[name].dropna()
        keep = minmax_indices(col.to_numpy(np.float64), max_points)
        is_bench = name == benchmark
        traces.append(
            go.Scatter(
                x=_dates(col.index[keep]),
                y=col.to_numpy(np.float64)[keep],
                name=esc(name),
                mode="lines",
                line={"color": colors[name], "width": 1.4, "dash": "dash" if is_bench else "solid"},
                hovertemplate=hover,
            )
        )
    return traces


def _layout(title: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "template": "plotly_white",
        "height": 430,
        "margin": {"l": 60, "r": 20, "t": 70, "b": 40},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        "hovermode": "x unified",
    }
    base.update(kw)
    return base


def fig_equity(run: RunData, max_points: int = MAX_POINTS) -> go.Figure:
    """Growth of 1 per strategy and the benchmark, log y axis."""
    traces = _line_traces(growth(run.equity), run.benchmark, max_points, "%{y:.3f}")
    return go.Figure(
        traces,
        _layout(
            "Equity: growth of 1 (log scale)",
            yaxis={"type": "log", "title": "growth of 1", "dtick": "D2"},
        ),
    )


def fig_drawdown(run: RunData, max_points: int = MAX_POINTS) -> go.Figure:
    """Drawdown from the running peak per series."""
    traces = _line_traces(drawdown(run.equity), run.benchmark, max_points, "%{y:.2%}")
    return go.Figure(traces, _layout("Drawdown", yaxis={"tickformat": ".0%", "title": "drawdown"}))


def fig_rolling_sharpe(run: RunData, max_points: int = MAX_POINTS) -> go.Figure:
    """Annualised rolling Sharpe ratio per series (full windows only)."""
    window = rolling_window(run.returns.index, run.rolling_window)
    rs = rolling_sharpe(run.returns, window=window)
    traces = _line_traces(rs, run.benchmark, max_points, "%{y:.2f}")
    layout = _layout(
        f"Rolling Sharpe ratio ({window}-bar window, annualised)",
        yaxis={"title": "Sharpe", "zeroline": True},
    )
    return go.Figure(traces, layout)


def fig_returns_dist(run: RunData) -> go.Figure:
    """Density of per-bar returns on shared bins (precomputed: the file stays small)."""
    edges, dens = histogram(run.returns)
    centers = (edges[:-1] + edges[1:]) / 2.0
    colors = color_map(list(dens.columns), run.benchmark)
    traces = [
        go.Scatter(
            x=centers,
            y=dens[name].to_numpy(np.float64),
            name=esc(name),
            mode="lines",
            line={
                "color": colors[name],
                "shape": "hvh",
                "width": 1.4,
                "dash": "dash" if name == run.benchmark else "solid",
            },
            hovertemplate="return %{x:.2%}: density %{y:.1f}",
        )
        for name in dens.columns
    ]
    layout = _layout(
        "Distribution of per-bar returns (tails clipped into the edge bins)",
        xaxis={"tickformat": ".1%", "title": "return per bar"},
        yaxis={"title": "density"},
        hovermode="closest",
    )
    return go.Figure(traces, layout)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _dropdown(
    labels: Sequence[str], groups: Sequence[int], titles: Sequence[str], plot_height: int = 300
) -> dict[str, Any]:
    """A plotly dropdown showing one group of traces at a time.

    ``groups[i]`` is the option index that trace ``i`` belongs to. The menu
    sits about 42 px above the plot area, whose height in pixels is
    ``plot_height`` (plotly places menus in plot-area fractions).
    """
    buttons = [
        {
            "label": label,
            "method": "update",
            "args": [{"visible": [g == k for g in groups]}, {"title.text": titles[k]}],
        }
        for k, label in enumerate(labels)
    ]
    return {
        "buttons": buttons,
        "direction": "down",
        "showactive": True,
        "x": 1.0,
        "xanchor": "right",
        "y": 1.0 + 42.0 / max(plot_height, 50),
        "yanchor": "bottom",
    }


def fig_monthly(run: RunData) -> go.Figure:
    """Monthly returns heatmap (years x months), one strategy at a time via a dropdown."""
    traces, labels, titles = [], [], []
    tables = {name: monthly_returns(run.returns[name]) for name in run.strategies}
    finite = np.concatenate([t.to_numpy().ravel() for t in tables.values()] or [np.zeros(1)])
    finite = finite[np.isfinite(finite)]
    lim = float(np.quantile(np.abs(finite), 0.98)) if finite.size else 0.01
    for k, (name, table) in enumerate(tables.items()):
        traces.append(
            go.Heatmap(
                z=table.to_numpy(np.float64),
                x=list(_MONTHS),
                y=[str(y) for y in table.index],
                zmin=-lim,
                zmax=lim,
                zmid=0.0,
                colorscale="RdYlGn",
                texttemplate="%{z:.1%}",
                textfont={"size": 10},
                hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
                colorbar={"tickformat": ".0%"},
                visible=k == 0,
                name=esc(name),
            )
        )
        labels.append(esc(name))
        titles.append(f"Monthly returns: {esc(name)}")
    n_years = max((len(t) for t in tables.values()), default=1)
    height = max(320, 110 + 24 * n_years)
    menu = _dropdown(labels, list(range(len(labels))), titles, plot_height=height - 110)
    layout = _layout(
        titles[0] if titles else "Monthly returns",
        height=height,
        yaxis={"autorange": "reversed", "type": "category"},
        hovermode="closest",
        updatemenus=[menu] if len(labels) > 1 else [],
    )
    return go.Figure(traces, layout)


def fig_weights(run: RunData, top: int = _TOP_ASSETS) -> go.Figure:
    """Held weights per strategy (top ``top`` assets + "(other)"), stacked; dropdown per strategy.

    Long weights stack up from 0 and short weights down, in separate stack groups.
    """
    traces: list[go.Scatter] = []
    groups: list[int] = []
    labels, titles = [], []
    names = [n for n in run.strategies if n in run.weights]
    for k, name in enumerate(names):
        w = top_weights(run.weights[name], top)
        w = w.iloc[stride_indices(len(w), _MAX_AREA_POINTS)]
        x = _dates(w.index)
        vals = w.to_numpy(np.float64)
        has_short = bool(np.any(vals < 0))
        for j, asset in enumerate(w.columns):
            color = "#bbbbbb" if asset == OTHER else _asset_color(j)
            for sign, part in (
                ("long", np.clip(vals[:, j], 0, None)),
                ("short", np.clip(vals[:, j], None, 0)),
            ):
                if sign == "short" and not has_short:
                    continue
                traces.append(
                    go.Scatter(
                        x=x,
                        y=part,
                        name=esc(asset),
                        legendgroup=esc(asset),
                        showlegend=sign == "long",
                        stackgroup=f"{k}-{sign}",
                        mode="lines",
                        line={"width": 0, "color": color},
                        fillcolor=color,
                        visible=k == 0,
                        hovertemplate="%{y:.1%}",
                    )
                )
                groups.append(k)
        labels.append(esc(name))
        titles.append(f"Held weights: {esc(name)} (top {top} assets by average weight)")
    layout = _layout(
        titles[0] if titles else "Held weights",
        yaxis={"tickformat": ".0%", "title": "fraction of equity"},
        # One legend group per asset (long and short parts toggle together), no gaps between.
        legend={"orientation": "v", "x": 1.02, "y": 1.0, "tracegroupgap": 0},
        margin={"l": 60, "r": 20, "t": 90, "b": 40},
        updatemenus=[_dropdown(labels, groups, titles)] if len(labels) > 1 else [],
    )
    return go.Figure(traces, layout)


_ASSET_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6",
)  # fmt: skip


def _asset_color(j: int) -> str:
    return _ASSET_COLORS[j % len(_ASSET_COLORS)]
