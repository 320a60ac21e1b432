"""Metrics: parity with empyrical-reloaded on real S&P 500 returns, edge cases."""

from __future__ import annotations

import warnings

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from alphalab import metrics as m
from alphalab.errors import ConfigError, DataError

TICKERS = ["AAPL", "XOM", "GE", "NVDA", "CHK"]


@pytest.fixture(scope="module")
def closes(us_sp500_long: pd.DataFrame) -> pd.DataFrame:
    wide = us_sp500_long.pivot(index="date", columns="ticker", values="close")
    full = wide.columns[wide.notna().all()]
    return wide[full[:40].union(pd.Index(TICKERS))]


@pytest.fixture(scope="module")
def rets(closes: pd.DataFrame) -> pd.DataFrame:
    return closes.pct_change().iloc[1:]


@pytest.fixture(scope="module")
def bench(rets: pd.DataFrame) -> pd.Series:
    return rets.mean(axis=1)  # equal-weight, daily rebalanced


def test_periods_per_year_from_calendar(closes: pd.DataFrame) -> None:
    daily = m.periods_per_year(closes.index)
    assert 250 < daily < 254
    weekly = m.periods_per_year(closes.resample("W").last().index)
    assert 51.5 < weekly < 52.5
    monthly = m.periods_per_year(closes.resample("ME").last().index)
    assert 11.9 < monthly < 12.1
    assert np.isnan(m.periods_per_year(closes.index[:1]))
    assert np.isnan(m.periods_per_year([]))


@pytest.mark.parametrize("ticker", TICKERS)
def test_parity_with_empyrical(rets: pd.DataFrame, bench: pd.Series, ticker: str) -> None:
    r = rets[ticker]
    ppy = m.periods_per_year(r.index)
    rf_annual = 0.02
    rf = (1 + rf_annual) ** (1 / ppy) - 1
    close = dict(rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(m.cagr(r, ppy), ep.annual_return(r, annualization=ppy), **close)
    np.testing.assert_allclose(
        m.volatility(r, ppy), ep.annual_volatility(r, annualization=ppy), **close
    )
    np.testing.assert_allclose(
        m.sharpe(r, ppy, rf_annual), ep.sharpe_ratio(r, risk_free=rf, annualization=ppy), **close
    )
    np.testing.assert_allclose(
        m.sortino(r, ppy, rf_annual),
        ep.sortino_ratio(r, required_return=rf, annualization=ppy),
        **close,
    )
    np.testing.assert_allclose(m.max_drawdown(r), ep.max_drawdown(r), **close)
    np.testing.assert_allclose(
        m.drawdown_series(r), ep.stats.drawdown_series(r).to_numpy(), **close
    )
    np.testing.assert_allclose(m.calmar(r, ppy), ep.calmar_ratio(r, annualization=ppy), **close)
    a, b = ep.alpha_beta(r, bench, risk_free=rf, annualization=ppy)
    np.testing.assert_allclose(m.beta(r, bench, ppy, rf_annual), b, **close)
    np.testing.assert_allclose(m.alpha(r, bench, ppy, rf_annual), a, **close)
    np.testing.assert_allclose(
        m.information_ratio(r, bench, ppy), ep.excess_sharpe(r, bench) * np.sqrt(ppy), **close
    )
    # the numbers are real, not degenerate
    assert m.max_drawdown(r) < -0.05 and 0.05 < m.volatility(r, ppy) < 1.5


def test_weekly_parity(closes: pd.DataFrame) -> None:
    r = closes["AAPL"].resample("W").last().pct_change().iloc[1:]
    ppy = m.periods_per_year(r.index)
    np.testing.assert_allclose(m.sharpe(r, ppy), ep.sharpe_ratio(r, annualization=ppy))
    metrics = m.compute_metrics(r)
    np.testing.assert_allclose(metrics["cagr"], ep.annual_return(r, annualization=ppy))


def test_compute_metrics_keys_and_values(rets: pd.DataFrame, bench: pd.Series) -> None:
    r = rets["AAPL"]
    equity = 1e6 * (1 + r).cumprod()
    turnover = pd.Series(0.0, index=r.index)
    turnover.iloc[::21] = 0.5  # half the book traded once a month
    costs = 0.001 * turnover * equity
    out = m.compute_metrics(r, benchmark=bench, turnover=turnover, costs=costs, equity=equity)
    assert tuple(out.index) == m.METRIC_KEYS
    ppy = m.periods_per_year(r.index)
    assert out["n_periods"] == len(r)
    np.testing.assert_allclose(out["turnover"], 0.5 * len(r[::21]) / len(r) * ppy)
    years = len(r) / ppy
    np.testing.assert_allclose(out["cost_drag"], costs.sum() / years / equity.mean())
    # costs given as fractions of equity (what the engine reports) give the same drag
    frac = m.compute_metrics(r, costs=costs / equity)["cost_drag"]
    np.testing.assert_allclose(frac, (costs / equity).mean() * ppy)
    np.testing.assert_allclose(frac, out["cost_drag"], rtol=0.05)
    np.testing.assert_allclose(out["total_return"], closes_ratio(rets["AAPL"]) - 1)
    te = np.std(r - bench, ddof=1) * np.sqrt(ppy)
    np.testing.assert_allclose(out["tracking_error"], te)
    assert 0 < out["hit_rate"] < 1 and out["max_drawdown_duration"] > 20


def closes_ratio(r: pd.Series) -> float:
    return float(np.prod(1 + r.to_numpy()))


def test_benchmark_against_itself(bench: pd.Series) -> None:
    out = m.compute_metrics(bench, benchmark=bench)
    np.testing.assert_allclose(out["beta"], 1.0)
    np.testing.assert_allclose(out["alpha"], 0.0, atol=1e-12)
    assert out["tracking_error"] == 0.0
    assert np.isnan(out["information_ratio"])


def test_drawdown_duration_and_hit_rate_by_hand() -> None:
    r = np.array([0.1, -0.1, 0.05, 0.1, -0.01, 0.0])
    # wealth 1.1, .99, 1.0395, 1.14345, 1.1320, 1.1320: under water on bars 2-3 and 5-6
    np.testing.assert_allclose(m.drawdown_series(r)[1], 0.99 / 1.1 - 1)
    assert m.max_drawdown_duration(r) == 2
    assert m.max_drawdown_duration(np.array([-0.1, 0.0, 0.0, 0.5, -0.1])) == 3
    assert m.max_drawdown_duration(np.array([0.01, 0.02])) == 0
    assert m.hit_rate(np.array([0.1, 0.0, -0.1, 0.2])) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "values",
    [[], [np.nan, np.nan, np.nan], [0.0] * 30, [0.001] * 30],
    ids=["empty", "all-nan", "zeros", "constant"],
)
def test_degenerate_series_give_nan_not_errors(values: list[float]) -> None:
    idx = pd.bdate_range("2020-01-01", periods=len(values))
    r = pd.Series(values, index=idx, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = m.compute_metrics(r, benchmark=r, periods_per_year=252)
    assert not np.isinf(out.to_numpy()).any()
    for key in ("sharpe", "sortino", "calmar", "beta", "alpha", "information_ratio"):
        assert np.isnan(out[key]), key
    if len(values) == 30 and values[0] > 0:
        np.testing.assert_allclose(out["cagr"], 1.001**252 - 1)
        assert out["volatility"] == 0.0 and out["max_drawdown"] == 0.0


def test_nan_policy() -> None:
    idx = pd.bdate_range("2020-01-01", periods=6)
    r = pd.Series([np.nan, 0.01, -0.02, 0.03, 0.01, np.nan], index=idx)
    out = m.compute_metrics(r, periods_per_year=252)
    assert out["n_periods"] == 4
    np.testing.assert_allclose(out["total_return"], 1.01 * 0.98 * 1.03 * 1.01 - 1)
    bad = r.copy()
    bad.iloc[2] = np.nan
    with pytest.raises(DataError, match="2020-01-03"):
        m.compute_metrics(bad, periods_per_year=252)
    bad.iloc[2] = np.inf
    with pytest.raises(DataError, match="infinite"):
        m.sharpe(bad, 252)


def test_periods_per_year_required_without_dates() -> None:
    with pytest.raises(ConfigError, match="periods_per_year"):
        m.compute_metrics(pd.Series([0.01, 0.02, -0.01]))
    with pytest.raises(ConfigError, match="positive"):
        m.compute_metrics(pd.Series([0.01, 0.02]), periods_per_year=0)
    out = m.compute_metrics(pd.Series([0.01, 0.02, -0.01]), periods_per_year=12)
    np.testing.assert_allclose(out["cagr"], (1.01 * 1.02 * 0.99) ** 4 - 1)


def test_total_loss_has_no_growth_rate() -> None:
    r = np.array([0.1, -1.0, 0.0])
    assert np.isnan(m.cagr(r, 252))
    assert m.max_drawdown(r) == -1.0


# ------------------------------------------------------------ hostile input
IDX5 = pd.bdate_range("2020-01-01", periods=5)


def test_two_column_frame_is_refused_not_flattened() -> None:
    two = pd.DataFrame({"a": [0.01, 0.02, -0.01], "b": [0.0, 0.03, 0.01]}, index=IDX5[:3])
    with pytest.raises(DataError, match="2 columns"):
        m.sharpe(two, 252)
    with pytest.raises(DataError, match="2 columns"):
        m.compute_metrics(two)
    with pytest.raises(DataError, match=r"shape \(3, 2\)"):
        m.volatility(two.to_numpy(), 252)
    one = m.compute_metrics(two[["a"]])  # a one-column frame is one series
    assert one["n_periods"] == 3


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ([True, False, True], "bool"),
        (["0.01", "x", "0.02"], "position 1"),
        ([0.01 + 1j, 0.02], "complex"),
    ],
    ids=["bool", "text", "complex"],
)
def test_non_numeric_returns_raise_data_error(values: list, match: str) -> None:
    with pytest.raises(DataError, match=match):
        m.total_return(np.asarray(values))
    with pytest.raises(DataError, match=match):
        m.compute_metrics(pd.Series(values, dtype=object), periods_per_year=252)


def test_numeric_text_returns_are_accepted() -> None:
    assert m.total_return(pd.Series(["0.1", "0.1"], dtype=object)) == pytest.approx(0.21)


@pytest.mark.parametrize("ppy", [-1, 0, "252", True, None], ids=repr)
def test_bad_periods_per_year_is_a_config_error(ppy: object) -> None:
    r = [0.01, 0.02, -0.01]
    for fn in (m.cagr, m.volatility, m.sharpe, m.sortino, m.calmar):
        with pytest.raises(ConfigError, match="periods_per_year"):
            fn(r, ppy)
    with pytest.raises(ConfigError, match="periods_per_year"):
        m.beta(r, r, ppy)
    with pytest.raises(ConfigError, match="periods_per_year"):
        m.annual_turnover(r, ppy)


@pytest.mark.parametrize("rf", [float("nan"), float("inf"), -1.0, -2.0, "x", True], ids=repr)
def test_bad_risk_free_is_a_config_error(rf: object) -> None:
    r = pd.Series([0.01, 0.02, -0.01], index=IDX5[:3])
    with pytest.raises(ConfigError, match="risk_free"):
        m.sharpe(r, 252, rf)
    with pytest.raises(ConfigError, match="risk_free"):
        m.compute_metrics(r, risk_free=rf)


def test_periods_per_year_refuses_non_dates_nat_and_duplicates() -> None:
    with pytest.raises(DataError, match="dates"):
        m.periods_per_year([1, 2, 3])  # integers would be read as nanoseconds
    with pytest.raises(DataError, match="not a date"):
        m.periods_per_year(["2020-01-01", "garbage"])
    with pytest.raises(DataError, match="position 1"):
        m.periods_per_year([IDX5[0], pd.NaT, IDX5[2]])
    with pytest.raises(DataError, match=r"2020-01-01.*more than once"):
        m.periods_per_year(IDX5.append(IDX5))
    assert m.periods_per_year(IDX5[::-1]) == m.periods_per_year(IDX5)


def test_compute_metrics_refuses_duplicate_dates_and_misaligned_inputs() -> None:
    r = pd.Series([0.01, 0.02, -0.01], index=IDX5[:3])
    with pytest.raises(DataError, match=r"returns.*2020-01-01.*more than once"):
        m.compute_metrics(pd.Series([0.01, 0.02, -0.01], index=IDX5[[0, 0, 1]]))
    dup_bench = pd.Series([0.0, 0.01, 0.02], index=IDX5[[0, 0, 1]])
    with pytest.raises(DataError, match=r"benchmark.*more than once"):
        m.compute_metrics(r, benchmark=dup_bench)
    with pytest.raises(DataError, match=r"benchmark has 2 values.*3"):
        m.compute_metrics(r, benchmark=[0.1, 0.2])
    with pytest.raises(DataError, match=r"turnover has 2 values.*3"):
        m.compute_metrics(r, turnover=[0.1, 0.2])


def test_returns_below_minus_one_are_ruin_not_a_recovery() -> None:
    # Two -200% bars multiply back to wealth 1: that must not read as break-even.
    r = np.array([-2.0, -2.0])
    assert m.total_return(r) == pytest.approx(-2.0)
    assert np.isnan(m.cagr(r, 252))
    assert m.max_drawdown(r) == -1.0
    dd = m.drawdown_series(np.array([0.1, -1.5, 0.2, -3.0]))
    assert dd[0] == 0.0 and (dd[1:] == -1.0).all()
    assert m.max_drawdown_duration(np.array([0.1, -1.5, 0.2, -3.0])) == 3


@pytest.mark.parametrize("a", [-0.05, -0.33, -0.3])  # the first two round to -2.2e-16
def test_exact_recovery_is_not_left_under_water_by_rounding(a: float) -> None:
    # Back to the peak in exact arithmetic, then flat (in cash): rounding must
    # not keep the drawdown at -1e-16 and stretch its duration over the cash bars.
    r = np.array([0.05, a, 1.0 / (1.0 + a) - 1.0, 0.0, 0.0, 0.0])
    dd = m.drawdown_series(r)
    assert (dd[2:] == 0.0).all()
    assert m.max_drawdown_duration(r) == 1


def test_returns_out_of_date_order_are_refused() -> None:
    # Compounding and drawdowns follow the order of the bars: a shuffled
    # series would give a wrong drawdown without any error.
    r = pd.Series([0.1, -0.2, 0.05], index=IDX5[[0, 2, 1]])
    with pytest.raises(DataError, match=r"not in date order.*2020-01-02"):
        m.compute_metrics(r)
