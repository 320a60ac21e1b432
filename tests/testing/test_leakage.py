"""The leakage guard must catch leaky code and pass honest code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, LeakageError
from alphalab.portfolio.base import Strategy
from alphalab.testing import (
    PERTURBATIONS,
    assert_no_leakage,
    assert_no_leakage_decisions,
    assert_strategy_no_leakage,
    find_leakage,
    perturb_after,
)

TICKERS = ["AAPL", "MSFT", "XOM", "APTV", "LNT", "BHF"]  # APTV and BHF list late


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    df = us_sp500_long[us_sp500_long["ticker"].isin(TICKERS)]
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"]).iloc_dates(
        slice(700, None)
    )


# ------------------------------------------------------------- functions
def trailing_mean(p: Panel) -> pd.DataFrame:
    return p.frame("close").rolling(10).mean()


def centred_mean(p: Panel) -> pd.DataFrame:
    return p.frame("close").rolling(11, center=True).mean()


def backfilled(p: Panel) -> np.ndarray:
    return p.frame("close").bfill().to_numpy()


def full_sample_z(p: Panel) -> np.ndarray:
    c = p["close"]
    return (c - np.nanmean(c, axis=0)) / np.nanstd(c, axis=0)


def next_return(p: Panel) -> np.ndarray:
    c = p["close"]
    out = np.full_like(c, np.nan)
    out[:-1] = c[1:] / c[:-1] - 1.0
    return out


# ------------------------------------------------------------------ tests
def test_perturb_after_keeps_past_and_changes_future(panel: Panel) -> None:
    t = 100
    for kind in PERTURBATIONS:
        q = perturb_after(panel, t, kind, seed=1)
        assert isinstance(q, Panel)
        for name in panel:
            a, b = panel[name], q[name]
            assert np.array_equal(a[: t + 1], b[: t + 1], equal_nan=True)
            # the first row after t changes wherever it had a finite value
            finite = np.isfinite(a[t + 1])
            assert np.all(a[t + 1][finite] != b[t + 1][finite]), (kind, name)
            assert not np.array_equal(a[t + 1 :], b[t + 1 :], equal_nan=True)


def test_honest_functions_pass(panel: Panel) -> None:
    assert_no_leakage(trailing_mean, panel)
    assert_no_leakage(lambda p: {"cum": np.nancumsum(p["volume"], axis=0)}, panel)
    assert_no_leakage(lambda p: p.with_fields(ret=p.frame("close").pct_change().to_numpy()), panel)
    assert find_leakage(trailing_mean, panel, n_trials=8, seed=3) is None


@pytest.mark.parametrize("fn", [centred_mean, backfilled, full_sample_z, next_return])
def test_leaky_functions_are_caught(panel: Panel, fn) -> None:
    with pytest.raises(LeakageError, match="leakage: output"):
        assert_no_leakage(fn, panel)


def test_finding_names_date_column_cutoff(panel: Panel) -> None:
    found = find_leakage(next_return, panel, cutoffs=[panel.dates[200]], perturb=("scale",))
    assert found is not None
    # next_return at t uses t+1: the first change is exactly at the cutoff row
    assert found.row == found.cutoff_row == 200
    assert found.date == panel.dates[200]
    assert found.column == 0  # a bare array has no labels: the column position
    found = find_leakage(centred_mean, panel, cutoffs=[300], perturb=("nan",))
    assert found is not None
    assert found.column in TICKERS
    assert found.row == 300 - 5 + 1  # window of 11 centred: row t-4 sees t+1
    msg = found.message()
    assert str(panel.dates[296].date()) in msg and found.column in msg and "'nan'" in msg


def test_array_and_mapping_inputs() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).cumsum(axis=0) + 100.0
    assert_no_leakage(lambda a: np.cumsum(a, axis=0), x)
    with pytest.raises(LeakageError):
        assert_no_leakage(lambda a: a - a.mean(axis=0), x)
    assert_no_leakage(lambda d: d["a"] * 2 + d["b"], {"a": x, "b": x[:, :1]})
    with pytest.raises(LeakageError):
        assert_no_leakage(lambda d: d["a"] + d["b"][::-1], {"a": x, "b": x[:, :1]})


def test_nondeterministic_function_is_reported(panel: Panel) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(LeakageError, match="not deterministic"):
        assert_no_leakage(lambda p: p["close"] + rng.normal(size=p.shape), panel)


def test_bad_arguments(panel: Panel) -> None:
    with pytest.raises(ConfigError, match="rows"):
        assert_no_leakage(lambda p: p["close"][:-1], panel)
    with pytest.raises(ConfigError, match="unknown perturbation"):
        assert_no_leakage(trailing_mean, panel, perturb=("zap",))
    with pytest.raises(ConfigError, match="outside"):
        assert_no_leakage(trailing_mean, panel, cutoffs=[10**6])
    with pytest.raises(ConfigError, match="at least 2 dates"):
        assert_no_leakage(lambda a: a, np.ones((1, 2)))


# -------------------------------------------------------------- strategies
class _Momentum(Strategy):
    """Weights from trailing returns; ``peek`` makes it look one day ahead."""

    def __init__(self, lookback: int = 20, peek: bool = False) -> None:
        self.lookback = lookback
        self.peek = peek

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        c = panel["close"]
        rows = panel.dates.get_indexer(dates) + (1 if self.peek else 0)
        rows = np.minimum(rows, panel.n_dates - 1)
        out = np.full((len(dates), panel.n_assets), np.nan)
        for k, i in enumerate(rows):
            if i >= self.lookback:
                with np.errstate(all="ignore"):
                    mom = c[i] / c[i - self.lookback] - 1.0
                w = np.where(mom > 0, 1.0, 0.0)
                out[k] = w / max(w.sum(), 1.0)
        return out


class _FitsMean(Strategy):
    """Learns a mean return on fit; ``use_all`` ignores ``until`` (a leak)."""

    def __init__(self, use_all: bool = False) -> None:
        self.use_all = use_all

    def fit(self, panel: Panel, until=None) -> _FitsMean:
        p = panel if self.use_all else panel.until(until)
        r = np.diff(np.log(p["close"]), axis=0)
        # late listings have no returns before ``until``: 0 instead of nanmean's warning
        self.mu_ = np.nansum(r, axis=0) / np.maximum(np.isfinite(r).sum(axis=0), 1)
        return super().fit(panel, until)

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        w = np.where(self.mu_ > 0, 1.0, 0.0)
        return np.tile(w, (len(dates), 1))


def test_strategy_variant(panel: Panel) -> None:
    dates = panel.dates[::5]
    assert_strategy_no_leakage(_Momentum(), panel, dates)
    with pytest.raises(LeakageError, match="leakage"):
        assert_strategy_no_leakage(_Momentum(peek=True), panel, dates)
    until = panel.dates[250]
    assert_strategy_no_leakage(_FitsMean(), panel, fit_until=until)
    with pytest.raises(LeakageError):
        assert_strategy_no_leakage(_FitsMean(use_all=True), panel, fit_until=until)


def test_decisions_variant_compares_only_past_decisions(panel: Panel) -> None:
    def decide(p: Panel, dates: pd.DatetimeIndex) -> pd.DataFrame:
        return p.frame("close").rolling(5).mean().loc[dates]

    assert_no_leakage_decisions(decide, panel, panel.dates[10::7])
