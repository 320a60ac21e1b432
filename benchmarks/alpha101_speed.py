"""Time the whole Alpha101 catalogue on ``us_sp500_5yr`` (505 tickers x 1,259 days).

The timed call includes parsing and resolving every formula (the parse cache
is cleared first) and evaluation with shared subexpressions. Compiled kernels
are loaded once beforehand on a small slice, as in any long-running session.
Prints wall and CPU seconds per repeat, and last one line
``alpha101_seconds=<best wall time>``.

``--cn-all`` runs the whole catalogue instead (no skips) on the A-share sample
``cn_ashare_sample_2017_2023`` (the 412 tickers that also have an industry and
a share count, x 1,484 days), with CITIC level-1 industries standing in for
sector, industry and subindustry and a market cap of close x total shares
(the last reported ``totalShare`` per ticker from
``cn_fundamentals_quarterly_2014_2022``, a static proxy).

Usage::

    .venv/bin/python benchmarks/alpha101_speed.py [--repeat 3] [--data PATH] [--cn-all]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import pandas as pd

from alphalab.data.panel import Panel
from alphalab.features.alphas.alpha101 import compute_alpha101
from alphalab.features.expr import engine

DEFAULT = Path(
    os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def cn_panel_with_groups(data: Path) -> tuple[Panel, dict[str, dict[str, str]]]:
    """The A-share sample with a ``cap`` field and CITIC groups (see the module docstring)."""
    px = pd.read_parquet(data / "cn_ashare_sample_2017_2023.parquet")
    ind = pd.read_parquet(data / "cn_industry_citic.parquet")
    fund = pd.read_parquet(
        data / "cn_fundamentals_quarterly_2014_2022.parquet", columns=["ticker", "totalShare"]
    )
    shares = fund.dropna().groupby("ticker")["totalShare"].last()
    names = set(px["ticker"]) & set(ind["ticker"]) & set(shares.index)
    px = px[px["ticker"].isin(names)][["date", "ticker", "open", "high", "low", "close", "volume"]]
    panel = Panel.from_long(px)
    cap = panel["close"] * shares.reindex(panel.assets).to_numpy()[None, :]
    level = dict(zip(ind["ticker"], ind["industry_citic_l1"], strict=True))
    return panel.with_fields(cap=cap), {"sector": level, "industry": level, "subindustry": level}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT / "us_sp500_5yr.parquet")
    ap.add_argument("--cn-all", action="store_true", help="all 101 on the A-share sample")
    args = ap.parse_args()
    groups = None
    if args.cn_all:
        panel, groups = cn_panel_with_groups(DEFAULT)
    else:
        panel = Panel.from_long(pd.read_parquet(args.data))
    warnings.simplefilter("ignore")
    compute_alpha101(panel.iloc_dates(slice(0, 60)), groups=groups)  # load compiled kernels
    best = float("inf")
    for i in range(args.repeat):
        engine._parse_cached.cache_clear()
        w, c = time.perf_counter(), time.process_time()
        values, skipped = compute_alpha101(panel, groups=groups)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        best = min(best, wall)
        print(
            f"repeat {i}: {len(values)} alphas ({len(skipped)} skipped: no industry/cap data) "
            f"on {panel.n_assets} x {panel.n_dates}: wall {wall:.2f}s, cpu {cpu:.2f}s"
        )
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"alpha101_seconds={best:.2f}")


if __name__ == "__main__":
    main()
