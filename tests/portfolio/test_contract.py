from __future__ import annotations

import pytest

import alphalab.portfolio  # noqa: F401
from alphalab import ConfigError
from alphalab.portfolio.base import make_strategy


def test_set_params_runs_the_constructor_checks() -> None:
    s = make_strategy("momentum_topk", {"k": 5, "lookback": 60})
    with pytest.raises(ConfigError):
        s.set_params(lookback=-3)
    assert s.lookback == 60  # unchanged after a refused update
    assert s.set_params(lookback=20).lookback == 20
    with pytest.raises(ConfigError, match="no parameter 'window'"):
        s.set_params(window=5)


def test_clone_is_unfitted_with_same_params() -> None:
    s = make_strategy("inverse_vol", {"window": 40})
    c = s.clone()
    assert c is not s and c.get_params() == s.get_params()
    assert repr(c) == "InverseVol(window=40)"
