"""``deep_sharpe``: the deep portfolio as a walk-forward :class:`Strategy`.

``fit(panel, until)`` trains ``n_seeds`` networks on every decision row whose
target return is known by ``until`` (expanding window: the walk-forward runner
refits per fold, e.g. ``validation.walk_forward: {test: 2y, mode: expanding}``
retrains every two years on all data so far), each with early stopping on the
last ``val_fraction`` of those rows. ``decide`` averages the seeds' weights
(the ensemble) and keeps every seed's own weights in ``forecasts_``
(``w_seed<k>`` columns) and ``seed_weights_``, so a report can show what each
seed did. Study YAML::

    - name: deep_lstm
      kind: deep_sharpe
      params: {architecture: lstm, window: 50, hidden_size: 64, n_seeds: 5}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.allocators import _int, _num
from alphalab.models.deep_portfolio.features import target_returns, window_inputs
from alphalab.models.deep_portfolio.nets import ARCHITECTURES
from alphalab.models.deep_portfolio.training import NetSpec, Samples, fit_one
from alphalab.models.torch_utils import TrainConfig
from alphalab.models.vol_scaling import ewm_volatility
from alphalab.portfolio.base import Requirements, Strategy, decision_rows, register_strategy

__all__ = ["DeepSharpe", "seed_of"]


def seed_of(random_state: int | None, k: int) -> int:
    """Seed of ensemble member ``k`` (distinct, reproducible, < 2**31)."""
    base = 0 if random_state is None else int(random_state)
    return int(np.random.SeedSequence([base, k]).generate_state(1)[0] % (2**31 - 1))


@register_strategy("deep_sharpe")
class DeepSharpe(Strategy):
    """A network trained to maximise the Sharpe ratio of its own portfolio.

    Parameters
    ----------
    architecture : {"lstm", "mlp", "cnn"}, default "lstm"
    window : int, default 50
        Days of normalised prices and returns per input.
    hidden_size : int, default 64
    num_layers : int, default 1
    dropout : float in [0, 1), default 0.1
    lr : float, default 1e-3
        Adam learning rate.
    batch_size : int, default 64
        Consecutive decisions per mini-batch (the Sharpe of a batch is the loss).
    max_epochs : int, default 50
    patience : int, default 10
        Early stopping on the validation block (0: never).
    val_fraction : float, default 0.1
        The last fraction of the training rows is the early-stopping block.
    long_only : bool, default True
        Softmax weights; ``False``: tanh scores normalised to gross 1.
    cost_bps : float, default 0.0
        Proportional cost per unit turnover charged inside the loss.
    vol_target : float, optional
        With a value, the paper's per-asset volatility-scaling layer sits inside
        the loss (``sigma_target / sigma_i``, EWM ``vol_span``) and the decided
        weights are the scaled ones, gross capped at ``max_leverage``.
    vol_span : int, default 50
    max_leverage : float, default 1.0
    execution_lag : int, default 1
        Bars between a decision and its execution: 1 for ``execution.at:
        next_close`` (the weights of the close of t earn t+1 -> t+2), 0 to
        train on the paper's same-close convention.
    n_seeds : int, default 5
    random_state : int, optional
        Base of the seeds (``None``: 0).
    threads : int, default 1
    progress : bool, optional
        Progress bars (``None``: only on a terminal).

    Attributes
    ----------
    nets_ : list of torch.nn.Module
    diagnostics_ : dict
        ``seeds``: per seed ``seed``, ``training_curve``, ``val_curve`` (minus the
        annualised Sharpe per epoch), ``best_epoch``, ``seconds``; ``n_samples``,
        ``train_seconds``.
    seed_weights_ : numpy.ndarray, shape ``(n_seeds, n_decisions, n_assets)``
    forecasts_ : pandas.DataFrame
        ``date, ticker, weight, w_seed0 ...`` for the decided dates.
    """

    def __init__(self, architecture: str = "lstm", window: int = 50, hidden_size: int = 64,
                 num_layers: int = 1, dropout: float = 0.1, lr: float = 1e-3, batch_size: int = 64,
                 max_epochs: int = 50, patience: int = 10, val_fraction: float = 0.1,
                 long_only: bool = True, cost_bps: float = 0.0, vol_target: float | None = None,
                 vol_span: int = 50, max_leverage: float = 1.0, execution_lag: int = 1,
                 n_seeds: int = 5, random_state: int | None = None, threads: int = 1,
                 progress: bool | None = None) -> None:
        if architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        _int("window", window, 2)
        _int("hidden_size", hidden_size, 1)
        _int("num_layers", num_layers, 1)
        _num("dropout", dropout, 0.0, 0.99, open_low=False)
        _num("lr", lr, 0.0, 10.0)
        _int("batch_size", batch_size, 2)
        _int("max_epochs", max_epochs, 1)
        _int("patience", patience, 0)
        _num("val_fraction", val_fraction, 0.0, 0.5)
        if not isinstance(long_only, bool):
            raise ConfigError(f"long_only must be true or false, got {long_only!r}")
        _num("cost_bps", cost_bps, 0.0, 10_000.0, open_low=False)
        if vol_target is not None:
            _num("vol_target", vol_target, 0.0, 10.0)
        _int("vol_span", vol_span, 2)
        _num("max_leverage", max_leverage, 0.0)
        _int("execution_lag", execution_lag, 0)
        _int("n_seeds", n_seeds, 1)
        if random_state is not None:
            _int("random_state", random_state, 0)
        _int("threads", threads, 1)
        if progress is not None and not isinstance(progress, bool):
            raise ConfigError(f"progress must be true, false or null, got {progress!r}")
        self.architecture = architecture
        self.window = window
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.val_fraction = val_fraction
        self.long_only = long_only
        self.cost_bps = cost_bps
        self.vol_target = vol_target
        self.vol_span = vol_span
        self.max_leverage = max_leverage
        self.execution_lag = execution_lag
        self.n_seeds = n_seeds
        self.random_state = random_state
        self.threads = threads
        self.progress = progress

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        return Requirements(fields=("close",), min_history=int(self.window) + 1, learns=True)

    # ------------------------------------------------------------ helpers
    def _scale(self, close: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        """Per-asset ``vol_target / sigma_i`` at ``rows`` (rows <= t only), or ``None``."""
        if self.vol_target is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            rets = np.vstack([np.full((1, close.shape[1]), np.nan), close[1:] / close[:-1] - 1.0])
        rets[~np.isfinite(rets)] = np.nan
        vol = ewm_volatility(rets, int(self.vol_span))[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            s = float(self.vol_target) / vol
        return np.where(np.isfinite(s), s, 0.0)

    def _spec(self, n_assets: int) -> NetSpec:
        return NetSpec(self.architecture, n_assets, int(self.window), int(self.hidden_size),
                       int(self.num_layers), float(self.dropout), bool(self.long_only))

    def samples(self, panel: Panel, until: Any) -> tuple[Samples, np.ndarray]:
        """Training samples of every row whose target is known by ``until``; also their rows."""
        close = panel["close"]
        last = int(panel.dates.searchsorted(pd.Timestamp(until), "right")) - 1
        lag = int(self.execution_lag)
        rows = np.arange(int(self.window), last - lag)  # target needs close[t + lag + 1], row <= last
        if rows.size == 0:
            return Samples(np.empty((0, int(self.window), 2 * panel.n_assets), np.float32),
                           np.empty((0, panel.n_assets), bool), np.empty((0, panel.n_assets))), rows
        # only rows <= last are read: the cut makes that explicit
        cut = close[: last + 1]
        x, avail = window_inputs(cut, rows, int(self.window))
        target = target_returns(cut, rows, lag)
        avail &= np.isfinite(target) | ~avail  # an asset priced through the window but not after: drop its target
        target = np.where(avail & np.isfinite(target), target, 0.0)
        keep = avail.any(axis=1)
        scale = self._scale(cut, rows)
        return Samples(x[keep], avail[keep], target[keep],
                       None if scale is None else scale[keep]), rows[keep]

    # ------------------------------------------------------------ contract
    def fit(self, panel: Panel, until: Any = None) -> DeepSharpe:
        """Train ``n_seeds`` networks on rows dated at or before ``until``."""
        super().fit(panel, until)
        self.check(panel)
        samples, rows = self.samples(panel, self.fitted_until_)
        min_samples = max(2 * int(self.batch_size), 20)
        if len(rows) < min_samples:
            raise DataError(
                f"deep_sharpe: {len(rows)} training samples up to {self.fitted_until_.date()} "
                f"(window {self.window}); at least {min_samples} are needed")
        spec = self._spec(panel.n_assets)
        self.assets_ = list(map(str, panel.assets))
        self.nets_: list[Any] = []
        seeds: list[dict[str, Any]] = []
        for k in range(int(self.n_seeds)):
            seed = seed_of(self.random_state, k)
            cfg = TrainConfig(max_epochs=int(self.max_epochs), lr=float(self.lr), patience=int(self.patience),
                              seed=seed, threads=int(self.threads), progress=self.progress)
            net, info = fit_one(samples, spec, cfg, batch_size=int(self.batch_size),
                                val_fraction=float(self.val_fraction), cost=float(self.cost_bps) * 1e-4)
            self.nets_.append(net)
            seeds.append({"seed": seed, **info})
        self.diagnostics_ = {
            "fitted_until": self.fitted_until_.date().isoformat(),
            "n_samples": len(rows),
            "first_sample": panel.dates[rows[0]].date().isoformat(),
            "train_seconds": round(sum(s["seconds"] for s in seeds), 4),
            "seeds": seeds,
            "training_curve": [s["training_curve"] for s in seeds],
            "val_curve": [s["val_curve"] for s in seeds],
        }
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        """Ensemble weights ``(len(dates), n_assets)``: the mean of the seeds' weights.

        A date without any asset holding a full window gives a NaN row.
        """
        import torch

        if not hasattr(self, "nets_"):
            raise ConfigError("deep_sharpe.decide before fit: call fit(panel, until) first")
        if list(map(str, panel.assets)) != self.assets_:
            raise DataError(f"deep_sharpe was fitted on assets {self.assets_} but decides on "
                            f"{list(map(str, panel.assets))}")
        dates = pd.DatetimeIndex(dates)
        rows = decision_rows(panel, dates)
        close = panel["close"]
        x, avail = window_inputs(close, rows, int(self.window))
        torch.set_num_threads(int(self.threads))
        with torch.no_grad():
            xt, at = torch.from_numpy(x), torch.from_numpy(avail)
            # One decision at a time: a batched forward pass rounds differently with the batch's
            # size (BLAS blocking), so a weight would move by ~1e-8 with which other dates are
            # decided in the same call, and the leakage guard (rightly) sees that as a change.
            per_seed = np.stack([
                np.concatenate([net(xt[i:i + 1], at[i:i + 1]).double().numpy() for i in range(len(rows))])
                if len(rows) else np.empty((0, panel.n_assets))
                for net in self.nets_])
        scale = self._scale(close, rows)
        if scale is not None:
            per_seed = per_seed * scale[None]
            gross = np.abs(per_seed).sum(axis=2, keepdims=True)
            cap = float(self.max_leverage)
            per_seed = np.where(gross > cap, per_seed * cap / np.where(gross > 0, gross, 1.0), per_seed)
        weights = per_seed.mean(axis=0)
        none = ~avail.any(axis=1)
        weights[none] = np.nan
        per_seed[:, none] = np.nan
        self.seed_weights_ = per_seed
        frame = pd.DataFrame({
            "date": np.repeat(dates.values, panel.n_assets),
            "ticker": np.tile(np.asarray(self.assets_, dtype=object), len(dates)),
            "weight": weights.reshape(-1),
        })
        for k in range(per_seed.shape[0]):
            frame[f"w_seed{k}"] = per_seed[k].reshape(-1)
        self.forecasts_ = frame
        return weights
