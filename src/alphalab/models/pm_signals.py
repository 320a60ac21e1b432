"""Signal models for the position manager: direction, entry, edge and risk, calibrated.

Features (:func:`pm_features`) are per asset and backward-looking only (returns over
1/5/20 bars, 20-bar volatility, close vs its 20-bar mean, bar range, volume vs its
20-bar mean, and the equal-weight market's 5/20-bar return); each is NaN until its
window is full. Models (:class:`SignalModels`), pooled over assets:

==================  =========================================  ==========================
output              target (:mod:`alphalab.models.trade_labels`)  model
==================  =========================================  ==========================
p_long, p_short     3-class direction (short / neutral / long)  classifier
p_entry_long/short  the side's net edge is positive            classifier per side
edge_long/short     net edge in bps                              regressor per side
risk_market         market-risk event                            classifier
risk_long/short     adverse-move event                           classifier per side
==================  =========================================  ==========================

``kind="lightgbm"`` (LightGBM) or ``kind="mlp"`` (a small scikit-learn MLP on
standardised features). Fitted on train rows whose label window ends by the train
split's last date; every probability is then calibrated (isotonic or Platt) on the
tune split only (:meth:`SignalModels.calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.trade_labels import TradeLabels
from alphalab.portfolio.pm_kernel import N_SIG, SIG

__all__ = ["FEATURES", "SignalModels", "build_signals", "pm_features", "reliability"]

FEATURES: tuple[str, ...] = ("ret1", "ret5", "ret20", "vol20", "ma_gap20", "range1", "volume_ratio20",
                             "mkt_ret5", "mkt_ret20")

_PROB_OUTPUTS = ("p_long", "p_short", "p_entry_long", "p_entry_short", "risk_market", "risk_long", "risk_short")


def _rolling_mean(x: np.ndarray, w: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if x.shape[0] < w:
        return out
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), np.nan_to_num(x)]), axis=0)
    bad = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), ~np.isfinite(x)]), axis=0)
    s = c[w:] - c[:-w]
    nb = bad[w:] - bad[:-w]
    out[w - 1:] = np.where(nb == 0, s / w, np.nan)
    return out


def pm_features(panel: Panel) -> dict[str, np.ndarray]:
    """Backward-looking features, each ``(n_dates, n_assets)`` (row t uses rows <= t only)."""
    close = np.asarray(panel["close"], float)
    high = np.asarray(panel.get("high", close), float)
    low = np.asarray(panel.get("low", close), float)
    vol = panel.get("volume")
    n = close.shape[0]

    def lag_ret(k: int) -> np.ndarray:
        out = np.full_like(close, np.nan)
        if n > k:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k:] = close[k:] / close[:-k] - 1.0
        return out

    r1 = lag_ret(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = {
            "ret1": r1,
            "ret5": lag_ret(5),
            "ret20": lag_ret(20),
            "vol20": np.sqrt(_rolling_mean(r1**2, 20)),
            "ma_gap20": close / _rolling_mean(close, 20) - 1.0,
            "range1": (high - low) / close,
        }
        if vol is not None:
            v = np.asarray(vol, float)
            f["volume_ratio20"] = v / _rolling_mean(v, 20) - 1.0
        else:
            f["volume_ratio20"] = np.zeros_like(close)
    cnt = np.isfinite(r1).sum(axis=1)
    mkt = np.where(cnt > 0, np.nansum(r1, axis=1) / np.maximum(cnt, 1), np.nan)
    mlog = np.log1p(np.nan_to_num(mkt))
    cum = np.concatenate([[0.0], np.cumsum(mlog)])
    for k in (5, 20):
        m = np.full(n, np.nan)
        if n > k:
            m[k:] = np.expm1(cum[k + 1:] - cum[1:-k])
        f[f"mkt_ret{k}"] = np.repeat(m[:, None], close.shape[1], axis=1)
    for k, v in f.items():
        v[~np.isfinite(v)] = np.nan
        f[k] = v
    return f


def _stack(features: dict[str, np.ndarray], rows: slice) -> np.ndarray:
    """``(n_rows * n_assets, n_features)`` in (date, asset) order."""
    return np.stack([features[k][rows].ravel() for k in FEATURES], axis=1)


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Reliability diagram data: mean predicted vs observed frequency per probability bin."""
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    mp, fy, cnt = [], [], []
    for b in range(bins):
        m = idx == b
        cnt.append(int(m.sum()))
        mp.append(float(p[m].mean()) if m.any() else float("nan"))
        fy.append(float(y[m].mean()) if m.any() else float("nan"))
    brier = float(np.mean((p - y) ** 2)) if p.size else float("nan")
    return {"mean_predicted": mp, "observed": fy, "count": cnt, "brier": brier}


@dataclass
class SignalModels:
    """Fit, calibrate and predict every signal of the position manager.

    Parameters
    ----------
    kind : {"lightgbm", "mlp"}
    calibration : {"isotonic", "platt"}
    params : dict
        Extra model parameters (LightGBM: ``n_estimators``, ``num_leaves``, ``learning_rate`` ...;
        MLP: ``hidden_layer_sizes``, ``max_iter`` ...).
    random_state : int
    """

    kind: str = "lightgbm"
    calibration: str = "isotonic"
    params: dict[str, Any] = field(default_factory=dict)
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("lightgbm", "mlp"):
            raise ConfigError(f"signal model kind must be 'lightgbm' or 'mlp', got {self.kind!r}")
        if self.calibration not in ("isotonic", "platt"):
            raise ConfigError(f"calibration must be 'isotonic' or 'platt', got {self.calibration!r}")
        if not isinstance(self.params, dict):
            raise ConfigError(f"signal model params must be a mapping, got {self.params!r}")

    # -- models -------------------------------------------------------------------------------
    def _classifier(self) -> Any:
        if self.kind == "lightgbm":
            import lightgbm as lgb

            p = {"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 50,
                 "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "verbose": -1, "n_jobs": 1,
                 "deterministic": True, "force_row_wise": True, **self.params}
            return lgb.LGBMClassifier(random_state=self.random_state, **p)
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        p = {"hidden_layer_sizes": (16,), "max_iter": 200, "early_stopping": False, **self.params}
        return make_pipeline(StandardScaler(), MLPClassifier(random_state=self.random_state, **p))

    def _regressor(self) -> Any:
        if self.kind == "lightgbm":
            import lightgbm as lgb

            p = {"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 50,
                 "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "verbose": -1, "n_jobs": 1,
                 "deterministic": True, "force_row_wise": True, **self.params}
            return lgb.LGBMRegressor(random_state=self.random_state, **p)
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        p = {"hidden_layer_sizes": (16,), "max_iter": 200, "early_stopping": False, **self.params}
        return make_pipeline(StandardScaler(), MLPRegressor(random_state=self.random_state, **p))

    @staticmethod
    def _targets(lab: TradeLabels) -> dict[str, tuple[str, np.ndarray]]:
        d = lab.as_dict()
        return {
            "direction": ("multi", d["direction"].values),
            "p_entry_long": ("binary", np.where(np.isfinite(d["edge_long"].values),
                                                (d["edge_long"].values > 0).astype(float), np.nan)),
            "p_entry_short": ("binary", np.where(np.isfinite(d["edge_short"].values),
                                                 (d["edge_short"].values > 0).astype(float), np.nan)),
            "edge_long": ("reg", d["edge_long"].values),
            "edge_short": ("reg", d["edge_short"].values),
            "risk_market": ("binary", d["market_risk"].values),
            "risk_long": ("binary", d["adverse_long"].values),
            "risk_short": ("binary", d["adverse_short"].values),
        }

    def fit(self, features: dict[str, np.ndarray], labels: TradeLabels, rows: slice) -> SignalModels:
        """Fit every model on ``rows`` (the train split, labels already purged at its end).

        ``labels`` must be built so that rows of ``rows`` read nothing after the split
        (:meth:`Label.training_mask` or labels of the split's own slice).
        """
        X = _stack(features, rows)
        self.models_: dict[str, Any] = {}
        self.n_train_: dict[str, int] = {}
        for name, (task, y2) in self._targets(labels).items():
            y = y2[rows].ravel()
            ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
            if ok.sum() < 50:
                raise DataError(f"signal model {name!r}: only {int(ok.sum())} train rows with features and a label")
            yy = y[ok].astype(int) if task != "reg" else y[ok]
            if task != "reg" and np.unique(yy).size < 2:
                self.models_[name] = ("constant", float(yy[0]))
            else:
                model = self._regressor() if task == "reg" else self._classifier()
                model.fit(X[ok], yy)
                self.models_[name] = (task, model)
            self.n_train_[name] = int(ok.sum())
        self.calibrators_: dict[str, Any] = {}
        return self

    def _raw(self, X: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        finite = np.isfinite(X).all(axis=1)
        Xf = np.where(finite[:, None], X, 0.0)
        for name, (task, model) in self.models_.items():
            if task == "constant":
                v = np.full(len(X), model)
                if name == "direction":
                    out["p_short"] = (v == 0).astype(float)
                    out["p_long"] = (v == 2).astype(float)
                else:
                    out[name] = v
                continue
            if task == "reg":
                v = model.predict(Xf)
                out[name] = np.where(finite, v, np.nan)
            elif task == "multi":
                pr = model.predict_proba(Xf)
                classes = list(model.classes_)
                zero = np.zeros(len(X))
                out["p_short"] = np.where(finite, pr[:, classes.index(0)] if 0 in classes else zero, np.nan)
                out["p_long"] = np.where(finite, pr[:, classes.index(2)] if 2 in classes else zero, np.nan)
            else:
                pr = model.predict_proba(Xf)
                classes = list(model.classes_)
                out[name] = np.where(finite, pr[:, classes.index(1)] if 1 in classes else 0.0, np.nan)
        return out

    def calibrate(self, features: dict[str, np.ndarray], labels: TradeLabels, rows: slice) -> dict[str, Any]:
        """Fit one calibrator per probability on ``rows`` (the tune split); returns reliability data."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression

        raw = self._raw(_stack(features, rows))
        t = self._targets(labels)
        truth = {
            "p_long": (t["direction"][1][rows].ravel() == 2).astype(float),
            "p_short": (t["direction"][1][rows].ravel() == 0).astype(float),
        }
        dir_ok = np.isfinite(t["direction"][1][rows].ravel())
        for k in ("p_long", "p_short"):
            truth[k][~dir_ok] = np.nan
        for k in ("p_entry_long", "p_entry_short", "risk_market", "risk_long", "risk_short"):
            truth[k] = t[k][1][rows].ravel()
        report = {}
        for k in _PROB_OUTPUTS:
            p, y = raw[k], truth[k]
            ok = np.isfinite(p) & np.isfinite(y)
            if ok.sum() < 20 or np.unique(y[ok]).size < 2:
                self.calibrators_[k] = None
                report[k] = {"before": reliability(p, y), "after": reliability(p, y), "calibrated": False}
                continue
            if self.calibration == "isotonic":
                cal = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p[ok], y[ok])
            else:
                cal = LogisticRegression().fit(p[ok, None], y[ok].astype(int))
            self.calibrators_[k] = cal
            report[k] = {"before": reliability(p, y), "after": reliability(self._apply(k, p), y), "calibrated": True}
        return report

    def _apply(self, k: str, p: np.ndarray) -> np.ndarray:
        cal = self.calibrators_.get(k)
        if cal is None:
            return p
        ok = np.isfinite(p)
        out = np.full_like(p, np.nan)
        if ok.any():
            out[ok] = cal.predict_proba(p[ok, None])[:, 1] if hasattr(cal, "predict_proba") else cal.predict(p[ok])
        return out

    def predict(self, features: dict[str, np.ndarray], rows: slice, n_assets: int) -> dict[str, np.ndarray]:
        """Calibrated outputs for ``rows``, each ``(n_rows, n_assets)``."""
        X = _stack(features, rows)
        raw = self._raw(X)
        out = {}
        for k, v in raw.items():
            out[k] = (self._apply(k, v) if k in _PROB_OUTPUTS else v).reshape(-1, n_assets)
        return out


def build_signals(pred: dict[str, np.ndarray], close: np.ndarray, open_: np.ndarray, liq: np.ndarray) -> np.ndarray:
    """Pack predictions and prices of one split into ``(N_SIG, n_rows, n_assets)``.

    ``ret[t] = open[t + 2] / open[t + 1] - 1`` is read from the split's own rows (NaN in its
    last two rows), so a split's signals never read a later split.
    """
    n, a = close.shape
    sig = np.full((N_SIG, n, a), np.nan)
    for k in ("p_long", "p_short", "p_entry_long", "p_entry_short", "edge_long", "edge_short", "risk_market",
              "risk_long", "risk_short"):
        sig[SIG[k]] = pred[k]
    sig[SIG["price"]] = close
    sig[SIG["liq"]] = liq
    if n > 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            sig[SIG["ret"]][: n - 2] = open_[2:] / open_[1:-1] - 1.0
    return sig
