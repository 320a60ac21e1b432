"""Formulaic-alpha expression engine: parse formulas once, evaluate on wide arrays.

>>> from alphalab.features.expr import evaluate                   # doctest: +SKIP
>>> evaluate("rank(ts_corr(close, volume, 10))", panel)            # doctest: +SKIP

The language
------------
Numbers (``2``, ``2.``, ``.5``, ``1e-12``), fields (``close``; Qlib's
``$close`` also works), calls ``f(x, ...)`` (operator names are
case-insensitive), unary ``-``/``!``, ``+ - * /``, ``^`` (power), comparisons
``< <= > >= == !=`` (1.0 / 0.0, NaN if either side is NaN), ``&&``/``&``,
``||``/``|`` and the ternary ``cond ? a : b``. Window arguments must be
literals; non-integer windows are floored, as in the paper (``ts_rank(x,
7.23)`` uses 7 rows). Syntax and name errors raise :class:`FormulaError`
with the formula and a caret at the position.

Fields: the Panel's own, plus ``returns``, ``vwap`` (``amount / volume``,
else the typical price with a :class:`ProxyFieldWarning`), ``adv{d}``
(average daily dollar volume ``ts_mean(close * volume, d)``) and ``cap``
(only from a ``cap`` field). ``amount``, ``cap`` and ``benchmark_close`` (a
benchmark index close) are standard fields: on data without them a formula
raises :class:`MissingInputError`, which catalogues turn into a skip.
Groups for ``indneutralize(x, IndClass.sector)`` come from ``groups={"sector": {ticker: label}}``.

Operators (see :func:`list_operators`)
    element-wise: ``abs log sign exp sqrt signedpower power min max
    (two series) least greatest clip where/conditional``;
    time series (window ``d``): ``delay delta ts_sum/sum ts_mean ts_std/stddev
    ts_zscore ts_skew ts_min ts_max (also min/max(x, d)) ts_argmin ts_argmax
    ts_rank ts_product/product decay_linear ts_corr/correlation
    ts_cov/covariance ts_quantile ts_slope ts_rsquare ts_resi``;
    cross-sectional (per date): ``rank scale cs_zscore winsorize
    indneutralize``;
    Guotai Junan (GTJA 191): ``sma(x, n, m)`` (recursive, ``Y = (m*x +
    (n-m)*Y') / n``), ``decay_exp(x, d, f=0.9)`` (GTJA's WMA), ``count(cond,
    d) sumif(x, d, cond) highday lowday regbeta(y, x, d) regresi(y, x, d)``
    and the spellings ``tsmin tsmax tsrank decaylinear``.

Warm-up: every operator declares its lookback; :class:`Formula` reports
``warmup`` (leading rows that are always NaN) and ``history``. Register
your own operators with :func:`register_operator`.
"""

from __future__ import annotations

from alphalab.features.expr.engine import (
    Formula,
    MissingInputError,
    ProxyFieldWarning,
    compile_formula,
    evaluate,
    evaluate_many,
)
from alphalab.features.expr.parser import FormulaError, parse
from alphalab.features.expr.registry import (
    Operator,
    get_operator,
    list_operators,
    register_operator,
)

__all__ = [
    "Formula",
    "FormulaError",
    "MissingInputError",
    "Operator",
    "ProxyFieldWarning",
    "compile_formula",
    "evaluate",
    "evaluate_many",
    "get_operator",
    "list_operators",
    "parse",
    "register_operator",
]
