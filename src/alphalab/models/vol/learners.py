"""Learned variance forecasters: LSTM / GARCH-informed nets (GINN-0, GINN), DeepAR-style RNN, LightGBM.

One pooled model per fit over every (date, asset) sample of the training window
(the DeepAR net adds a stock embedding). Inputs at row ``t`` (all from rows
``<= t``; :func:`build_inputs`):

* ``returns``: the last ``lookback`` daily returns (``ret_ref`` where present);
* ``garch``: the compiled AR(1)-GARCH(1,1) one-step forecast at ``t``
  (90-day window, refitted every ``garch_refit_every`` rows, filtered between);
* ``alphas``: Alpha101 values ranked across stocks into ``[-1, 1]``;
* ``calendar``: weekday and month dummies of ``t``.

Target: the founding study's ``sigma^2_{t+1} = (r_{t+1} - mu_{t+1})^2`` (AR(1) on the
previous 90 days), in percent squared, optionally ``log1p``-transformed. Rows
whose target crosses ``until`` never train; every scaler (feature means and
standard deviations, the return scale) is fitted on the training rows only.
``revin=True`` divides each sample's return window by its own standard
deviation ``s`` and the targets by ``s^2``, and multiplies the output back
(reversible instance normalisation).

GINN loss (:func:`ginn_loss`): ``lam * MSE(pred, target) + (1 - lam) * MSE(pred, garch)``;
``lam = 1`` is the plain LSTM, ``lam = 0`` (GINN-0) learns only the GARCH forecast.

``pooling: per_stock`` (GINN, LightGBM) fits one model per asset instead
(:mod:`.pooling`); ``tune`` (GINN) chooses ``lam``, ``lr``, ``hidden`` and
``lookback`` with Optuna on the inner validation block of each training window
(:mod:`.tuning`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import TRANSIENT_BUFFER, Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features.catalogues import check_alpha_names
from alphalab.models.forecast import Capabilities, Forecast, Forecaster, register_forecaster
from alphalab.models.labels import training_mask
from alphalab.models.vol import targets as T
from alphalab.models.vol.forecasters import vol_forecast
from alphalab.models.vol.pooling import check_pooling, fit_per_stock, predict_per_stock
from alphalab.models.vol.tuning import check_tune, tune_fit
from alphalab.portfolio.base import decision_rows
from alphalab.portfolio.params import check_int as _int

__all__ = ["DeepARForecaster", "GINNForecaster", "LightGBMVolForecaster", "build_inputs", "ginn_loss"]

INPUTS = ("returns", "garch", "alphas", "calendar")
_PCT2 = 1e4  # decimal variance -> percent squared
_CACHE: OrderedDict[tuple[Any, ...], tuple[Panel, np.ndarray]] = OrderedDict()
_PREFIX: dict[tuple[Any, ...], tuple[tuple[Any, ...], int]] = {}
_HASHES: dict[int, tuple[Panel, str]] = {}
#: The inputs of the last ``_Samples`` built: ``(key, panel, data, target)``.
_SAMPLES_LAST: dict[str, tuple[Any, ...]] = {}


def _hash(panel: Panel) -> str:
    """``panel.data_hash()``, remembered for the last few panel objects (per-stock models ask once per stock)."""
    hit = _HASHES.get(id(panel))
    if hit is not None and hit[0] is panel:
        return hit[1]
    h = panel.data_hash()
    _HASHES[id(panel)] = (panel, h)
    while len(_HASHES) > 8:
        _HASHES.pop(next(iter(_HASHES)))
    return h


def _lookup(what: tuple[Any, ...], panel: Panel) -> np.ndarray | None:
    """The cached array of ``panel`` (its own, or the first rows of a longer panel's with the same data)."""
    h = _hash(panel)
    key = (*what, h)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key][1]
    hit = _PREFIX.get(key)
    if hit is not None and hit[0] in _CACHE:
        return _CACHE[hit[0]][1][: hit[1]]
    n = panel.n_dates
    for k, (long, val) in reversed(_CACHE.items()):
        # a transient panel's buffer now holds other data than its array was computed on
        if long.meta.get(TRANSIENT_BUFFER):
            continue
        if (k[:-1] == what and long.n_dates > n and long.assets.equals(panel.assets)
                and long.dates[:n].equals(panel.dates) and long.iloc_dates(slice(0, n)).data_hash() == h):
            if len(_PREFIX) > 4096:  # small entries, but a long process should not grow them forever
                _PREFIX.clear()
            _PREFIX[key] = (k, n)
            _CACHE.move_to_end(k)
            return val[:n]
    return None


def _causal(what: tuple[Any, ...], panel: Panel, upto: int | None, make_on: Any) -> np.ndarray:
    """Rows ``< upto`` of a causal array of ``panel`` (all rows when ``upto`` is None).

    Served from the cache for ``panel`` or, failing that, for its first ``upto`` rows (a
    copy that differs only after them, e.g. the leakage guard's); otherwise computed on
    the whole ``panel`` (so the next blocks of the same panel are served).
    """
    if upto is not None and upto < panel.n_dates:
        for p in (panel, panel.iloc_dates(slice(0, upto))):
            val = _lookup(what, p)
            if val is not None:
                return val[:upto]
    return _cached(what, panel, lambda: make_on(panel))[:upto]


def _cached(what: tuple[Any, ...], panel: Panel, make: Any) -> np.ndarray:
    """Causal arrays of a panel, reused across folds, models and the analysis's blocks.

    The arrays are causal (row ``t`` reads rows ``<= t`` only, the rolling GARCH's refit
    times counted from row 0), so the array of a panel whose data is the first ``n`` rows
    of a cached panel's is the first ``n`` rows of the cached array: a training window
    (the panel cut at ``until``) reuses what was computed on the whole panel instead of
    recomputing it over the full history for every fold. The prefix is checked by the
    data hash of the cached panel's first ``n`` rows; different data (a perturbed copy)
    is computed afresh.
    """
    val = _lookup(what, panel)
    if val is not None:
        return val
    val = make()
    _CACHE[(*what, _hash(panel))] = (panel, val)
    # 64 entries: the study's folds, the analysis's blocks, tuning cuts and the leakage guard's
    # perturbed copies each bring a panel; a smaller cache thrashed and recomputed per model
    while len(_CACHE) > 64:
        _CACHE.popitem(last=False)
    return val


def garch_feature(panel: Panel, refit_every: int = 5, upto: int | None = None) -> np.ndarray:
    """Compiled AR(1)-GARCH(1,1) one-step variance forecast at each row (decimal), ``(n_dates, n_assets)``
    (the first ``upto`` rows when given)."""
    from alphalab.models.vol.rolling import rolling_garch_panel

    def make(p: Panel) -> np.ndarray:
        var, _, _ = rolling_garch_panel(T.returns(p), window=90, refit_every=int(refit_every), method="newton")
        return var

    return _causal(("garch", int(refit_every)), panel, upto, make)


def alpha_feature(panel: Panel, names: Sequence[str] | None, upto: int | None = None) -> np.ndarray:
    """Alpha values ranked across stocks into ``[-1, 1]``, ``(n_dates, n_assets, n_alphas)``
    (the first ``upto`` rows when given).

    ``names``: alpha names (``alpha001``, ``gtja014``) and/or whole catalogues
    (``all_alpha101``, ``all_gtja191``); default all Alpha101 alphas the panel allows.
    """
    from alphalab.features.catalogues import compute_alphas
    from alphalab.features.transforms import cs_rank

    def make(p: Panel) -> np.ndarray:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values, _ = compute_alphas(p, names)
        if not values:
            raise DataError("no alpha could be computed on this panel (needs open, high, low, close, volume)")
        cols = [cs_rank(np.where(np.isfinite(v), v, np.nan), scale="pm1") for _, v in sorted(values.items())]
        return np.stack(cols, axis=-1)

    return _causal(("alphas", None if names is None else tuple(names)), panel, upto, make)


def build_inputs(panel: Panel, inputs: Sequence[str], lookback: int, alphas: Sequence[str] | None = None,
                 garch_refit_every: int = 5, upto: int | None = None,
                 inputs_from: Any = None) -> dict[str, np.ndarray]:
    """Causal model inputs of every row (of the first ``upto`` rows when given; nothing later is read).

    ``inputs_from`` (a date): the GARCH and alpha inputs are computed from that date on (NaN
    before it, so those rows never train): a fixed calendar anchor, the same for every fold
    and forecast, that spares recomputing them over decades of history the model never uses.

    Returns
    -------
    dict
        ``r``: returns ``(n_dates, n_assets)``; ``static``: ``(n_dates, n_assets, k)``
        (GARCH forecast in percent squared, alphas, calendar dummies; ``k`` may be 0);
        ``garch``: GARCH forecast in percent squared ``(n_dates, n_assets)`` (always,
        it is the GINN's second target).
    """
    r = T.returns(panel)[:upto]
    n, m = r.shape
    a0 = 0 if inputs_from is None else int(panel.dates.searchsorted(pd.Timestamp(inputs_from), "left"))
    a0 = min(a0, n)
    sub = panel if a0 == 0 else panel.iloc_dates(slice(a0, panel.n_dates))
    sub_upto = None if upto is None else upto - a0

    def pad(a: np.ndarray) -> np.ndarray:  # rows before the anchor: no input
        if a0 == 0:
            return a
        return np.concatenate([np.full((a0, *a.shape[1:]), np.nan), a], axis=0)

    g = pad(garch_feature(sub, garch_refit_every, sub_upto) if n > a0 else np.zeros((0, m))) * _PCT2
    parts = []
    if "garch" in inputs:
        parts.append(g[..., None])
    if "alphas" in inputs:
        parts.append(pad(alpha_feature(sub, alphas, sub_upto)) if n > a0 else np.full((n, m, 1), np.nan))
    if "calendar" in inputs:
        from alphalab.features.transforms import calendar_dummies

        cal = calendar_dummies(panel.dates[:upto]).to_numpy()
        parts.append(np.broadcast_to(cal[:, None, :], (n, m, cal.shape[1])))
    static = np.concatenate(parts, axis=-1) if parts else np.zeros((n, m, 0))
    return {"r": r, "static": static.astype(np.float64), "garch": g}


def windows(r: np.ndarray, rows: np.ndarray, cols: np.ndarray, lookback: int) -> np.ndarray:
    """Return windows ``r[t - lookback + 1 .. t, j]`` for each sample ``(rows[i], cols[i])``, shape ``(n, lookback)``.

    Missing returns (ex-dates, gaps, rows before the start) are 0.
    """
    pad = np.vstack([np.zeros((lookback - 1, r.shape[1])), np.nan_to_num(r, nan=0.0)])
    idx = rows[:, None] + np.arange(lookback)[None, :]  # padded row t + lookback - 1 is row t
    return pad[idx, cols[:, None]]


def ginn_loss(pred: Any, target: Any, garch: Any, lam: float) -> Any:
    """``lam * MSE(pred, target) + (1 - lam) * MSE(pred, garch)`` (torch tensors or numpy arrays)."""
    return lam * ((pred - target) ** 2).mean() + (1.0 - lam) * ((pred - garch) ** 2).mean()


def _check_inputs(inputs: Any) -> None:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence) or not inputs:
        raise ConfigError(f"inputs must be a non-empty list from {list(INPUTS)}, got {inputs!r}")
    bad = [i for i in inputs if i not in INPUTS]
    if bad:
        raise ConfigError(f"inputs: unknown input(s) {bad}; choose from {list(INPUTS)}")


def _check_date(name: str, value: Any) -> None:
    if value is None:
        return
    import datetime as dt

    if isinstance(value, (dt.date, pd.Timestamp)):
        return
    try:
        ok = isinstance(value, str) and not pd.isna(pd.Timestamp(value))
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD) or null, got {value!r}")


def _num(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= float(value) <= hi:
        raise ConfigError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")


class _Samples:
    """Training / prediction samples of one fit: positions, inputs and scalers (fitted on training rows)."""

    def __init__(self, est: Any, panel: Panel, upto: int | None = None) -> None:
        self.est = est
        alphas = None if est.alphas is None else tuple(est.alphas)
        inputs_from = getattr(est, "inputs_from", None)
        key = (upto, tuple(est.inputs), int(est.lookback), alphas, int(est.garch_refit_every), str(inputs_from))
        last = _SAMPLES_LAST.get("entry")
        if last is not None and last[0] == key and last[1] is panel:
            # the per-stock models of one forecast read the same inputs of the same panel object:
            # build them once, not once per stock (a panel is not changed while it is forecast)
            self.data, self.target = last[2], last[3]
            return
        self.data = build_inputs(panel, est.inputs, int(est.lookback), alphas, int(est.garch_refit_every), upto,
                                 inputs_from)
        self.target = T.forward_variance(T.ar1_demeaned_square(self.data["r"]), 1) * _PCT2
        _SAMPLES_LAST["entry"] = (key, panel, self.data, self.target)

    def train_positions(self, dates: pd.DatetimeIndex, until: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        est = self.est
        keep = training_mask(self.target, dates, 1, until)
        keep &= np.isfinite(self.data["garch"])
        keep &= np.isfinite(self.data["static"]).all(axis=2)
        keep[: int(est.lookback)] = False
        only = getattr(est, "only_asset_", None)
        if only is not None:  # a per-stock model (see .pooling) trains on its own asset's rows
            keep[:, np.arange(keep.shape[1]) != only] = False
        if est.train_window is not None:
            keep[: max(0, len(dates) - int(est.train_window))] = False
        rows, cols = np.nonzero(keep)
        if rows.size > int(est.max_samples):
            # keep the newest samples (a deterministic, time-ordered cut)
            order = np.lexsort((cols, rows))[-int(est.max_samples):]
            rows, cols = rows[order], cols[order]
        if rows.size < 50:
            raise DataError(f"{type(est).__name__}: {rows.size} training samples by {until.date()}, need >= 50")
        return rows, cols

    def arrays(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, ...]:
        seq = windows(self.data["r"], rows, cols, int(self.est.lookback)) * 100.0
        static = self.data["static"][rows, cols]
        return seq, static, self.target[rows, cols], self.data["garch"][rows, cols]


def _target(panel: Panel) -> np.ndarray:
    """The training target of every row of ``panel`` in percent squared (NaN past its end)."""
    return T.forward_variance(T.ar1_demeaned_square(T.returns(panel)), 1) * _PCT2


def _fit_variant(est: Any, panel: Panel, until: Any) -> bool:
    """Fit ``est`` per stock or tuned when asked (True), else leave the plain pooled fit to it (False)."""
    for attr in ("per_stock_", "tuned_"):  # a refit forgets the previous fold's variant
        est.__dict__.pop(attr, None)
    if getattr(est, "pooling", "pooled") == "per_stock":
        est.per_stock_, est.diagnostics_ = fit_per_stock(est, panel, until)
    elif getattr(est, "tune", None) is not None:
        est.tuned_, tuning = tune_fit(est, panel, until, _target)
        est.diagnostics_ = {**getattr(est.tuned_, "diagnostics_", {}), "tuning": tuning}
    else:
        return False
    est.assets_ = list(panel.assets)
    est.fitted_until_ = panel.dates[-1] if until is None else pd.Timestamp(until)
    return True


def _predict_variant(est: Any, panel: Panel, dates: pd.DatetimeIndex) -> Forecast | None:
    """The per-stock or tuned forecast, or None for a plain fit."""
    if "per_stock_" in est.__dict__:
        if list(panel.assets) != est.assets_:
            raise DataError(f"{type(est).__name__} per_stock: the panel's assets differ from those it was fitted on")
        return predict_per_stock(est.per_stock_, panel, dates)
    if "tuned_" in est.__dict__:
        return est.tuned_.predict(panel, dates)
    return None


def _forecast_cells(est: Any, rows: np.ndarray, n_assets: int) -> tuple[np.ndarray, np.ndarray]:
    """``(row, asset)`` cells a model forecasts, date-major: every asset, or a per-stock model's own."""
    only = getattr(est, "only_asset_", None)
    cols = np.arange(n_assets) if only is None else np.array([int(only)])
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    return rr.ravel(), cc.ravel()


def _to_grid(values: np.ndarray, rows: np.ndarray, cc: np.ndarray, n_assets: int) -> np.ndarray:
    """Date-major cell values back onto a ``(len(rows), n_assets)`` grid (NaN where not forecast)."""
    out = np.full((len(rows), n_assets), np.nan)
    out[np.repeat(np.arange(len(rows)), cc.size // max(len(rows), 1)), cc] = values
    return out


class _TorchVol(Forecaster):
    """Shared plumbing of the torch forecasters (seeding, scalers, training)."""

    def _train_common(self, panel: Panel, until: Any) -> tuple[_Samples, np.ndarray, np.ndarray, pd.Timestamp]:
        train, cut = self._check_fit(panel, until)
        samples = _Samples(self, train)
        rows, cols = samples.train_positions(train.dates, cut)
        return samples, rows, cols, cut

    def _scalers(self, static: np.ndarray) -> None:
        self.static_mean_ = static.mean(axis=0) if static.shape[1] else np.zeros(0)
        sd = static.std(axis=0) if static.shape[1] else np.zeros(0)
        self.static_sd_ = np.where(sd > 1e-12, sd, 1.0)

    def _scale_static(self, static: np.ndarray) -> np.ndarray:
        return (static - self.static_mean_) / self.static_sd_

    def _seed(self) -> int:
        return 0 if self.random_state is None else int(self.random_state)


def _revin_scale(seq: np.ndarray) -> np.ndarray:
    s = seq.std(axis=1)
    return np.where(s > 1e-8, s, 1.0)


@register_forecaster("ginn")
class GINNForecaster(_TorchVol):
    """LSTM variance forecaster with the GARCH-informed loss (``lam = 1``: plain LSTM; ``0``: GINN-0).

    Parameters
    ----------
    lam : float in [0, 1], default 0.5
        Weight of the realised target against the GARCH forecast in the loss.
    inputs : list, default ["returns", "garch", "alphas", "calendar"]
        Ablation switches (``returns`` is always used: the sequence).
    lookback : int, default 90
    hidden : int, default 16
    lr : float, default 1e-3
    epochs : int, default 20
    batch_size : int, default 256
    patience : int, default 4
        Early stopping on the last 20 % of the training window.
    revin : bool, default False
    log1p : bool, default False
        Train on ``log1p`` of the (percent-squared) variances.
    alphas : list of str, optional
        Alpha101 names (default: all the panel allows).
    garch_refit_every : int, default 5
    train_window : int, optional
        Rows of history before ``until`` that train (default all).
    max_samples : int, default 20000
        Newest samples kept (pooled over assets; per asset with ``pooling: per_stock``).
    pooling : {"pooled", "per_stock"}, default "pooled"
        One model over all assets, or one per asset (:mod:`.pooling`).
    inputs_from : date, optional
        The GARCH and alpha inputs are computed from this date on (see :func:`build_inputs`).
    tune : dict, optional
        Optuna search of ``lam``, ``lr``, ``hidden``, ``lookback`` on the inner validation
        block of each training window (:mod:`.tuning`); the chosen values are refitted on
        the whole window.
    random_state : int, optional

    Attributes
    ----------
    diagnostics_ : dict
        ``training_curve``, ``val_curve``, ``best_epoch``, ``n_samples``; with ``tune``
        also ``tuning`` (every trial: params and inner-validation loss, the choice).
    """

    def __init__(self, lam: float = 0.5, inputs: Sequence[str] = ("returns", "garch", "alphas", "calendar"),
                 lookback: int = 90, hidden: int = 16, lr: float = 1e-3, epochs: int = 20, batch_size: int = 256,
                 patience: int = 4, revin: bool = False, log1p: bool = False, alphas: Sequence[str] | None = None,
                 garch_refit_every: int = 5, train_window: int | None = None, max_samples: int = 20000,
                 pooling: str = "pooled", tune: dict[str, Any] | None = None, inputs_from: str | None = None,
                 random_state: int | None = None) -> None:
        _num("lam", lam, 0.0, 1.0)
        _check_inputs(inputs)
        _int("lookback", lookback, 5)
        _int("hidden", hidden, 1)
        _num("lr", lr, 1e-6, 1.0)
        _int("epochs", epochs, 1)
        _int("batch_size", batch_size, 1)
        _int("patience", patience, 0)
        _int("garch_refit_every", garch_refit_every, 1)
        _int("train_window", train_window, 100, allow_none=True)
        _int("max_samples", max_samples, 100)
        _int("random_state", random_state, 0, allow_none=True)
        for name, v in (("revin", revin), ("log1p", log1p)):
            if not isinstance(v, bool):
                raise ConfigError(f"{name} must be true or false, got {v!r}")
        self.lam = lam
        self.inputs = inputs
        self.lookback = lookback
        self.hidden = hidden
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.revin = revin
        self.log1p = log1p
        self.alphas = check_alpha_names(alphas)
        self.garch_refit_every = garch_refit_every
        self.train_window = train_window
        self.max_samples = max_samples
        check_tune(tune)
        check_pooling(pooling, tune)
        _check_date("inputs_from", inputs_from)
        self.pooling = pooling
        self.tune = tune
        self.inputs_from = inputs_from
        self.random_state = random_state

    horizon = 1

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        fields = ("open", "high", "low", "close", "volume") if "alphas" in self.inputs else ("close",)
        return Capabilities(fields=fields, min_history=int(self.lookback) + 150, probabilistic=True, kind="volatility")

    def _to_model_space(self, v: np.ndarray, s2: np.ndarray) -> np.ndarray:
        x = v / s2
        return np.log1p(x) if self.log1p else x

    def _from_model_space(self, x: np.ndarray, s2: np.ndarray) -> np.ndarray:
        v = np.expm1(x) if self.log1p else x
        return np.maximum(v, 0.0) * s2

    def _net(self, n_static: int) -> Any:
        return _torch_class("_LSTMNet")(int(self.hidden), n_static)

    def _prepare(self, seq: np.ndarray, static: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = _revin_scale(seq) if self.revin else np.full(seq.shape[0], self.seq_scale_)
        return seq / s[:, None], self._scale_static(static), s**2

    def fit(self, panel: Panel, until: Any = None) -> GINNForecaster:
        import torch

        from alphalab.models.torch_utils import (
            TrainConfig,
            batches,
            configure_torch,
            inner_split,
            train,
        )

        if _fit_variant(self, panel, until):
            return self
        samples, rows, cols, _ = self._train_common(panel, until)
        seq, static, y, g = samples.arrays(rows, cols)
        self.seq_scale_ = float(seq.std()) if seq.std() > 0 else 1.0  # training rows only
        self._scalers(static)
        xs, xf, s2 = self._prepare(seq, static)
        yt, gt = self._to_model_space(y, s2), self._to_model_space(g, s2)
        order = np.lexsort((cols, rows))  # time order for the end-of-window validation block
        tr, va = inner_split(len(order), 0.2, gap=int(panel.n_assets), min_val=10)
        configure_torch(self._seed())
        self.net_ = self._net(xf.shape[1])
        tens = [torch.as_tensor(a[order], dtype=torch.float32) for a in (xs, xf, yt, gt)]
        lam = float(self.lam)

        def loss_fn(model: Any, batch: Any) -> Any:
            a, b, yy, gg = batch
            return ginn_loss(model(a, b), yy, gg, lam)

        cfg = TrainConfig(max_epochs=int(self.epochs), lr=float(self.lr), patience=int(self.patience),
                          seed=self._seed(), progress=False, grad_clip=1.0)
        result = train(self.net_, loss_fn, batches(*[t[tr] for t in tens], batch_size=int(self.batch_size)),
                       batches(*[t[va] for t in tens], batch_size=4096, shuffle=False), cfg,
                       description=f"ginn lam={lam}")
        self.n_static_ = xf.shape[1]
        self.diagnostics_ = {**result.diagnostics(), "n_samples": len(order), "n_static": int(xf.shape[1])}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        import torch

        variant = _predict_variant(self, panel, pd.DatetimeIndex(dates))
        if variant is not None:
            return variant
        if not hasattr(self, "net_"):
            raise ConfigError(f"{type(self).__name__}.predict before fit")
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        # rows after the last decision date are never read (see build_inputs' upto)
        samples = _Samples(self, panel, int(rows.max()) + 1)
        rr, cc = _forecast_cells(self, rows, panel.n_assets)
        seq, static, _, _ = samples.arrays(rr, cc)
        ok = np.isfinite(static).all(axis=1) & np.isfinite(samples.data["r"][rr, cc]) & (rr >= int(self.lookback))
        out = np.full(rr.size, np.nan)
        # one batch per date: a float32 batch's numbers may depend on its size, which
        # must not let later dates' data (their missing values) reach an earlier forecast
        for d in range(len(rows)):
            sel = np.flatnonzero(ok & (rr == rows[d]))
            if sel.size == 0:
                continue
            xs, xf, s2 = self._prepare(seq[sel], np.nan_to_num(static[sel]))
            with torch.no_grad():
                pred = self.net_(torch.as_tensor(xs, dtype=torch.float32),
                                 torch.as_tensor(xf, dtype=torch.float32)).double().numpy()
            out[sel] = self._from_model_space(pred, s2) / _PCT2
        return vol_forecast(dates, panel.assets, 1, _to_grid(out, rows, cc, panel.n_assets))


@register_forecaster("deepar")
class DeepARForecaster(_TorchVol):
    """A compact DeepAR-style probabilistic RNN: a global GRU over every stock with a stock embedding.

    At row ``t`` the GRU reads the last ``lookback`` returns (scaled by each
    window's own scale, as DeepAR does) and outputs the distribution of
    ``r_{t+1}``: Gaussian ``(mu, sigma)`` or Student-t ``(mu, sigma, nu)``,
    trained by negative log-likelihood. The forecast variance is ``sigma^2``
    (``sigma^2 nu / (nu - 2)`` for t); quantiles at ``levels`` of the return
    are reported for interval calibration and VaR.

    Parameters
    ----------
    likelihood : {"gaussian", "t"}
    lookback, hidden, embedding, lr, epochs, batch_size, patience, train_window, max_samples, random_state
    levels : list of float
        Return quantiles reported (default 0.01, 0.05, 0.1, 0.9, 0.95, 0.99).
    """

    def __init__(self, likelihood: str = "gaussian", lookback: int = 60, hidden: int = 16, embedding: int = 4,
                 lr: float = 1e-3, epochs: int = 20, batch_size: int = 256, patience: int = 4,
                 train_window: int | None = None, max_samples: int = 20000,
                 levels: Sequence[float] = (0.01, 0.05, 0.1, 0.9, 0.95, 0.99),
                 random_state: int | None = None) -> None:
        if likelihood not in ("gaussian", "t"):
            raise ConfigError(f"likelihood must be 'gaussian' or 't', got {likelihood!r}")
        _int("lookback", lookback, 5)
        _int("hidden", hidden, 1)
        _int("embedding", embedding, 1)
        _num("lr", lr, 1e-6, 1.0)
        _int("epochs", epochs, 1)
        _int("batch_size", batch_size, 1)
        _int("patience", patience, 0)
        _int("train_window", train_window, 100, allow_none=True)
        _int("max_samples", max_samples, 100)
        _int("random_state", random_state, 0, allow_none=True)
        if isinstance(levels, (str, bytes)) or not all(isinstance(q, (int, float)) and 0 < q < 1 for q in levels):
            raise ConfigError(f"levels must be a list of numbers in (0, 1), got {levels!r}")
        self.likelihood = likelihood
        self.lookback = lookback
        self.hidden = hidden
        self.embedding = embedding
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.train_window = train_window
        self.max_samples = max_samples
        self.levels = levels
        self.random_state = random_state

    horizon = 1
    # what _Samples reads
    inputs = ("returns",)
    alphas = None
    garch_refit_every = 5

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.lookback) + 150, probabilistic=True,
                            kind="volatility")

    def _net(self, n_assets: int) -> Any:
        return _torch_class("_DeepARNet")(n_assets, int(self.hidden), int(self.embedding), self.likelihood == "t")

    def _nll(self, mu: Any, sigma: Any, nu: Any, y: Any) -> Any:
        import torch

        if nu is None:
            return (torch.log(sigma) + 0.5 * ((y - mu) / sigma) ** 2).mean()
        dist = torch.distributions.StudentT(nu, mu, sigma)
        return -dist.log_prob(y).mean()

    def fit(self, panel: Panel, until: Any = None) -> DeepARForecaster:
        import torch

        from alphalab.models.torch_utils import (
            TrainConfig,
            batches,
            configure_torch,
            inner_split,
            train,
        )

        train_p, cut = self._check_fit(panel, until)
        r = T.returns(train_p)
        nxt = np.full_like(r, np.nan)
        nxt[:-1] = r[1:]  # the return of t + 1: a label, so the row must end by until - 1
        keep = training_mask(nxt, train_p.dates, 1, cut)
        keep[: int(self.lookback)] = False
        if self.train_window is not None:
            keep[: max(0, train_p.n_dates - int(self.train_window))] = False
        rows, cols = np.nonzero(keep)
        if rows.size > int(self.max_samples):
            order = np.lexsort((cols, rows))[-int(self.max_samples):]
            rows, cols = rows[order], cols[order]
        if rows.size < 50:
            raise DataError(f"deepar: {rows.size} training samples by {cut.date()}, need >= 50")
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        seq = windows(r, rows, cols, int(self.lookback)) * 100.0
        scale = _revin_scale(seq)
        y = nxt[rows, cols] * 100.0 / scale
        configure_torch(self._seed())
        self.assets_ = list(panel.assets)
        self.net_ = self._net(panel.n_assets)
        tens = [torch.as_tensor(seq / scale[:, None], dtype=torch.float32), torch.as_tensor(cols, dtype=torch.long),
                torch.as_tensor(y, dtype=torch.float32)]
        tr, va = inner_split(len(rows), 0.2, gap=int(panel.n_assets), min_val=10)

        def loss_fn(model: Any, batch: Any) -> Any:
            a, b, yy = batch
            mu, sigma, nu = model(a, b)
            return self._nll(mu, sigma, nu, yy)

        cfg = TrainConfig(max_epochs=int(self.epochs), lr=float(self.lr), patience=int(self.patience),
                          seed=self._seed(), progress=False, grad_clip=1.0)
        result = train(self.net_, loss_fn, batches(*[t[tr] for t in tens], batch_size=int(self.batch_size)),
                       batches(*[t[va] for t in tens], batch_size=4096, shuffle=False), cfg, description="deepar")
        self.diagnostics_ = {**result.diagnostics(), "n_samples": len(rows)}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        import torch
        from scipy import stats

        if not hasattr(self, "net_"):
            raise ConfigError("DeepARForecaster.predict before fit")
        self.check(panel)
        if list(panel.assets) != self.assets_:
            raise DataError("deepar: the panel's assets differ from those it was fitted on (the embedding is per asset)")
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        r = T.returns(panel)
        rr, cc = np.meshgrid(rows, np.arange(panel.n_assets), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        seq = windows(r, rr, cc, int(self.lookback)) * 100.0
        scale = _revin_scale(seq)
        mu, sigma = np.empty(rr.size), np.empty(rr.size)
        nu = np.empty(rr.size) if self.likelihood == "t" else None
        for d in range(len(rows)):  # one batch per date (see GINNForecaster.predict)
            sel = np.flatnonzero(rr == rows[d])
            with torch.no_grad():
                m_, s_, n_ = self.net_(torch.as_tensor(seq[sel] / scale[sel, None], dtype=torch.float32),
                                       torch.as_tensor(cc[sel], dtype=torch.long))
            mu[sel], sigma[sel] = m_.double().numpy(), s_.double().numpy()
            if nu is not None:
                nu[sel] = n_.double().numpy()
        mu = mu * scale / 100.0
        sigma = sigma * scale / 100.0
        if nu is None:
            var = sigma**2
            qs = {float(q): mu + sigma * stats.norm.ppf(q) for q in self.levels}
        else:
            var = sigma**2 * nu / (nu - 2.0)
            qs = {float(q): mu + sigma * stats.t.ppf(q, nu) for q in self.levels}
        ok = np.isfinite(r[rr, cc]) & (rr >= int(self.lookback))
        var = np.where(ok, var, np.nan).reshape(len(rows), -1)
        quant = {q: np.where(ok, v, np.nan).reshape(len(rows), -1) for q, v in qs.items()}
        base = vol_forecast(dates, panel.assets, 1, var)
        return Forecast(base.dates, base.assets, 1, "volatility", base.mean, base.variance, quant)


@register_forecaster("lgbm_vol")
class LightGBMVolForecaster(Forecaster):
    """Pooled LightGBM on tabular inputs, target ``log(sigma^2_{t+1})`` (percent squared).

    Features at ``t``: the last ``n_lags`` absolute returns, HAR means of
    squared returns over 1, 5, 22 bars (logs), plus the ``inputs`` static
    blocks (GARCH forecast, alphas, calendar). The forecast is
    ``exp(pred + s^2 / 2)`` with ``s^2`` the training residual variance
    (log-normal bias correction).

    Parameters
    ----------
    inputs : list, default ["returns", "garch"]
    n_lags : int, default 10
    num_leaves, learning_rate, n_estimators, min_child_samples : LightGBM parameters
    alphas : list of str, optional
    garch_refit_every : int, default 5
    train_window : int, optional
    max_samples : int, default 100000
        Newest samples kept (pooled over assets; per asset with ``pooling: per_stock``).
    pooling : {"pooled", "per_stock"}, default "pooled"
        One model over all assets, or one per asset (:mod:`.pooling`).
    inputs_from : date, optional
        The GARCH and alpha inputs are computed from this date on (see :func:`build_inputs`).
    random_state : int, optional
    """

    def __init__(self, inputs: Sequence[str] = ("returns", "garch"), n_lags: int = 10, num_leaves: int = 15,
                 learning_rate: float = 0.05, n_estimators: int = 200, min_child_samples: int = 100,
                 alphas: Sequence[str] | None = None, garch_refit_every: int = 5, train_window: int | None = None,
                 max_samples: int = 100000, pooling: str = "pooled", inputs_from: str | None = None,
                 random_state: int | None = None) -> None:
        _check_inputs(inputs)
        _int("n_lags", n_lags, 1)
        _int("num_leaves", num_leaves, 2)
        _num("learning_rate", learning_rate, 1e-6, 1.0)
        _int("n_estimators", n_estimators, 1)
        _int("min_child_samples", min_child_samples, 1)
        _int("garch_refit_every", garch_refit_every, 1)
        _int("train_window", train_window, 100, allow_none=True)
        _int("max_samples", max_samples, 100)
        _int("random_state", random_state, 0, allow_none=True)
        self.inputs = inputs
        self.n_lags = n_lags
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.alphas = check_alpha_names(alphas)
        self.garch_refit_every = garch_refit_every
        self.train_window = train_window
        self.max_samples = max_samples
        check_pooling(pooling)
        _check_date("inputs_from", inputs_from)
        self.pooling = pooling
        self.inputs_from = inputs_from
        self.random_state = random_state

    horizon = 1
    tune = None  # not tunable here (see .tuning); _fit_variant reads it

    @property
    def lookback(self) -> int:
        return max(int(self.n_lags), 22)

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        fields = ("open", "high", "low", "close", "volume") if "alphas" in self.inputs else ("close",)
        return Capabilities(fields=fields, min_history=150, probabilistic=True, kind="volatility")

    def _table(self, samples: _Samples, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        from alphalab.models.vol.forecasters import _trailing_means

        seq, static, _, _ = samples.arrays(rows, cols)
        lags = np.abs(seq[:, -int(self.n_lags):])
        r2 = samples.data["r"] ** 2 * _PCT2
        har = _trailing_means(r2, (1, 5, 22))[rows, cols]
        with np.errstate(divide="ignore"):
            har = np.log(har + 1e-6)
        return np.column_stack([lags, har, static]).astype(np.float64)

    def fit(self, panel: Panel, until: Any = None) -> LightGBMVolForecaster:
        import lightgbm as lgb

        if _fit_variant(self, panel, until):
            return self
        train_p, cut = self._check_fit(panel, until)
        samples = _Samples(self, train_p)
        rows, cols = samples.train_positions(train_p.dates, cut)
        X = self._table(samples, rows, cols)
        y = np.log(samples.target[rows, cols] + 1e-6)
        params = {"objective": "regression", "num_leaves": int(self.num_leaves),
                  "learning_rate": float(self.learning_rate), "min_data_in_leaf": int(self.min_child_samples),
                  "seed": 0 if self.random_state is None else int(self.random_state), "deterministic": True,
                  "force_row_wise": True, "num_threads": 1, "verbosity": -1}
        self.model_ = lgb.train(params, lgb.Dataset(X, y, params={"verbosity": -1, "num_threads": 1}),
                                num_boost_round=int(self.n_estimators))
        resid = y - self.model_.predict(X, num_threads=1)
        self.resvar_ = float(resid.var())
        self.diagnostics_ = {"n_samples": len(y), "n_features": int(X.shape[1]), "resid_var": self.resvar_}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        variant = _predict_variant(self, panel, pd.DatetimeIndex(dates))
        if variant is not None:
            return variant
        if not hasattr(self, "model_"):
            raise ConfigError("LightGBMVolForecaster.predict before fit")
        self.check(panel)
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        # rows after the last decision date are never read (see build_inputs' upto)
        samples = _Samples(self, panel, int(rows.max()) + 1)
        rr, cc = _forecast_cells(self, rows, panel.n_assets)
        X = self._table(samples, rr, cc)
        ok = np.isfinite(samples.data["r"][rr, cc]) & (rr >= self.lookback) & np.isfinite(samples.data["garch"][rr, cc])
        out = np.full(rr.size, np.nan)
        if ok.any():
            out[ok] = (np.exp(self.model_.predict(X[ok], num_threads=1) + 0.5 * self.resvar_) - 1e-6) / _PCT2
        return vol_forecast(dates, panel.assets, 1, _to_grid(out, rows, cc, panel.n_assets))


_NETS: dict[str, type] = {}


def _torch_class(name: str) -> type:
    """The torch module classes, built on first use (torch is imported only when a net is needed).

    They live in this module's namespace under ``name`` (see ``__getattr__``),
    so fitted forecasters pickle and unpickle in a fresh process.
    """
    if name in _NETS:
        return _NETS[name]
    import torch
    from torch import nn

    class _LSTMNet(nn.Module):
        """LSTM over the return window, its last state joined with the static inputs, softplus head."""

        def __init__(self, hidden: int, n_static: int) -> None:
            super().__init__()
            self.rnn = nn.LSTM(1, hidden, batch_first=True)
            self.head = nn.Sequential(nn.Linear(hidden + n_static, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, seq: Any, static: Any) -> Any:
            _, (h, _) = self.rnn(seq.unsqueeze(-1))
            z = torch.cat([h[-1], static], dim=1)
            return nn.functional.softplus(self.head(z)).squeeze(-1)

    class _DeepARNet(nn.Module):
        """GRU over the scaled return window plus a stock embedding -> (mu, sigma[, nu]) of the next return."""

        def __init__(self, n_assets: int, hidden: int, emb: int, student: bool) -> None:
            super().__init__()
            self.student = student
            self.emb = nn.Embedding(n_assets, emb)
            self.rnn = nn.GRU(1, hidden, batch_first=True)
            self.out = nn.Linear(hidden + emb, 3 if student else 2)

        def forward(self, seq: Any, asset: Any) -> tuple[Any, Any, Any]:
            _, h = self.rnn(seq.unsqueeze(-1))
            z = self.out(torch.cat([h[-1], self.emb(asset)], dim=1))
            sigma = nn.functional.softplus(z[:, 1]) + 1e-4
            nu = 2.2 + nn.functional.softplus(z[:, 2]) if self.student else None
            return z[:, 0], sigma, nu

    for cls in (_LSTMNet, _DeepARNet):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        _NETS[cls.__name__] = cls
    return _NETS[name]


def __getattr__(name: str) -> Any:
    if name in ("_LSTMNet", "_DeepARNet"):
        return _torch_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
