"""backtest() under malformed, empty, duplicated, NaN-ridden and hostile input.

Each case ends in a clear ``alphalab.errors`` exception that names what is
wrong and where, or in documented behaviour checked here; nothing vanishes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab.backtest import Costs, backtest
from alphalab.backtest.inputs import MAX_GROSS
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError, MarketRuleError

from .helpers import make_panel

NAN = np.nan


@pytest.fixture(scope="module")
def case(vn30_long: pd.DataFrame) -> tuple[Panel, np.ndarray]:
    """Three VN30 stocks over 30 real bars, equal weights every day."""
    full = Panel.from_long(vn30_long, ["open", "close", "volume"])
    panel = full.select_assets(list(full.assets[:3])).iloc_dates(slice(200, 230))
    return panel, np.full(panel.shape, 0.3)


def _reasons(res) -> list[str]:
    return [res.reasons[int(r)] for r in res.rejected["reason"]]


def _frame(panel: Panel, w: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(w, index=panel.dates, columns=panel.assets)


# ------------------------------------------------------------------ the panel
def test_empty_panel_and_wrong_panel_type_are_refused(case) -> None:
    panel, w = case
    empty = panel.iloc_dates(slice(0, 0))
    with pytest.raises(DataError, match="no dates"):
        backtest(np.empty((0, 3)), empty)
    with pytest.raises(DataError, match="must be an alphalab Panel, got dict"):
        backtest(w, {"close": w})  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"lacks required field.*close"):
        backtest(w, panel.drop_fields("close"))


def test_empty_universe_holds_cash(case) -> None:
    panel, _ = case
    none = Panel({"close": np.empty((panel.n_dates, 0))}, panel.dates, [])
    for market in ("us", "vn.hose", "cn"):
        res = backtest(np.empty((panel.n_dates, 0)), none, market, initial_cash=5e6)
        assert np.all(res.equity_values == 5e6)
        assert len(res.trades) == 0 and len(res.rejected) == 0


def test_a_single_date_has_nothing_to_execute(case) -> None:
    panel, w = case
    res = backtest(w[:1], panel.iloc_dates([0]), "vn.hose", initial_cash=1e9)
    assert res.equity_values.tolist() == [1e9]
    assert len(res.exec_bars) == 0 and len(res.trades) == 0


@pytest.mark.parametrize(
    ("value", "field"),
    [(np.inf, "close"), (-np.inf, "open"), (-12.5, "close"), (-0.01, "open")],
)
def test_infinite_or_negative_prices_are_named(case, value: float, field: str) -> None:
    panel, w = case
    arr = np.array(panel[field])
    arr[11, 1] = value
    bad = panel.with_fields(**{field: arr})
    where = rf"{field} price {value!r}.*{panel.dates[11].date()}.*{panel.assets[1]}"
    with pytest.raises(DataError, match=where):
        backtest(w, bad, "vn.hose", initial_cash=1e9)
    if field == "open":  # next_close never reads the open
        assert len(backtest(w, bad, "vn.hose", execution="next_close", initial_cash=1e9).trades)


def test_a_panel_without_any_price_records_every_order(case) -> None:
    panel, w = case
    blank = {k: np.full(panel.shape, NAN) for k in ("open", "close")}
    res = backtest(w, panel.with_fields(**blank), "vn.hose", initial_cash=1e9)
    n_exec = panel.n_dates - 1
    assert len(res.trades) == 0 and np.all(res.equity_values == 1e9)
    # every order (asset x execution bar) is in rejected: untradeable, unsized
    assert len(res.rejected) == n_exec * panel.n_assets
    assert set(_reasons(res)) == {"untradeable"}
    assert np.isnan(res.rejected["shares"]).all()
    assert np.all(res.rejected["side"] == 1)


def test_weight_on_a_never_priced_asset_is_rejected_not_dropped(case) -> None:
    panel, w = case
    close = np.array(panel["close"])
    close[:, 2] = NAN
    opened = np.array(panel["open"])
    opened[:, 2] = NAN
    res = backtest(w, panel.with_fields(close=close, open=opened), "us", initial_cash=1e9)
    rj = res.rejected[res.rejected["asset"] == 2]
    assert len(rj) == panel.n_dates - 1
    assert set(res.reasons[int(r)] for r in rj["reason"]) == {"untradeable"}
    # the other assets still trade, and the twin agrees
    assert set(res.trades["asset"]) == {0, 1}
    py = backtest(w, panel.with_fields(close=close, open=opened), "us", initial_cash=1e9,
                  engine="python")  # fmt: skip
    np.testing.assert_array_equal(py.rejected["reason"], res.rejected["reason"])
    np.testing.assert_allclose(py.equity_values, res.equity_values, rtol=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_extreme_price_scales_stay_finite(case, scale: float) -> None:
    panel, w = case
    tiny = panel.with_fields(open=np.array(panel["open"]) * scale,
                             close=np.array(panel["close"]) * scale)  # fmt: skip
    res = backtest(w, tiny, "us", initial_cash=1e6)
    assert np.isfinite(res.equity_values).all()
    if scale > 1:  # not one share is affordable: every order is a lot refusal
        assert len(res.trades) == 0
        assert set(_reasons(res)) == {"lot"}
    else:  # same book in shares x 1e300, same equity
        ref = backtest(w, panel, "us", rules="proportional", initial_cash=1e6)
        got = backtest(w, tiny, "us", rules="proportional", initial_cash=1e6)
        np.testing.assert_allclose(got.equity_values, ref.equity_values, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-310, 5e-324])
def test_subnormal_prices_are_refused_before_shares_overflow(case, scale: float) -> None:
    # 1e6 / 1e-310 shares is inf, and inf x 0 made the equity NaN
    panel, w = case
    sub = panel.with_fields(close=np.array(panel["close"]) * scale)
    with pytest.raises(DataError, match=r"close price .*too small for an initial cash of 1e\+06"):
        backtest(w, sub, "us", execution="next_close", initial_cash=1e6)


# ---------------------------------------------------------------- the weights
def test_all_nan_weights_are_no_decision(case) -> None:
    panel, _ = case
    res = backtest(np.full(panel.shape, NAN), panel, "vn.hose", initial_cash=1e9)
    assert len(res.exec_bars) == 0 and np.all(res.equity_values == 1e9)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("rebalance", [None, 5])
def test_infinite_weight_named_even_off_schedule(case, value: float, rebalance) -> None:
    panel, w = case
    bad = w.copy()
    bad[7, 2] = value  # row 7 is off a every-5-bars schedule
    with pytest.raises(DataError, match=rf"infinite on {panel.dates[7].date()}.*{panel.assets[2]}"):
        backtest(bad, panel, "vn.hose", rebalance=rebalance)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_absurd_gross_leverage_is_refused(case, sign: float) -> None:
    panel, w = case
    bad = w.copy()
    bad[4] = sign * 1e6
    with pytest.raises(DataError, match=rf"{panel.dates[4].date()}.*gross leverage.*3e\+06"):
        backtest(bad, panel, "us")
    # the limit itself is accepted: long side is cut by cash (no margin)
    ok = w.copy()
    ok[4] = MAX_GROSS / panel.n_assets
    res = backtest(ok, panel, "us", initial_cash=1e6)
    assert "cash" in _reasons(res)
    assert res.cash_values.min() >= -1e-9 * res.equity_values.max()


def test_weights_as_nested_lists_and_object_frames_are_read(case) -> None:
    panel, w = case
    ref = backtest(w, panel, "vn.hose", initial_cash=1e9)
    as_list = backtest(w.tolist(), panel, "vn.hose", initial_cash=1e9)
    as_obj = backtest(_frame(panel, w).astype(object), panel, "vn.hose", initial_cash=1e9)
    as_f32 = backtest(w.astype(np.float32), panel, "vn.hose", initial_cash=1e9)
    for other in (as_list, as_obj):
        np.testing.assert_array_equal(other.equity_values, ref.equity_values)
    assert len(as_f32.trades) == len(ref.trades)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda w: w > 0, "booleans"),
        (lambda w: w.astype(str), "real numbers, got dtype <U"),
        (lambda w: w.astype(complex), "real numbers, got dtype complex"),
        (lambda w: [[0.1, 0.2], [0.3]], "cannot be read as a"),
        (lambda w: w[:, 0], r"shape \(30,\), expected \(30, 3\)"),
        (lambda w: w.T, r"shape \(3, 30\)"),
    ],
)
def test_weights_of_the_wrong_kind_are_refused(case, make, match: str) -> None:
    panel, w = case
    with pytest.raises(DataError, match=match):
        backtest(make(w), panel, "vn.hose")


def test_a_text_cell_in_an_object_frame_is_named(case) -> None:
    panel, w = case
    frame = _frame(panel, w).astype(object)
    frame.iloc[5, 1] = "0.3"
    with pytest.raises(DataError, match=rf"'0.3' on {panel.dates[5].date()}.*{panel.assets[1]}"):
        backtest(frame, panel, "vn.hose")
    frame.iloc[5, 1] = True
    with pytest.raises(DataError, match="True on"):
        backtest(frame, panel, "vn.hose")
    mask = _frame(panel, w) > 0
    with pytest.raises(DataError, match="boolean"):
        backtest(mask, panel, "vn.hose")


def test_frame_labels_duplicates_and_time_zones(case) -> None:
    panel, w = case
    frame = _frame(panel, w)
    dup = frame.set_axis(panel.dates[[0, 0, *range(2, panel.n_dates)]], axis=0)
    with pytest.raises(DataError, match=f"duplicated date: {panel.dates[0].date()}"):
        backtest(dup, panel)
    dup_col = frame.set_axis([panel.assets[0], panel.assets[0], panel.assets[2]], axis=1)
    with pytest.raises(DataError, match=f"duplicated asset: '{panel.assets[0]}'"):
        backtest(dup_col, panel)
    with pytest.raises(DataError, match="not a date"):
        backtest(frame.set_axis([f"row{i}" for i in range(panel.n_dates)], axis=0), panel)
    with pytest.raises(DataError, match="got numbers"):
        backtest(frame.reset_index(drop=True), panel)
    with pytest.raises(DataError, match="unknown \\['ZZZ'\\]"):
        backtest(frame.rename(columns={panel.assets[1]: "ZZZ"}), panel)
    # a tz-aware index means the same wall-clock dates, as for a Panel
    ref = backtest(frame, panel, "vn.hose", initial_cash=1e9)
    tz = frame.set_axis(panel.dates.tz_localize("Asia/Ho_Chi_Minh"), axis=0)
    got = backtest(tz, panel, "vn.hose", initial_cash=1e9)
    np.testing.assert_array_equal(got.equity_values, ref.equity_values)


# ----------------------------------------------------- market, costs and cash
@pytest.mark.parametrize("cash", [-1.0, 0.0, NAN, np.inf, "1e6", True, None])
def test_initial_cash_must_be_a_positive_finite_number(case, cash) -> None:
    panel, w = case
    with pytest.raises(ConfigError, match="initial_cash"):
        backtest(w, panel, initial_cash=cash)  # type: ignore[arg-type]


def test_market_and_costs_of_the_wrong_kind(case) -> None:
    panel, w = case
    with pytest.raises(MarketRuleError, match=r"unknown market 'xx'.*vn\.hose"):
        backtest(w, panel, "xx")
    with pytest.raises(MarketRuleError, match="market code"):
        backtest(w, panel, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="costs must be an alphalab Costs, got dict"):
        backtest(w, panel, costs={"commission_bps": 1.0})  # type: ignore[arg-type]
    for name in ("commission_bps", "slippage_bps", "min_commission"):
        with pytest.raises(ConfigError, match=f"Costs.{name}"):
            Costs(**{name: NAN})
        with pytest.raises(ConfigError, match=f"Costs.{name}"):
            Costs(**{name: -1.0})


def test_hand_made_open_fallback_keeps_equity_finite() -> None:
    # an asset that never closes but opens: bought at the open, marked at its
    # fill price until a close exists (not at 0)
    close = [[10.0, NAN], [10.0, NAN], [10.0, NAN], [10.0, 21.0]]
    open_ = [[10.0, 20.0], [10.0, 20.0], [10.0, 20.0], [10.0, 20.0]]
    panel = make_panel(close, open_=open_)
    w = np.array([[0.0, 0.5], [NAN, NAN], [NAN, NAN], [NAN, NAN]])
    for engine in ("numba", "python"):
        res = backtest(w, panel, "us", costs=Costs(commission_bps=0.0), initial_cash=1000.0,
                       engine=engine)  # fmt: skip
        assert res.trades["price"].tolist() == [20.0]
        assert res.equity_values.tolist() == [1000.0, 1000.0, 1000.0, 1025.0]


@pytest.mark.parametrize("rule", [True, np.True_, 1.5, np.ones(30, dtype=bool), object()])
def test_rebalance_of_the_wrong_type_is_refused(case, rule) -> None:
    panel, w = case
    backtest(w, panel, "vn.hose", rebalance=1)  # caches the every-bar mask under key 1
    with pytest.raises(ConfigError, match="rebalance must be"):
        backtest(w, panel, "vn.hose", rebalance=rule)  # True == 1 must not hit that entry


def test_negative_volume_is_named(case) -> None:
    panel, w = case
    vol = np.array(panel["volume"])
    vol[9, 0] = -100.0
    with pytest.raises(DataError, match=rf"volume -100.0 on {panel.dates[9].date()}"):
        backtest(w, panel.with_fields(volume=vol), "vn.hose")
    vol[9, 0] = NAN  # unknown volume does not block trading
    assert len(backtest(w, panel.with_fields(volume=vol), "vn.hose", initial_cash=1e9).trades)


@pytest.mark.parametrize("value", [True, "5", [1.0], complex(1, 0)])
def test_costs_refuse_bools_text_and_containers(value) -> None:
    with pytest.raises(ConfigError, match=r"Costs\.commission_bps must be a finite number"):
        Costs(commission_bps=value)


def test_costs_accept_numpy_numbers_as_floats() -> None:
    c = Costs(commission_bps=np.float32(2.5), slippage_bps=np.int64(3), min_commission=1)
    assert (c.commission_bps, c.slippage_bps, c.min_commission) == (2.5, 3.0, 1.0)
    assert all(type(v) is float for v in (c.commission_bps, c.slippage_bps, c.min_commission))


def test_infinite_weight_is_named_before_a_bad_price(case) -> None:
    # the engine looks for infinite weights after the price checks, in its scan
    # of the weights; the weights' error must still come first
    panel, w = case
    bad = w.copy()
    bad[3, 1] = np.inf
    close = np.array(panel["close"])
    close[2, 0] = -1.0
    with pytest.raises(DataError, match=rf"infinite on {panel.dates[3].date()}"):
        backtest(bad, panel.with_fields(close=close), "us")
    with pytest.raises(DataError, match=rf"infinite on {panel.dates[3].date()}"):
        backtest(bad, panel, "us", rebalance="fortnightly-ish")
