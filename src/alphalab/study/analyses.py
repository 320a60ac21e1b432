"""Run a study's analyses (``analyses:``) over its finished strategies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from alphalab.config import StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError

__all__ = ["run_analyses"]


def run_analyses(
    cfg: StudyConfig,
    run_dir: Path,
    panel: Panel,
    results: dict[str, Any],
    strategies: dict[str, Any],
    bench: pd.Series | None,
    runs: dict[str, Any],
    holdout: bool,
) -> None:
    """Write ``analyses/<name>.json`` (and files) for every analysis of the study.

    Parameters
    ----------
    runs : dict of str -> WalkForwardResult
        Per strategy; its stitched ``forecasts``, per-fold ``diagnostics`` and fitted
        fold models reach the analyses through the context.
    """
    from alphalab.analyses import AnalysisContext, write_analysis

    scope = "plain" if cfg.validation is None else ("holdout" if holdout else "development")
    forecasts = {
        n: wf.forecasts for n, wf in runs.items() if getattr(wf, "forecasts", None) is not None
    }
    diagnostics = {
        n: wf.diagnostics for n, wf in runs.items() if getattr(wf, "diagnostics", None)
    }
    for acfg in cfg.analyses:
        ctx = AnalysisContext(
            config=cfg,
            panel=panel,
            results=results,
            strategies=strategies,
            benchmark=bench,
            forecasts=forecasts,
            diagnostics=diagnostics,
            walk_forward=dict(runs),
            scope=scope,
        )
        try:
            write_analysis(run_dir, acfg.name, acfg.build(), ctx)
        except (DataError, ConfigError) as exc:
            raise type(exc)(f"analysis {acfg.name!r} ({acfg.kind}): {exc}") from None
