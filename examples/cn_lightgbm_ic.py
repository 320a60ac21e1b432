"""Forecast quality of examples/cn_lightgbm.yaml: IC, rank IC, ICIR and quantile spreads.

Usage: ``python examples/cn_lightgbm_ic.py [examples/cn_lightgbm.yaml]``. It loads the same
data and features as the study, refits the ``lgbm_top50`` strategy per walk-forward fold
(:func:`alphalab.models.oos.walk_forward_forecasts`), and scores the stitched out-of-sample
forecasts with :func:`alphalab.models.evaluation.evaluate_forecast_frame` against the 5-day
forward return (close to close, as in Qlib) and against the open-to-open return from the
next open (what a next-open execution can earn). Prints the summary as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alphalab.config import StudyConfig
from alphalab.data import load
from alphalab.features.sets import compute
from alphalab.models.evaluation import evaluate_forecast_frame
from alphalab.models.oos import walk_forward_forecasts


def main(path: str = "examples/cn_lightgbm.yaml", strategy: str = "lgbm_top50") -> dict:
    cfg = StudyConfig.from_yaml(path)
    panel = load(cfg.resolve_source(cfg.data.dataset), market=cfg.data.market, mode=cfg.data.mode, end=cfg.data.end)
    feats = compute(panel, cfg.features.sets, cache=cfg.features.cache)
    panel = panel.with_fields(**{k: feats[k] for k in feats.field_names})
    spec = next(s for s in cfg.strategies if s.name == strategy)
    strat = spec.build()
    # no random_state: the study's fold clones keep the forecaster's own (None -> LightGBM seed 0)
    frame = walk_forward_forecasts(strat, panel, cfg.validation.walk_forward.splitter(), cfg.execution.rebalance)
    horizon = strat.forecaster.horizon
    report = evaluate_forecast_frame(frame, panel, horizon, kind="score")
    # what a next-open execution can earn: open[t + 1] -> open[t + 1 + h]
    tradable = evaluate_forecast_frame(frame, panel, horizon, kind="score", price_field="open", entry_lag=1)
    out = {"strategy": strategy, "horizon": horizon, **report.summary,
           "tradable_next_open": {k: tradable.summary[k] for k in
                                  ("ic_mean", "rank_ic_mean", "icir", "rank_icir", "long_short_mean",
                                   "q1_mean", "q5_mean", "n_dates")},
           "first_date": str(frame["date"].min().date()), "last_date": str(frame["date"].max().date())}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(*(sys.argv[1:2] or [str(Path(__file__).with_name("cn_lightgbm.yaml"))]))
