"""Hostile parameters of ``kind: cluster_rl`` and ``analyses: kind: cluster_rl``: clear errors naming the key."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import alphalab.analyses.catalogue
import alphalab.models  # noqa: F401  (registers cluster_rl)
from alphalab.analyses import make_analysis
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.cluster_rl.features import build_features
from alphalab.portfolio.base import make_strategy


def _panel(n: int = 150) -> Panel:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0))
    return Panel({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                  "volume": np.full((n, 3), 1e6)}, pd.bdate_range("2018-01-01", periods=n), ["A", "B", "C"])


@pytest.mark.parametrize(("params", "match"), [
    ({"cluster": "spectral"}, "cluster must be one of"),
    ({"signal": "dqn"}, "signal must be one of"),
    ({"allocator": "td3"}, "allocator must be one of"),
    ({"outliers": "drop"}, "outliers must be one of"),
    ({"features": ["technical", "news"]}, "features must list groups"),
    ({"features": []}, "features must list groups"),
    ({"max_clusters": 1}, "max_clusters must be an integer >= 2"),
    ({"signal_steps": 0}, "signal_steps must be"),
    ({"window": True}, "window must be"),
    ({"n_seeds": 0}, "n_seeds must be"),
    ({"zwindow": 1}, "zwindow must be"),
    ({"train_days": 100, "val_days": 60}, "val_days"),
    ({"cluster_params": [1, 2]}, "cluster_params must be a mapping"),
    ({"cost_bps": -1}, "cost_bps must be"),
    ({"cost_bps": "35"}, "cost_bps must be"),
    ({"policy": "gru"}, "policy must be one of"),
    ({"policy": "lstm", "signal": "a2c"}, "needs signal 'ppo'"),
    ({"per_cluster": "yes"}, "per_cluster must be true or false"),
    ({"warmup": 0}, "warmup must be"),
    ({"vec_env": "async"}, "vec_env must be one of"),
    ({"transforms": {"technical": "log"}}, r"transforms\.technical must be one of"),
    ({"transforms": {"news": "rank"}}, r"transforms: unknown group"),
    ({"transforms": "rank"}, "transforms must be a mapping"),
    ({"cost_bps": float("nan")}, "cost_bps must be"),
    ({"costs": [15, 10]}, "costs must be a mapping"),
    ({"costs": {"commision_bps": 15}}, "costs: .*commision_bps"),
    ({"costs": {"slippage_bps": -1}}, "slippage_bps must be"),
])
def test_bad_parameters_are_refused_before_training(params: dict[str, Any], match: str) -> None:
    s = make_strategy("cluster_rl", params)
    with pytest.raises(ConfigError, match=match):
        s.check(_panel())


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(ConfigError, match="no parameter"):
        make_strategy("cluster_rl", {"n_clusters": 4})


def test_missing_fundamentals_file_is_named() -> None:
    with pytest.raises(DataError, match=r"fundamentals file 'nowhere\.parquet' not found"):
        build_features(_panel(), ["fundamental"], fundamentals="nowhere.parquet")


def test_fundamentals_without_the_ratio_columns() -> None:
    table = pd.DataFrame({"ticker": ["A"], "period_end": ["2017-12-31"], "pe": [10.0]})
    with pytest.raises(DataError, match="lacks ratio column"):
        build_features(_panel(), ["fundamental"], fundamentals=table)


def test_flows_absent_are_skipped_with_a_warning() -> None:
    from alphalab.models.cluster_rl.features import FlowsMissingWarning

    with pytest.warns(FlowsMissingWarning, match="flow group is skipped"):
        out = build_features(_panel(), ["technical", "flow"])
    assert out and all(k.endswith("_z60") for k in out)


def test_analysis_parameters() -> None:
    with pytest.raises(ConfigError, match="random_seeds"):
        make_analysis("cluster_rl", {"random_seeds": 0})
