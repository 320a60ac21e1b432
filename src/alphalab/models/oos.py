"""Out-of-sample forecasts of a strategy over walk-forward folds, stitched into one long frame.

The run-directory wiring (``forecasts/<strategy>.parquet``) belongs to the
runner; this helper gives the same frame from Python, for studies and
scripts that want the forecast evaluation (IC, rank IC, spreads) on its own:
each fold fits a fresh clone on its training rows and decides on the test
block's rebalance dates, exactly as the walk-forward runner does.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from alphalab.backtest.schedule import RebalanceRule, rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError

__all__ = ["walk_forward_forecasts"]


def walk_forward_forecasts(strategy: Any, panel: Panel, splitter: Any, rebalance: RebalanceRule = "weekly",
                           *, random_state: int | None = None) -> pd.DataFrame:
    """Stitched ``forecasts_`` of every fold (columns ``date, ticker, mean, ...`` plus ``fold``).

    Parameters
    ----------
    strategy : Strategy
        A template exposing ``forecasts_`` after ``decide`` (e.g. ForecastStrategy).
    panel : Panel
        Data of shape ``(n_dates, n_assets)``.
    splitter : WalkForward
    rebalance : rebalance rule
        Decision dates inside each test block.
    random_state : int, optional
        Set on each fold's clone when the strategy has that parameter.
    """
    mask = rebalance_mask(panel.dates, rebalance)
    frames = []
    for fold in splitter.split(panel.dates):
        strat = strategy.clone()
        if random_state is not None and "random_state" in strat.get_params(deep=False):
            strat.set_params(random_state=random_state)
        train = panel.iloc_dates(slice(int(fold.train[0]), int(fold.train[-1]) + 1))
        strat.fit(train, until=train.dates[-1])
        rows = fold.test[mask[fold.test]]
        if not rows.size:
            continue
        view = panel.iloc_dates(slice(0, int(fold.test[-1]) + 1))
        strat.decide(view, panel.dates[rows])
        fc = getattr(strat, "forecasts_", None)
        if fc is None:
            raise ConfigError(f"{type(strategy).__name__} sets no forecasts_ after decide")
        frames.append(fc.assign(fold=fold.index))
    if not frames:
        raise ConfigError("walk-forward produced no decision dates")
    return pd.concat(frames, ignore_index=True)
