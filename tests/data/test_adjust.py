"""Corporate-action adjustment from factors and from exchange reference prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.adjust import (
    adjust_from_factors,
    adjust_from_preclose,
    adjust_from_reference,
    adjustment_factors_from_reference,
)
from alphalab.data.panel import Panel
from alphalab.errors import DataError
from tests.conftest import shared_file


def _raw() -> tuple[Panel, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Two tickers; A splits 2:1 on day 5 and pays 1.0 on day 8; B pays 0.5 on day 3."""
    dates = pd.bdate_range("2022-01-03", periods=12)
    rng = np.random.default_rng(7)
    true_ret = rng.normal(0.0, 0.01, (12, 2))
    true_ret[0] = 0.0
    # Total-return index, then raw prices that drop on ex-dates.
    tr = 50.0 * np.cumprod(1 + true_ret, axis=0)
    events = {(8, 0): 1.0, (3, 1): 0.5}
    # Build raw with cash dividends: price drops by the dividend on the ex-date
    # relative to total return; do it sequentially from the total-return path.
    raw = np.empty_like(tr)
    raw[0] = tr[0] * np.array([2.0, 1.0])
    for t in range(1, 12):
        for j in range(2):
            split = 2.0 if (t == 5 and j == 0) else 1.0
            div = events.get((t, j), 0.0)
            # total return over the day: (raw_t + div) * split / raw_{t-1} - 1
            raw[t, j] = (1 + true_ret[t, j]) * raw[t - 1, j] / split - div
    vol = np.full((12, 2), 1000.0)
    panel = Panel({"close": raw, "open": raw * 0.99, "volume": vol}, dates, ["A", "B"])
    splits = pd.DataFrame({"ticker": ["A"], "date": [dates[5]], "ratio": [2.0]})
    divs = pd.DataFrame({"ticker": ["A", "B"], "date": [dates[8], dates[3]], "amount": [1.0, 0.5]})
    return panel, splits, divs, true_ret


def test_factors_give_total_returns() -> None:
    panel, splits, divs, _ = _raw()
    adj = adjust_from_factors(panel, splits, divs)
    assert adj.meta["adjusted"] == "adjusted"
    raw = panel["close"]
    c = adj["close"]
    # Last close untouched; every earlier close scaled.
    np.testing.assert_array_equal(c[-1], raw[-1])
    ret = c[1:] / c[:-1] - 1
    # Expected: the return against the ex-rights reference price,
    # raw_t / ((raw_{t-1} - dividend) / split) - 1 (Yahoo / CRSP convention).
    exp = raw[1:] / raw[:-1] - 1
    exp[4, 0] = raw[5, 0] / (raw[4, 0] / 2.0) - 1
    exp[7, 0] = raw[8, 0] / (raw[7, 0] - 1.0) - 1
    exp[2, 1] = raw[3, 1] / (raw[2, 1] - 0.5) - 1
    np.testing.assert_allclose(ret, exp, rtol=1e-12)
    # Volume is rescaled inversely to prices: traded value is preserved.
    np.testing.assert_allclose(adj["volume"] * adj["close"], 1000.0 * raw)
    assert adj["volume"][0, 0] > 2000.0 * 0.99  # pre-split shares count double
    np.testing.assert_allclose(adj["open"] / adj["close"], 0.99)


def test_split_only_state_and_errors() -> None:
    panel, splits, divs, _ = _raw()
    assert adjust_from_factors(panel, splits).meta["adjusted"] == "split_only"
    with pytest.raises(DataError, match="not in the panel"):
        adjust_from_factors(panel, splits.assign(ticker="ZZZ"))
    with pytest.raises(DataError, match="positive"):
        adjust_from_factors(panel, splits.assign(ratio=0.0))
    with pytest.raises(DataError, match="after the panel's last date"):
        adjust_from_factors(panel, splits.assign(date=pd.Timestamp("2030-01-01")))
    with pytest.raises(DataError, match="at least the previous close"):
        adjust_from_factors(panel, None, divs.assign(amount=1e6))
    with pytest.raises(DataError, match="lacks column"):
        adjust_from_factors(panel, splits.rename(columns={"ratio": "r"}))


def test_reference_route_agrees_with_factors() -> None:
    panel, splits, divs, _ = _raw()
    raw = panel["close"]
    # An exchange's ex-rights reference: previous close scaled by the event.
    pre = np.vstack([[np.nan, np.nan], raw[:-1]])
    pre[5, 0] = raw[4, 0] / 2.0
    pre[8, 0] = raw[7, 0] - 1.0
    pre[3, 1] = raw[2, 1] - 0.5
    with_ref = panel.with_fields(preclose=pre)
    a = adjust_from_reference(with_ref, "preclose")["close"]
    b = adjust_from_factors(panel, splits, divs)["close"]
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.fixture(scope="module")
def cn_panel() -> Panel:
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"))
    keep = df["ticker"].unique()[:120]
    df = df[df["ticker"].isin(keep)]
    return Panel.from_long(df, ["open", "high", "low", "close", "preclose", "volume"])


def test_preclose_adjustment_on_cn_sample(cn_panel: Panel) -> None:
    adj = adjust_from_preclose(cn_panel)
    raw_c, pre = cn_panel["close"], cn_panel["preclose"]
    c = adj["close"]
    # Chained returns equal close / preclose - 1 wherever the previous row exists.
    both = ~np.isnan(c[1:]) & ~np.isnan(c[:-1]) & ~np.isnan(pre[1:])
    ret = c[1:] / c[:-1] - 1
    np.testing.assert_allclose(ret[both], (raw_c[1:] / pre[1:] - 1)[both], rtol=1e-9, atol=1e-12)
    # The last close of every ticker is the raw close.
    last = (~np.isnan(raw_c)).cumsum(axis=0).argmax(axis=0)
    cols = np.arange(cn_panel.n_assets)
    np.testing.assert_array_equal(c[last, cols], raw_c[last, cols])
    # The sample holds ex-rights events (raw drops that preclose explains) and
    # the adjusted series has none of them.
    ev = adjustment_factors_from_reference(cn_panel)
    assert (ev < 0.8).sum() > 5
    raw_ret = raw_c[1:] / raw_c[:-1] - 1
    r, j = np.nonzero(ev[1:] < 0.8)
    assert np.nanmin(raw_ret[r, j]) < -0.2
    assert np.nanmax(np.abs(ret[r, j])) < 0.21


def test_adjustment_never_changes_returns_up_to_t_when_later_events_arrive(cn_panel: Panel) -> None:
    # Levels shift with later events (documented); returns up to t do not.
    t = cn_panel.n_dates // 2
    full = adjust_from_preclose(cn_panel)["close"]
    part = adjust_from_preclose(cn_panel.iloc_dates(slice(0, t + 1)))["close"]
    with np.errstate(invalid="ignore"):
        r_full = full[1 : t + 1] / full[:t]
        r_part = part[1:] / part[:-1]
    np.testing.assert_allclose(r_full, r_part, rtol=1e-9)


def test_forward_adjustment_is_point_in_time(cn_panel: Panel) -> None:
    from alphalab.testing.leakage import assert_no_leakage

    fwd = adjust_from_preclose(cn_panel, how="forward")["close"]
    bwd = adjust_from_preclose(cn_panel)["close"]
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(fwd[1:] / fwd[:-1], bwd[1:] / bwd[:-1], rtol=1e-9)
    # First close of each ticker is the raw close.
    raw = cn_panel["close"]
    first = (~np.isnan(raw)).argmax(axis=0)
    cols = np.arange(cn_panel.n_assets)
    np.testing.assert_allclose(fwd[first, cols], raw[first, cols], rtol=1e-12)
    # Levels up to t never depend on later rows (backward levels do).
    sub = cn_panel.select_assets(list(cn_panel.assets[:40])).iloc_dates(slice(0, 500))
    with np.errstate(all="ignore"):  # the harness's "extreme" perturbation overflows the future
        assert_no_leakage(lambda p: adjust_from_preclose(p, how="forward")["close"], sub, n_trials=4, seed=3)
    with pytest.raises(DataError, match="how must be"):
        adjust_from_preclose(cn_panel, how="sideways")


# ------------------------------------------------------------- hostile input
def _flat() -> Panel:
    dates = pd.bdate_range("2021-01-04", periods=10)
    return Panel({"close": np.full((10, 2), 100.0)}, dates, ["A", "B"])


@pytest.mark.parametrize(
    ("splits", "dividends", "message"),
    [
        ({"ratio": [2.0, 2.0]}, None, r"splits: 1 duplicated \(ticker, date\).*'A'.*2021-01-08"),
        ({"ratio": [np.nan, 2.0]}, None, r"splits: ratio.*missing.*'A'"),
        ({"ratio": ["2:1", 2.0]}, None, r"splits: ratio.*'2:1'"),
        (None, {"amount": [np.nan, 1.0]}, r"dividends: amount.*missing.*'A'"),
        (None, {"amount": [-1.0, 1.0]}, r"dividends: amount.*negative.*'A'"),
        (None, {"amount": [1.0, 1.0]}, r"dividends: 1 duplicated \(ticker, date, amount\)"),
        (None, {"amount": [1.0, 1.0], "date": ["2021-01-08", "someday"]}, r"dividends: date.*'someday'"),
    ],
)
def test_bad_event_tables_named(splits: dict | None, dividends: dict | None, message: str) -> None:
    base = {"ticker": ["A", "A"], "date": ["2021-01-08", "2021-01-08"]}
    with pytest.raises(DataError, match=message):
        adjust_from_factors(
            _flat(),
            None if splits is None else pd.DataFrame({**base, **splits}),
            None if dividends is None else pd.DataFrame({**base, **dividends}),
        )


def test_two_different_dividends_on_one_day_both_count() -> None:
    # A regular and a special dividend can share an ex-date: that is not a duplicate.
    div = pd.DataFrame({"ticker": ["A", "A"], "date": ["2021-01-08"] * 2, "amount": [1.0, 4.0]})
    out = adjust_from_factors(_flat(), None, div)
    np.testing.assert_allclose(out["close"][0, 0], 100.0 * (1 - 1 / 100) * (1 - 4 / 100))
    assert np.isfinite(out["close"]).all()
