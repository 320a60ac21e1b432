"""One fused numba pass for the founding notebook's feature set (``seed_ta``).

Computing the twelve ``seed_ta`` series and their 60-row z-scores one
primitive at a time walks each ``(n_dates, n_assets)`` array two dozen times,
column by column, with a cache line wasted on every row. This kernel walks
the inputs once: assets are split into blocks of :data:`BLOCK` adjacent
columns (one cache line of float64), blocks run in parallel (``prange``; each
block's arithmetic is independent of the thread that runs it, so results
are deterministic), and inside a block rows advance in order while every
series' recursive state is updated.

The arithmetic of every series is the same, operation for operation, as the
stand-alone indicator (:mod:`alphalab.features.indicators`) and
:func:`alphalab.features.rolling.rolling_zscore`; the Python twin
:func:`seed_ta_py` composes those functions, and the tests prove the two
agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

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


@njit(cache=True, inline="always")
def _z_step(
    out: np.ndarray,
    s: int,
    i: int,
    j: int,
    b: int,
    x: float,
    w: int,
    zrun: np.ndarray,
    zsame: np.ndarray,
    zk: np.ndarray,
    zmu: np.ndarray,
    zm2: np.ndarray,
    zsince: np.ndarray,
) -> float:
    """One row of :func:`rolling_zscore` (ddof 1) on series ``s`` (already written to ``out``)."""
    if not np.isfinite(x):
        zrun[s, b] = 0
        zsame[s, b] = 0
        zmu[s, b] = 0.0
        zm2[s, b] = 0.0
        return NAN
    run = zrun[s, b] + 1
    zrun[s, b] = run
    if run > 1 and x == out[s, i - 1, j]:
        zsame[s, b] += 1
    else:
        zsame[s, b] = 1
    if run == 1:
        zk[s, b] = x
    K = zk[s, b]
    mu = zmu[s, b]
    m2 = zm2[s, b]
    if run <= w:
        zsince[s, b] = 0
        vs = x - K
        d = vs - mu
        mu += d / run
        m2 += d * (vs - mu)
    elif zsince[s, b] + 1 == w:
        zsince[s, b] = 0
        K = x
        zk[s, b] = K
        mu = 0.0
        for k in range(i - w + 1, i + 1):
            mu += out[s, k, j] - K
        mu /= w
        m2 = 0.0
        for k in range(i - w + 1, i + 1):
            d = (out[s, k, j] - K) - mu
            m2 += d * d
    else:
        zsince[s, b] += 1
        vs = x - K
        us = out[s, i - w, j] - K
        mu_new = mu + (vs - us) / w
        m2 += (vs - us) * (vs - mu_new + us - mu)
        mu = mu_new
    zmu[s, b] = mu
    zm2[s, b] = m2
    if run < w:
        return NAN
    if zsame[s, b] >= w:
        var = 0.0
    else:
        var = max(m2 / (w - 1), 0.0)
    sd = math.sqrt(var)
    return ((x - K) - mu) / sd if sd > 0.0 else NAN


@njit(cache=True, parallel=True)
def _seed_ta_kernel(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray, w: int, out: np.ndarray
) -> None:
    """``out``: ``(2 * NS, n_dates, n_assets)``; series then their z-scores."""
    n, m = c.shape
    nblocks = (m + BLOCK - 1) // BLOCK
    a5 = 2.0 / 6.0
    a20 = 2.0 / 21.0
    a50 = 2.0 / 51.0
    kf = 2.0 / 13.0
    ks = 2.0 / 27.0
    kg = 2.0 / 10.0
    for blk in prange(nblocks):
        j0 = blk * BLOCK
        nb = min(BLOCK, m - j0)
        # per-column recursive state
        run_c = np.zeros(BLOCK, np.int64)
        run_hlc = np.zeros(BLOCK, np.int64)
        run_cv = np.zeros(BLOCK, np.int64)
        run_all = np.zeros(BLOCK, np.int64)
        e5 = np.zeros(BLOCK)
        e20 = np.zeros(BLOCK)
        e50 = np.zeros(BLOCK)
        ss = np.zeros(BLOCK)
        sf = np.zeros(BLOCK)
        ef = np.zeros(BLOCK)
        es = np.zeros(BLOCK)
        sg = np.zeros(BLOCK)
        prev_c = np.zeros(BLOCK)
        ag = np.zeros(BLOCK)
        al = np.zeros(BLOCK)
        bsame = np.zeros(BLOCK, np.int64)
        bk = np.zeros(BLOCK)
        bmu = np.zeros(BLOCK)
        bm2 = np.zeros(BLOCK)
        bsum = np.zeros(BLOCK)
        pc_atr = np.zeros(BLOCK)
        atr = np.zeros(BLOCK)
        obv = np.zeros(BLOCK)
        prev_obv_c = np.zeros(BLOCK)
        vnum = np.zeros(BLOCK)
        vden = np.zeros(BLOCK)
        zrun = np.zeros((NS, BLOCK), np.int64)
        zsame = np.zeros((NS, BLOCK), np.int64)
        zk = np.zeros((NS, BLOCK))
        zmu = np.zeros((NS, BLOCK))
        zm2 = np.zeros((NS, BLOCK))
        zsince = np.zeros((NS, BLOCK), np.int64)
        bsince = np.zeros(BLOCK, np.int64)
        vsince = np.zeros(BLOCK, np.int64)
        for i in range(n):
            for b in range(nb):
                j = j0 + b
                hi = h[i, j]
                lw = lo[i, j]
                cl = c[i, j]
                vo = v[i, j]
                fc = np.isfinite(cl)
                fhlc = fc and np.isfinite(hi) and np.isfinite(lw)
                fcv = fc and np.isfinite(vo)
                for s in range(NS):
                    out[s, i, j] = NAN
                # ------------------------------------------------ close only
                if not fc:
                    run_c[b] = 0
                else:
                    rc = run_c[b] + 1
                    run_c[b] = rc
                    if rc == 1:
                        e5[b] = 0.0
                        e20[b] = 0.0
                        e50[b] = 0.0
                    # EMA 5 / 20 / 50 (rolling.ewm_mean arithmetic)
                    if rc < 5:
                        e5[b] += cl
                    elif rc == 5:
                        e5[b] = (e5[b] + cl) / 5
                    else:
                        e5[b] = e5[b] + a5 * (cl - e5[b])
                    if rc >= 5:
                        out[0, i, j] = e5[b]
                    if rc < 20:
                        e20[b] += cl
                    elif rc == 20:
                        e20[b] = (e20[b] + cl) / 20
                    else:
                        e20[b] = e20[b] + a20 * (cl - e20[b])
                    if rc >= 20:
                        out[1, i, j] = e20[b]
                    if rc < 50:
                        e50[b] += cl
                    elif rc == 50:
                        e50[b] = (e50[b] + cl) / 50
                    else:
                        e50[b] = e50[b] + a50 * (cl - e50[b])
                    if rc >= 50:
                        out[2, i, j] = e50[b]
                    # MACD 12 / 26 / 9 (kernels.macd_kernel arithmetic)
                    if rc == 1:
                        sf[b] = 0.0
                        ss[b] = 0.0
                        sg[b] = 0.0
                    have_line = False
                    if rc <= 26:
                        ss[b] += cl
                        if rc > 14:
                            sf[b] += cl
                        if rc == 26:
                            es[b] = ss[b] / 26
                            ef[b] = sf[b] / 12
                            have_line = True
                    else:
                        ef[b] = (cl - ef[b]) * kf + ef[b]
                        es[b] = (cl - es[b]) * ks + es[b]
                        have_line = True
                    if have_line:
                        ml = ef[b] - es[b]
                        out[3, i, j] = ml
                        kk = rc - 25
                        if kk < 9:
                            sg[b] += ml
                        else:
                            if kk == 9:
                                sg[b] = (sg[b] + ml) / 9
                            else:
                                sg[b] = (ml - sg[b]) * kg + sg[b]
                            out[4, i, j] = sg[b]
                            out[5, i, j] = ml - sg[b]
                    # RSI 14 (kernels.rsi_kernel arithmetic)
                    if rc == 1:
                        ag[b] = 0.0
                        al[b] = 0.0
                    else:
                        d = cl - prev_c[b]
                        k = rc - 1
                        if k <= 14:
                            if d < 0:
                                al[b] -= d
                            else:
                                ag[b] += d
                            if k == 14:
                                ag[b] /= 14
                                al[b] /= 14
                        else:
                            al[b] *= 13
                            ag[b] *= 13
                            if d < 0:
                                al[b] -= d
                            else:
                                ag[b] += d
                            al[b] /= 14
                            ag[b] /= 14
                        if k >= 14:
                            tot = ag[b] + al[b]
                            if -1e-8 < tot < 1e-8:
                                out[6, i, j] = 0.0
                            else:
                                out[6, i, j] = 100.0 * (ag[b] / tot)
                    prev_c[b] = cl
                    # Bollinger 20 / 2: rolling.rolling_mean and rolling_std(ddof=0)
                    if rc == 1:
                        bk[b] = cl
                        bmu[b] = 0.0
                        bm2[b] = 0.0
                        bsum[b] = 0.0
                        bsame[b] = 1
                    elif cl == c[i - 1, j]:
                        bsame[b] += 1
                    else:
                        bsame[b] = 1
                    if rc <= 20:
                        bsince[b] = 0
                        bsum[b] += cl
                        vs = cl - bk[b]
                        dd = vs - bmu[b]
                        bmu[b] += dd / rc
                        bm2[b] += dd * (vs - bmu[b])
                    elif bsince[b] + 1 == 20:
                        bsince[b] = 0
                        bk[b] = cl
                        mu = 0.0
                        sm = 0.0
                        for q in range(i - 19, i + 1):
                            mu += c[q, j] - cl
                            sm += c[q, j]
                        bsum[b] = sm
                        mu /= 20
                        m2 = 0.0
                        for q in range(i - 19, i + 1):
                            dd = (c[q, j] - cl) - mu
                            m2 += dd * dd
                        bmu[b] = mu
                        bm2[b] = m2
                    else:
                        bsince[b] += 1
                        u = c[i - 20, j]
                        bsum[b] += cl - u
                        vs = cl - bk[b]
                        us = u - bk[b]
                        mu_new = bmu[b] + (vs - us) / 20
                        bm2[b] += (vs - us) * (vs - mu_new + us - bmu[b])
                        bmu[b] = mu_new
                    if rc >= 20:
                        mid = bsum[b] / 20
                        var = 0.0 if bsame[b] >= 20 else max(bm2[b] / 20, 0.0)
                        sd = math.sqrt(var)
                        out[7, i, j] = mid + 2.0 * sd
                        out[8, i, j] = mid - 2.0 * sd
                # --------------------------------------------- high low close
                if not fhlc:
                    run_hlc[b] = 0
                else:
                    rh = run_hlc[b] + 1
                    run_hlc[b] = rh
                    if rh == 1:
                        atr[b] = 0.0
                    else:
                        pcv = pc_atr[b]
                        tr = hi - lw
                        t2 = abs(hi - pcv)
                        if t2 > tr:
                            tr = t2
                        t2 = abs(lw - pcv)
                        if t2 > tr:
                            tr = t2
                        k = rh - 1
                        if k < 14:
                            atr[b] += tr
                        elif k == 14:
                            atr[b] = (atr[b] + tr) / 14
                        else:
                            atr[b] = (atr[b] * 13 + tr) / 14
                        if k >= 14:
                            out[9, i, j] = atr[b]
                    pc_atr[b] = cl
                # --------------------------------------------- close volume
                if not fcv:
                    run_cv[b] = 0
                else:
                    rv = run_cv[b] + 1
                    run_cv[b] = rv
                    if rv == 1:
                        obv[b] = vo
                    elif cl > prev_obv_c[b]:
                        obv[b] += vo
                    elif cl < prev_obv_c[b]:
                        obv[b] -= vo
                    prev_obv_c[b] = cl
                    out[10, i, j] = obv[b]
                # ---------------------------------------- VWAP 14 (all four)
                if not (fhlc and fcv):
                    run_all[b] = 0
                    vnum[b] = 0.0
                    vden[b] = 0.0
                else:
                    ra = run_all[b] + 1
                    run_all[b] = ra
                    tpv = (hi + lw + cl) / 3.0 * vo
                    if ra > 14:
                        vsince[b] += 1
                    else:
                        vsince[b] = 0
                    if ra > 14 and vsince[b] < 14:
                        q = i - 14
                        vnum[b] += tpv - (h[q, j] + lo[q, j] + c[q, j]) / 3.0 * v[q, j]
                        vden[b] += vo - v[q, j]
                    elif ra > 14:
                        vsince[b] = 0
                        sn = 0.0
                        sdn = 0.0
                        for q in range(i - 13, i + 1):
                            sn += (h[q, j] + lo[q, j] + c[q, j]) / 3.0 * v[q, j]
                            sdn += v[q, j]
                        vnum[b] = sn
                        vden[b] = sdn
                    else:
                        vnum[b] += tpv
                        vden[b] += vo
                    if ra >= 14 and vden[b] > 0:
                        out[11, i, j] = vnum[b] / vden[b]
                # --------------------------------------------- z-scores
                for s in range(NS):
                    out[NS + s, i, j] = _z_step(
                        out, s, i, j, b, out[s, i, j], w, zrun, zsame, zk, zmu, zm2, zsince
                    )


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
        ``(n_dates, n_assets)`` (views into one block of memory).
    """
    arrs = [np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close, volume)]
    out = np.empty((2 * NS, *arrs[2].shape))
    _seed_ta_kernel(*arrs, int(zwindow), out)
    names = list(SEED_TA_SERIES) + [f"{s}_z{zwindow}" for s in SEED_TA_SERIES]
    return {name: out[k] for k, name in enumerate(names)}


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
