"""One fused numba pass for the founding notebook's feature set (``seed_ta``).

Computing the twelve ``seed_ta`` series and their 60-row z-scores one
primitive at a time walks each ``(n_dates, n_assets)`` array two dozen times,
column by column, with a cache line wasted on every row. This kernel reads
the inputs once: assets are split into blocks of :data:`BLOCK` adjacent
columns (one cache line of float64); a block's inputs are gathered into
column-major scratch; each column then runs one loop over its dates that
updates every series' recursive state (kept in registers) and writes the 12
series, then one short pass per series for its z-score
(:func:`alphalab.features.rolling._zscore_column`, the same function
:func:`~alphalab.features.rolling.rolling_zscore` runs). Every output is
written contiguously (the outputs are Fortran-ordered ``(n_dates, n_assets)``
arrays, so writing them needs no transposition) while the column's 12 series
are still in L2. Each thread takes one contiguous range of blocks, so the two
threads do not fault in the same 2 MiB pages of the fresh outputs; a column's
arithmetic does not depend on the thread that runs it, so results are
deterministic.

Where the time goes (3,000 x 5,000, one thread, measured): the gather 0.1 s,
the 12 series 0.33 s (about 21 ns a row: divisions and square roots that
mirror TA-Lib's arithmetic), the 12 z-scores 0.62 s (3.4 ns a cell: a
running-moment loop of about 2.3 ns, then 0.9 ns of vectorised square roots
and divisions), and writing 2.9 GB of outputs to memory about 0.23 s more.
The z-score's cost is its running-moment loop: full-window stretches run
with no per-row tests (:func:`alphalab.features.rolling._moments_stretch`),
and a rebuild uses sums the rows since the last one have accumulated, so no
row re-reads its window. History of these numbers: BENCHMARKS.md, Features.

Tried and dropped (slower, measured): all 24 outputs in one date loop (the
state of 12 z-scores does not fit the registers); deferring the RSI,
Bollinger and VWAP divisions to a vectorised pass; z-scores of two to four
series interleaved in one loop (the loop is bound by instruction count, not
latency); z-scores of eight assets side by side (numba / LLVM do not
vectorise it, with array or scalar lane state); non-temporal stores for the
outputs (an intrinsic emitting ``movntsd``: 0.81 s against 0.67 s). Also
measured and dropped (see BENCHMARKS.md, Features): z-scores by aligned
60-row blocks (suffix plus prefix sums, SIMD across assets; correct, but the
layout it needs made the whole pass slower).

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


@njit(cache=True)
def _seed_ta_column(
    hh: np.ndarray, ll: np.ndarray, cc: np.ndarray, vv: np.ndarray, o: np.ndarray, tp_v: np.ndarray
) -> None:
    """The 12 series of one asset into ``o[:NS]`` (``o``: ``(24, n_dates)``); state in scalars.

    ``tp_v``: ``(n_dates,)`` scratch for the typical price times volume, so
    that the VWAP's oldest term is read back rather than recomputed (one
    division less per row). Data-dependent branches are written as selects:
    on real prices their direction is a coin flip, and a mispredicted branch
    costs more than computing both sides.
    """
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
    bacc = 0.0
    ba1 = 0.0
    ba2 = 0.0
    pc_atr = 0.0
    atr = 0.0
    obv = 0.0
    prev_obv_c = 0.0
    vsince = 0
    vnum = 0.0
    vden = 0.0
    vacc_n = 0.0
    vacc_d = 0.0
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
                    al = al - d if d < 0 else al
                    ag = ag if d < 0 else ag + d
                    if k == 14:
                        ag /= 14
                        al /= 14
                else:
                    al *= 13
                    ag *= 13
                    al = al - d if d < 0 else al
                    ag = ag if d < 0 else ag + d
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
            else:
                bsame = bsame + 1 if cl == prev_c else 1
            prev_c = cl
            vs = cl - bk
            if rc <= 20:
                bsince = 0
                bsum += cl
                bacc = 0.0
                ba1 = 0.0
                ba2 = 0.0
                dd = vs - bmu
                bmu += dd / rc
                bm2 += dd * (vs - bmu)
            else:
                # the rows since the last rebuild are the next rebuild's window
                bacc += cl
                ba1 += vs
                ba2 += vs * vs
                if bsince + 1 == 20:
                    bsince = 0
                    bsum = bacc
                    bacc = 0.0
                    bmu = ba1 * inv20
                    bm2 = ba2 - ba1 * bmu
                    bmu -= vs
                    bk = cl
                    ba1 = 0.0
                    ba2 = 0.0
                else:
                    bsince += 1
                    u = cc[i - 20]
                    bsum += cl - u
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
                tr = t2 if t2 > tr else tr
                t2 = abs(lw - pc_atr)
                tr = t2 if t2 > tr else tr
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
            else:
                obv = obv + vo if cl > prev_obv_c else (obv - vo if cl < prev_obv_c else obv)
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
            tp_v[i] = tpv
            if ra > 14:
                # rolling_sum arithmetic: the rows since the last rebuild are
                # the next rebuild's window
                vsince += 1
                vacc_n += tpv
                vacc_d += vo
                if vsince < 14:
                    vnum += tpv - tp_v[i - 14]
                    vden += vo - vv[i - 14]
                else:
                    vsince = 0
                    vnum = vacc_n
                    vden = vacc_d
                    vacc_n = 0.0
                    vacc_d = 0.0
            else:
                vsince = 0
                vacc_n = 0.0
                vacc_d = 0.0
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
    place, then the rolling z-score once per series. Thread ``t`` takes the
    ``t``-th contiguous range of blocks and reuses its scratch; results do not
    depend on the thread count.
    """
    n, m = c.shape
    nblocks = (m + BLOCK - 1) // BLOCK
    nthreads = min(max(nthreads, 1), max(nblocks, 1))
    for t in prange(nthreads):
        inp = np.empty((4, BLOCK, n))
        tmp = np.empty(n)
        for blk in range(t * nblocks // nthreads, (t + 1) * nblocks // nthreads):
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
                _seed_ta_column(inp[0, b], inp[1, b], inp[2, b], inp[3, b], out[:, j0 + b, :], tmp)
                for s in range(NS):
                    R._zscore_column(out[s, j0 + b], out[NS + s, j0 + b], tmp, w, 1)


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
