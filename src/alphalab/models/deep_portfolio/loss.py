"""The differentiable Sharpe loss of the deep portfolio (Zhang, Zohren and Roberts, 2020).

The network's weights ``w_t`` (decided at the close of ``t``) earn the next
period's asset returns ``r_{t+1}``; optionally each asset is scaled by the
volatility-scaling layer ``s_{i,t} = sigma_target / sigma_{i,t}`` (the paper's
per-asset scaling, ``sigma`` an ex-ante estimate known at ``t``) and a
proportional cost ``C * sum_i |e_{i,t} - e_{i,t-1}|`` is charged on the change
of the effective weights ``e = w * s`` between consecutive samples of a batch
(batches are contiguous in time so that this difference is a real turnover;
the first sample of a batch pays none).

The loss is minus the annualised Sharpe ratio of the batch's portfolio
returns. The founding code wrote ``mean, std = torch.std_mean(x)``, but torch
returns ``(std, mean)``, so it maximised ``std / mean``; this module unpacks
in torch's order and a test guards it against numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["portfolio_returns", "portfolio_returns_numpy", "sharpe_loss", "sharpe_loss_numpy"]


def portfolio_returns(weights: Any, returns: Any, *, cost: float = 0.0, scale: Any = None) -> Any:
    """Per-sample portfolio returns net of proportional turnover cost (torch).

    Parameters
    ----------
    weights : torch.Tensor, shape ``(batch, n_assets)``
        Weights decided at each sample's date, consecutive samples consecutive in time.
    returns : torch.Tensor, shape ``(batch, n_assets)``
        The asset returns those weights earn (NaN-free: missing assets carry 0).
    cost : float
        Proportional cost per unit of turnover (1 bp = ``1e-4``).
    scale : torch.Tensor, shape ``(batch, n_assets)``, optional
        Volatility-scaling factors ``sigma_target / sigma_{i,t}``.

    Returns
    -------
    torch.Tensor, shape ``(batch,)``
    """
    import torch

    eff = weights if scale is None else weights * scale
    gross = (eff * returns).sum(dim=1)
    if cost and eff.shape[0] > 1:
        turnover = (eff[1:] - eff[:-1]).abs().sum(dim=1)
        gross = gross - cost * torch.cat([turnover.new_zeros(1), turnover])
    return gross


def sharpe_loss(weights: Any, returns: Any, *, cost: float = 0.0, scale: Any = None,
                periods_per_year: float = 252.0, eps: float = 1e-12) -> Any:
    """Minus the annualised Sharpe ratio of :func:`portfolio_returns` (a scalar tensor).

    The standard deviation is the sample one (``correction=1``), as in
    :func:`alphalab.metrics.sharpe`; ``eps`` keeps a constant batch finite.
    """
    import torch

    rp = portfolio_returns(weights, returns, cost=cost, scale=scale)
    std, mean = torch.std_mean(rp)  # torch's order is (std, mean): the founding code swapped them
    return -(mean / (std + eps)) * math.sqrt(periods_per_year)


def portfolio_returns_numpy(weights: np.ndarray, returns: np.ndarray, *, cost: float = 0.0,
                            scale: np.ndarray | None = None) -> np.ndarray:
    """Plain numpy twin of :func:`portfolio_returns` (shapes as there)."""
    eff = weights if scale is None else weights * scale
    gross = (eff * returns).sum(axis=1)
    if cost and len(eff) > 1:
        gross = gross - cost * np.concatenate([[0.0], np.abs(np.diff(eff, axis=0)).sum(axis=1)])
    return gross


def sharpe_loss_numpy(weights: np.ndarray, returns: np.ndarray, *, cost: float = 0.0,
                      scale: np.ndarray | None = None, periods_per_year: float = 252.0,
                      eps: float = 1e-12) -> float:
    """Plain numpy twin of :func:`sharpe_loss`."""
    rp = portfolio_returns_numpy(weights, returns, cost=cost, scale=scale)
    return float(-(rp.mean() / (rp.std(ddof=1) + eps)) * math.sqrt(periods_per_year))
