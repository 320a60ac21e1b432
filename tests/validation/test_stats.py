from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab import DataError
from alphalab.validation.stats import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_backtest_length,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_moments,
)


def test_dsr_matches_bailey_lopez_de_prado_2014_worked_example() -> None:
    # Section "A numerical example": 100 trials, annualised variance of trial Sharpes 1/2,
    # selected annualised SR 2.5 over 1,250 daily observations, skew -3, kurtosis 10.
    periods = 250
    dsr, sr0 = deflated_sharpe_ratio(
        sharpe=2.5 / math.sqrt(periods),
        n_obs=1250,
        n_trials=100,
        sharpe_variance=0.5 / periods,
        skew=-3.0,
        kurtosis=10.0,
    )
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_one_trial_dsr_is_psr_against_zero() -> None:
    dsr, sr0 = deflated_sharpe_ratio(0.05, 500, 1, 0.01, 0.0, 3.0)
    assert sr0 == 0.0
    assert dsr == pytest.approx(probabilistic_sharpe_ratio(0.05, 500))


def test_psr_monotone_and_bounded() -> None:
    lo = probabilistic_sharpe_ratio(0.01, 250)
    hi = probabilistic_sharpe_ratio(0.10, 250)
    assert 0.5 < lo < hi < 1.0
    assert probabilistic_sharpe_ratio(0.0, 250) == pytest.approx(0.5)
    assert math.isnan(probabilistic_sharpe_ratio(math.nan, 250))


def test_expected_max_grows_with_trials() -> None:
    vals = [expected_max_sharpe(n, 1.0) for n in (1, 2, 10, 100, 1000)]
    assert vals == sorted(vals)
    with pytest.raises(DataError):
        expected_max_sharpe(0, 1.0)


def test_min_backtest_length_paper_value() -> None:
    # Bailey et al. (2014): about 45 independent trials already need ~5 years of data
    # before an annualised in-sample Sharpe of 1 means anything.
    assert min_backtest_length(45, 1.0) == pytest.approx(5.0, abs=0.05)
    assert min_backtest_length(1000, 1.0) > min_backtest_length(10, 1.0)


def test_min_track_record_length() -> None:
    assert math.isinf(min_track_record_length(0.0))
    n = min_track_record_length(0.1)
    # at the MinTRL the PSR reaches the confidence level
    assert probabilistic_sharpe_ratio(0.1, math.ceil(n) + 1) >= 0.95


def test_sharpe_moments_real_returns(us_sp500_long) -> None:
    aapl = us_sp500_long[us_sp500_long["ticker"] == "AAPL"].sort_values("date")
    r = np.diff(np.log(aapl["close"].to_numpy()))
    sr, _skew, kurt, n = sharpe_moments(r)
    assert n == r.size
    assert 0 < sr < 0.2
    assert kurt > 3.0  # fat tails in daily equity returns


def test_pbo_noise_vs_skill() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, size=(1000, 20))
    res = probability_of_backtest_overfitting(noise, n_partitions=8)
    assert res.n_splits == math.comb(8, 4)
    assert 0.2 < res.pbo < 0.8
    skilled = noise.copy()
    skilled[:, 3] += 0.004  # one configuration with a real edge
    res2 = probability_of_backtest_overfitting(skilled, n_partitions=8)
    assert res2.pbo < 0.05
    assert (res2.is_best == 3).all()


def test_pbo_bad_input() -> None:
    with pytest.raises(DataError, match="2-D"):
        probability_of_backtest_overfitting(np.zeros(10))
    with pytest.raises(DataError, match="at least 2 trials"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))
    with pytest.raises(DataError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), n_partitions=5)
    bad = np.zeros((100, 3))
    bad[5, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        probability_of_backtest_overfitting(bad, n_partitions=4)


@settings(max_examples=40, deadline=None)
@given(
    sr=st.floats(-0.3, 0.3),
    n=st.integers(10, 5000),
    skew=st.floats(-2, 2),
    kurt=st.floats(3, 15),
)
def test_psr_in_unit_interval(sr: float, n: int, skew: float, kurt: float) -> None:
    p = probabilistic_sharpe_ratio(sr, n, skew, kurt)
    assert math.isnan(p) or 0.0 <= p <= 1.0


def test_sharpe_moments_match_scipy_and_ignore_memory_layout() -> None:
    from scipy import stats as sps

    rng = np.random.default_rng(4)
    r = rng.standard_t(4, size=1001) * 0.01
    sr, skew, kurt, n = sharpe_moments(r)
    assert sr == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert skew == pytest.approx(sps.skew(r, bias=False), rel=1e-10)
    assert kurt == pytest.approx(sps.kurtosis(r, fisher=False, bias=False), rel=1e-10)
    # the same values at another alignment give bit-identical moments
    buf = np.empty(r.size + 1)
    buf[1:] = r
    assert sharpe_moments(buf[1:]) == (sr, skew, kurt, n)


@pytest.mark.parametrize("n_candidates", [2, 3, 4, 5, 6, 7])
def test_pbo_of_noise_is_one_half_for_odd_and_even_candidate_counts(n_candidates: int) -> None:
    # Under pure noise the in-sample winner's out-of-sample rank is uniform on 1..N, so it
    # lands below the median with probability 1/2 - 1/(2N) and exactly on it with 1/N for
    # odd N; counting the median as one half makes the expectation exactly 0.5. The old
    # rule (median = overfit) gave 0.67 at N = 3 and 0.6 at N = 5.
    rng = np.random.default_rng(100 + n_candidates)
    pbos = [
        probability_of_backtest_overfitting(
            rng.normal(0.0, 0.01, size=(80, n_candidates)), n_partitions=4
        ).pbo
        for _ in range(400)
    ]
    assert abs(float(np.mean(pbos)) - 0.5) < 0.04


def test_pbo_counts_an_exact_median_rank_as_one_half() -> None:
    # Three candidates built so that the in-sample winner is always exactly the OOS median.
    n = 40
    base = np.tile(np.r_[0.01, -0.01], n // 2)
    blocks = np.array_split(np.arange(n), 2)
    m = np.zeros((n, 3))
    m[:, 0] = base * 0.5
    m[:, 1] = base * 0.5
    m[:, 2] = base * 0.5
    m[blocks[0], 0] += 0.004  # best in block 0
    m[blocks[1], 0] += 0.002  # middle in block 1
    m[blocks[1], 1] += 0.004
    m[blocks[0], 1] += 0.002
    res = probability_of_backtest_overfitting(m, n_partitions=2)
    # each split's IS winner ranks 2 of 3 out of sample: exactly the median
    assert np.allclose(res.logits, 0.0)
    assert res.pbo == 0.5
