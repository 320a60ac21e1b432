"""Deterministic torch training: bit-identical weights per seed, early stopping, cache."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alphalab.errors import ConfigError, DataError  # noqa: E402
from alphalab.models.torch_utils import (  # noqa: E402
    ModelCache,
    TrainConfig,
    batches,
    configure_torch,
    inner_split,
    train,
)


def _data(seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    y = (x @ np.array([0.5, -1.0, 0.2, 0.0], dtype=np.float32) + 0.1 * rng.normal(size=256)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y[:, None])


def _net():
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 1))


def _fit(seed: int, max_epochs: int = 6, patience: int = 0, model=None) -> tuple:
    configure_torch(seed)
    model = _net() if model is None else model
    x, y = _data()
    tr, va = inner_split(len(x), 0.25, gap=2)

    def loss(m, batch):
        return torch.nn.functional.mse_loss(m(batch[0]), batch[1])

    result = train(model, loss, batches(x[tr], y[tr], batch_size=32), batches(x[va], y[va], batch_size=64, shuffle=False),
                   TrainConfig(max_epochs=max_epochs, lr=1e-2, seed=seed, patience=patience, progress=False))
    return model, result


def test_same_seed_gives_bit_identical_weights() -> None:
    a, ra = _fit(3)
    b, rb = _fit(3)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), k
    assert ra.training_curve == rb.training_curve and ra.val_curve == rb.val_curve
    c, _ = _fit(4)
    assert not torch.equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])
    assert torch.are_deterministic_algorithms_enabled() and torch.get_num_threads() == 1


def test_validation_block_is_the_end_of_the_window() -> None:
    tr, va = inner_split(100, 0.2, gap=5)
    assert tr[-1] == 74 and va[0] == 80 and va[-1] == 99 and len(va) == 20
    with pytest.raises(DataError):
        inner_split(10, 0.5, gap=6)
    with pytest.raises(ConfigError):
        inner_split(10, 1.5)


def test_early_stopping_keeps_the_best_epoch() -> None:
    _, result = _fit(0, max_epochs=200, patience=3)
    assert result.stopped_early and len(result.val_curve) < 200
    assert result.best_epoch == int(np.argmin(result.val_curve))
    assert len(result.val_curve) - 1 - result.best_epoch == 3


def test_model_cache_round_trip(tmp_path) -> None:
    cache = ModelCache(tmp_path)
    cfg = TrainConfig(max_epochs=3, seed=1, progress=False)
    key = cache.key("datahash", cfg, fold=2)
    assert key != cache.key("datahash", cfg, fold=3) != cache.key("other", cfg, fold=2)
    calls = []

    def fit_into(model):
        def fit():
            calls.append(1)
            return _fit(1, max_epochs=3, model=model)[1]
        return fit

    configure_torch(1)
    m1 = _net()
    r1 = cache.train(key, m1, fit_into(m1))
    configure_torch(99)
    m2 = _net()  # different initial weights: the cache must overwrite them
    r2 = cache.train(key, m2, fit_into(m2))
    assert len(calls) == 1 and r2.from_cache and not r1.from_cache
    assert r2.training_curve == r1.training_curve and r2.best_epoch == r1.best_epoch
    for k, v in m1.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k])
