"""Correlation of the strategies' daily returns (and the benchmark's) over the evaluated window."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError

__all__ = ["ReturnCorrelation"]


@register_analysis("return_correlation")
class ReturnCorrelation(Analysis):
    """Pairwise Pearson correlation of daily returns, strategies and benchmark.

    Parameters
    ----------
    min_overlap : int
        Fewest common dates with finite returns for a pair to get a value
        (otherwise the cell is null).
    """

    title = "Return correlation"

    def __init__(self, min_overlap: int = 20) -> None:
        if isinstance(min_overlap, bool) or not isinstance(min_overlap, int) or min_overlap < 2:
            raise ConfigError(f"min_overlap must be an integer >= 2, got {min_overlap!r}")
        self.min_overlap = min_overlap

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        frame = pd.DataFrame({name: res.returns for name, res in ctx.results.items()})
        if ctx.benchmark is not None:
            frame["benchmark"] = ctx.benchmark.reindex(frame.index)
        corr = frame.corr(min_periods=self.min_overlap)
        names = list(corr.columns)
        values = [[None if not np.isfinite(v) else round(float(v), 6) for v in row]
                  for row in corr.to_numpy()]
        return {"names": names, "matrix": values, "n_dates": len(frame)}

    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        names = summary.get("names", [])
        head = "".join(f"<th>{escape(str(n))}</th>" for n in names)
        body = ""
        for name, row in zip(names, summary.get("matrix", []), strict=False):
            cells = "".join("<td>–</td>" if v is None else f"<td>{v:.2f}</td>" for v in row)
            body += f"<tr><th>{escape(str(name))}</th>{cells}</tr>"
        return (
            f"<p>Daily returns over {summary.get('n_dates', 0)} dates.</p>"
            f"<table><tr><th></th>{head}</tr>{body}</table>"
        )
