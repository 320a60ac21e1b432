"""Speed and parity of the compiled GARCH against ``arch`` on real TWSE windows.

Part 1 (same process, same windows): the founding protocol, AR(1)-GARCH(1,1)
with normal errors refitted every day on the last 90 daily returns (``ret_ref``,
in percent), one-step variance forecast. arch fits each window cold with its
defaults (``arch_model(y, mean="AR", lags=1).fit(disp="off")`` + ``forecast``);
the compiled estimator walks the same windows warm-started from the previous
day's optimum (:func:`alphalab.models.vol.rolling.rolling_garch`). Reported:
fits per second of each (CPU time of this process), the ratio, and parity on
the windows arch fitted: the share whose forecasts agree to 1e-4 relative, the
windows where the compiled log-likelihood is worse than arch's (1e-9 relative
slack) or higher, for both fit methods (``arch``: SLSQP from arch's grid plus a
warm Newton candidate; ``newton``: compiled Newton from the warm and grid starts).

Part 2: the whole founding protocol for 150 stocks x 10 years (2008-03 ..
2018-02, every trading day of every stock). ``--full`` runs it; by default a
slice (``--slice-stocks`` stocks x the full 10 years) is timed and the full
cost extrapolated by the number of fits (said so in the output).

Usage::

    .venv/bin/python benchmarks/garch_speed.py                 # part 1 + a 15-stock slice
    .venv/bin/python benchmarks/garch_speed.py --full          # part 1 + all 150 stocks
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.models.vol.garch_fast import GarchSpec
from alphalab.models.vol.rolling import rolling_garch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tw_twse_midcap_1992_2018.parquet"


def load(start: str = "2007-09-01", end: str = "2018-03-01") -> pd.DataFrame:
    df = pd.read_parquet(DATA, columns=["date", "ticker", "ret_ref"],
                         filters=[("date", ">=", pd.Timestamp(start)), ("date", "<=", pd.Timestamp(end))])
    df["ticker"] = df["ticker"].astype(str)
    return df.pivot(index="date", columns="ticker", values="ret_ref").sort_index()


def arch_fit(y: np.ndarray) -> tuple[float, float]:
    from arch import arch_model

    res = arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    return float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0]), float(res.loglikelihood)


def part1(wide: pd.DataFrame, n_stocks: int, n_days: int) -> float:
    tickers = list(wide.columns[:: max(1, wide.shape[1] // n_stocks)][:n_stocks])
    first = wide.index.searchsorted(pd.Timestamp("2012-01-01"))
    rows = np.arange(first, first + n_days)
    arch_t = 0.0
    ref: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rolling_garch(wide[tickers[0]].to_numpy()[:200], rows=np.arange(150, 200))  # compile outside the clock
    rolling_garch(wide[tickers[0]].to_numpy()[:200], rows=np.arange(150, 200), method="newton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tk in tickers:
            r = wide[tk].to_numpy()
            fin = np.flatnonzero(np.isfinite(r))
            y_all = r[fin] * 100
            pos = np.searchsorted(fin, rows, side="right") - 1
            out = np.empty((2, len(rows)))
            t0 = time.process_time()
            for i, p in enumerate(pos):
                out[:, i] = arch_fit(y_all[p - 89 : p + 1])
            arch_t += time.process_time() - t0
            ref[tk] = (out[0], out[1])
    n_arch = len(tickers) * len(rows)
    arch_rate = n_arch / arch_t
    print(f"part 1: {len(tickers)} stocks x {n_days} days, founding protocol (AR(1)-GARCH(1,1), 90-day window), CPU time")
    print(f"  arch (cold, defaults) : {n_arch:6d} fits  {arch_t:8.2f} s  {arch_rate:9.1f} fits/s  ({1e3 / arch_rate:.2f} ms/fit)")
    ratios = {}
    for method in ("arch", "newton"):
        t_fit, n_fit, rel, dll = 0.0, 0, [], []
        for tk in tickers:
            t0 = time.process_time()
            res = rolling_garch(wide[tk].to_numpy(), GarchSpec(), window=90, rows=rows, method=method)
            t_fit += time.process_time() - t0
            n_fit += res.n_fits
            var_a, ll_a = ref[tk]
            rel.append(np.abs(res.variance[rows] * 1e4 / var_a - 1))
            dll.append(res.loglik[rows] - ll_a)
        rel_a, dll_a = np.concatenate(rel), np.concatenate(dll)
        rate = n_fit / t_fit
        ratios[method] = rate / arch_rate
        worse = dll_a < -1e-9 * 250
        print(f"  compiled, {method:6s}: {n_fit:6d} fits  {t_fit:8.2f} s  {rate:9.1f} fits/s  ({1e3 / rate:.3f} ms/fit)"
              f"  ratio {rate / arch_rate:.1f}x")
        print(f"      forecast rel diff <= 1e-4 on {np.mean(rel_a <= 1e-4):.1%} (median {np.median(rel_a):.1e}, max {rel_a.max():.1e});"
              f" loglik worse than arch's on {worse.sum()} windows (min diff {dll_a.min():.2e}),"
              f" higher by > 1e-6 on {(dll_a > 1e-6).sum()}")
        flat = (rel_a > 1e-4) & ~worse & (dll_a <= 1e-6)
        print(f"      forecast diff > 1e-4 at an equal likelihood (flat ridge, forecast not identified): {flat.sum()}")
    print(f"speed_ratio_vs_arch={ratios['arch']:.1f} (method arch), {ratios['newton']:.1f} (method newton)")
    return ratios["arch"]


def part2(wide: pd.DataFrame, n_stocks: int | None, method: str) -> None:
    start = wide.index.searchsorted(pd.Timestamp("2008-03-01"))
    tickers = list(wide.columns) if n_stocks is None else list(wide.columns[:: max(1, wide.shape[1] // n_stocks)][:n_stocks])
    rows = np.arange(start, wide.shape[0])
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    fits = failed = 0
    for tk in tickers:
        res = rolling_garch(wide[tk].to_numpy(), GarchSpec(), window=90, rows=rows, method=method)
        fits += res.n_fits
        failed += res.n_failed
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    full_fits = int(np.isfinite(wide.to_numpy()[start:]).sum())
    print(f"part 2 (method {method}): founding protocol, {len(tickers)} stocks x {len(rows)} days: {fits} fits, {failed} not converged, "
          f"{cpu:.1f} s CPU, {wall:.1f} s wall")
    if n_stocks is not None:
        print(f"  extrapolated to all {wide.shape[1]} stocks ({full_fits} fits): "
              f"{cpu * full_fits / fits / 60:.1f} min CPU, {wall * full_fits / fits / 60:.1f} min wall (EXTRAPOLATED)")
    else:
        print(f"  full run: {cpu / 60:.1f} min CPU, {wall / 60:.1f} min wall")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stocks", type=int, default=6, help="stocks in part 1")
    ap.add_argument("--days", type=int, default=60, help="consecutive days per stock in part 1")
    ap.add_argument("--slice-stocks", type=int, default=15, help="stocks in the part 2 slice")
    ap.add_argument("--full", action="store_true", help="part 2 on all 150 stocks")
    ap.add_argument("--method", default="arch", choices=("arch", "newton"), help="part 2's fit method")
    args = ap.parse_args()
    wide = load()
    part1(wide, args.stocks, args.days)
    part2(wide, None if args.full else args.slice_stocks, args.method)


if __name__ == "__main__":
    main()
