"""Trade labels for a position manager: net edge per side, triple barrier, adverse move.

Every label at row ``t`` describes a trade decided at the close of ``t`` and
entered at the next bar's open (``open[t + 1]``, the engine's ``next_open``),
held to the close of ``t + horizon``. Its window is therefore rows
``t + 1 .. t + horizon`` and it carries that ``horizon``, so
:func:`alphalab.models.labels.training_mask` drops rows whose window crosses a
fit date. Bars may be of any frequency: nothing here reads the calendar.

Costs are the market's own (:class:`alphalab.markets.MarketRules`: commission,
buy and sell taxes) plus a user slippage, all in basis points of traded value,
charged once on entry and once on exit (a round trip per side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.markets import MarketRules, get_market
from alphalab.models.labels import Label

__all__ = ["TradeLabels", "round_trip_cost_bps", "trade_labels"]


def round_trip_cost_bps(market: str | MarketRules, side: int, slippage_bps: float = 0.0,
                        commission_bps: float | None = None) -> float:
    """Cost in bps of one round trip (entry + exit) for ``side`` (+1 long, -1 short).

    A long buys then sells (buy tax on entry, sell tax on exit); a short sells
    then buys back, so it pays the same two taxes in the other order.
    """
    rules = get_market(market) if isinstance(market, str) else market
    comm = rules.commission_bps if commission_bps is None else float(commission_bps)
    if side not in (1, -1):
        raise ConfigError(f"side must be +1 or -1, got {side!r}")
    return float(2.0 * comm + rules.buy_tax_bps + rules.sell_tax_bps + 2.0 * float(slippage_bps))


@dataclass(frozen=True)
class TradeLabels:
    """Labels of one panel, each ``(n_dates, n_assets)`` with horizon ``horizon``.

    Attributes
    ----------
    edge_long, edge_short : Label
        Net edge in bps after the round-trip cost: ``1e4 * (close[t+h] / open[t+1] - 1) - cost``
        (short: the negated gross return minus the cost).
    barrier_long, barrier_short : Label
        Triple-barrier outcome per side: ``+1`` take-profit first, ``-1`` stop first
        (a bar touching both counts as the stop: the conservative reading), ``0`` time limit.
    adverse_long, adverse_short : Label
        ``1.0`` when the worst excursion against the side (lows for a long, highs for a
        short) exceeds ``adverse_bps``, else ``0.0`` (the position-risk target).
    market_risk : Label
        ``1.0`` when the equal-weight market return over the window is below
        ``-market_bps``, per date (same value in every column).
    direction : Label
        ``2`` long edge > 0 and better than the short's, ``0`` short edge > 0, ``1`` neutral.
    """

    horizon: int
    edge_long: Label
    edge_short: Label
    barrier_long: Label
    barrier_short: Label
    adverse_long: Label
    adverse_short: Label
    market_risk: Label
    direction: Label

    def as_dict(self) -> dict[str, Label]:
        """Every label by name."""
        return {k: getattr(self, k) for k in ("edge_long", "edge_short", "barrier_long", "barrier_short",
                                               "adverse_long", "adverse_short", "market_risk", "direction")}


def _field(panel: Panel, name: str, fallback: str = "close") -> np.ndarray:
    if name in panel.field_names:
        return np.asarray(panel[name], dtype=np.float64)
    return np.asarray(panel[fallback], dtype=np.float64)


def _window_extreme(x: np.ndarray, h: int, fn) -> np.ndarray:
    """``fn`` over rows ``t + 1 .. t + h`` for every t (NaN when any is missing or past the end)."""
    n = x.shape[0]
    out = np.full_like(x, np.nan)
    if h >= n:
        return out
    stack = np.stack([x[1 + k : n - h + 1 + k] for k in range(h)])  # (h, n - h, a)
    val = fn(stack, axis=0)
    val[~np.isfinite(stack).all(axis=0)] = np.nan
    out[: n - h] = val
    return out


def trade_labels(panel: Panel, market: str | MarketRules = "us", horizon: int = 5, *,
                 take_profit_bps: float = 200.0, stop_bps: float = 150.0, adverse_bps: float = 150.0,
                 market_bps: float = 200.0, slippage_bps: float = 5.0,
                 commission_bps: float | None = None) -> TradeLabels:
    """Build every trade label of ``panel`` for a ``horizon``-bar hold.

    Parameters
    ----------
    panel : Panel
        ``close`` required; ``open``, ``high``, ``low`` used when present (else ``close``).
    market : str or MarketRules
    horizon : int
        Bars held (>= 1).
    take_profit_bps, stop_bps : float
        Barriers measured from the entry open.
    adverse_bps : float
        Worst excursion that counts as a position-risk event.
    market_bps : float
        Equal-weight market fall over the window that counts as a market-risk event.
    slippage_bps, commission_bps : float
        Added to the market's costs (commission ``None``: the market's).

    Returns
    -------
    TradeLabels
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon must be an integer >= 1, got {horizon!r}")
    for name, v in (("take_profit_bps", take_profit_bps), ("stop_bps", stop_bps),
                    ("adverse_bps", adverse_bps), ("market_bps", market_bps)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ConfigError(f"{name} must be a positive number, got {v!r}")
    if "close" not in panel.field_names:
        raise DataError("trade_labels needs a 'close' field")
    h = int(horizon)
    close = _field(panel, "close")
    opn = _field(panel, "open")
    high = _field(panel, "high")
    low = _field(panel, "low")
    n, a = close.shape
    dates = pd.DatetimeIndex(panel.dates)
    cost_l = round_trip_cost_bps(market, 1, slippage_bps, commission_bps)
    cost_s = round_trip_cost_bps(market, -1, slippage_bps, commission_bps)

    entry = np.full_like(close, np.nan)
    exit_ = np.full_like(close, np.nan)
    if h < n:
        entry[: n - h] = opn[1 : n - h + 1]
        exit_[: n - h] = close[h:]
    with np.errstate(invalid="ignore", divide="ignore"):
        gross = 1e4 * (exit_ / entry - 1.0)
    gross[~(entry > 0)] = np.nan
    full = np.isfinite(_window_extreme(close, h, np.min))  # the whole hold window is observed
    gross[~full] = np.nan
    edge_l = gross - cost_l
    edge_s = -gross - cost_s

    lo = _window_extreme(low, h, np.min)
    hi = _window_extreme(high, h, np.max)
    with np.errstate(invalid="ignore", divide="ignore"):
        mae_l = 1e4 * (1.0 - lo / entry)
        mae_s = 1e4 * (hi / entry - 1.0)
    adv_l = np.where(np.isfinite(mae_l) & np.isfinite(gross), (mae_l > adverse_bps).astype(float), np.nan)
    adv_s = np.where(np.isfinite(mae_s) & np.isfinite(gross), (mae_s > adverse_bps).astype(float), np.nan)

    bar_l = np.full_like(close, np.nan)
    bar_s = np.full_like(close, np.nan)
    if h < n:
        for t in range(n - h):
            e = entry[t]
            hw, lw = high[t + 1 : t + h + 1], low[t + 1 : t + h + 1]
            ok = np.isfinite(gross[t])
            with np.errstate(invalid="ignore", divide="ignore"):
                up = 1e4 * (hw / e - 1.0)
                dn = 1e4 * (1.0 - lw / e)
            for _side, out, tp_hit, sl_hit in ((1, bar_l, up >= take_profit_bps, dn >= stop_bps),
                                              (-1, bar_s, dn >= take_profit_bps, up >= stop_bps)):
                first_tp = np.where(tp_hit.any(axis=0), tp_hit.argmax(axis=0), h)
                first_sl = np.where(sl_hit.any(axis=0), sl_hit.argmax(axis=0), h)
                lab = np.where(first_sl <= first_tp, np.where(first_sl < h, -1.0, 0.0), 1.0)
                out[t] = np.where(ok, lab, np.nan)

    cnt = np.isfinite(gross).sum(axis=1)
    mret = np.where(cnt > 0, np.nansum(gross, axis=1) / np.maximum(cnt, 1), np.nan)
    mrisk_row = np.where(np.isfinite(mret), (mret < -market_bps).astype(float), np.nan)
    mrisk = np.repeat(mrisk_row[:, None], a, axis=1)
    mrisk[~np.isfinite(gross)] = np.nan

    direction = np.where(edge_l > np.maximum(edge_s, 0.0), 2.0, np.where(edge_s > np.maximum(edge_l, 0.0), 0.0, 1.0))
    direction[~np.isfinite(gross)] = np.nan

    def lab(kind: str, v: np.ndarray) -> Label:
        return Label(kind=kind, horizon=h, values=v, dates=dates)

    return TradeLabels(h, lab("edge_long", edge_l), lab("edge_short", edge_s), lab("barrier_long", bar_l),
                       lab("barrier_short", bar_s), lab("adverse_long", adv_l), lab("adverse_short", adv_s),
                       lab("market_risk", mrisk), lab("direction", direction))
