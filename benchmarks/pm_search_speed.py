"""All 2,304 founding-grid candidates on 100,000 samples: compiled search vs the founding pandas masks.

Samples: 250 S&P 500 members x 400 bars of ``us_sp500_5yr`` (real opens / closes,
real realised net edges from :func:`alphalab.models.trade_labels.trade_labels`,
horizon 5), with seeded signals correlated with the realised edge. Timed, in one
process, each after one warm-up call (numba compilation excluded):

* ``stateful``: :func:`pm_search_stateful` -- the full state machine (open, add,
  reduce, exit, sizing, gross cap, round-trip accounting) for every candidate;
* ``stateless``: :func:`pm_search_stateless` -- the founding simulation, compiled;
* ``founding``: :func:`alphalab.testing.founding_pm.founding_search` -- the founding
  trainer's per-candidate pandas masks (the reference; run once, or on a subset with
  ``--quick`` and scaled to 2,304).

Wall and CPU (process) time are both printed: on the shared 2-core machine wall time
includes waiting for a core. Last line: ``ratio_stateless=<founding / stateless CPU>``.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/pm_search_speed.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.models.trade_labels import round_trip_cost_bps, trade_labels
from alphalab.portfolio.pm_config import CFG, SEARCH_KEYS, PMConfig
from alphalab.portfolio.pm_kernel import N_SIG, SIG, pm_search_stateful, pm_search_stateless
from alphalab.testing.founding_pm import founding_frame, founding_search
from alphalab.validation.threshold_search import grid_candidates

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "us_sp500_5yr.parquet"


def build(n_assets: int = 250, n_bars: int = 400, seed: int = 0):
    df = pd.read_parquet(DATA, columns=["date", "ticker", "open", "high", "low", "close"])
    counts = df.groupby("ticker")["close"].count()
    keep = sorted(counts[counts == counts.max()].index[:n_assets])
    panel = Panel.from_long(df[df.ticker.isin(keep)], ["open", "high", "low", "close"])
    panel = panel.iloc_dates(slice(0, n_bars + 5))
    lab = trade_labels(panel, "us", 5, slippage_bps=5.0)
    rl, rs = lab.edge_long.values[:n_bars], lab.edge_short.values[:n_bars]
    rng = np.random.default_rng(seed)
    shape = (n_bars, n_assets)
    z = np.tanh(np.nan_to_num(rl) / 300 + rng.normal(0, 1, shape))
    sig = np.zeros((N_SIG, *shape))
    sig[SIG["p_long"]] = 0.45 + 0.25 * z
    sig[SIG["p_short"]] = 0.45 - 0.25 * z
    for k in ("p_entry_long", "p_entry_short", "risk_market", "risk_long", "risk_short"):
        sig[SIG[k]] = rng.uniform(0.3, 1.0, shape)
    sig[SIG["edge_long"]] = np.nan_to_num(rl) / 2 + rng.normal(0, 10, shape)
    sig[SIG["edge_short"]] = np.nan_to_num(rs) / 2 + rng.normal(0, 10, shape)
    sig[SIG["price"]] = panel["close"][:n_bars]
    sig[SIG["liq"]] = np.nan
    o = panel["open"]
    ret = np.full(shape, np.nan)
    ret[: n_bars - 2] = o[2:n_bars] / o[1 : n_bars - 1] - 1
    sig[SIG["ret"]] = ret
    return sig, rl, rs


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="founding reference on 288 candidates, scaled")
    args = ap.parse_args()
    sig, rl, rs = build()
    n_samples = sig.shape[1] * sig.shape[2]
    cands = grid_candidates()
    base = PMConfig()
    cfgs = np.repeat(base.vector()[None, :], len(cands), axis=0)
    cfgs[:, [CFG[f"entry.{k}"] for k in SEARCH_KEYS]] = cands
    half = round_trip_cost_bps("us", 1, 5.0) / 2
    pm_search_stateful(sig[:, :5, :3], cfgs[:2], half)  # compile
    pm_search_stateless(sig[:, :5, :3], rl[:5, :3], rs[:5, :3], cands[:2], False)
    (m_sf, _), w_sf, c_sf = timed(lambda: pm_search_stateful(sig, cfgs, half))
    (m_sl, _), w_sl, c_sl = timed(lambda: pm_search_stateless(sig, rl, rs, cands, False))
    sub = cands[:: 8] if args.quick else cands
    ref, w_ref, c_ref = timed(lambda: founding_search(founding_frame(sig, rl, rs, False), sub))
    scale = len(cands) / len(sub)
    w_ref, c_ref = w_ref * scale, c_ref * scale
    idx = np.arange(0, len(cands), 8) if args.quick else np.arange(len(cands))
    assert np.array_equal(m_sl[idx, 0], ref["n_trades"].to_numpy()), "stateless kernel disagrees with pandas"
    print(f"samples={n_samples:,} candidates={len(cands):,} (stateful trades/candidate median "
          f"{np.median(m_sf[:, 0]):.0f}, stateless {np.median(m_sl[:, 0]):.0f})")
    print(f"{'run':<34}{'wall s':>9}{'CPU s':>9}")
    print(f"{'stateful state machine (numba)':<34}{w_sf:>9.2f}{c_sf:>9.2f}")
    print(f"{'stateless founding sim (numba)':<34}{w_sl:>9.2f}{c_sl:>9.2f}")
    lab = "founding pandas masks" + (" (x8 scaled)" if args.quick else "")
    print(f"{lab:<34}{w_ref:>9.2f}{c_ref:>9.2f}")
    print(f"ratio_stateful={c_ref / c_sf:.1f} ratio_stateless={c_ref / c_sl:.1f}")


if __name__ == "__main__":
    main()
