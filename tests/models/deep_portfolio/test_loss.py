"""The Sharpe loss: (std, mean) order, numpy twin, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from alphalab.models.deep_portfolio.loss import (
    portfolio_returns,
    portfolio_returns_numpy,
    sharpe_loss,
    sharpe_loss_numpy,
)


def _data(seed: int = 0, n: int = 40, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k), size=n)
    r = rng.normal(0.0005, 0.01, size=(n, k))
    s = rng.uniform(0.5, 2.0, size=(n, k))
    return w, r, s


def test_std_mean_order_is_guarded() -> None:
    # torch.std_mean returns (std, mean): a loss that unpacks them the other way round
    # gives std / mean, which this test tells apart from the Sharpe ratio.
    x = torch.tensor([0.01, 0.03, -0.02, 0.04], dtype=torch.float64)
    std, mean = torch.std_mean(x)
    assert math.isclose(float(mean), 0.015) and math.isclose(float(std), float(np.std(x.numpy(), ddof=1)))
    w = torch.ones(4, 1, dtype=torch.float64)
    loss = float(sharpe_loss(w, x[:, None], periods_per_year=1.0))
    assert loss == pytest.approx(-0.015 / np.std(x.numpy(), ddof=1), rel=1e-9)
    assert loss != pytest.approx(-np.std(x.numpy(), ddof=1) / 0.015, rel=1e-3)


@pytest.mark.parametrize("cost", [0.0, 1e-4, 1e-3])
@pytest.mark.parametrize("scaled", [False, True])
def test_loss_matches_numpy(cost: float, scaled: bool) -> None:
    w, r, s = _data()
    scale = s if scaled else None
    got = float(sharpe_loss(torch.from_numpy(w), torch.from_numpy(r), cost=cost,
                            scale=None if scale is None else torch.from_numpy(scale)))
    assert got == pytest.approx(sharpe_loss_numpy(w, r, cost=cost, scale=scale), rel=1e-10)
    rp = portfolio_returns_numpy(w, r, cost=cost, scale=scale)
    eff = w * (s if scaled else 1.0)
    turnover = np.abs(np.diff(eff, axis=0)).sum(axis=1)
    assert np.allclose(rp[1:], (eff * r).sum(axis=1)[1:] - cost * turnover)
    assert rp[0] == pytest.approx((eff[0] * r[0]).sum())  # the first sample of a batch pays no turnover


def test_gradient_matches_finite_differences_of_numpy() -> None:
    w, r, s = _data(seed=1, n=12, k=3)
    wt = torch.from_numpy(w).requires_grad_(True)
    sharpe_loss(wt, torch.from_numpy(r), cost=5e-4, scale=torch.from_numpy(s)).backward()
    grad = wt.grad.numpy()
    h = 1e-7
    num = np.zeros_like(w)
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            up, dn = w.copy(), w.copy()
            up[i, j] += h
            dn[i, j] -= h
            num[i, j] = (sharpe_loss_numpy(up, r, cost=5e-4, scale=s)
                         - sharpe_loss_numpy(dn, r, cost=5e-4, scale=s)) / (2 * h)
    assert np.allclose(grad, num, rtol=1e-4, atol=1e-6)


def test_gradcheck_float64() -> None:
    w, r, s = _data(seed=2, n=10, k=3)
    # away from |x| = 0 so the turnover's kink is not straddled by the finite difference
    wt = torch.from_numpy(w).requires_grad_(True)
    rt = torch.from_numpy(r).requires_grad_(True)
    st_ = torch.from_numpy(s)
    assert torch.autograd.gradcheck(lambda a, b: sharpe_loss(a, b, cost=1e-3, scale=st_), (wt, rt))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(1, 5), st.integers(0, 10_000))
def test_portfolio_returns_twin(n: int, k: int, seed: int) -> None:
    w, r, s = _data(seed, n, k)
    got = portfolio_returns(torch.from_numpy(w), torch.from_numpy(r), cost=2e-4, scale=torch.from_numpy(s))
    assert np.allclose(got.numpy(), portfolio_returns_numpy(w, r, cost=2e-4, scale=s), rtol=1e-12, atol=1e-15)


def test_sharpe_is_scale_invariant_and_sign_correct() -> None:
    w, r, _ = _data(seed=3)
    a = sharpe_loss_numpy(w, r)
    assert sharpe_loss_numpy(w, 3.0 * r) == pytest.approx(a, rel=1e-9)
    up = np.abs(r) + 0.001  # all returns positive: a positive Sharpe, a negative loss
    assert sharpe_loss_numpy(w, up) < 0
