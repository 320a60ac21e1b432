"""Round trips from the engine's fills: one row per position opened from flat and closed back to flat.

A round trip of an asset starts with the fill that takes its share count away from zero and
ends with the fill that brings it back (a sign change closes one trip and opens the next at
the same fill, its shares split pro rata). Edge in bps is the net P&L (proceeds minus cost,
minus commission, tax and slippage) over the opening notional. Trips still open at the end
are closed at the last close (``exit = "open_at_end"``, no exit costs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["round_trips"]


def round_trips(fills: pd.DataFrame, last_close: pd.Series, last_date: pd.Timestamp) -> pd.DataFrame:
    """Round trips from a fills frame (``BacktestResult.trades_frame()``).

    Parameters
    ----------
    fills : DataFrame
        date, ticker, side ("buy"/"sell"), shares (> 0), price, value, commission, tax, slippage.
    last_close : Series
        Close per ticker on ``last_date`` (marks trips still open).

    Returns
    -------
    DataFrame
        ticker, side (+1 long / -1 short), entry_date, exit_date, entry_notional, pnl, costs,
        edge_bps, n_fills, exit ("flat" or "open_at_end").
    """
    rows = []
    if len(fills):
        f = fills.sort_values(["date"], kind="stable")
        for tic, g in f.groupby("ticker", sort=True):
            pos = 0.0
            trip = None
            for r in g.itertuples(index=False):
                signed = float(r.shares) * (1.0 if r.side == "buy" else -1.0)
                cost = float(r.commission + r.tax + r.slippage)
                remaining, rcost = signed, cost
                while remaining != 0.0:
                    if pos == 0.0:
                        trip = {"ticker": tic, "side": 1 if remaining > 0 else -1, "entry_date": r.date,
                                "entry_notional": 0.0, "cash": 0.0, "costs": 0.0, "n_fills": 0}
                    same = np.sign(remaining) == np.sign(pos) or pos == 0.0
                    step = remaining if same else (np.sign(remaining) * min(abs(remaining), abs(pos)))
                    share = abs(step) / abs(signed)
                    c = cost * share
                    trip["cash"] += -step * float(r.price)
                    trip["costs"] += c
                    trip["n_fills"] += 1
                    if same:
                        trip["entry_notional"] += abs(step) * float(r.price)
                    pos += step
                    remaining -= step
                    rcost -= c
                    if abs(pos) < 1e-9:
                        pos = 0.0
                        rows.append(_close(trip, r.date, "flat"))
                        trip = None
            if trip is not None and pos != 0.0:
                trip["cash"] += pos * float(last_close.get(tic, np.nan))
                rows.append(_close(trip, last_date, "open_at_end"))
    cols = ["ticker", "side", "entry_date", "exit_date", "entry_notional", "pnl", "costs", "edge_bps",
            "n_fills", "exit"]
    out = pd.DataFrame(rows, columns=cols)
    out = out.astype({"side": np.int64, "entry_notional": np.float64, "pnl": np.float64, "costs": np.float64,
                      "edge_bps": np.float64, "n_fills": np.int64})
    out["entry_date"] = pd.to_datetime(out["entry_date"])
    out["exit_date"] = pd.to_datetime(out["exit_date"])
    return out.sort_values(["exit_date", "ticker"], kind="stable").reset_index(drop=True)


def _close(trip: dict, date: pd.Timestamp, how: str) -> dict:
    pnl = trip["cash"] - trip["costs"]
    notional = trip["entry_notional"]
    return {"ticker": trip["ticker"], "side": trip["side"], "entry_date": trip["entry_date"], "exit_date": date,
            "entry_notional": notional, "pnl": pnl, "costs": trip["costs"],
            "edge_bps": 1e4 * pnl / notional if notional > 0 else np.nan, "n_fills": trip["n_fills"], "exit": how}
