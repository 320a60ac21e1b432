"""The ``volatility`` analysis on a small real TWSE panel (rule-based forecasters, fast)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from alphalab.analyses import AnalysisContext, make_analysis
from alphalab.analyses.volatility import VolatilityComparison
from alphalab.errors import ConfigError
from alphalab.models import ForecastStrategy
from alphalab.models.allocators import InverseVariance
from alphalab.models.vol.forecasters import EWMAForecaster, GarchForecaster, HARForecaster
from tests.models.vol.conftest import tw_small_panel


def _ctx(tmp_path, strategies):
    panel = tw_small_panel(3, "2012-01-01", "2013-10-31")
    eval_dates = panel.dates[-90:-1]
    result = SimpleNamespace(returns=pd.Series(0.0, index=eval_dates))  # the analysis reads the evaluated dates
    return AnalysisContext(config=None, panel=panel, results={"garch": result}, strategies=strategies,
                           out_dir=tmp_path)


def test_volatility_analysis_end_to_end(tmp_path) -> None:
    strategies = {
        "garch": ForecastStrategy(GarchForecaster(refit_every=5, method="newton"), InverseVariance()),
        "ewma": ForecastStrategy(EWMAForecaster(), InverseVariance()),
        "har": ForecastStrategy(HARForecaster(min_rows=50), InverseVariance()),
        "ewma_twin": ForecastStrategy(EWMAForecaster(), InverseVariance()),  # an exact tie for the MCS
    }
    analysis = make_analysis("volatility", {"source": "refit", "refit": 30, "plot_assets": 1})
    summary = analysis.run(_ctx(tmp_path, strategies))
    assert summary["n_stocks"] == 3 and summary["n_dates"] == 89
    assert set(summary["dm"]) == {"ewma", "har", "ewma_twin"}
    assert summary["mcs"]["ewma_twin"]["identical_to"] == "ewma"
    assert summary["mcs"]["ewma_twin"]["pvalue"] == summary["mcs"]["ewma"]["pvalue"]
    for rec in summary["dm"].values():
        q = rec["qlike"]
        assert 0 <= q["sig_better"] + q["sig_worse"] <= q["stocks"] <= 3
    assert summary["headline"][-1].startswith("Models that beat garch")
    assert set(summary["var_backtests"]["garch"]) == {"0.9", "0.95", "0.99"}
    assert summary["fits"]["garch"]["garch_fits"] > 0
    assert (tmp_path / "per_stock_qlike.csv").exists() and (tmp_path / "heatmap_qlike.png").exists()
    html = VolatilityComparison.render(summary, tmp_path)
    assert "Diebold-Mariano" in html and "data:image/png;base64" in html


def test_volatility_analysis_needs_its_baseline(tmp_path) -> None:
    strategies = {"ewma": ForecastStrategy(EWMAForecaster(), InverseVariance())}
    with pytest.raises(ConfigError, match="baseline 'garch'"):
        make_analysis("volatility", {}).run(_ctx(tmp_path, strategies))


def test_tuning_trials_seeds_and_pooling_reach_the_report(tmp_path) -> None:
    """A tuned GINN's trials (every analysis block, every seed), the seed spread and the pooling column."""
    from alphalab.models.vol.learners import GINNForecaster, LightGBMVolForecaster

    tiny = {"hidden": 2, "epochs": 1, "lookback": 10, "max_samples": 300, "inputs": ["returns", "garch"]}
    tune = {"n_trials": 2, "inner": 30, "params": {"lam": [0.0, 1.0], "hidden": [2, 3]}}
    strategies = {
        "garch": ForecastStrategy(GarchForecaster(refit_every=5, method="newton"), InverseVariance()),
        "ginn_tuned": ForecastStrategy(GINNForecaster(tune=tune, **tiny), InverseVariance()),
        "lgbm_ps": ForecastStrategy(LightGBMVolForecaster(n_estimators=5, min_child_samples=20, pooling="per_stock"),
                                    InverseVariance()),
    }
    analysis = make_analysis("volatility", {"source": "refit", "refit": 45, "plot_assets": 0, "seeds": [0, 1]})
    summary = analysis.run(_ctx(tmp_path, strategies))
    rows = summary["tuning"]
    assert {r["model"] for r in rows} == {"ginn_tuned"}
    assert len(rows) == 2 * 2 * 2  # blocks x seeds x trials
    assert sum(r["chosen"] for r in rows) == 2 * 2  # one choice per fitted block
    assert all(r["run"] == "analysis block" and r["loss"] > 0 for r in rows)
    assert summary["pooling"] == {"ginn_tuned": "pooled", "lgbm_ps": "per_stock"}
    assert summary["seeds"]["ginn_tuned"]["n_seeds"] == 2 and len(summary["seeds"]["ginn_tuned"]["qlike"]) == 2
    assert (tmp_path / "tuning_trials.csv").exists()
    html = VolatilityComparison.render(summary, tmp_path)
    assert "Hyper-parameter trials" in html and "inner-validation loss" in html and "per_stock" in html
    assert "Network seeds" in html
