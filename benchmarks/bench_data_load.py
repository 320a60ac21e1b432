"""Speed of ``al.load`` with validation on the largest shared datasets.

Times (best of ``--repeat``, wall clock) for: Parquet -> validated Panel
(lenient, so the known bad rows are dropped and counted), the same rows read
from a CSV written to a temporary folder, and ``validate_prices`` alone on the
frame already in memory, plus the Parquet throughput in million rows per
second. Needs ``../shared/data`` (or ``$ALPHALAB_SHARED_DATA``). Loader speed
is measured here only; the test suite asserts counts, never timings.

Usage::

    .venv/bin/python benchmarks/bench_data_load.py
    .venv/bin/python benchmarks/bench_data_load.py --repeat 5 --skip-csv
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
