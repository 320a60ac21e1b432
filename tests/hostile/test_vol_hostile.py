"""Hostile volatility-lab study keys: forecaster params and the ``volatility`` analysis."""

from __future__ import annotations

import pytest

from alphalab.config import StudyConfig
from alphalab.errors import ConfigError

BASE = {"name": "vol", "data": {"dataset": "sp500_20", "market": "us"}}


def _strategy(kind: str, params: dict) -> dict:
    return {"name": "s", "kind": "forecast",
            "params": {"forecaster": {"kind": kind, "params": params}, "allocator": {"kind": "inverse_variance"}}}


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("garch", {"vol": "figarch"}, "vol must be one of"),
        ("garch", {"dist": "skewt"}, "dist must be one of"),
        ("garch", {"vol": "egarch"}, "engine: arch for egarch"),
        ("garch", {"window": 10}, "window must be an integer >= 30"),
        ("garch", {"refit_every": 0}, "refit_every must be an integer >= 1"),
        ("garch", {"method": "bfgs"}, "method must be one of"),
        ("garch", {"windw": 90}, r"no parameter\(s\) \['windw'\]"),
        ("har", {"proxy": "vix"}, "proxy must be one of"),
        ("har", {"lags": "1,5,22"}, "lags must be a non-empty list"),
        ("har", {"lags": [1, 0]}, r"lags\[\] must be an integer >= 1"),
        ("har", {"log": "yes"}, "log must be true or false"),
        ("ewma", {"lam": 1.5}, r"lam must lie in \(0, 1\)"),
        ("ginn", {"lam": 2}, r"lam must be a number in \[0.0, 1.0\]"),
        ("ginn", {"inputs": ["returns", "vix"]}, r"unknown input\(s\) \['vix'\]"),
        ("ginn", {"inputs": "returns"}, "inputs must be a non-empty list"),
        ("ginn", {"revin": 1}, "revin must be true or false"),
        ("ginn", {"hidden": 0}, "hidden must be an integer >= 1"),
        ("deepar", {"likelihood": "poisson"}, "likelihood must be 'gaussian' or 't'"),
        ("deepar", {"levels": [0.5, 1.2]}, r"levels must be a list of numbers in \(0, 1\)"),
        ("lgbm_vol", {"n_lags": 0}, "n_lags must be an integer >= 1"),
        # pooling (GINN, LightGBM)
        ("ginn", {"inputs_from": "last year"}, "inputs_from must be a date"),
        ("lgbm_vol", {"inputs_from": 2011}, "inputs_from must be a date"),
        ("ginn", {"pooling": "global"}, r"pooling must be one of \['pooled', 'per_stock'\]"),
        ("lgbm_vol", {"pooling": None}, "pooling must be one of"),
        ("lgbm_vol", {"tune": {"params": {"lam": [0, 1]}}}, r"no parameter\(s\) \['tune'\]"),
        ("ginn", {"pooling": "per_stock", "tune": {"params": {"lam": [0, 1]}}}, "tune with pooling: per_stock"),
        # tune (GINN): Optuna on the inner validation block
        ("ginn", {"tune": "optuna"}, "tune must be a mapping"),
        ("ginn", {"tune": [8]}, "tune must be a mapping"),
        ("ginn", {"tune": {"n_trails": 8, "params": {"lam": [0, 1]}}}, r"tune: unknown key\(s\) \['n_trails'\]"),
        ("ginn", {"tune": {"n_trials": 0, "params": {"lam": [0, 1]}}}, r"tune.n_trials must be an integer in \[1, 200\]"),
        ("ginn", {"tune": {"n_trials": 8.5, "params": {"lam": [0, 1]}}}, "tune.n_trials must be an integer"),
        ("ginn", {"tune": {"n_trials": True, "params": {"lam": [0, 1]}}}, "tune.n_trials must be an integer"),
        ("ginn", {"tune": {"n_trials": 8}}, "tune.params must be a non-empty mapping"),
        ("ginn", {"tune": {"params": {"dropout": [0, 1]}}}, "tune.params: 'dropout' cannot be tuned"),
        ("ginn", {"tune": {"params": {"lam": [0, 2]}}}, r"tune.params.lam must be \[low, high\]"),
        ("ginn", {"tune": {"params": {"lam": 0.5}}}, r"tune.params.lam must be \[low, high\]"),
        ("ginn", {"tune": {"params": {"lam": [0, float("nan")]}}}, r"tune.params.lam\[1\]: must be a finite number"),
        ("ginn", {"tune": {"params": {"lr": [0, 0.01]}}}, r"tune.params.lr must be \[low, high\]"),
        ("ginn", {"tune": {"params": {"lr": [0.01, 0.001]}}}, r"tune.params.lr must be \[low, high\]"),
        ("ginn", {"tune": {"params": {"hidden": "8"}}}, "tune.params.hidden must be a non-empty list of integers >= 1"),
        ("ginn", {"tune": {"params": {"hidden": [0, 8]}}}, "tune.params.hidden must be a non-empty list of integers"),
        ("ginn", {"tune": {"params": {"lookback": [3, 60]}}}, "tune.params.lookback must be a non-empty list of integers >= 5"),
        ("ginn", {"tune": {"params": {"lookback": []}}}, "tune.params.lookback must be a non-empty list"),
        ("ginn", {"tune": {"params": {"lam": [0, 1]}, "inner": 0.2}}, r"tune.inner must be an integer in \[20, 2520\]"),
        ("ginn", {"tune": {"params": {"lam": [0, 1]}, "inner": 5}}, r"tune.inner must be an integer in \[20, 2520\]"),
        ("ginn", {"tune": {"params": {"lam": [0, 1]}, "metric": "sharpe"}}, "tune.metric must be 'qlike' or 'mse'"),
        ("ginn", {"tune": {"params": {"lam": [0, 1]}, "seed": -1}}, "tune.seed must be an integer >= 0 or null"),
    ],
)
def test_bad_forecaster_params(kind: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict({**BASE, "strategies": [_strategy(kind, params)]})


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"target": "vix"}, "target must be one of"),
        ({"refit": 2}, "refit must be an integer >= 5"),
        ({"seeds": []}, "seeds must be a non-empty list"),
        ({"seeds": [-1]}, "seeds must be a non-empty list"),
        ({"var_levels": [0.4]}, r"var_levels must be a list of numbers in \(0.5, 1\)"),
        ({"dm_level": 1.5}, r"dm_level must lie in \(0, 1\)"),
        ({"models": "garch"}, "models must be a list"),
        ({"plot_assets": -1}, "plot_assets must be an integer >= 0"),
        ({"source": "cache"}, "source must be 'study'"),
        ({"source": None}, "source must be 'study'"),
        ({"seeds": [1, 1]}, "seeds must be a non-empty list of distinct integers"),
        ({"seeds": [True]}, "seeds must be a non-empty list"),
        ({"seed_models": "ginn"}, "seed_models must be a list of strategy names"),
        ({"seed_models": [1]}, "seed_models must be a list of strategy names"),
    ],
)
def test_bad_volatility_analysis(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict({**BASE, "strategies": [{"name": "ew", "kind": "equal_weight"}],
                               "analyses": [{"name": "v", "kind": "volatility", "params": params}]})


def test_volatility_analysis_seed_models_must_be_compared_models(tmp_path) -> None:
    """A seed_models name that is not a compared forecaster is refused at run time, by name."""
    from types import SimpleNamespace

    import pandas as pd

    from alphalab.analyses import AnalysisContext, make_analysis
    from alphalab.models import ForecastStrategy
    from alphalab.models.allocators import InverseVariance
    from alphalab.models.vol.forecasters import EWMAForecaster, GarchForecaster
    from tests.models.vol.conftest import tw_small_panel

    panel = tw_small_panel(2, "2013-01-01", "2013-08-31")
    ctx = AnalysisContext(config=None, panel=panel, out_dir=tmp_path,
                          results={"garch": SimpleNamespace(returns=pd.Series(0.0, index=panel.dates[-40:-1]))},
                          strategies={"garch": ForecastStrategy(GarchForecaster(refit_every=20), InverseVariance()),
                                      "ewma": ForecastStrategy(EWMAForecaster(), InverseVariance())})
    with pytest.raises(ConfigError, match=r"seed_models \['ginn'\] are not among the compared models"):
        make_analysis("volatility", {"source": "refit", "seed_models": ["ginn"]}).run(ctx)
    with pytest.raises(ConfigError, match="source 'study' needs the walk-forward runs of"):
        make_analysis("volatility", {}).run(ctx)
