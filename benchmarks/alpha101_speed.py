"""Time the whole Alpha101 catalogue on ``us_sp500_5yr`` (505 tickers x 1,259 days).

The timed call includes parsing and resolving every formula (the parse cache
is cleared first) and evaluation with shared subexpressions. Compiled kernels
are loaded once beforehand on a small slice, as in any long-running session.
Prints wall and CPU seconds per repeat, and last one line
``alpha101_seconds=<best wall time>``.

Usage::

    .venv/bin/python benchmarks/alpha101_speed.py [--repeat 3] [--data PATH]
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

DEFAULT = Path(os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT / "us_sp500_5yr.parquet")
    args = ap.parse_args()
    panel = Panel.from_long(pd.read_parquet(args.data))
    warnings.simplefilter("ignore")
    compute_alpha101(panel.iloc_dates(slice(0, 60)))  # load compiled kernels
    best = float("inf")
    for i in range(args.repeat):
        engine._parse_cached.cache_clear()
        w, c = time.perf_counter(), time.process_time()
        values, skipped = compute_alpha101(panel)
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        best = min(best, wall)
        print(f"repeat {i}: {len(values)} alphas ({len(skipped)} skipped: no industry/cap data) "
              f"on {panel.n_assets} x {panel.n_dates}: wall {wall:.2f}s, cpu {cpu:.2f}s")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"alpha101_seconds={best:.2f}")


if __name__ == "__main__":
    main()
