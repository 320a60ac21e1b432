"""Expression engine: parser, registry, resolution, warm-up, operators vs pandas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.errors import AlphalabError, DataError
from alphalab.features.expr import (
    FormulaError,
    MissingInputError,
    ProxyFieldWarning,
    compile_formula,
    evaluate,
    evaluate_many,
    get_operator,
    parse,
    register_operator,
)
from alphalab.features.expr import kernels as K
from alphalab.features.expr.registry import _ALIASES, _REGISTRY


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    tickers = [*sorted(us_sp500_long["ticker"].unique())[:30], "APTV", "BHF"]
    df = us_sp500_long[us_sp500_long["ticker"].isin(tickers)]
    return Panel.from_long(df).slice_dates("2016-01-01", "2017-12-31")


def frame(panel: Panel, name: str) -> pd.DataFrame:
    return pd.DataFrame(np.array(panel[name]), index=panel.dates, columns=panel.assets)


def ev(text: str, panel: Panel, **kw) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        return evaluate(text, panel, **kw)


def close_enough(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


# ------------------------------------------------------------------- parser
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("-1 * delta(close, 5) / delay(close, 5)", "div(mul(-1.0,delta(close,5.0)),delay(close,5.0))"),
        ("a + b * c", "add(a,mul(b,c))"),
        ("(a + b) * c", "mul(add(a,b),c)"),
        ("a - b - c", "sub(sub(a,b),c)"),
        ("a ^ b ^ c", "pow(a,pow(b,c))"),
        ("-a ^ 2", "neg(pow(a,2.0))"),
        ("a < b ? c : d ? e : f", "where(lt(a,b),c,where(d,e,f))"),
        ("a || b && c", "or(a,and(b,c))"),
        ("a | b & c", "or(a,and(b,c))"),
        ("a <= b == c", "eq(le(a,b),c)"),
        ("Ts_Rank(x, 7.23)", "ts_rank(x,7.23)"),
        ("$close / .5e1 + 2.", "add(div(close,5.0),2.0)"),
        ("IndNeutralize(x, IndClass.sector)", "indneutralize(x,IndClass.sector)"),
        ("!a", "not(a)"),
    ],
)
def test_parse_precedence(text: str, key: str) -> None:
    assert parse(text).key == key


@pytest.mark.parametrize(
    ("text", "pos", "what"),
    [
        ("rank(close, )", 12, "unexpected ')'"),
        ("close +", 7, "end of formula"),
        ("(close", 6, "expected ')'"),
        ("close # 2", 6, "unexpected character '#'"),
        ("a ? b", 5, "expected ':'"),
        ("", 0, "empty formula"),
        ("close close", 6, "unexpected 'close'"),
    ],
)
def test_parse_errors_name_formula_and_position(text: str, pos: int, what: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, DataError)
    assert err.pos == pos
    assert what in str(err)
    assert repr(text) in str(err)
    # the caret line points at the position
    lines = str(err).splitlines()
    assert lines[-1].index("^") - 2 == pos


# --------------------------------------------------------------- resolution
def test_unknown_field_names_it_and_lists_available(panel: Panel) -> None:
    with pytest.raises(FormulaError) as info:
        evaluate("rank(closee) + 1", panel)
    assert not isinstance(info.value, MissingInputError)  # a typo is never skipped
    msg = str(info.value)
    assert "'closee'" in msg and "available fields" in msg and "close" in msg and "adv{d}" in msg
    assert info.value.pos == 5
    with pytest.raises(FormulaError, match="unknown field 'x'"):
        evaluate_many({"a": "x + 1"}, panel, on_missing="skip")
    # a standard field the data lacks is a missing input, skipped by catalogues
    no_volume = panel.drop_fields("volume")
    with pytest.raises(MissingInputError) as info:
        evaluate("adv20 / 2", no_volume)
    assert info.value.missing == "volume" and "derived field" in str(info.value)
    values, skipped = evaluate_many({"a": "volume", "b": "close"}, no_volume, on_missing="skip")
    assert list(values) == ["b"] and "'volume' is not in the data" in skipped["a"]


def test_unknown_operator_suggests(panel: Panel) -> None:
    with pytest.raises(FormulaError, match=r"unknown operator 'ts_rnak'; did you mean ts_rank"):
        evaluate("ts_rnak(close, 5)", panel)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ts_mean(close)", "ts_mean takes 2 argument"),
        ("ts_mean(close, volume)", "must be a window length"),
        ("ts_mean(close, 0.5)", "window of ts_mean must be >= 1"),
        ("indneutralize(close, 3)", "must be a group name"),
        ("close + sector", "can only be an argument of indneutralize"),
    ],
)
def test_bad_arguments(panel: Panel, text: str, match: str) -> None:
    with pytest.raises(FormulaError, match=match):
        evaluate(text, panel, groups={"sector": {}})


def test_missing_cap_and_group_are_missing_input(panel: Panel) -> None:
    with pytest.raises(MissingInputError, match="'cap'"):
        evaluate("rank(cap)", panel)
    with pytest.raises(MissingInputError, match="group map 'industry' is not given"):
        evaluate("indneutralize(close, IndClass.industry)", panel)
    values, skipped = evaluate_many({"a": "rank(cap)", "b": "close"}, panel, on_missing="skip")
    assert list(values) == ["b"] and "cap" in skipped["a"]


@pytest.mark.parametrize(
    ("text", "warmup"),
    [
        ("close", 0),
        ("returns", 1),
        ("delta(close, 5)", 5),
        ("ts_mean(close, 10)", 9),
        ("ts_rank(close, 7.9)", 6),  # floor(7.9) = 7 rows -> 6 leading NaN
        ("ts_corr(ts_mean(close, 5), delay(volume, 3), 10)", 13),
        ("rank(ts_std(returns, 20))", 20),
        ("adv20", 19),
        ("sum(returns, 250)", 250),
        ("min(close, 5)", 4),
        ("min(close, open)", 0),
        ("(adv20 < volume) ? -1 : 1", 19),
    ],
)
def test_warmup_accounting(panel: Panel, text: str, warmup: int) -> None:
    f = compile_formula(text, panel.field_names)
    assert f.warmup == warmup and f.history == warmup + 1
    out = ev(text, panel)
    assert np.isnan(out[:warmup]).all()
    # the first full window of an asset listed from the start is finite
    first = np.isfinite(out[warmup:]).any(axis=1)
    assert first[0]


def test_vwap_proxy_warns_and_amount_is_used(panel: Panel) -> None:
    with pytest.warns(ProxyFieldWarning, match="typical price"):
        a = evaluate("vwap", panel)
    close_enough(a, (panel["high"] + panel["low"] + panel["close"]) / 3)
    amount = panel["close"] * panel["volume"] * 1.01
    p2 = panel.with_fields(amount=amount)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProxyFieldWarning)
        b = evaluate("vwap", p2)
    close_enough(b, amount / panel["volume"])


def test_derived_fields_match_pandas(panel: Panel) -> None:
    c, v = frame(panel, "close"), frame(panel, "volume")
    close_enough(ev("returns", panel), (c / c.shift(1) - 1).to_numpy())
    close_enough(ev("adv20", panel), (c * v).rolling(20).mean().to_numpy(), rtol=1e-9)


# ------------------------------------------------------- operators vs pandas
def test_ts_operators_match_pandas(panel: Panel) -> None:
    c, v = frame(panel, "close"), frame(panel, "volume")
    cases = {
        "ts_sum(close, 10)": c.rolling(10).sum(),
        "stddev(close, 20)": c.rolling(20).std(),
        "ts_min(close, 7.5)": c.rolling(7).min(),
        "ts_max(close, 7)": c.rolling(7).max(),
        "correlation(close, volume, 10)": c.rolling(10).corr(v),
        "covariance(close, volume, 5)": c.rolling(5).cov(v),
        "delay(close, 3)": c.shift(3),
        "delta(close, 3)": c - c.shift(3),
        "product(close / delay(close, 1), 5)": (c / c.shift(1)).rolling(5).apply(np.prod, raw=True),
        "ts_rank(close, 10)": c.rolling(10).rank(pct=True),
        "ts_argmax(close, 10)": c.rolling(10).apply(lambda w: np.argmax(w) + 1, raw=True),
        "ts_argmin(close, 10)": c.rolling(10).apply(lambda w: np.argmin(w) + 1, raw=True),
        "decay_linear(close, 6)": c.rolling(6).apply(lambda w: np.dot(w, np.arange(1, 7)) / 21, raw=True),
        "ts_zscore(close, 10)": (c - c.rolling(10).mean()) / c.rolling(10).std(),
        "ts_skew(returns, 20)": (c / c.shift(1) - 1).rolling(20).skew(),
        "ts_quantile(close, 10, 0.8)": c.rolling(10).quantile(0.8, interpolation="linear"),
    }
    for text, expected in cases.items():
        close_enough(ev(text, panel), expected.to_numpy(), rtol=1e-7, atol=1e-9)


def test_cs_operators_match_pandas(panel: Panel) -> None:
    c = frame(panel, "close")
    close_enough(ev("rank(close)", panel), c.rank(axis=1, pct=True).to_numpy())
    scaled = c.div(c.abs().sum(axis=1), axis=0)
    close_enough(ev("scale(close)", panel), scaled.to_numpy())
    close_enough(ev("scale(close, 3)", panel), 3 * scaled.to_numpy())
    z = c.sub(c.mean(axis=1), axis=0).div(c.std(axis=1, ddof=0), axis=0)
    close_enough(ev("cs_zscore(close)", panel), z.to_numpy())
    groups = {"sector": {t: ("A" if i % 3 else "B") for i, t in enumerate(panel.assets)}}
    labels = pd.Series(groups["sector"])
    demeaned = c - c.T.groupby(labels).transform("mean").T
    close_enough(ev("indneutralize(close, IndClass.sector)", panel, groups=groups), demeaned.to_numpy())


def test_ranks_average_ties_and_ignore_nan() -> None:
    x = np.array([[1.0, 2.0, 2.0, np.nan, 4.0], [np.nan] * 5, [3.0, np.inf, 1.0, 1.0, 1.0]])
    out = K.cs_rank(x)
    close_enough(out[0], [0.25, 0.625, 0.625, np.nan, 1.0])
    assert np.isnan(out[1]).all()
    close_enough(out[2], [1.0, np.nan, 0.5, 0.5, 0.5])


def test_elementwise_semantics(panel: Panel) -> None:
    c, o = panel["close"], panel["open"]
    close_enough(ev("min(close, open)", panel), np.minimum(c, o))
    close_enough(ev("max(close, open)", panel), np.maximum(c, o))
    close_enough(ev("signedpower(close - open, 2)", panel), np.sign(c - o) * (c - o) ** 2)
    expected = np.where(c > o, 1.0, -1.0)
    expected[np.isnan(c) | np.isnan(o)] = np.nan
    close_enough(ev("(close > open) ? 1 : -1", panel), expected)
    close_enough(ev("clip(returns, -0.01, 0.01)", panel), np.clip(ev("returns", panel), -0.01, 0.01))
    # comparisons propagate NaN, so a warm-up row never becomes a constant branch
    out = ev("(delay(close, 1) < close) ? 1 : 0", panel)
    assert np.isnan(out[0]).all()
    # division by zero and log of non-positive give NaN, never inf
    assert np.isnan(ev("close / (close - close)", panel)).all()
    assert np.isnan(ev("log(close - close)", panel)).all()
    # constants broadcast to the panel's shape
    assert ev("-1 * 1", panel).shape == panel.shape


def test_register_operator_user_function(panel: Panel) -> None:
    from alphalab.features.rolling import rolling_max, rolling_min

    name = "test_ts_range"
    try:
        register_operator(
            name, lambda x, d: rolling_max(x, d) - rolling_min(x, d), kind="ts", signature="xd"
        )
        f = compile_formula(f"{name}(delay(close, 2), 10)", panel.field_names)
        assert f.warmup == 2 + 9
        c = frame(panel, "close").shift(2)
        close_enough(ev(f"{name}(delay(close, 2), 10)", panel),
                     (c.rolling(10).max() - c.rolling(10).min()).to_numpy())
        with pytest.raises(AlphalabError, match="already registered"):
            register_operator(name, abs, kind="elementwise")
        assert get_operator(name.upper()) is not None
    finally:
        _REGISTRY.pop(name, None)
        _ALIASES.pop(name, None)


def test_common_subexpressions_are_shared(panel: Panel) -> None:
    calls = 0
    name = "test_counting_rank"

    def counted(x: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        return K.cs_rank(np.ascontiguousarray(x))

    try:
        register_operator(name, counted, kind="cs")
        values, _ = evaluate_many(
            {"a": f"{name}(volume) + 1", "b": f"ts_mean({name}(volume), 3)", "c": f"{name}(volume)"},
            panel,
        )
        assert calls == 1
        close_enough(values["a"], values["c"] + 1)
    finally:
        _REGISTRY.pop(name, None)


# --------------------------------------------------------------- bad inputs
def test_bad_inputs_nan_gaps_late_listing_constant_single_row(panel: Panel) -> None:
    close = np.array(panel["close"], copy=True)
    close[100:103, 0] = np.nan  # a gap
    close[:, 1] = 50.0  # a constant series
    close[:-1, 2] = np.nan  # a ticker with one row
    p = panel.with_fields(close=close)
    out = ev("ts_corr(close, volume, 5)", p)
    assert np.isnan(out[100:107, 0]).all() and np.isfinite(out[107:, 0]).any()
    assert np.isnan(out[:, 1]).all()  # correlation with a constant is undefined
    assert np.isnan(out[:, 2]).all()
    r = ev("rank(close)", p)
    assert np.isfinite(r[-1, 2])  # one row is still ranked on its date
    z = ev("ts_zscore(close, 5)", p)
    assert np.isnan(z[:, 1]).all()
    late = list(p.assets).index("APTV")
    first_row = int(np.flatnonzero(np.isfinite(p["close"][:, late]))[0])
    m = ev("ts_mean(close, 10)", p)
    assert np.isnan(m[: first_row + 9, late]).all() and np.isfinite(m[first_row + 9, late])
    # a late listing gets the full warm-up even where a ternary's branch is finite
    bhf = list(p.assets).index("BHF")
    first_bhf = int(np.flatnonzero(np.isfinite(p["close"][:, bhf]))[0])
    t = ev("(returns < 0) ? stddev(returns, 20) : close", p)
    assert np.isnan(t[: first_bhf + 20, bhf]).all() and np.isfinite(t[first_bhf + 20, bhf])


def test_kernel_twins_agree() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 6)).cumsum(axis=0)
    x[10:12, 1] = np.nan
    x[:30, 2] = np.nan
    x[:, 3] = 1.5
    x[40, 4] = np.inf
    x[:, 5] = np.round(x[:, 5])  # ties
    for d in (1, 2, 5, 13):
        for q in (0.0, 0.2, 0.8, 1.0):
            close_enough(K.ts_quantile(x, d, q), K.ts_quantile_py(x, d, q))
        for what in (0, 1, 2):
            close_enough(K.ts_regression(x, d, what), K.ts_regression_py(x, d, what), rtol=1e-7, atol=1e-9)
    ties = np.round(rng.standard_normal((50, 40)), 1)
    ties[rng.random(ties.shape) < 0.1] = np.nan
    close_enough(K.cs_rank(ties), K.cs_rank_py(ties))
    # large arrays are ranked in row blocks on threads: same result
    big = np.round(rng.standard_normal((700, 300)), 1)
    big[rng.random(big.shape) < 0.05] = np.nan
    big[3, :5] = [np.inf, -np.inf, np.inf, np.nan, -np.inf]
    close_enough(K.cs_rank(big), K.cs_rank_py(big))


def test_parser_fuzz_only_raises_formula_error() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from([*list("ab1.2 ()+-*/^<>=!&|?:,$e"), "close", "rank(", "ts_mean("])

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(alphabet, max_size=20).map("".join))
    def check(text: str) -> None:
        try:
            parse(text)
        except FormulaError as exc:
            assert 0 <= exc.pos <= len(text)

    check()


def _rank_in_child(x: np.ndarray, q) -> None:  # type: ignore[no-untyped-def]
    q.put(K.cs_rank(x))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threaded_rank_works_in_a_forked_child() -> None:
    import multiprocessing as mp

    x = np.random.default_rng(0).standard_normal((800, 200))
    expected = K.cs_rank(x)  # starts the parent's thread pool
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_rank_in_child, args=(x, q))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    np.testing.assert_array_equal(got, expected)
