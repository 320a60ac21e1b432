"""Deterministic torch training for every neural recipe (LSTM, GINN, DeepAR, deep-Sharpe nets).

* :func:`configure_torch` seeds torch, numpy and Python, turns on
  ``torch.use_deterministic_algorithms(True)`` and limits torch to
  ``threads`` intra-op threads (1 by default: folds run in parallel
  processes instead, and one thread is what makes CPU reductions repeatable).
* :func:`inner_split` takes the early-stopping validation block from the END
  of the training window only, with a ``gap`` (the label horizon) between the
  two parts so that no training label overlaps a validation label.
* :func:`train` runs any ``nn.Module`` with any loss closure
  ``loss_fn(model, batch) -> scalar tensor`` over any batch iterator factory,
  with early stopping, optional gradient clipping and a progress bar (rich;
  quiet when stderr is not a terminal or when asked), and returns the
  training and validation curves for ``diagnostics_``.
* :class:`ModelCache` stores trained weights under
  ``<alphalab home>/cache/models`` keyed by data hash, config hash and fold,
  so that re-running a study does not retrain what it already trained.

torch is imported lazily: importing this module does not need it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphalab.errors import ConfigError, DataError

__all__ = [
    "ModelCache",
    "TrainConfig",
    "TrainResult",
    "batches",
    "config_hash",
    "configure_torch",
    "inner_split",
    "train",
]


def configure_torch(seed: int, threads: int = 1) -> Any:
    """Seed everything and make torch deterministic and thread-limited; returns a seeded ``torch.Generator``.

    Parameters
    ----------
    seed : int
    threads : int
        Intra-op threads for torch (``torch.set_num_threads``).
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - third-party code still draws from the global state
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(int(threads))
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def inner_split(n: int, val_fraction: float = 0.2, gap: int = 0, min_val: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation positions for early stopping, validation taken from the end.

    Parameters
    ----------
    n : int
        Samples (ordered by time) in the training window.
    val_fraction : float in (0, 1)
    gap : int
        Samples dropped between the parts (use the label horizon).
    min_val : int

    Returns
    -------
    train_idx, val_idx : numpy.ndarray of int
        ``train_idx`` all precede ``val_idx``, separated by ``gap``.
    """
    if not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    n_val = max(int(min_val), round(n * val_fraction))
    n_train = n - n_val - int(gap)
    if n_train < 1:
        raise DataError(f"{n} samples cannot hold a {n_val}-sample validation block and a {gap}-sample gap")
    return np.arange(n_train), np.arange(n - n_val, n)


def batches(*tensors: Any, batch_size: int, shuffle: bool = True) -> Callable[[Any], Iterable[tuple[Any, ...]]]:
    """A batch-iterator factory over equally long tensors (first axis = samples).

    Returns ``make(generator)`` yielding tuples of tensors; the permutation is
    drawn from ``generator`` so that shuffling is reproducible.
    """
    import torch

    n = int(tensors[0].shape[0])
    if any(int(t.shape[0]) != n for t in tensors):
        raise DataError("batches: tensors differ in length")

    def make(generator: Any) -> Iterable[tuple[Any, ...]]:
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for lo in range(0, n, int(batch_size)):
            idx = order[lo : lo + int(batch_size)]
            yield tuple(t[idx] for t in tensors)

    return make


@dataclass(frozen=True)
class TrainConfig:
    """Training loop settings (part of the model cache key).

    Attributes
    ----------
    max_epochs : int
    lr : float
        Adam learning rate (when no optimiser factory is given).
    weight_decay : float
    patience : int
        Epochs without validation improvement before stopping (0: never stop early).
    min_delta : float
        Improvement smaller than this does not count.
    grad_clip : float or None
        Max gradient norm.
    seed : int
    threads : int
    progress : bool or None
        Show a progress bar; ``None``: only when stderr is a terminal.
    """

    max_epochs: int = 50
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 5
    min_delta: float = 0.0
    grad_clip: float | None = None
    seed: int = 0
    threads: int = 1
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.patience < 0 or self.threads < 1:
            raise ConfigError(f"bad TrainConfig: {self}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}")


@dataclass
class TrainResult:
    """Curves and the stopping point of one training (JSON-able via :meth:`diagnostics`).

    Attributes
    ----------
    training_curve, val_curve : list of float
        Mean loss per epoch (validation empty without a validation set).
    best_epoch : int
        Epoch (0-based) whose weights were kept.
    stopped_early : bool
    from_cache : bool
    """

    training_curve: list[float] = field(default_factory=list)
    val_curve: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    from_cache: bool = False

    def diagnostics(self) -> dict[str, Any]:
        return asdict(self)


def _show(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def _mean_loss(model: Any, loss_fn: Callable[[Any, Any], Any], make: Callable[[Any], Iterable[Any]], gen: Any) -> float:
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for batch in make(gen):
            total += float(loss_fn(model, batch))
            count += 1
    return total / max(count, 1)


def train(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    train_batches: Callable[[Any], Iterable[Any]],
    val_batches: Callable[[Any], Iterable[Any]] | None = None,
    config: TrainConfig | None = None,
    *,
    optimizer: Callable[[Any], Any] | None = None,
    description: str = "training",
) -> TrainResult:
    """Train ``model`` in place with early stopping; the best validation weights are kept.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(model, batch) -> scalar tensor`` (mean over the batch).
    train_batches, val_batches : callable
        ``make(generator) -> iterable of batches`` (see :func:`batches`);
        validation batches should come from :func:`inner_split`'s end block.
    config : TrainConfig
    optimizer : callable, optional
        ``optimizer(params) -> torch.optim.Optimizer``; default Adam.

    Returns
    -------
    TrainResult
    """
    import torch

    cfg = config or TrainConfig()
    gen = configure_torch(cfg.seed, cfg.threads)
    opt = optimizer(model.parameters()) if optimizer else torch.optim.Adam(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    result = TrainResult()
    best = math.inf
    best_state: dict[str, Any] | None = None
    waited = 0
    bar = None
    if _show(cfg.progress):
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task(description, total=cfg.max_epochs)
    try:
        for epoch in range(cfg.max_epochs):
            model.train()
            total, count = 0.0, 0
            for batch in train_batches(gen):
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model, batch)
                if not torch.isfinite(loss):
                    raise DataError(f"{description}: non-finite loss at epoch {epoch}")
                loss.backward()
                if cfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                total += float(loss.detach())
                count += 1
            result.training_curve.append(total / max(count, 1))
            model.eval()
            score = result.training_curve[-1]
            if val_batches is not None:
                score = _mean_loss(model, loss_fn, val_batches, gen)
                result.val_curve.append(score)
            if bar is not None:
                bar.update(task, advance=1, description=f"{description} loss {score:.4g}")
            if score < best - cfg.min_delta:
                best, waited, result.best_epoch = score, 0, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
                if cfg.patience and waited >= cfg.patience:
                    result.stopped_early = True
                    break
    finally:
        if bar is not None:
            bar.stop()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result


def config_hash(config: Any) -> str:
    """A stable hash of a JSON-able config (dataclasses and dicts; sorted keys)."""
    obj = asdict(config) if hasattr(config, "__dataclass_fields__") else config
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ModelCache:
    """Trained weights on disk, keyed by data hash + config hash + fold.

    Parameters
    ----------
    root : path, optional
        Default ``<alphalab home>/cache/models``.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            from alphalab.paths import alphalab_home

            root = alphalab_home() / "cache" / "models"
        self.root = Path(root)

    def key(self, data_hash: str, config: Any, fold: Any = 0) -> str:
        """The cache key of one training."""
        raw = json.dumps([str(data_hash), config_hash(config), str(fold)])
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.pt"

    def load(self, key: str, model: Any) -> TrainResult | None:
        """Load weights into ``model`` and return the stored curves, or ``None`` when absent."""
        import torch

        path = self._path(key)
        if not path.exists():
            return None
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(blob["state"])
        model.eval()
        result = TrainResult(**json.loads(blob["result"]))
        result.from_cache = True
        return result

    def save(self, key: str, model: Any, result: TrainResult) -> Path:
        """Store ``model``'s weights and ``result`` atomically."""
        import torch

        self.root.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        torch.save({"state": model.state_dict(), "result": json.dumps(asdict(result))}, buf)
        path = self._path(key)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
        return path

    def train(self, key: str, model: Any, fit: Callable[[], TrainResult]) -> TrainResult:
        """Load ``key`` into ``model`` if cached, else run ``fit()`` and store the result."""
        hit = self.load(key, model)
        if hit is not None:
            return hit
        result = fit()
        self.save(key, model, result)
        return result
