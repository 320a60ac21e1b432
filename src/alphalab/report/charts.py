"""Static PNG charts of a run (matplotlib, Agg canvas).

Figures are built with :class:`matplotlib.figure.Figure` on an explicit
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, never through
``pyplot``: nothing is registered in pyplot's global figure list (so nothing
leaks), the user's backend is untouched, and style settings live in a local
``rc_context`` only.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from alphalab.report.rundir import RunData, safe_name
from alphalab.report.stats import (
    drawdown,
    growth,
    histogram,
    monthly_returns,
    rolling_sharpe,
    rolling_window,
    stride_indices,
    top_weights,
)
from alphalab.report.style import color_map

__all__ = [
    "plot_drawdown",
    "plot_equity",
    "plot_monthly_heatmap",
    "plot_returns_hist",
    "plot_rolling_sharpe",
    "plot_weights",
    "write_charts",
]
_RC = {
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    # Names are data, not markup: "$" in a strategy name must not start mathtext.
    "text.parse_math": False,
}
_SIZE = (10.0, 4.8)
_ANNOTATE_YEARS = 20
_MAX_AREA_POINTS = 1500
_DPI = 100


def _label(name: object) -> str:
    # matplotlib hides legend entries whose label starts with "_"; a leading space keeps them.
    text = str(name)
    return f" {text}" if text.startswith("_") else text


def _figure(size: tuple[float, float] = _SIZE, right: float = 0.98) -> Figure:
    # Fixed margins, not constrained layout: the layout engine re-measures every text
    # (heatmap annotations) and costs about a third of the run time at 8,000 days.
    fig = Figure(figsize=size, dpi=_DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.08, right=right, bottom=0.09, top=0.92)
    return fig


def _lines(ax: Axes, frame: pd.DataFrame, benchmark: str | None) -> None:
    colors = color_map(list(frame.columns), benchmark)
    for name in frame.columns:
        is_bench = name == benchmark
        ax.plot(
            frame.index,
            frame[name].to_numpy(),
            label=_label(name),
            color=colors[name],
            lw=1.1 if is_bench else 1.0,
            ls="--" if is_bench else "-",
            zorder=3 if is_bench else 2,
        )
    if len(frame.columns) > 1 or benchmark is not None:
        # A fixed corner: loc="best" scans every plotted point and is slow on long series.
        ax.legend(loc="upper left", ncols=min(4, len(frame.columns)))


def plot_equity(equity: pd.DataFrame, benchmark: str | None = None, title: str = "") -> Figure:
    """Growth of 1 (each series rebased at its start) on a log scale.

    Parameters
    ----------
    equity : pandas.DataFrame, shape ``(n_dates, n_series)``
    benchmark : str, optional
        Column drawn dashed in near-black.
    """
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        _lines(ax, growth(equity), benchmark)
        ax.set_yscale("log")
        # Plain numbers (1.5, 2, 3) instead of 2x10^0; minor ticks labelled only when the
        # axis spans less than a decade, otherwise they crowd.
        plain = FuncFormatter(lambda v, _pos: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        lo, hi = ax.get_ylim()
        ax.yaxis.set_minor_formatter(plain if hi / lo < 10 else NullFormatter())
        ax.set_ylabel("growth of 1 (log scale)")
        ax.set_title(title or "Equity vs benchmark")
    return fig


def plot_drawdown(equity: pd.DataFrame, benchmark: str | None = None) -> Figure:
    """Drawdown from the running peak, in percent, one line per series."""
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        _lines(ax, drawdown(equity), benchmark)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel("drawdown")
        ax.set_title("Drawdown")
    return fig


def plot_rolling_sharpe(
    returns: pd.DataFrame, benchmark: str | None = None, window: int | None = None
) -> Figure:
    """Annualised rolling Sharpe ratio per series.

    ``window`` is passed through :func:`stats.rolling_window` (default one year,
    at most half the sample).
    """
    window = rolling_window(returns.index, window)
    rs = rolling_sharpe(returns, window=window)
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        _lines(ax, rs, benchmark)
        ax.axhline(0.0, color="#888888", lw=0.8)
        ax.set_ylabel("annualised Sharpe")
        ax.set_title(f"Rolling Sharpe ratio ({window}-bar window)")
    return fig


def plot_returns_hist(returns: pd.DataFrame, benchmark: str | None = None) -> Figure:
    """Distribution of per-bar returns (density, shared bins, step outlines)."""
    edges, dens = histogram(returns)
    colors = color_map(list(returns.columns), benchmark)
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        for name in dens.columns:
            d = dens[name].to_numpy()
            if np.all(np.isnan(d)):
                continue
            ax.stairs(
                d,
                edges,
                label=_label(name),
                color=colors[name],
                lw=1.2,
                ls="--" if name == benchmark else "-",
            )
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("return per bar (tails clipped into the edge bins)")
        ax.set_ylabel("density")
        ax.set_title("Return distribution")
        ax.legend(loc="upper left")
    return fig


def plot_monthly_heatmap(returns: pd.Series, name: str = "") -> Figure:
    """Years x months table of compounded monthly returns, annotated in percent.

    Parameters
    ----------
    returns : pandas.Series, length ``n_dates``
    name : str
        Strategy name for the title.
    """
    table = monthly_returns(returns)
    vals = table.to_numpy(np.float64)
    n_years = max(1, len(table))
    finite = vals[np.isfinite(vals)]
    lim = float(np.quantile(np.abs(finite), 0.98)) if finite.size else 0.01
    lim = max(lim, 1e-4)
    with mpl.rc_context({**_RC, "axes.grid": False}):
        height = min(1.2 + 0.28 * n_years, 14.0)
        fig = _figure((10.0, height), right=0.95)
        fig.subplots_adjust(bottom=0.35 / height, top=1.0 - 0.45 / height)
        ax = fig.add_subplot()
        img = ax.imshow(
            np.ma.masked_invalid(vals),
            cmap="RdYlGn",
            norm=TwoSlopeNorm(0.0, -lim, lim),
            aspect="auto",
            interpolation="nearest",
        )
        ax.set_xticks(range(12), ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])  # fmt: skip
        ax.set_yticks(range(len(table)), [str(y) for y in table.index])
        # One text per cell while they stay readable; beyond ~20 years the colour bar
        # alone tells the story and the texts would dominate the chart's run time.
        if n_years <= _ANNOTATE_YEARS:
            for (i, j), v in np.ndenumerate(vals):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.1%}", ha="center", va="center", fontsize=7)
        fig.colorbar(img, ax=ax, format=PercentFormatter(1.0), fraction=0.04, pad=0.01)
        ax.set_title(f"Monthly returns: {name}" if name else "Monthly returns")
    return fig


def plot_weights(weights: pd.DataFrame, name: str = "", top: int = 10) -> Figure:
    """Stacked area of held weights: top ``top`` assets by average weight + "(other)".

    Long weights stack upwards from 0, short weights downwards.

    Parameters
    ----------
    weights : pandas.DataFrame, shape ``(n_dates, n_assets)``
    """
    w = top_weights(weights, top)
    # 8,000 rows of 11 stacked polygons cost more than the PNG's 1,000 pixels can show.
    w = w.iloc[stride_indices(len(w), _MAX_AREA_POINTS)]
    x = w.index
    cmap = mpl.colormaps["tab20"]
    colors = [cmap(i % 20) for i in range(w.shape[1])]
    with mpl.rc_context(_RC):
        fig = _figure(right=0.84)
        ax = fig.add_subplot()
        vals = w.to_numpy(np.float64).T
        labels = [_label(c) for c in w.columns]
        ax.stackplot(x, np.clip(vals, 0.0, None), labels=labels, colors=colors, lw=0)
        if np.any(vals < 0):
            ax.stackplot(x, np.clip(vals, None, 0.0), colors=colors, lw=0)
            ax.axhline(0.0, color="#444444", lw=0.8)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel("weight (fraction of equity)")
        ax.set_title(f"Held weights: {name}" if name else "Held weights")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7)
        if len(x) > 1:
            ax.set_xlim(x[0], x[-1])
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI)
    # Drop the canvas' renderer caches now rather than at the next garbage collection.
    fig.clear()
    return path


def write_charts(run: RunData, out_dir: str | Path | None = None) -> list[Path]:
    """Write every PNG chart of a run.

    Files: ``equity.png``, ``drawdown.png``, ``returns_hist.png``,
    ``rolling_sharpe.png`` for the whole run, and per strategy
    ``<safe name>_monthly_heatmap.png`` and ``<safe name>_weights.png`` (the
    latter only when weights were recorded).

    Parameters
    ----------
    run : RunData
    out_dir : str or Path, optional
        Default ``run.path / "charts"``; created when missing.

    Returns
    -------
    list of Path
        The files written, in the order above.
    """
    out = Path(out_dir) if out_dir is not None else run.path / "charts"
    out.mkdir(parents=True, exist_ok=True)
    bench = run.benchmark
    title = f"Equity vs benchmark: {run.title}" if bench else f"Equity: {run.title}"
    written = [
        _save(plot_equity(run.equity, bench, title=title), out / "equity.png"),
        _save(plot_drawdown(run.equity, bench), out / "drawdown.png"),
        _save(plot_returns_hist(run.returns, bench), out / "returns_hist.png"),
        _save(
            plot_rolling_sharpe(run.returns, bench, run.rolling_window), out / "rolling_sharpe.png"
        ),
    ]
    used: set[str] = set()
    for name in run.strategies:
        stem = _unique(safe_name(name), used)
        written.append(
            _save(
                plot_monthly_heatmap(run.returns[name], name), out / f"{stem}_monthly_heatmap.png"
            )
        )
        if name in run.weights:
            written.append(
                _save(plot_weights(run.weights[name], name), out / f"{stem}_weights.png")
            )
    return written


def _unique(stem: str, used: set[str]) -> str:
    # Two names can sanitise to the same stem ("a b", "a/b"); number the later ones.
    candidate, k = stem, 2
    while candidate in used:
        candidate, k = f"{stem}-{k}", k + 1
    used.add(candidate)
    return candidate
