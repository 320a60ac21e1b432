from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab import ConfigError
from alphalab.backtest import rebalance_mask


def test_rules() -> None:
    dates = pd.bdate_range("2021-01-01", "2021-03-31")
    assert rebalance_mask(dates, "daily").all()
    weekly = rebalance_mask(dates, "weekly")
    assert weekly[0]
    assert (dates[weekly][1:].day_of_week == 0).all()
    monthly = rebalance_mask(dates, "monthly")
    assert monthly.sum() == 3
    every = rebalance_mask(dates, 5)
    assert np.flatnonzero(every)[:3].tolist() == [0, 5, 10]
    explicit = rebalance_mask(dates, ["2021-02-01"])
    assert explicit.sum() == 1


def test_appending_dates_never_moves_past_decisions() -> None:
    dates = pd.bdate_range("2021-01-01", "2021-06-30")
    for rule in ("weekly", "monthly", "quarterly", 7):
        full = rebalance_mask(dates, rule)
        for cut in (10, 33, 64):
            assert (rebalance_mask(dates[:cut], rule) == full[:cut]).all()


def test_bad_rules() -> None:
    dates = pd.bdate_range("2021-01-01", periods=10)
    with pytest.raises(ConfigError, match="unknown rebalance rule"):
        rebalance_mask(dates, "fortnightly")
    with pytest.raises(ConfigError, match="k >= 1"):
        rebalance_mask(dates, 0)
    with pytest.raises(ConfigError, match="not in the data"):
        rebalance_mask(dates, ["1999-01-01"])
