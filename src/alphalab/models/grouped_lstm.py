"""Many small independent LSTMs trained as ONE batched model (grouped weights).

The small-cap recipe fits one LSTM per stock. A Python loop over hundreds of
``torch.nn.LSTM`` modules spends nearly all its time in per-call overhead;
here the ``S`` models are one module whose parameters carry a leading group
dimension, so each time step is a single batched matrix product
(``torch.baddbmm``) over all stocks. Each stock keeps its own weights, its own
data and its own loss; the summed loss gives each stock's parameters exactly
the gradient of its own loss (the parameter sets are disjoint) and Adam works
element-wise, so training the group equals training the models one by one
(:func:`fit_looped` is that reference; the parity test holds them to 1e-6).

:func:`fit_compiled` does the same training without a torch graph: one numba
kernel (:mod:`alphalab.models.grouped_lstm_kernel`) runs every stock's forward,
backward through time and Adam step; it is the small-cap recipe's default
(29-40x the loop at 8 hidden units, BENCHMARKS.md) and is held to the same loop.

Shapes: ``S`` groups (stocks), ``B`` samples per group, ``T`` time steps,
``F`` inputs, ``H`` hidden units. Gate order and initialisation follow
``torch.nn.LSTM`` (input, forget, cell, output; ``U(-1/sqrt(H), 1/sqrt(H))``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphalab.errors import ConfigError, DataError

__all__ = ["GroupedFit", "GroupedLSTM", "fit_compiled", "fit_grouped", "fit_looped", "masked_group_mse"]


# samples per group up to which the recurrent product is a broadcast multiply-and-sum
_BROADCAST_MAX_B = 4


def _torch() -> Any:
    import torch

    return torch


def _module_base() -> type:
    return _torch().nn.Module


class GroupedLSTM(_module_base()):  # type: ignore[misc]
    """``S`` single-layer LSTMs with a linear head each, evaluated together.

    Parameters
    ----------
    n_groups : int
        ``S``, the number of independent models.
    n_inputs : int
        ``F``, features per time step.
    hidden : int
        ``H``, hidden units per model.
    generator : torch.Generator, optional
        Drives the initialisation (reproducible given its seed).
    dtype : torch.dtype, default float32
    """

    def __init__(self, n_groups: int, n_inputs: int, hidden: int, *, generator: Any = None, dtype: Any = None) -> None:
        torch = _torch()
        super().__init__()
        for name, v in (("n_groups", n_groups), ("n_inputs", n_inputs), ("hidden", hidden)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"GroupedLSTM.{name} must be an integer >= 1, got {v!r}")
        dtype = dtype or torch.float32
        S, F, H = int(n_groups), int(n_inputs), int(hidden)
        k = 1.0 / math.sqrt(H)

        def u(*shape: int) -> Any:
            return torch.nn.Parameter((torch.rand(*shape, generator=generator, dtype=dtype) * 2.0 - 1.0) * k)

        self.w_ih = u(S, 4 * H, F)
        self.w_hh = u(S, 4 * H, H)
        self.b_ih = u(S, 4 * H)
        self.b_hh = u(S, 4 * H)
        self.w_out = u(S, H)   # nn.Linear(H, 1) also draws from U(-1/sqrt(H), 1/sqrt(H))
        self.b_out = u(S)
        self.n_groups, self.n_inputs, self.hidden = S, F, H

    def forward(self, x: Any) -> Any:
        """A prediction at every time step (the head on each hidden state).

        Parameters
        ----------
        x : torch.Tensor, shape ``(S, B, T, F)``

        Returns
        -------
        torch.Tensor, shape ``(S, B, T)``
        """
        torch = _torch()
        S, B, T, F = x.shape
        if S != self.n_groups or F != self.n_inputs:
            raise DataError(f"GroupedLSTM expects (S={self.n_groups}, B, T, F={self.n_inputs}), got {tuple(x.shape)}")
        H = self.hidden
        # input projections of every step at once: (S, B*T, F) @ (S, F, 4H)
        xw = torch.baddbmm((self.b_ih + self.b_hh)[:, None, :], x.reshape(S, B * T, F),
                           self.w_ih.transpose(1, 2)).reshape(S, B, T, 4 * H)
        h = x.new_zeros(S, B, H)
        c = x.new_zeros(S, B, H)
        w_hh_t = self.w_hh.transpose(1, 2)
        # With few samples per group (one sequence per stock), a batched matmul of S tiny
        # matrices costs more than a broadcast multiply-and-sum of the same numbers (about 3x
        # measured at S=300, B=1, H=8); many samples per group keep the matmul.
        small = B <= _BROADCAST_MAX_B
        w_b = w_hh_t.unsqueeze(1) if small else None  # (S, 1, H, 4H)
        hs = []
        # unbind, not xw[:, :, t]: indexing's backward writes a full zero tensor per step (O(T^2))
        for xw_t in xw.unbind(dim=2):
            if small:
                g = xw_t + (h.unsqueeze(-1) * w_b).sum(-2)
            else:
                g = torch.baddbmm(xw_t, h, w_hh_t)
            # one sigmoid over all four gates (the cell gate's is unused): fewer tiny ops per step
            sig = torch.sigmoid(g)
            c = torch.addcmul(sig[..., H:2 * H] * c, sig[..., :H], torch.tanh(g[..., 2 * H:3 * H]))
            h = sig[..., 3 * H:] * torch.tanh(c)
            hs.append(h)
        hidden = torch.stack(hs, dim=2)  # (S, B, T, H)
        return torch.einsum("sbth,sh->sbt", hidden, self.w_out) + self.b_out[:, None, None]

    def to_modules(self) -> list[tuple[Any, Any]]:
        """``S`` pairs ``(torch.nn.LSTM, torch.nn.Linear)`` holding copies of each group's weights."""
        torch = _torch()
        out = []
        for s in range(self.n_groups):
            lstm = torch.nn.LSTM(self.n_inputs, self.hidden, batch_first=True, dtype=self.w_ih.dtype)
            head = torch.nn.Linear(self.hidden, 1, dtype=self.w_ih.dtype)
            with torch.no_grad():
                lstm.weight_ih_l0.copy_(self.w_ih[s])
                lstm.weight_hh_l0.copy_(self.w_hh[s])
                lstm.bias_ih_l0.copy_(self.b_ih[s])
                lstm.bias_hh_l0.copy_(self.b_hh[s])
                head.weight.copy_(self.w_out[s][None, :])
                head.bias.copy_(self.b_out[s][None])
            out.append((lstm, head))
        return out


def masked_group_mse(pred: Any, y: Any, mask: Any) -> Any:
    """Per-group mean squared error over valid entries, shape ``(S,)``.

    ``pred``, ``y``, ``mask`` have shape ``(S, ...)`` (e.g. ``(S, B, T)``); a
    group without valid entries has loss 0 (its parameters get no gradient).
    """
    torch = _torch()
    err = torch.where(mask, pred - y, torch.zeros_like(pred)).flatten(1)
    return (err * err).sum(1) / mask.flatten(1).sum(1).clamp(min=1)


@dataclass
class GroupedFit:
    """Per-group training curves.

    Attributes
    ----------
    losses : numpy.ndarray, shape ``(epochs, S)``
        Each group's training loss at each epoch, before that epoch's step.
    final : numpy.ndarray, shape ``(S,)``
        Training loss of the kept weights.
    val_losses : numpy.ndarray, shape ``(epochs + 1, S)``, optional
        Validation loss of the weights before each step and after the last.
    best_epoch : numpy.ndarray of int, shape ``(S,)``, optional
        Per group, the epoch whose weights were kept (``epochs``: the last ones).
    """

    losses: np.ndarray
    final: np.ndarray
    val_losses: np.ndarray | None = None
    best_epoch: np.ndarray | None = None


def _check_xy(x: Any, y: Any, mask: Any) -> None:
    if x.ndim != 4 or y.shape != x.shape[:3] or mask.shape != y.shape:
        raise DataError(f"grouped training needs x (S, B, T, F), y and mask (S, B, T); got {tuple(x.shape)}, "
                        f"{tuple(y.shape)}, {tuple(mask.shape)}")


def fit_grouped(model: GroupedLSTM, x: Any, y: Any, mask: Any, *, epochs: int, lr: float,
                val_mask: Any = None) -> GroupedFit:
    """Full-batch Adam on every group at once (the loss summed over groups).

    Parameters
    ----------
    model : GroupedLSTM
    x : torch.Tensor, shape ``(S, B, T, F)``
    y : torch.Tensor, shape ``(S, B, T)``
        Target at every step (e.g. the next return).
    mask : torch.BoolTensor, shape ``(S, B, T)``
        Steps that count in the training loss (label known, past the warm-up).
    epochs : int
        Full-batch steps.
    lr : float
        Adam learning rate.
    val_mask : torch.BoolTensor, shape ``(S, B, T)``, optional
        Validation steps (e.g. the end block of each window). Each group then
        keeps its own weights of the epoch with its lowest validation loss
        (per-group early stopping: the groups stay independent). The LSTM is
        causal, so the steps of the training loss never see validation inputs.
    """
    torch = _torch()
    _check_xy(x, y, mask)
    if val_mask is not None and val_mask.shape != mask.shape:
        raise DataError(f"val_mask has shape {tuple(val_mask.shape)}, expected {tuple(mask.shape)}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    S = model.n_groups
    curve = np.empty((epochs, S))
    val_curve = np.empty((epochs + 1, S)) if val_mask is not None else None
    best_val = torch.full((S,), float("inf"), dtype=torch.float64)
    best = [p.detach().clone() for p in model.parameters()]
    best_epoch = np.full(S, -1)

    def keep_best(v: Any, epoch: int) -> None:
        better = v.double() < best_val
        if better.any():
            best_val[better] = v.double()[better]
            best_epoch[better.numpy()] = epoch
            for b, p in zip(best, model.parameters(), strict=True):
                b[better] = p.detach()[better]

    for e in range(epochs):
        opt.zero_grad(set_to_none=True)
        out = model(x)
        per = masked_group_mse(out, y, mask)
        loss = per.sum()
        if not torch.isfinite(loss):
            raise DataError(f"grouped LSTM: non-finite loss at epoch {e}")
        if val_mask is not None:
            with torch.no_grad():
                v = masked_group_mse(out.detach(), y, val_mask)
            val_curve[e] = v.numpy()
            keep_best(v, e)  # the weights that produced this epoch's output, before its step
        loss.backward()
        opt.step()
        curve[e] = per.detach().cpu().numpy()
    with torch.no_grad():
        out = model(x)
        if val_mask is not None:
            v = masked_group_mse(out, y, val_mask)
            val_curve[epochs] = v.numpy()
            keep_best(v, epochs)
            for b, p in zip(best, model.parameters(), strict=True):
                p.copy_(b)
            out = model(x)
        final = masked_group_mse(out, y, mask).cpu().numpy()
    return GroupedFit(curve, final, val_curve, best_epoch if val_mask is not None else None)


def _numpy(a: Any) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def fit_compiled(model: GroupedLSTM, x: Any, y: Any, mask: Any, *, epochs: int, lr: float,
                 val_mask: Any = None, threads: int = 1) -> GroupedFit:
    """:func:`fit_grouped` done by the compiled kernel (:mod:`alphalab.models.grouped_lstm_kernel`).

    Same arguments and result (tensors or arrays); the module's weights are
    replaced by the trained (kept) ones. The kernel runs each stock's forward,
    backward through time and Adam step without a torch graph, in the module's
    dtype; ``threads`` numba threads share the stocks.
    """
    from alphalab.models import grouped_lstm_kernel as kern

    torch = _torch()
    xn, yn, mn = _numpy(x), _numpy(y), _numpy(mask).astype(bool)
    _check_xy(xn, yn, mn)
    if xn.shape[0] != model.n_groups or xn.shape[3] != model.n_inputs:
        raise DataError(f"GroupedLSTM expects (S={model.n_groups}, B, T, F={model.n_inputs}), got {tuple(xn.shape)}")
    vn = None
    if val_mask is not None:
        vn = _numpy(val_mask).astype(bool)
        if vn.shape != mn.shape:
            raise DataError(f"val_mask has shape {tuple(vn.shape)}, expected {tuple(mn.shape)}")
    with torch.no_grad():
        flat = kern.pack(*(_numpy(p) for p in (model.w_ih, model.w_hh, model.b_ih, model.b_hh, model.w_out,
                                              model.b_out)))
    losses, final, val_losses, best_epoch = kern.train_groups(
        flat, xn, yn, mn, hidden=model.hidden, epochs=int(epochs), lr=float(lr), val_mask=vn, threads=threads)
    if not (np.isfinite(losses).all() and np.isfinite(final).all()):
        bad = int(np.flatnonzero(~np.isfinite(losses).all(axis=1))[0]) if not np.isfinite(losses).all() else epochs
        raise DataError(f"grouped LSTM: non-finite loss at epoch {bad}")
    with torch.no_grad():
        for p, a in zip((model.w_ih, model.w_hh, model.b_ih, model.b_hh, model.w_out, model.b_out),
                        kern.unpack(flat, model.n_inputs, model.hidden), strict=True):
            p.copy_(torch.as_tensor(np.ascontiguousarray(a)))
    return GroupedFit(losses, final, val_losses, best_epoch)


def _single_loss(lstm: Any, head: Any, x: Any, y: Any, mask: Any) -> Any:
    """One model's masked MSE: ``x`` ``(B, T, F)``, ``y`` and ``mask`` ``(B, T)``."""
    out, _ = lstm(x)          # (B, T, H)
    pred = head(out)[..., 0]  # (B, T)
    return masked_group_mse(pred[None], y[None], mask[None])[0]


def fit_looped(modules: list[tuple[Any, Any]], x: Any, y: Any, mask: Any, *, epochs: int, lr: float) -> GroupedFit:
    """The reference: train each ``(nn.LSTM, nn.Linear)`` pair separately, same data and steps.

    Same arguments as :func:`fit_grouped` with the model given as
    :meth:`GroupedLSTM.to_modules` output (trained in place).
    """
    torch = _torch()
    _check_xy(x, y, mask)
    S = x.shape[0]
    curve = np.empty((epochs, S))
    final = np.empty(S)
    for s in range(S):
        lstm, head = modules[s]
        opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=lr)
        for e in range(epochs):
            opt.zero_grad(set_to_none=True)
            loss = _single_loss(lstm, head, x[s], y[s], mask[s])
            loss.backward()
            opt.step()
            curve[e, s] = float(loss.detach())
        with torch.no_grad():
            final[s] = float(_single_loss(lstm, head, x[s], y[s], mask[s]))
    return GroupedFit(curve, final)
