"""Plain-Python twin of :mod:`alphalab.portfolio.pm_kernel` (readable, slow; for parity tests).

Written from :class:`~alphalab.portfolio.pm_config.PMConfig` attributes rather than the
packed vector, so a wrong index in the compiled kernel shows up as a parity failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alphalab.portfolio.pm_config import PMConfig
from alphalab.portfolio.pm_kernel import SIG

__all__ = ["pm_run_py", "pm_search_stateful_py"]


@dataclass
class _State:
    side: float = 0.0
    w: float = 0.0
    adds: int = 0
    held: int = 0
    last_in: float = -1e9
    last_out: float = -1.0
    px: float = 0.0
    reduced: bool = False


def _size(cfg: PMConfig, edge: float, risk: float, p_side: float, liq: float) -> tuple[float, float]:
    sz = cfg.sizing
    strength = edge / sz.edge_scale_bps if sz.edge_scale_bps > 0 else 0.0
    strength = min(max(strength, 0.0), sz.edge_cap)
    s = sz.base_ratio * (1.0 + strength) * (1.0 - sz.risk_discount * min(max(risk, 0.0), 1.0))
    s *= 1.0 - sz.uncertainty_penalty * min(max(1.0 - p_side, 0.0), 1.0)
    cap = sz.max_position if math.isnan(liq) else min(sz.max_position, sz.liquidity_use * liq)
    return max(min(s, cap), 0.0), cap


def _side_view(s: dict[str, float], side: float) -> tuple[float, float, float, float, float]:
    if side > 0:
        return s["p_long"], s["p_short"], s["p_entry_long"], s["edge_long"], s["risk_long"]
    return s["p_short"], s["p_long"], s["p_entry_short"], s["edge_short"], s["risk_short"]


def _step(s: dict[str, float], cfg: PMConfig, st: _State, t: int) -> int:
    e, x = cfg.entry, cfg.exit
    px = s["price"]
    if st.side != 0.0:
        st.held += 1
        p_side, p_opp, p_in, edge, risk = _side_view(s, st.side)
        reason = 0
        if not px > 0:
            reason = 16
        else:
            upnl = st.side * (px / st.px - 1.0) * 1e4
            if upnl <= -x.stop_bps:
                reason = 10
            elif upnl >= x.take_profit_bps:
                reason = 11
            elif st.held >= x.max_hold_bars:
                reason = 12
            elif p_opp >= e.dir_min and p_opp - p_side >= e.margin_min:
                reason = 13
            elif edge < x.min_edge_bps:
                reason = 14
            elif s["risk_market"] >= x.market_risk:
                reason = 15
        if reason:
            st.side, st.w, st.last_out = 0.0, 0.0, float(t)
            return reason
        if risk >= cfg.reduce.position_risk and not st.reduced and cfg.reduce.fraction > 0:
            st.w *= 1.0 - cfg.reduce.fraction
            st.reduced = True
            return 3
        a = cfg.add
        if (st.adds < a.max_adds and t - st.last_in >= a.cooldown_bars and edge >= a.min_edge_bps
                and p_in >= a.min_continuation and p_side >= e.dir_min):
            inc, cap = _size(cfg, edge, risk, p_side, s["liq"])
            new = min(abs(st.w) + inc, cap)
            if new > abs(st.w) + 1e-12:
                st.w, st.adds, st.last_in = st.side * new, st.adds + 1, float(t)
                return 2
        return 0
    if st.last_out >= 0 and t - st.last_out < x.reentry_bars:
        return 0
    if not px > 0:
        return 0
    side = 1.0 if s["p_long"] >= s["p_short"] else -1.0
    if side < 0 and not cfg.sizing.allow_short:
        return 0
    p_side, p_opp, p_in, edge, risk = _side_view(s, side)
    if (p_side >= e.dir_min and p_side - p_opp >= e.margin_min and p_in >= e.entry_min
            and edge >= e.edge_min_bps and s["risk_market"] <= e.market_risk_max and risk <= e.position_risk_max):
        size, _ = _size(cfg, edge, risk, p_side, s["liq"])
        if size > 0:
            st.side, st.w, st.adds, st.held, st.last_in, st.px, st.reduced = side, side * size, 0, 0, float(t), px, False
            return 1
    return 0


def _bars(sig: np.ndarray):
    n, a = sig.shape[1], sig.shape[2]
    for t in range(n):
        yield t, [{name: float(sig[i, t, j]) for name, i in SIG.items()} for j in range(a)]


def pm_run_py(sig: np.ndarray, cfg: PMConfig) -> tuple[np.ndarray, np.ndarray]:
    """Twin of :func:`~alphalab.portfolio.pm_kernel.pm_run`."""
    n, a = sig.shape[1], sig.shape[2]
    states = [_State() for _ in range(a)]
    target = np.zeros((n, a))
    event = np.zeros((n, a), dtype=np.int8)
    for t, row in _bars(sig):
        for j, s in enumerate(row):
            if t == n - 1 and states[j].side != 0:
                states[j].side, states[j].w = 0.0, 0.0
                event[t, j] = 17
            else:
                event[t, j] = _step(s, cfg, states[j], t)
            target[t, j] = states[j].w
        g = np.abs(target[t]).sum()
        if g > cfg.sizing.max_gross:
            target[t] *= cfg.sizing.max_gross / g
    return target, event


def pm_search_stateful_py(sig: np.ndarray, cfgs: list[PMConfig], half_cost: float) -> np.ndarray:
    """Twin of :func:`~alphalab.portfolio.pm_kernel.pm_search_stateful` (metrics only)."""
    out = np.zeros((len(cfgs), 4))
    ret = sig[SIG["ret"]]
    for c, cfg in enumerate(cfgs):
        target, _ = pm_run_py(sig, cfg)
        out[c] = _metrics_in_order(target, ret, half_cost)
    return out


def _metrics_in_order(target: np.ndarray, ret: np.ndarray, half_cost: float) -> np.ndarray:
    n, a = target.shape
    pnl = np.zeros(a)
    turn = np.zeros(a)
    peak = np.zeros(a)
    prev = np.zeros(a)
    edges: list[float] = []
    for t in range(n):
        for j in range(a):
            new = target[t, j]
            dw = abs(new - prev[j])
            turn[j] += dw
            peak[j] = max(peak[j], abs(new))
            if new != 0.0:
                if not math.isnan(ret[t, j]):
                    pnl[j] += new * ret[t, j]
            elif prev[j] != 0.0:
                if peak[j] > 0:
                    edges.append(1e4 * pnl[j] / peak[j] - half_cost * turn[j] / peak[j])
                pnl[j] = turn[j] = peak[j] = 0.0
            prev[j] = new
    e = np.asarray(edges)
    cum = np.cumsum(e)
    dd = float(np.max(np.maximum.accumulate(np.maximum(cum, 0.0)) - cum)) if e.size else 0.0
    return np.array([e.size, float((e > 0).sum()), float(e.sum()), max(dd, 0.0)])
