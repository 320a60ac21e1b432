"""The forecast contract: :class:`Forecast` (what a model says) and :class:`Forecaster`.

A forecaster learns with ``fit(panel, until)`` from rows dated at or before
``until`` and predicts with ``predict(panel, dates)`` at the close of each of
``dates`` with rows up to that date only (the leakage guard checks it). Its
output is a :class:`Forecast`: wide ``(n_dates, n_assets)`` arrays inside,
labelled long pandas at the edge (:meth:`Forecast.to_frame`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.params import Parametrised

__all__ = [
    "FORECASTERS",
    "FORECAST_KINDS",
    "Capabilities",
    "Forecast",
    "Forecaster",
    "register_forecaster",
]

#: What a forecast's ``mean`` measures.
FORECAST_KINDS: tuple[str, ...] = ("return", "score", "volatility", "probabilities")


def _wide(name: str, a: Any, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.shape != shape:
        raise DataError(f"Forecast.{name} has shape {arr.shape}, expected {shape} (dates, assets)")
    return arr


@dataclass(frozen=True)
class Forecast:
    """Predictions at the close of each date for each asset, ``horizon`` bars ahead.

    Attributes
    ----------
    dates : pandas.DatetimeIndex, length ``n_dates``
        Forecast (decision) dates.
    assets : pandas.Index, length ``n_assets``
    horizon : int
        Bars ahead the target covers (``>= 1``).
    kind : {"return", "score", "volatility", "probabilities"}
        What ``mean`` is: an expected return, a rank-like score, an expected
        volatility (per bar, not annualised) or the expected class index.
    mean : numpy.ndarray, shape ``(n_dates, n_assets)``
        NaN where there is no forecast.
    variance : numpy.ndarray, shape ``(n_dates, n_assets)``, optional
        Forecast variance of the target.
    quantiles : dict of float -> numpy.ndarray ``(n_dates, n_assets)``
        Level in (0, 1) -> quantile of the target.
    probabilities : dict of str -> numpy.ndarray ``(n_dates, n_assets)``
        Class label -> probability (rows of a date/asset sum to 1).
    """

    dates: pd.DatetimeIndex
    assets: pd.Index
    horizon: int
    kind: str
    mean: np.ndarray
    variance: np.ndarray | None = None
    quantiles: Mapping[float, np.ndarray] = field(default_factory=dict)
    probabilities: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dates = pd.DatetimeIndex(self.dates)
        assets = pd.Index([str(a) for a in self.assets], dtype=object)
        object.__setattr__(self, "dates", dates)
        object.__setattr__(self, "assets", assets)
        if self.kind not in FORECAST_KINDS:
            raise ConfigError(f"Forecast.kind must be one of {FORECAST_KINDS}, got {self.kind!r}")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ConfigError(f"Forecast.horizon must be an integer >= 1, got {self.horizon!r}")
        shape = (len(dates), len(assets))
        object.__setattr__(self, "mean", _wide("mean", self.mean, shape))
        if self.variance is not None:
            var = _wide("variance", self.variance, shape)
            if (var[np.isfinite(var)] < 0).any():
                raise DataError("Forecast.variance has negative values")
            object.__setattr__(self, "variance", var)
        qs = {}
        for level, arr in dict(self.quantiles).items():
            if not 0.0 < float(level) < 1.0:
                raise ConfigError(f"Forecast quantile levels lie in (0, 1), got {level!r}")
            qs[float(level)] = _wide(f"quantiles[{level}]", arr, shape)
        object.__setattr__(self, "quantiles", dict(sorted(qs.items())))
        ps = {str(k): _wide(f"probabilities[{k!r}]", v, shape) for k, v in dict(self.probabilities).items()}
        object.__setattr__(self, "probabilities", ps)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_dates, n_assets)``."""
        return (len(self.dates), len(self.assets))

    def mean_frame(self) -> pd.DataFrame:
        """``mean`` as a wide DataFrame (index: dates, columns: assets)."""
        return pd.DataFrame(self.mean, index=self.dates, columns=self.assets)

    def columns(self) -> dict[str, np.ndarray]:
        """Every numeric output by its long-frame column name (``mean``, ``variance``, ``q0.05``, ``p_up``)."""
        out = {"mean": self.mean}
        if self.variance is not None:
            out["variance"] = self.variance
        for level, arr in self.quantiles.items():
            out[f"q{level:g}"] = arr
        for label, arr in self.probabilities.items():
            out[f"p_{label}"] = arr
        return out

    def to_frame(self, *, dropna: bool = True) -> pd.DataFrame:
        """Long frame: columns ``date``, ``ticker`` and one per output (see :meth:`columns`).

        Rows whose ``mean`` is NaN are dropped unless ``dropna=False``.
        """
        n_d, n_a = self.shape
        frame = pd.DataFrame(
            {
                "date": np.repeat(self.dates.values, n_a),
                "ticker": np.tile(self.assets.values, n_d),
                **{k: v.reshape(-1) for k, v in self.columns().items()},
            }
        )
        if dropna:
            frame = frame[np.isfinite(frame["mean"].to_numpy())].reset_index(drop=True)
        return frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, horizon: int, kind: str) -> Forecast:
        """Inverse of :meth:`to_frame` (assets and dates sorted)."""
        missing = {"date", "ticker", "mean"} - set(frame.columns)
        if missing:
            raise DataError(f"forecast frame lacks column(s) {sorted(missing)}")
        wide = {c: frame.pivot(index="date", columns="ticker", values=c) for c in frame.columns if c not in ("date", "ticker")}
        base = wide["mean"]
        arrays = {c: w.reindex(index=base.index, columns=base.columns).to_numpy(np.float64) for c, w in wide.items()}
        quantiles = {float(c[1:]): a for c, a in arrays.items() if c.startswith("q")}
        probs = {c[2:]: a for c, a in arrays.items() if c.startswith("p_")}
        return cls(base.index, base.columns, horizon, kind, arrays["mean"], arrays.get("variance"), quantiles, probs)

    def take(self, rows: np.ndarray | slice) -> Forecast:
        """The forecast restricted to some date rows."""
        return Forecast(
            self.dates[rows], self.assets, self.horizon, self.kind, self.mean[rows],
            None if self.variance is None else self.variance[rows],
            {k: v[rows] for k, v in self.quantiles.items()},
            {k: v[rows] for k, v in self.probabilities.items()},
        )


@dataclass(frozen=True)
class Capabilities:
    """What a forecaster needs and offers (darts-style); checked up front by :meth:`Forecaster.check`.

    Attributes
    ----------
    fields : tuple of str
        Panel fields it reads.
    min_history : int
        Bars needed before the first prediction and in a training window.
    probabilistic : bool
        Fills ``variance``, ``quantiles`` or ``probabilities``.
    multi_asset : bool
        Predicts many assets at once (a cross-section) rather than one series.
    global_model : bool
        One model is fitted across assets (pooled), not one per asset.
    kind : str
        The :data:`FORECAST_KINDS` value of its forecasts.
    """

    fields: tuple[str, ...] = ("close",)
    min_history: int = 1
    probabilistic: bool = False
    multi_asset: bool = True
    global_model: bool = True
    kind: str = "return"


class Forecaster(Parametrised, ABC):
    """Base class: ``fit(panel, until) -> self``, ``predict(panel, dates) -> Forecast``.

    Subclasses set ``requires`` (a :class:`Capabilities`, or a property when it
    depends on parameters), keep parameters as given, put learned state in
    ``*_`` attributes and may fill ``diagnostics_`` (JSON-able dict) in ``fit``.
    Stochastic forecasters take a ``random_state`` parameter.
    """

    requires: ClassVar[Capabilities] = Capabilities()
    horizon: int = 1

    def check(self, panel: Panel) -> None:
        """Raise :class:`DataError` when ``panel`` cannot serve this forecaster."""
        req = self.requires
        if not isinstance(panel, Panel):
            raise DataError(f"{type(self).__name__} needs a Panel, got {type(panel).__name__}")
        missing = [f for f in req.fields if f not in panel.field_names]
        if missing:
            raise DataError(
                f"{type(self).__name__} needs field(s) {missing}; the panel has {panel.field_names}"
            )
        if panel.n_assets == 0:
            raise DataError(f"{type(self).__name__}: the data has no assets")
        if req.multi_asset is False and panel.n_assets != 1:
            raise DataError(f"{type(self).__name__} forecasts one series; the panel has {panel.n_assets}")

    def _check_fit(self, panel: Panel, until: Any) -> tuple[Panel, pd.Timestamp]:
        """Shared fit prologue: checks and the training view (rows dated <= ``until``)."""
        self.check(panel)
        cut = panel.dates[-1] if until is None else pd.Timestamp(until)
        train = panel.until(cut)
        if train.n_dates < self.requires.min_history:
            raise DataError(
                f"{type(self).__name__} needs at least {self.requires.min_history} bars to fit, "
                f"{train.n_dates} lie at or before {cut.date()}"
            )
        self.fitted_until_ = cut
        return train, cut

    @abstractmethod
    def fit(self, panel: Panel, until: Any = None) -> Forecaster:
        """Learn from rows of ``panel`` (shape ``(n_dates, n_assets)``) dated at or before ``until``."""

    @abstractmethod
    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        """Forecasts at the close of each of ``dates`` (each a date of ``panel``).

        Returns
        -------
        Forecast
            ``mean`` of shape ``(len(dates), panel.n_assets)``.
        """


FORECASTERS: dict[str, type[Forecaster]] = {}


def register_forecaster(kind: str) -> Callable[[type[Forecaster]], type[Forecaster]]:
    """Class decorator: make a forecaster available to study configs as ``kind``."""

    def deco(cls: type[Forecaster]) -> type[Forecaster]:
        if kind in FORECASTERS and FORECASTERS[kind] is not cls:
            raise ConfigError(f"forecaster kind {kind!r} is already registered")
        FORECASTERS[kind] = cls
        cls.kind = kind  # type: ignore[attr-defined]
        return cls

    return deco
