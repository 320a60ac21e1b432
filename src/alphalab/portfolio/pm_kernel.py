"""The position manager's state machine, compiled (numba); the plain twin is ``pm_kernel_py``.

Signals arrive as one float64 array ``sig`` of shape ``(N_SIG, n_bars, n_assets)``
(row order in :data:`SIG`), all known at the close of each bar. Per asset the
machine holds a side, a signed target weight, the number of adds, bars held, the
bar of the last open / add / exit and the decision price. Each bar, in order:

1. holding: exit (stop, take-profit, time, direction flip, edge decay, market risk,
   missing price) -> else reduce once (position risk) -> else add (max adds,
   cooldown, minimum edge, continuation probability, direction still valid);
2. flat, and ``reentry_bars`` after the last exit: open when every entry threshold
   passes, on the side with the larger direction probability.

Sizing: ``base_ratio * (1 + min(edge / edge_scale, edge_cap)) * (1 - risk_discount * risk)
* (1 - uncertainty_penalty * (1 - p_side))``, capped by ``max_position`` and by
``liquidity_use * liq`` (``liq``: the bar's traded value over capital). Rows whose
gross exceeds ``max_gross`` are scaled down (the engine never sees more than it can buy).

Trade accounting for the search (weight units, bar returns ``ret`` = the return a
position decided at ``t`` earns, open ``t+1`` -> open ``t+2``): a round trip's edge
in bps per unit of peak size is ``1e4 * sum(w * ret) / peak - half_cost * sum(|dw|) / peak``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from alphalab.portfolio.pm_config import CFG

__all__ = ["EVENTS", "N_SIG", "SIG", "pm_run", "pm_search_stateful", "pm_search_stateless", "pm_stateless_trades"]

SIG: dict[str, int] = {name: i for i, name in enumerate((
    "p_long", "p_short", "p_entry_long", "p_entry_short", "edge_long", "edge_short",
    "risk_market", "risk_long", "risk_short", "liq", "price", "ret"))}
N_SIG = len(SIG)

EVENTS: dict[int, str] = {0: "none", 1: "open", 2: "add", 3: "reduce", 10: "exit_stop", 11: "exit_take_profit",
                          12: "exit_time", 13: "exit_flip", 14: "exit_edge", 15: "exit_market_risk",
                          16: "exit_no_price", 17: "exit_end"}

# cfg indices as compile-time constants
_E_DIR, _E_MARGIN, _E_ENTRY, _E_EDGE, _E_MR, _E_PR = (CFG[f"entry.{k}"] for k in (
    "dir_min", "margin_min", "entry_min", "edge_min_bps", "market_risk_max", "position_risk_max"))
_A_MAX, _A_COOL, _A_EDGE, _A_CONT = (CFG[f"add.{k}"] for k in ("max_adds", "cooldown_bars", "min_edge_bps",
                                                                 "min_continuation"))
_R_RISK, _R_FRAC = CFG["reduce.position_risk"], CFG["reduce.fraction"]
_X_HOLD, _X_STOP, _X_TP, _X_EDGE, _X_MR, _X_RE = (CFG[f"exit.{k}"] for k in (
    "max_hold_bars", "stop_bps", "take_profit_bps", "min_edge_bps", "market_risk", "reentry_bars"))
_S_BASE, _S_SCALE, _S_CAP, _S_RISK, _S_UNC, _S_LIQ, _S_MAX, _S_GROSS, _S_SHORT = (CFG[f"sizing.{k}"] for k in (
    "base_ratio", "edge_scale_bps", "edge_cap", "risk_discount", "uncertainty_penalty", "liquidity_use",
    "max_position", "max_gross", "allow_short"))

# state columns
_SIDE, _W, _ADDS, _HELD, _LAST_IN, _LAST_OUT, _PX, _REDUCED = range(8)
N_STATE = 8


@nb.njit(cache=True, inline="always")
def _size(cfg, edge, risk, p_side, liq):
    strength = edge / cfg[_S_SCALE] if cfg[_S_SCALE] > 0 else 0.0
    strength = min(max(strength, 0.0), cfg[_S_CAP])
    s = cfg[_S_BASE] * (1.0 + strength) * (1.0 - cfg[_S_RISK] * min(max(risk, 0.0), 1.0))
    s *= 1.0 - cfg[_S_UNC] * min(max(1.0 - p_side, 0.0), 1.0)
    cap = cfg[_S_MAX]
    if liq == liq:  # liquidity known
        cap = min(cap, cfg[_S_LIQ] * liq)
    return max(min(s, cap), 0.0), cap


@nb.njit(cache=True)
def _step(sig, cfg, st, t, j):
    """Advance asset ``j`` to bar ``t`` given the bar-major signals ``sig`` (shape ``(n_bars, n_assets, N_SIG)``);
    returns the event code (the new weight is ``st[j, _W]``)."""
    pl, ps = sig[t, j, 0], sig[t, j, 1]
    px = sig[t, j, 10]
    side = st[j, _SIDE]
    if side != 0.0:
        st[j, _HELD] += 1.0
        if side > 0:
            p_side, p_opp, p_in, edge, risk = pl, ps, sig[t, j, 2], sig[t, j, 4], sig[t, j, 7]
        else:
            p_side, p_opp, p_in, edge, risk = ps, pl, sig[t, j, 3], sig[t, j, 5], sig[t, j, 8]
        reason = 0
        if not (px > 0.0):
            reason = 16
        else:
            upnl = side * (px / st[j, _PX] - 1.0) * 1e4
            if upnl <= -cfg[_X_STOP]:
                reason = 10
            elif upnl >= cfg[_X_TP]:
                reason = 11
            elif st[j, _HELD] >= cfg[_X_HOLD]:
                reason = 12
            elif p_opp >= cfg[_E_DIR] and p_opp - p_side >= cfg[_E_MARGIN]:
                reason = 13
            elif edge < cfg[_X_EDGE]:
                reason = 14
            elif sig[t, j, 6] >= cfg[_X_MR]:
                reason = 15
        if reason != 0:
            st[j, _SIDE] = 0.0
            st[j, _W] = 0.0
            st[j, _LAST_OUT] = t
            return reason
        if risk >= cfg[_R_RISK] and st[j, _REDUCED] == 0.0 and cfg[_R_FRAC] > 0.0:
            st[j, _W] *= 1.0 - cfg[_R_FRAC]
            st[j, _REDUCED] = 1.0
            return 3
        if (st[j, _ADDS] < cfg[_A_MAX] and t - st[j, _LAST_IN] >= cfg[_A_COOL] and edge >= cfg[_A_EDGE]
                and p_in >= cfg[_A_CONT] and p_side >= cfg[_E_DIR]):
            inc, cap = _size(cfg, edge, risk, p_side, sig[t, j, 9])
            cur = abs(st[j, _W])
            new = min(cur + inc, cap)
            if new > cur + 1e-12:
                st[j, _W] = side * new
                st[j, _ADDS] += 1.0
                st[j, _LAST_IN] = t
                return 2
        return 0
    # flat
    if st[j, _LAST_OUT] >= 0.0 and t - st[j, _LAST_OUT] < cfg[_X_RE]:
        return 0
    if not (px > 0.0):
        return 0
    if pl >= ps:
        side, p_side, p_opp, p_in, edge, risk = 1.0, pl, ps, sig[t, j, 2], sig[t, j, 4], sig[t, j, 7]
    else:
        side, p_side, p_opp, p_in, edge, risk = -1.0, ps, pl, sig[t, j, 3], sig[t, j, 5], sig[t, j, 8]
    if side < 0 and cfg[_S_SHORT] == 0.0:
        return 0
    if (p_side >= cfg[_E_DIR] and p_side - p_opp >= cfg[_E_MARGIN] and p_in >= cfg[_E_ENTRY]
            and edge >= cfg[_E_EDGE] and sig[t, j, 6] <= cfg[_E_MR] and risk <= cfg[_E_PR]):
        size, _cap = _size(cfg, edge, risk, p_side, sig[t, j, 9])
        if size > 0.0:
            st[j, _SIDE] = side
            st[j, _W] = side * size
            st[j, _ADDS] = 0.0
            st[j, _HELD] = 0.0
            st[j, _LAST_IN] = t
            st[j, _PX] = px
            st[j, _REDUCED] = 0.0
            return 1
    return 0


@nb.njit(cache=True)
def _new_state(n_assets):
    st = np.zeros((n_assets, N_STATE))
    st[:, _LAST_OUT] = -1.0
    st[:, _LAST_IN] = -1e9
    return st


@nb.njit(cache=True)
def _gross_scale(row, cap):
    g = 0.0
    for x in row:
        g += abs(x)
    return cap / g if g > cap else 1.0


def pm_run(sig, cfg):
    """Run the machine over every bar (see :func:`_pm_run`); ``sig`` shape ``(N_SIG, n_bars, n_assets)``."""
    return _pm_run(np.ascontiguousarray(np.asarray(sig, dtype=np.float64).transpose(1, 2, 0)),
                   np.asarray(cfg, dtype=np.float64))


@nb.njit(cache=True)
def _pm_run(sig, cfg):
    """Run the machine over every bar.

    Returns
    -------
    target : ndarray, shape ``(n_bars, n_assets)``
        Signed target weights after the gross cap (the last bar closes everything).
    event : ndarray of int8, shape ``(n_bars, n_assets)``
        :data:`EVENTS` codes.
    """
    n, a = sig.shape[0], sig.shape[1]
    st = _new_state(a)
    target = np.zeros((n, a))
    event = np.zeros((n, a), dtype=np.int8)
    for t in range(n):
        for j in range(a):
            if t == n - 1 and st[j, _SIDE] != 0.0:
                st[j, _SIDE] = 0.0
                st[j, _W] = 0.0
                event[t, j] = 17
            else:
                event[t, j] = _step(sig, cfg, st, t, j)
            target[t, j] = st[j, _W]
        k = _gross_scale(target[t], cfg[_S_GROSS])
        if k < 1.0:
            for j in range(a):
                target[t, j] *= k
    return target, event


@nb.njit(cache=True)
def _close_trade(acc, j, half_cost, edges, k):
    peak = acc[j, 2]
    if peak > 0.0:
        edges[k] = 1e4 * acc[j, 0] / peak - half_cost * acc[j, 1] / peak
        k += 1
    acc[j, 0] = 0.0
    acc[j, 1] = 0.0
    acc[j, 2] = 0.0
    return k


@nb.njit(cache=True)
def _trade_metrics(edges, k, out, c):
    """n, wins, total, max drawdown (bps, of the cumulative trade edges in close order)."""
    total = 0.0
    peak = 0.0
    mdd = 0.0
    wins = 0
    for i in range(k):
        total += edges[i]
        if edges[i] > 0:
            wins += 1
        if total > peak:
            peak = total
        if peak - total > mdd:
            mdd = peak - total
    out[c, 0] = k
    out[c, 1] = wins
    out[c, 2] = total
    out[c, 3] = mdd


def pm_search_stateful(sig, cfgs, half_cost):
    """Every candidate through the state machine (see :func:`_pm_search_stateful`)."""
    sig = np.asarray(sig, dtype=np.float64)
    cfgs = np.ascontiguousarray(cfgs, dtype=np.float64)
    return _pm_search_stateful(np.ascontiguousarray(sig.transpose(1, 2, 0)), cfgs, float(half_cost),
                               _eligible(sig, cfgs))


def _eligible(sig, cfgs):
    """Cells where at least one candidate could open (the loosest entry thresholds pass).

    A flat asset on any other cell does nothing for every candidate, so the search
    skips it without reading its signals; results are unchanged (the exact check runs
    on eligible cells).
    """
    lo = cfgs.min(axis=0)
    hi = cfgs.max(axis=0)
    pl, ps = sig[SIG["p_long"]], sig[SIG["p_short"]]
    long = pl >= ps
    p_side = np.where(long, pl, ps)
    with np.errstate(invalid="ignore"):
        ok = ((p_side >= lo[_E_DIR]) & (p_side - np.where(long, ps, pl) >= lo[_E_MARGIN])
              & (np.where(long, sig[SIG["p_entry_long"]], sig[SIG["p_entry_short"]]) >= lo[_E_ENTRY])
              & (np.where(long, sig[SIG["edge_long"]], sig[SIG["edge_short"]]) >= lo[_E_EDGE])
              & (sig[SIG["risk_market"]] <= hi[_E_MR])
              & (np.where(long, sig[SIG["risk_long"]], sig[SIG["risk_short"]]) <= hi[_E_PR])
              & (sig[SIG["price"]] > 0) & (long | (hi[_S_SHORT] != 0.0)))
    return np.ascontiguousarray(ok)


@nb.njit(cache=True)
def _pm_search_stateful(sig, cfgs, half_cost, elig):
    """Every candidate through the state machine.

    Parameters
    ----------
    sig : ndarray, shape ``(n_bars, n_assets, N_SIG)``
        Bar-major layout (the wrapper transposes), so one cell's signals are contiguous.
    cfgs : ndarray, shape ``(n_candidates, len(CFG))``
    half_cost : float
        Cost in bps per unit of traded weight (half a round trip).

    Returns
    -------
    metrics : ndarray, shape ``(n_candidates, 4)``
        trades, wins, total edge (bps), max drawdown (bps) over round trips.
    bar_returns : ndarray, shape ``(n_bars, n_candidates)``
        Portfolio return per bar (weights x ``ret`` minus costs), for PBO.
    """
    n, a = sig.shape[0], sig.shape[1]
    m = cfgs.shape[0]
    out = np.zeros((m, 4))
    bar_ret = np.zeros((n, m))
    edges = np.empty(n * a + a)
    w = np.zeros(a)
    for c in range(m):
        cfg = cfgs[c]
        st = _new_state(a)
        acc = np.zeros((a, 3))  # pnl (weight x return), turnover, peak |w|
        w[:] = 0.0
        k = 0
        for t in range(n):
            g = 0.0
            for j in range(a):
                if st[j, _SIDE] == 0.0:
                    if elig[t, j]:
                        _step(sig, cfg, st, t, j)
                elif t == n - 1:
                    st[j, _SIDE] = 0.0
                    st[j, _W] = 0.0
                else:
                    _step(sig, cfg, st, t, j)
                g += abs(st[j, _W])
            # gross cap on the new row
            scale = cfg[_S_GROSS] / g if g > cfg[_S_GROSS] else 1.0
            r_t = 0.0
            for j in range(a):
                new = st[j, _W] * scale
                if new == 0.0 and w[j] == 0.0:
                    continue
                dw = abs(new - w[j])
                if dw > 0.0:
                    acc[j, 1] += dw
                    r_t -= half_cost * 1e-4 * dw
                if abs(new) > acc[j, 2]:
                    acc[j, 2] = abs(new)
                if new != 0.0:
                    r = sig[t, j, 11]
                    if r == r:
                        acc[j, 0] += new * r
                        r_t += new * r
                elif w[j] != 0.0:
                    k = _close_trade(acc, j, half_cost, edges, k)
                w[j] = new
            bar_ret[t, c] = r_t
        _trade_metrics(edges, k, out, c)
    return out, bar_ret


def _stateless_samples(sig, real_long, real_short, allow_short):
    """Compact founding samples in (bar, asset) order: the chosen side's columns.

    Returns ``cols`` of shape ``(7, n_samples)`` (p_side, p_side - p_opp, p_in, edge,
    market risk, side risk, realised edge), the bar of each sample and its flat index
    ``t * n_assets + j``; samples without a realised edge (or shorts when not allowed) are dropped.
    """
    sig = np.asarray(sig, dtype=np.float64)
    pl, ps = sig[SIG["p_long"]].ravel(), sig[SIG["p_short"]].ravel()
    long = pl >= ps
    p_side = np.where(long, pl, ps)
    cols = np.stack([
        p_side,
        p_side - np.where(long, ps, pl),
        np.where(long, sig[SIG["p_entry_long"]].ravel(), sig[SIG["p_entry_short"]].ravel()),
        np.where(long, sig[SIG["edge_long"]].ravel(), sig[SIG["edge_short"]].ravel()),
        sig[SIG["risk_market"]].ravel(),
        np.where(long, sig[SIG["risk_long"]].ravel(), sig[SIG["risk_short"]].ravel()),
        np.where(long, np.asarray(real_long, np.float64).ravel(), np.asarray(real_short, np.float64).ravel()),
    ])
    keep = np.isfinite(cols[6]) & (long | bool(allow_short))
    flat = np.flatnonzero(keep)
    return np.ascontiguousarray(cols[:, keep]), (flat // sig.shape[2]).astype(np.int64), flat.astype(np.int64)


@nb.njit(cache=True)
def _stateless(cols, bars, n_bars, thr):
    m = thr.shape[0]
    ns = cols.shape[1]
    out = np.zeros((m, 4))
    bar = np.zeros((n_bars, m))
    edges = np.empty(ns)
    real = cols[6]
    picked = np.empty(ns, dtype=np.int64)
    for c in range(m):
        k = _stateless_pick(cols, thr[c], picked)
        for q in range(k):
            i = picked[q]
            edges[q] = real[i]
            bar[bars[i], c] += real[i]
        _trade_metrics(edges, k, out, c)
    return out, bar


@nb.njit(cache=True)
def _stateless_pick(cols, thr_row, picked):
    """Write the compact indices of the samples passing ``thr_row`` into ``picked``; return their count."""
    ps, df, pin, ed, mr, rk = cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
    d, mg, en, e0, mr0, pr0 = thr_row[0], thr_row[1], thr_row[2], thr_row[3], thr_row[4], thr_row[5]
    k = 0
    for i in range(cols.shape[1]):
        if ps[i] >= d and df[i] >= mg and pin[i] >= en and ed[i] >= e0 and mr[i] <= mr0 and rk[i] <= pr0:
            picked[k] = i
            k += 1
    return k


def pm_search_stateless(sig, real_long, real_short, thr, allow_short):
    """The founding simulation: every passing sample is an independent trade.

    Samples are visited in row order (bar, then asset). A sample passes the six
    entry thresholds ``thr[c] = (dir_min, margin_min, entry_min, edge_min_bps,
    market_risk_max, position_risk_max)`` on the side with the larger direction
    probability; its trade edge is that side's realised label (``real_*``, bps).
    Samples whose realised label is NaN are skipped.

    Parameters
    ----------
    sig : ndarray, shape ``(N_SIG, n_bars, n_assets)``
    real_long, real_short : ndarray, shape ``(n_bars, n_assets)``
    thr : ndarray, shape ``(n_candidates, 6)``
    allow_short : bool

    Returns
    -------
    metrics : ndarray, shape ``(n_candidates, 4)``
        trades, wins, total edge, max drawdown (bps).
    bar_edges : ndarray, shape ``(n_bars, n_candidates)``
        Sum of the passing samples' edges per bar (bps), for DSR / PBO.
    """
    cols, bars, _ = _stateless_samples(sig, real_long, real_short, allow_short)
    return _stateless(cols, bars, int(np.shape(sig)[1]), np.ascontiguousarray(thr, dtype=np.float64))


def pm_stateless_trades(sig, real_long, real_short, thr_row, allow_short):
    """Flat sample indices (``t * n_assets + j``) of one candidate's trades, in visiting order."""
    cols, _, flat = _stateless_samples(sig, real_long, real_short, allow_short)
    picked = np.empty(cols.shape[1], dtype=np.int64)
    k = _stateless_pick(cols, np.asarray(thr_row, dtype=np.float64), picked)
    return flat[picked[:k]]
