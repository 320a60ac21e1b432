"""The small-cap per-stock LSTM recipe (R5) as models-layer parts.

Forecasters (both pick the same point-in-time universe at each fit date, see
:func:`alphalab.data.size_universe.smallest_cap_universe`):

``smallcap_lstm``
    one small LSTM per universe stock, all trained together as one
    :class:`~alphalab.models.grouped_lstm.GroupedLSTM`; each stock's input is its
    own trailing ``window`` bars (adjusted return, log high/close, log low/close,
    log volume) z-scored in that window; the target at every step is the next
    ``horizon``-bar return; the forecast at a decision date runs the stock's
    model over the window ending that date.
``smallcap_universe``
    no model: score 1 for every universe stock on the first decision date after
    the fit, nothing after (with ``topk`` this is the plain size effect: equal
    weight of the same universe, rebalanced when the models are retrained).

Retraining happens whenever the runner refits (walk-forward ``test: 3m`` gives
the founding quarterly schedule); the universe is frozen between refits because
each model belongs to one stock.

Allocator ``threshold_steps``: the founding sizer, made causal and symmetric.
Overlays ``halving_stop`` (a trailing stop that sells half) and ``panic_halt``
(flat for a number of index sessions after a market crash).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.calendars import st_mask, tradable_mask
from alphalab.data.panel import Panel
from alphalab.data.size_universe import (
    CAP_FALLBACK,
    blacklist_mask,
    point_in_time_cap,
    smallest_cap_universe,
)
from alphalab.data.universe import listing_age
from alphalab.errors import ConfigError, DataError
from alphalab.models.allocators import Allocator, _int, _num, register_allocator
from alphalab.models.forecast import Capabilities, Forecast, Forecaster, register_forecaster
from alphalab.models.overlays import Overlay, register_overlay
from alphalab.portfolio.base import decision_rows

__all__ = [
    "FOUNDING_PRESET",
    "HalvingStop",
    "PanicHalt",
    "SmallCapLSTM",
    "SmallCapUniverse",
    "ThresholdSteps",
    "adjusted_close",
    "panic_mask",
    "window_features",
]

#: The founding configuration (DESIGN.md R5): 20 names from the 100 smallest, one hidden unit.
FOUNDING_PRESET: dict[str, Any] = {
    "n_stocks": 20, "candidates": 100, "hidden": 1, "window": 180, "horizon": 1,
}
N_FEATURES = 4
# rows the universe of a fit date is ranked on (>= the cap fallback's 20-row window)
_TAIL = 40


def adjusted_close(panel: Panel) -> np.ndarray:
    """A split- and dividend-adjusted price index, shape ``(n_dates, n_assets)``.

    Built forward from ``close / preclose`` (the exchange's ex-rights previous
    close) where ``preclose`` exists, else from ``close / previous close``;
    causal (row t uses rows <= t). NaN where the close is missing.
    """
    close = panel["close"]
    prev = panel["preclose"] if "preclose" in panel else np.vstack([np.full((1, panel.n_assets), np.nan), close[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = close / prev
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    with np.errstate(over="ignore"):  # absurd inputs overflow to inf, which the rules treat as missing
        idx = np.cumprod(ratio, axis=0)
    return np.where(np.isfinite(close), idx, np.nan)


def _bar_features(panel: Panel) -> np.ndarray:
    """Per-bar inputs, shape ``(n_dates, n_assets, 4)``: return, log(high/close), log(low/close), log1p(volume)."""
    adj = adjusted_close(panel)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.vstack([np.full((1, panel.n_assets), np.nan), adj[1:] / adj[:-1] - 1.0])
        close = panel["close"]
        hi = np.log(panel["high"] / close) if "high" in panel else np.zeros(panel.shape)
        lo = np.log(panel["low"] / close) if "low" in panel else np.zeros(panel.shape)
        vol = np.log1p(np.maximum(panel["volume"], 0.0)) if "volume" in panel else np.zeros(panel.shape)
    return np.stack([ret, hi, lo, vol], axis=-1)


# Trained models by (training inputs, parameters): ablations of one study (the same
# forecaster under other overlays) and repeated fits share a training. Exact: the key is a
# hash of every number the training reads, and training is deterministic given the seed.
_TRAINED: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
_CACHE_SIZE = 64


def _train_key(fc: SmallCapLSTM, x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> str:
    h = hashlib.sha256()
    # the compiled trainer's threads only share out the blocks of stocks (bit-identical results),
    # torch's threads may reorder its sums, so they count there
    keys = ["hidden", "epochs", "lr", "dtype", "random_state", "trainer", "window", "horizon", "warmup",
            "val_fraction"] + (["threads"] if fc.trainer == "torch" else [])
    for k in keys:
        h.update(f"{k}={getattr(fc, k)!r};".encode())
    for a in (x, np.nan_to_num(y, nan=-1e300), mask):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _columns(panel: Panel, cols: np.ndarray) -> Panel:
    """The panel restricted to some asset columns (features of the universe only)."""
    keep = ("close", "high", "low", "volume", "preclose")
    return Panel({k: panel[k][:, cols] for k in keep if k in panel}, panel.dates, panel.assets[cols], panel.meta)


def window_features(feats: np.ndarray, end: int, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs of the ``window`` bars ending at row ``end``, z-scored in that window per asset.

    Parameters
    ----------
    feats : numpy.ndarray, shape ``(n_dates, n_assets, F)``
    end : int
        Last row (inclusive); rows before 0 count as missing.

    Returns
    -------
    x : numpy.ndarray, shape ``(n_assets, window, F)``
        Missing values are 0 (the window mean) after scaling.
    ret_mean, ret_std : numpy.ndarray, shape ``(n_assets,)``
        The window's return mean and standard deviation (target scale).
    """
    lo = end - window + 1
    block = np.full((window, feats.shape[1], feats.shape[2]), np.nan)
    src = feats[max(lo, 0): end + 1]
    block[window - len(src):] = src
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(block, axis=0) if np.isfinite(block).any() else np.zeros(block.shape[1:])
        std = np.nanstd(block, axis=0)
    mean = np.nan_to_num(mean)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    z = np.nan_to_num((block - mean) / std).transpose(1, 0, 2)
    return z, mean[:, 0], std[:, 0]


def _forward_return(adj: np.ndarray, horizon: int) -> np.ndarray:
    """Return over the next ``horizon`` bars from each row, shape ``(n_dates, n_assets)`` (NaN at the end)."""
    out = np.full(adj.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:-horizon] = adj[horizon:] / adj[:-horizon] - 1.0
    return out


def _check_blacklist(blacklist: Any) -> None:
    if blacklist is None:
        return
    if not isinstance(blacklist, Mapping):
        raise ConfigError(f"blacklist must map ticker -> declaration date, got {blacklist!r:.80}")
    for ticker, when in blacklist.items():
        try:
            ts = pd.Timestamp(when)
        except (TypeError, ValueError):
            ts = pd.NaT
        if pd.isna(ts):
            raise ConfigError(f"blacklist[{ticker!r}]: {when!r} is not a date (when was it declared?)")


class _SmallCapBase(Forecaster):
    """Shared universe logic: the smallest-cap names at the fit date with a full window."""

    def _universe_params(self) -> dict[str, Any]:
        return {"shares_field": self.shares_field, "fallback": self.cap_fallback,
                "min_listing_days": self.min_listing_days, "exclude_st": self.exclude_st,
                "blacklist": self.blacklist, "candidates": self.candidates}

    def _validate_universe(self) -> None:
        if self.n_stocks is not None:
            _int("n_stocks", self.n_stocks, 1)
        if self.candidates is not None:
            _int("candidates", self.candidates, 1)
            if self.n_stocks is None or self.candidates < self.n_stocks:
                raise ConfigError(f"candidates ({self.candidates}) needs n_stocks <= candidates")
        _int("min_listing_days", self.min_listing_days, 0)
        _int("window", self.window, 2)
        if self.shares_field is not None and not isinstance(self.shares_field, str):
            raise ConfigError(f"shares_field must be a field name or None, got {self.shares_field!r}")
        _check_blacklist(self.blacklist)

    def _members(self, train: Panel, cut: pd.Timestamp) -> np.ndarray:
        """Column positions of the universe at the last training row (sorted)."""
        for ticker, when in (self.blacklist or {}).items():
            if pd.Timestamp(when) > cut:
                raise ConfigError(
                    f"blacklist[{ticker!r}] is declared {pd.Timestamp(when).date()}, after the training cut "
                    f"{cut.date()}: a blacklist must be declared before the test period it filters "
                    "(a later exclusion is hindsight)"
                )
        last = train.n_dates - 1
        # the universe of the last row needs only the last rows (the cap's 20-row fallback
        # median) plus each name's session count before them
        start = max(0, last - _TAIL + 1)
        tail = train.iloc_dates(slice(start, last + 1))
        prior = np.isfinite(train["close"][:start]).sum(axis=0)
        t_last = tail.n_dates - 1
        source = None
        if self.n_stocks is None:
            ok = tradable_mask(tail)[t_last] & ~blacklist_mask(tail, self.blacklist)[t_last]
            ok &= listing_age(tail)[t_last] + prior >= int(self.min_listing_days)
            if self.exclude_st:
                ok &= ~st_mask(tail)[t_last]
        else:
            ok = smallest_cap_universe(tail, int(self.n_stocks), prior_sessions=prior,
                                       **self._universe_params())[t_last]
            _, source = point_in_time_cap(tail, self.shares_field, fallback=self.cap_fallback)
            source = source[t_last]
        # each model needs its own full window of closes
        lo = max(0, last - int(self.window))
        full = np.isfinite(train["close"][lo: last + 1]).sum(axis=0) >= int(self.window) + 1
        cols = np.flatnonzero(ok & full)
        self._universe_info = {
            "fit_date": str(cut.date()),
            "members": [str(train.assets[c]) for c in cols],
            "n_fallback_caps": 0 if source is None else int((source[cols] == CAP_FALLBACK).sum()),
            "dropped_short_history": int((ok & ~full).sum()),
        }
        return cols


def _universe_init(self: Any, n_stocks: Any, candidates: Any, shares_field: Any, cap_fallback: Any,
                   min_listing_days: Any, exclude_st: Any, blacklist: Any, window: Any) -> None:
    self.n_stocks = n_stocks
    self.candidates = candidates
    self.shares_field = shares_field
    self.cap_fallback = cap_fallback
    self.min_listing_days = min_listing_days
    self.exclude_st = exclude_st
    self.blacklist = blacklist
    self.window = window


@register_forecaster("smallcap_lstm")
class SmallCapLSTM(_SmallCapBase):
    """One LSTM per small-cap stock, trained as one batched model.

    Parameters
    ----------
    n_stocks : int or None, default 20
        Universe size (None: every tradable name).
    candidates : int, optional
        Founding-style pool: filter ST / blacklist inside the ``candidates``
        smallest (see :func:`~alphalab.data.size_universe.smallest_cap_universe`).
    shares_field : str or None, default "totalShare"
        Point-in-time share count for the cap (``liqaShare`` for a float cap).
    cap_fallback : bool, default True
        Turnover-implied float shares where no report is known.
    min_listing_days : int, default 250
    exclude_st : bool, default True
    blacklist : mapping ticker -> date, optional
        Each exclusion with the date it was declared; every date must lie at or
        before the first fit (else :class:`ConfigError`: hindsight).
    window : int, default 180
        Trailing bars each model trains on and reads at prediction.
    hidden : int, default 8
        Hidden units per stock model (the founding recipe used 1).
    horizon : int, default 1
        Target: return over the next ``horizon`` bars.
    epochs : int, default 60
        Full-batch Adam steps (fixed, so the per-stock models stay independent).
    lr : float, default 0.01
    warmup : int, default 10
        First steps of each sequence left out of the loss (the state warms up).
    val_fraction : float in [0, 0.5], default 0.25
        The last steps of each window (labels known by the fit date) form a
        validation block: each stock keeps the weights of its epoch with the
        lowest validation loss (per-stock early stopping), trained on the steps
        before the block only. 0 trains on every step for all ``epochs``.
    dtype : {"float32", "float64"}, default "float32"
    random_state : int, optional
    threads : int, default 1
        Threads of the training (torch's, or the compiled trainer's blocks of stocks).
    trainer : {"compiled", "torch"}, default "compiled"
        ``compiled``: :func:`~alphalab.models.grouped_lstm.fit_compiled`, one numba kernel doing
        every stock's forward, backward through time and Adam step (float32 exp from a
        polynomial, within 2 ulp of libm's); ``torch``: the same training as one autograd graph
        (:func:`~alphalab.models.grouped_lstm.fit_grouped`). Both agree with a loop of
        ``torch.nn.LSTM`` models to 1e-6 in the loss (tests/models/test_grouped_lstm_kernel.py);
        the compiled one is ~10-40x faster at a few hidden units (BENCHMARKS.md).
    """

    def __init__(self, n_stocks: int | None = 20, candidates: int | None = None,
                 shares_field: str | None = "totalShare", cap_fallback: bool = True,
                 min_listing_days: int = 250, exclude_st: bool = True,
                 blacklist: Mapping[str, Any] | None = None, window: int = 180, hidden: int = 8,
                 horizon: int = 1, epochs: int = 60, lr: float = 0.01, warmup: int = 10,
                 val_fraction: float = 0.25, dtype: str = "float32", random_state: int | None = None,
                 threads: int = 1, trainer: str = "compiled") -> None:
        _universe_init(self, n_stocks, candidates, shares_field, cap_fallback, min_listing_days,
                       exclude_st, blacklist, window)
        self._validate_universe()
        _int("hidden", hidden, 1)
        _int("horizon", horizon, 1)
        _int("epochs", epochs, 1)
        _num("lr", lr, 0.0)
        _int("warmup", warmup, 0)
        _int("threads", threads, 1)
        if warmup >= window - horizon:
            raise ConfigError(f"warmup ({warmup}) must be < window - horizon ({window - horizon})")
        _num("val_fraction", val_fraction, 0.0, 0.5, open_low=False)
        if dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        if trainer not in ("compiled", "torch"):
            raise ConfigError(f"trainer must be 'compiled' or 'torch', got {trainer!r}")
        if random_state is not None:
            _int("random_state", random_state, 0)
        self.hidden = hidden
        self.horizon = horizon
        self.epochs = epochs
        self.lr = lr
        self.warmup = warmup
        self.val_fraction = val_fraction
        self.dtype = dtype
        self.random_state = random_state
        self.threads = threads
        self.trainer = trainer

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.window) + int(self.horizon) + 1,
                            multi_asset=True, global_model=False, kind="return")

    def _torch_dtype(self) -> Any:
        import torch

        return torch.float64 if self.dtype == "float64" else torch.float32

    def fit(self, panel: Panel, until: Any = None) -> SmallCapLSTM:
        """Pick the universe at ``until`` and train its models on their last ``window`` bars."""
        import torch

        from alphalab.models.grouped_lstm import GroupedLSTM, fit_compiled, fit_grouped
        from alphalab.models.torch_utils import configure_torch

        train, cut = self._check_fit(panel, until)
        cols = self._members(train, cut)
        self.columns_ = cols
        self.members_ = [str(train.assets[c]) for c in cols]
        self.diagnostics_: dict[str, Any] = {"universe": dict(self._universe_info)}
        self.model_ = None
        if len(cols) == 0:
            self.diagnostics_["training_curve"] = []
            return self
        last = train.n_dates - 1
        w, h = int(self.window), int(self.horizon)
        sub = _columns(train.iloc_dates(slice(max(0, last - w - h), last + 1)), cols)
        s_last = sub.n_dates - 1
        feats = _bar_features(sub)
        x, _, sd = window_features(feats, s_last, w)            # (S, W, F)
        adj = adjusted_close(sub)
        fwd = _forward_return(adj, h)[s_last - w + 1: s_last + 1].T  # (S, W); NaN where the label crosses the cut
        y = fwd / sd[:, None]
        mask = np.isfinite(y)
        mask[:, : int(self.warmup)] = False
        val = np.zeros_like(mask)
        n_val = round(float(self.val_fraction) * mask.shape[1])
        if n_val > 0:
            labelled = np.flatnonzero(mask.any(axis=0))
            start = int(labelled[-1]) + 1 - n_val if len(labelled) else mask.shape[1]
            val[:, start:] = mask[:, start:]
            mask[:, start:] = False
        key = _train_key(self, x, y, mask)
        if key in _TRAINED:  # the same inputs trained before in this process: same weights
            _TRAINED.move_to_end(key)
            model, result = _TRAINED[key]
        else:
            gen = configure_torch(0 if self.random_state is None else int(self.random_state), int(self.threads))
            dt = self._torch_dtype()
            model = GroupedLSTM(len(cols), N_FEATURES, int(self.hidden), generator=gen, dtype=dt)
            xt = torch.as_tensor(x[:, None], dtype=dt)
            yt = torch.as_tensor(np.nan_to_num(y)[:, None], dtype=dt)
            mt = torch.as_tensor(mask[:, None])
            vt = torch.as_tensor(val[:, None]) if n_val > 0 else None
            if self.trainer == "compiled":
                result = fit_compiled(model, xt, yt, mt, epochs=int(self.epochs), lr=float(self.lr), val_mask=vt,
                                      threads=int(self.threads))
            else:
                result = fit_grouped(model, xt, yt, mt, epochs=int(self.epochs), lr=float(self.lr), val_mask=vt)
            model.eval()
            _TRAINED[key] = (model, result)
            while len(_TRAINED) > _CACHE_SIZE:
                _TRAINED.popitem(last=False)
        self.model_ = model
        # the random-walk (zero-return) forecast's loss on the same scaled targets
        rw = np.where(mask, y, 0.0)
        rw_loss = (rw ** 2).sum(1) / np.maximum(mask.sum(1), 1)
        self.diagnostics_.update({
            "training_curve": [float(v) for v in result.losses.mean(axis=1)],
            "val_curve": [] if result.val_losses is None else [float(v) for v in result.val_losses.mean(axis=1)],
            "best_epoch": {} if result.best_epoch is None else dict(zip(self.members_, map(int, result.best_epoch),
                                                                        strict=True)),
            "train_loss": dict(zip(self.members_, map(float, result.final), strict=True)),
            "train_loss_random_walk": dict(zip(self.members_, map(float, rw_loss), strict=True)),
        })
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        """Each member's next-``horizon`` return forecast from the window ending at each date."""
        import torch

        if not hasattr(self, "columns_"):
            raise ConfigError("SmallCapLSTM.predict before fit")
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        mean = np.full((len(dates), panel.n_assets), np.nan)
        if self.model_ is not None and len(rows):
            cols = self.columns_
            sub = _columns(panel, cols)
            feats = _bar_features(sub)
            close = sub["close"]
            xs, sds = [], []
            for r in rows:
                x, _, sd = window_features(feats[: r + 1], int(r), int(self.window))
                xs.append(x)
                sds.append(sd)
            x = np.stack(xs, axis=1)   # (S, D, W, F)
            with torch.no_grad():
                out = self.model_(torch.as_tensor(x, dtype=self._torch_dtype()))[:, :, -1].double().numpy()
            pred = out.T * np.stack(sds)   # (D, S): back to return units
            pred[~np.isfinite(close[rows])] = np.nan
            mean[:, cols] = pred
        return Forecast(dates, panel.assets, int(self.horizon), "return", mean)


@register_forecaster("smallcap_universe")
class SmallCapUniverse(_SmallCapBase):
    """Score 1 on the universe at the first decided date after each fit (no model).

    With ``allocator: topk`` (``k`` >= ``n_stocks``) this is the plain small-cap
    portfolio rebalanced at each refit; other dates are "no decision" (the
    portfolio drifts). Parameters as :class:`SmallCapLSTM`'s universe part.
    """

    def __init__(self, n_stocks: int | None = 20, candidates: int | None = None,
                 shares_field: str | None = "totalShare", cap_fallback: bool = True,
                 min_listing_days: int = 250, exclude_st: bool = True,
                 blacklist: Mapping[str, Any] | None = None, window: int = 180) -> None:
        _universe_init(self, n_stocks, candidates, shares_field, cap_fallback, min_listing_days,
                       exclude_st, blacklist, window)
        self._validate_universe()

    @property
    def requires(self) -> Capabilities:  # type: ignore[override]
        return Capabilities(fields=("close",), min_history=int(self.window) + 1, kind="score")

    def fit(self, panel: Panel, until: Any = None) -> SmallCapUniverse:
        train, cut = self._check_fit(panel, until)
        self.columns_ = self._members(train, cut)
        self.members_ = [str(train.assets[c]) for c in self.columns_]
        self.diagnostics_ = {"universe": dict(self._universe_info)}
        return self

    def predict(self, panel: Panel, dates: pd.DatetimeIndex) -> Forecast:
        if not hasattr(self, "columns_"):
            raise ConfigError("SmallCapUniverse.predict before fit")
        dates = pd.DatetimeIndex(dates)
        mean = np.full((len(dates), panel.n_assets), np.nan)
        after = np.flatnonzero(dates > self.fitted_until_)
        if len(after) and len(self.columns_):
            mean[after[0], self.columns_] = 1.0
        return Forecast(dates, panel.assets, 1, "score", mean)


@register_allocator("threshold_steps")
class ThresholdSteps(Allocator):
    """Incremental threshold sizing over the forecast's names (the founding sizer, causal).

    The names with a forecast on any decided date form the book (``N`` of
    them). Each starts at ``initial / N``; on every date a forecast of
    ``threshold`` or more adds ``step / N``, one of ``-threshold`` or less
    removes ``step / N``, and each weight stays in ``[0, cap / N]``; a name
    without a forecast that date keeps its weight. The row is scaled down when
    its gross exceeds ``max_gross``. Weights follow the sizer's own previous
    targets (not the drifted book), so a decision depends only on forecasts at
    or before its date.

    Parameters
    ----------
    threshold : float, default 0.02
    step : float, default 0.5
    cap : float, default 2.0
    initial : float, default 1.0
    max_gross : float, default 1.0
    """

    accepts = ("return", "score")

    def __init__(self, threshold: float = 0.02, step: float = 0.5, cap: float = 2.0,
                 initial: float = 1.0, max_gross: float = 1.0) -> None:
        _num("threshold", threshold, 0.0, open_low=False)
        _num("step", step, 0.0)
        _num("cap", cap, 0.0)
        _num("initial", initial, 0.0, open_low=False)
        _num("max_gross", max_gross, 0.0)
        if initial > cap:
            raise ConfigError(f"initial ({initial}) must not exceed cap ({cap})")
        self.threshold = threshold
        self.step = step
        self.cap = cap
        self.initial = initial
        self.max_gross = max_gross

    def allocate(self, forecast: Forecast, panel: Panel, previous_weights: np.ndarray | None = None) -> np.ndarray:
        """Weights ``(n_dates, n_assets)``; NaN rows where no name has a forecast."""
        book = np.isfinite(forecast.mean).any(axis=0)
        self._unit = 1.0 / max(int(book.sum()), 1)
        self._w = np.where(book, float(self.initial) * self._unit, 0.0)
        # the base class visits the dates in order and calls _row where a name is eligible
        out = super().allocate(forecast, panel, previous_weights)
        self.diagnostics_["book_size"] = int(book.sum())
        del self._w, self._unit
        return out

    def _row(self, forecast: Forecast, j: int, panel: Panel, row: int, eligible: np.ndarray) -> np.ndarray:
        f = forecast.mean[j]
        up = eligible & (f >= float(self.threshold))
        down = eligible & (f <= -float(self.threshold))
        self._w = np.clip(self._w + float(self.step) * self._unit * (up.astype(float) - down.astype(float)),
                          0.0, float(self.cap) * self._unit)
        gross = float(self._w.sum())
        return self._w * (float(self.max_gross) / gross) if gross > float(self.max_gross) else self._w.copy()


@register_overlay("halving_stop")
class HalvingStop(Overlay):
    """Sell ``cut`` of a position whose adjusted price falls ``drawdown`` below its peak since entry.

    Works on the adjusted price (:func:`adjusted_close`), so an ex-rights
    drop (a bonus-share split) never fires it. A position's peak starts at its
    entry (the first decided date it has weight) and resets after a cut, so
    another full ``drawdown`` is needed to cut again; the reduced size sticks
    while the position is held (the allocator's later targets are scaled by
    it) and is forgotten once the position is closed.

    Parameters
    ----------
    drawdown : float in (0, 1), default 0.5
    cut : float in (0, 1], default 0.5
        Fraction sold (1 sells everything).
    """

    def __init__(self, drawdown: float = 0.5, cut: float = 0.5) -> None:
        _num("drawdown", drawdown, 0.0, 1.0)
        _num("cut", cut, 0.0, 1.0)
        self.drawdown = drawdown
        self.cut = cut

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = np.array(weights, dtype=np.float64, copy=True)
        rows = decision_rows(panel, dates)
        price = adjusted_close(panel)
        n_a = panel.n_assets
        peak = np.full(n_a, np.nan)
        scale = np.ones(n_a)
        cuts: list[dict[str, Any]] = []
        for j in np.argsort(rows, kind="stable"):
            row = int(rows[j])
            if not np.isfinite(out[j]).any():
                continue  # no decision: positions and their peaks carry on
            held = np.nan_to_num(out[j]) > 0
            p = price[row]
            peak = np.where(held, np.fmax(peak, p), np.nan)
            scale = np.where(held, scale, 1.0)
            with np.errstate(invalid="ignore"):
                hit = held & (p <= (1.0 - float(self.drawdown)) * peak)
            for a in np.flatnonzero(hit):
                cuts.append({"date": str(panel.dates[row].date()), "ticker": str(panel.assets[a])})
            scale = np.where(hit, scale * (1.0 - float(self.cut)), scale)
            peak = np.where(hit, p, peak)
            out[j] = np.where(np.isfinite(out[j]), out[j] * scale, out[j])
        self.cuts_ = cuts
        return out


def panic_mask(index_close: np.ndarray, *, day_drop: float = 0.05, two_day_drop: float = 0.03,
               sessions: int = 22) -> np.ndarray:
    """Rows under a market panic halt, shape ``(n_dates,)`` bool.

    A trigger at an index session s: the index fell ``day_drop`` or more that
    session, or ``two_day_drop`` or more in each of sessions s-1 and s.
    Sessions s .. s + sessions - 1 of the *index* (rows where it has a close;
    a row without one neither counts nor triggers, and a row between halted
    sessions is halted) are halted. Causal: row t uses closes up to t.
    """
    close = np.asarray(index_close, dtype=np.float64)
    is_session = np.isfinite(close) & (close > 0)
    pos = np.flatnonzero(is_session)
    halted = np.zeros(len(close), dtype=bool)
    if len(pos) < 2:
        return halted
    c = close[pos]
    r = np.full(len(pos), np.nan)
    r[1:] = c[1:] / c[:-1] - 1.0
    prev = np.concatenate([[np.nan], r[:-1]])
    with np.errstate(invalid="ignore"):
        trig = (r <= -day_drop) | ((r <= -two_day_drop) & (prev <= -two_day_drop))
    until = -1
    for k in range(len(pos)):
        if trig[k]:
            until = max(until, k + sessions - 1)
        if k <= until:
            lo = pos[k]
            hi = pos[k + 1] if k + 1 < len(pos) and k + 1 <= until else pos[k] + 1
            halted[lo:hi] = True
    return halted


@register_overlay("panic_halt")
class PanicHalt(Overlay):
    """Flat for ``sessions`` index sessions after a crash of the market index.

    Parameters
    ----------
    index : str, optional
        The panel field ``index:<ticker>`` (from a study's ``data.indices``)
        or an asset of the panel; default the equal-weight mean return of all
        priced assets, as an index built from the data.
    day_drop : float, default 0.05
    two_day_drop : float, default 0.03
        Each of two sessions in a row.
    sessions : int, default 22
    """

    def __init__(self, index: str | None = None, day_drop: float = 0.05, two_day_drop: float = 0.03,
                 sessions: int = 22) -> None:
        if index is not None and not isinstance(index, str):
            raise ConfigError(f"index must be a ticker or field name, got {index!r}")
        _num("day_drop", day_drop, 0.0, 1.0)
        _num("two_day_drop", two_day_drop, 0.0, 1.0)
        _int("sessions", sessions, 1)
        self.index = index
        self.day_drop = day_drop
        self.two_day_drop = two_day_drop
        self.sessions = sessions

    def index_close(self, panel: Panel) -> np.ndarray:
        """The index level the rule reads, shape ``(n_dates,)``."""
        if self.index is None:
            adj = adjusted_close(panel)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = adj[1:] / adj[:-1] - 1.0
            r = np.where(np.isfinite(r), r, np.nan)
            counts = np.isfinite(r).sum(axis=1)
            mr = np.where(counts > 0, np.nansum(r, axis=1) / np.maximum(counts, 1), 0.0)
            with np.errstate(over="ignore"):
                return np.concatenate([[1.0], np.cumprod(1.0 + mr)])
        field = self.index if self.index.startswith("index:") else "index:" + self.index
        if field in panel:
            return np.asarray(panel[field][:, 0], dtype=np.float64)
        if self.index in panel.assets:
            return np.asarray(panel["close"][:, panel.assets.get_loc(self.index)], dtype=np.float64)
        raise DataError(
            f"panic_halt.index {self.index!r} is neither a panel field {field!r} (add the index file "
            "as data.indices) nor an asset of the panel"
        )

    def halted(self, panel: Panel) -> np.ndarray:
        """Rows under a halt, shape ``(n_dates,)`` bool (see :func:`panic_mask`)."""
        return panic_mask(self.index_close(panel), day_drop=float(self.day_drop),
                          two_day_drop=float(self.two_day_drop), sessions=int(self.sessions))

    def apply(self, weights: np.ndarray, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = np.array(weights, dtype=np.float64, copy=True)
        halted = self.halted(panel)
        for j, row in enumerate(decision_rows(panel, dates)):
            if halted[row] and np.isfinite(out[j]).any():  # a NaN row (no decision) stays NaN
                out[j] = 0.0
        return out
