"""Hostile study files for the deep-portfolio recipe: new strategy kinds and the analysis."""

from __future__ import annotations

import pytest

import alphalab.models  # noqa: F401 - registers deep_sharpe and vol_scaled
from alphalab.config import StudyConfig
from alphalab.errors import ConfigError

BASE = {
    "name": "dp",
    "data": {"dataset": "sp500_20", "market": "us"},
    "strategies": [{"name": "ew", "kind": "equal_weight"}],
}


def _strategy(kind: str, params: object) -> dict:
    return {**BASE, "strategies": [{"name": "s", "kind": kind, "params": params}]}


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("deep_sharpe", {"architecture": "gru"}, "architecture must be one of"),
        ("deep_sharpe", {"window": 1}, "window must be an integer >= 2"),
        ("deep_sharpe", {"window": "50"}, "window must be an integer"),
        ("deep_sharpe", {"hidden_size": 0}, "hidden_size"),
        ("deep_sharpe", {"dropout": 1.0}, "dropout"),
        ("deep_sharpe", {"lr": -0.001}, "lr"),
        ("deep_sharpe", {"long_only": "yes"}, "long_only must be true or false"),
        ("deep_sharpe", {"cost_bps": -1}, "cost_bps"),
        ("deep_sharpe", {"vol_target": 0}, "vol_target"),
        ("deep_sharpe", {"n_seeds": 0}, "n_seeds"),
        ("deep_sharpe", {"val_fraction": 0.9}, "val_fraction"),
        ("deep_sharpe", {"execution_lag": -1}, "execution_lag"),
        ("deep_sharpe", {"seeds": 3}, r"no parameter\(s\) \['seeds'\]"),
        ("vol_scaled", {"target": 0.1}, "kind, params"),
        ("vol_scaled", {"strategy": {"kind": "deep_sharpe", "params": {"window": 0}}}, "window"),
        ("vol_scaled", {"strategy": {"kind": "equal_weight"}, "mode": "asset"}, "mode must be one of"),
        ("diversity_weighted", {"p": -0.5}, "p must lie in"),
        ("diversity_weighted", {"cap_field": ""}, "cap_field"),
        ("max_diversification", {"window": 1}, "window"),
        # fixed allocations by asset group (groups / absent)
        ("fixed", {"weights": {"eq": 1}, "groups": []}, "groups must be a non-empty mapping"),
        ("fixed", {"weights": {"eq": 1}, "groups": {}}, "groups must be a non-empty mapping"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": "SPY"}}, r"groups\['eq'\] must be a non-empty list"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": []}}, r"groups\['eq'\] must be a non-empty list"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": ["SPY", 3]}}, "list of tickers"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": ["SPY", ""]}}, "list of tickers"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": ["SPY"], "b": ["SPY"]}}, "'SPY' is listed in both"),
        ("fixed", {"weights": {"eq": 1}, "groups": {"eq": ["SPY", "SPY"]}}, "'SPY' is listed twice"),
        ("fixed", {"weights": {"eq": 1}, "groups": {1: ["SPY"], "1": ["TLT"]}}, "both read as '1'"),
        ("fixed", {"weights": {"eq": 1}, "absent": "ignore"}, "absent must be one of"),
        ("fixed", {"weights": {"eq": 1}, "absent": True}, "absent must be one of"),
        ("fixed", {"weights": {"eq": "0.6"}, "absent": "drop"}, "must be a number"),
        ("fixed", {"weights": {"eq": 0.6}, "grups": {"eq": ["SPY"]}}, r"no parameter\(s\) \['grups'\]"),
    ],
)
def test_bad_strategy_params(kind: str, params: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(_strategy(kind, params)).strategies[0].build()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, "model"),
        ({"model": ""}, "model must name"),
        ({"model": "ew", "vol_mode": "both"}, "vol_mode"),
        ({"model": "ew", "vol_target": -1}, "vol_target"),
        ({"model": "ew", "conditions": "table1"}, "conditions must be 'paper'"),
        ({"model": "ew", "conditions": [{"name": "x", "cost_bps": 1}]}, "exactly name, cost_bps and scaled"),
        ({"model": "ew", "conditions": [{"name": "x", "cost_bps": "1", "scaled": True}]}, "cost_bps must be"),
        ({"model": "ew", "conditions": [{"name": "x", "cost_bps": 1, "scaled": "no"}]}, "scaled must be"),
        ({"model": "ew", "non_investable": "VIX"}, "non_investable"),
    ],
)
def test_bad_analysis_params(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cfg = StudyConfig.from_dict({**BASE, "analyses": [{"name": "t", "kind": "deep_portfolio",
                                                            "params": params}]})
        cfg.analyses[0].build()


def test_example_and_its_profiles_validate() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "etf_deep_portfolio.yaml"
    base = StudyConfig.from_yaml(path)
    quick = StudyConfig.from_yaml(path, profile="quick")
    tuned = StudyConfig.from_yaml(path, profile="tuned")
    deep = {s.name: s for s in quick.strategies}["deep_lstm"]
    assert deep.params["n_seeds"] == 2 and deep.params["window"] == 50
    assert {s.name: s for s in base.strategies}["deep_lstm"].tune is None
    spec = {s.name: s for s in tuned.strategies}["deep_lstm"].tune
    assert spec is not None and set(spec.space) == {"window", "hidden_size", "lr", "dropout"}
    for s in base.strategies:
        s.build()
    base.analyses[0].build()


def test_fixed_group_named_like_a_ticker_of_the_data_is_refused() -> None:
    from alphalab.portfolio import Fixed
    from tests.models.deep_portfolio.conftest import etf_panel

    panel = etf_panel(("SPY", "TLT"))
    with pytest.raises(ConfigError, match=r"group name\(s\) \['SPY'\] are also tickers"):
        Fixed({"SPY": 1.0}, groups={"SPY": ["QQQ"]}).fit(panel)
