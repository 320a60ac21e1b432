"""Point-in-time smallest-cap universe on the real A-share sample and its fundamentals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.data.calendars import st_mask, tradable_mask
from alphalab.data.fundamentals import join_fundamentals
from alphalab.data.panel import Panel
from alphalab.data.size_universe import (
    CAP_FALLBACK,
    CAP_REPORTED,
    implied_float_shares,
    point_in_time_cap,
    smallest_cap_universe,
)
from alphalab.data.universe import listing_age
from alphalab.errors import ConfigError
from alphalab.testing.leakage import assert_no_leakage
from tests.conftest import shared_file

FIELDS = ["open", "high", "low", "close", "preclose", "volume", "turn", "tradestatus", "isST"]


@pytest.fixture(scope="module")
def raw() -> tuple[Panel, pd.DataFrame]:
    """120 A-shares (every 8th ticker: all boards), 2017-01 .. 2019-06, and their reports."""
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"),
                         filters=[("date", "<=", pd.Timestamp("2019-06-30"))])
    keep = sorted(df["ticker"].unique())[::8]
    df = df[df["ticker"].isin(keep)]
    panel = Panel.from_long(df, FIELDS, meta={"market": "cn"})
    fund = pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"),
                           columns=["ticker", "fiscal_year", "fiscal_quarter", "period_end", "report_date",
                                    "totalShare", "liqaShare"])
    return panel, fund[fund["ticker"].isin(keep)].reset_index(drop=True)


@pytest.fixture(scope="module")
def panel(raw: tuple[Panel, pd.DataFrame]) -> Panel:
    p, fund = raw
    return join_fundamentals(p, fund, fields=["totalShare", "liqaShare"])


def test_turnover_implied_float_matches_reported_float_shares(panel: Panel) -> None:
    implied = implied_float_shares(panel)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = implied / panel["liqaShare"]
    ratio = ratio[np.isfinite(ratio)]
    assert len(ratio) > 10_000
    # the fallback estimates tradable shares: median within 0.1 %, most rows within 1 %
    assert abs(np.median(ratio) - 1.0) < 1e-3
    assert np.mean(np.abs(ratio - 1.0) < 0.01) > 0.8


def test_cap_sources_reported_first_then_fallback(panel: Panel) -> None:
    cap, source = point_in_time_cap(panel, "totalShare")
    rep = source == CAP_REPORTED
    np.testing.assert_array_equal(cap[rep], (panel["close"] * panel["totalShare"])[rep])
    # ChiNext / STAR / SME names have no reports in this sample: their caps come from the fallback
    col = next(j for j, t in enumerate(panel.assets) if t.startswith("sz.300"))
    assert (source[:, col] != CAP_REPORTED).all() and (source[:, col] == CAP_FALLBACK).any()
    with pytest.raises(Exception, match="share field"):
        point_in_time_cap(panel.drop_fields("totalShare"), "totalShare", fallback=False)


def test_universe_filters_and_size(panel: Panel) -> None:
    n = 10
    u = smallest_cap_universe(panel, n, blacklist={panel.assets[5]: "2018-06-01"})
    assert (u.sum(axis=1) <= n).all() and (u.sum(axis=1)[300:] == n).all()
    assert not (u & st_mask(panel)).any()
    assert not (u & ~tradable_mask(panel)).any()
    assert (listing_age(panel)[u] >= 250).all()
    assert not u[:249].any()
    assert not u[panel.dates >= "2018-06-01", 5].any()
    # they really are the smallest eligible caps that date
    cap, _ = point_in_time_cap(panel, "totalShare")
    row = 400
    others = ~u[row] & tradable_mask(panel)[row] & ~st_mask(panel)[row] & (listing_age(panel)[row] >= 250)
    others &= np.isfinite(cap[row])
    others[5] = False
    assert cap[row, u[row]].max() <= cap[row, others].min()


def test_candidates_pool_is_the_founding_rule(panel: Panel) -> None:
    pool_first = smallest_cap_universe(panel, 10, candidates=10, exclude_st=True)
    filter_first = smallest_cap_universe(panel, 10)
    # with ST names inside the 10 smallest, the founding rule keeps fewer than 10
    assert (pool_first.sum(1) <= filter_first.sum(1)).all()
    assert not (pool_first & st_mask(panel)).any()
    with pytest.raises(ConfigError):
        smallest_cap_universe(panel, 10, candidates=5)


def test_universe_never_uses_an_unpublished_report(raw: tuple[Panel, pd.DataFrame]) -> None:
    p, fund = raw
    cut = pd.Timestamp("2018-08-31")
    base = join_fundamentals(p, fund, fields=["totalShare"])
    # rewrite every report not yet public at the cut (and those public that very day:
    # an announcement counts from the next session)
    later = fund["report_date"] >= cut
    assert later.sum() > 50
    changed = fund.copy()
    changed.loc[later, "totalShare"] = changed.loc[later, "totalShare"] * 1e-3
    alt = join_fundamentals(p, changed, fields=["totalShare"])
    u0 = smallest_cap_universe(base, 10)
    u1 = smallest_cap_universe(alt, 10)
    upto = p.dates <= cut
    np.testing.assert_array_equal(u0[upto], u1[upto])
    assert (u0[~upto] != u1[~upto]).any(), "the rewrite must matter once the reports are public"


def test_universe_under_the_leakage_guard(panel: Panel) -> None:
    assert_no_leakage(lambda q: smallest_cap_universe(q, 10, shares_field="liqaShare"), panel,
                      n_trials=3, min_row=300)
