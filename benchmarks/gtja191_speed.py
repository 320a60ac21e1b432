"""Time the whole GTJA 191 catalogue, with Alpha101 on the same panel as the in-process reference.

Panels:

``twse``
    ``tw_twse_midcap_1992_2018`` (150 TWSE stocks, every date), with
    ``amount`` = the exchange's ``turnover`` (TWD value traded, so vwap is
    ``amount / volume``) and the TAIEX close (``taiex_2000_2021``) as the
    one ``index:`` field: all 181 well-defined alphas run.
``us``
    ``us_sp500_5yr`` (505 tickers x 1,259 days), plain OHLCV: 176 alphas
    (no amount, no index; vwap is the typical price).

Each timed call includes parsing and resolving every formula (the parse
cache is cleared first) and evaluation with shared subexpressions; compiled
kernels are loaded once beforehand on a small slice. Prints wall and CPU
seconds per repeat for both catalogues, the per-alpha ratio, the load
average, and last one line per panel ``gtja191_seconds_<panel>=<best wall>``.

Usage::

    nice -n 5 .venv/bin/python benchmarks/gtja191_speed.py [--repeat 3] [--panels twse us]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.features.alphas.alpha101 import compute_alpha101
from alphalab.features.alphas.gtja191 import compute_gtja191
from alphalab.features.expr import engine

DATA = Path(
    os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def twse_panel(data: Path) -> Panel:
    """The 150 TWSE stocks with ``amount`` and the TAIEX close (see the module docstring)."""
    cols = ["date", "ticker", "open", "high", "low", "close", "volume", "turnover"]
    panel = Panel.from_long(pd.read_parquet(data / "tw_twse_midcap_1992_2018.parquet", columns=cols))
    taiex = pd.read_parquet(data / "taiex_2000_2021.parquet").set_index("date")["close"]
    twii = taiex.reindex(panel.dates).to_numpy(np.float64)
    return panel.with_fields(
        amount=panel["turnover"], **{"index:^TWII": np.repeat(twii[:, None], panel.n_assets, axis=1)}
    )


def us_panel(data: Path) -> Panel:
    return Panel.from_long(pd.read_parquet(data / "us_sp500_5yr.parquet"))


def _timed(fn, panel: Panel) -> tuple[int, int, float, float]:  # type: ignore[no-untyped-def]
    engine._parse_cached.cache_clear()
    w, c = time.perf_counter(), time.process_time()
    values, skipped = fn(panel)
    return len(values), len(skipped), time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--panels", nargs="+", default=["twse", "us"], choices=["twse", "us"])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    best: dict[str, float] = {}
    for name in args.panels:
        panel = twse_panel(DATA) if name == "twse" else us_panel(DATA)
        small = panel.iloc_dates(slice(0, 80))
        compute_gtja191(small)  # load compiled kernels
        compute_alpha101(small)
        best[name] = float("inf")
        for i in range(args.repeat):
            g_n, g_skip, g_wall, g_cpu = _timed(compute_gtja191, panel)
            a_n, a_skip, a_wall, a_cpu = _timed(compute_alpha101, panel)
            best[name] = min(best[name], g_wall)
            ratio = (g_cpu / g_n) / (a_cpu / a_n)
            print(
                f"{name} {panel.n_assets} x {panel.n_dates}, repeat {i}: "
                f"gtja191 {g_n} alphas ({g_skip} skipped) wall {g_wall:.2f}s cpu {g_cpu:.2f}s; "
                f"alpha101 {a_n} alphas ({a_skip} skipped) wall {a_wall:.2f}s cpu {a_cpu:.2f}s; "
                f"cpu per alpha gtja191 / alpha101 = {ratio:.2f}"
            )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, sec in best.items():
        print(f"gtja191_seconds_{name}={sec:.2f}")


if __name__ == "__main__":
    main()
