"""Market rules as data: lots, price bands, settlement, shorting, fees and taxes.

Each exchange board is one :class:`MarketRules` record. Its scalar fields hold
the values in force today; rules that changed over time also carry a dated
schedule in ``history`` (``(effective_from, value)`` pairs, oldest first), and
:func:`resolve_rules` lays the rules out per date of a panel, so a backtest of
2008 pays the 2008 stamp duty and sees the 2008 price band.

Codes
-----
``us``; ``vn.hose``, ``vn.hnx``, ``vn.upcom``; ``cn`` (board resolved per
ticker), ``cn.main``, ``cn.chinext``, ``cn.star``, ``cn.st``; ``tw``.

Sources (checked 2026-11 through the search tool; "unverified" marks what could
not be confirmed there and is encoded from general knowledge)
-----------------------------------------------------------------------------
United States
    Lot 1, no daily price band for single stocks (LULD pauses are intraday and
    not modelled), T+0 for the backtest (cash/share availability is not
    modelled; the real cycle is T+1 since 2024-05-28). Commission defaults to
    0 bps (zero-commission brokers); SEC Section 31 and FINRA TAF fees on sells
    (about 0.3 bps) are not modelled. Borrow cost default 25 bps a year is an
    assumption for easy-to-borrow names (general collateral), unverified.
Vietnam (HOSE, HNX, UPCoM)
    * Bands: HOSE 5% -> 7% and HNX 7% -> 10% from 2013-01-15 (State Securities
      Commission, Reuters 2013-01-09 "Vietnam to widen trading bands";
      VietnamPlus "Trading band to increase on both bourses"). 2008 crisis
      bands: HOSE 1% / HASTC 2% from 2008-03-27 (SSC; VDSC news 2008-04), 2% /
      3% from 2008-04-07 (VNS 2008-04-04 "Regulators loosen stock market trade
      band"), 3% / 4% (effective date unverified, encoded as 2008-06-19), 5% /
      7% from 2008-08-18 (SGGP "Wider trading band will boost liquidity";
      effective "Monday" after the Thursday decision of 2008-08-14). HNX was
      10% before 2008-03-27 (SGGP interview, same article).
    * UPCoM band 10% -> 15% from 2015-07-01 (SSC approval on HNX submission
      34/TTr-SGDHN; Vietcap news "UBCKNN dieu chinh bien do ... Upcom len 15%").
    * HOSE round lot 10 -> 100 from 2021-01-04 (HOSE Decision 894/QD-SGDHCM of
      2020-12-30; SGGP 2021-01-04, VDSC and Japan Securities notices). Lot 10
      since 2001-10-15 (VNS history of band adjustments). HNX and UPCoM lot 100
      today (EFG Hermes "Hanoi Stock Exchange" market information; HSC "UPCoM
      trading regulations": 100 shares continuous matching, 1-99 odd lots);
      their lot history is unverified and encoded as 100 throughout.
    * Settlement T+3 -> T+2 from 2016-01-01 (VSD Decision 211/QD-VSD of
      2015-12-18; VNDIRECT notice 2015-12-31; Biz Hub "Settlement of stock
      trades cut one day"). ``settlement_days`` holds this cycle; what the
      backtest enforces is the sell lock (``sell_lock`` at the open,
      ``sell_lock_close`` at the close), dated:
      - before 2012-09-04 shares bought on T were sellable from T+4 (settled
        at 15:00 of T+3; SGGP interview with the SSC, "VN stock market to see
        trade settlement reduced"; Vietstock 2012-09 "Shorter settlement
        period falls flat": sales "one day earlier than before");
      - from 2012-09-04 ("T+3", made official that day: brokers settle before
        16:00 of T+2, shares "fully tradeable on the third day", Vietstock
        2012-09) and, under T+2 settlement from 2016-01-01 (settled 16:00 of
        T+2, Biz Hub 2015-12), until 2022-08-26: sellable from T+3 (Vietstock
        2022-07-01 "Investors to be able to trade stocks on T+2 settlement
        cycle": "investors can only trade new stocks the next day, T+3");
      - from 2022-08-29: settlement by 11:30 of T+2 and shares sellable in
        the afternoon session of T+2 (VSD Decision 109/QD-VSD of 2022-08-19;
        Japan Securities notice "shortening settlement time"). Daily bars
        have no afternoon: such shares are sellable at the close of T+2
        (``next_close`` execution) but not at its open (``next_open``
        execution waits for T+3).
    * Sell tax 0.1% of the sale value (personal income tax on securities
      transfers, Circular 111/2013/TT-BTC art. 11 as amended by Circular
      92/2015/TT-BTC; lawnet.vn). Applied from 2010-01-01: the 2009 exemption
      (Resolution 32/2009/QH12) is unverified here.
    * Limit prices: the ceiling (floor) is reference x (1 +- band) rounded
      to the tick into the band (HOSE trading regulation; FPTS / HSC "HSX
      trading regulations"), the reference being the previous close (UPCoM's
      reference is the previous day's average price: approximated by the
      close). Ticks: HOSE 10 VND below 10,000, 50 from 10,000, 100 from
      50,000; HNX and UPCoM 100 VND (SBSC "UPCoM trading regulations";
      HNX regulation). Older HOSE tick tables (100/500/1,000 VND) are not
      modelled (unverified dates). Prices must be in VND per share; on
      adjusted prices the rounding is approximate.
    * No short selling of listed shares (no covered short-selling mechanism
      in force). Broker commission default 15 bps, no minimum: typical online
      broker rate, not a regulation (unverified).
China A-shares (SSE / SZSE)
    * Stamp duty (Ministry of Finance / State Taxation Administration):
      0.3% on both sides from 2007-05-30 (China Daily 2007-07-04), 0.1% on both
      sides from 2008-04-24 (FT via China Economic Review; RSA Tax), 0.1% on
      sells only from 2008-09-19 (Cai Shui Ming Dian [2008] No. 2), 0.05% on
      sells from 2023-08-28 (MoF/STA announcement 2023-08-27; SSE/SZSE notice
      relayed by China Taiping). 0.1% on both sides from 2005-01-24 and 0.2%
      from 2001-11-16 are unverified.
    * Bands: main board 10% since 1996-12-16 (China Daily 2020-08-18: "10
      percent since late 1996"); ST / *ST 5% (SZSE price-limit rules), raised
      to 10% on the main board from 2025-07-07 (SSE/SZSE 2025-06-27 notice,
      press reports; the exact effective date is from press reports). ChiNext
      10% -> 20% from 2020-08-24 (CSRC ChiNext registration reform; China Daily
      2020-08-18), ST on ChiNext 5% before, 20% after. STAR 20% since launch
      2019-07-22, ST included. Unlimited first 5 days of new STAR / post-reform
      ChiNext listings and the first day of main-board IPOs (44%) are NOT
      modelled.
    * Lot 100 for buys; STAR buys need at least 200 shares then steps of 1
      (``min_order`` 200, ``lot_size`` 1). Odd lots can be sold at once
      (not modelled: sells are rounded to lots like buys).
    * T+1: shares bought on T can be sold from T+1. No short selling by
      default (securities lending exists but is restricted).
    * Limit prices: previous close x (1 +- band) rounded to the 0.01 CNY tick,
      halves up (SSE / SZSE trading rules, art. on price limits: "rounded to
      the minimum price unit"). Prices must be in CNY.
    * Broker commission default 2.5 bps with a CNY 5 minimum (common broker
      practice, not a regulation; unverified). The exchange transfer fee
      (0.001% since 2022-04-29) is not modelled separately.
Taiwan (TWSE)
    * Price band 7% -> 10% from 2015-06-01 (TWSE press release 2015-06-02
      "Starting from June 1, 2015, Price Fluctuation Limit will be relaxed to
      10%"; TPEx "Daily price fluctuation limit").
    * Commission 0.1425% standard rate (TWSE "Transaction Costs and Taxes");
      the NT$20 minimum is broker practice (unverified on TWSE pages).
    * Securities transaction tax 0.3% of the value sold (TWSE "Transaction
      Costs and Taxes"; Securities Transaction Tax Act art. 2). The 0.15%
      day-trading rate is not modelled.
    * Board lot 1000 shares (odd lots tradable, not modelled), T+2
      settlement (TWSE), shorting restricted: modelled as not allowed.
    * Sell availability: shares bought on T can be sold on T+1, before they
      settle on T+2 (TWSE "Trading Mechanism": settlement T+2, selling does
      not wait for it), and day-traded since 2014-01-06 (FSC / TWSE
      "current-share day trading", from 2014-01-06). With daily bars one
      bar executes one decision, so a same-bar round trip never arises:
      ``sell_lock`` is 1 throughout (T+1), before and after 2014.
    * Limit prices: previous close x (1 +- band), the up limit rounded down
      and the down limit up to the tick of its level (TWSE "Operating Rules"
      art. 59 tick table, unverified beyond it): 0.01 below 10, 0.05 below 50,
      0.1 below 100, 0.5 below 500, 1 below 1,000, 5 from 1,000 TWD.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from alphalab._inputs import as_dates, is_finite_number
from alphalab.errors import DataError, MarketRuleError

__all__ = [
    "MarketRules",
    "ResolvedRules",
    "cn_board",
    "get_market",
    "list_markets",
    "market_table",
    "resolve_rules",
]

Schedule = tuple[tuple[str, Any], ...]

# Fields that may carry a dated schedule in ``MarketRules.history``.
DATED_FIELDS = (
    "lot_size",
    "price_band",
    "st_price_band",
    "settlement_days",
    "sell_lock",
    "sell_lock_close",
    "commission_bps",
    "sell_tax_bps",
    "buy_tax_bps",
)

# Smallest legal value of each integer field.
_INT_MIN = {"lot_size": 1, "settlement_days": 0, "min_order": 0}
_LOCK_FIELDS = ("sell_lock", "sell_lock_close")
_LIMIT_ROUNDINGS = ("inward", "nearest")
_BAND_FIELDS = ("price_band", "st_price_band")
_NON_NEGATIVE = ("commission_bps", "min_commission", "sell_tax_bps", "buy_tax_bps", "borrow_bps")


def _value_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is impossible for rule ``name`` (None when it is fine)."""
    if name in _INT_MIN:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if not ok or value < _INT_MIN[name]:
            return f"must be an integer >= {_INT_MIN[name]}"
    elif name in _BAND_FIELDS:
        if value is not None and (not is_finite_number(value) or value <= 0):
            return "must be None (no band) or a positive fraction such as 0.07"
    elif name in _LOCK_FIELDS:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if value is not None and (not ok or value < 0):
            return "must be None (see the field's default) or an integer >= 0"
    elif name in _NON_NEGATIVE:
        if not is_finite_number(value) or value < 0:
            return "must be a finite number >= 0"
    return None


def _when(date: Any) -> pd.Timestamp:
    """A date as a naive Timestamp on the exchange's wall clock."""
    when = pd.Timestamp(date)
    return when.tz_localize(None) if when.tzinfo is not None else when


@dataclass(frozen=True)
class MarketRules:
    """The trading rules of one exchange board.

    Scalar fields hold the values in force today. ``history`` maps a field
    name to its schedule ``((effective_from, value), ...)``, oldest first;
    the last value must equal the scalar field. Use :meth:`at` for the rules
    in force on a given date.

    Attributes
    ----------
    code : str
        Market code, e.g. ``"vn.hose"``.
    lot_size : int
        Shares per board lot (orders are whole multiples).
    price_band : float or None
        Daily price limit as a fraction of the previous close; None = none.
    settlement_days : int
        Settlement cycle (T+N): informational; the backtest enforces the
        sell lock.
    allow_short : bool
    commission_bps : float
        Market-default broker commission, basis points of traded value.
    min_commission : float
        Minimum commission per order, in the price currency.
    sell_tax_bps, buy_tax_bps : float
        Taxes on the value of sells / buys, basis points.
    borrow_bps : float
        Annual cost of borrowing shorted shares, basis points.
    st_price_band : float or None
        Band for special-treatment (ST) stocks on this board; None = same as
        ``price_band``.
    min_order : int
        Minimum shares per buy order (0 = one lot).
    sell_lock : int or None
        Shares bought on trading day T can be sold at the open of T +
        sell_lock (0 = at once); None = ``settlement_days``.
    sell_lock_close : int or None
        The same for sales at the close (VN from 2022-08-29: 3 at the open,
        2 at the close); None = ``sell_lock``.
    tick_table : tuple of (price_from, tick) pairs
        Tick size by price level, increasing; limit prices are rounded to it.
        Empty: limits are not rounded.
    limit_rounding : {"inward", "nearest"}
        How limit prices are rounded to the tick: into the band (up limit
        down, down limit up) or to the nearest tick, halves up.
    currency, name, notes : str
    history : tuple of (field, schedule) pairs
    """

    code: str
    lot_size: int = 1
    price_band: float | None = None
    settlement_days: int = 0
    allow_short: bool = True
    commission_bps: float = 0.0
    min_commission: float = 0.0
    sell_tax_bps: float = 0.0
    borrow_bps: float = 0.0
    buy_tax_bps: float = 0.0
    st_price_band: float | None = None
    min_order: int = 0
    sell_lock: int | None = None
    sell_lock_close: int | None = None
    tick_table: tuple[tuple[float, float], ...] = ()
    limit_rounding: str = "inward"
    currency: str = "USD"
    name: str = ""
    notes: str = ""
    history: tuple[tuple[str, Schedule], ...] = ()

    def __post_init__(self) -> None:
        if self.limit_rounding not in _LIMIT_ROUNDINGS:
            raise MarketRuleError(
                f"market {self.code!r}: limit_rounding={self.limit_rounding!r} must be one of "
                f"{', '.join(_LIMIT_ROUNDINGS)}"
            )
        try:
            levels = [(float(a), float(b)) for a, b in self.tick_table]
        except (TypeError, ValueError):
            raise MarketRuleError(
                f"market {self.code!r}: tick_table must be (price_from, tick) pairs of numbers"
            ) from None
        if levels and (
            levels[0][0] != 0.0
            or any(not (np.isfinite(b) and b > 0) for _, b in levels)
            or any(b[0] <= a[0] for a, b in itertools.pairwise(levels))
        ):
            raise MarketRuleError(
                f"market {self.code!r}: tick_table must start at price 0, increase strictly "
                "and hold positive finite ticks"
            )
        for name in (*_INT_MIN, *_LOCK_FIELDS, *_BAND_FIELDS, *_NON_NEGATIVE):
            problem = _value_problem(name, getattr(self, name))
            if problem:
                raise MarketRuleError(
                    f"market {self.code!r}: {name}={getattr(self, name)!r} {problem}"
                )
        for name, sched in self.history:
            if name not in DATED_FIELDS:
                raise MarketRuleError(
                    f"market {self.code!r}: field {name!r} cannot be dated; "
                    f"dated fields: {', '.join(DATED_FIELDS)}"
                )
            if not sched:
                raise MarketRuleError(f"market {self.code!r}: empty schedule for {name!r}")
            for d, v in sched:
                problem = _value_problem(name, v)
                if problem:
                    raise MarketRuleError(f"market {self.code!r}: {name}={v!r} from {d} {problem}")
            try:
                stamps = [_when(d) for d, _ in sched]
            except (TypeError, ValueError):
                raise MarketRuleError(
                    f"market {self.code!r}: schedule for {name!r} has a date that is not a date"
                ) from None
            if any(b <= a for a, b in itertools.pairwise(stamps)):
                raise MarketRuleError(
                    f"market {self.code!r}: schedule for {name!r} is not strictly increasing"
                )
            if sched[-1][1] != getattr(self, name):
                raise MarketRuleError(
                    f"market {self.code!r}: {name}={getattr(self, name)!r} differs from the "
                    f"latest scheduled value {sched[-1][1]!r}"
                )

    def schedule(self, name: str) -> Schedule:
        """Dated schedule of ``name``; a single ``("1900-01-01", value)`` if undated."""
        for key, sched in self.history:
            if key == name:
                return sched
        return (("1900-01-01", getattr(self, name)),)

    def value_at(self, name: str, date: Any) -> Any:
        """Value of rule ``name`` in force on ``date``."""
        sched = self.schedule(name)
        when = _when(date)
        value = sched[0][1]
        for start, v in sched:
            if _when(start) <= when:
                value = v
        return value

    def at(self, date: Any) -> MarketRules:
        """These rules as in force on ``date`` (no history)."""
        changes = {name: self.value_at(name, date) for name, _ in self.history}
        return replace(self, history=(), **changes)


@dataclass(frozen=True)
class ResolvedRules:
    """Market rules laid out as arrays over a panel's dates and assets.

    Attributes
    ----------
    lot_size : numpy.ndarray, shape ``(n_assets,)``
        Shares per board lot (orders are whole multiples), as in force on the
        last date of the panel (see ``lot_size_by_date`` for history).
    band : numpy.ndarray, shape ``(n_dates, n_assets)``
        Daily price limit as a fraction of the reference (previous) close;
        ``inf`` where there is none.
    sell_tax : numpy.ndarray, shape ``(n_dates,)``
        Tax on the value of sells, as a fraction.
    buy_tax : numpy.ndarray, shape ``(n_dates,)``
        Tax on the value of buys, as a fraction (historical stamp duties).
    commission_rate : numpy.ndarray, shape ``(n_dates,)``
        Market-default broker commission as a fraction of traded value.
    min_commission : float
        Minimum commission per order, in the price currency.
    settlement_days : int
        Shares bought at bar t can be sold from bar t + settlement_days, as in
        force on the last date (see ``settlement_days_by_date``).
    allow_short : bool
    borrow_rate : float
        Annual cost of borrowing shorted shares, as a fraction.
    lot_size_by_date : numpy.ndarray, shape ``(n_dates, n_assets)``
        Board lot in force on each date (e.g. HOSE 10 before 2021-01-04).
    settlement_days_by_date : numpy.ndarray of int, shape ``(n_dates,)``
        Settlement cycle in force on each date (e.g. VN T+3 before 2016).
    sell_lock_by_date, sell_lock_close_by_date : numpy.ndarray of int, shape ``(n_dates,)``
        Sell lock in force on each (sale) date for sales at the open / at
        the close: shares bought on bar s are sellable at bar t when
        ``t - s >= lock[t]``.
    ticks : numpy.ndarray, shape ``(n_levels, 2)``
        Tick table rows ``(price_from, tick)``; empty = limits not rounded.
    limit_rounding : str
        ``"inward"`` or ``"nearest"``.
    min_order : numpy.ndarray, shape ``(n_assets,)``
        Minimum shares per buy order (0 = one lot; STAR 200).
    boards : numpy.ndarray of str, shape ``(n_assets,)``
        Board code of each asset (``cn.main``, ``cn.chinext`` ...).
    """

    lot_size: np.ndarray
    band: np.ndarray
    sell_tax: np.ndarray
    buy_tax: np.ndarray
    commission_rate: np.ndarray
    min_commission: float
    settlement_days: int
    allow_short: bool
    borrow_rate: float
    lot_size_by_date: np.ndarray | None = None
    settlement_days_by_date: np.ndarray | None = None
    min_order: np.ndarray | None = None
    boards: np.ndarray | None = None
    sell_lock_by_date: np.ndarray | None = None
    sell_lock_close_by_date: np.ndarray | None = None
    ticks: np.ndarray | None = None
    limit_rounding: str = "inward"


# ---------------------------------------------------------------- rule table
def _board(code: str, **spec: Any) -> MarketRules:
    """Build a MarketRules where any dated field is given as a list of pairs."""
    history = []
    scalars: dict[str, Any] = {}
    for key, value in spec.items():
        if key in DATED_FIELDS and isinstance(value, list):
            sched = tuple((str(d), v) for d, v in value)
            history.append((key, sched))
            scalars[key] = sched[-1][1]
        else:
            scalars[key] = value
    return MarketRules(code, history=tuple(history), **scalars)


_VN_COMMON: dict[str, Any] = dict(
    settlement_days=[("1900-01-01", 3), ("2016-01-01", 2)],
    sell_lock=[("1900-01-01", 4), ("2012-09-04", 3)],
    sell_lock_close=[("1900-01-01", 4), ("2012-09-04", 3), ("2022-08-29", 2)],
    allow_short=False,
    commission_bps=15.0,
    sell_tax_bps=[("1900-01-01", 0.0), ("2010-01-01", 10.0)],
    borrow_bps=0.0,
    currency="VND",
)

# CN stamp duty: (sell side, buy side) in bps.
_CN_SELL_TAX = [
    ("2001-11-16", 20.0),
    ("2005-01-24", 10.0),
    ("2007-05-30", 30.0),
    ("2008-04-24", 10.0),
    ("2008-09-19", 10.0),
    ("2023-08-28", 5.0),
]
_CN_BUY_TAX = [
    ("2001-11-16", 20.0),
    ("2005-01-24", 10.0),
    ("2007-05-30", 30.0),
    ("2008-04-24", 10.0),
    ("2008-09-19", 0.0),
]

_CN_COMMON: dict[str, Any] = dict(
    lot_size=100,
    settlement_days=1,
    sell_lock=1,
    tick_table=((0.0, 0.01),),
    limit_rounding="nearest",
    allow_short=False,
    commission_bps=2.5,
    min_commission=5.0,
    sell_tax_bps=_CN_SELL_TAX,
    buy_tax_bps=_CN_BUY_TAX,
    borrow_bps=0.0,
    currency="CNY",
)
_CN_MAIN_ST = [("1900-01-01", 0.05), ("2025-07-07", 0.10)]

_TABLE: dict[str, MarketRules] = {
    r.code: r
    for r in [
        _board(
            "us",
            name="United States (NYSE, Nasdaq)",
            lot_size=1,
            price_band=None,
            settlement_days=0,
            allow_short=True,
            commission_bps=0.0,
            min_commission=0.0,
            borrow_bps=25.0,
            currency="USD",
            notes="no band; T+0 in the backtest; borrow 25 bps/yr assumed",
        ),
        _board(
            "vn.hose",
            name="Vietnam, Ho Chi Minh City Stock Exchange",
            lot_size=[("1900-01-01", 10), ("2021-01-04", 100)],
            price_band=[
                ("1900-01-01", 0.05),
                ("2008-03-27", 0.01),
                ("2008-04-07", 0.02),
                ("2008-06-19", 0.03),
                ("2008-08-18", 0.05),
                ("2013-01-15", 0.07),
            ],
            tick_table=((0.0, 10.0), (10_000.0, 50.0), (50_000.0, 100.0)),
            notes="lot 10 before 2021-01-04; band 5% before 2013-01-15 (1-3% in 2008); "
            "T+3 before 2016; sell from T+4 before 2012-09-04, T+3 after, afternoon of T+2 "
            "(close) from 2022-08-29; sell tax 0.1% from 2010",
            **_VN_COMMON,
        ),
        _board(
            "vn.hnx",
            name="Vietnam, Hanoi Stock Exchange",
            lot_size=100,
            price_band=[
                ("1900-01-01", 0.10),
                ("2008-03-27", 0.02),
                ("2008-04-07", 0.03),
                ("2008-06-19", 0.04),
                ("2008-08-18", 0.07),
                ("2013-01-15", 0.10),
            ],
            tick_table=((0.0, 100.0),),
            notes="band 7% 2008-08-18..2013-01-14 (2-4% in 2008); T+3 before 2016; "
            "sell locks as HOSE",
            **_VN_COMMON,
        ),
        _board(
            "vn.upcom",
            name="Vietnam, UPCoM (Hanoi Stock Exchange)",
            lot_size=100,
            price_band=[("1900-01-01", 0.10), ("2015-07-01", 0.15)],
            tick_table=((0.0, 100.0),),
            notes="band 10% before 2015-07-01; T+3 before 2016; sell locks as HOSE",
            **_VN_COMMON,
        ),
        _board(
            "cn",
            name="China A-shares (board resolved per ticker)",
            price_band=0.10,
            st_price_band=_CN_MAIN_ST,
            notes="boards from ticker codes: 60/00 main, 30 ChiNext, 68 STAR; ST via isST",
            **_CN_COMMON,
        ),
        _board(
            "cn.main",
            name="China A-shares, SSE/SZSE main board",
            price_band=0.10,
            st_price_band=_CN_MAIN_ST,
            notes="stamp duty 0.05% on sells from 2023-08-28 (0.1% from 2008-09-19; "
            "both sides before); ST band 5% (10% from 2025-07-07)",
            **_CN_COMMON,
        ),
        _board(
            "cn.chinext",
            name="China A-shares, SZSE ChiNext",
            price_band=[("1900-01-01", 0.10), ("2020-08-24", 0.20)],
            st_price_band=[("1900-01-01", 0.05), ("2020-08-24", 0.20)],
            notes="band 10% before 2020-08-24; IPO first 5 days unlimited (not modelled)",
            **_CN_COMMON,
        ),
        _board(
            "cn.star",
            name="China A-shares, SSE STAR Market",
            price_band=0.20,
            st_price_band=0.20,
            min_order=200,
            notes="opened 2019-07-22; lot 1 above a 200-share minimum; IPO first 5 days "
            "unlimited (not modelled)",
            **{**_CN_COMMON, "lot_size": 1},
        ),
        _board(
            "cn.st",
            name="China A-shares, main-board ST / *ST stocks",
            price_band=_CN_MAIN_ST,
            st_price_band=_CN_MAIN_ST,
            notes="band 5% (10% from 2025-07-07)",
            **_CN_COMMON,
        ),
        _board(
            "tw",
            name="Taiwan Stock Exchange",
            lot_size=1000,
            price_band=[("1900-01-01", 0.07), ("2015-06-01", 0.10)],
            settlement_days=2,
            sell_lock=1,
            tick_table=(
                (0.0, 0.01),
                (10.0, 0.05),
                (50.0, 0.1),
                (100.0, 0.5),
                (500.0, 1.0),
                (1000.0, 5.0),
            ),
            allow_short=False,
            commission_bps=14.25,
            min_commission=20.0,
            sell_tax_bps=30.0,
            borrow_bps=0.0,
            currency="TWD",
            notes="band 7% before 2015-06-01; sell from T+1 (day trading since 2014-01-06); "
            "odd lots and shorting not modelled",
        ),
    ]
}

_CN_BOARD_CODES = ("cn.main", "cn.chinext", "cn.star")


def list_markets() -> list[str]:
    """Known market codes, in table order."""
    return list(_TABLE)


def get_market(code: str) -> MarketRules:
    """The rules of market ``code`` (case-insensitive).

    Raises
    ------
    MarketRuleError
        Unknown code; the message lists the known codes.
    """
    key = str(code).strip().lower()
    try:
        return _TABLE[key]
    except KeyError:
        raise MarketRuleError(f"unknown market {code!r:.60}; known: {', '.join(_TABLE)}") from None


def _fmt_band(value: float | None) -> str:
    return "none" if value is None else f"{value:.0%}"


def market_table() -> pd.DataFrame:
    """One row per market code with today's values and a note on dated changes.

    Returns
    -------
    pandas.DataFrame
        Index ``code``; columns ``name, currency, lot_size, min_order,
        price_band, st_price_band, settlement_days, sell_lock, sell_lock_close,
        tick_table, limit_rounding, allow_short,
        commission_bps, min_commission, sell_tax_bps, buy_tax_bps, borrow_bps,
        changes, notes``. Bands are fractions (NaN = none).
    """
    rows = []
    for r in _TABLE.values():
        lock = r.settlement_days if r.sell_lock is None else r.sell_lock
        changes = "; ".join(
            f"{name} {sched[0][1]}"
            + "".join(f", {v} from {d}" for d, v in sched[1:])
            + (f" (from {sched[0][0]})" if sched[0][0] != "1900-01-01" else "")
            for name, sched in r.history
        )
        rows.append(
            {
                "code": r.code,
                "name": r.name,
                "currency": r.currency,
                "lot_size": r.lot_size,
                "min_order": r.min_order,
                "price_band": np.nan if r.price_band is None else r.price_band,
                "st_price_band": np.nan if r.st_price_band is None else r.st_price_band,
                "settlement_days": r.settlement_days,
                "sell_lock": lock,
                "sell_lock_close": lock if r.sell_lock_close is None else r.sell_lock_close,
                "tick_table": ", ".join(f"{t:g} from {p:g}" for p, t in r.tick_table) or "none",
                "limit_rounding": r.limit_rounding if r.tick_table else "none",
                "allow_short": r.allow_short,
                "commission_bps": r.commission_bps,
                "min_commission": r.min_commission,
                "sell_tax_bps": r.sell_tax_bps,
                "buy_tax_bps": r.buy_tax_bps,
                "borrow_bps": r.borrow_bps,
                "changes": changes,
                "notes": r.notes,
            }
        )
    return pd.DataFrame(rows).set_index("code")


# ------------------------------------------------------------ CN boards
_CN_TICKER = re.compile(
    r"^(?:(?P<pre>sh|sz|bj)[.]?)?(?P<num>\d{6})(?:[.](?P<suf>sh|sz|ss|bj))?$", re.IGNORECASE
)


def cn_board(ticker: str) -> str:
    """Board code (``cn.main``, ``cn.chinext``, ``cn.star``) of an A-share ticker.

    Accepts ``sh.600000``, ``sz.300750``, ``SH600000``, ``600000.SH`` and ``600000``.
    60xxxx and 00xxxx are main board (SZSE SME merged into main in 2021),
    30xxxx ChiNext, 68xxxx STAR.

    Raises
    ------
    MarketRuleError
        The code is not an A-share of a supported board (e.g. Beijing SE).
    """
    m = _CN_TICKER.match(str(ticker).strip())
    if m is None:
        raise MarketRuleError(
            f"ticker {ticker!r:.60} is not an A-share code (expected e.g. sh.600000 or 600000.SH)"
        )
    num = m.group("num")
    if num.startswith(("60", "00")):
        return "cn.main"
    if num.startswith("30"):
        return "cn.chinext"
    if num.startswith("68"):
        return "cn.star"
    raise MarketRuleError(
        f"ticker {ticker!r:.60}: code {num} is not on a supported board "
        "(60/00 main, 30 ChiNext, 68 STAR; Beijing SE and B-shares are not modelled)"
    )


# ------------------------------------------------------------ resolution
def _per_date(rules: MarketRules, name: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Values of rule ``name`` on each date, shape ``(n_dates,)`` (object if None occurs)."""
    sched = rules.schedule(name)
    starts = pd.DatetimeIndex([pd.Timestamp(d) for d, _ in sched]).as_unit("ns")
    values = [np.inf if v is None else v for _, v in sched]
    # The first entry also covers dates before its start: earlier history unknown.
    pos = np.searchsorted(starts.asi8, dates.as_unit("ns").asi8, side="right") - 1
    pos = np.clip(pos, 0, len(values) - 1)
    return np.asarray(values, dtype=np.float64)[pos]


def _current(rules: MarketRules, name: str, dates: pd.DatetimeIndex) -> Any:
    if len(dates) == 0:
        return getattr(rules, name)
    return rules.value_at(name, dates[-1])


def resolve_rules(
    market: str | MarketRules,
    dates: Sequence[Any] | pd.DatetimeIndex,
    assets: Sequence[str] | pd.Index,
    *,
    st: np.ndarray | None = None,
) -> ResolvedRules:
    """Lay market rules out over a panel's dates and assets.

    Parameters
    ----------
    market : str or MarketRules
        A code from :func:`list_markets` or a custom :class:`MarketRules`.
        ``"cn"`` resolves the board of each asset from its ticker
        (:func:`cn_board`).
    dates : DatetimeIndex, length ``n_dates``
    assets : sequence of str, length ``n_assets``
    st : numpy.ndarray, shape ``(n_dates, n_assets)``, optional
        1 where a stock is under special treatment that day (the ``isST``
        field); NaN counts as 0. Where 1, the board's ``st_price_band`` applies.

    Returns
    -------
    ResolvedRules
        Scalars (``lot_size``, ``settlement_days``) are the values in force on
        the last date; the ``*_by_date`` arrays carry the history.

    Raises
    ------
    MarketRuleError
        Unknown market or an unsupported CN ticker.
    DataError
        ``st`` has the wrong shape.
    """
    # Daily bars carry the exchange's wall-clock date: a tz-aware 2023-08-28
    # in Shanghai is that day's rule, not 2023-08-27 UTC.
    idx = as_dates(dates, "dates", unique=False, wall_clock=True)
    if isinstance(assets, str | bytes):
        raise DataError(
            f"assets must be a sequence of tickers, got the string {assets!r:.40} "
            "(wrap one ticker in a list)"
        )
    names = [str(a) for a in assets]
    n_d, n_a = len(idx), len(names)
    if isinstance(market, MarketRules):
        base = market
    else:
        base = get_market(market)
    if base.code == "cn":
        board_codes = [cn_board(t) for t in names]
    else:
        board_codes = [base.code] * n_a
    boards = {c: (base if c == base.code else get_market(c)) for c in dict.fromkeys(board_codes)}

    st_mask = np.zeros((n_d, n_a), dtype=bool)
    if st is not None:
        try:
            st_arr = np.asarray(st, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                "st flags must be numbers (1 = special treatment, 0 or NaN = not)"
            ) from None
        if st_arr.shape != (n_d, n_a):
            raise DataError(
                f"st flags have shape {st_arr.shape}, expected {(n_d, n_a)} (dates, assets)"
            )
        st_mask = np.nan_to_num(st_arr, nan=0.0) != 0

    band = np.empty((n_d, n_a))
    lots = np.empty((n_d, n_a))
    lot_now = np.empty(n_a)
    min_order = np.empty(n_a)
    for code, rules in boards.items():
        cols = np.array([c == code for c in board_codes])
        normal = _per_date(rules, "price_band", idx)
        st_name = "price_band" if rules.st_price_band is None else "st_price_band"
        st_band = _per_date(rules, st_name, idx)
        sub_st = st_mask[:, cols]
        band[:, cols] = np.where(sub_st, st_band[:, None], normal[:, None])
        lots[:, cols] = _per_date(rules, "lot_size", idx)[:, None]
        lot_now[cols] = float(_current(rules, "lot_size", idx))
        min_order[cols] = float(rules.min_order)

    # Taxes, fees and settlement are market-wide (identical across CN boards).
    first = next(iter(boards.values())) if boards else base
    settle = _per_date(first, "settlement_days", idx).astype(np.int64)
    open_name = "settlement_days" if first.sell_lock is None else "sell_lock"
    lock_open = _per_date(first, open_name, idx).astype(np.int64)
    close_name = open_name if first.sell_lock_close is None else "sell_lock_close"
    lock_close = _per_date(first, close_name, idx).astype(np.int64)
    ticks = np.array(first.tick_table, dtype=np.float64).reshape(-1, 2)
    return ResolvedRules(
        lot_size=lot_now,
        band=band,
        sell_tax=_per_date(first, "sell_tax_bps", idx) / 1e4,
        buy_tax=_per_date(first, "buy_tax_bps", idx) / 1e4,
        commission_rate=_per_date(first, "commission_bps", idx) / 1e4,
        min_commission=float(first.min_commission),
        settlement_days=int(_current(first, "settlement_days", idx)),
        allow_short=bool(first.allow_short),
        borrow_rate=float(first.borrow_bps) / 1e4,
        lot_size_by_date=lots,
        settlement_days_by_date=settle,
        min_order=min_order,
        boards=np.array(board_codes, dtype=object),
        sell_lock_by_date=lock_open,
        sell_lock_close_by_date=lock_close,
        ticks=ticks,
        limit_rounding=first.limit_rounding,
    )
