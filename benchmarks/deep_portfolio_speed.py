"""Training time of the deep portfolio: per 2-year window per seed, and the example's whole study.

Part 1 trains one seed on a 2-year window of SPY/TLT/GLD/HYG total returns
(2009-2010, ~450 samples of 50 days) for each architecture, through
:class:`alphalab.models.deep_portfolio.DeepSharpe` (inputs, multi-seed
machinery, early stopping, deterministic single-thread torch) and, as the
reference in the same process, a bare torch loop over the same LSTM, the same
tensors and the same number of epochs (no early stopping, no determinism
switch): the ratio is what the alphalab machinery costs.

Part 2 replays the training of the example study (``examples/etf_deep_portfolio.yaml``
walk-forward: expanding from 2007-04, first test 2011, a refit every 2 years)
for ``--seeds`` seeds and prints seconds per fold and per seed, and the total.

Prints CPU seconds beside wall seconds (the shared machine's load inflates
wall time) and one closing line ``deep_portfolio_window_seed_seconds=<best wall>``.

Usage::

    .venv/bin/python benchmarks/deep_portfolio_speed.py [--epochs 30] [--repeat 2]
        [--seeds 5] [--hidden 64] [--skip-study]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from alphalab.data import load
from alphalab.models.deep_portfolio import DeepSharpe, sharpe_loss

DEFAULT = Path(
    os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
COLUMNS = {"adj_close": "close", "close": "raw_close", "open": "raw_open", "high": "raw_high",
           "low": "raw_low"}


def timed(fn):  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def bare_torch(samples, hidden: int, epochs: int, batch: int = 64) -> None:  # type: ignore[no-untyped-def]
    """The reference: a plain LSTM + Adam loop over the same tensors."""
    import torch

    from alphalab.models.deep_portfolio.nets import build_net

    torch.manual_seed(0)
    net = build_net("lstm", samples.returns.shape[1], samples.x.shape[1], hidden)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, a, r = samples.tensors(np.arange(len(samples.returns)))
    n = len(r)
    for _ in range(epochs):
        for lo in range(0, n, batch):
            opt.zero_grad()
            loss = sharpe_loss(net(x[lo:lo + batch], a[lo:lo + batch]), r[lo:lo + batch])
            loss.backward()
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT / "us_etf_daily_2000_2025.parquet")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--skip-study", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    panel = load(args.data, market="us", tickers=["SPY", "TLT", "GLD", "HYG"], columns=COLUMNS)
    window2y = panel.slice_dates("2008-10-01", "2010-12-31")  # 50-day warm-up + 2009-2010
    print(f"load average {os.getloadavg()[0]:.1f}; torch threads {torch.get_num_threads()}")
    best = {}
    for arch in ("lstm", "cnn", "mlp"):
        s = DeepSharpe(architecture=arch, hidden_size=args.hidden, max_epochs=args.epochs, patience=0,
                       n_seeds=1, random_state=0, progress=False)
        runs = [timed(lambda s=s: s.fit(window2y, "2010-12-31")) for _ in range(args.repeat)]
        wall = min(r[1] for r in runs)
        cpu = min(r[2] for r in runs)
        best[arch] = wall
        n = s.diagnostics_["n_samples"]
        print(f"{arch:4s} 2-year window, 1 seed, {args.epochs} epochs, {n} samples: "
              f"wall {wall:.2f} s, cpu {cpu:.2f} s ({wall / args.epochs * 1000:.0f} ms/epoch)")
    samples, _ = DeepSharpe(hidden_size=args.hidden).samples(window2y, "2010-12-31")
    ref = [timed(lambda: bare_torch(samples, args.hidden, args.epochs)) for _ in range(args.repeat)]
    ref_wall = min(r[1] for r in ref)
    print(f"bare torch LSTM loop (reference), same tensors and epochs: wall {ref_wall:.2f} s; "
          f"alphalab / reference = {best['lstm'] / ref_wall:.2f}")
    if not args.skip_study:
        study = panel.slice_dates("2007-04-11", None)
        total_w = total_c = 0.0
        for until in ("2011-04-10", "2013-04-10", "2015-04-10", "2017-04-10", "2019-04-10",
                      "2021-04-10", "2023-04-10"):
            s = DeepSharpe(architecture="lstm", hidden_size=args.hidden, max_epochs=args.epochs, patience=5,
                           n_seeds=args.seeds, random_state=0, progress=False)
            _, w, c = timed(lambda s=s, until=until: s.fit(study, until))
            total_w += w
            total_c += c
            epochs = [len(x["training_curve"]) for x in s.diagnostics_["seeds"]]
            print(f"fold until {until}: {s.diagnostics_['n_samples']} samples, {args.seeds} seeds, "
                  f"epochs run {epochs}: wall {w:.1f} s ({w / args.seeds:.1f} s per seed), cpu {c:.1f} s")
        print(f"whole study training ({args.seeds} seeds, 7 folds): wall {total_w:.1f} s, cpu {total_c:.1f} s")
    print(f"deep_portfolio_window_seed_seconds={best['lstm']:.3f}")


if __name__ == "__main__":
    main()
