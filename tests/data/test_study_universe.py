"""data.universe: tickers chosen by a rule read only before the study starts, on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.config import StudyConfig
from alphalab.data import load
from alphalab.data.study_universe import select_universe
from alphalab.errors import DataError
from alphalab.study.inputs import load_panel

from ..conftest import shared_file

TW = "tw_twse_midcap_1992_2018.parquet"
AS_OF = pd.Timestamp("2014-01-02")


@pytest.fixture(scope="module")
def tw_panel():
    return load(shared_file(TW), market="tw", mode="lenient", end="2015-12-31")


def test_top_dollar_volume_matches_pandas(tw_panel) -> None:
    choice = select_universe(tw_panel, AS_OF, size=30, window=60)
    # Independent reference: the long table, the 60 sessions before AS_OF, pandas groupby.
    long = tw_panel.to_long(dropna=False)
    dates = tw_panel.dates[tw_panel.dates < AS_OF][-60:]
    win = long[long["date"].isin(dates)]
    cover = win.groupby("ticker")["close"].apply(lambda s: s.notna().mean())
    dv = (win["close"] * win["volume"]).groupby(win["ticker"]).mean()
    ok = dv[cover >= 0.9].dropna()
    expect = ok.sort_values(ascending=False, kind="stable")
    expect = sorted(expect.index[:30].astype(str))
    assert sorted(choice.tickers) == expect
    assert choice.n_sessions == 60 and choice.window_end < "2014-01-02"
    assert choice.n_eligible == len(ok)


def test_choice_ignores_everything_after_as_of(tw_panel) -> None:
    before = select_universe(tw_panel, AS_OF, size=20, rank_by="volume", window=120)
    rows = tw_panel.dates >= AS_OF
    rng = np.random.default_rng(3)
    fields = {}
    for name in ("close", "volume"):
        arr = tw_panel[name].copy()
        arr[rows] = arr[rows] * rng.uniform(0.01, 100.0, size=arr[rows].shape)
        arr[rows][:, :5] = np.nan
        fields[name] = arr
    after = select_universe(tw_panel.with_fields(**fields), AS_OF, size=20, rank_by="volume",
                            window=120)
    assert after.tickers == before.tickers


def test_ascending_field_and_ticker_ranking(tw_panel) -> None:
    small = select_universe(tw_panel, AS_OF, size=5, rank_by="close", ascending=True)
    big = select_universe(tw_panel, AS_OF, size=5, rank_by="close")
    assert not set(small.tickers) & set(big.tickers)
    alpha = select_universe(tw_panel, AS_OF, size=4, rank_by="ticker")
    eligible = select_universe(tw_panel, AS_OF, rank_by="ticker")
    assert alpha.tickers == sorted(eligible.tickers)[:4]
    assert len(eligible.tickers) == eligible.n_eligible


def test_clear_errors(tw_panel) -> None:
    with pytest.raises(DataError, match="no session before"):
        select_universe(tw_panel, tw_panel.dates[0], size=3)
    with pytest.raises(DataError, match="'nope' is not in the dataset"):
        select_universe(tw_panel, AS_OF, rank_by="nope")
    with pytest.raises(DataError, match="require: field 'pe'"):
        select_universe(tw_panel, AS_OF, require=["pe"])
    blank = tw_panel.with_fields(close=np.full(tw_panel.shape, np.nan))
    with pytest.raises(DataError, match="no ticker qualifies"):
        select_universe(blank, AS_OF)


def test_study_key_cuts_the_panel_and_records_the_rule(tmp_path) -> None:
    cfg = StudyConfig.from_dict({
        "name": "u", "data": {"dataset": str(shared_file(TW)), "market": "tw", "mode": "lenient",
                              "start": "2014-01-02", "end": "2014-06-30",
                              "universe": {"size": 12, "window": 40}},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
    })
    panel, _ = load_panel(cfg)
    assert panel.n_assets == 12
    assert panel.meta["universe"]["tickers"] == list(panel.assets)
    assert panel.meta["universe"]["rule"]["as_of"] == "2014-01-02"
