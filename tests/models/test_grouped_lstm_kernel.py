"""The compiled grouped-LSTM trainer against its outside reference: a loop of torch.nn.LSTM + Adam models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.errors import DataError
from alphalab.models import grouped_lstm_kernel as kern
from alphalab.models.grouped_lstm import GroupedLSTM, fit_compiled, fit_grouped, fit_looped
from alphalab.models.torch_utils import configure_torch


def _data(S: int, B: int, T: int, F: int, dtype: torch.dtype, seed: int = 0):  # type: ignore[no-untyped-def]
    g = configure_torch(seed)
    x = torch.randn(S, B, T, F, generator=g, dtype=dtype)
    y = torch.randn(S, B, T, generator=g, dtype=dtype)
    mask = torch.rand(S, B, T, generator=g) > 0.2
    mask[0] = False  # a stock without data: loss 0, no gradient, weights unchanged
    return g, x, y, mask


@pytest.mark.parametrize(("dtype", "atol"), [(torch.float64, 1e-12), (torch.float32, 1e-6)])
@pytest.mark.parametrize("n_samples", [1, 3])
def test_compiled_training_equals_a_loop_of_nn_lstm_models(dtype: torch.dtype, atol: float, n_samples: int) -> None:
    # 34 stocks: more than one block of SIMD lanes, the last one padded
    assert kern.LANES < 34 < 2 * kern.LANES
    g, x, y, mask = _data(34, n_samples, 24, 4, dtype)
    model = GroupedLSTM(34, 4, 5, generator=g, dtype=dtype)
    before0 = model.w_ih[0].detach().clone()
    reference = model.to_modules()
    a = fit_compiled(model, x, y, mask, epochs=8, lr=0.02)
    b = fit_looped(reference, x, y, mask, epochs=8, lr=0.02)
    np.testing.assert_allclose(a.losses, b.losses, rtol=0, atol=atol)
    np.testing.assert_allclose(a.final, b.final, rtol=0, atol=atol)
    assert (a.losses[-1, 1:] < a.losses[0, 1:]).all()  # it learns
    assert a.final[0] == 0.0 and torch.equal(model.w_ih[0].detach(), before0)
    wtol = 1e-10 if dtype == torch.float64 else 1e-5
    for s, (lstm, head) in enumerate(reference):
        for mine, theirs in ((model.w_ih[s], lstm.weight_ih_l0), (model.w_hh[s], lstm.weight_hh_l0),
                             (model.b_ih[s], lstm.bias_ih_l0), (model.b_hh[s], lstm.bias_hh_l0),
                             (model.w_out[s], head.weight[0]), (model.b_out[s], head.bias[0])):
            np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=0, atol=wtol)


def test_libm_exp_path_also_matches_and_threads_change_nothing() -> None:
    _, x, y, mask = _data(40, 1, 25, 3, torch.float32, seed=4)
    flat = kern.pack(*(p.detach().numpy() for p in GroupedLSTM(40, 3, 4, generator=configure_torch(5)).parameters()))
    runs = {}
    for fast, threads in ((True, 1), (True, 2), (False, 1)):
        p = flat.copy()
        runs[fast, threads] = (kern.train_groups(p, x.numpy(), y.numpy(), mask.numpy(), hidden=4, epochs=8, lr=0.03,
                                                 threads=threads, fast_exp=fast)[0], p)
    np.testing.assert_array_equal(runs[True, 1][0], runs[True, 2][0])   # bit-identical across threads
    np.testing.assert_array_equal(runs[True, 1][1], runs[True, 2][1])
    np.testing.assert_allclose(runs[True, 1][0], runs[False, 1][0], rtol=0, atol=1e-6)


def test_per_stock_early_stopping_matches_the_torch_trainer() -> None:
    g, x, y, mask = _data(5, 1, 40, 3, torch.float64, seed=2)
    val = torch.zeros_like(mask)
    val[..., 30:] = True
    train = mask.clone()
    train[..., 30:] = False
    m1 = GroupedLSTM(5, 3, 4, generator=g, dtype=torch.float64)
    m2 = GroupedLSTM(5, 3, 4, dtype=torch.float64)
    m2.load_state_dict(m1.state_dict())
    a = fit_compiled(m1, x, y, train, epochs=40, lr=0.05, val_mask=val)
    b = fit_grouped(m2, x, y, train, epochs=40, lr=0.05, val_mask=val)
    assert a.val_losses is not None and b.val_losses is not None
    np.testing.assert_allclose(a.val_losses, b.val_losses, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(a.best_epoch, b.best_epoch)
    assert len(set(a.best_epoch.tolist())) > 1
    np.testing.assert_allclose(a.final, b.final, rtol=0, atol=1e-10)
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p1.detach().numpy(), p2.detach().numpy(), rtol=0, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-100.0, 100.0, width=32), min_size=1, max_size=70))
def test_polynomial_sigmoid_and_tanh_stay_within_a_few_ulp(values: list[float]) -> None:
    a = np.asarray(values, dtype=np.float32)
    n = len(a)
    e = np.empty(n, np.float32)
    ib = np.empty(n, np.int32)
    out = np.empty(n, np.float32)
    one = np.float32(1.0)
    kern._squash(a, 0, out, 0, n, False, True, one, e, ib, ib.view(np.float32))
    exact = 1.0 / (1.0 + np.exp(-a.astype(np.float64)))
    np.testing.assert_allclose(out, exact, rtol=3e-7, atol=1e-30)
    kern._squash(a, 0, out, 0, n, True, True, one, e, ib, ib.view(np.float32))
    np.testing.assert_allclose(out, np.tanh(a.astype(np.float64)), rtol=0, atol=3e-7)


def test_bad_inputs_name_the_problem() -> None:
    _, x, y, mask = _data(3, 1, 10, 2, torch.float32)
    model = GroupedLSTM(3, 2, 2)
    with pytest.raises(DataError, match="needs x"):
        fit_compiled(model, x, y[:, 0], mask, epochs=1, lr=0.1)
    with pytest.raises(DataError, match="expects"):
        fit_compiled(GroupedLSTM(4, 2, 2), x, y, mask, epochs=1, lr=0.1)
    with pytest.raises(DataError, match="val_mask"):
        fit_compiled(model, x, y, mask, epochs=1, lr=0.1, val_mask=mask[:, :, :3])
    bad = x.clone()
    bad[1, 0, 4, 0] = float("nan")
    with pytest.raises(DataError, match="non-finite"):
        fit_compiled(model, bad, y, mask, epochs=2, lr=0.1)
