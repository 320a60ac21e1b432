"""Speed of ``al.load`` with validation on the largest shared datasets.

Times (best of ``--repeat``, wall clock) for: Parquet -> validated Panel
(lenient, so the known bad rows are dropped and counted), the same rows read
from a CSV written to a temporary folder, and ``validate_prices`` alone on the
frame already in memory, plus the Parquet throughput in million rows per
second. Needs ``../shared/data`` (or ``$ALPHALAB_SHARED_DATA``). Loader speed
is measured here only; the test suite asserts counts, never timings.

``--hash`` times ``Store.load`` of a synthetic 3,000 dates x 5,000 tickers
panel of five float fields with the content-hash check on (the default) and
off (``Store(verify=False)``), alternating in one process, and prints the
ratio (issue 18: the check must not double load time).

Usage::

    .venv/bin/python benchmarks/bench_data_load.py
    .venv/bin/python benchmarks/bench_data_load.py --repeat 5 --skip-csv
    .venv/bin/python benchmarks/bench_data_load.py --hash --repeat 5
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import alphalab as al
from alphalab.data import DataQualityWarning, validate_prices

SHARED = Path(
    os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DATASETS = ("vn_hose_2006_2020", "us_sp500_5yr", "cn_ashare_sample_2017_2023")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument("--hash", action="store_true", help="Only the hash-check cost.")
    args = parser.parse_args()
    if args.hash:
        hash_cost(args.repeat)
        return
    warnings.simplefilter("ignore", DataQualityWarning)
    print(
        f"{'dataset':<28}{'rows':>10}{'validate':>10}{'parquet':>10}{'csv':>10}"
        f"{'Mrows/s':>10}  (seconds, best of {args.repeat})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in DATASETS:
            path = SHARED / f"{name}.parquet"
            df = pd.read_parquet(path)
            t_val = best_of(
                lambda df=df, name=name: validate_prices(df, source=name, mode="lenient"),
                args.repeat,
            )
            t_pq = best_of(lambda path=path: al.load(path, mode="lenient"), args.repeat)
            t_csv = float("nan")
            if not args.skip_csv:
                csv = Path(tmp) / f"{name}.csv"
                df.to_csv(csv, index=False)
                t_csv = best_of(lambda csv=csv: al.load(csv, mode="lenient"), args.repeat)
            rate = len(df) / t_pq / 1e6
            print(f"{name:<28}{len(df):>10,}{t_val:>10.3f}{t_pq:>10.3f}{t_csv:>10.3f}{rate:>10.2f}")


def hash_cost(repeat: int, n_dates: int = 3_000, n_tickers: int = 5_000) -> None:
    """Store.load with and without the SHA-256 check, best of ``repeat`` each, alternating."""
    import numpy as np

    from alphalab.data.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        dates = pd.bdate_range("2010-01-01", periods=n_dates)
        tickers = [f"T{i:05d}" for i in range(n_tickers)]
        n = n_dates * n_tickers
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_dates, n_tickers)), axis=0)).ravel()
        df = pd.DataFrame({
            "date": np.repeat(dates.values, n_tickers), "ticker": np.tile(tickers, n_dates),
            "open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
            "volume": rng.integers(1, 10**6, n).astype(float),
        })  # fmt: skip
        Store(tmp).write(df, "big")
        del df, close
        size = (Path(tmp) / Store(tmp).info("big").path).stat().st_size
        on, off = Store(tmp), Store(tmp, verify=False)
        on.load("big"), off.load("big")  # page cache warm for both
        t_on, t_off = [], []
        for _ in range(repeat):
            for store, out in ((off, t_off), (on, t_on)):
                t0 = time.perf_counter()
                store.load("big")
                out.append(time.perf_counter() - t0)
        print(f"Store.load {n_dates:,} x {n_tickers:,} x 5 fields, file {size / 1e6:,.0f} MB, "
              f"best of {repeat}: hash check off {min(t_off):.3f} s, on {min(t_on):.3f} s, "
              f"ratio {min(t_on) / min(t_off):.2f} (median {np.median(t_on) / np.median(t_off):.2f})")


if __name__ == "__main__":
    main()
