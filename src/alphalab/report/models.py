"""The "Models" section of a report: what learning strategies said about their own fits.

A strategy may leave ``diagnostics_`` after ``fit`` (solver fallbacks, convergence
failures, training curves); the walk-forward runner stores one entry per fit in
``diagnostics/<name>.json`` and :mod:`alphalab.report.rundir` reads them into
``RunData.diagnostics``. Lists under :data:`CURVE_KEYS` are drawn as a small chart
(one line per fold); every other key goes into a compact table, one row per fold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from alphalab.report.rundir import RunData
from alphalab.report.style import PALETTE
from alphalab.report.tables import esc

__all__ = ["CURVE_KEYS", "fig_training_curves", "models_section"]

#: Diagnostics keys holding a per-epoch (or per-iteration) loss curve.
CURVE_KEYS = ("training_curve", "val_curve")
#: Fold keys shown first in the table (the runner adds them to every entry).
_SPAN_KEYS = ("fold", "train_start", "train_end")
#: Longest text shown in a table cell before it is cut.
_MAX_CELL = 80


def _curve(values: Any) -> list[float] | None:
    """A list of numbers (None for non-finite points), or None when ``values`` is not one."""
    if not isinstance(values, Sequence) or isinstance(values, (str, bytes)) or not values:
        return None
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or (not isinstance(v, (int, float)) and v is not None):
            return None
        f = math.nan if v is None else float(v)
        out.append(f if math.isfinite(f) else math.nan)
    return out


def fig_training_curves(name: str, entries: Sequence[Mapping[str, Any]]) -> go.Figure | None:
    """Training (solid) and validation (dashed) curves per fold of one strategy.

    Parameters
    ----------
    name : str
        Strategy name (title).
    entries : sequence of dict
        ``RunData.diagnostics[name]``: one dict per fit.

    Returns
    -------
    plotly Figure or None
        None when no entry has a curve.
    """
    traces = []
    for i, entry in enumerate(entries):
        color = PALETTE[i % len(PALETTE)]
        fold = entry.get("fold", i)
        for key, dash in zip(CURVE_KEYS, ("solid", "dash"), strict=True):
            ys = _curve(entry.get(key))
            if ys is None:
                continue
            traces.append(
                go.Scatter(
                    x=list(range(1, len(ys) + 1)),
                    y=ys,
                    mode="lines",
                    name=f"fold {fold} {key.replace('_', ' ')}",
                    line={"color": color, "dash": dash, "width": 1.5},
                )
            )
    if not traces:
        return None
    return go.Figure(
        traces,
        {
            "title": {"text": f"{name}: training curves per fold", "x": 0.01},
            "template": "plotly_white",
            "height": 320,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
            "xaxis": {"title": "epoch / iteration"},
            "yaxis": {"title": "loss"},
        },
    )


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">null</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return esc(f"{value:.6g}")
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return esc(text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 3] + "...")
    return esc(value)


def _table(entries: Sequence[Mapping[str, Any]]) -> str:
    """One row per fit; columns: fold span, then every other non-curve key."""
    keys: list[str] = []
    for entry in entries:
        for k in entry:
            if k not in keys and k not in CURVE_KEYS:
                keys.append(str(k))
    keys = [k for k in _SPAN_KEYS if k in keys] + [k for k in keys if k not in _SPAN_KEYS]
    for entry in entries:  # curves are charted; their length is still worth a column
        for k in CURVE_KEYS:
            if _curve(entry.get(k)) is not None and f"{k} length" not in keys:
                keys.append(f"{k} length")
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    rows = []
    for entry in entries:
        cells = []
        for k in keys:
            if k.endswith(" length") and k[: -len(" length")] in CURVE_KEYS:
                curve = _curve(entry.get(k[: -len(" length")]))
                cells.append(f"<td>{'' if curve is None else len(curve)}</td>")
            else:
                cells.append(f"<td>{_cell(entry.get(k))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="models"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def models_section(run: RunData, charts: Mapping[str, str] | None = None) -> str:
    """HTML of the Models section ("" when no strategy left diagnostics).

    Parameters
    ----------
    run : RunData
    charts : mapping, optional
        Rendered chart divs by id; ``chart-models-<i>`` is placed under the
        ``i``-th strategy's table.
    """
    if not run.diagnostics:
        return ""
    charts = charts or {}
    parts = [
        '<p class="note">What each learning strategy reported about its fits '
        "(<code>diagnostics_</code>), one row per walk-forward fold.</p>"
    ]
    for i, name in enumerate(run.strategies):
        entries = run.diagnostics.get(name)
        if not entries:
            continue
        parts.append(f"<h3>{esc(name)}</h3>{_table(entries)}{charts.get(f'chart-models-{i}', '')}")
    return "".join(parts)
