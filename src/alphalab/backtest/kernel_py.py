"""Plain Python twin of :func:`alphalab.backtest.kernel.step` and ``run_kernel``.

The reference version of the simulation, written for reading rather than
speed: orders are small dicts, the sell lock sums the past buys found in the
fill records (the kernel keeps a ring of recent buys instead), limit prices
are rounded by a separate implementation, and buys run in
a fully sorted sequence (increasing order value, ties by column), which is
the rule the compiled kernel reproduces without sorting. Same signatures,
state and outputs as the kernel; ``tests/backtest/test_kernel_parity.py``
checks that the two agree.
"""

from __future__ import annotations

import math

import numpy as np

from alphalab.backtest.kernel import (
    LIMIT_NEAREST,
    R_BAND_DOWN,
    R_BAND_UP,
    R_CASH,
    R_LOT,
    R_NO_SHORT,
    R_T_PLUS,
    R_UNTRADEABLE,
)

__all__ = ["bad_inputs_py", "limit_prices_py", "run_kernel_py", "scan_weights_py", "step_py"]


def _exec_price(t: int, j: int, open_, close, volume, tradestatus, suspended) -> float:
    """Execution price of asset j at bar t, NaN when it cannot trade."""
    p = open_[t, j] if open_.shape[0] else math.nan
    if not p > 0:
        p = close[t, j]
    if not p > 0:
        return math.nan
    if volume.shape[0] and volume[t, j] == 0:
        return math.nan
    if tradestatus.shape[0] and tradestatus[t, j] == 0:
        return math.nan
    if suspended.shape[0] and suspended[t, j] == 1:
        return math.nan
    return float(p)


def bad_inputs_py(close: np.ndarray, open_: np.ndarray, volume: np.ndarray, floor: float) -> int:
    """Same contract as :func:`alphalab.backtest.kernel.bad_inputs`."""

    def bad_price(arr: np.ndarray) -> bool:
        with np.errstate(invalid="ignore"):
            return bool(np.any((arr < 0) | (arr == np.inf) | ((arr > 0) & (arr < floor))))

    vol_bad = volume.size > 0 and bool(np.any(volume < 0))
    return int(bad_price(close)) | 2 * int(bad_price(open_)) | 4 * int(vol_bad)


def scan_weights_py(
    weights: np.ndarray, candidate: np.ndarray, max_gross: float
) -> tuple[np.ndarray, int, float, int, int]:
    """Same contract as :func:`alphalab.backtest.kernel.scan_weights`."""
    infinite = np.argwhere(np.isinf(weights))
    decide = np.zeros(len(weights), dtype=bool)
    inf_row, inf_col = (int(infinite[0][0]), int(infinite[0][1])) if len(infinite) else (-1, -1)
    for t in range(len(weights) if inf_row < 0 else inf_row):
        if not candidate[t]:
            continue
        row = weights[t]
        known = row[~np.isnan(row)]
        decide[t] = len(known) > 0
        gross = 0.0
        for v in known:  # in column order, as the kernel adds
            gross += abs(float(v))
        if gross > max_gross:
            return decide, t, gross, inf_row, inf_col
    return decide, -1, 0.0, inf_row, inf_col


def _lot(lot: np.ndarray, t: int, j: int) -> float:
    return float(lot[t, j if lot.shape[1] > 1 else 0])


def _fits(cost: float, cash: float) -> bool:
    return cost <= cash or abs(cost - cash) <= 1e-9 * max(abs(cost), abs(cash))


def limit_prices_py(ref: float, band: float, ticks: np.ndarray, mode: int) -> tuple[float, float]:
    """Same contract as :func:`alphalab.backtest.kernel.limit_prices`."""
    up, down = ref * (1 + band), ref * (1 - band)
    if len(ticks) == 0:
        return up, down

    def tick_of(price: float) -> float:
        # the last level whose start is at or below the price
        return float([tk for start, tk in ticks if price >= start][-1])

    tu, td = tick_of(up), tick_of(down)
    if mode == LIMIT_NEAREST:  # halves up
        up = math.floor(up / tu + 0.5 + 1e-9) * tu
        down = math.floor(down / td + 0.5 + 1e-9) * td
    else:  # into the band
        up = math.floor(up / tu + 1e-9) * tu
        down = math.ceil(down / td - 1e-9) * td
    # a band narrower than a tick: one tick from the reference
    return (up if up > ref else ref + tu), (down if down < ref else ref - td)


def step_py(t, w_row, execute, mk, par, st, out) -> float:
    """Same contract as :func:`alphalab.backtest.kernel.step`."""
    p0 = par[0]
    min_comm, slip = float(p0["min_comm"]), float(p0["slip"])
    fractional, allow_short = bool(p0["fractional"]), bool(p0["allow_short"])
    close, lot = mk.close, mk.lot
    n_a = close.shape[1]
    pos, last_close = st.f[0], st.f[1]
    sc = st.sc[0]
    cash = float(sc["cash"])

    def reject(j: int, side: int, shares: float, reason: int) -> None:
        out.rejects[sc["n_rj"]] = (t, j, side, shares, reason)
        sc["n_rj"] += 1

    def fill(j: int, side: int, q: float, p: float, rate: float, tax_rate: float):
        nonlocal cash
        fp = p * (1 + slip) if side > 0 else p * (1 - slip)
        val = q * fp
        comm = max(rate * val, min_comm)
        tax = tax_rate * val
        cash += -(val + comm + tax) if side > 0 else val - comm - tax
        pos[j] += side * q
        out.fills[sc["n_tr"]] = (t, j, side * q, p)
        sc["n_tr"] += 1
        return q * p, comm, tax, q * p * slip

    if execute:
        rate, stax, btax = mk.comm_rate[t], mk.sell_tax[t], mk.buy_tax[t]
        px = np.array(
            [_exec_price(t, j, mk.open_, close, mk.volume, mk.tradestatus, mk.suspended)
             for j in range(n_a)]
        )  # fmt: skip
        # valued at prices known at execution: the open, else the last close
        known = px.copy()
        if mk.open_.shape[0]:
            known[~(mk.open_[t] > 0)] = math.nan
        value = cash + sum(
            pos[j] * (known[j] if known[j] == known[j] else last_close[j])
            for j in range(n_a)
            if pos[j] != 0
        )
        scale = max(value, 0.0)  # a book worth <= 0 only closes positions
        lock = int(mk.lock[t])
        # buys still locked at t, read back from the fill records
        recent = out.fills[: sc["n_tr"]]
        recent = recent[(recent["shares"] > 0) & (t - recent["bar"] < lock)]
        sells, buys = [], []
        for j in range(n_a):
            w = w_row[j]
            if w != w:
                if p0["nan_holds"]:
                    continue
                w = 0.0
            if w == 0 and pos[j] == 0:
                continue
            p = px[j]
            if math.isnan(p):
                if last_close[j] > 0:
                    want = w * scale / last_close[j]
                    if not fractional:
                        want = math.trunc(want / _lot(lot, t, j)) * _lot(lot, t, j)
                    want -= pos[j]
                    if abs(want) > 1e-12:
                        reject(j, 1 if want > 0 else -1, abs(want), R_UNTRADEABLE)
                elif w != 0:  # never priced: cannot be sized, still recorded
                    reject(j, 1 if w > 0 else -1, math.nan, R_UNTRADEABLE)
                continue
            raw = w * scale / p
            tgt = raw if fractional else math.trunc(raw / _lot(lot, t, j)) * _lot(lot, t, j)
            if not fractional and tgt == 0 and raw != 0 and pos[j] == 0:
                reject(j, 1 if raw > 0 else -1, abs(raw), R_LOT)
            if tgt < 0 and not allow_short:
                reject(j, -1, -tgt, R_NO_SHORT)
                tgt = 0.0
            delta = tgt - pos[j]
            if delta == 0 or (fractional and abs(delta) <= 1e-12):
                continue
            b = mk.band[t, j if mk.band.shape[1] > 1 else 0] if mk.band.shape[0] else math.inf
            ref = last_close[j]
            up = down = math.nan
            if b < math.inf and ref > 0:
                up, down = limit_prices_py(ref, b, mk.ticks, int(p0["limit_round"]))
            if delta < 0:
                if p <= down * (1 + 1e-9):
                    reject(j, -1, -delta, R_BAND_DOWN)
                    continue
                q = -delta
                if lock > 0 and pos[j] > 0:
                    locked = float(recent["shares"][recent["asset"] == j].sum())
                    sellable = max(pos[j] - locked, 0.0)
                    if min(q, pos[j]) > sellable:
                        reject(j, -1, q - sellable, R_T_PLUS)
                        q = sellable
                if q > 0:
                    sells.append({"asset": j, "shares": q})
            else:
                if p >= up * (1 - 1e-9):
                    reject(j, 1, delta, R_BAND_UP)
                    continue
                if mk.min_order.shape[0] and delta < mk.min_order[j]:  # STAR: 200 shares
                    reject(j, 1, delta, R_LOT)
                    continue
                buys.append({"asset": j, "shares": delta, "value": delta * p})
        traded = c_comm = c_tax = c_slip = 0.0
        for o in sells:
            tv, cm, tx, sl = fill(o["asset"], -1, o["shares"], px[o["asset"]], rate, stax)
            traded += tv
            c_comm += cm
            c_tax += tx
            c_slip += sl
        # vectorbt's auto call sequence: increasing order value, stable
        buys.sort(key=lambda o: o["value"])
        for o in buys:
            j, q = o["asset"], o["shares"]
            fp = px[j] * (1 + slip)
            if not _fits(q * fp * (1 + btax) + max(rate * q * fp, min_comm), cash):
                qa = max(cash, 0.0) / (fp * (1 + rate + btax))
                if rate * qa * fp < min_comm:
                    qa = (cash - min_comm) / (fp * (1 + btax))
                if not fractional:
                    qa = math.floor(qa / _lot(lot, t, j)) * _lot(lot, t, j)
                qa = min(max(qa, 0.0), q)
                if mk.min_order.shape[0] and qa < mk.min_order[j]:
                    qa = 0.0
                reject(j, 1, q - qa, R_CASH)
                q = qa
            if q <= 0:
                continue
            cut_fractional = fractional and q < o["shares"]
            tv, cm, tx, sl = fill(j, 1, q, px[j], rate, btax)
            if cut_fractional:
                cash = 0.0  # the cut order spends all the cash
            traded += tv
            c_comm += cm
            c_tax += tx
            c_slip += sl
        # never closed yet: marked at the fill price until a close arrives
        for j in range(n_a):
            if last_close[j] == 0 and pos[j] != 0:
                last_close[j] = px[j]
        out.costs[t, :3] = (c_comm, c_tax, c_slip)
        out.turnover[t] = traded / value if value > 0 else 0.0
        out.exec_bars[sc["n_exec"]] = t
        sc["n_exec"] += 1
    for j in range(n_a):
        if close[t, j] > 0:
            last_close[j] = close[t, j]
    eq = cash + float(np.dot(pos, last_close))
    short_value = -float(np.dot(np.minimum(pos, 0.0), last_close))
    if short_value > 0 and p0["borrow_daily"] > 0:
        fee = float(p0["borrow_daily"]) * short_value
        cash -= fee
        eq -= fee
        out.costs[t, 3] = fee
    out.equity[t] = eq
    out.cash[t] = cash
    sc["cash"] = cash
    return eq


def run_kernel_py(weights, decide, mk, par, st, out) -> tuple[int, int, int]:
    """Same contract as :func:`alphalab.backtest.kernel.run_kernel`."""
    for t in range(mk.close.shape[0]):
        ex = bool(t > 0 and decide[t - 1])
        step_py(t, weights[t - 1 if ex else 0], ex, mk, par, st, out)
    sc = st.sc[0]
    return int(sc["n_exec"]), int(sc["n_tr"]), int(sc["n_rj"])
