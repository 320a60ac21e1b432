"""Speed and parity of the compiled GARCH against ``arch`` on real TWSE windows.

Part 1 (same process, same windows): the founding protocol, AR(1)-GARCH(1,1)
with normal errors refitted every day on the last 90 daily returns (``ret_ref``,
in percent), one-step variance forecast, on ``--stocks`` stocks spread over the
panel x ``--days`` consecutive days. arch fits each window cold with its
defaults (``arch_model(y, mean="AR", lags=1).fit(disp="off")`` + ``forecast``);
the compiled estimator walks the same windows warm-started from the previous
day's optimum (:func:`alphalab.models.vol.rolling.rolling_garch`), with the
default method ``"newton"`` (everything compiled; SLSQP only as a counted
fallback) and the reference method ``"arch"`` (scipy SLSQP from arch's grid
plus a warm candidate). Reported: fits per second of each (CPU time of this
process) and the ratio to arch; windows where the compiled log-likelihood is
below arch's optimum by more than 1e-6, checked twice: with our kernel and with
arch's OWN likelihood evaluated at our parameters (``arch_model(...).fix``);
forecast relative differences, split into identified windows (both optima
interior) and ridge windows (either optimum with ``alpha`` or ``beta`` at 0,
``omega`` at its lower bound or persistence at 1, where the likelihood is flat
along a ridge and the one-step forecast is not pinned down by it).

Part 2: the whole founding protocol for 150 stocks x 10 years (2008-03 ..
2018-02, every trading day of every stock) with the default method, run for
real with ``--full`` (else on ``--slice-stocks`` stocks, extrapolated by fit
count and said so). CPU and wall time, load average, fits, not converged and
SLSQP fallbacks.

Usage::

    nice -n 5 .venv/bin/python benchmarks/garch_speed.py                 # part 1 + a 15-stock slice
    nice -n 5 .venv/bin/python benchmarks/garch_speed.py --full          # part 1 + all 150 stocks
    nice -n 5 .venv/bin/python benchmarks/garch_speed.py --skip-part1 --full
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from alphalab.models.vol.garch_fast import GarchSpec
from alphalab.models.vol.rolling import rolling_garch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tw_twse_midcap_1992_2018.parquet"
WINDOW = 90


def load(start: str = "2007-09-01", end: str = "2018-03-01") -> pd.DataFrame:
    df = pd.read_parquet(DATA, columns=["date", "ticker", "ret_ref"],
                         filters=[("date", ">=", pd.Timestamp(start)), ("date", "<=", pd.Timestamp(end))])
    df["ticker"] = df["ticker"].astype(str)
    return df.pivot(index="date", columns="ticker", values="ret_ref").sort_index()


def _arch_model(y: np.ndarray):
    from arch import arch_model

    return arch_model(y, mean="AR", lags=1, vol="GARCH", p=1, q=1, rescale=False)


def _ridge(params: np.ndarray, y: np.ndarray) -> bool:
    """``(mu, phi, omega, alpha, beta)``: on a constraint where the likelihood goes flat."""
    _, _, omega, alpha, beta = params
    # omega within 100x of arch's lower bound (1e-8 x the residual variance) counts as at it
    return bool(alpha < 1e-6 or beta < 1e-6 or alpha + beta > 1 - 1e-6 or omega < 1e-6 * float(np.var(y)))


def part1(wide: pd.DataFrame, n_stocks: int, n_days: int, start: str) -> None:
    first = wide.index.searchsorted(pd.Timestamp(start))
    rows = np.arange(first, first + n_days)
    # stocks spread over the panel that trade on every day of the block (and the window before it)
    ok_cols = [c for c in wide.columns if np.isfinite(wide[c].to_numpy()[first - WINDOW - 5: first + n_days]).all()]
    tickers = ok_cols[:: max(1, len(ok_cols) // n_stocks)][:n_stocks]
    spec = GarchSpec()
    rolling_garch(wide[tickers[0]].to_numpy()[:200], rows=np.arange(150, 200))  # compile outside the clock
    rolling_garch(wide[tickers[0]].to_numpy()[:200], rows=np.arange(150, 200), method="arch")
    arch_t = 0.0
    ref: dict[str, dict[str, np.ndarray]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tk in tickers:
            r = wide[tk].to_numpy()
            fin = np.flatnonzero(np.isfinite(r))
            y_all = r[fin] * 100
            pos = np.searchsorted(fin, rows, side="right") - 1
            var, ll, par = np.empty(len(rows)), np.empty(len(rows)), np.empty((len(rows), 5))
            t0 = time.process_time()
            for i, p in enumerate(pos):
                res = _arch_model(y_all[p - WINDOW + 1 : p + 1]).fit(disp="off")
                var[i] = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0])
                ll[i] = float(res.loglikelihood)
                par[i] = np.asarray(res.params)
            arch_t += time.process_time() - t0
            ref[tk] = {"var": var, "ll": ll, "par": par, "pos": pos, "y": y_all}
    n_arch = len(tickers) * len(rows)
    arch_rate = n_arch / arch_t
    print(f"part 1: {len(tickers)} stocks x {n_days} days from {wide.index[first].date()} = {n_arch} windows, "
          f"founding protocol (AR(1)-GARCH(1,1), {WINDOW}-day window), CPU time, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"  arch (cold, defaults)    : {arch_t:8.2f} s  {arch_rate:9.1f} fits/s  ({1e3 / arch_rate:.2f} ms/fit)")
    for method in ("newton", "arch"):
        t_fit, n_fit, n_fb, rel, dll, dll_arch, ridge, var_parts, par_parts = 0.0, 0, 0, [], [], [], [], [], []
        for tk in tickers:
            t0 = time.process_time()
            res = rolling_garch(wide[tk].to_numpy(), spec, window=WINDOW, rows=rows, method=method)
            t_fit += time.process_time() - t0
            n_fit += res.n_fits
            n_fb += res.n_fallback
            rf = ref[tk]
            rel.append(np.abs(res.variance[rows] * 1e4 / rf["var"] - 1))
            var_parts.append(res.variance[rows] * 1e4)
            dll.append(res.loglik[rows] - rf["ll"])
            if method == "newton":
                # the independent check: arch's own likelihood at our parameters
                ours = rolling_params(wide[tk].to_numpy(), rows, spec)
                par_parts.append(np.array([o[spec.free] for o in ours]))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for i, p in enumerate(rf["pos"]):
                        y = rf["y"][p - WINDOW + 1 : p + 1]
                        th = ours[i][spec.free]
                        dll_arch.append(_arch_model(y).fix(th).loglikelihood - rf["ll"][i])
                        ridge.append(_ridge(th, y) or _ridge(rf["par"][i], y))
        rel_a, dll_a, ours_var = np.concatenate(rel), np.concatenate(dll), np.concatenate(var_parts)
        ours_par = np.concatenate(par_parts) if par_parts else None
        rate = n_fit / t_fit
        worse = dll_a < -1e-6
        for w in np.flatnonzero(worse):
            print(f"      worse: {tickers[w // len(rows)]} {wide.index[rows[w % len(rows)]].date()} by {dll_a[w]:.3g}")
        print(f"  compiled, method {method:6s}: {t_fit:8.2f} s  {rate:9.1f} fits/s  ({1e3 / rate:.3f} ms/fit)  "
              f"ratio {rate / arch_rate:.1f}x  SLSQP fallbacks {n_fb}")
        print(f"      loglik (our kernel) below arch's optimum by > 1e-6 on {worse.sum()} of {len(dll_a)} windows "
              f"(min diff {dll_a.min():.2e}); higher by > 1e-6 on {(dll_a > 1e-6).sum()} (arch stopped short)")
        if method == "newton":
            da = np.array(dll_arch)
            rg = np.array(ridge)
            print(f"      arch's own loglik at our params below arch's optimum by > 1e-6 on {(da < -1e-6).sum()} "
                  f"(min diff {da.min():.2e}); higher by > 1e-6 on {(da > 1e-6).sum()}")
            for name, m in (("identified (both interior)", ~rg), ("ridge (a bound/persistence 1)", rg)):
                x = rel_a[m]
                if len(x):
                    print(f"      forecast rel diff, {name}: {m.sum()} windows, <= 1e-4 on {np.mean(x <= 1e-4):.1%}, "
                          f"<= 1e-3 on {np.mean(x <= 1e-3):.1%}, median {np.median(x):.1e}, p95 "
                          f"{np.quantile(x, 0.95):.1e}, max {x.max():.1e}")
            bad = np.flatnonzero(~rg & (rel_a > 1e-4))
            # arch's default SLSQP tolerance stops short of the optimum: refit those windows with
            # arch run to ftol 1e-12 (as the tests do) and compare again
            tight = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for w in bad:
                    rf = ref[tickers[w // len(rows)]]
                    p = rf["pos"][w % len(rows)]
                    res_t = _arch_model(rf["y"][p - WINDOW + 1 : p + 1]).fit(
                        disp="off", options={"ftol": 1e-12, "maxiter": 2000})
                    v_t = float(res_t.forecast(horizon=1, reindex=False).variance.to_numpy()[0, 0])
                    tight.append(abs(ours_var[w] / v_t - 1))
                    d_t = dll_a[w] + rf["ll"][w % len(rows)] - float(res_t.loglikelihood)
                    if tight[-1] > 1e-4:
                        print(f"      still > 1e-4 against arch to ftol 1e-12: {tickers[w // len(rows)]} "
                              f"{wide.index[rows[w % len(rows)]].date()}: forecast diff {tight[-1]:.2e}, our loglik "
                              f"minus that arch's {d_t:+.2e}, our params {np.round(ours_par[w], 4)}, arch's "
                              f"{np.round(np.asarray(res_t.params), 4)}")
            tight_a = np.array(tight)
            print(f"      identified windows with forecast diff > 1e-4 against arch's defaults: {len(bad)}; against "
                  f"arch run to ftol 1e-12: {(tight_a > 1e-4).sum()} > 1e-4 (max {tight_a.max() if len(bad) else 0:.1e})")
        else:
            print(f"      forecast rel diff <= 1e-4 on {np.mean(rel_a <= 1e-4):.1%}")
        print(f"speed_ratio_vs_arch[{method}]={rate / arch_rate:.1f}")


def rolling_params(r: np.ndarray, rows: np.ndarray, spec: GarchSpec) -> list[np.ndarray]:
    """The parameter vector fitted at each row (the same warm-started chain as rolling_garch)."""
    from alphalab.models.vol.garch_fast import fit_garch

    fin = np.flatnonzero(np.isfinite(r))
    y_all = r[fin] * 100
    out, prev = [], None
    for p in np.searchsorted(fin, rows, side="right") - 1:
        f = fit_garch(y_all[p - WINDOW + 1 : p + 1], spec, start=prev)
        out.append(f.params)
        prev = f.params
    return out


def part2(wide: pd.DataFrame, n_stocks: int | None) -> None:
    start = wide.index.searchsorted(pd.Timestamp("2008-03-01"))
    tickers = list(wide.columns) if n_stocks is None else list(wide.columns[:: max(1, wide.shape[1] // n_stocks)][:n_stocks])
    rows = np.arange(start, wide.shape[0])
    load0 = os.getloadavg()
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    fits = failed = fallback = 0
    for tk in tickers:
        res = rolling_garch(wide[tk].to_numpy(), GarchSpec(), window=WINDOW, rows=rows)
        fits += res.n_fits
        failed += res.n_failed
        fallback += res.n_fallback
    cpu, wall = time.process_time() - t_cpu, time.perf_counter() - t_wall
    load1 = os.getloadavg()
    print(f"part 2 (method newton): founding protocol, {len(tickers)} stocks x {len(rows)} days "
          f"({wide.index[start].date()} .. {wide.index[-1].date()}): {fits} fits, {failed} not converged, "
          f"{fallback} SLSQP fallbacks, {cpu:.1f} s CPU ({1e3 * cpu / max(fits, 1):.3f} ms/fit), {wall:.1f} s wall; "
          f"load average {load0[0]:.1f} at start, {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f} at the end")
    if n_stocks is not None:
        full_fits = int(np.isfinite(wide.to_numpy()[start:]).sum())
        print(f"  extrapolated to all {wide.shape[1]} stocks (~{full_fits} fits): "
              f"{cpu * full_fits / fits / 60:.1f} min CPU (EXTRAPOLATED)")
    else:
        print(f"  full run: {cpu / 60:.2f} min CPU, {wall / 60:.2f} min wall")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stocks", type=int, default=16, help="stocks in part 1")
    ap.add_argument("--days", type=int, default=64, help="consecutive days per stock in part 1")
    ap.add_argument("--start", default="2012-01-01", help="first day of part 1's block")
    ap.add_argument("--slice-stocks", type=int, default=15, help="stocks in the part 2 slice")
    ap.add_argument("--full", action="store_true", help="part 2 on all 150 stocks")
    ap.add_argument("--skip-part1", action="store_true")
    ap.add_argument("--skip-part2", action="store_true")
    args = ap.parse_args()
    wide = load()
    if not args.skip_part1:
        part1(wide, args.stocks, args.days, args.start)
    if not args.skip_part2:
        part2(wide, None if args.full else args.slice_stocks)


if __name__ == "__main__":
    main()
