"""The built-in operators: everything Alpha101 uses, Qlib-style extras and the GTJA 191 set.

Conventions (see also :mod:`alphalab.features.expr.registry`):

* Missing values propagate: any NaN input gives NaN (comparisons and logical
  operators included, so a warm-up row never turns into a constant branch).
  Division by zero and ``log`` of a non-positive number give NaN, not inf.
* Time-series operators are strict (NaN until the window is full of finite
  values) and read only past rows.
* ``rank`` is the paper's: per-date percentile rank in ``(0, 1]``, ties
  averaged. ``ts_rank`` is the same within an asset's last ``d`` rows.
* ``ts_argmax``/``ts_argmin`` give the position in the window, 1 = oldest
  .. ``d`` = today.
* ``stddev``/``ts_std`` and ``covariance`` use ddof=1 (pandas' default).
* GTJA's ``sma`` is recursive (an EMA with smoothing ``m/n``; see
  :func:`alphalab.features.expr.kernels.cn_sma`); ``highday``/``lowday``
  count rows back from today (0 = today); ``count``/``sumif`` treat any
  non-zero condition as true and are NaN when the condition is.
* ``min``/``max`` follow the paper: with a numeric literal second argument
  they are ``ts_min``/``ts_max``; with two series they are element-wise
  (Alpha#71, #73, ... use that form). The engine resolves this.
"""

from __future__ import annotations

import numpy as np

from alphalab.features import rolling as r
from alphalab.features.expr import kernels as k
from alphalab.features.expr.registry import register_operator

__all__: list[str] = []

_ERR = {"invalid": "ignore", "divide": "ignore", "over": "ignore"}


def _tr():  # type: ignore[no-untyped-def]
    # imported late: transforms imports this package's kernels
    from alphalab.features import transforms

    return transforms


def _nan_mask(*arrays: np.ndarray) -> np.ndarray:
    mask = np.isnan(arrays[0])
    for a in arrays[1:]:
        mask = mask | np.isnan(a)
    return mask


def _cmp(fn):  # type: ignore[no-untyped-def]
    def op(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(**_ERR):
            out = fn(a, b).astype(np.float64)
        out[_nan_mask(a, b)] = np.nan
        return out

    return op


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(**_ERR):
        out = np.divide(a, b)
    out[~np.isfinite(out)] = np.nan
    return out


def _pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(**_ERR):
        out = np.power(a, b)
    out[~np.isfinite(out)] = np.nan
    return out


def _signedpower(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(**_ERR):
        out = np.sign(a) * np.power(np.abs(a), b)
    out[~np.isfinite(out)] = np.nan
    return out


def _log(a: np.ndarray) -> np.ndarray:
    with np.errstate(**_ERR):
        out = np.log(np.where(a > 0, a, np.nan))
    return out


def _where(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.where(c != 0, a, b)
    out[np.isnan(c)] = np.nan
    return out


def _logical(fn):  # type: ignore[no-untyped-def]
    def op(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = fn(a != 0, b != 0).astype(np.float64)
        out[_nan_mask(a, b)] = np.nan
        return out

    return op


def _not(a: np.ndarray) -> np.ndarray:
    out = (a == 0).astype(np.float64)
    out[np.isnan(a)] = np.nan
    return out


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if d < x.shape[0]:
        out[d:] = x[: x.shape[0] - d]
    return out


def _delta(x: np.ndarray, d: int) -> np.ndarray:
    return x - _delay(x, d)


def _least(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)  # NaN-propagating


def _greatest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(x, lo, hi)


def _rank(x: np.ndarray) -> np.ndarray:
    return _tr().cs_rank(x)


def _scale(x: np.ndarray, a: float) -> np.ndarray:
    return _tr().cs_scale(x, a)


def _cs_zscore(x: np.ndarray) -> np.ndarray:
    return _tr().cs_zscore(x)


def _winsorize(x: np.ndarray, q: float) -> np.ndarray:
    return _tr().cs_winsorize(x, method="quantile", limit=q)


def _indneutralize(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return _tr().cs_neutralize(x, codes, method="demean")


def _ew(fn):  # type: ignore[no-untyped-def]
    def op(*args: np.ndarray) -> np.ndarray:
        with np.errstate(**_ERR):
            return fn(*args)

    return op


def _pos1(fn):  # type: ignore[no-untyped-def]
    # rolling.py counts positions from 0; the paper/Qlib convention is 1 = oldest
    def op(x: np.ndarray, d: int) -> np.ndarray:
        return fn(x, d) + 1.0

    return op


def _ts_rank(x: np.ndarray, d: int) -> np.ndarray:
    return r.rolling_rank(x, d, pct=True)


def _reg(what: int):  # type: ignore[no-untyped-def]
    def op(x: np.ndarray, d: int) -> np.ndarray:
        return k.ts_regression(x, d, what)

    return op


# ------------------------------------------- Guotai Junan (GTJA 191) operators
def _count(c: np.ndarray, d: int) -> np.ndarray:
    """COUNT(cond, d): rows of the last ``d`` where ``cond`` is non-zero (NaN if any is NaN)."""
    hit = np.where(np.isnan(c), np.nan, (c != 0).astype(np.float64))
    return r.rolling_sum(hit, d)


def _sumif(x: np.ndarray, d: int, c: np.ndarray) -> np.ndarray:
    """SUMIF(x, d, cond): sum of ``x`` over the last ``d`` rows where ``cond`` is non-zero."""
    return r.rolling_sum(_where(c, x, np.zeros_like(x)), d)


def _highday(x: np.ndarray, d: int) -> np.ndarray:
    """HIGHDAY(x, d): rows since the window's maximum (0 = today; ties: the oldest)."""
    return (d - 1) - r.rolling_argmax(x, d)


def _lowday(x: np.ndarray, d: int) -> np.ndarray:
    """LOWDAY(x, d): rows since the window's minimum (0 = today; ties: the oldest)."""
    return (d - 1) - r.rolling_argmin(x, d)


def _regbeta(y: np.ndarray, x: np.ndarray, d: int) -> np.ndarray:
    """REGBETA(y, x, d): least-squares slope of ``y`` on ``x`` over the last ``d`` rows."""
    return _div(r.rolling_cov(y, x, d), r.rolling_var(x, d))


def _regresi(y: np.ndarray, x: np.ndarray, d: int) -> np.ndarray:
    """REGRESI(y, x, d): today's residual of ``y`` from its fit on ``x`` over the last ``d`` rows."""
    beta = _regbeta(y, x, d)
    with np.errstate(**_ERR):
        return y - (r.rolling_mean(y, d) + beta * (x - r.rolling_mean(x, d)))


def _register_gtja() -> None:
    ts = "ts"
    register_operator("sma", k.cn_sma, kind=ts, signature="xdn", aliases=["cn_sma"],
                      doc="recursive SMA(x, n, m): y = (m*x + (n-m)*y') / n (an EMA, alpha m/n)")
    register_operator("decay_exp", k.ts_wma_exp, kind=ts, signature="xdn", defaults=(0.9,),
                      aliases=["wma_exp"], doc="weighted mean of the last d rows, weights f^i "
                      "(i = 0 today; GTJA's WMA with f = 0.9)")
    register_operator("count", _count, kind=ts, signature="xd", aliases=["ts_count"],
                      doc="rows of the last d where the condition is non-zero")
    register_operator("sumif", _sumif, kind=ts, signature="xdx", aliases=["ts_sumif"],
                      doc="sum of x over the last d rows where the condition is non-zero")
    register_operator("highday", _highday, kind=ts, signature="xd", aliases=["ts_highday"],
                      doc="rows since the window maximum (0 = today)")
    register_operator("lowday", _lowday, kind=ts, signature="xd", aliases=["ts_lowday"],
                      doc="rows since the window minimum (0 = today)")
    register_operator("regbeta", _regbeta, kind=ts, signature="xxd", aliases=["ts_regbeta"],
                      doc="rolling OLS slope of y on x")
    register_operator("regresi", _regresi, kind=ts, signature="xxd", aliases=["ts_regresi"],
                      doc="today's residual of y from its rolling OLS fit on x")


def _register_builtins() -> None:
    ew = "elementwise"
    # infix operators (the parser's names)
    for name, fn in [
        ("add", _ew(np.add)),
        ("sub", _ew(np.subtract)),
        ("mul", _ew(np.multiply)),
        ("div", _div),
        ("pow", _pow),
        ("lt", _cmp(np.less)),
        ("le", _cmp(np.less_equal)),
        ("gt", _cmp(np.greater)),
        ("ge", _cmp(np.greater_equal)),
        ("eq", _cmp(np.equal)),
        ("ne", _cmp(np.not_equal)),
        ("and", _logical(np.logical_and)),
        ("or", _logical(np.logical_or)),
    ]:
        register_operator(name, fn, kind=ew, signature="xx", doc=f"infix {name}")
    register_operator("neg", _ew(np.negative), kind=ew, signature="x", doc="unary minus")
    register_operator("not", _not, kind=ew, signature="x", doc="logical not")
    register_operator("where", _where, kind=ew, signature="xxx", aliases=["if", "conditional"],
                      doc="cond ? a : b (NaN where cond is NaN)")
    register_operator("abs", _ew(np.abs), kind=ew, doc="absolute value")
    register_operator("log", _log, kind=ew, doc="natural log; NaN for x <= 0")
    register_operator("sign", _ew(np.sign), kind=ew, doc="sign: -1, 0, 1")
    register_operator("exp", _ew(np.exp), kind=ew, doc="exponential")
    register_operator("sqrt", _ew(lambda a: np.sqrt(np.where(a >= 0, a, np.nan))), kind=ew,
                      doc="square root; NaN for x < 0")
    register_operator("signedpower", _signedpower, kind=ew, signature="xx",
                      aliases=["signed_power"], doc="sign(x) * |x|^a")
    register_operator("power", _pow, kind=ew, signature="xx", doc="x^a")
    register_operator("least", _least, kind=ew, signature="xx", aliases=["less"],
                      doc="element-wise minimum of two series")
    register_operator("greatest", _greatest, kind=ew, signature="xx", aliases=["greater"],
                      doc="element-wise maximum of two series")
    register_operator("clip", _clip, kind=ew, signature="xnn", doc="clip(x, lo, hi)")

    # time series
    register_operator("delay", _delay, kind="ts", signature="xd", aliases=["ref", "ts_delay"],
                      lookback=lambda p: int(p[0]) + 1, doc="x d rows ago")
    register_operator("delta", _delta, kind="ts", signature="xd", aliases=["ts_delta"],
                      lookback=lambda p: int(p[0]) + 1, doc="x - delay(x, d)")
    table = [
        ("ts_sum", r.rolling_sum, ["sum"], "rolling sum"),
        ("ts_mean", r.rolling_mean, ["mean", "ma"], "rolling mean"),
        ("ts_std", r.rolling_std, ["stddev", "std"], "rolling std (ddof=1)"),
        ("ts_zscore", r.rolling_zscore, [], "rolling z-score (ddof=1)"),
        ("ts_skew", r.rolling_skew, ["skew"], "rolling skewness"),
        ("ts_min", r.rolling_min, ["tsmin"], "rolling min"),
        ("ts_max", r.rolling_max, ["tsmax"], "rolling max"),
        ("ts_argmax", _pos1(r.rolling_argmax), ["idxmax"], "position of the max, 1 = oldest"),
        ("ts_argmin", _pos1(r.rolling_argmin), ["idxmin"], "position of the min, 1 = oldest"),
        ("ts_rank", _ts_rank, ["tsrank"], "percentile rank of today in the window, (0, 1]"),
        ("ts_product", r.rolling_prod, ["product", "prod"], "rolling product"),
        ("decay_linear", r.decay_linear, ["ts_decay_linear", "wma", "decaylinear"], "linear-decay mean"),
        ("ts_slope", _reg(0), ["slope"], "slope of x on time"),
        ("ts_rsquare", _reg(1), ["rsquare"], "R^2 of x on time"),
        ("ts_resi", _reg(2), ["resi"], "residual of today from the fit on time"),
    ]
    for name, fn, aliases, doc in table:
        register_operator(name, fn, kind="ts", signature="xd", aliases=aliases, doc=doc)
    register_operator("ts_corr", r.rolling_corr, kind="ts", signature="xxd",
                      aliases=["correlation", "corr"], doc="rolling correlation")
    register_operator("ts_cov", r.rolling_cov, kind="ts", signature="xxd",
                      aliases=["covariance", "cov"], doc="rolling covariance (ddof=1)")
    register_operator("ts_quantile", k.ts_quantile, kind="ts", signature="xdn",
                      aliases=["quantile"], doc="rolling q-quantile")

    # cross-sectional
    register_operator("rank", _rank, kind="cs", aliases=["cs_rank"], doc="percentile rank (0, 1]")
    register_operator("scale", _scale, kind="cs", signature="xn", defaults=(1.0,),
                      doc="a * x / sum|x| per date")
    register_operator("cs_zscore", _cs_zscore, kind="cs", doc="per-date z-score")
    register_operator("winsorize", _winsorize, kind="cs", signature="xn", defaults=(0.01,),
                      doc="clip at per-date quantiles q, 1-q")
    register_operator("indneutralize", _indneutralize, kind="cs", signature="xg",
                      aliases=["ind_neutralize"], doc="demean within groups per date")


_register_builtins()
_register_gtja()
