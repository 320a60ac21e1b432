"""A cross-sectional LightGBM forecaster (Qlib's Alpha158 + LightGBM baseline, made honest).

One gradient-boosted tree model is fitted on every (date, asset) row of the
training window: features are panel fields (by default the Alpha158-like set,
computed on the fly when the study did not add them), the target is the
forward return over ``horizon`` bars ranked across assets per date (so the
model learns who beats whom, not where the market goes). Rows whose label
window crosses ``until`` are dropped by :func:`alphalab.models.labels.training_mask`.
The prediction at date ``t`` uses the features of row ``t`` only.

Determinism: ``deterministic=True, force_row_wise=True, num_threads=1`` and a
``seed`` from ``random_state`` (0 when unset): same data and parameters give
bit-identical forecasts in any executor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.forecast import Capabilities, Forecast, Forecaster, register_forecaster
from alphalab.models.labels import make_label
from alphalab.portfolio.base import decision_rows
from alphalab.portfolio.params import check_int as _int

__all__ = ["LightGBMForecaster", "feature_names", "feature_tensor"]

_BASE = ("open", "high", "low", "close", "volume")


def feature_names(features: str | Sequence[str]) -> list[str]:
    """Field names of a feature spec: ``"alpha158"`` or an explicit list of panel fields."""
    if isinstance(features, str):
        if features != "alpha158":
            raise ConfigError(f"features: only the set name 'alpha158' or a list of fields is accepted, got {features!r}")
        from alphalab.features.alphas.alpha158 import ALPHA158

        return list(ALPHA158)
    names = list(features)
    if not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"features must be 'alpha158' or a non-empty list of field names, got {features!r}")
    return names


def feature_tensor(panel: Panel, names: Sequence[str], rows: np.ndarray | slice) -> np.ndarray:
    """Features of some rows as float32, shape ``(n_rows, n_assets, n_features)``.

    Fields the panel lacks are computed from OHLCV with the Alpha158 formulas
    (causal: a row's features read rows up to it only).
    """
    missing = [n for n in names if n not in panel.field_names]
    extra: dict[str, np.ndarray] = {}
    if missing:
        from alphalab.features.alphas.alpha158 import ALPHA158, compute_alpha158

        unknown = [n for n in missing if n not in ALPHA158]
        if unknown:
            raise DataError(f"feature field(s) {unknown[:5]} are neither panel fields nor Alpha158 names")
        extra, skipped = compute_alpha158(panel, names=missing)
        if skipped:
            raise DataError(f"Alpha158 feature(s) could not be computed: {dict(list(skipped.items())[:3])}")
    cols = [np.asarray(panel[n] if n in panel.field_names else extra[n])[rows] for n in names]
    out = np.stack(cols, axis=-1).astype(np.float32)
    out[~np.isfinite(out)] = np.nan
    return out


def _pos(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) <= 1e6:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


@register_forecaster("lightgbm")
class LightGBMForecaster(Forecaster):
    """Pooled cross-sectional LightGBM on panel features; forecasts a rank score.

    Parameters
    ----------
    horizon : int, default 5
        Bars of the forward return the model is trained on.
    features : "alpha158" or list of str, default "alpha158"
    num_leaves, learning_rate, n_estimators, min_child_samples : LightGBM parameters
    subsample, colsample_bytree : float in (0, 1]
        Row and feature sampling (``bagging_freq=1`` when ``subsample < 1``).
    reg_lambda : float, default 1.0
    train_window : int, optional
        Only the last ``train_window`` bars before ``until`` train (default all).
    date_stride : int, default 1
        Train on every ``date_stride``-th date (overlapping labels are highly
        redundant; 5 with ``horizon=5`` keeps the windows almost disjoint).
    random_state : int, optional
        LightGBM ``seed``; 0 when unset.

    Attributes
    ----------
    model_ : lightgbm.Booster
    diagnostics_ : dict
        ``n_train_rows``, ``n_features``, ``training_curve`` (train l2 per
        iteration), ``feature_importance`` (top 20 by gain).
    """

    def __init__(
        self,
        horizon: int = 5,
        features: str | Sequence[str] = "alpha158",
        num_leaves: int = 64,
        learning_rate: float = 0.05,
        n_estimators: int = 200,
        min_child_samples: int = 200,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        train_window: int | None = None,
        date_stride: int = 1,
        random_state: int | None = None,
    ) -> None:
        _int("horizon", horizon, 1)
        feature_names(features)
        _int("num_leaves", num_leaves, 2)
        _pos("learning_rate", learning_rate)
        _int("n_estimators", n_estimators, 1)
        _int("min_child_samples", min_child_samples, 1)
        for name, v in (("subsample", subsample), ("colsample_bytree", colsample_bytree)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < float(v) <= 1:
                raise ConfigError(f"{name} must lie in (0, 1], got {v!r}")
        if isinstance(reg_lambda, bool) or not isinstance(reg_lambda, (int, float)) or reg_lambda < 0:
            raise ConfigError(f"reg_lambda must be a number >= 0, got {reg_lambda!r}")
        _int("train_window", train_window, 20, allow_none=True)
        _int("date_stride", date_stride, 1)
        _int("random_state", random_state, 0, allow_none=True)
        self.horizon = horizon
        self.features = features
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.train_window = train_window
        self.date_stride = date_stride
        self.random_state = random_state

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        from alphalab.features.alphas.alpha158 import ALPHA158

        names = feature_names(self.features)
        # Alpha158 names absent from the panel are computed from OHLCV; other names must be fields.
        own = [n for n in names if n not in ALPHA158]
        base = _BASE if len(own) < len(names) else ("close",)
        fields = tuple(dict.fromkeys((*base, *own)))
        return Capabilities(fields=fields, min_history=int(self.horizon) + 61, kind="score")

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "regression",
            "num_leaves": int(self.num_leaves),
            "learning_rate": float(self.learning_rate),
            "min_data_in_leaf": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": 1 if float(self.subsample) < 1 else 0,
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "seed": 0 if self.random_state is None else int(self.random_state),
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }

    def fit(self, panel: Panel, until: Any = None) -> LightGBMForecaster:
        """Fit on rows dated at or before ``until`` whose label window ends by ``until``."""
        import lightgbm as lgb

        train, cut = self._check_fit(panel, until)
        h = int(self.horizon)
        label = make_label(train, "return", h, cs_rank=True)
        keep = label.training_mask(cut)
        rows = np.arange(train.n_dates)
        if self.train_window is not None:
            keep[: max(0, train.n_dates - int(self.train_window))] = False
        stride = int(self.date_stride)
        if stride > 1:
            # count back from the last usable row so the newest labels always train
            last = int(np.flatnonzero(keep.any(axis=1))[-1]) if keep.any() else 0
            keep[(last - rows) % stride != 0] = False
        used = np.flatnonzero(keep.any(axis=1))
        names = feature_names(self.features)
        if used.size == 0:
            raise DataError(f"lightgbm: no training rows with a complete {h}-bar label by {cut.date()}")
        X = feature_tensor(train, names, used)  # (n_used, n_assets, n_features)
        m = keep[used]
        X, y = X[m], label.values[used][m]
        informative = np.isfinite(X).any(axis=1)
        X, y = X[informative], y[informative]
        if len(y) < 2 * int(self.min_child_samples):
            raise DataError(f"lightgbm: {len(y)} training rows by {cut.date()} are too few for min_child_samples={self.min_child_samples}")
        data = lgb.Dataset(X, y, feature_name=[f"f{i}" for i in range(len(names))], free_raw_data=True,
                           params={"verbosity": -1, "num_threads": 1, "deterministic": True})
        curve: dict[str, Any] = {}
        self.model_ = lgb.train(self._lgb_params(), data, num_boost_round=int(self.n_estimators),
                                valid_sets=[data], valid_names=["train"],
                                callbacks=[lgb.record_evaluation(curve)])
        gain = self.model_.feature_importance("gain")
        top = np.argsort(-gain, kind="stable")[:20]
        self.feature_names_ = names
        self.diagnostics_ = {
            "n_train_rows": len(y),
            "n_train_dates": int(used.size),
            "n_features": len(names),
            "training_curve": [float(v) for v in curve.get("train", {}).get("l2", [])],
            "feature_importance": {names[i]: float(gain[i]) for i in top},
        }
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        """Rank scores ``(len(dates), n_assets)``; NaN where a row has no finite feature."""
        if not hasattr(self, "model_"):
            raise ConfigError("LightGBMForecaster.predict before fit")
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        X = feature_tensor(panel, self.feature_names_, rows)
        n_d, n_a, n_f = X.shape
        flat = X.reshape(n_d * n_a, n_f)
        ok = np.isfinite(flat).any(axis=1) & np.isfinite(panel["close"][rows]).reshape(-1)
        pred = np.full(n_d * n_a, np.nan)
        if ok.any():
            pred[ok] = self.model_.predict(flat[ok], num_threads=1)
        return Forecast(dates, panel.assets, int(self.horizon), "score", pred.reshape(n_d, n_a))
