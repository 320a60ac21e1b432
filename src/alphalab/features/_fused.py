"""One fused numba pass for the founding notebook's feature set (``seed_ta``).

Computing the twelve ``seed_ta`` series and their 60-row z-scores one
primitive at a time walks each ``(n_dates, n_assets)`` array two dozen times,
column by column, with a cache line wasted on every row. This kernel reads
the inputs once: assets are split into blocks of :data:`BLOCK` adjacent
columns (one cache line of float64); a block's inputs are gathered into
column-major scratch; each column then runs one loop over its dates that
updates every series' recursive state (kept in registers) and writes the 12
series, then one short pass per series for its z-score (:func:`_zscore_into`:
a sequential loop for the window's moments, then a vectorised loop for the
square roots and divisions, which were half the z-score's cost when done
row by row). Every output is written contiguously (the outputs are
Fortran-ordered ``(n_dates, n_assets)`` arrays, so writing them needs no
transposition) while the column's 12 series are still in L2. Threads take
blocks in a fixed round-robin (``prange``); a column's arithmetic does not
depend on the thread that runs it, so results are deterministic.

Tried and dropped (slower, measured): all 24 outputs in one date loop (the
state of 12 z-scores does not fit the registers); deferring the RSI,
Bollinger and VWAP divisions to a vectorised pass; precomputing the z-score's
exact recomputations four at a time; a per-run z-score loop without the
finiteness test; z-scores of eight assets side by side (numba / LLVM do not
vectorise it, with array or scalar lane state). Also measured and dropped (see
BENCHMARKS.md, Features): z-scores by aligned 60-row blocks (suffix plus prefix
sums, SIMD across assets; correct, 2.4-4.5 ns per cell against 5 ns here, but
the layout it needs made the whole pass slower), a four-accumulator exact
recomputation (4.1 ns; too little to matter) and a branch-trimmed steady-state
loop (no faster).

The arithmetic of every series is the same, operation for operation, as the
stand-alone indicator (:mod:`alphalab.features.indicators`) and
:func:`alphalab.features.rolling.rolling_zscore`; the Python twin
:func:`seed_ta_py` composes those functions, and the tests prove the two
agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from alphalab.features import indicators as I
from alphalab.features import rolling as R

__all__ = ["BLOCK", "SEED_TA_SERIES", "seed_ta_fused", "seed_ta_py"]

#: The twelve series, in output order; each also gets ``<name>_z60``.
SEED_TA_SERIES: tuple[str, ...] = (
    "ema_5",
    "ema_20",
    "ema_50",
    "macd",
    "macd_signal",
    "macd_diff",
    "rsi_14",
    "bb_upper_20",
    "bb_lower_20",
    "atr_14",
    "obv",
    "vwap_14",
)
NS = len(SEED_TA_SERIES)
BLOCK = 8
NAN = np.nan


# error_model="numpy": a Python-model division checks its divisor for zero
# (never zero here) and that branch stops the vectorisation
@njit(cache=True, error_model="numpy")
def _zscore_into(x: np.ndarray, z: np.ndarray, t: np.ndarray, w: int) -> None:
    """:func:`rolling_zscore` (ddof 1) of one series, operation for operation.

    ``x``, ``z``, ``t``: contiguous, shape ``(n_dates,)``; ``t`` is scratch.
    The first loop carries the window's moments (sequential); it leaves the
    numerator in ``z`` and the variance in ``t`` (1 where the result is NaN).
    The square roots and divisions, which cost most of a row, go in a second
    loop with no carried state, which LLVM vectorises; IEEE ``sqrt`` and
    division are exact in every lane, so the results are the same bits.
    """
    n = x.shape[0]
    inv_w = 1.0 / w
    inv_d = 1.0 / (w - 1)
    run = 0
    since = 0
    same = 0
    K = 0.0
    mu = 0.0
    m2 = 0.0
    prev = 0.0
    for i in range(n):
        xi = x[i]
        if not np.isfinite(xi):
            run = 0
            since = 0
            same = 0
            mu = 0.0
            m2 = 0.0
            z[i] = NAN
            t[i] = 1.0
            continue
        run += 1
        same = same + 1 if (run > 1 and xi == prev) else 1
        prev = xi
        if run == 1:
            K = xi
        if run <= w:
            since = 0
            vs = xi - K
            d = vs - mu
            mu += d / run
            m2 += d * (vs - mu)
        elif since + 1 == w:
            # exact recomputation about a fresh shift bounds the drift
            since = 0
            K = xi
            mu = 0.0
            for k in range(i - w + 1, i + 1):
                mu += x[k] - K
            mu /= w
            m2 = 0.0
            for k in range(i - w + 1, i + 1):
                d = (x[k] - K) - mu
                m2 += d * d
        else:
            since += 1
            vs = xi - K
            us = x[i - w] - K
            mu_new = mu + (vs - us) * inv_w
            m2 += (vs - us) * (vs - mu_new + us - mu)
            mu = mu_new
        var = 0.0 if same >= w else max(m2 * inv_d, 0.0)
        if run < w or not var > 0.0:
            z[i] = NAN
            t[i] = 1.0
        else:
            z[i] = (xi - K) - mu
            t[i] = var
    for i in range(n):
        z[i] = z[i] / math.sqrt(t[i])


@njit(cache=True)
def _seed_ta_column(
    hh: np.ndarray, ll: np.ndarray, cc: np.ndarray, vv: np.ndarray, o: np.ndarray
) -> None:
    """The 12 series of one asset into ``o[:NS]`` (``o``: ``(24, n_dates)``); state in scalars."""
    n = cc.shape[0]
    a5 = 2.0 / 6.0
    a20 = 2.0 / 21.0
    a50 = 2.0 / 51.0
    kf = 2.0 / 13.0
    ks = 2.0 / 27.0
    kg = 2.0 / 10.0
    inv20 = 1.0 / 20.0
    run_c = 0
    run_hlc = 0
    run_cv = 0
    run_all = 0
    e5 = 0.0
    e20 = 0.0
    e50 = 0.0
    ss = 0.0
    sf = 0.0
    ef = 0.0
    es = 0.0
    sg = 0.0
    prev_c = 0.0
    ag = 0.0
    al = 0.0
    bsame = 0
    bsince = 0
    bk = 0.0
    bmu = 0.0
    bm2 = 0.0
    bsum = 0.0
    pc_atr = 0.0
    atr = 0.0
    obv = 0.0
    prev_obv_c = 0.0
    vsince = 0
    vnum = 0.0
    vden = 0.0
    for i in range(n):
        hi = hh[i]
        lw = ll[i]
        cl = cc[i]
        vo = vv[i]
        fc = np.isfinite(cl)
        fhlc = fc and np.isfinite(hi) and np.isfinite(lw)
        fcv = fc and np.isfinite(vo)
        x0 = NAN
        x1 = NAN
        x2 = NAN
        x3 = NAN
        x4 = NAN
        x5 = NAN
        x6 = NAN
        x7 = NAN
        x8 = NAN
        x9 = NAN
        x10 = NAN
        x11 = NAN
        # ---------------------------------------------------- close only
        if not fc:
            run_c = 0
        else:
            run_c += 1
            rc = run_c
            if rc == 1:
                e5 = 0.0
                e20 = 0.0
                e50 = 0.0
                sf = 0.0
                ss = 0.0
                sg = 0.0
                ag = 0.0
                al = 0.0
            # EMA 5 / 20 / 50 (rolling.ewm_mean arithmetic)
            if rc < 5:
                e5 += cl
            elif rc == 5:
                e5 = (e5 + cl) / 5
            else:
                e5 = e5 + a5 * (cl - e5)
            if rc >= 5:
                x0 = e5
            if rc < 20:
                e20 += cl
            elif rc == 20:
                e20 = (e20 + cl) / 20
            else:
                e20 = e20 + a20 * (cl - e20)
            if rc >= 20:
                x1 = e20
            if rc < 50:
                e50 += cl
            elif rc == 50:
                e50 = (e50 + cl) / 50
            else:
                e50 = e50 + a50 * (cl - e50)
            if rc >= 50:
                x2 = e50
            # MACD 12 / 26 / 9 (kernels.macd_kernel arithmetic)
            have_line = False
            if rc <= 26:
                ss += cl
                if rc > 14:
                    sf += cl
                if rc == 26:
                    es = ss / 26
                    ef = sf / 12
                    have_line = True
            else:
                ef = (cl - ef) * kf + ef
                es = (cl - es) * ks + es
                have_line = True
            if have_line:
                ml = ef - es
                x3 = ml
                kk = rc - 25
                if kk < 9:
                    sg += ml
                else:
                    if kk == 9:
                        sg = (sg + ml) / 9
                    else:
                        sg = (ml - sg) * kg + sg
                    x4 = sg
                    x5 = ml - sg
            # RSI 14 (kernels.rsi_kernel arithmetic)
            if rc > 1:
                d = cl - prev_c
                k = rc - 1
                if k <= 14:
                    if d < 0:
                        al -= d
                    else:
                        ag += d
                    if k == 14:
                        ag /= 14
                        al /= 14
                else:
                    al *= 13
                    ag *= 13
                    if d < 0:
                        al -= d
                    else:
                        ag += d
                    al /= 14
                    ag /= 14
                if k >= 14:
                    tot = ag + al
                    x6 = 0.0 if -1e-8 < tot < 1e-8 else 100.0 * (ag / tot)
            # Bollinger 20 / 2: rolling_mean and rolling_std(ddof=0) arithmetic
            if rc == 1:
                bk = cl
                bmu = 0.0
                bm2 = 0.0
                bsum = 0.0
                bsame = 1
            elif cl == prev_c:
                bsame += 1
            else:
                bsame = 1
            prev_c = cl
            if rc <= 20:
                bsince = 0
                bsum += cl
                vs = cl - bk
                dd = vs - bmu
                bmu += dd / rc
                bm2 += dd * (vs - bmu)
            elif bsince + 1 == 20:
                bsince = 0
                bk = cl
                mu = 0.0
                sm = 0.0
                for q in range(i - 19, i + 1):
                    mu += cc[q] - cl
                    sm += cc[q]
                bsum = sm
                mu /= 20
                m2 = 0.0
                for q in range(i - 19, i + 1):
                    dd = (cc[q] - cl) - mu
                    m2 += dd * dd
                bmu = mu
                bm2 = m2
            else:
                bsince += 1
                u = cc[i - 20]
                bsum += cl - u
                vs = cl - bk
                us = u - bk
                mu_new = bmu + (vs - us) * inv20
                bm2 += (vs - us) * (vs - mu_new + us - bmu)
                bmu = mu_new
            if rc >= 20:
                mid = bsum / 20
                var = 0.0 if bsame >= 20 else max(bm2 * inv20, 0.0)
                sd = math.sqrt(var)
                x7 = mid + 2.0 * sd
                x8 = mid - 2.0 * sd
        # ------------------------------------------------ high low close
        if not fhlc:
            run_hlc = 0
        else:
            run_hlc += 1
            if run_hlc == 1:
                atr = 0.0
            else:
                tr = hi - lw
                t2 = abs(hi - pc_atr)
                if t2 > tr:
                    tr = t2
                t2 = abs(lw - pc_atr)
                if t2 > tr:
                    tr = t2
                k = run_hlc - 1
                if k < 14:
                    atr += tr
                elif k == 14:
                    atr = (atr + tr) / 14
                else:
                    atr = (atr * 13 + tr) / 14
                if k >= 14:
                    x9 = atr
            pc_atr = cl
        # -------------------------------------------------- close volume
        if not fcv:
            run_cv = 0
        else:
            run_cv += 1
            if run_cv == 1:
                obv = vo
            elif cl > prev_obv_c:
                obv += vo
            elif cl < prev_obv_c:
                obv -= vo
            prev_obv_c = cl
            x10 = obv
        # --------------------------------------------- VWAP 14 (all four)
        if not (fhlc and fcv):
            run_all = 0
            vnum = 0.0
            vden = 0.0
        else:
            run_all += 1
            ra = run_all
            tpv = (hi + lw + cl) / 3.0 * vo
            if ra > 14:
                vsince += 1
            else:
                vsince = 0
            if ra > 14 and vsince < 14:
                q = i - 14
                vnum += tpv - (hh[q] + ll[q] + cc[q]) / 3.0 * vv[q]
                vden += vo - vv[q]
            elif ra > 14:
                vsince = 0
                sn = 0.0
                sdn = 0.0
                for q in range(i - 13, i + 1):
                    sn += (hh[q] + ll[q] + cc[q]) / 3.0 * vv[q]
                    sdn += vv[q]
                vnum = sn
                vden = sdn
            else:
                vnum += tpv
                vden += vo
            if ra >= 14 and vden > 0:
                x11 = vnum / vden
        # ------------------------------------------------------------ write
        o[0, i] = x0
        o[1, i] = x1
        o[2, i] = x2
        o[3, i] = x3
        o[4, i] = x4
        o[5, i] = x5
        o[6, i] = x6
        o[7, i] = x7
        o[8, i] = x8
        o[9, i] = x9
        o[10, i] = x10
        o[11, i] = x11


@njit(cache=True, parallel=True)
def _seed_ta_kernel(
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    w: int,
    nthreads: int,
    out: np.ndarray,
) -> None:
    """``out``: ``(2 * NS, n_assets, n_dates)``; series then their z-scores.

    Assets go in blocks of :data:`BLOCK` adjacent columns: a block's inputs are
    gathered into column-major scratch and each column runs
    :func:`_seed_ta_column` (state in registers) writing its 12 series in
    place, then :func:`_zscore_into` once per series.
    Each thread reuses its scratch; results do not depend on the thread count.
    """
    n, m = c.shape
    nblocks = (m + BLOCK - 1) // BLOCK
    nthreads = min(max(nthreads, 1), max(nblocks, 1))
    for t in prange(nthreads):
        inp = np.empty((4, BLOCK, n))
        tmp = np.empty(n)
        for blk in range(t, nblocks, nthreads):
            j0 = blk * BLOCK
            nb = min(BLOCK, m - j0)
            for i in range(n):
                for b in range(nb):
                    inp[0, b, i] = h[i, j0 + b]
                    inp[1, b, i] = lo[i, j0 + b]
                    inp[2, b, i] = c[i, j0 + b]
                    inp[3, b, i] = v[i, j0 + b]
            for b in range(nb):
                # out is (2 NS, n_assets, n_dates): each column's outputs are
                # contiguous, written once, in order
                _seed_ta_column(inp[0, b], inp[1, b], inp[2, b], inp[3, b], out[:, j0 + b, :])
                for s in range(NS):
                    _zscore_into(out[s, j0 + b], out[NS + s, j0 + b], tmp, w)


def seed_ta_fused(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, zwindow: int = 60
) -> dict[str, np.ndarray]:
    """The ``seed_ta`` features in one pass.

    Parameters
    ----------
    high, low, close, volume : numpy.ndarray, shape ``(n_dates, n_assets)``
    zwindow : int
        Rolling z-score window (60 in the founding notebook).

    Returns
    -------
    dict of str to numpy.ndarray
        ``SEED_TA_SERIES`` names and ``<name>_z<zwindow>``, each
        ``(n_dates, n_assets)`` float64, Fortran-ordered views into one block
        of memory (each asset's history contiguous: the kernel writes every
        output once, in order; ``np.ascontiguousarray`` gives C order).
    """
    arrs = [np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close, volume)]
    n, m = arrs[2].shape
    out = np.empty((2 * NS, m, n))
    _seed_ta_kernel(*arrs, int(zwindow), get_num_threads(), out)
    names = list(SEED_TA_SERIES) + [f"{s}_z{zwindow}" for s in SEED_TA_SERIES]
    # transposed views: (n_dates, n_assets) arrays in Fortran order, no copy
    return {name: out[k].T for k, name in enumerate(names)}


def seed_ta_py(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    zwindow: int = 60,
    *,
    engine: str = "numba",
) -> dict[str, np.ndarray]:
    """Twin of :func:`seed_ta_fused`, composed from the stand-alone indicators.

    ``engine="python"`` composes the plain Python twins throughout.
    """
    e = engine
    m = I.macd(close, 12, 26, 9, engine=e)
    bb = I.bbands(close, 20, 2.0, engine=e)
    series = {
        "ema_5": I.ema(close, 5, engine=e),
        "ema_20": I.ema(close, 20, engine=e),
        "ema_50": I.ema(close, 50, engine=e),
        "macd": m["macd"],
        "macd_signal": m["signal"],
        "macd_diff": m["hist"],
        "rsi_14": I.rsi(close, 14, engine=e),
        "bb_upper_20": bb["upper"],
        "bb_lower_20": bb["lower"],
        "atr_14": I.atr(high, low, close, 14, engine=e),
        "obv": I.obv(close, volume, engine=e),
        "vwap_14": I.vwap(high, low, close, volume, 14, engine=e),
    }
    z = R.rolling_zscore if e == "numba" else R.rolling_zscore_py
    return {**series, **{f"{k}_z{zwindow}": z(v, zwindow) for k, v in series.items()}}
