"""Allocators: a :class:`~alphalab.models.forecast.Forecast` -> target weights.

``allocate(forecast, panel, previous_weights)`` returns weights of shape
``(n_dates, n_assets)`` for the forecast's dates, using panel rows up to each
date only (prices to decide what is tradable, trailing returns for risk).
An asset is *eligible* at a date when its forecast is finite and its close at
that date is finite and positive. A date with no eligible asset gives a NaN
row (no decision).

==================== =========================================================
kind                 rule
==================== =========================================================
``topk``             long only, the ``k`` highest forecasts, equal or
                     score-weighted (positive part of the forecast)
``long_short``       long the top ``quantile``, short the bottom, ``gross/2``
                     each side, equal weight within a side
``inverse_variance`` long only, ``w ∝ 1 / forecast variance`` (for volatility
                     forecasts, the squared forecast volatility)
``mean_variance``    skfolio ``MeanRisk`` maximising ``mu'w - λ/2 w'Σw`` with
                     ``mu`` the forecast means and ``Σ`` the trailing sample
                     covariance; solver failure -> equal weight over the
                     candidates, recorded in ``diagnostics_["fallbacks"]``
``vol_target``       long only, each asset sized to an equal share of an annual
                     volatility target from its forecast volatility, capped at
                     ``max_leverage`` gross
==================== =========================================================
"""

from __future__ import annotations

import functools
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.forecast import FORECAST_KINDS, Forecast
from alphalab.portfolio.base import decision_rows
from alphalab.portfolio.params import Parametrised
from alphalab.portfolio.params import check_int as _int

__all__ = [
    "ALLOCATORS",
    "Allocator",
    "InverseVariance",
    "LongShortQuantile",
    "MeanVarianceAllocator",
    "TopK",
    "VolTarget",
    "register_allocator",
]


def _num(name: str, value: Any, low: float = -math.inf, high: float = math.inf, *, open_low: bool = True) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and (float(value) > low if open_low else float(value) >= low)
    if not ok or float(value) > high:
        raise ConfigError(f"{name} must be a finite number in ({low}, {high}], got {value!r}")


class Allocator(Parametrised, ABC):
    """Base class: forecasts -> target weights.

    Attributes
    ----------
    accepts : tuple of str
        Forecast kinds it understands; others raise :class:`ConfigError`.
    diagnostics_ : dict
        Set by :meth:`allocate` (e.g. solver fallbacks), JSON-able.
    """

    accepts: ClassVar[tuple[str, ...]] = FORECAST_KINDS

    def allocate(
        self, forecast: Forecast, panel: Panel, previous_weights: np.ndarray | None = None
    ) -> np.ndarray:
        """Target weights, shape ``(len(forecast.dates), n_assets)``.

        Parameters
        ----------
        forecast : Forecast
            Over the panel's assets, at dates of the panel.
        panel : Panel
            Rows up to each forecast date may be used for that date.
        previous_weights : numpy.ndarray, shape ``(n_assets,)``, optional
            Weights held before the first date (allocators may use it to
            limit turnover; the built-ins ignore it).
        """
        if forecast.kind not in self.accepts:
            raise ConfigError(
                f"{type(self).__name__} allocates {self.accepts} forecasts, got kind {forecast.kind!r}"
            )
        if not forecast.assets.equals(panel.assets):
            raise DataError(f"{type(self).__name__}: forecast assets differ from the panel's")
        rows = decision_rows(panel, forecast.dates)
        close = panel["close"]
        self.diagnostics_: dict[str, Any] = {}
        out = np.full(forecast.shape, np.nan)
        for j, row in enumerate(rows):
            c = close[row]
            eligible = np.isfinite(forecast.mean[j]) & np.isfinite(c) & (c > 0)
            if eligible.any():
                out[j] = self._row(forecast, j, panel, int(row), eligible)
        return out

    @abstractmethod
    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        """Weights of date ``j`` (panel row ``row``), shape ``(n_assets,)``."""


ALLOCATORS: dict[str, type[Allocator]] = {}


def register_allocator(kind: str) -> Callable[[type[Allocator]], type[Allocator]]:
    """Class decorator: make an allocator available to study configs as ``kind``."""

    def deco(cls: type[Allocator]) -> type[Allocator]:
        if kind in ALLOCATORS and ALLOCATORS[kind] is not cls:
            raise ConfigError(f"allocator kind {kind!r} is already registered")
        ALLOCATORS[kind] = cls
        cls.kind = kind  # type: ignore[attr-defined]
        return cls

    return deco


def _top(score: np.ndarray, eligible: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest eligible scores; ties break by asset order."""
    s = np.where(eligible, score, -np.inf)
    order = np.argsort(-s, kind="stable")
    return order[: min(k, int(eligible.sum()))]


@register_allocator("topk")
class TopK(Allocator):
    """Long only in the ``k`` assets with the highest forecast.

    Parameters
    ----------
    k : int, default 30
    weighting : {"equal", "score"}, default "equal"
        ``score``: weights proportional to the positive part of the forecast
        among the selected (equal when none is positive).
    buffer : int, default 0
        Turnover hysteresis: an asset held at the previous date (the previous
        row of this call, or ``previous_weights`` for the first) stays while it
        ranks within the top ``k + buffer``; the free slots go to the best
        ranked others. 0: the plain top ``k`` at every date.
    """

    accepts = ("return", "score", "probabilities")

    def __init__(self, k: int = 30, weighting: str = "equal", buffer: int = 0) -> None:
        _int("k", k, 1)
        _int("buffer", buffer, 0)
        if weighting not in ("equal", "score"):
            raise ConfigError(f"weighting must be 'equal' or 'score', got {weighting!r}")
        self.k = k
        self.weighting = weighting
        self.buffer = buffer

    def allocate(self, forecast: Forecast, panel: Panel, previous_weights: np.ndarray | None = None) -> np.ndarray:
        self._held = None if previous_weights is None else np.nan_to_num(np.asarray(previous_weights)) > 0
        return super().allocate(forecast, panel, previous_weights)

    def _select(self, score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        k = int(self.k)
        held = getattr(self, "_held", None)
        if not self.buffer or held is None:
            return _top(score, eligible, k)
        band = np.zeros(eligible.shape, dtype=bool)
        band[_top(score, eligible, k + int(self.buffer))] = True
        keep = np.flatnonzero(held & band)
        keep = keep[np.argsort(-score[keep], kind="stable")][:k]
        rest = eligible.copy()
        rest[keep] = False
        return np.concatenate([keep, _top(score, rest, k - len(keep))])

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        top = self._select(forecast.mean[j], eligible)
        self._held = np.zeros(forecast.shape[1], dtype=bool)
        self._held[top] = True
        w = np.zeros(forecast.shape[1])
        raw = np.ones(len(top))
        if self.weighting == "score":
            pos = np.clip(forecast.mean[j][top], 0.0, None)
            if pos.sum() > 0:
                raw = pos
        w[top] = raw / raw.sum()
        return w


@register_allocator("long_short")
class LongShortQuantile(Allocator):
    """Long the top ``quantile`` of forecasts, short the bottom one, equal weight per side.

    Parameters
    ----------
    quantile : float in (0, 0.5], default 0.2
    gross : float, default 1.0
        Sum of absolute weights (``gross / 2`` long, ``gross / 2`` short).
    """

    accepts = ("return", "score", "probabilities")

    def __init__(self, quantile: float = 0.2, gross: float = 1.0) -> None:
        _num("quantile", quantile, 0.0, 0.5)
        _num("gross", gross, 0.0)
        self.quantile = quantile
        self.gross = gross

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        n = int(eligible.sum())
        m = math.floor(n * float(self.quantile))
        w = np.zeros(forecast.shape[1])
        if m < 1:
            return w
        top = _top(forecast.mean[j], eligible, m)
        bottom = _top(-forecast.mean[j], eligible, m)
        w[top] = float(self.gross) / 2 / m
        w[bottom] = -float(self.gross) / 2 / m
        return w


def _forecast_variance(forecast: Forecast, j: int) -> np.ndarray:
    if forecast.kind == "volatility":
        return forecast.mean[j] ** 2
    if forecast.variance is None:
        raise ConfigError("this allocator needs a forecast variance (or a volatility forecast)")
    return forecast.variance[j]


@register_allocator("inverse_variance")
class InverseVariance(Allocator):
    """Long only, fully invested, ``w_i ∝ 1 / forecast variance_i``.

    Assets with non-finite or zero forecast variance are left out.
    """

    accepts = ("return", "volatility")

    def __init__(self) -> None:
        pass

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        var = _forecast_variance(forecast, j)
        ok = eligible & np.isfinite(var) & (var > 0)
        if not ok.any():
            return np.full(forecast.shape[1], np.nan)
        inv = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
        return inv / inv.sum()


@register_allocator("vol_target")
class VolTarget(Allocator):
    """Long only, each asset sized to ``target / n`` annual volatility from its forecast.

    ``w_i = (target / sqrt(periods_per_year)) / (n * sigma_i)``, then scaled
    down so that the gross weight is at most ``max_leverage``.

    Parameters
    ----------
    target : float, default 0.10
        Annual volatility target of the whole book (if assets were perfectly correlated).
    max_leverage : float, default 1.0
    periods_per_year : float, default 252
    """

    accepts = ("volatility", "return")

    def __init__(self, target: float = 0.10, max_leverage: float = 1.0, periods_per_year: float = 252.0) -> None:
        _num("target", target, 0.0)
        _num("max_leverage", max_leverage, 0.0)
        _num("periods_per_year", periods_per_year, 0.0)
        self.target = target
        self.max_leverage = max_leverage
        self.periods_per_year = periods_per_year

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        sigma = np.sqrt(_forecast_variance(forecast, j))
        ok = eligible & np.isfinite(sigma) & (sigma > 0)
        if not ok.any():
            return np.full(forecast.shape[1], np.nan)
        per_bar = float(self.target) / math.sqrt(float(self.periods_per_year))
        w = np.where(ok, per_bar / (ok.sum() * np.where(ok, sigma, 1.0)), 0.0)
        gross = w.sum()
        cap = float(self.max_leverage)
        return w * (cap / gross) if gross > cap else w


@register_allocator("mean_variance")
class MeanVarianceAllocator(Allocator):
    """Long only mean-variance on forecast means (skfolio ``MeanRisk``, ``MAXIMIZE_UTILITY``).

    Candidates are the ``max_assets`` highest eligible forecasts with a finite,
    positive close on every one of the ``window + 1`` rows ending at the date;
    ``Σ`` is their sample covariance of close-to-close returns on that window.

    Parameters
    ----------
    window : int, default 60
    risk_aversion : float, default 1.0
    max_assets : int, default 50

    Attributes
    ----------
    diagnostics_ : dict
        ``fallbacks``: ISO dates where the solver failed (or gave non-finite
        weights) and equal weight over the candidates was used instead;
        ``n_solved``: dates the solver answered.
    """

    accepts = ("return",)

    def __init__(self, window: int = 60, risk_aversion: float = 1.0, max_assets: int = 50) -> None:
        _int("window", window, 2)
        _num("risk_aversion", risk_aversion, 0.0)
        _int("max_assets", max_assets, 1)
        self.window = window
        self.risk_aversion = risk_aversion
        self.max_assets = max_assets

    def allocate(self, forecast: Forecast, panel: Panel, previous_weights: np.ndarray | None = None) -> np.ndarray:
        self._fallbacks: list[str] = []
        self._solved = 0
        out = super().allocate(forecast, panel, previous_weights)
        self.diagnostics_ = {"fallbacks": self._fallbacks, "n_solved": self._solved}
        return out

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        window = int(self.window)
        if row < window:
            return np.full(forecast.shape[1], np.nan)
        block = panel["close"][row - window : row + 1]
        full = eligible & np.isfinite(block).all(axis=0) & (block > 0).all(axis=0)
        if not full.any():
            return np.full(forecast.shape[1], np.nan)
        cand = np.sort(_top(forecast.mean[j], full, int(self.max_assets)))
        rets = block[1:, cand] / block[:-1, cand] - 1.0
        w = np.zeros(forecast.shape[1])
        weights = self._solve(rets, forecast.mean[j][cand])
        if weights is None:
            self._fallbacks.append(str(forecast.dates[j].date()))
            weights = np.full(len(cand), 1.0 / len(cand))
        else:
            self._solved += 1
        w[cand] = weights
        return w

    def _solve(self, rets: np.ndarray, mu: np.ndarray) -> np.ndarray | None:
        if rets.shape[1] == 1:
            return np.ones(1)
        from skfolio import RiskMeasure
        from skfolio.moments import EmpiricalCovariance
        from skfolio.optimization import MeanRisk, ObjectiveFunction
        from skfolio.prior import EmpiricalPrior

        model = MeanRisk(
            objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
            risk_measure=RiskMeasure.VARIANCE,
            risk_aversion=float(self.risk_aversion),
            prior_estimator=EmpiricalPrior(mu_estimator=_GivenMu(mu), covariance_estimator=EmpiricalCovariance()),
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(rets)
            w = np.asarray(model.weights_, dtype=np.float64)
        except Exception:
            return None
        if not np.isfinite(w).all() or w.sum() <= 0:
            return None
        w = np.where(w > 1e-6, w, 0.0)  # interior-point noise
        return w / w.sum()


@functools.cache
def _given_mu_class() -> type:
    from skfolio.moments import BaseMu

    class GivenMu(BaseMu):
        """skfolio mu estimator returning fixed expected returns (the forecast means)."""

        def __init__(self, mu: np.ndarray | None = None) -> None:
            self.mu = mu

        def fit(self, X: Any, y: Any = None) -> GivenMu:
            self.mu_ = np.asarray(self.mu, dtype=np.float64)
            return self

    return GivenMu


def _GivenMu(mu: np.ndarray) -> Any:
    return _given_mu_class()(mu)
