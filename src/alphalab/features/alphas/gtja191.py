"""Guotai Junan's 191 short-period alphas (国泰君安《基于短周期价量特征的多因子选股体系》, 2014).

The report lists 191 price-volume formulas in a Chinese-charting dialect. They
are typed here in the engine's language (:mod:`alphalab.features.expr`), one
per alpha, named ``gtja001`` .. ``gtja191``. The report's functions map as:

=========================  ==================================================
report                     engine
=========================  ==================================================
``RET``                    ``returns`` (``close / delay(close, 1) - 1``)
``VWAP``, ``AMOUNT``       ``vwap`` (``amount / volume``, else the typical
                           price with a warning), ``amount``
``DELAY DELTA``            ``delay delta``
``SUM MEAN STD``           ``ts_sum ts_mean ts_std`` (ddof=1)
``CORR COVIANCE``          ``ts_corr ts_cov``
``TSMIN TSMAX TSRANK``     ``ts_min ts_max ts_rank``
``MAX(A, n)``/``MIN``      ``ts_max``/``ts_min`` when ``n`` is a number,
                           ``greatest``/``least`` between two series
``RANK``                   ``rank`` (per-date percentile)
``DECAYLINEAR(A, d)``      ``decay_linear`` (weights d .. 1, summing to 1)
``WMA(A, n)``              ``decay_exp(A, n)`` (weights 0.9^i, i = 0 today)
``SMA(A, n, m)``           ``sma(A, n, m)``: ``Y = (m*A + (n-m)*Y') / n``
``COUNT(cond, n)``         ``count(cond, n)``
``SUMIF(A, n, cond)``      ``sumif(A, n, cond)``
``HIGHDAY/LOWDAY(A, n)``   ``highday/lowday``: rows since the window's
                           maximum/minimum (0 = today)
``REGBETA(A, SEQUENCE(n))`` ``ts_slope(A, n)`` (slope on time 1 .. n)
``PROD``                   ``product``
``DTM DBM TR HD LD``       the report's helper series, expanded in place
                           (:data:`HELPERS`)
``A ? B : C``, ``&``,      ``?:``, ``&&``, ``||``; ``=`` is ``==``
``||``, ``=``
=========================  ==================================================

Where the published text has a slip with one reading (a misspelled name, a
window the same formula gives elsewhere, a misplaced bracket), the formula is
repaired and the repair listed in :data:`GTJA191_REPAIRS`. Typos that do not
stop a formula from being well defined are kept as published (e.g.
``gtja028``'s ``TSMAX(LOW, 9)``, ``gtja159``'s weights). Formulas with no
single reading, or needing series a price panel lacks (Fama-French factors,
a benchmark index's open), are not in :data:`GTJA191`; they are listed with
the reason in :data:`GTJA191_SKIPPED` (10 alphas).

Data-dependent skips, reported by :func:`compute_gtja191` like Alpha101's:
``gtja070 095 132 144`` need an ``amount`` field (value traded);
``gtja181`` needs a benchmark index close (``benchmark=``, a
``data.indices`` field ``index:<ticker>``). On plain OHLCV 176 alphas run,
with ``amount`` 180, with both 181.

``sma`` is recursive: it starts at the first finite value of each run of
finite values and, like a window of ``n`` rows, gives NaN for the first
``n - 1`` rows of a run; afterwards its value still carries the start with
weight ``(1 - m/n)^k``. Everything is causal (values at ``t`` read rows
``<= t`` only).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.features.alphas._register import register_catalogue
from alphalab.features.expr.engine import evaluate_many

__all__ = [
    "BENCHMARK_FIELD",
    "GTJA191",
    "GTJA191_REPAIRS",
    "GTJA191_SKIPPED",
    "HELPERS",
    "compute_gtja191",
    "gtja191_names",
]

#: The field a formula reads for the benchmark index close (``BANCHMARKINDEXCLOSE``).
BENCHMARK_FIELD = "benchmark_close"

# ----------------------------------------------------------------- helpers
_PC = "delay(close, 1)"
_D = f"(close - {_PC})"
#: The report's helper series (its appendix), expanded where a formula uses them.
HELPERS: dict[str, str] = {
    "TR": f"greatest(greatest(high - low, abs(high - {_PC})), abs(low - {_PC}))",
    "HD": "(high - delay(high, 1))",
    "LD": "(delay(low, 1) - low)",
    "DTM": "((open <= delay(open, 1)) ? 0 : greatest(high - open, open - delay(open, 1)))",
    "DBM": "((open >= delay(open, 1)) ? 0 : greatest(open - low, open - delay(open, 1)))",
}
_TR, _HD, _LD, _DTM, _DBM = (HELPERS[k] for k in ("TR", "HD", "LD", "DTM", "DBM"))


def _sign_volume(d: int) -> str:  # gtja043 / 084 / 094: on-balance volume over d days
    return f"ts_sum((close > {_PC}) ? volume : ((close < {_PC}) ? -volume : 0), {d})"


def _close_path(d: int) -> str:  # gtja003 / 059
    return (f"ts_sum((close == {_PC}) ? 0 : (close - ((close > {_PC}) ? least(low, {_PC}) "
            f": greatest(high, {_PC}))), {d})")


def _rsi(d: int, x: str = "close") -> str:  # SMA(MAX(dx, 0), d, 1) / SMA(ABS(dx), d, 1) * 100
    dx = f"({x} - delay({x}, 1))"
    return f"(sma(greatest({dx}, 0), {d}, 1) / sma(abs({dx}), {d}, 1) * 100)"


def _wr(d: int) -> str:  # SMA((TSMAX(HIGH,6)-CLOSE)/(TSMAX(HIGH,6)-TSMIN(LOW,6))*100, d, 1)
    return f"sma((ts_max(high, 6) - close) / (ts_max(high, 6) - ts_min(low, 6)) * 100, {d}, 1)"


def _rsv(d: int = 9) -> str:
    return f"((close - ts_min(low, {d})) / (ts_max(high, {d}) - ts_min(low, {d})) * 100)"


def _tr_range(d: int) -> str:  # MEAN(MAX(MAX(H-L, |C'-H|), |C'-L|), d)
    return f"ts_mean(greatest(greatest(high - low, abs({_PC} - high)), abs({_PC} - low)), {d})"


# gtja049 .. 051: sums of the larger bar move on down days (_DN) and up days (_UP)
_HL = "((high + low) {op} (delay(high, 1) + delay(low, 1)))"
_MOVE = "greatest(abs(high - delay(high, 1)), abs(low - delay(low, 1)))"
_DN = f"ts_sum({_HL.format(op='>=')} ? 0 : {_MOVE}, 12)"
_UP = f"ts_sum({_HL.format(op='<=')} ? 0 : {_MOVE}, 12)"

# gtja055 / 137: a Swing-Index-like bar score
_A = f"abs(high - {_PC})"
_B = f"abs(low - {_PC})"
_C = "abs(high - delay(low, 1))"
_E = f"abs({_PC} - delay(open, 1))"
_SI = (
    f"(16 * (close - {_PC} + (close - open) / 2 + {_PC} - delay(open, 1)) / "
    f"((({_A} > {_B}) && ({_A} > {_C})) ? ({_A} + {_B} / 2 + {_E} / 4) : "
    f"((({_B} > {_C}) && ({_B} > {_A})) ? ({_B} + {_A} / 2 + {_E} / 4) : ({_C} + {_E} / 4))) "
    f"* greatest({_A}, {_B}))"
)

# gtja172 / 186: ADX-like
_PDI = f"(ts_sum((({_LD} > 0) && ({_LD} > {_HD})) ? {_LD} : 0, 14) * 100 / ts_sum({_TR}, 14))"
_MDI = f"(ts_sum((({_HD} > 0) && ({_HD} > {_LD})) ? {_HD} : 0, 14) * 100 / ts_sum({_TR}, 14))"
_ADX = f"ts_mean(abs({_PDI} - {_MDI}) / ({_PDI} + {_MDI}) * 100, 6)"

_T122 = "sma(sma(sma(log(close), 13, 2), 13, 2), 13, 2)"
_TP = "((high + low + close) / 3)"
_R162 = _rsi(12)
_Q164 = f"((close > {_PC}) ? (1 / (close - {_PC})) : 1)"
_T152 = "delay(sma(delay(close / delay(close, 9), 1), 9, 1), 1)"
_T169 = f"delay(sma(close - {_PC}, 9, 1), 1)"
_LO159 = f"least(low, {_PC})"
_HI159 = f"greatest(high, {_PC})"
_BM = BENCHMARK_FIELD
_BMD = f"({_BM} - ts_mean({_BM}, 20))"

GTJA191: dict[str, str] = {
    "gtja001": "(-1 * ts_corr(rank(delta(log(volume), 1)), rank(((close - open) / open)), 6))",
    "gtja002": "(-1 * delta((((close - low) - (high - close)) / (high - low)), 1))",
    "gtja003": _close_path(6),
    "gtja004": "((((ts_sum(close, 8) / 8) + ts_std(close, 8)) < (ts_sum(close, 2) / 2)) ? (-1 * 1) : "
               "(((ts_sum(close, 2) / 2) < ((ts_sum(close, 8) / 8) - ts_std(close, 8))) ? 1 : "
               "(((1 < (volume / ts_mean(volume, 20))) || ((volume / ts_mean(volume, 20)) == 1)) ? 1 : (-1 * 1))))",
    "gtja005": "(-1 * ts_max(ts_corr(ts_rank(volume, 5), ts_rank(high, 5), 5), 3))",
    "gtja006": "(rank(sign(delta(((open * 0.85) + (high * 0.15)), 4))) * -1)",
    "gtja007": "((rank(ts_max((vwap - close), 3)) + rank(ts_min((vwap - close), 3))) * rank(delta(volume, 3)))",
    "gtja008": "rank((delta(((((high + low) / 2) * 0.2) + (vwap * 0.8)), 4) * -1))",
    "gtja009": "sma((((high + low) / 2) - ((delay(high, 1) + delay(low, 1)) / 2)) * (high - low) / volume, 7, 2)",
    "gtja010": "rank(ts_max((((returns < 0) ? ts_std(returns, 20) : close)^2), 5))",
    "gtja011": "ts_sum((((close - low) - (high - close)) / (high - low)) * volume, 6)",
    "gtja012": "(rank((open - (ts_sum(vwap, 10) / 10))) * (-1 * rank(abs((close - vwap)))))",
    "gtja013": "(((high * low)^0.5) - vwap)",
    "gtja014": "close - delay(close, 5)",
    "gtja015": "open / delay(close, 1) - 1",
    "gtja016": "(-1 * ts_max(rank(ts_corr(rank(volume), rank(vwap), 5)), 5))",
    "gtja017": "(rank((vwap - ts_max(vwap, 15)))^delta(close, 5))",
    "gtja018": "close / delay(close, 5)",
    "gtja019": "((close < delay(close, 5)) ? ((close - delay(close, 5)) / delay(close, 5)) : "
               "((close == delay(close, 5)) ? 0 : ((close - delay(close, 5)) / close)))",
    "gtja020": "(close - delay(close, 6)) / delay(close, 6) * 100",
    "gtja021": "ts_slope(ts_mean(close, 6), 6)",
    "gtja022": "sma(((close - ts_mean(close, 6)) / ts_mean(close, 6)) - "
               "delay(((close - ts_mean(close, 6)) / ts_mean(close, 6)), 3), 12, 1)",
    "gtja023": f"sma((close > {_PC}) ? ts_std(close, 20) : 0, 20, 1) / "
               f"(sma((close > {_PC}) ? ts_std(close, 20) : 0, 20, 1) + "
               f"sma((close <= {_PC}) ? ts_std(close, 20) : 0, 20, 1)) * 100",
    "gtja024": "sma(close - delay(close, 5), 5, 1)",
    "gtja025": "((-1 * rank((delta(close, 7) * (1 - rank(decay_linear((volume / ts_mean(volume, 20)), 9)))))) "
               "* (1 + rank(ts_sum(returns, 250))))",
    "gtja026": "(((ts_sum(close, 7) / 7) - close) + ts_corr(vwap, delay(close, 5), 230))",
    "gtja027": "decay_exp((close - delay(close, 3)) / delay(close, 3) * 100 + "
               "(close - delay(close, 6)) / delay(close, 6) * 100, 12)",
    # as published: the second term's denominator reads TSMAX(LOW, 9) (KDJ would use TSMIN)
    "gtja028": f"3 * sma({_rsv()}, 3, 1) - 2 * sma(sma((close - ts_min(low, 9)) / "
               "(ts_max(high, 9) - ts_max(low, 9)) * 100, 3, 1), 3, 1)",
    "gtja029": "(close - delay(close, 6)) / delay(close, 6) * volume",
    "gtja031": "(close - ts_mean(close, 12)) / ts_mean(close, 12) * 100",
    "gtja032": "(-1 * ts_sum(rank(ts_corr(rank(high), rank(volume), 3)), 3))",
    "gtja033": "((((-1 * ts_min(low, 5)) + delay(ts_min(low, 5), 5)) * "
               "rank(((ts_sum(returns, 240) - ts_sum(returns, 20)) / 220))) * ts_rank(volume, 5))",
    "gtja034": "ts_mean(close, 12) / close",
    "gtja035": "(least(rank(decay_linear(delta(open, 1), 15)), "
               "rank(decay_linear(ts_corr(volume, ((open * 0.65) + (open * 0.35)), 17), 7))) * -1)",
    "gtja036": "rank(ts_sum(ts_corr(rank(volume), rank(vwap), 6), 2))",
    "gtja037": "(-1 * rank(((ts_sum(open, 5) * ts_sum(returns, 5)) - delay((ts_sum(open, 5) * ts_sum(returns, 5)), 10))))",
    "gtja038": "(((ts_sum(high, 20) / 20) < high) ? (-1 * delta(high, 2)) : 0)",
    "gtja039": "((rank(decay_linear(delta(close, 2), 8)) - rank(decay_linear(ts_corr(((vwap * 0.3) + (open * 0.7)), "
               "ts_sum(ts_mean(volume, 180), 37), 14), 12))) * -1)",
    "gtja040": f"ts_sum((close > {_PC}) ? volume : 0, 26) / ts_sum((close <= {_PC}) ? volume : 0, 26) * 100",
    "gtja041": "(rank(ts_max(delta(vwap, 3), 5)) * -1)",
    "gtja042": "((-1 * rank(ts_std(high, 10))) * ts_corr(high, volume, 10))",
    "gtja043": _sign_volume(6),
    "gtja044": "(ts_rank(decay_linear(ts_corr(low, ts_mean(volume, 10), 7), 6), 4) + "
               "ts_rank(decay_linear(delta(vwap, 3), 10), 15))",
    "gtja045": "(rank(delta(((close * 0.6) + (open * 0.4)), 1)) * rank(ts_corr(vwap, ts_mean(volume, 150), 15)))",
    "gtja046": "(ts_mean(close, 3) + ts_mean(close, 6) + ts_mean(close, 12) + ts_mean(close, 24)) / (4 * close)",
    "gtja047": "sma((ts_max(high, 6) - close) / (ts_max(high, 6) - ts_min(low, 6)) * 100, 9, 1)",
    "gtja048": f"(-1 * ((rank(((sign((close - {_PC})) + sign(({_PC} - delay(close, 2)))) + "
               "sign((delay(close, 2) - delay(close, 3))))) * ts_sum(volume, 5)) / ts_sum(volume, 20)))",
    "gtja049": f"{_DN} / ({_DN} + {_UP})",
    "gtja050": f"{_UP} / ({_UP} + {_DN}) - {_DN} / ({_DN} + {_UP})",
    "gtja051": f"{_UP} / ({_UP} + {_DN})",
    "gtja052": f"ts_sum(greatest(0, high - delay({_TP}, 1)), 26) / ts_sum(greatest(0, delay({_TP}, 1) - low), 26) * 100",
    "gtja053": f"count(close > {_PC}, 12) / 12 * 100",
    "gtja054": "(-1 * rank(((ts_std(abs(close - open), 5) + (close - open)) + ts_corr(close, open, 10))))",
    "gtja055": f"ts_sum({_SI}, 20)",
    "gtja056": "(rank((open - ts_min(open, 12))) < rank((rank(ts_corr(ts_sum(((high + low) / 2), 19), "
               "ts_sum(ts_mean(volume, 40), 19), 13))^5)))",
    "gtja057": f"sma({_rsv()}, 3, 1)",
    "gtja058": f"count(close > {_PC}, 20) / 20 * 100",
    "gtja059": _close_path(20),
    "gtja060": "ts_sum((((close - low) - (high - close)) / (high - low)) * volume, 20)",
    "gtja061": "(greatest(rank(decay_linear(delta(vwap, 1), 12)), "
               "rank(decay_linear(rank(ts_corr(low, ts_mean(volume, 80), 8)), 17))) * -1)",
    "gtja062": "(-1 * ts_corr(high, rank(volume), 5))",
    "gtja063": _rsi(6),
    "gtja064": "(greatest(rank(decay_linear(ts_corr(rank(vwap), rank(volume), 4), 4)), "
               "rank(decay_linear(ts_max(ts_corr(rank(close), rank(ts_mean(volume, 60)), 4), 13), 14))) * -1)",
    "gtja065": "ts_mean(close, 6) / close",
    "gtja066": "(close - ts_mean(close, 6)) / ts_mean(close, 6) * 100",
    "gtja067": _rsi(24),
    "gtja068": "sma((((high + low) / 2) - ((delay(high, 1) + delay(low, 1)) / 2)) * (high - low) / volume, 15, 2)",
    "gtja069": f"((ts_sum({_DTM}, 20) > ts_sum({_DBM}, 20)) ? "
               f"((ts_sum({_DTM}, 20) - ts_sum({_DBM}, 20)) / ts_sum({_DTM}, 20)) : "
               f"((ts_sum({_DTM}, 20) == ts_sum({_DBM}, 20)) ? 0 : "
               f"((ts_sum({_DTM}, 20) - ts_sum({_DBM}, 20)) / ts_sum({_DBM}, 20))))",
    "gtja070": "ts_std(amount, 6)",
    "gtja071": "(close - ts_mean(close, 24)) / ts_mean(close, 24) * 100",
    "gtja072": _wr(15),
    "gtja073": "((ts_rank(decay_linear(decay_linear(ts_corr(close, volume, 10), 16), 4), 5) - "
               "rank(decay_linear(ts_corr(vwap, ts_mean(volume, 30), 4), 3))) * -1)",
    "gtja074": "(rank(ts_corr(ts_sum(((low * 0.35) + (vwap * 0.65)), 20), ts_sum(ts_mean(volume, 40), 20), 7)) + "
               "rank(ts_corr(rank(vwap), rank(volume), 6)))",
    "gtja076": f"ts_std(abs((close / {_PC} - 1)) / volume, 20) / ts_mean(abs((close / {_PC} - 1)) / volume, 20)",
    "gtja077": "least(rank(decay_linear(((((high + low) / 2) + high) - (vwap + high)), 20)), "
               "rank(decay_linear(ts_corr(((high + low) / 2), ts_mean(volume, 40), 3), 6)))",
    "gtja078": f"({_TP} - ts_mean({_TP}, 12)) / (0.015 * ts_mean(abs(close - ts_mean({_TP}, 12)), 12))",
    "gtja079": _rsi(12),
    "gtja080": "(volume - delay(volume, 5)) / delay(volume, 5) * 100",
    "gtja081": "sma(volume, 21, 2)",
    "gtja082": _wr(20),
    "gtja083": "(-1 * rank(ts_cov(rank(high), rank(volume), 5)))",
    "gtja084": _sign_volume(20),
    "gtja085": "(ts_rank((volume / ts_mean(volume, 20)), 20) * ts_rank((-1 * delta(close, 7)), 8))",
    "gtja086": "((0.25 < (((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10))) ? (-1 * 1) : "
               "(((((delay(close, 20) - delay(close, 10)) / 10) - ((delay(close, 10) - close) / 10)) < 0) ? 1 : "
               "((-1 * 1) * (close - delay(close, 1)))))",
    "gtja087": "((rank(decay_linear(delta(vwap, 4), 7)) + ts_rank(decay_linear(((((low * 0.9) + (low * 0.1)) - vwap) / "
               "(open - ((high + low) / 2))), 11), 7)) * -1)",
    "gtja088": "(close - delay(close, 20)) / delay(close, 20) * 100",
    "gtja089": "2 * (sma(close, 13, 2) - sma(close, 27, 2) - sma(sma(close, 13, 2) - sma(close, 27, 2), 10, 2))",
    "gtja090": "(rank(ts_corr(rank(vwap), rank(volume), 5)) * -1)",
    "gtja091": "((rank((close - ts_max(close, 5))) * rank(ts_corr(ts_mean(volume, 40), low, 5))) * -1)",
    "gtja092": "(greatest(rank(decay_linear(delta(((close * 0.35) + (vwap * 0.65)), 2), 3)), "
               "ts_rank(decay_linear(abs(ts_corr(ts_mean(volume, 180), close, 13)), 5), 15)) * -1)",
    "gtja093": f"ts_sum({_DBM}, 20)",
    "gtja094": _sign_volume(30),
    "gtja095": "ts_std(amount, 20)",
    "gtja096": f"sma(sma({_rsv()}, 3, 1), 3, 1)",
    "gtja097": "ts_std(volume, 10)",
    "gtja098": "((((delta((ts_sum(close, 100) / 100), 100) / delay(close, 100)) < 0.05) || "
               "((delta((ts_sum(close, 100) / 100), 100) / delay(close, 100)) == 0.05)) ? "
               "(-1 * (close - ts_min(close, 100))) : (-1 * delta(close, 3)))",
    "gtja099": "(-1 * rank(ts_cov(rank(close), rank(volume), 5)))",
    "gtja100": "ts_std(volume, 20)",
    "gtja101": "((rank(ts_corr(close, ts_sum(ts_mean(volume, 30), 37), 15)) < "
               "rank(ts_corr(rank(((high * 0.1) + (vwap * 0.9))), rank(volume), 11))) * -1)",
    "gtja102": _rsi(6, "volume"),
    "gtja103": "((20 - lowday(low, 20)) / 20) * 100",
    "gtja104": "(-1 * (delta(ts_corr(high, volume, 5), 5) * rank(ts_std(close, 20))))",
    "gtja105": "(-1 * ts_corr(rank(open), rank(volume), 10))",
    "gtja106": "close - delay(close, 20)",
    "gtja107": "(((-1 * rank((open - delay(high, 1)))) * rank((open - delay(close, 1)))) * rank((open - delay(low, 1))))",
    "gtja108": "((rank((high - ts_min(high, 2)))^rank(ts_corr(vwap, ts_mean(volume, 120), 6))) * -1)",
    "gtja109": "sma(high - low, 10, 2) / sma(sma(high - low, 10, 2), 10, 2)",
    "gtja110": f"ts_sum(greatest(0, high - {_PC}), 20) / ts_sum(greatest(0, {_PC} - low), 20) * 100",
    "gtja111": "sma(volume * ((close - low) - (high - close)) / (high - low), 11, 2) - "
               "sma(volume * ((close - low) - (high - close)) / (high - low), 4, 2)",
    "gtja112": f"(ts_sum(({_D} > 0) ? {_D} : 0, 12) - ts_sum(({_D} < 0) ? abs({_D}) : 0, 12)) / "
               f"(ts_sum(({_D} > 0) ? {_D} : 0, 12) + ts_sum(({_D} < 0) ? abs({_D}) : 0, 12)) * 100",
    "gtja113": "(-1 * ((rank((ts_sum(delay(close, 5), 20) / 20)) * ts_corr(close, volume, 2)) * "
               "rank(ts_corr(ts_sum(close, 5), ts_sum(close, 20), 2))))",
    "gtja114": "((rank(delay(((high - low) / (ts_sum(close, 5) / 5)), 2)) * rank(rank(volume))) / "
               "(((high - low) / (ts_sum(close, 5) / 5)) / (vwap - close)))",
    "gtja115": "(rank(ts_corr(((high * 0.9) + (close * 0.1)), ts_mean(volume, 30), 10))^"
               "rank(ts_corr(ts_rank(((high + low) / 2), 4), ts_rank(volume, 10), 7)))",
    "gtja116": "ts_slope(close, 20)",
    "gtja117": "((ts_rank(volume, 32) * (1 - ts_rank(((close + high) - low), 16))) * (1 - ts_rank(returns, 32)))",
    "gtja118": "ts_sum(high - open, 20) / ts_sum(open - low, 20) * 100",
    "gtja119": "(rank(decay_linear(ts_corr(vwap, ts_sum(ts_mean(volume, 5), 26), 5), 7)) - "
               "rank(decay_linear(ts_rank(ts_min(ts_corr(rank(open), rank(ts_mean(volume, 15)), 21), 9), 7), 8)))",
    "gtja120": "(rank((vwap - close)) / rank((vwap + close)))",
    "gtja121": "((rank((vwap - ts_min(vwap, 12)))^ts_rank(ts_corr(ts_rank(vwap, 20), "
               "ts_rank(ts_mean(volume, 60), 2), 18), 3)) * -1)",
    "gtja122": f"({_T122} - delay({_T122}, 1)) / delay({_T122}, 1)",
    "gtja123": "((rank(ts_corr(ts_sum(((high + low) / 2), 20), ts_sum(ts_mean(volume, 60), 20), 9)) < "
               "rank(ts_corr(low, volume, 6))) * -1)",
    "gtja124": "(close - vwap) / decay_linear(rank(ts_max(close, 30)), 2)",
    "gtja125": "(rank(decay_linear(ts_corr(vwap, ts_mean(volume, 80), 17), 20)) / "
               "rank(decay_linear(delta(((close * 0.5) + (vwap * 0.5)), 3), 16)))",
    "gtja126": "(close + high + low) / 3",
    "gtja127": "(ts_mean(((100 * (close - ts_max(close, 12)) / ts_max(close, 12))^2), 12))^0.5",
    "gtja128": f"100 - (100 / (1 + ts_sum(({_TP} > delay({_TP}, 1)) ? ({_TP} * volume) : 0, 14) / "
               f"ts_sum(({_TP} < delay({_TP}, 1)) ? ({_TP} * volume) : 0, 14)))",
    "gtja129": f"ts_sum(({_D} < 0) ? abs({_D}) : 0, 12)",
    "gtja130": "(rank(decay_linear(ts_corr(((high + low) / 2), ts_mean(volume, 40), 9), 10)) / "
               "rank(decay_linear(ts_corr(rank(vwap), rank(volume), 7), 3)))",
    "gtja131": "(rank(delta(vwap, 1))^ts_rank(ts_corr(close, ts_mean(volume, 50), 18), 18))",
    "gtja132": "ts_mean(amount, 20)",
    "gtja133": "((20 - highday(high, 20)) / 20) * 100 - ((20 - lowday(low, 20)) / 20) * 100",
    "gtja134": "(close - delay(close, 12)) / delay(close, 12) * volume",
    "gtja135": "sma(delay(close / delay(close, 20), 1), 20, 1)",
    "gtja136": "((-1 * rank(delta(returns, 3))) * ts_corr(open, volume, 10))",
    "gtja137": _SI,
    "gtja138": "((rank(decay_linear(delta(((low * 0.7) + (vwap * 0.3)), 3), 20)) - "
               "ts_rank(decay_linear(ts_rank(ts_corr(ts_rank(low, 8), ts_rank(ts_mean(volume, 60), 17), 5), 19), 16), 7)) * -1)",
    "gtja139": "(-1 * ts_corr(open, volume, 10))",
    "gtja140": "least(rank(decay_linear(((rank(open) + rank(low)) - (rank(high) + rank(close))), 8)), "
               "ts_rank(decay_linear(ts_corr(ts_rank(close, 8), ts_rank(ts_mean(volume, 60), 20), 8), 7), 3))",
    "gtja141": "(rank(ts_corr(rank(high), rank(ts_mean(volume, 15)), 9)) * -1)",
    "gtja142": "(((-1 * rank(ts_rank(close, 10))) * rank(delta(delta(close, 1), 1))) * "
               "rank(ts_rank((volume / ts_mean(volume, 20)), 5)))",
    "gtja144": f"sumif(abs(close / {_PC} - 1) / amount, 20, close < {_PC}) / count(close < {_PC}, 20)",
    "gtja145": "(ts_mean(volume, 9) - ts_mean(volume, 26)) / ts_mean(volume, 12) * 100",
    "gtja147": "ts_slope(ts_mean(close, 12), 12)",
    "gtja148": "((rank(ts_corr(open, ts_sum(ts_mean(volume, 60), 9), 6)) < rank((open - ts_min(open, 14)))) * -1)",
    "gtja150": "(close + high + low) / 3 * volume",
    "gtja151": "sma(close - delay(close, 20), 20, 1)",
    "gtja152": f"sma(ts_mean({_T152}, 12) - ts_mean({_T152}, 26), 9, 1)",
    "gtja153": "(ts_mean(close, 3) + ts_mean(close, 6) + ts_mean(close, 12) + ts_mean(close, 24)) / 4",
    "gtja154": "((vwap - ts_min(vwap, 16)) < ts_corr(vwap, ts_mean(volume, 180), 18))",
    "gtja155": "sma(volume, 13, 2) - sma(volume, 27, 2) - sma(sma(volume, 13, 2) - sma(volume, 27, 2), 10, 2)",
    "gtja156": "(greatest(rank(decay_linear(delta(vwap, 5), 3)), rank(decay_linear(((delta(((open * 0.15) + "
               "(low * 0.85)), 2) / ((open * 0.15) + (low * 0.85))) * -1), 3))) * -1)",
    "gtja157": "(ts_min(product(rank(rank(log(ts_sum(ts_min(rank(rank((-1 * rank(delta((close - 1), 5))))), 2), 1)))), 1), 5) + "
               "ts_rank(delay((-1 * returns), 6), 5))",
    "gtja158": "((high - sma(close, 15, 2)) - (low - sma(close, 15, 2))) / close",
    # weights as published (12*24, 6*24, 6*24 over 6*12 + 6*24 + 12*24)
    "gtja159": f"((close - ts_sum({_LO159}, 6)) / ts_sum({_HI159} - {_LO159}, 6) * 12 * 24 + "
               f"(close - ts_sum({_LO159}, 12)) / ts_sum({_HI159} - {_LO159}, 12) * 6 * 24 + "
               f"(close - ts_sum({_LO159}, 24)) / ts_sum({_HI159} - {_LO159}, 24) * 6 * 24) * 100 / "
               "(6 * 12 + 6 * 24 + 12 * 24)",
    "gtja160": f"sma((close <= {_PC}) ? ts_std(close, 20) : 0, 20, 1)",
    "gtja161": _tr_range(12),
    "gtja162": f"({_R162} - ts_min({_R162}, 12)) / (ts_max({_R162}, 12) - ts_min({_R162}, 12))",
    "gtja163": "rank(((((-1 * returns) * ts_mean(volume, 20)) * vwap) * (high - close)))",
    "gtja164": f"sma(({_Q164} - ts_min({_Q164}, 12)) / (high - low) * 100, 13, 2)",
    "gtja167": f"ts_sum(({_D} > 0) ? {_D} : 0, 12)",
    "gtja168": "(-1 * volume / ts_mean(volume, 20))",
    "gtja169": f"sma(ts_mean({_T169}, 12) - ts_mean({_T169}, 26), 10, 1)",
    "gtja170": "((((rank((1 / close)) * volume) / ts_mean(volume, 20)) * ((high * rank((high - close))) / "
               "(ts_sum(high, 5) / 5))) - rank((vwap - delay(vwap, 5))))",
    "gtja171": "((-1 * ((low - close) * (open^5))) / ((close - high) * (close^5)))",
    "gtja172": _ADX,
    "gtja173": "3 * sma(close, 13, 2) - 2 * sma(sma(close, 13, 2), 13, 2) + sma(sma(sma(log(close), 13, 2), 13, 2), 13, 2)",
    "gtja174": f"sma((close > {_PC}) ? ts_std(close, 20) : 0, 20, 1)",
    "gtja175": _tr_range(6),
    "gtja176": "ts_corr(rank(((close - ts_min(low, 12)) / (ts_max(high, 12) - ts_min(low, 12)))), rank(volume), 6)",
    "gtja177": "((20 - highday(high, 20)) / 20) * 100",
    "gtja178": f"(close - {_PC}) / {_PC} * volume",
    "gtja179": "(rank(ts_corr(vwap, volume, 4)) * rank(ts_corr(rank(low), rank(ts_mean(volume, 50)), 12)))",
    "gtja180": "((ts_mean(volume, 20) < volume) ? ((-1 * ts_rank(abs(delta(close, 7)), 60)) * sign(delta(close, 7))) : "
               "(-1 * volume))",
    "gtja181": f"ts_sum((returns - ts_mean(returns, 20)) - ({_BMD}^2), 20) / ts_sum({_BMD}^3, 20)",
    "gtja184": "(rank(ts_corr(delay((open - close), 1), close, 200)) + rank((open - close)))",
    "gtja185": "rank((-1 * ((1 - (open / close))^2)))",
    "gtja186": f"({_ADX} + delay({_ADX}, 6)) / 2",
    "gtja187": f"ts_sum({_DTM}, 20)",
    "gtja188": "((high - low - sma(high - low, 11, 2)) / sma(high - low, 11, 2)) * 100",
    "gtja189": "ts_mean(abs(close - ts_mean(close, 6)), 6)",
    "gtja191": "((ts_corr(ts_mean(volume, 20), low, 5) + ((high + low) / 2)) - close)",
}

#: Alphas left out, with the reason (formula not well defined, or data a price panel lacks).
GTJA191_SKIPPED: dict[str, str] = {
    "gtja030": "regresses returns on the Fama-French factor series MKT, SMB and HML "
               "(REGRESI(..., MKT, SMB, HML, 60)), which a price panel does not have",
    "gtja075": "needs the benchmark index's open (BANCHMARKINDEXOPEN); data.indices supplies "
               "index closes only",
    "gtja143": "ill-defined: recursive in SELF with no initial value, and it multiplies SELF by "
               "the return rather than by 1 + return",
    "gtja146": "ill-defined: the last SMA has two arguments (SMA needs n and m) and the "
               "denominator's brackets admit no single reading",
    "gtja149": "ill-defined: FILTER drops rows, so REGBETA's 252 is either 252 filtered rows "
               "or 252 days; it also needs a benchmark index",
    "gtja165": "ill-defined: MAX and MIN are called with one argument and SUMAC without its "
               "window (MAX(SUMAC(CLOSE-MEAN(CLOSE,48)))-...)",
    "gtja166": "ill-defined: '(20-2)(SUM((CLOSE/DELAY(CLOSE,1),20)^2,20))' has a missing "
               "operator and a two-element bracket",
    "gtja182": "needs the benchmark index's open (BANCHMARKINDEXOPEN); data.indices supplies "
               "index closes only",
    "gtja183": "ill-defined: MAX and MIN are called with one argument and SUMAC without its "
               "window (MAX(SUMAC(CLOSE-MEAN(CLOSE,24)))-...)",
    "gtja190": "ill-defined: the mean-return term is '-1-(...)^(1/20)-1' in one SUMIF and "
               "'-((...)^(1/20)-1)' in the other, and DELAY(CLOSE) has no lag",
}

#: Slips in the published text repaired here (one reading only).
GTJA191_REPAIRS: dict[str, str] = {
    "gtja010": "RANK(MAX((...)^2),5) read as RANK(MAX((...)^2, 5)) (a misplaced bracket: "
               "as published MAX has one argument and RANK two)",
    "gtja022": "SMEAN(..., 12, 1) read as SMA(..., 12, 1) (the only three-argument mean)",
    "gtja023": "STD(CLOSE:20) read as STD(CLOSE,20), as in the same formula's other two terms",
    "gtja036": "RANK(SUM(CORR(RANK(VOLUME), RANK(VWAP)), 6), 2) read as "
               "RANK(SUM(CORR(RANK(VOLUME), RANK(VWAP), 6), 2)) (a misplaced bracket)",
    "gtja052": "'-L' read as '-LOW'",
    "gtja054": "STD(ABS(CLOSE - OPEN)) given window 5, as in Alpha101 #18 which it restates",
    "gtja127": "MEAN(...) given window 12, the formula's only window",
    "gtja131": "DELAT read as DELTA",
    "gtja159": "HGIH read as HIGH",
    "gtja181": "the second SUM given window 20, as the first",
    "gtja188": "the en dash in 'HIGH-LOW–SMA' read as minus",
}

_ALL = [f"gtja{i:03d}" for i in range(1, 192)]
assert set(GTJA191) | set(GTJA191_SKIPPED) == set(_ALL) and not set(GTJA191) & set(GTJA191_SKIPPED)
_NEEDS_BENCHMARK = frozenset(n for n, f in GTJA191.items() if BENCHMARK_FIELD in f)


def gtja191_names() -> list[str]:
    """The implemented alphas' names, ``gtja001`` .. ``gtja191`` minus :data:`GTJA191_SKIPPED`."""
    return list(GTJA191)


def _benchmark_field(panel: Panel, benchmark: str | None) -> str | None:
    if benchmark == "auto":
        found = [f for f in panel.field_names if f.startswith("index:")]
        return found[0] if len(found) == 1 else None
    if benchmark is not None and benchmark not in panel:
        have = [f for f in panel.field_names if f.startswith("index:")]
        raise ConfigError(
            f"gtja191: benchmark field {benchmark!r} is not in the panel "
            f"(index fields: {', '.join(have) or 'none'}; add the index with data.indices)"
        )
    return benchmark


def compute_gtja191(
    panel: Panel,
    *,
    names: Sequence[str] | None = None,
    benchmark: str | None = "auto",
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate the GTJA 191 catalogue (or a subset) on a Panel.

    Parameters
    ----------
    panel : Panel
        Needs ``open, high, low, close, volume``; ``amount`` (value traded;
        also gives a true vwap) is used when present.
    names : sequence of str, optional
        Subset, e.g. ``["gtja001", "gtja191"]``; default all 191 (the
        skipped ones are reported in ``skipped``).
    benchmark : str or None, default "auto"
        Panel field holding a benchmark index close (``index:<ticker>`` from
        a study's ``data.indices``) for ``gtja181``. ``"auto"`` uses the
        panel's only ``index:`` field when there is exactly one; ``None``
        skips ``gtja181``.

    Returns
    -------
    values : dict of str to ndarray, each (n_dates, n_assets)
    skipped : dict of str to str
        Requested alphas not computed, with the reason (ill-defined, or
        ``amount`` / a benchmark missing from the data).

    Raises
    ------
    ConfigError
        An unknown alpha name, or a ``benchmark`` field the panel lacks.
    """
    wanted = list(_ALL if names is None else names)
    unknown = [n for n in wanted if n not in GTJA191 and n not in GTJA191_SKIPPED]
    if unknown:
        raise ConfigError(f"gtja191: unknown alpha name(s) {unknown}; names are gtja001 .. gtja191")
    skipped = {n: GTJA191_SKIPPED[n] for n in wanted if n in GTJA191_SKIPPED}
    chosen = {n: GTJA191[n] for n in wanted if n in GTJA191}
    bench = _benchmark_field(panel, benchmark)
    if bench is None:
        for n in [n for n in chosen if n in _NEEDS_BENCHMARK]:
            del chosen[n]
            skipped[n] = ("needs a benchmark index close: pass benchmark='index:<ticker>' "
                          "(a data.indices field)")
    elif _NEEDS_BENCHMARK & set(chosen) and bench != BENCHMARK_FIELD:
        panel = panel.with_fields(**{BENCHMARK_FIELD: panel[bench]})
    values, missing = evaluate_many(chosen, panel, on_missing="skip")
    skipped.update(missing)
    return values, {n: skipped[n] for n in wanted if n in skipped}


# ------------------------------------------------------------ feature set
def _feature_set(panel: Panel) -> dict[str, np.ndarray]:
    """The ``gtja191`` feature set: every alpha the panel's fields allow.

    ``gtja181`` runs when the panel has exactly one ``index:`` field (a
    study's ``data.indices`` with one index). One warning names the alphas
    left out beyond the 10 that are never computed.
    """
    values, skipped = compute_gtja191(panel)
    extra = {n: r for n, r in skipped.items() if n not in GTJA191_SKIPPED}
    if extra:
        warnings.warn(
            f"gtja191: {len(extra)} alpha(s) skipped ({', '.join(extra)}): "
            + "; ".join(sorted(set(extra.values()))),
            UserWarning,
            stacklevel=2,
        )
    return values


register_catalogue(
    "gtja191",
    GTJA191,
    _feature_set,
    extra_fields=["amount", BENCHMARK_FIELD],
    spec={"vwap": "amount/volume else (high+low+close)/3",
          "benchmark": "the only index: field, if exactly one"},
    description="Guotai Junan's 191 short-period alphas where well defined (181); "
    "gtja070/095/132/144 need an amount field, gtja181 one index: field",
)
