"""Market rules as data: lots, price bands, settlement, shorting, fees and taxes.

PLACEHOLDER (skeleton): only the interface and a US entry exist here; the
full rule table with effective dates and citations replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphalab.errors import MarketRuleError

__all__ = ["MarketRules", "ResolvedRules", "get_market", "resolve_rules"]


@dataclass(frozen=True)
class MarketRules:
    """The trading rules of one exchange board (values in force today)."""

    code: str
    lot_size: int = 1
    price_band: float | None = None
    settlement_days: int = 0
    allow_short: bool = True
    commission_bps: float = 0.0
    min_commission: float = 0.0
    sell_tax_bps: float = 0.0
    borrow_bps: float = 0.0


@dataclass(frozen=True)
class ResolvedRules:
    """Market rules laid out as arrays over a panel's dates and assets.

    Attributes
    ----------
    lot_size : numpy.ndarray, shape ``(n_assets,)``
        Shares per board lot (orders are whole multiples).
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
        Shares bought at bar t can be sold from bar t + settlement_days.
    allow_short : bool
    borrow_rate : float
        Annual cost of borrowing shorted shares, as a fraction.
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


_MARKETS = {"us": MarketRules("us")}


def get_market(code: str) -> MarketRules:
    try:
        return _MARKETS[code.lower()]
    except KeyError:
        raise MarketRuleError(f"unknown market {code!r}; known: {', '.join(_MARKETS)}") from None


def resolve_rules(
    market: str | MarketRules,
    dates: pd.DatetimeIndex,
    assets: pd.Index,
    *,
    st: np.ndarray | None = None,
) -> ResolvedRules:
    rules = get_market(market) if isinstance(market, str) else market
    n_d, n_a = len(dates), len(assets)
    band = np.full((n_d, n_a), np.inf if rules.price_band is None else rules.price_band)
    return ResolvedRules(
        lot_size=np.full(n_a, float(rules.lot_size)),
        band=band,
        sell_tax=np.full(n_d, rules.sell_tax_bps / 1e4),
        buy_tax=np.zeros(n_d),
        commission_rate=np.full(n_d, rules.commission_bps / 1e4),
        min_commission=rules.min_commission,
        settlement_days=rules.settlement_days,
        allow_short=rules.allow_short,
        borrow_rate=rules.borrow_bps / 1e4,
    )
