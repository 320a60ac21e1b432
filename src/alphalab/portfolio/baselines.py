"""Baseline strategies that run beside every study.

Every baseline is long-only and fully invested over the assets it can hold
(weights sum to 1) unless stated otherwise, and decides at the close of each
decision date with rows up to that date only:

==================  =======================================================
kind                rule
==================  =======================================================
``buy_and_hold``    equal (or given) weights at the first decision, then
                    never rebalanced (NaN rows: positions drift)
``equal_weight``    ``1/n`` over assets with a finite close at the date
``fixed``           a fixed dict of weights, e.g. ``{"VTI": 0.6, "AGG": 0.4}``,
                    or of named groups of tickers (``groups``), absent
                    keys an error or dropped and the rest rescaled (``absent``)
``inverse_vol``     ``w_i ∝ 1 / std_i`` of the trailing ``window`` returns
``min_variance``    skfolio ``MeanRisk`` minimising variance on the trailing
                    ``window`` returns
``mean_variance``   skfolio ``MeanRisk`` maximising ``mu'w - λ/2 w'Σw``
                    (``risk_aversion`` λ), or minimising variance subject
                    to an annual ``target_return``
``risk_parity``     skfolio ``RiskBudgeting``: equal risk contributions to the
                    variance of the trailing ``window`` returns
``hrp``             skfolio ``HierarchicalRiskParity`` (variance) on the
                    trailing ``window`` returns
``momentum_topk``   equal weight in the ``k`` assets with the best return
                    from ``t - lookback`` to ``t - skip``
==================  =======================================================

Window returns are close-to-close simple returns of the ``window`` bars
ending at the decision row; an asset enters a window strategy only with a
finite close on every one of the ``window + 1`` rows (insufficient history or
a gap excludes it). A date with no eligible asset gives a NaN row (no
decision). Optimiser weights below ``1e-6`` are clipped to 0 and the rest
renormalised, so solver noise (about 1e-7, either sign) never shows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab._inputs import real_number
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import Requirements, Strategy, decision_rows, register_strategy
from alphalab.portfolio.params import check_int as _check_int

__all__ = [
    "BuyAndHold",
    "EqualWeight",
    "Fixed",
    "HierarchicalRiskParity",
    "InverseVol",
    "MeanVariance",
    "MinVariance",
    "MomentumTopK",
    "RiskParity",
]

# Interior-point solvers leave ~1e-7 on assets that should be 0.
_CLIP = 1e-6


# ------------------------------------------------------------------ helpers
def _check_float(name: str, value: Any, *, positive: bool = False) -> float:
    # Bools and text are refused: True would silently be 1.0, "0.5" a typo'd YAML.
    out = real_number(value, name)
    if not math.isfinite(out) or (positive and out <= 0):
        raise ConfigError(
            f"{name} must be a finite{' positive' if positive else ''} number, got {value!r}"
        )
    return out


def _check_weights(weights: Any, name: str = "weights") -> dict[str, float]:
    if not isinstance(weights, Mapping) or not weights:
        raise ConfigError(
            f"{name} must be a non-empty mapping of ticker -> weight, got {weights!r}"
        )
    out: dict[str, float] = {}
    for k, v in weights.items():
        if str(k) in out:
            raise ConfigError(
                f"{name}: keys {k!r} and another both read as ticker {str(k)!r}; name each once"
            )
        out[str(k)] = _check_float(f"{name}[{k!r}]", v)
    if not any(out.values()):
        raise ConfigError(
            f"{name} are all zero ({out!r:.80}): the strategy would never invest; "
            "give at least one non-zero weight"
        )
    return out


def _require_close(strategy: Strategy, panel: Any) -> None:
    """The panel is a Panel with a ``close`` field, or a DataError naming the strategy."""
    kind = getattr(strategy, "kind", type(strategy).__name__)
    if not isinstance(panel, Panel):
        raise DataError(f"{kind}: decide needs a Panel, got {type(panel).__name__}")
    if "close" not in panel.field_names:
        raise DataError(
            f"{kind}: the panel has no 'close' field (fields: {', '.join(panel.field_names)})"
        )


def _equal(mask: np.ndarray) -> np.ndarray:
    """Equal weights over ``mask``; a NaN row if it is empty. Shape ``(n_assets,)``."""
    n = int(mask.sum())
    if n == 0:
        return np.full(mask.shape, np.nan)
    return np.where(mask, 1.0 / n, 0.0)


def _window_returns(close: np.ndarray, row: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns of the ``window`` bars ending at ``row`` for assets with full history.

    Parameters
    ----------
    close : numpy.ndarray, shape ``(n_dates, n_assets)``
    row : int
        Decision row; only rows ``row - window .. row`` are read.
    window : int

    Returns
    -------
    returns : numpy.ndarray, shape ``(window, n_eligible)``
    eligible : numpy.ndarray of bool, shape ``(n_assets,)``
    """
    n_assets = close.shape[1]
    if row < window:
        return np.empty((window, 0)), np.zeros(n_assets, dtype=bool)
    block = close[row - window : row + 1]
    eligible = np.isfinite(block).all(axis=0) & (block > 0).all(axis=0)
    sub = block[:, eligible]
    return sub[1:] / sub[:-1] - 1.0, eligible


def _spread(weights: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Scatter eligible-asset weights into a full row, clipping solver noise.

    Weights are normalised before the clip, so the clip judges fractions of
    the budget: raw inverse-vol scores of very volatile assets (``1/std``
    below ``_CLIP``) are not mistaken for noise.
    """
    w = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
    total = w.sum()
    if total <= 0 or not np.isfinite(total):
        return _equal(eligible)
    w = w / total
    w = np.where(w > _CLIP, w, 0.0)
    row = np.zeros(eligible.shape)
    row[eligible] = w / w.sum()
    return row


class _PerDate(Strategy):
    """A strategy whose decision at a date is a function of rows up to it."""

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        _require_close(self, panel)
        rows = decision_rows(panel, dates)
        self._prepare(panel)
        out = np.full((len(rows), panel.n_assets), np.nan)
        for j, row in enumerate(rows):
            out[j] = self._decide_row(panel, int(row))
        return out

    def _prepare(self, panel: Panel) -> None:
        """Hook: validate parameters against the panel before deciding."""

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


# --------------------------------------------------------------- rule based
@register_strategy("equal_weight")
class EqualWeight(_PerDate):
    """``1/n`` in every asset with a finite, positive close at the decision date."""

    requires = Requirements(fields=("close",), min_history=1)

    def __init__(self) -> None:
        pass

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:
        close = panel["close"][row]
        return _equal(np.isfinite(close) & (close > 0))


def _fixed_row(weights: dict[str, float], panel: Panel, row: int) -> np.ndarray:
    close = panel["close"][row]
    priced = np.isfinite(close) & (close > 0)
    out = np.zeros(panel.n_assets)
    for ticker, w in weights.items():
        i = panel.assets.get_loc(ticker)
        if priced[i]:
            out[i] = w
    return out


def _check_tickers(weights: Mapping[str, float], panel: Panel, kind: str) -> None:
    unknown = sorted(set(weights) - set(panel.assets))
    if unknown:
        raise ConfigError(
            f"{kind}: weights name ticker(s) {unknown} absent from the data "
            f"({panel.n_assets} assets, e.g. {', '.join(map(str, panel.assets[:5]))})"
        )


#: What ``fixed`` does with a weight whose ticker (or group) is not in the data.
ABSENT = ("error", "drop")


def _check_groups(groups: Any) -> dict[str, tuple[str, ...]]:
    """``groups`` as ``name -> tickers`` (``{}`` for None), or a ConfigError naming the problem."""
    if groups is None:
        return {}
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigError(
            f"groups must be a non-empty mapping of group name -> list of tickers, got {groups!r:.80}"
        )
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for name, members in groups.items():
        key = str(name)
        if key in out:
            raise ConfigError(f"groups: keys {name!r} and another both read as {key!r}; name each once")
        if (
            not isinstance(members, (list, tuple))
            or not members
            or not all(isinstance(m, str) and m for m in members)
        ):
            raise ConfigError(
                f"groups[{name!r}] must be a non-empty list of tickers (text), got {members!r:.80}"
            )
        for m in members:
            if m in owner:
                where = "twice" if owner[m] == key else f"in both {owner[m]!r} and {key!r}"
                raise ConfigError(f"groups: ticker {m!r} is listed {where}; list each ticker once")
            owner[m] = key
        out[key] = tuple(members)
    return out


class _Sleeve:
    """One key of ``fixed.weights`` resolved against a panel: weight and asset columns."""

    __slots__ = ("cols", "key", "weight")

    def __init__(self, key: str, weight: float, cols: np.ndarray) -> None:
        self.key, self.weight, self.cols = key, weight, cols


def _resolve_fixed(
    weights: dict[str, float], groups: dict[str, tuple[str, ...]], absent: str, panel: Panel,
    kind: str = "fixed",
) -> tuple[list[_Sleeve], list[str]]:
    """The sleeves of a fixed allocation on ``panel``, and notes on what was dropped.

    A key of ``weights`` that names a group holds the group's members found in
    the panel (its weight is split equally over those priced at each date);
    any other key is a ticker. Keys with nothing in the panel raise
    (``absent: error``) or are dropped and the rest rescaled to the original
    total (``absent: drop``), each drop written down as a note.
    """
    assets = list(map(str, panel.assets))
    col = {t: i for i, t in enumerate(assets)}
    clash = sorted(set(groups) & set(col))
    if clash:
        raise ConfigError(
            f"{kind}: group name(s) {clash} are also tickers of the data; rename the group(s)"
        )
    sleeves: list[_Sleeve] = []
    missing: list[tuple[str, float, str]] = []
    for key, w in weights.items():
        if key in groups:
            cols = np.array([col[t] for t in groups[key] if t in col], dtype=np.int64)
            what = f"group {key!r} (none of {list(groups[key])} is in the data)"
        else:
            cols = np.array([col[key]] if key in col else [], dtype=np.int64)
            what = f"ticker {key!r}"
        if cols.size:
            sleeves.append(_Sleeve(key, w, cols))
        else:
            missing.append((key, w, what))
    notes: list[str] = []
    if not missing:
        return sleeves, notes
    if absent == "error":
        tickers = sorted(k for k, _w, _what in missing if k not in groups)
        gone = sorted(k for k, _w, _what in missing if k in groups)
        parts = []
        if tickers:
            parts.append(f"weights name ticker(s) {tickers} absent from the data")
        if gone:
            parts.append(f"group(s) {gone} have none of their tickers in the data")
        raise ConfigError(
            f"{kind}: {'; '.join(parts)} ({panel.n_assets} assets, e.g. "
            f"{', '.join(assets[:5])}); set absent: drop to drop them and rescale the rest"
        )
    for _key, w, what in missing:
        notes.append(f"{what} is not in the data: its weight {w:g} was dropped")
    total = sum(weights.values())
    kept = sum(s.weight for s in sleeves)
    if not sleeves:
        notes.append("nothing the weights name is in the data: the strategy holds cash")
        return sleeves, notes
    if kept != 0 and total != 0:
        factor = total / kept
        what = f"to total {total:g}"
    else:  # a dollar-neutral book: keep its gross instead of its (zero) sum
        factor = sum(abs(w) for w in weights.values()) / sum(abs(s.weight) for s in sleeves)
        what = "to the original gross"
    for s in sleeves:
        s.weight *= factor
    notes.append(
        f"the remaining weights were scaled by {factor:.4g} {what}: "
        + ", ".join(f"{s.key} {s.weight:.4g}" for s in sleeves)
    )
    return sleeves, notes


def _sleeve_row(sleeves: list[_Sleeve], panel: Panel, row: int) -> np.ndarray:
    close = panel["close"][row]
    priced = np.isfinite(close) & (close > 0)
    out = np.zeros(panel.n_assets)
    for s in sleeves:
        live = s.cols[priced[s.cols]]
        if live.size:  # a sleeve with no priced member leaves its weight in cash
            out[live] += s.weight / live.size
    return out


@register_strategy("fixed")
class Fixed(_PerDate):
    """A fixed allocation, rebalanced back to ``weights`` at every decision.

    Parameters
    ----------
    weights : dict of str -> float
        Ticker (or group) -> weight (fraction of equity). Weights need not sum
        to 1: the rest is cash; negative weights are shorts. An asset without a
        price at a decision date gets 0 (its weight stays in cash).
    groups : dict of str -> list of str, optional
        Named groups of tickers (asset classes, roles), e.g. ``{equity: [SPY,
        QQQ, VTI], bonds: [TLT, IEF, AGG]}``. A ``weights`` key that names a
        group is split equally over the group's members that are in the data
        and priced at the date, so one allocation ("60 % equity, 40 % bonds")
        runs on any ticker list. A ticker may sit in one group only, and a
        group may not be named like a ticker of the data.
    absent : {"error", "drop"}, default "error"
        What to do with a ``weights`` key that has nothing in the data (a
        ticker not loaded, a group none of whose members is): ``error`` raises
        a ConfigError naming it; ``drop`` drops it and rescales the remaining
        weights to the original total, and says so in ``diagnostics_["notes"]``
        (the report shows it). With nothing left the strategy holds cash.

    Attributes
    ----------
    diagnostics_ : dict
        After ``fit``: ``sleeves`` (key -> weight used and the tickers it holds)
        and ``notes`` (what was dropped or rescaled; empty when nothing was).

    Raises
    ------
    ConfigError
        Empty or non-numeric weights, malformed groups, an unknown ``absent``;
        at fit / decision time with ``absent: error``, keys absent from the data.
    """

    requires = Requirements(fields=("close",), min_history=1)

    def __init__(
        self,
        weights: dict[str, float] | None = None,
        groups: dict[str, list[str]] | None = None,
        absent: str = "error",
    ) -> None:
        # Validate, but store as given (scikit-learn clone semantics).
        _check_weights(weights)
        _check_groups(groups)
        if absent not in ABSENT:
            raise ConfigError(f"absent must be one of {ABSENT}, got {absent!r}")
        self.weights = weights
        self.groups = groups
        self.absent = absent

    def _prepare(self, panel: Panel) -> None:
        self.sleeves_, self.notes_ = _resolve_fixed(
            _check_weights(self.weights), _check_groups(self.groups), self.absent, panel
        )

    def fit(self, panel: Panel, until: Any = None) -> Fixed:
        """Resolve the weights against the panel's assets (nothing is learnt)."""
        super().fit(panel, until)
        _require_close(self, panel)
        self._prepare(panel)
        assets = list(map(str, panel.assets))
        self.diagnostics_ = {
            "sleeves": {
                s.key: {"weight": s.weight, "tickers": [assets[i] for i in s.cols]}
                for s in self.sleeves_
            },
            "notes": list(self.notes_),
        }
        return self

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:
        return _sleeve_row(self.sleeves_, panel, row)


@register_strategy("buy_and_hold")
class BuyAndHold(Strategy):
    """The benchmark: buy once at the first decision, then never rebalance.

    Parameters
    ----------
    weights : dict of str -> float, optional
        Initial weights; default equal weight over the assets with a price at
        the first decision date.

    Notes
    -----
    ``decide`` returns the initial weights on the earliest of ``dates`` and NaN
    rows (no decision: positions drift with prices) on the others. A runner
    that calls ``decide`` once per test fold buys once per fold.
    """

    requires = Requirements(fields=("close",), min_history=1)

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        if weights is not None:
            _check_weights(weights)
        self.weights = weights

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        _require_close(self, panel)
        rows = decision_rows(panel, dates)
        out = np.full((len(rows), panel.n_assets), np.nan)
        if len(rows) == 0:
            return out
        # The purchase is at the earliest date, whatever order the dates come in.
        k = int(np.argmin(rows))
        first = int(rows[k])
        if self.weights is None:
            close = panel["close"][first]
            out[k] = _equal(np.isfinite(close) & (close > 0))
        else:
            weights = _check_weights(self.weights)
            _check_tickers(weights, panel, "buy_and_hold")
            out[k] = _fixed_row(weights, panel, first)
        return out


# ----------------------------------------------------------- window based
class _Windowed(_PerDate):
    window: int

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        return Requirements(fields=("close",), min_history=self.window + 1)

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:
        rets, eligible = _window_returns(panel["close"], row, self.window)
        if not eligible.any():
            return np.full(panel.n_assets, np.nan)
        if eligible.sum() == 1:
            return eligible.astype(np.float64)
        return _spread(self._weights(rets, panel.dates[row - self.window : row + 1]), eligible)

    def _weights(self, rets: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover


@register_strategy("inverse_vol")
class InverseVol(_Windowed):
    """Weights proportional to ``1 / std`` of the trailing ``window`` returns.

    Parameters
    ----------
    window : int, default 60
        Bars of returns (>= 2). Assets with zero volatility are excluded.
    """

    def __init__(self, window: int = 60) -> None:
        _check_int("window", window, 2)
        self.window = window

    def _weights(self, rets: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        vol = rets.std(axis=0, ddof=1)
        inv = np.where(vol > 0, 1.0 / np.where(vol > 0, vol, 1.0), 0.0)
        return inv


class _SkfolioWindowed(_Windowed):
    """Shared machinery: fit an skfolio estimator per decision date.

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns the estimator is fitted on (>= 2).
    """

    def __init__(self, window: int = 250) -> None:
        _check_int("window", window, 2)
        self.window = window

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        raise NotImplementedError  # pragma: no cover

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        self.fallbacks_: list[pd.Timestamp] = []
        out = super().decide(panel, dates)
        # the runner's diagnostics convention: JSON-able, solver fallbacks by ISO date
        self.diagnostics_ = {
            "fallbacks": [str(d.date()) for d in self.fallbacks_],
            "n_decisions": len(dates),
        }
        return out

    def _weights(self, rets: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        model = self._estimator(dates)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(rets)
            w = np.asarray(model.weights_, dtype=np.float64)
            if not np.isfinite(w).all():
                raise ValueError("non-finite weights")
        except Exception:  # solver failure: fall back to equal weight, recorded
            self.fallbacks_.append(dates[-1])
            return np.ones(rets.shape[1])
        return w


@register_strategy("min_variance")
class MinVariance(_SkfolioWindowed):
    """Long-only minimum variance (skfolio ``MeanRisk``, ``MINIMIZE_RISK``, variance).

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns the covariance is estimated on (>= 2).

    Attributes
    ----------
    fallbacks_ : list of Timestamp
        Decision dates where the solver failed and equal weight was used.
    """

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        from skfolio import RiskMeasure
        from skfolio.optimization import MeanRisk, ObjectiveFunction

        return MeanRisk(
            objective_function=ObjectiveFunction.MINIMIZE_RISK,
            risk_measure=RiskMeasure.VARIANCE,
        )


@register_strategy("mean_variance")
class MeanVariance(_SkfolioWindowed):
    """Long-only mean-variance (skfolio ``MeanRisk``) on the trailing window.

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns (>= 2).
    risk_aversion : float, default 1.0
        λ in ``max mu'w - λ/2 w'Σw`` (skfolio ``MAXIMIZE_UTILITY``).
    target_return : float, optional
        Annual expected return to reach at minimum variance instead; converted
        to per bar with the window's own calendar. When unreachable the
        solver fails and the date falls back to equal weight (``fallbacks_``).
    """

    def __init__(
        self, window: int = 250, risk_aversion: float = 1.0, target_return: float | None = None
    ) -> None:
        _check_int("window", window, 2)
        _check_float("risk_aversion", risk_aversion, positive=True)
        if target_return is not None and _check_float("target_return", target_return) <= -1.0:
            raise ConfigError(
                f"target_return is an annual return above -1 (e.g. 0.08), got {target_return!r}"
            )
        # Stored as given; used through float()/int() where arithmetic needs it.
        self.window = window
        self.risk_aversion = risk_aversion
        self.target_return = target_return

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        from skfolio import RiskMeasure
        from skfolio.optimization import MeanRisk, ObjectiveFunction

        if self.target_return is None:
            return MeanRisk(
                objective_function=ObjectiveFunction.MAXIMIZE_UTILITY,
                risk_measure=RiskMeasure.VARIANCE,
                risk_aversion=float(self.risk_aversion),
            )
        from alphalab.metrics import periods_per_year

        ppy = periods_per_year(dates)
        per_bar = (1.0 + float(self.target_return)) ** (1.0 / ppy) - 1.0
        return MeanRisk(
            objective_function=ObjectiveFunction.MINIMIZE_RISK,
            risk_measure=RiskMeasure.VARIANCE,
            min_return=per_bar,
        )


@register_strategy("risk_parity")
class RiskParity(_SkfolioWindowed):
    """Long-only equal risk contribution (skfolio ``RiskBudgeting``, variance).

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns the covariance is estimated on (>= 2).
    """

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        from skfolio import RiskMeasure
        from skfolio.optimization import RiskBudgeting

        return RiskBudgeting(risk_measure=RiskMeasure.VARIANCE)


@register_strategy("hrp")
class HierarchicalRiskParity(_SkfolioWindowed):
    """Hierarchical risk parity (skfolio ``HierarchicalRiskParity``, variance).

    Parameters
    ----------
    window : int, default 250
        Bars of trailing returns the correlation clustering and variances are
        estimated on (>= 2).
    """

    def _estimator(self, dates: pd.DatetimeIndex) -> Any:
        from skfolio import RiskMeasure
        from skfolio.optimization import HierarchicalRiskParity as Hrp

        return Hrp(risk_measure=RiskMeasure.VARIANCE)


# --------------------------------------------------------------- momentum
@register_strategy("momentum_topk")
class MomentumTopK(_PerDate):
    """Equal weight in the ``k`` assets with the best trailing return.

    The score at row t is ``close[t - skip] / close[t - lookback] - 1``: the
    return over ``lookback`` bars, leaving out the most recent ``skip`` bars
    (short-term reversal). Assets need a finite close at t, t - skip and
    t - lookback. Ties break by asset order.

    Parameters
    ----------
    k : int, default 10
    lookback : int, default 120
    skip : int, default 0
        Must be smaller than ``lookback``.
    """

    def __init__(self, k: int = 10, lookback: int = 120, skip: int = 0) -> None:
        _check_int("k", k, 1)
        _check_int("lookback", lookback, 1)
        _check_int("skip", skip, 0)
        self.k, self.lookback, self.skip = k, lookback, skip
        if skip >= lookback:
            raise ConfigError(f"skip ({skip}) must be smaller than lookback ({lookback})")

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        return Requirements(fields=("close",), min_history=self.lookback + 1)

    def _decide_row(self, panel: Panel, row: int) -> np.ndarray:
        if row < self.lookback:
            return np.full(panel.n_assets, np.nan)
        close = panel["close"]
        now, recent, past = close[row], close[row - self.skip], close[row - self.lookback]
        ok = np.isfinite(now) & np.isfinite(recent) & np.isfinite(past) & (past > 0)
        if not ok.any():
            return np.full(panel.n_assets, np.nan)
        score = np.where(ok, recent / np.where(ok, past, 1.0) - 1.0, -np.inf)
        order = np.argsort(-score, kind="stable")
        top = order[: min(self.k, int(ok.sum()))]
        mask = np.zeros(panel.n_assets, dtype=bool)
        mask[top] = True
        return _equal(mask)
