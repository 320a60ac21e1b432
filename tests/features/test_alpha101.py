"""Alpha101 catalogue: coverage, skips, parity with plain pandas, leakage, speed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.features.alphas.alpha101 import ALPHA101, compute_alpha101
from alphalab.features.expr import ProxyFieldWarning, compile_formula
from alphalab.testing.leakage import assert_no_leakage
from tests.conftest import shared_file

NEEDS_GROUPS = {48, 58, 59, 63, 67, 69, 70, 76, 79, 80, 82, 87, 89, 90, 91, 93, 97, 100}
NEEDS_CAP = {56}


@pytest.fixture(scope="module")
def us_small(us_sp500_long: pd.DataFrame) -> Panel:
    """40 tickers x 300 days, including late listings (APTV, BHF)."""
    tickers = [*sorted(us_sp500_long["ticker"].unique())[::14][:38], "APTV", "BHF"]
    df = us_sp500_long[us_sp500_long["ticker"].isin(tickers)]
    return Panel.from_long(df).iloc_dates(slice(-300, None))


@pytest.fixture(scope="module")
def cn_small() -> tuple[Panel, dict[str, dict[str, str]]]:
    """50 A-shares x 300 days with CITIC industries and a market cap field."""
    px = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"))
    ind = pd.read_parquet(shared_file("cn_industry_citic.parquet"))
    fund = pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"),
                           columns=["ticker", "totalShare"])
    shares = fund.dropna().groupby("ticker")["totalShare"].last()
    names = sorted(set(px["ticker"]) & set(ind["ticker"]) & set(shares.index))[::8][:50]
    px = px[px["ticker"].isin(names) & (px["date"] >= "2021-06-01")]
    px = px[["date", "ticker", "open", "high", "low", "close", "volume"]]
    panel = Panel.from_long(px).iloc_dates(slice(0, 300))
    cap = panel["close"] * shares.reindex(panel.assets).to_numpy()[None, :]
    panel = panel.with_fields(cap=cap)
    level = dict(zip(ind["ticker"], ind["industry_citic_l1"], strict=True))
    # one CITIC level only: it stands in for sector, industry and subindustry
    return panel, {"sector": level, "industry": level, "subindustry": level}


def run(panel: Panel, **kw) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        return compute_alpha101(panel, **kw)


def test_catalogue_has_101_formulas_that_compile() -> None:
    assert list(ALPHA101) == [f"alpha{i:03d}" for i in range(1, 102)]
    fields = ["open", "high", "low", "close", "volume", "cap"]
    groups = ["sector", "industry", "subindustry"]
    for name, text in ALPHA101.items():
        f = compile_formula(text, fields, groups)
        number = int(name[5:])
        assert bool(f.groups) == (number in NEEDS_GROUPS), name
        assert ("cap" in f.fields) == (number in NEEDS_CAP), name
        assert 0 <= f.warmup < 400, name


def test_skips_are_exactly_the_group_and_cap_alphas_with_reasons(us_small: Panel) -> None:
    values, skipped = run(us_small)
    expected = {f"alpha{i:03d}" for i in NEEDS_GROUPS | NEEDS_CAP}
    assert set(skipped) == expected
    assert "cap" in skipped["alpha056"] and "market capitalisation" in skipped["alpha056"]
    assert "group map 'subindustry' is not given" in skipped["alpha048"]
    assert len(values) == 101 - len(expected)
    for name, arr in values.items():
        assert arr.shape == us_small.shape and arr.dtype == np.float64
        assert not np.isinf(arr).any(), name


def test_every_alpha_runs_with_groups_and_cap(cn_small) -> None:
    panel, groups = cn_small
    values, skipped = run(panel, groups=groups)
    assert skipped == {}
    assert len(values) == 101
    # each alpha yields values once warm (alpha096's nested windows need more rows)
    for name, arr in values.items():
        if name != "alpha096":
            assert np.isfinite(arr).any(), name


def _frames(p: Panel) -> dict[str, pd.DataFrame]:
    return {k: pd.DataFrame(np.array(p[k]), index=p.dates, columns=p.assets) for k in p.field_names}


def _check(panel: Panel, name: str, ours: np.ndarray, ref: pd.DataFrame) -> None:
    ref_a = np.array(ref.to_numpy(dtype=float), copy=True)
    ref_a[~np.isfinite(ref_a)] = np.nan
    # the engine blanks a formula's whole warm-up (per asset for late listings),
    # also where a ternary's taken branch would already be finite (pandas gives
    # values there)
    f = compile_formula(ALPHA101[name], panel.field_names)
    listed = np.ones(panel.shape, dtype=bool)
    for field in f.fields:
        listed &= np.isfinite(panel[field])
    first = np.where(listed.any(axis=0), listed.argmax(axis=0), panel.n_dates)
    ref_a[np.arange(panel.n_dates)[:, None] < first[None, :] + f.warmup] = np.nan
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref_a))
    np.testing.assert_allclose(ours, ref_a, rtol=1e-7, atol=1e-10, equal_nan=True)


def test_parity_with_plain_pandas(us_small: Panel) -> None:
    names = ["alpha001", "alpha002", "alpha003", "alpha004", "alpha006", "alpha012",
             "alpha033", "alpha041", "alpha101"]
    values, _ = run(us_small, names=names)
    f = _frames(us_small)
    o, h, low, c, v = f["open"], f["high"], f["low"], f["close"], f["volume"]

    def rank(x: pd.DataFrame) -> pd.DataFrame:
        return x.rank(axis=1, pct=True)

    ret = c / c.shift(1) - 1
    inner = c.where(~(ret < 0), ret.rolling(20).std()).where(ret.notna())
    sp = np.sign(inner) * inner.abs() ** 2
    argmax = sp.rolling(5).apply(lambda w: np.argmax(w) + 1, raw=True)
    _check(us_small, "alpha001", values["alpha001"], rank(argmax) - 0.5)

    logv = np.log(v.where(v > 0))
    _check(us_small, "alpha002", values["alpha002"],
           -1 * rank(logv - logv.shift(2)).rolling(6).corr(rank((c - o) / o)))
    _check(us_small, "alpha003", values["alpha003"], -1 * rank(o).rolling(10).corr(rank(v)))
    _check(us_small, "alpha004", values["alpha004"], -1 * rank(low).rolling(9).rank(pct=True))
    _check(us_small, "alpha006", values["alpha006"], -1 * o.rolling(10).corr(v))
    _check(us_small, "alpha012", values["alpha012"], np.sign(v - v.shift(1)) * (-1 * (c - c.shift(1))))
    _check(us_small, "alpha033", values["alpha033"], rank(-1 * (1 - o / c)))
    _check(us_small, "alpha041", values["alpha041"], np.sqrt(h * low) - (h + low + c) / 3)
    _check(us_small, "alpha101", values["alpha101"], (c - o) / ((h - low) + 0.001))


def test_parity_nested_ternary_scale_decay(us_small: Panel) -> None:
    values, _ = run(us_small, names=["alpha009", "alpha028", "alpha057"])
    f = _frames(us_small)
    h, low, c, v = f["high"], f["low"], f["close"], f["volume"]
    d = c - c.shift(1)
    lo5, hi5 = d.rolling(5).min(), d.rolling(5).max()
    a9 = d.where(lo5 > 0, d.where(hi5 < 0, -d)).where(lo5.notna() & hi5.notna())
    _check(us_small, "alpha009", values["alpha009"], a9)
    adv20 = (c * v).rolling(20).mean()
    x = adv20.rolling(5).corr(low) + (h + low) / 2 - c
    _check(us_small, "alpha028", values["alpha028"], x.div(x.abs().sum(axis=1), axis=0))
    vwap = (h + low + c) / 3
    r = c.rolling(30).apply(lambda w: np.argmax(w) + 1, raw=True).rank(axis=1, pct=True)
    _check(us_small, "alpha057", values["alpha057"], -((c - vwap) / ((r.shift(1) + 2 * r) / 3)))


def test_no_leakage_every_alpha_us(us_small: Panel) -> None:
    assert_no_leakage(lambda p: run(p)[0], us_small, n_trials=4, seed=1, min_row=120)


def test_no_leakage_group_and_cap_alphas_cn(cn_small) -> None:
    panel, groups = cn_small
    names = sorted(f"alpha{i:03d}" for i in NEEDS_GROUPS | NEEDS_CAP)
    assert_no_leakage(lambda p: run(p, names=names, groups=groups)[0], panel,
                      n_trials=4, seed=2, min_row=120)


@pytest.mark.slow
def test_all_alphas_full_sp500(us_sp500_long: pd.DataFrame) -> None:
    # Speed is measured in benchmarks/alpha101_speed.py, not here.
    panel = Panel.from_long(us_sp500_long)
    values, skipped = run(panel)
    assert len(values) + len(skipped) == 101
    for name, arr in values.items():
        assert arr.shape == panel.shape, name
        assert np.isfinite(arr).any(), f"{name} is NaN everywhere on the full S&P panel"


@pytest.mark.filterwarnings("ignore::alphalab.features.expr.ProxyFieldWarning")
def test_registered_as_feature_sets(us_small: Panel) -> None:
    from alphalab.features import sets
    fs = sets.get_feature_set("alpha101")
    assert fs.lookback == max(
        compile_formula(f, ["open", "high", "low", "close", "volume", "cap"],
                        ["sector", "industry", "subindustry"]).warmup
        for f in ALPHA101.values()
    )
    with pytest.warns(UserWarning, match="19 alpha"):
        out = sets.compute(us_small.iloc_dates(slice(-120, None)), ["alpha101", "alpha158"],
                           cache=False)
    assert len(out.field_names) == 82 + 158
    assert "alpha001" in out and "VSUMD60" in out


def test_catalogue_survives_bad_inputs(us_small: Panel) -> None:
    """NaN gaps, a constant series, a one-row ticker, zero volume: no errors, no inf."""
    fields = {k: np.array(us_small[k], copy=True) for k in us_small.field_names}
    fields["close"][150:153, 0] = np.nan  # a gap
    for k in ("open", "high", "low", "close"):
        fields[k][:, 1] = 20.0  # a constant price series
        fields[k][:-1, 2] = np.nan  # a ticker with one row
    fields["volume"][:-1, 2] = np.nan
    fields["volume"][200:210, 3] = 0.0  # no trading
    panel = Panel(fields, us_small.dates, us_small.assets)
    values, _ = run(panel)
    for name, arr in values.items():
        assert not np.isinf(arr).any(), name
        # the one-row ticker never gets a time-series value before it exists
        assert np.isnan(arr[:-1, 2]).all(), name
    # the gap blanks the asset's close-based alphas while the windows refill
    assert np.isnan(values["alpha012"][150:154, 0]).all()
    assert np.isfinite(values["alpha012"][154:, 0]).all()
    assert np.isnan(values["alpha037"][150:352, 0]).all()  # a 200-day window
    # a constant series: correlations are undefined, price differences are 0
    assert np.isnan(values["alpha006"][:, 1]).all()
    np.testing.assert_array_equal(values["alpha101"][:, 1], 0.0)
