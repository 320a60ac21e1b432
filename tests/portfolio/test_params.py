"""scikit-learn parameter semantics of every registered strategy."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone as sk_clone

import alphalab.models  # noqa: F401 - registers 'forecast'
from alphalab import ConfigError
from alphalab.models import ForecastStrategy, MomentumForecaster, TopK, TrailingStop
from alphalab.portfolio import Fixed, MeanVariance
from alphalab.portfolio.base import STRATEGIES, make_strategy

EXAMPLES = {
    "fixed": {"weights": {"A": 0.6, "B": 0.4}},
    "forecast": {"forecaster": {"kind": "momentum", "params": {"lookback": 20}},
                 "allocator": {"kind": "topk", "params": {"k": 3}}},
    "vol_scaled": {"strategy": {"kind": "inverse_vol", "params": {"window": 20}}},
}


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_sklearn_clone_works_on_every_registered_strategy(kind: str) -> None:
    s = make_strategy(kind, EXAMPLES.get(kind))
    c = sk_clone(s)
    assert type(c) is type(s) and c is not s
    assert repr(c) == repr(s)
    for name, value in s.get_params(deep=False).items():
        if hasattr(value, "get_params"):
            assert c.get_params(deep=False)[name] is not value  # parts are cloned, not shared
    assert pickle.loads(pickle.dumps(c)).get_params(deep=False).keys() == s.get_params(deep=False).keys()


def test_parameters_are_stored_as_given() -> None:
    w = {1: 0.5, "B": np.float64(0.5)}
    f = Fixed(weights=w)
    assert f.weights is w  # not rewritten (the old constructor built a new dict)
    mv = MeanVariance(window=np.int64(30), risk_aversion=2)
    assert type(mv.window) is np.int64 and type(mv.risk_aversion) is int
    with pytest.raises(ConfigError):
        Fixed(weights={})


def test_deep_params_and_nested_routing() -> None:
    s = ForecastStrategy(MomentumForecaster(lookback=20), TopK(k=3), [TrailingStop()])
    p = s.get_params(deep=True)
    assert p["forecaster__lookback"] == 20 and p["allocator__k"] == 3
    assert "overlays" in p and "random_state" in p
    c = s.clone().set_params(forecaster__lookback=60, allocator__k=5, random_state=7)
    assert (c.forecaster.lookback, c.allocator.k, c.random_state) == (60, 5, 7)
    assert s.forecaster.lookback == 20 and s.allocator.k == 3  # the template is untouched
    assert c.overlays[0] is not s.overlays[0]
    with pytest.raises(ConfigError, match="no parameter 'lookbak'"):
        s.clone().set_params(forecaster__lookbak=3)
    with pytest.raises(ConfigError, match="lookback"):
        s.clone().set_params(forecaster__lookback=-1)
    with pytest.raises(ConfigError, match="no parameter 'nope'"):
        s.set_params(nope=1)


def test_skfolio_baselines_expose_json_diagnostics() -> None:
    import json

    import pandas as pd

    from alphalab.data.panel import Panel

    rng = np.random.default_rng(0)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, size=(80, 4)), axis=0)
    p = Panel({"close": close}, pd.bdate_range("2020-01-01", periods=80), list("ABCD"))
    s = MeanVariance(window=30, target_return=50.0)  # unreachable: every date falls back
    s.fit(p).decide(p, p.dates[40:45])
    assert s.diagnostics_["fallbacks"] == [str(d.date()) for d in p.dates[40:45]]
    json.dumps(s.diagnostics_)
