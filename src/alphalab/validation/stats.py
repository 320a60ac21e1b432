"""Overfitting statistics: PSR, Deflated Sharpe Ratio, PBO by CSCV, minimum backtest length.

All Sharpe ratios here are *per observation* (not annualised) unless a
function says otherwise; annualise by multiplying with ``sqrt(periods_per_year)``.

References
----------
Bailey, D. H. and Lopez de Prado, M. (2012). "The Sharpe Ratio Efficient Frontier".
    Journal of Risk 15(2). (PSR, minimum track record length)
Bailey, D. H. and Lopez de Prado, M. (2014). "The Deflated Sharpe Ratio: Correcting for
    Selection Bias, Backtest Overfitting and Non-Normality". Journal of Portfolio
    Management 40(5), 94-107. (DSR; its numerical example is pinned in the tests)
Bailey, D. H., Borwein, J. M., Lopez de Prado, M. and Zhu, Q. J. (2014). "Pseudo-Mathematics
    and Financial Charlatanism". Notices of the AMS 61(5). (minimum backtest length)
Bailey, D. H., Borwein, J. M., Lopez de Prado, M. and Zhu, Q. J. (2017). "The Probability of
    Backtest Overfitting". Journal of Computational Finance 20(4). (PBO by CSCV)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from alphalab.errors import DataError

__all__ = [
    "EULER_GAMMA",
    "PBOResult",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "min_backtest_length",
    "min_track_record_length",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "sharpe_moments",
]

EULER_GAMMA = 0.5772156649015329


def _clean(returns: np.ndarray) -> np.ndarray:
    r = np.asarray(returns, dtype=np.float64).ravel()
    r = r[np.isfinite(r)]
    return r


def sharpe_moments(returns: np.ndarray) -> tuple[float, float, float, int]:
    """Per-observation Sharpe, skewness and (non-excess) kurtosis of a return series.

    Parameters
    ----------
    returns : numpy.ndarray, shape ``(n_obs,)``
        Simple or log returns; non-finite values are dropped.

    Returns
    -------
    sharpe, skew, kurtosis, n_obs : float, float, float, int
        ``sharpe = mean / std`` (ddof=1); ``skew`` and ``kurtosis`` are the
        bias-corrected sample estimates (as ``scipy.stats`` with ``bias=False``;
        Pearson kurtosis, normal = 3). NaN where fewer than 4 observations or
        zero dispersion. Sums are exactly rounded (``math.fsum``) so the result
        does not depend on memory layout or process.
    """
    r = _clean(returns)
    n = r.size
    if n < 4:
        return math.nan, math.nan, math.nan, n
    mean = math.fsum(r.tolist()) / n
    dev = r - mean
    m2 = math.fsum((dev**2).tolist()) / n
    if not m2 > 0:
        return math.nan, math.nan, math.nan, n
    m3 = math.fsum((dev**3).tolist()) / n
    m4 = math.fsum((dev**4).tolist()) / n
    sd = math.sqrt(m2 * n / (n - 1))
    g1 = m3 / m2**1.5
    g2 = m4 / m2**2 - 3.0
    skew = g1 * math.sqrt(n * (n - 1)) / (n - 2)
    excess = ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))
    return mean / sd, skew, excess + 3.0, n


def probabilistic_sharpe_ratio(
    sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0, benchmark: float = 0.0
) -> float:
    r"""Probability that the true Sharpe exceeds ``benchmark`` (PSR).

    .. math::

        \mathrm{PSR}(SR^*) = \Phi\left(\frac{(\widehat{SR} - SR^*)\sqrt{T - 1}}
        {\sqrt{1 - \gamma_3 \widehat{SR} + \frac{\gamma_4 - 1}{4}\widehat{SR}^2}}\right)

    with per-observation Sharpe :math:`\widehat{SR}`, :math:`T` observations, skewness
    :math:`\gamma_3` and Pearson kurtosis :math:`\gamma_4` (normal = 3).
    """
    if not (np.isfinite(sharpe) and n_obs > 1):
        return math.nan
    var = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not var > 0:
        return math.nan
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(var)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: float, sharpe_variance: float, mean_sharpe: float = 0.0) -> float:
    r"""Expected maximum Sharpe of ``n_trials`` unskilled trials (the DSR benchmark).

    .. math::

        SR_0 = \bar{SR} + \sqrt{V[SR]}\left((1 - \gamma)\Phi^{-1}\left(1 - \frac{1}{N}\right)
        + \gamma\,\Phi^{-1}\left(1 - \frac{1}{N e}\right)\right)

    with the Euler-Mascheroni constant :math:`\gamma`. One trial gives ``mean_sharpe``.
    """
    if n_trials < 1:
        raise DataError(f"number of trials must be >= 1, got {n_trials}")
    if sharpe_variance < 0:
        raise DataError(f"variance of trial Sharpe ratios must be >= 0, got {sharpe_variance}")
    if n_trials == 1:
        return float(mean_sharpe)
    z = (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n_trials) + EULER_GAMMA * stats.norm.ppf(
        1 - 1 / (n_trials * math.e)
    )
    return float(mean_sharpe + math.sqrt(sharpe_variance) * z)


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    n_trials: int,
    sharpe_variance: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> tuple[float, float]:
    """Deflated Sharpe Ratio: the PSR against the expected maximum Sharpe of the trials.

    Parameters
    ----------
    sharpe : float
        Per-observation Sharpe of the selected strategy.
    n_obs : int
        Number of return observations behind ``sharpe``.
    n_trials : int
        Number of configurations tried (every tuning trial counts).
    sharpe_variance : float
        Variance of the per-observation Sharpe ratios across the trials.
    skew, kurtosis : float
        Skewness and Pearson kurtosis (normal = 3) of the selected strategy's returns.

    Returns
    -------
    dsr, sr0 : float, float
        The probability that the true Sharpe exceeds the selection benchmark, and that
        benchmark :func:`expected_max_sharpe`.
    """
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, sr0), sr0


def min_track_record_length(
    sharpe: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    r"""Observations needed for PSR(benchmark) to reach ``confidence`` (MinTRL).

    .. math::

        \mathrm{MinTRL} = 1 + \left(1 - \gamma_3 SR + \frac{\gamma_4 - 1}{4} SR^2\right)
        \left(\frac{\Phi^{-1}(\alpha)}{SR - SR^*}\right)^2

    Infinite when ``sharpe <= benchmark``.
    """
    if not np.isfinite(sharpe) or sharpe <= benchmark:
        return math.inf
    var = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    return float(1.0 + var * (stats.norm.ppf(confidence) / (sharpe - benchmark)) ** 2)


def min_backtest_length(n_trials: int, target_sharpe: float = 1.0) -> float:
    r"""Minimum backtest length in years so that ``n_trials`` unskilled trials are unlikely
    to show an annualised in-sample Sharpe of ``target_sharpe`` (MinBTL).

    .. math::

        \mathrm{MinBTL} \approx \left(\frac{(1 - \gamma)\Phi^{-1}(1 - 1/N)
        + \gamma\,\Phi^{-1}(1 - 1/(N e))}{E[\max_N]}\right)^2

    where :math:`E[\max_N]` is the annualised Sharpe to beat (Bailey et al. 2014).
    """
    if target_sharpe <= 0:
        raise DataError(f"target Sharpe must be positive, got {target_sharpe}")
    return (expected_max_sharpe(n_trials, 1.0) / target_sharpe) ** 2


@dataclass(frozen=True)
class PBOResult:
    """Outcome of combinatorially symmetric cross-validation.

    Attributes
    ----------
    pbo : float
        Share of splits whose in-sample best trial ranks below the out-of-sample median; a
        rank exactly at the median (odd candidate counts, or ties) counts one half, so that
        pure noise gives 0.5 for every number of candidates.
    logits : numpy.ndarray, shape ``(n_splits,)``
        Logit of the out-of-sample relative rank of the in-sample best trial, per split.
    is_best : numpy.ndarray, shape ``(n_splits,)``
        Column index of the in-sample best trial per split.
    performance_degradation : float
        Slope of OOS on IS performance of the selected trials (negative = overfit).
    n_splits : int
    """

    pbo: float
    logits: np.ndarray
    is_best: np.ndarray
    performance_degradation: float
    n_splits: int


def _sharpe_cols(block: np.ndarray) -> np.ndarray:
    mu = block.mean(axis=0)
    sd = block.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mu / sd, 0.0)
    return out


def probability_of_backtest_overfitting(
    trial_returns: np.ndarray, n_partitions: int = 16
) -> PBOResult:
    """PBO by combinatorially symmetric cross-validation (CSCV).

    Parameters
    ----------
    trial_returns : numpy.ndarray, shape ``(n_obs, n_trials)``
        Per-period returns of every configuration tried, on the same dates.
    n_partitions : int
        Even number S of row blocks; all C(S, S/2) splits are evaluated.

    Returns
    -------
    PBOResult
    """
    m = np.asarray(trial_returns, dtype=np.float64)
    if m.ndim != 2:
        raise DataError(f"trial returns must be 2-D (n_obs, n_trials), got shape {m.shape}")
    n_obs, n_trials = m.shape
    if n_trials < 2:
        raise DataError("PBO needs at least 2 trials")
    if n_partitions < 2 or n_partitions % 2:
        raise DataError(f"n_partitions must be an even number >= 2, got {n_partitions}")
    if n_obs < 2 * n_partitions:
        raise DataError(
            f"PBO needs at least {2 * n_partitions} observations for {n_partitions} partitions, "
            f"got {n_obs}"
        )
    if not np.isfinite(m).all():
        raise DataError("trial returns contain NaN or inf; align trials on common dates first")
    blocks = np.array_split(np.arange(n_obs), n_partitions)
    logits, best, is_perf, oos_perf = [], [], [], []
    side: list[float] = []  # -1 below the OOS median, 0 exactly at it, +1 above
    for combo in itertools.combinations(range(n_partitions), n_partitions // 2):
        chosen = set(combo)
        is_rows = np.concatenate([blocks[i] for i in combo])
        oos_rows = np.concatenate([blocks[i] for i in range(n_partitions) if i not in chosen])
        sr_is = _sharpe_cols(m[is_rows])
        sr_oos = _sharpe_cols(m[oos_rows])
        n_star = int(np.argmax(sr_is))
        # relative rank in (0, 1): average rank of the IS winner among OOS results
        rank = stats.rankdata(sr_oos)[n_star]
        omega = rank / (n_trials + 1)
        # the median rank is (n + 1) / 2; decided on the rank itself, not on a rounded logit
        side.append(float(np.sign(2.0 * rank - (n_trials + 1))))
        logits.append(math.log(omega / (1 - omega)))
        best.append(n_star)
        is_perf.append(sr_is[n_star])
        oos_perf.append(sr_oos[n_star])
    lg = np.asarray(logits)
    slope = (
        float(np.polyfit(is_perf, oos_perf, 1)[0]) if np.ptp(is_perf) > 0 else math.nan
    )
    return PBOResult(
        # Bailey et al. count omega <= 1/2 as overfit; with an odd N the winner lands exactly
        # on the median 1/N of the time under noise, which biased PBO upwards (0.67 at N=3).
        # A median rank is a coin flip between "above" and "below": it counts one half.
        pbo=float(np.mean(np.asarray(side) < 0) + 0.5 * np.mean(np.asarray(side) == 0)),
        logits=lg,
        is_best=np.asarray(best),
        performance_degradation=slope,
        n_splits=lg.size,
    )
