"""Training one deep-portfolio network for one seed (on :mod:`alphalab.models.torch_utils`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphalab.models.deep_portfolio.loss import sharpe_loss
from alphalab.models.deep_portfolio.nets import build_net
from alphalab.models.torch_utils import TrainConfig, configure_torch, inner_split, train

__all__ = ["NetSpec", "Samples", "contiguous_batches", "fit_one"]


@dataclass(frozen=True)
class NetSpec:
    """Architecture of one network (see :func:`alphalab.models.deep_portfolio.nets.build_net`)."""

    architecture: str = "lstm"
    n_assets: int = 1
    window: int = 50
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    long_only: bool = True


@dataclass(frozen=True)
class Samples:
    """Training samples in time order.

    Attributes
    ----------
    x : numpy.ndarray of float32, shape ``(n, window, 2 * n_assets)``
    available : numpy.ndarray of bool, shape ``(n, n_assets)``
    returns : numpy.ndarray, shape ``(n, n_assets)``
        Returns each decision earns (0 where unavailable).
    scale : numpy.ndarray, shape ``(n, n_assets)``, optional
        Volatility-scaling factors inside the loss.
    """

    x: np.ndarray
    available: np.ndarray
    returns: np.ndarray
    scale: np.ndarray | None = None

    def tensors(self, idx: np.ndarray) -> tuple[Any, ...]:
        import torch

        out = [torch.from_numpy(np.ascontiguousarray(self.x[idx])),
               torch.from_numpy(np.ascontiguousarray(self.available[idx])),
               torch.from_numpy(np.ascontiguousarray(self.returns[idx], dtype=np.float32))]
        if self.scale is not None:
            out.append(torch.from_numpy(np.ascontiguousarray(self.scale[idx], dtype=np.float32)))
        return tuple(out)


def contiguous_batches(tensors: tuple[Any, ...], batch_size: int,
                       shuffle: bool = True) -> Callable[[Any], Iterable[tuple[Any, ...]]]:
    """Batches of ``batch_size`` consecutive samples, the order of the batches shuffled.

    Consecutive samples inside a batch are consecutive decisions, so the
    turnover term of the loss compares a weight with the one before it.
    """
    import torch

    n = int(tensors[0].shape[0])
    spans = [(lo, min(lo + int(batch_size), n)) for lo in range(0, n, int(batch_size))]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < 2:
        # a one-sample batch has no standard deviation: it joins the batch before it
        spans[-2:] = [(spans[-2][0], n)]

    def make(generator: Any) -> Iterable[tuple[Any, ...]]:
        order = torch.randperm(len(spans), generator=generator).tolist() if shuffle else range(len(spans))
        for k in order:
            lo, hi = spans[k]
            yield tuple(t[lo:hi] for t in tensors)

    return make


def fit_one(samples: Samples, spec: NetSpec, config: TrainConfig, *, batch_size: int = 64,
            val_fraction: float = 0.1, cost: float = 0.0,
            periods_per_year: float = 252.0) -> tuple[Any, dict[str, Any]]:
    """Train one network on ``samples`` with early stopping on their last ``val_fraction``.

    Returns
    -------
    net : torch.nn.Module
        The network with the best validation weights, in eval mode.
    info : dict
        ``training_curve``, ``val_curve`` (losses = minus annualised Sharpe),
        ``best_epoch``, ``stopped_early``, ``n_train``, ``n_val``, ``seconds``.
    """
    t0 = time.perf_counter()
    configure_torch(config.seed, config.threads)  # before the net exists: its init is seeded too
    net = build_net(spec.architecture, spec.n_assets, spec.window, spec.hidden_size,
                    spec.num_layers, spec.dropout, spec.long_only)
    n = len(samples.returns)
    tr, va = inner_split(n, val_fraction, gap=0, min_val=2)
    train_t = samples.tensors(tr)
    val_t = samples.tensors(va)

    def loss_fn(model: Any, batch: tuple[Any, ...]) -> Any:
        x, avail, rets = batch[:3]
        scale = batch[3] if len(batch) > 3 else None
        return sharpe_loss(model(x, avail), rets, cost=cost, scale=scale, periods_per_year=periods_per_year)

    def val_batches(generator: Any) -> Iterable[tuple[Any, ...]]:
        yield val_t  # the whole validation block: the Sharpe of the block, not of its pieces

    result = train(net, loss_fn, contiguous_batches(train_t, batch_size), val_batches, config,
                   description=f"deep portfolio seed {config.seed}")
    info = result.diagnostics() | {"n_train": len(tr), "n_val": len(va),
                                   "seconds": round(time.perf_counter() - t0, 4)}
    return net, info
