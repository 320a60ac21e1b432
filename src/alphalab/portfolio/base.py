"""The strategy contract every strategy in alphalab follows.

In the scikit-learn spirit: parameters only in ``__init__``, learned state in
attributes ending with ``_``, ``fit`` returns ``self``. A strategy

* ``fit(panel, until)`` learns only from rows of ``panel`` dated at or before
  ``until`` (rule-based strategies learn nothing and just record ``until``);
* ``decide(panel, dates)`` returns target weights for each date in ``dates``,
  decided at that date's close with rows up to that date only.

Weights are fractions of equity per asset; negative means short; what is not
invested is cash. A row of NaN means "no decision" (hold what drifts); inside
a decided row NaN counts as zero.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from alphalab.backtest.schedule import RebalanceRule, rebalance_mask
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.params import Parametrised

__all__ = [
    "STRATEGIES",
    "Requirements",
    "Strategy",
    "make_strategy",
    "register_strategy",
    "target_weights",
]


@dataclass(frozen=True)
class Requirements:
    """What a strategy needs from the data; the runner checks it up front.

    Attributes
    ----------
    fields : tuple of str
        Panel fields that must be present (e.g. ``("close",)`` or OHLCV).
    min_history : int
        Bars of history needed before the first meaningful decision.
    fundamentals : bool
        Needs point-in-time fundamental fields.
    benchmark : bool
        Needs a benchmark series.
    learns : bool
        ``fit`` learns state from data (so walk-forward must retrain it).
    probabilistic : bool
        Produces probabilities or distributions in addition to weights.
    """

    fields: tuple[str, ...] = ("close",)
    min_history: int = 1
    fundamentals: bool = False
    benchmark: bool = False
    learns: bool = False
    probabilistic: bool = False


class Strategy(Parametrised, ABC):
    """Base class: maps a Panel to target weights, one row per decision date.

    Parameters follow scikit-learn (:class:`~alphalab.portfolio.params.Parametrised`):
    stored exactly as given in ``__init__``, ``get_params(deep=True)`` lists
    nested parts as ``part__param``, ``set_params`` routes them, ``clone()`` and
    :func:`sklearn.base.clone` give an unfitted deep copy.

    Conventions the runner relies on
    --------------------------------
    random_state : int or None (a constructor parameter, for stochastic strategies)
        The runner injects a per-fold / per-trial seed with
        ``set_params(random_state=...)`` whenever ``get_params()`` has that key.
        ``None`` means "not seeded by the runner" (tests may still pass one).
    diagnostics_ : dict, set by ``fit`` (optional)
        JSON-able: training curves as lists under ``training_curve`` /
        ``val_curve``, solver fallbacks, convergence counts. Written by the
        runner to ``diagnostics/<strategy>.json``.
    forecasts_ : pandas.DataFrame, set by ``decide`` (optional)
        Long frame with columns ``date``, ``ticker`` and numeric columns
        (``mean``, optionally ``variance``, ``q0.05``..., ``p_<class>``) for
        exactly the decided dates; stitched across folds by the runner.
    """

    requires: ClassVar[Requirements] = Requirements()

    # ---------------------------------------------------------------- checks
    def check(self, panel: Panel) -> None:
        """Raise :class:`DataError` if ``panel`` cannot serve this strategy."""
        req = self.requires
        panel.require(*req.fields)
        if panel.n_assets == 0:
            raise DataError(f"{type(self).__name__}: the data has no assets")
        if panel.n_dates < req.min_history:
            raise DataError(
                f"{type(self).__name__} needs at least {req.min_history} bars of history, "
                f"the data has {panel.n_dates}"
            )

    # -------------------------------------------------------------- contract
    def fit(self, panel: Panel, until: Any = None) -> Strategy:
        """Learn from rows dated at or before ``until`` (default: all rows).

        The base implementation learns nothing and records ``fitted_until_``.
        """
        self.fitted_until_ = panel.dates[-1] if until is None else pd.Timestamp(until)
        return self

    @abstractmethod
    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        """Target weights decided at the close of each of ``dates``.

        Parameters
        ----------
        panel : Panel
            Data of shape ``(n_dates, n_assets)``; row ``i`` may be used for a
            decision at ``dates[j]`` only if ``panel.dates[i] <= dates[j]``.
        dates : pandas.DatetimeIndex, length ``n_decisions``
            Decision dates, each present in ``panel.dates``.

        Returns
        -------
        numpy.ndarray, shape ``(n_decisions, n_assets)``
            Target weights; a NaN row means no decision.
        """


def target_weights(
    strategy: Strategy,
    panel: Panel,
    rebalance: RebalanceRule = "daily",
    *,
    start: Any = None,
) -> np.ndarray:
    """Full ``(n_dates, n_assets)`` target array: decisions on scheduled dates, NaN elsewhere.

    Parameters
    ----------
    strategy : Strategy
        Already fitted (or rule-based).
    panel : Panel
    rebalance : str, int or dates
        See :func:`alphalab.backtest.rebalance_mask`.
    start : date-like, optional
        No decisions before this date.
    """
    strategy.check(panel)
    mask = rebalance_mask(panel.dates, rebalance)
    if start is not None:
        mask &= panel.dates >= pd.Timestamp(start)
    out = np.full(panel.shape, np.nan)
    if mask.any():
        dates = panel.dates[mask]
        decided = np.asarray(strategy.decide(panel, dates), dtype=np.float64)
        if decided.shape != (len(dates), panel.n_assets):
            raise ValueError(
                f"{type(strategy).__name__}.decide returned shape {decided.shape}, "
                f"expected {(len(dates), panel.n_assets)}"
            )
        out[mask] = decided
    return out


# ------------------------------------------------------------------ registry
STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(kind: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: make a strategy available to study configs as ``kind``."""

    def deco(cls: type[Strategy]) -> type[Strategy]:
        if kind in STRATEGIES and STRATEGIES[kind] is not cls:
            raise ConfigError(f"strategy kind {kind!r} is already registered")
        STRATEGIES[kind] = cls
        cls.kind = kind  # type: ignore[attr-defined]
        return cls

    return deco


def make_strategy(kind: str, params: dict[str, Any] | None = None) -> Strategy:
    """Instantiate a registered strategy, with a clear error for unknown kinds or params."""
    if kind not in STRATEGIES:
        raise ConfigError(
            f"unknown strategy kind {kind!r}; known kinds: {', '.join(sorted(STRATEGIES))}"
        )
    cls = STRATEGIES[kind]
    params = dict(params or {})
    valid = set(cls._param_names())
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"strategy kind {kind!r} has no parameter(s) {unknown}; valid: {sorted(valid)}"
        )
    build = getattr(cls, "from_config", None)
    if build is not None:
        # Strategies made of parts (forecaster, allocator) build them from nested specs.
        return build(params)
    return cls(**params)


def decision_rows(panel: Panel, dates: Sequence[Any] | pd.DatetimeIndex) -> np.ndarray:
    """Row positions of ``dates`` in ``panel.dates`` (each must be present)."""
    idx = panel.dates.get_indexer(pd.DatetimeIndex(dates))
    if (idx < 0).any():
        raise DataError("decision dates must be dates of the panel")
    return idx
