"""Forecast evaluation against hand-computed values and against arch."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.models import LightGBMForecaster, MomentumForecaster, RealisedVolForecaster
from alphalab.models.evaluation import (
    diebold_mariano,
    evaluate_forecast_frame,
    loss_table,
    mae,
    model_confidence_set,
    mse,
    oos_r2,
    qlike,
    r2,
)
from alphalab.models.labels import make_label


def test_point_losses_by_hand() -> None:
    y = np.array([1.0, 2.0, 3.0, np.nan])
    f = np.array([1.5, 2.0, 2.0, 9.0])
    assert mse(y, f) == pytest.approx((0.25 + 0 + 1) / 3)
    assert mae(y, f) == pytest.approx(1.5 / 3)
    assert r2(y, f) == pytest.approx(1 - 1.25 / 2.0)
    assert oos_r2(y, f, np.array([2.0, 2.0, 2.0, 2.0])) == pytest.approx(1 - 1.25 / 2.0)
    # QLIKE r/f - log(r/f) - 1: r=2, f=1 -> 2 - log 2 - 1 ; r=f -> 0
    assert qlike([2.0, 1.0], [1.0, 1.0]) == pytest.approx((1 - math.log(2)) / 2)
    assert qlike([1.0], [0.0]) != qlike([1.0], [0.0])  # no valid pair -> NaN


def test_diebold_mariano_matches_a_hand_newey_west() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 1.0, 300) ** 2
    b = rng.normal(1.2, 1.0, 300) ** 2
    d = a - b
    n, h = d.size, 3
    dc = d - d.mean()
    lrv = dc @ dc / n + 2 * sum((1 - k / h) * (dc[k:] @ dc[:-k]) / n for k in range(1, h))
    got = diebold_mariano(a, b, h=h)
    assert got["stat"] == pytest.approx(d.mean() / math.sqrt(lrv / n), rel=1e-10)
    assert got["pvalue"] == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(abs(got["stat"]))))
    one = diebold_mariano(a, b, h=1)
    assert one["stat"] == pytest.approx(d.mean() / (d.std(ddof=0) / math.sqrt(n)))


def test_model_confidence_set_agrees_with_arch_and_drops_a_bad_model() -> None:
    from arch.bootstrap import MCS

    rng = np.random.default_rng(1)
    losses = pd.DataFrame({"good": rng.chisquare(3, 400), "also": rng.chisquare(3, 400),
                           "bad": rng.chisquare(3, 400) + 1.5})
    out = model_confidence_set(losses, size=0.1, reps=300, block_size=10, seed=5)
    ref = MCS(losses, size=0.1, reps=300, block_size=10, seed=np.random.default_rng(5))
    ref.compute()
    np.testing.assert_allclose(out["pvalue"].to_numpy(), ref.pvalues.reindex(losses.columns).iloc[:, 0].to_numpy())
    assert not out.loc["bad", "included"] and out.loc["good", "included"]


def test_loss_table_per_asset_pooled_and_share(cn_panel: Panel) -> None:
    dates = cn_panel.dates[100:400:5]
    real = make_label(cn_panel, "volatility", 5).values[cn_panel.dates.get_indexer(dates)]
    fast = RealisedVolForecaster(window=5).fit(cn_panel, dates[0]).predict(cn_panel, dates).mean
    slow = RealisedVolForecaster(window=60).fit(cn_panel, dates[0]).predict(cn_panel, dates).mean
    per, pooled = loss_table(real**2, {"rv5": fast**2, "rv60": slow**2}, baseline="rv60", loss="qlike",
                             assets=cn_panel.assets, h=5)
    assert per.shape == (cn_panel.n_assets, 2)
    assert pooled.loc["rv60", "share_beats_baseline"] == 0.0
    share = float((per["rv5"] < per["rv60"]).mean())
    assert pooled.loc["rv5", "share_beats_baseline"] == pytest.approx(share)
    assert np.isfinite(pooled.loc["rv5", "dm_stat"])


def test_evaluate_forecast_frame_reuses_factor_metrics(cn_panel: Panel) -> None:
    from alphalab.features import factors

    dates = cn_panel.dates[200:450:5]
    fc = MomentumForecaster(lookback=20, horizon=5).fit(cn_panel, dates[0]).predict(cn_panel, dates)
    report = evaluate_forecast_frame(fc.to_frame(), cn_panel, 5, kind="score")
    rows = cn_panel.dates.get_indexer(dates)
    fwd = factors.forward_returns(cn_panel["close"], 5)[rows]
    ric = factors.information_coefficient(fc.mean, fwd, method="spearman")
    assert report.summary["rank_ic_mean"] == pytest.approx(float(ric.mean()))
    assert report.summary["n_dates"] == len(dates)
    assert {"ic", "quantiles"} <= set(report.tables)
    json.dumps(report.to_dict())
    lagged = evaluate_forecast_frame(fc.to_frame(), cn_panel, 5, kind="score", price_field="open", entry_lag=1)
    fwd_open = factors.forward_returns(cn_panel["open"], 5)[rows + 1]
    ric_open = factors.information_coefficient(fc.mean, fwd_open, method="spearman")
    assert lagged.summary["rank_ic_mean"] == pytest.approx(float(ric_open.mean()))
    vol = RealisedVolForecaster(window=20, horizon=5).fit(cn_panel, dates[0]).predict(cn_panel, dates)
    vrep = evaluate_forecast_frame(vol.to_frame(), cn_panel, 5, kind="volatility")
    assert vrep.summary["qlike"] is not None and vrep.summary["qlike"] > 0


def test_out_of_sample_lightgbm_forecasts_are_scored(cn_panel: Panel) -> None:
    """The lead's hook: stitched ForecastStrategy forecasts over walk-forward folds -> IC / spreads."""
    from alphalab.models import ForecastStrategy, TopK
    from alphalab.models.oos import walk_forward_forecasts
    from alphalab.validation.splits import WalkForward

    s = ForecastStrategy(LightGBMForecaster(horizon=5, features=["ROC5", "ROC20", "STD20", "KMID"], n_estimators=20,
                                            num_leaves=8, min_child_samples=50, random_state=0), TopK(k=5))
    frame = walk_forward_forecasts(s, cn_panel, WalkForward("1y", "6m", "expanding", 5, 0), "weekly")
    assert frame["fold"].nunique() == 2 and not frame.duplicated(["date", "ticker"]).any()
    first_test = frame.loc[frame["fold"] == 0, "date"].min()
    assert first_test > cn_panel.dates[240]  # nothing out-of-sample inside the first training year
    report = evaluate_forecast_frame(frame, cn_panel, 5, kind="score")
    rows = cn_panel.dates.get_indexer(pd.DatetimeIndex(frame["date"].unique()))
    # dates whose 5-bar label window runs past the panel end cannot be scored
    assert report.summary["n_dates"] == int((rows + 5 <= cn_panel.n_dates - 1).sum())
    assert -1 <= report.summary["rank_ic_mean"] <= 1 and "long_short_mean" in report.summary
    again = walk_forward_forecasts(s, cn_panel, WalkForward("1y", "6m", "expanding", 5, 0), "weekly")
    pd.testing.assert_frame_equal(frame, again)  # deterministic
