"""Grouped (batched) LSTMs: the same numbers as a loop of separate torch.nn.LSTM models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alphalab.errors import ConfigError, DataError
from alphalab.models.grouped_lstm import GroupedLSTM, fit_grouped, fit_looped, masked_group_mse
from alphalab.models.torch_utils import configure_torch


def _data(S: int, T: int, F: int, dtype: torch.dtype, seed: int = 0):  # type: ignore[no-untyped-def]
    g = configure_torch(seed)
    x = torch.randn(S, 1, T, F, generator=g, dtype=dtype)
    y = torch.randn(S, 1, T, generator=g, dtype=dtype)
    mask = torch.rand(S, 1, T, generator=g) > 0.2
    mask[0] = False  # a group without data: loss 0, no gradient, no NaN
    return g, x, y, mask


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_batched_training_equals_looped_training(dtype: torch.dtype) -> None:
    g, x, y, mask = _data(6, 40, 4, dtype)
    model = GroupedLSTM(6, 4, 3, generator=g, dtype=dtype)
    reference = model.to_modules()
    a = fit_grouped(model, x, y, mask, epochs=15, lr=0.02)
    b = fit_looped(reference, x, y, mask, epochs=15, lr=0.02)
    np.testing.assert_allclose(a.losses, b.losses, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.final, b.final, rtol=0, atol=1e-6)
    assert (a.losses[-1, 1:] < a.losses[0, 1:]).all()  # it learns
    assert a.final[0] == 0.0
    # and the trained weights agree too
    for s, (lstm, head) in enumerate(reference):
        np.testing.assert_allclose(model.w_hh[s].detach().numpy(), lstm.weight_hh_l0.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(model.w_out[s].detach().numpy(), head.weight[0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("n_samples", [1, 6])  # the broadcast path and the batched-matmul path
def test_forward_matches_nn_lstm_per_group(n_samples: int) -> None:
    g = configure_torch(0)
    x = torch.randn(3, n_samples, 25, 2, generator=g, dtype=torch.float64)
    model = GroupedLSTM(3, 2, 5, generator=g, dtype=torch.float64)
    out = model(x)
    assert out.shape == (3, n_samples, 25)
    for s, (lstm, head) in enumerate(model.to_modules()):
        hs, _ = lstm(x[s])
        np.testing.assert_allclose(out[s].detach().numpy(), head(hs)[..., 0].detach().numpy(), atol=1e-12)


def test_groups_are_independent() -> None:
    """Changing one stock's data changes no other stock's training."""
    _, x, y, mask = _data(4, 30, 3, torch.float64)
    m1 = GroupedLSTM(4, 3, 2, generator=configure_torch(3), dtype=torch.float64)
    m2 = GroupedLSTM(4, 3, 2, generator=configure_torch(3), dtype=torch.float64)
    y2 = y.clone()
    y2[2] = y2[2] * 5.0
    a = fit_grouped(m1, x, y, mask, epochs=8, lr=0.05)
    b = fit_grouped(m2, x, y2, mask, epochs=8, lr=0.05)
    np.testing.assert_array_equal(a.losses[:, [0, 1, 3]], b.losses[:, [0, 1, 3]])
    assert (a.losses[:, 2] != b.losses[:, 2]).any()


def test_seeded_training_is_bit_identical() -> None:
    runs = []
    for _ in range(2):
        g, x, y, mask = _data(3, 20, 2, torch.float32, seed=11)
        m = GroupedLSTM(3, 2, 4, generator=g)
        runs.append(fit_grouped(m, x, y, mask, epochs=5, lr=0.01).losses)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_shapes_and_sizes() -> None:
    with pytest.raises(ConfigError):
        GroupedLSTM(0, 2, 2)
    with pytest.raises(ConfigError):
        GroupedLSTM(2, 2, True)  # type: ignore[arg-type]
    m = GroupedLSTM(2, 3, 2)
    with pytest.raises(DataError, match="expects"):
        m(torch.zeros(3, 1, 5, 3))
    with pytest.raises(DataError, match="needs x"):
        fit_grouped(m, torch.zeros(2, 1, 5, 3), torch.zeros(2, 5), torch.ones(2, 5, dtype=torch.bool), epochs=1, lr=0.1)
    loss = masked_group_mse(torch.ones(2, 1, 3), torch.zeros(2, 1, 3), torch.tensor([[[True, False, True]]] * 2))
    np.testing.assert_allclose(loss.numpy(), [1.0, 1.0])


def test_per_group_early_stopping_keeps_each_groups_best_epoch() -> None:
    g, x, y, mask = _data(5, 40, 3, torch.float64, seed=2)
    val = torch.zeros_like(mask)
    val[..., 30:] = True
    train = mask.clone()
    train[..., 30:] = False
    model = GroupedLSTM(5, 3, 4, generator=g, dtype=torch.float64)
    fit = fit_grouped(model, x, y, train, epochs=40, lr=0.05, val_mask=val)
    assert fit.val_losses is not None and fit.best_epoch is not None
    with torch.no_grad():
        kept = masked_group_mse(model(x), y, val).numpy()
    # every group holds the weights of its own lowest validation loss (noise targets: it overfits,
    # so the best epochs differ between groups and are not all the last one)
    np.testing.assert_allclose(kept, fit.val_losses.min(axis=0), atol=1e-12)
    np.testing.assert_array_equal(fit.best_epoch, fit.val_losses.argmin(axis=0))
    assert len(set(fit.best_epoch.tolist())) > 1
    with pytest.raises(DataError, match="val_mask"):
        fit_grouped(model, x, y, train, epochs=1, lr=0.1, val_mask=val[:, :, :5])
