"""One retraining date of the small-cap recipe: S per-stock LSTMs batched vs a loop of nn.LSTM models.

Both sides train the same S models (same initial weights, copied from the
batched module), on the same data (each stock's own sequence of ``T`` bars,
one prediction per step, masked loss), with full-batch Adam for the same number
of epochs, in one thread. The batched side is
:func:`alphalab.models.grouped_lstm.fit_grouped`; the reference is
:func:`~alphalab.models.grouped_lstm.fit_looped` (a ``torch.nn.LSTM`` +
``torch.nn.Linear`` per stock, trained one after another). The script checks
that every epoch's loss of every stock agrees to 1e-6 and prints the wall-time
ratio for each S, last one line ``smallcap_lstm_speedup=<ratio at the largest S>``.

The inputs are real: the adjusted-return / high / low / volume features of the
A-share sample's stocks over the 180 bars before 2019-06-28 (the first S
tickers with a full window), z-scored per stock, target the next day's return.

Usage::

    .venv/bin/python benchmarks/smallcap_lstm_speed.py [--sizes 100 300 800] [--epochs 5]
        [--hidden 8] [--dtype float32]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from alphalab.data.panel import Panel
from alphalab.models.grouped_lstm import GroupedLSTM, fit_grouped, fit_looped
from alphalab.models.smallcap import _bar_features, _forward_return, adjusted_close, window_features
from alphalab.models.torch_utils import configure_torch

DEFAULT = Path(
    os.environ.get("ALPHALAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
FIELDS = ["open", "high", "low", "close", "preclose", "volume"]


def real_inputs(data: Path, window: int, cut: str = "2019-06-28") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x`` ``(S, window, 4)``, ``y`` and ``mask`` ``(S, window)`` for every stock with a full window."""
    df = pd.read_parquet(data / "cn_ashare_sample_2017_2023.parquet", columns=["date", "ticker", *FIELDS],
                         filters=[("date", "<=", pd.Timestamp(cut))])
    panel = Panel.from_long(df, FIELDS)
    last = panel.n_dates - 1
    full = np.isfinite(panel["close"][last - window:]).all(axis=0)
    cols = np.flatnonzero(full)
    sub = Panel({k: panel[k][:, cols] for k in FIELDS}, panel.dates, panel.assets[cols])
    x, _, sd = window_features(_bar_features(sub), last, window)
    y = _forward_return(adjusted_close(sub), 1)[last - window + 1: last + 1].T / sd[:, None]
    mask = np.isfinite(y)
    mask[:, :10] = False
    return x, np.nan_to_num(y), mask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 800])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--window", type=int, default=180)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = ap.parse_args()
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    x_all, y_all, m_all = real_inputs(args.data, args.window)
    print(f"real inputs: {x_all.shape[0]} stocks x {args.window} bars; hidden {args.hidden}, "
          f"{args.epochs} epochs, {args.dtype}, torch threads 1")
    ratio = float("nan")
    for S in args.sizes:
        if S > x_all.shape[0]:
            print(f"S={S}: only {x_all.shape[0]} stocks have a full window; skipped")
            continue
        x = torch.as_tensor(x_all[:S, None], dtype=dtype)
        y = torch.as_tensor(y_all[:S, None], dtype=dtype)
        m = torch.as_tensor(m_all[:S, None])
        gen = configure_torch(0, threads=1)
        model = GroupedLSTM(S, 4, args.hidden, generator=gen, dtype=dtype)
        reference = model.to_modules()
        # one untimed epoch each on a copy: first-call allocations are not what is measured
        warm = GroupedLSTM(S, 4, args.hidden, generator=configure_torch(1), dtype=dtype)
        fit_grouped(warm, x, y, m, epochs=1, lr=0.01)
        fit_looped(warm.to_modules()[:5], x[:5], y[:5], m[:5], epochs=1, lr=0.01)
        t0, c0 = time.perf_counter(), time.process_time()
        batched = fit_grouped(model, x, y, m, epochs=args.epochs, lr=0.01)
        tb, cb = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        looped = fit_looped(reference, x, y, m, epochs=args.epochs, lr=0.01)
        tl, cl = time.perf_counter() - t0, time.process_time() - c0
        diff = float(max(np.abs(batched.losses - looped.losses).max(), np.abs(batched.final - looped.final).max()))
        ratio = tl / tb
        print(f"S={S:4d}: batched {tb:7.3f} s wall ({cb:7.3f} s CPU) | loop of nn.LSTM {tl:8.3f} s wall "
              f"({cl:8.3f} s CPU) | speed-up {ratio:6.1f}x wall, {cl / cb:6.1f}x CPU | max loss diff {diff:.2e}")
        if diff > 1e-6:
            raise SystemExit(f"losses differ by {diff:.2e} > 1e-6 at S={S}")
    print(f"smallcap_lstm_speedup={ratio:.2f}")


if __name__ == "__main__":
    main()
