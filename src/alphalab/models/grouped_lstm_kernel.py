"""Compiled training of many small independent LSTMs: forward, backpropagation through time and Adam.

:func:`alphalab.models.grouped_lstm.fit_grouped` trains ``S`` per-stock LSTMs as
one torch graph; at a few hidden units that graph is ~30 tiny tensor ops per
time step plus autograd bookkeeping, which costs far more than the arithmetic.
This module does the same training in one numba kernel: for each stock and
each epoch it runs the LSTM forward over the stock's sequences, the
hand-written backward through time of the masked mean squared error, and
torch's Adam update, all in the parameters' dtype (float32 by default, like
torch). The stocks sit side by side in SIMD lanes (blocks of :data:`LANES`);
blocks can run on several threads (the kernel releases the GIL).

What it reproduces (checked against a loop of ``torch.nn.LSTM`` +
``torch.nn.Linear`` + ``torch.optim.Adam`` models in
``tests/models/test_grouped_lstm_kernel.py``, the outside reference):

* ``torch.nn.LSTM``'s gate order (input, forget, cell, output), its two bias
  vectors (both get the same gradient and each its own Adam state), the head
  ``nn.Linear(H, 1)``;
* the loss ``sum(mask * (pred - y)^2) / max(sum(mask), 1)`` per stock;
* torch's single-tensor Adam (``torch/optim/adam.py``, no weight decay, no
  amsgrad): ``m = lerp(m, g, 1 - beta1)``, ``v = v * beta2 + (1 - beta2) g^2``,
  ``denom = sqrt(v) / sqrt(1 - beta2^t) + eps``,
  ``p += (-lr / (1 - beta1^t)) * m / denom`` with the scalars rounded to the
  parameters' dtype as ATen does.

Parameter layout of one stock (a flat vector of length
``4H*F + 4H*H + 4H + 4H + H + 1``): ``w_ih`` (4H, F) row-major, ``w_hh``
(4H, H), ``b_ih`` (4H), ``b_hh`` (4H), ``w_out`` (H), ``b_out`` (1).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["n_params", "pack", "train_groups", "unpack"]


def n_params(n_inputs: int, hidden: int) -> int:
    """Length of one stock's flat parameter vector."""
    g = 4 * hidden
    return g * n_inputs + g * hidden + 2 * g + hidden + 1


def pack(w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray, w_out: np.ndarray,
         b_out: np.ndarray) -> np.ndarray:
    """Per-stock parameter arrays (leading axis ``S``) into one ``(S, n_params)`` array."""
    S = w_ih.shape[0]
    parts = [w_ih.reshape(S, -1), w_hh.reshape(S, -1), b_ih.reshape(S, -1), b_hh.reshape(S, -1),
             w_out.reshape(S, -1), b_out.reshape(S, -1)]
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def unpack(flat: np.ndarray, n_inputs: int, hidden: int) -> tuple[np.ndarray, ...]:
    """Inverse of :func:`pack`: ``w_ih (S,4H,F), w_hh (S,4H,H), b_ih (S,4H), b_hh (S,4H), w_out (S,H), b_out (S,)``."""
    S, G, F, H = flat.shape[0], 4 * hidden, n_inputs, hidden
    cuts = np.cumsum([G * F, G * H, G, G, H])
    a, b, c, d, e, f = np.split(flat, cuts, axis=1)
    return a.reshape(S, G, F), b.reshape(S, G, H), c, d, e, f[:, 0]


#: stocks per SIMD block: every loop's innermost axis runs over the stocks of a block (each
#: lane does exactly one stock's arithmetic, in the same order), so the loops vectorise without
#: reassociating any sum. 32 (two AVX-512 registers of float32) measured best per stock among
#: 16 / 32 / 64 while keeping the padding small at the recipe's 20 stocks (BENCHMARKS.md).
LANES = 32


# float32 exp by range reduction and a degree-7 polynomial (the Cephes expf scheme): pure arithmetic,
# so the gate loops vectorise (numba has no vector math library here); within 2 ulp of libm's expf.
_LOG2E = np.float32(1.44269504088896341)
_HALF = np.float32(0.5)
_C1 = np.float32(0.693359375)
_C2 = np.float32(-2.12194440e-4)
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)
_ZLO = np.float32(-87.0)
_ZHI = np.float32(88.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _squash(a, ao, out, oo, n, is_tanh, fast, one, e, ib, fb):  # pragma: no cover - compiled
    """``out[oo:oo+n] = sigmoid(a[ao:ao+n])`` or ``tanh(...)`` (1-d arrays).

    ``fast`` (float32): ``sigmoid(z) = 1 / (1 + exp(-z))`` and ``tanh(z) = 2 sigmoid(2z) - 1`` with the
    vectorisable exp above, ``e``/``ib``/``fb`` scratch (``fb`` is ``ib`` viewed as float32: 2^k built
    from its exponent bits). Otherwise the library's exp and tanh.
    """
    if fast:
        scale = one + one if is_tanh else one
        for i in range(n):
            z = -scale * a[ao + i]
            z = min(max(z, _ZLO), _ZHI)
            k = np.floor(z * _LOG2E + _HALF)
            r = z - k * _C1 - k * _C2
            e[i] = (((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5) * r * r + r + one
            ib[i] = (np.int32(k) + np.int32(127)) << np.int32(23)
        if is_tanh:
            for i in range(n):
                out[oo + i] = (one + one) / (one + e[i] * fb[i]) - one
        else:
            for i in range(n):
                out[oo + i] = one / (one + e[i] * fb[i])
    elif is_tanh:
        for i in range(n):
            out[oo + i] = math.tanh(a[ao + i])
    else:
        for i in range(n):
            out[oo + i] = one / (one + math.exp(-a[ao + i]))


@njit(cache=True, error_model="numpy")
def _forward(p, x, y, mask, val, F, H, one, fast, acc, gates, cs, tcs, hs, pred, sse, cnt, vse, vcnt):  # pragma: no cover
    """Forward over every sequence of one block of stocks (lanes); losses summed per lane.

    ``p`` (n_params, L); ``x`` (B, T, F, L); ``y``, ``mask``, ``val`` (B, T, L).
    Stores what the backward pass reads: ``gates`` (B, T, 4H, L) after their
    nonlinearity, ``cs`` and ``tcs`` = tanh(cs) and ``hs`` (B, T, H, L), ``pred`` (B, T, L).
    """
    nl = p.shape[1]  # a run-time trip count: the loop vectoriser (with alias checks) handles it
    B, T = y.shape[0], y.shape[1]
    G = 4 * H
    o_hh = G * F
    o_bi = o_hh + G * H
    o_bh = o_bi + G
    o_wo = o_bh + G
    o_bo = o_wo + H
    zc = np.zeros((H, nl), dtype=p.dtype)  # the state before the first step
    acc1 = acc.reshape(-1)
    ga1 = gates.reshape(-1)
    cs1 = cs.reshape(-1)
    tcs1 = tcs.reshape(-1)
    scratch = np.empty(2 * H * nl, dtype=p.dtype)
    ib = np.empty(2 * H * nl, dtype=np.int32)
    fb = ib.view(np.float32)
    for q in range(nl):
        sse[q] = 0.0
        cnt[q] = 0
        vse[q] = 0.0
        vcnt[q] = 0
    for b in range(B):
        for t in range(T):
            # per-step views: 2-d, C-contiguous, the lanes last (what the vectoriser wants)
            xt = x[b, t]
            ga = gates[b, t]
            ct = cs[b, t]
            tct = tcs[b, t]
            ht = hs[b, t]
            pr = pred[b, t]
            # gate pre-activations: both biases, the input projection, the recurrent product
            for k in range(G):
                for q in range(nl):
                    acc[k, q] = p[o_bi + k, q] + p[o_bh + k, q]
                for f in range(F):
                    for q in range(nl):
                        acc[k, q] += p[k * F + f, q] * xt[f, q]
            if t > 0:
                hp = hs[b, t - 1]
                cp = cs[b, t - 1]
                for k in range(G):
                    for j in range(H):
                        for q in range(nl):
                            acc[k, q] += p[o_hh + k * H + j, q] * hp[j, q]
            else:
                cp = zc
            # the nonlinearities on flat runs of (gate, lane): i and f, g, o; then the cell's tanh
            og = (b * T + t) * G * nl
            oc = (b * T + t) * H * nl
            _squash(acc1, 0, ga1, og, 2 * H * nl, False, fast, one, scratch, ib, fb)
            _squash(acc1, 2 * H * nl, ga1, og + 2 * H * nl, H * nl, True, fast, one, scratch, ib, fb)
            _squash(acc1, 3 * H * nl, ga1, og + 3 * H * nl, H * nl, False, fast, one, scratch, ib, fb)
            for j in range(H):
                for q in range(nl):
                    ct[j, q] = ga[H + j, q] * cp[j, q] + ga[j, q] * ga[2 * H + j, q]
            _squash(cs1, oc, tcs1, oc, H * nl, True, fast, one, scratch, ib, fb)
            for q in range(nl):
                pr[q] = p[o_bo, q]
            for j in range(H):
                for q in range(nl):
                    ht[j, q] = ga[3 * H + j, q] * tct[j, q]
                    pr[q] += p[o_wo + j, q] * ht[j, q]
            for q in range(nl):
                e = float(pr[q] - y[b, t, q])
                if mask[b, t, q]:
                    sse[q] += e * e
                    cnt[q] += 1
                if val[b, t, q]:
                    vse[q] += e * e
                    vcnt[q] += 1


@njit(cache=True, error_model="numpy")
def _backward(p, grad, x, y, mask, inv, F, H, one, gates, cs, tcs, hs, pred, dh, dc, dg):  # pragma: no cover
    """Gradient of each lane's masked MSE into ``grad`` (n_params, L), backward through time."""
    nl = p.shape[1]  # a run-time trip count: the loop vectoriser (with alias checks) handles it
    B, T = y.shape[0], y.shape[1]
    G = 4 * H
    o_hh = G * F
    o_bi = o_hh + G * H
    o_bh = o_bi + G
    o_wo = o_bh + G
    o_bo = o_wo + H
    zero = one - one
    grad[:] = zero
    dp = np.empty(nl, dtype=grad.dtype)
    zc = np.zeros((H, nl), dtype=p.dtype)
    for b in range(B):
        dh[:] = zero
        dc[:] = zero
        for t in range(T - 1, -1, -1):
            ga = gates[b, t]
            tct = tcs[b, t]
            ht = hs[b, t]
            xt = x[b, t]
            cp = cs[b, t - 1] if t > 0 else zc
            # d loss / d pred = err / n + err / n (torch's backward of err * err, summed, / n)
            for q in range(nl):
                e = pred[b, t, q] - y[b, t, q]
                dp[q] = e * inv[q] + e * inv[q] if mask[b, t, q] else zero
                grad[o_bo, q] += dp[q]
            for j in range(H):
                for q in range(nl):
                    grad[o_wo + j, q] += dp[q] * ht[j, q]
                    dh[j, q] += dp[q] * p[o_wo + j, q]
            for j in range(H):
                for q in range(nl):
                    ig = ga[j, q]
                    fg = ga[H + j, q]
                    gg = ga[2 * H + j, q]
                    og = ga[3 * H + j, q]
                    tc = tct[j, q]
                    dcj = dh[j, q] * og * (one - tc * tc) + dc[j, q]
                    dg[j, q] = dcj * gg * ig * (one - ig)
                    dg[H + j, q] = dcj * cp[j, q] * fg * (one - fg)
                    dg[2 * H + j, q] = dcj * ig * (one - gg * gg)
                    dg[3 * H + j, q] = dh[j, q] * tc * og * (one - og)
                    dc[j, q] = dcj * fg
            for k in range(G):
                for q in range(nl):
                    grad[o_bi + k, q] += dg[k, q]
                for f in range(F):
                    for q in range(nl):
                        grad[k * F + f, q] += dg[k, q] * xt[f, q]
            if t > 0:
                hp = hs[b, t - 1]
                dh[:] = zero
                for k in range(G):
                    for j in range(H):
                        for q in range(nl):
                            grad[o_hh + k * H + j, q] += dg[k, q] * hp[j, q]
                            dh[j, q] += dg[k, q] * p[o_hh + k * H + j, q]
    for k in range(G):
        for q in range(nl):
            grad[o_bh + k, q] = grad[o_bi + k, q]  # b_ih and b_hh enter the gates the same way


@njit(cache=True, error_model="numpy")
def _adam(p, grad, m, v, consts, neg_step, bc2_sqrt):  # pragma: no cover - compiled
    """torch.optim.Adam's single-tensor update; ``consts`` = (1 - beta1, beta2, 1 - beta2, eps) in the
    parameters' dtype, ``neg_step`` = -lr / (1 - beta1^t) and ``bc2_sqrt`` = sqrt(1 - beta2^t) likewise."""
    nl = p.shape[1]  # a run-time trip count: the loop vectoriser (with alias checks) handles it
    w1 = consts[0]
    b2 = consts[1]
    w2 = consts[2]
    e = consts[3]
    for i in range(p.shape[0]):
        for q in range(nl):
            g = grad[i, q]
            mi = m[i, q] + w1 * (g - m[i, q])    # ATen lerp for weight < 0.5
            vi = v[i, q] * b2
            vi = vi + w2 * g * g                 # addcmul: self + value * t1 * t2
            m[i, q] = mi
            v[i, q] = vi
            denom = math.sqrt(vi) / bc2_sqrt + e
            p[i, q] = p[i, q] + neg_step * mi / denom   # addcdiv: self + value * t1 / t2


@njit(cache=True, nogil=True, error_model="numpy")
def _train_block(p, x, y, mask, val, has_val, F, H, epochs, consts, neg_steps, bc2_sqrts, one, fast,
                 losses, val_losses, best_epoch, final):  # pragma: no cover - compiled
    """All epochs of one block of stocks; fills ``losses`` (epochs, L), ``val_losses`` (epochs + 1, L),
    ``best_epoch`` and ``final`` (L,) and leaves the kept weights in ``p``."""
    B, T = y.shape[0], y.shape[1]
    G = 4 * H
    dt = p.dtype
    acc = np.empty((G, LANES), dtype=dt)
    gates = np.empty((B, T, G, LANES), dtype=dt)
    cs = np.empty((B, T, H, LANES), dtype=dt)
    tcs = np.empty((B, T, H, LANES), dtype=dt)
    hs = np.empty((B, T, H, LANES), dtype=dt)
    pred = np.empty((B, T, LANES), dtype=dt)
    dh = np.empty((H, LANES), dtype=dt)
    dc = np.empty((H, LANES), dtype=dt)
    dg = np.empty((G, LANES), dtype=dt)
    grad = np.empty_like(p)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    best = p.copy()
    sse = np.empty(LANES)
    vse = np.empty(LANES)
    cnt = np.empty(LANES, dtype=np.int64)
    vcnt = np.empty(LANES, dtype=np.int64)
    inv = np.empty(LANES, dtype=dt)      # 1 / count rounded to the dtype, as torch's grad / count
    best_val = np.full(LANES, np.inf)
    best_epoch[:] = -1
    for e in range(epochs + 1):
        _forward(p, x, y, mask, val, F, H, one, fast, acc, gates, cs, tcs, hs, pred, sse, cnt, vse, vcnt)
        for q in range(LANES):
            n = max(cnt[q], 1)
            if e < epochs:
                losses[e, q] = sse[q] / n
            else:
                final[q] = sse[q] / n
            inv[q] = n
            inv[q] = one / inv[q]
            if has_val:
                vl = vse[q] / max(vcnt[q], 1)
                val_losses[e, q] = vl
                if vl < best_val[q]:  # the weights that produced this epoch's output, before its step
                    best_val[q] = vl
                    best_epoch[q] = e
                    for i in range(p.shape[0]):
                        best[i, q] = p[i, q]
        if e == epochs:
            break
        _backward(p, grad, x, y, mask, inv, F, H, one, gates, cs, tcs, hs, pred, dh, dc, dg)
        _adam(p, grad, m, v, consts, neg_steps[e], bc2_sqrts[e])
    if has_val:
        changed = False
        for q in range(LANES):
            if best_epoch[q] < epochs:
                changed = True
                for i in range(p.shape[0]):
                    p[i, q] = best[i, q]
        if changed:
            _forward(p, x, y, mask, val, F, H, one, fast, acc, gates, cs, tcs, hs, pred, sse, cnt, vse, vcnt)
            for q in range(LANES):
                final[q] = sse[q] / max(cnt[q], 1)
    else:
        best_epoch[:] = epochs


def _blocks(a: np.ndarray, n_blocks: int, dtype: type) -> np.ndarray:
    """``(S, ...)`` -> ``(n_blocks, ..., LANES)`` C-contiguous, the stock axis last, padded with zeros."""
    S = a.shape[0]
    pad = np.zeros((n_blocks * LANES, *a.shape[1:]), dtype=dtype)
    pad[:S] = a
    pad = pad.reshape(n_blocks, LANES, *a.shape[1:])
    return np.ascontiguousarray(np.moveaxis(pad, 1, -1))


def train_groups(
    params: np.ndarray, x: np.ndarray, y: np.ndarray, mask: np.ndarray, *, hidden: int, epochs: int, lr: float,
    val_mask: np.ndarray | None = None, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
    threads: int = 1, fast_exp: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Train every stock's LSTM in place with full-batch Adam.

    Parameters
    ----------
    params : numpy.ndarray, shape ``(S, n_params)``, float32 or float64
        Flat parameters (:func:`pack`), updated in place.
    x : numpy.ndarray, shape ``(S, B, T, F)``
    y : numpy.ndarray, shape ``(S, B, T)``
    mask, val_mask : numpy.ndarray of bool, shape ``(S, B, T)``
        Steps of the training loss / of the validation loss (optional: each
        stock then keeps the weights of its lowest validation loss).
    threads : int
        Python threads sharing the blocks of stocks (the compiled kernel releases the GIL).
    fast_exp : bool, default True
        float32 only: the gates' exp from the vectorisable polynomial (:func:`_squash`) rather
        than libm's (the same to about 2 ulp; about twice as fast overall).

    Returns
    -------
    losses : ``(epochs, S)`` training loss before each step
    final : ``(S,)`` training loss of the kept weights
    val_losses : ``(epochs + 1, S)`` or None
    best_epoch : ``(S,)`` int or None
    """
    dt = params.dtype
    S, F = x.shape[0], x.shape[3]
    nb = -(-S // LANES)
    has_val = val_mask is not None
    xb = _blocks(np.asarray(x), nb, dt)
    yb = _blocks(np.asarray(y), nb, dt)
    mb = _blocks(np.asarray(mask), nb, np.bool_)   # padded lanes: no loss, no gradient
    vb = _blocks(np.asarray(val_mask), nb, np.bool_) if has_val else np.zeros_like(mb)
    pb = _blocks(params, nb, dt)
    losses = np.zeros((nb, epochs, LANES))
    val_losses = np.full((nb, epochs + 1, LANES), np.nan)
    best_epoch = np.full((nb, LANES), epochs, dtype=np.int64)
    final = np.zeros((nb, LANES))
    beta1, beta2 = float(betas[0]), float(betas[1])
    # Adam's scalars as torch computes them (Python floats), then rounded to the dtype as ATen does
    consts = np.array([1 - beta1, beta2, 1 - beta2, eps], dtype=dt)
    steps = range(1, epochs + 1)
    neg_steps = np.array([-(float(lr) / (1 - beta1 ** t)) for t in steps], dtype=dt)
    bc2_sqrts = np.array([(1 - beta2 ** t) ** 0.5 for t in steps], dtype=dt)
    fast = bool(fast_exp) and dt == np.float32

    def block(c: int) -> None:
        _train_block(pb[c], xb[c], yb[c], mb[c], vb[c], has_val, F, int(hidden), int(epochs), consts, neg_steps,
                     bc2_sqrts, dt.type(1.0), fast, losses[c], val_losses[c], best_epoch[c], final[c])

    # Python threads over blocks (the kernel releases the GIL), not numba's parallel layer: its
    # OpenMP pool spins beside torch's and slowed torch code in the same process ~30x (measured)
    if threads > 1 and nb > 1:
        with ThreadPoolExecutor(min(int(threads), nb)) as pool:
            list(pool.map(block, range(nb)))
    else:
        for c in range(nb):
            block(c)
    params[:] = np.moveaxis(pb, -1, 1).reshape(nb * LANES, -1)[:S]

    def unblock(a: np.ndarray) -> np.ndarray:  # (nb, ..., LANES) -> (..., S)
        return np.moveaxis(a, 0, -2).reshape(*a.shape[1:-1], nb * LANES)[..., :S]

    return (unblock(losses), unblock(final), unblock(val_losses) if has_val else None,
            unblock(best_epoch) if has_val else None)
