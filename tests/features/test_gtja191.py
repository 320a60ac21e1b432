"""GTJA 191 catalogue: coverage and skips, parity with plain pandas, leakage, registration, learners hook."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.errors import ConfigError
from alphalab.features.alphas.gtja191 import (
    GTJA191,
    GTJA191_REPAIRS,
    GTJA191_SKIPPED,
    compute_gtja191,
)
from alphalab.features.catalogues import compute_alphas
from alphalab.features.expr import ProxyFieldWarning, compile_formula
from alphalab.testing.leakage import assert_no_leakage
from tests.conftest import shared_file
from tests.features.test_expr_gtja_ops import pandas_sma

NEVER = {30, 75, 143, 146, 149, 165, 166, 182, 183, 190}
NEEDS_AMOUNT = {70, 95, 132, 144}
NEEDS_BENCHMARK = {181}
FIELDS = ["open", "high", "low", "close", "volume", "amount", "benchmark_close"]


def _names(numbers: set[int]) -> set[str]:
    return {f"gtja{i:03d}" for i in numbers}


@pytest.fixture(scope="module")
def us_small(us_sp500_long: pd.DataFrame) -> Panel:
    """40 tickers x 300 days of OHLCV (no amount, no index), a late listing included."""
    tickers = [*sorted(us_sp500_long["ticker"].unique())[::14][:39], "BHF"]
    df = us_sp500_long[us_sp500_long["ticker"].isin(tickers)]
    return Panel.from_long(df).iloc_dates(slice(-300, None))


@pytest.fixture(scope="module")
def tw_small() -> Panel:
    """30 TWSE stocks x 320 days with amount (the exchange's value traded) and the TAIEX close."""
    px = pd.read_parquet(shared_file("tw_twse_midcap_1992_2018.parquet"),
                         columns=["date", "ticker", "open", "high", "low", "close", "volume", "turnover"])
    names = sorted(px["ticker"].unique())[::5][:30]
    px = px[px["ticker"].isin(names) & (px["date"] >= "2016-06-01")]
    panel = Panel.from_long(px).iloc_dates(slice(0, 320))
    idx = pd.read_parquet(shared_file("taiex_2000_2021.parquet")).set_index("date")["close"]
    twii = idx.reindex(panel.dates).to_numpy(np.float64)
    return panel.with_fields(amount=panel["turnover"], **{"index:^TWII": np.repeat(twii[:, None], panel.n_assets, 1)})


def run(panel: Panel, **kw) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        return compute_gtja191(panel, **kw)


# ------------------------------------------------------------ coverage
def test_catalogue_count_and_skip_list() -> None:
    assert len(GTJA191) == 181
    assert set(GTJA191_SKIPPED) == _names(NEVER)
    assert set(GTJA191) | set(GTJA191_SKIPPED) == _names(set(range(1, 192)))
    assert all(len(r) > 30 for r in GTJA191_SKIPPED.values())
    assert set(GTJA191_REPAIRS) <= set(GTJA191)
    for name, text in GTJA191.items():
        f = compile_formula(text, FIELDS)
        number = int(name[4:])
        assert ("amount" in text) == (number in NEEDS_AMOUNT), name  # vwap reads amount too
        assert ("benchmark_close" in f.fields) == (number in NEEDS_BENCHMARK), name
        assert 0 <= f.warmup < 400, name


def test_skips_on_plain_ohlcv(us_small: Panel) -> None:
    values, skipped = run(us_small)
    assert set(skipped) == _names(NEVER | NEEDS_AMOUNT | NEEDS_BENCHMARK)
    assert len(values) == 176 and len(values) + len(skipped) == 191
    assert "amount" in skipped["gtja070"] and "benchmark" in skipped["gtja181"]
    assert skipped["gtja143"] == GTJA191_SKIPPED["gtja143"]
    for name, arr in values.items():
        assert arr.shape == us_small.shape and arr.dtype == np.float64
        assert not np.isinf(arr).any(), name
        if name != "gtja064":  # correlations of 60-day mean-volume ranks, constant for days: NaN
            assert np.isfinite(arr).any(), name


def test_all_181_run_with_amount_and_benchmark(tw_small: Panel) -> None:
    values, skipped = run(tw_small)
    assert set(skipped) == _names(NEVER)
    assert len(values) == 181
    for name, arr in values.items():
        assert not np.isinf(arr).any(), name
        if name not in ("gtja064", "gtja138"):  # nested correlations of slow ranks: mostly NaN
            assert np.isfinite(arr).mean() > 0.05, name
    v, s = run(tw_small, names=["gtja181", "gtja190"], benchmark=None)
    assert v == {} and set(s) == {"gtja181", "gtja190"}


def test_bad_names_and_benchmark(us_small: Panel) -> None:
    with pytest.raises(ConfigError, match="unknown alpha name"):
        run(us_small, names=["gtja192"])
    with pytest.raises(ConfigError, match="benchmark field 'index:SPX' is not in the panel"):
        run(us_small, names=["gtja181"], benchmark="index:SPX")


# ------------------------------------------------------------ parity with pandas
def _frames(p: Panel) -> dict[str, pd.DataFrame]:
    return {k: pd.DataFrame(np.array(p[k]), index=p.dates, columns=p.assets) for k in p.field_names}


def _check(panel: Panel, name: str, ours: np.ndarray, ref: pd.DataFrame | np.ndarray) -> None:
    ref_a = np.array(ref.to_numpy(dtype=float) if isinstance(ref, pd.DataFrame) else ref, dtype=float)
    ref_a[~np.isfinite(ref_a)] = np.nan
    # the engine blanks a formula's whole warm-up per asset (from its first complete row)
    f = compile_formula(GTJA191[name], [*panel.field_names, "benchmark_close"])
    listed = np.ones(panel.shape, dtype=bool)
    for field in f.fields - {"benchmark_close"}:
        listed &= np.isfinite(panel[field])
    first = np.where(listed.any(axis=0), listed.argmax(axis=0), panel.n_dates)
    ref_a[np.arange(panel.n_dates)[:, None] < first[None, :] + f.warmup] = np.nan
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref_a), err_msg=name)
    np.testing.assert_allclose(ours, ref_a, rtol=1e-7, atol=1e-10, equal_nan=True, err_msg=name)


def _cmp(a: pd.DataFrame, b: pd.DataFrame | float, op: str) -> pd.DataFrame:
    """a <op> b as 1.0 / 0.0, NaN where either side is NaN (pandas gives False there)."""
    b_df = b if isinstance(b, pd.DataFrame) else pd.DataFrame(b, index=a.index, columns=a.columns)
    out = getattr(a, op)(b_df).astype(float)
    return out.where(a.notna() & b_df.notna())


def _iff(c: pd.DataFrame, a: pd.DataFrame | float, b: pd.DataFrame | float) -> pd.DataFrame:
    a_df = a if isinstance(a, pd.DataFrame) else pd.DataFrame(a, index=c.index, columns=c.columns)
    return a_df.where(c == 1, b).where(c.notna())


def _fin(x: pd.DataFrame) -> pd.DataFrame:
    return x.replace([np.inf, -np.inf], np.nan)


def _rank(x: pd.DataFrame) -> pd.DataFrame:
    return x.rank(axis=1, pct=True)


def _decay(x: pd.DataFrame, d: int) -> pd.DataFrame:
    w = np.arange(1, d + 1, dtype=float)
    return x.rolling(d).apply(lambda v: np.dot(v, w) / w.sum(), raw=True)


def test_parity_price_ops(us_small: Panel) -> None:
    names = ["gtja003", "gtja005", "gtja021", "gtja027", "gtja035", "gtja053", "gtja069", "gtja103", "gtja172"]
    values, _ = run(us_small, names=names)
    f = _frames(us_small)
    o, h, low, c, v = f["open"], f["high"], f["low"], f["close"], f["volume"]
    pc = c.shift(1)

    # 003: SUM((C=C'?0:C-(C>C'?MIN(L,C'):MAX(H,C'))),6)
    inner = _iff(_cmp(c, pc, "eq"), 0.0, c - _iff(_cmp(c, pc, "gt"), np.minimum(low, pc), np.maximum(h, pc)))
    _check(us_small, "gtja003", values["gtja003"], inner.rolling(6).sum())

    def tsrank(x: pd.DataFrame, d: int) -> pd.DataFrame:
        return x.rolling(d).rank(pct=True)

    corr = _fin(tsrank(v, 5).rolling(5).corr(tsrank(h, 5)))
    _check(us_small, "gtja005", values["gtja005"], -1 * corr.rolling(3).max())

    t = np.arange(6.0)
    _check(us_small, "gtja021", values["gtja021"],
           c.rolling(6).mean().rolling(6).apply(lambda y: np.polyfit(t, y, 1)[0], raw=True))

    w = 0.9 ** np.arange(12)[::-1]
    x27 = (c - c.shift(3)) / c.shift(3) * 100 + (c - c.shift(6)) / c.shift(6) * 100
    _check(us_small, "gtja027", values["gtja027"], x27.rolling(12).apply(lambda y: np.average(y, weights=w), raw=True))

    a35 = _rank(_decay(o - o.shift(1), 15))
    b35 = _rank(_decay(_fin(v.rolling(17).corr(o * 0.65 + o * 0.35)), 7))
    _check(us_small, "gtja035", values["gtja035"], np.minimum(a35, b35) * -1)

    _check(us_small, "gtja053", values["gtja053"], _cmp(c, pc, "gt").rolling(12).sum() / 12 * 100)

    po = o.shift(1)
    dtm = _iff(_cmp(o, po, "le"), 0.0, np.maximum(h - o, o - po))
    dbm = _iff(_cmp(o, po, "ge"), 0.0, np.maximum(o - low, o - po))
    s1, s2 = dtm.rolling(20).sum(), dbm.rolling(20).sum()
    a69 = _iff(_cmp(s1, s2, "gt"), (s1 - s2) / s1, _iff(_cmp(s1, s2, "eq"), 0.0, (s1 - s2) / s2))
    _check(us_small, "gtja069", values["gtja069"], a69)

    _check(us_small, "gtja103", values["gtja103"],
           (20 - low.rolling(20).apply(lambda y: 19 - np.argmin(y), raw=True)) / 20 * 100)

    tr = np.maximum(np.maximum(h - low, (h - pc).abs()), (low - pc).abs())
    hd, ld = h - h.shift(1), low.shift(1) - low
    pdm = _iff(_cmp(ld, 0.0, "gt") * _cmp(ld, hd, "gt"), ld, 0.0).rolling(14).sum() * 100 / tr.rolling(14).sum()
    mdm = _iff(_cmp(hd, 0.0, "gt") * _cmp(hd, ld, "gt"), hd, 0.0).rolling(14).sum() * 100 / tr.rolling(14).sum()
    _check(us_small, "gtja172", values["gtja172"], _fin((pdm - mdm).abs() / (pdm + mdm) * 100).rolling(6).mean())


def test_parity_recursive_sma(us_small: Panel) -> None:
    values, _ = run(us_small, names=["gtja009", "gtja063", "gtja122"])
    f = _frames(us_small)
    h, low, c, v = f["high"], f["low"], f["close"], f["volume"]
    x9 = _fin(((h + low) / 2 - (h.shift(1) + low.shift(1)) / 2) * (h - low) / v)
    _check(us_small, "gtja009", values["gtja009"], pandas_sma(x9, 7, 2))
    d = c - c.shift(1)
    up = pd.DataFrame(pandas_sma(np.maximum(d, 0), 6, 1), index=c.index, columns=c.columns)
    _check(us_small, "gtja063", values["gtja063"], up / pandas_sma(d.abs(), 6, 1) * 100)
    t = np.log(c)
    for _ in range(3):
        t = pd.DataFrame(pandas_sma(t, 13, 2), index=c.index, columns=c.columns)
    _check(us_small, "gtja122", values["gtja122"], (t - t.shift(1)) / t.shift(1))


def test_parity_amount_and_benchmark(tw_small: Panel) -> None:
    values, _ = run(tw_small, names=["gtja144", "gtja181"])
    f = _frames(tw_small)
    c, amt = f["close"], f["amount"]
    pc = c.shift(1)
    down = _cmp(c, pc, "lt")
    x = _fin((c / pc - 1).abs() / amt)
    a, dn = x.to_numpy(), down.to_numpy()
    sumif = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        for i in range(19, a.shape[0]):
            cw, xw = dn[i - 19 : i + 1, j], a[i - 19 : i + 1, j]
            if np.isfinite(cw).all() and np.isfinite(xw[cw == 1]).all():
                sumif[i, j] = xw[cw == 1].sum()
    _check(tw_small, "gtja144", values["gtja144"], sumif / down.rolling(20).sum().to_numpy())
    ret = c / pc - 1
    b = f["index:^TWII"]
    bd = b - b.rolling(20).mean()
    ref181 = ((ret - ret.rolling(20).mean()) - bd**2).rolling(20).sum() / (bd**3).rolling(20).sum()
    _check(tw_small, "gtja181", values["gtja181"], ref181)


# ------------------------------------------------------------ leakage
def test_no_leakage_every_alpha(tw_small: Panel) -> None:
    """All 181 alphas (amount and the index close included): nothing at or before t moves with data after t."""
    panel = tw_small.iloc_dates(slice(0, 300))
    assert_no_leakage(lambda p: run(p)[0], panel, n_trials=3, seed=3, min_row=150)


# ------------------------------------------------------------ registration and the learners' hook
def test_registered_as_feature_set_and_factor_catalogue(us_small: Panel) -> None:
    from alphalab.features import sets
    from alphalab.features.factors import rank_catalogue, resolve_catalogue

    fs = sets.get_feature_set("gtja191")
    assert fs.lookback == max(compile_formula(t, FIELDS).warmup for t in GTJA191.values())
    with pytest.warns(UserWarning, match="5 alpha"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        out = sets.compute(us_small.iloc_dates(slice(-80, None)), ["gtja191"], cache=False)
    assert len(out.field_names) == 176 and "gtja191" in out
    assert resolve_catalogue("gtja191") == GTJA191
    # the factor study skips what the data lacks (gtja181's benchmark_close is a standard field)
    table, _, skipped = rank_catalogue(us_small.iloc_dates(slice(-120, None)),
                                       {n: GTJA191[n] for n in ("gtja014", "gtja070", "gtja181")}, horizon=5)
    assert list(table.index) == ["gtja014"] and set(skipped) == {"gtja070", "gtja181"}


def test_compute_alphas_mixes_catalogues(us_small: Panel) -> None:
    small = us_small.iloc_dates(slice(-60, None))
    values, skipped = compute_alphas(small, ["alpha012", "gtja014", "gtja030"])
    assert set(values) == {"alpha012", "gtja014"} and set(skipped) == {"gtja030"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        every, _ = compute_alphas(small, ["all_gtja191", "gtja191"])
        one, _ = compute_alphas(small, ["gtja191"])  # the bare name is the single alpha #191
    assert len(every) == 176 and list(one) == ["gtja191"]
    with pytest.raises(ConfigError, match=r"unknown alpha or catalogue name\(s\) \['gtja999'\]"):
        compute_alphas(small, ["gtja999"])


def test_vol_learner_alpha_input_takes_gtja(us_small: Panel) -> None:
    from alphalab.models.vol.learners import GINNForecaster, alpha_feature

    small = us_small.iloc_dates(slice(-60, None))
    a = alpha_feature(small, ("gtja014", "gtja018", "alpha101"))  # alpha101 is Alpha#101 alone
    assert a.shape == (*small.shape, 3)
    assert np.nanmin(a) >= -1 and np.nanmax(a) <= 1
    with pytest.raises(ConfigError, match="gtja999"):
        GINNForecaster(alphas=["gtja999"])
