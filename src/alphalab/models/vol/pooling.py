"""Per-stock learners: one model per asset instead of one pooled model over all assets.

``pooling: per_stock`` on a learned variance forecaster fits, for each asset ``j``,
an unfitted copy restricted to ``j``'s own training samples (inputs are still
built on the whole panel, so cross-sectional alpha ranks keep their meaning) and
forecasts ``j`` with it. ``max_samples`` then counts per stock. An asset with
too few training samples gets no model and NaN forecasts (counted in
``diagnostics_["per_stock"]["skipped"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.forecast import Forecast

__all__ = ["POOLING", "check_pooling", "fit_per_stock", "predict_per_stock"]

POOLING = ("pooled", "per_stock")


def check_pooling(pooling: Any, tune: Any = None) -> None:
    """Raise :class:`ConfigError` for an unknown pooling (or per-stock tuning, n_trials x n_stocks fits)."""
    if pooling not in POOLING:
        raise ConfigError(f"pooling must be one of {list(POOLING)}, got {pooling!r}")
    if pooling == "per_stock" and tune is not None:
        raise ConfigError("tune with pooling: per_stock is not supported (n_trials x n_stocks fits); "
                          "tune the pooled model")


def fit_per_stock(est: Any, panel: Panel, until: Any) -> tuple[list[Any | None], dict[str, Any]]:
    """One fitted copy of ``est`` (``pooling="pooled"``, restricted to one asset) per asset of ``panel``."""
    from alphalab.portfolio.params import clone_param

    models: list[Any | None] = []
    skipped: list[str] = []
    samples = 0
    for j, asset in enumerate(panel.assets):
        c = clone_param(est)
        c.set_params(pooling="pooled")
        c.only_asset_ = j  # a fit-time restriction, not a parameter (see _Samples.train_positions)
        try:
            c.fit(panel, until)
        except DataError:
            models.append(None)
            skipped.append(str(asset))
            continue
        samples += int(getattr(c, "diagnostics_", {}).get("n_samples", 0))
        models.append(c)
    if all(m is None for m in models):
        raise DataError(f"{type(est).__name__} per_stock: no asset has enough training samples by {until}")
    return models, {"pooling": "per_stock", "n_samples": samples,
                    "per_stock": {"models": sum(m is not None for m in models), "skipped": skipped}}


def predict_per_stock(models: list[Any | None], panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
    """Each asset's forecasts from its own model (NaN for assets without one)."""
    from alphalab.models.vol.forecasters import vol_forecast

    dates = pd.DatetimeIndex(dates)
    if len(models) != panel.n_assets:
        raise DataError(f"per_stock: fitted on {len(models)} assets, the panel has {panel.n_assets}")
    var = np.full((len(dates), panel.n_assets), np.nan)
    for j, m in enumerate(models):
        if m is not None:
            var[:, j] = m.predict(panel, dates).variance[:, j]
    return vol_forecast(dates, panel.assets, 1, var)
