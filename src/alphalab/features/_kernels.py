"""Numba kernels for the recursive indicators, each beside its plain Python twin.

All kernels take wide ``(n_dates, n_assets)`` float64 arrays (C order) and
write into preallocated outputs of the same shape. They share the NaN rule of
:mod:`alphalab.features.rolling`: a *run* is a stretch of rows where every
input of the indicator is finite; any non-finite input ends the run, the
output is NaN on that row, and the indicator restarts (re-seeds) when the
next run is long enough. Within a run the arithmetic follows TA-Lib's C
code step for step (seeding, Wilder smoothing, the ``TA_IS_ZERO`` test), so
that outputs agree with TA-Lib to round-off on gap-free data.

The ``*_py`` twins loop in plain Python, one column at a time; tests prove
kernel and twin agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

NAN = np.nan
#: TA-Lib's ``TA_IS_ZERO``: values in (-1e-8, 1e-8) count as zero.
TA_EPS = 1e-8
#: TA-Lib's MFI treats a typical-price change within this fraction of the
#: previous one as no change (measured against TA-Lib 0.6 / talib 0.8).
MFI_REL_EQ = 2e-14


@njit(cache=True, inline="always")
def _is_zero(v: float) -> bool:
    return -TA_EPS < v < TA_EPS


def _is_zero_py(v: float) -> bool:
    return -TA_EPS < v < TA_EPS


def _finite_py(*vals: float) -> bool:
    return all(math.isfinite(v) for v in vals)


# =================================================================== RSI
@njit(cache=True, parallel=True)
def rsi_kernel(c: np.ndarray, n: int, out: np.ndarray) -> None:
    """Wilder RSI: seeds are plain means of the first ``n`` gains / losses."""
    rows, cols = c.shape
    for j in prange(cols):
        run = 0
        prev = 0.0
        ag = 0.0
        al = 0.0
        for i in range(rows):
            v = c[i, j]
            if not np.isfinite(v):
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            if run == 1:
                prev = v
                ag = 0.0
                al = 0.0
                out[i, j] = NAN
                continue
            d = v - prev
            prev = v
            k = run - 1
            if k <= n:
                if d < 0:
                    al -= d
                else:
                    ag += d
                if k < n:
                    out[i, j] = NAN
                    continue
                ag /= n
                al /= n
            else:
                al *= n - 1
                ag *= n - 1
                if d < 0:
                    al -= d
                else:
                    ag += d
                al /= n
                ag /= n
            s = ag + al
            out[i, j] = 100.0 * (ag / s) if not _is_zero(s) else 0.0


def rsi_py(c: np.ndarray, n: int, out: np.ndarray) -> None:
    """Twin of :func:`rsi_kernel`."""
    rows, cols = c.shape
    out[:] = np.nan
    for j in range(cols):
        run, prev, ag, al = 0, 0.0, 0.0, 0.0
        for i in range(rows):
            v = float(c[i, j])
            if not math.isfinite(v):
                run = 0
                continue
            run += 1
            if run == 1:
                prev, ag, al = v, 0.0, 0.0
                continue
            d, prev = v - prev, v
            gain, loss = max(d, 0.0), max(-d, 0.0)
            if run - 1 < n:
                ag, al = ag + gain, al + loss
                continue
            if run - 1 == n:
                ag, al = (ag + gain) / n, (al + loss) / n
            else:
                ag, al = (ag * (n - 1) + gain) / n, (al * (n - 1) + loss) / n
            out[i, j] = 100.0 * ag / (ag + al) if not _is_zero_py(ag + al) else 0.0


# ============================================================== ATR, NATR
@njit(cache=True, parallel=True)
def atr_kernel(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int, normalise: bool, out: np.ndarray
) -> None:
    """Wilder ATR seeded with the mean of the first ``n`` true ranges; NATR = 100 ATR / close."""
    rows, cols = c.shape
    for j in prange(cols):
        run = 0
        pc = 0.0
        atr = 0.0
        for i in range(rows):
            hi = h[i, j]
            lw = lo[i, j]
            cl = c[i, j]
            if not (np.isfinite(hi) and np.isfinite(lw) and np.isfinite(cl)):
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            if run == 1:
                pc = cl
                atr = 0.0
                out[i, j] = NAN
                continue
            tr = hi - lw
            t2 = abs(hi - pc)
            if t2 > tr:
                tr = t2
            t2 = abs(lw - pc)
            if t2 > tr:
                tr = t2
            pc = cl
            k = run - 1
            if k < n:
                atr += tr
                out[i, j] = NAN
                continue
            if k == n:
                atr = (atr + tr) / n
            else:
                atr = (atr * (n - 1) + tr) / n
            if normalise:
                out[i, j] = (atr / cl) * 100.0 if cl != 0.0 else 0.0
            else:
                out[i, j] = atr


def atr_py(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int, normalise: bool, out: np.ndarray
) -> None:
    """Twin of :func:`atr_kernel`."""
    rows, cols = c.shape
    out[:] = np.nan
    for j in range(cols):
        run, pc, trs = 0, 0.0, []
        atr = 0.0
        for i in range(rows):
            hi, lw, cl = float(h[i, j]), float(lo[i, j]), float(c[i, j])
            if not _finite_py(hi, lw, cl):
                run = 0
                continue
            run += 1
            if run == 1:
                pc, trs = cl, []
                continue
            tr = max(hi - lw, abs(hi - pc), abs(lw - pc))
            pc = cl
            trs.append(tr)
            if len(trs) < n:
                continue
            atr = sum(trs) / n if len(trs) == n else (atr * (n - 1) + tr) / n
            if normalise:
                out[i, j] = atr / cl * 100.0 if cl != 0.0 else 0.0
            else:
                out[i, j] = atr


# ==================================================================== ADX
@njit(cache=True, parallel=True)
def adx_kernel(
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    n: int,
    plus_di: np.ndarray,
    minus_di: np.ndarray,
    adx: np.ndarray,
) -> None:
    """TA-Lib PLUS_DI / MINUS_DI / ADX: Wilder *sums* of DM and TR, ADX seeded by mean DX."""
    rows, cols = c.shape
    for j in prange(cols):
        run = 0
        ph = 0.0
        pl = 0.0
        pc = 0.0
        pdm = 0.0
        mdm = 0.0
        str_ = 0.0
        sdx = 0.0
        ax = 0.0
        for i in range(rows):
            hi = h[i, j]
            lw = lo[i, j]
            cl = c[i, j]
            plus_di[i, j] = NAN
            minus_di[i, j] = NAN
            adx[i, j] = NAN
            if not (np.isfinite(hi) and np.isfinite(lw) and np.isfinite(cl)):
                run = 0
                continue
            run += 1
            if run == 1:
                ph = hi
                pl = lw
                pc = cl
                pdm = 0.0
                mdm = 0.0
                str_ = 0.0
                sdx = 0.0
                ax = 0.0
                continue
            dp = hi - ph
            dm = pl - lw
            ph = hi
            pl = lw
            tr = hi - lw
            t2 = abs(hi - pc)
            if t2 > tr:
                tr = t2
            t2 = abs(lw - pc)
            if t2 > tr:
                tr = t2
            pc = cl
            k = run - 1
            if k < n:
                if dm > 0 and dp < dm:
                    mdm += dm
                elif dp > 0 and dp > dm:
                    pdm += dp
                str_ += tr
                continue
            pdm -= pdm / n
            mdm -= mdm / n
            if dm > 0 and dp < dm:
                mdm += dm
            elif dp > 0 and dp > dm:
                pdm += dp
            str_ = str_ - str_ / n + tr
            have_dx = False
            dx = 0.0
            if not _is_zero(str_):
                mi = 100.0 * (mdm / str_)
                pi = 100.0 * (pdm / str_)
                plus_di[i, j] = pi
                minus_di[i, j] = mi
                s = mi + pi
                if not _is_zero(s):
                    dx = 100.0 * (abs(mi - pi) / s)
                    have_dx = True
            else:
                plus_di[i, j] = 0.0
                minus_di[i, j] = 0.0
            if k < 2 * n:
                if have_dx:
                    sdx += dx
                if k == 2 * n - 1:
                    ax = sdx / n
                    adx[i, j] = ax
            else:
                if have_dx:
                    ax = (ax * (n - 1) + dx) / n
                adx[i, j] = ax


def adx_py(
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    n: int,
    plus_di: np.ndarray,
    minus_di: np.ndarray,
    adx: np.ndarray,
) -> None:
    """Twin of :func:`adx_kernel`."""
    rows, cols = c.shape
    for o in (plus_di, minus_di, adx):
        o[:] = np.nan
    for j in range(cols):
        run = 0
        ph = pl = pc = pdm = mdm = str_ = sdx = ax = 0.0
        for i in range(rows):
            hi, lw, cl = float(h[i, j]), float(lo[i, j]), float(c[i, j])
            if not _finite_py(hi, lw, cl):
                run = 0
                continue
            run += 1
            if run == 1:
                ph, pl, pc = hi, lw, cl
                pdm = mdm = str_ = sdx = ax = 0.0
                continue
            dp, dm = hi - ph, pl - lw
            ph, pl = hi, lw
            tr = max(hi - lw, abs(hi - pc), abs(lw - pc))
            pc = cl
            up = dp if (dp > 0 and dp > dm and not (dm > 0 and dp < dm)) else 0.0
            down = dm if (dm > 0 and dp < dm) else 0.0
            k = run - 1
            if k < n:
                pdm, mdm, str_ = pdm + up, mdm + down, str_ + tr
                continue
            pdm = pdm - pdm / n + up
            mdm = mdm - mdm / n + down
            str_ = str_ - str_ / n + tr
            dx = None
            if _is_zero_py(str_):
                plus_di[i, j] = minus_di[i, j] = 0.0
            else:
                pi, mi = 100.0 * pdm / str_, 100.0 * mdm / str_
                plus_di[i, j], minus_di[i, j] = pi, mi
                if not _is_zero_py(pi + mi):
                    dx = 100.0 * abs(mi - pi) / (mi + pi)
            if k < 2 * n:
                sdx += dx or 0.0
                if k == 2 * n - 1:
                    ax = sdx / n
                    adx[i, j] = ax
            else:
                if dx is not None:
                    ax = (ax * (n - 1) + dx) / n
                adx[i, j] = ax


# =================================================================== MACD
@njit(cache=True, parallel=True)
def macd_kernel(
    x: np.ndarray,
    fast: int,
    slow: int,
    signal: int,
    line: np.ndarray,
    sig: np.ndarray,
    hist: np.ndarray,
) -> None:
    """TA-Lib MACD: both EMAs seeded at the slow EMA's first row.

    The fast EMA's seed is the mean of the ``fast`` values *ending at the
    slow seed row* (TA-Lib's choice), not the first ``fast`` values.
    """
    rows, cols = x.shape
    kf = 2.0 / (fast + 1.0)
    ks = 2.0 / (slow + 1.0)
    kg = 2.0 / (signal + 1.0)
    for j in prange(cols):
        run = 0
        sf = 0.0
        ss = 0.0
        ef = 0.0
        es = 0.0
        sg = 0.0
        for i in range(rows):
            v = x[i, j]
            line[i, j] = NAN
            sig[i, j] = NAN
            hist[i, j] = NAN
            if not np.isfinite(v):
                run = 0
                continue
            run += 1
            if run == 1:
                sf = 0.0
                ss = 0.0
                sg = 0.0
            if run <= slow:
                ss += v
                if run > slow - fast:
                    sf += v
                if run < slow:
                    continue
                es = ss / slow
                ef = sf / fast
            else:
                ef = (v - ef) * kf + ef
                es = (v - es) * ks + es
            m = ef - es
            line[i, j] = m
            k = run - slow + 1  # number of MACD values so far
            if k < signal:
                sg += m
                continue
            if k == signal:
                sg = (sg + m) / signal
            else:
                sg = (m - sg) * kg + sg
            sig[i, j] = sg
            hist[i, j] = m - sg


def macd_py(
    x: np.ndarray,
    fast: int,
    slow: int,
    signal: int,
    line: np.ndarray,
    sig: np.ndarray,
    hist: np.ndarray,
) -> None:
    """Twin of :func:`macd_kernel`."""
    rows, cols = x.shape
    for o in (line, sig, hist):
        o[:] = np.nan
    kf, ks, kg = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    for j in range(cols):
        run = 0
        ef = es = sg = 0.0
        hist_m: list[float] = []
        for i in range(rows):
            v = float(x[i, j])
            if not math.isfinite(v):
                run = 0
                continue
            run += 1
            if run < slow:
                continue
            if run == slow:
                win = x[i - slow + 1 : i + 1, j]
                es = float(np.mean(win))
                ef = float(np.mean(win[slow - fast :]))
                hist_m = []
            else:
                ef = (v - ef) * kf + ef
                es = (v - es) * ks + es
            m = ef - es
            line[i, j] = m
            hist_m.append(m)
            if len(hist_m) < signal:
                continue
            sg = float(np.mean(hist_m)) if len(hist_m) == signal else (m - sg) * kg + sg
            sig[i, j] = sg
            hist[i, j] = m - sg


# ==================================================================== OBV
@njit(cache=True, parallel=True)
def obv_kernel(c: np.ndarray, vol: np.ndarray, out: np.ndarray) -> None:
    """On-balance volume, starting at the first row's volume (TA-Lib)."""
    rows, cols = c.shape
    for j in prange(cols):
        run = 0
        prev = 0.0
        acc = 0.0
        for i in range(rows):
            v = c[i, j]
            q = vol[i, j]
            if not (np.isfinite(v) and np.isfinite(q)):
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            if run == 1:
                acc = q
            elif v > prev:
                acc += q
            elif v < prev:
                acc -= q
            prev = v
            out[i, j] = acc


def obv_py(c: np.ndarray, vol: np.ndarray, out: np.ndarray) -> None:
    """Twin of :func:`obv_kernel`."""
    out[:] = np.nan
    for j in range(c.shape[1]):
        acc, prev, run = 0.0, 0.0, 0
        for i in range(c.shape[0]):
            v, q = float(c[i, j]), float(vol[i, j])
            if not _finite_py(v, q):
                run = 0
                continue
            run += 1
            acc = q if run == 1 else acc + (q if v > prev else -q if v < prev else 0.0)
            prev = v
            out[i, j] = acc


# ==================================================================== CCI
@njit(cache=True, parallel=True)
def cci_kernel(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int, out: np.ndarray) -> None:
    """CCI = (TP - SMA(TP)) / (0.015 * mean |TP - SMA(TP)|); 0 where either part is 0."""
    rows, cols = c.shape
    for j in prange(cols):
        buf = np.empty(n)
        run = 0
        pos = 0
        for i in range(rows):
            hi = h[i, j]
            lw = lo[i, j]
            cl = c[i, j]
            if not (np.isfinite(hi) and np.isfinite(lw) and np.isfinite(cl)):
                run = 0
                out[i, j] = NAN
                continue
            tp = (hi + lw + cl) / 3.0
            if run == 0:
                pos = 0
            buf[pos] = tp
            pos = pos + 1 if pos + 1 < n else 0
            run += 1
            if run < n:
                out[i, j] = NAN
                continue
            avg = 0.0
            for k in range(n):
                avg += buf[k]
            avg /= n
            md = 0.0
            for k in range(n):
                md += abs(buf[k] - avg)
            d = tp - avg
            out[i, j] = d / (0.015 * (md / n)) if (d != 0.0 and md != 0.0) else 0.0


def cci_py(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int, out: np.ndarray) -> None:
    """Twin of :func:`cci_kernel`."""
    out[:] = np.nan
    tp = (h + lo + c) / 3.0
    for j in range(c.shape[1]):
        for i in range(n - 1, c.shape[0]):
            win = tp[i - n + 1 : i + 1, j]
            if not np.all(np.isfinite(win)):
                continue
            avg = float(np.mean(win))
            md = float(np.mean(np.abs(win - avg)))
            d = float(win[-1] - avg)
            out[i, j] = d / (0.015 * md) if (d != 0.0 and md != 0.0) else 0.0


# ==================================================================== MFI
@njit(cache=True, parallel=True)
def mfi_kernel(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, vol: np.ndarray, n: int, out: np.ndarray
) -> None:
    """Money flow index over ``n`` flows; 0 where total flow < 1 (TA-Lib)."""
    rows, cols = c.shape
    for j in prange(cols):
        pos = np.zeros(n)
        neg = np.zeros(n)
        run = 0
        slot = 0
        ptp = 0.0
        for i in range(rows):
            hi = h[i, j]
            lw = lo[i, j]
            cl = c[i, j]
            q = vol[i, j]
            if not (np.isfinite(hi) and np.isfinite(lw) and np.isfinite(cl) and np.isfinite(q)):
                run = 0
                out[i, j] = NAN
                continue
            tp = (hi + lw + cl) / 3.0
            run += 1
            if run == 1:
                ptp = tp
                slot = 0
                out[i, j] = NAN
                continue
            k = slot
            slot = slot + 1 if slot + 1 < n else 0
            f = tp * q
            # TA-Lib (0.6+) calls typical prices within 2e-14 relative "unchanged"
            thr = MFI_REL_EQ * abs(ptp)
            pos[k] = f if tp - ptp > thr else 0.0
            neg[k] = f if tp - ptp < -thr else 0.0
            ptp = tp
            if run - 1 < n:
                out[i, j] = NAN
                continue
            sp = 0.0
            sn = 0.0
            for m in range(n):
                sp += pos[m]
                sn += neg[m]
            tot = sp + sn
            out[i, j] = 100.0 * (sp / tot) if tot >= 1.0 else 0.0


def mfi_py(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, vol: np.ndarray, n: int, out: np.ndarray
) -> None:
    """Twin of :func:`mfi_kernel`."""
    out[:] = np.nan
    tp = (h + lo + c) / 3.0
    for j in range(c.shape[1]):
        for i in range(n, c.shape[0]):
            t = tp[i - n : i + 1, j]
            q = vol[i - n : i + 1, j]
            if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
                continue
            d = np.diff(t)
            d[np.abs(d) <= MFI_REL_EQ * np.abs(t[:-1])] = 0.0
            f = t[1:] * q[1:]
            sp, sn = float(np.sum(f[d > 0])), float(np.sum(f[d < 0]))
            out[i, j] = 100.0 * sp / (sp + sn) if sp + sn >= 1.0 else 0.0


# ============================================================== ROC, MOM
@njit(cache=True, parallel=True)
def change_kernel(x: np.ndarray, n: int, mode: int, out: np.ndarray) -> None:
    """mode 0: momentum ``x - x[-n]``; 1: ROC ``100 (x / x[-n] - 1)`` (0 if ``x[-n] == 0``);
    2: log return ``log(x / x[-n])``. Needs ``n + 1`` finite rows in a run."""
    rows, cols = x.shape
    for j in prange(cols):
        run = 0
        for i in range(rows):
            v = x[i, j]
            if not np.isfinite(v):
                run = 0
                out[i, j] = NAN
                continue
            run += 1
            if run <= n:
                out[i, j] = NAN
                continue
            p = x[i - n, j]
            if mode == 0:
                out[i, j] = v - p
            elif mode == 1:
                out[i, j] = ((v / p) - 1.0) * 100.0 if p != 0.0 else 0.0
            else:
                out[i, j] = math.log(v / p) if (p > 0.0 and v > 0.0) else NAN


def change_py(x: np.ndarray, n: int, mode: int, out: np.ndarray) -> None:
    """Twin of :func:`change_kernel`."""
    out[:] = np.nan
    for j in range(x.shape[1]):
        for i in range(n, x.shape[0]):
            win = x[i - n : i + 1, j]
            if not np.all(np.isfinite(win)):
                continue
            v, p = float(win[-1]), float(win[0])
            if mode == 0:
                out[i, j] = v - p
            elif mode == 1:
                out[i, j] = (v / p - 1.0) * 100.0 if p != 0.0 else 0.0
            else:
                out[i, j] = math.log(v / p) if (p > 0 and v > 0) else np.nan
