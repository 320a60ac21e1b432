"""Reference implementation of the founding threshold search: one pandas mask per candidate.

This is the founding trainer's simulation written the way it was (a DataFrame of
samples, a boolean mask per candidate, every passing sample an independent trade)
and serves as the outside reference for
:func:`alphalab.portfolio.pm_kernel.pm_search_stateless` (tests) and as the
baseline of ``benchmarks/pm_search_speed.py``. Not used by the library itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphalab.portfolio.pm_kernel import SIG

__all__ = ["founding_frame", "founding_search"]


def founding_frame(sig: np.ndarray, real_long: np.ndarray, real_short: np.ndarray, allow_short: bool) -> pd.DataFrame:
    """Samples in (bar, asset) order with the chosen side's columns, as the founding trainer held them."""
    col = {name: sig[i].ravel() for name, i in SIG.items()}
    df = pd.DataFrame(col)
    df["real_long"], df["real_short"] = real_long.ravel(), real_short.ravel()
    long = df["p_long"] >= df["p_short"]
    df["side"] = np.where(long, 1, -1)
    df["p_side"] = np.where(long, df["p_long"], df["p_short"])
    df["p_opp"] = np.where(long, df["p_short"], df["p_long"])
    df["p_in"] = np.where(long, df["p_entry_long"], df["p_entry_short"])
    df["edge"] = np.where(long, df["edge_long"], df["edge_short"])
    df["risk"] = np.where(long, df["risk_long"], df["risk_short"])
    df["real"] = np.where(long, df["real_long"], df["real_short"])
    if not allow_short:
        df = df[df["side"] > 0]
    return df[df["real"].notna()]


def founding_search(df: pd.DataFrame, candidates: np.ndarray) -> pd.DataFrame:
    """Per candidate (``dir_min, margin_min, entry_min, edge_min_bps, market_risk_max,
    position_risk_max``): trades, wins, total, max drawdown, avg and the founding score,
    plus ``trades_index`` (the passing rows' index as a tuple) for trade-set comparisons."""
    out = []
    for d, mg, en, ed, mr, pr in candidates:
        mask = ((df["p_side"] >= d) & (df["p_side"] - df["p_opp"] >= mg) & (df["p_in"] >= en)
                & (df["edge"] >= ed) & (df["risk_market"] <= mr) & (df["risk"] <= pr))
        trades = df.loc[mask, "real"]
        n = len(trades)
        equity = trades.cumsum()
        mdd = float((equity.cummax().clip(lower=0) - equity).max()) if n else 0.0
        total = float(trades.sum())
        avg = total / n if n else 0.0
        score = avg * np.sqrt(n) + 0.05 * total - 0.25 * mdd - 5 * max(0, 20 - n)
        out.append({"n_trades": n, "wins": int((trades > 0).sum()), "total_edge_bps": total,
                    "max_drawdown_bps": max(mdd, 0.0), "avg_edge_bps": avg, "founding_score": score,
                    "trades_index": tuple(trades.index)})
    return pd.DataFrame(out)
