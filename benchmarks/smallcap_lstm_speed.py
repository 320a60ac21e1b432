"""One retraining date of the small-cap recipe: S per-stock LSTMs trained three ways in one process.

All three train the same S models (same initial weights), on the same data
(each stock's own sequence of ``T`` bars, one prediction per step, masked
loss), with full-batch Adam for the same number of epochs, float32:

``compiled``
    :func:`alphalab.models.grouped_lstm.fit_compiled` - one numba kernel doing
    every stock's forward, backward through time and Adam step (the recipe's
    default trainer), one thread (and, as a second column, two threads);
``torch batched``
    :func:`~alphalab.models.grouped_lstm.fit_grouped` - the S models as one
    grouped-weight torch module and one autograd graph (the previous default);
``loop``
    :func:`~alphalab.models.grouped_lstm.fit_looped` - the reference: a
    ``torch.nn.LSTM`` + ``torch.nn.Linear`` + ``torch.optim.Adam`` per stock,
    trained one after another, one torch thread.

The script stops if any epoch's loss of any stock differs from the loop's by
more than 1e-6, and prints wall and CPU (``process_time``) per side, the
ratios against the loop, and the load average before and after each case.

The inputs are real: the adjusted-return / high / low / volume features of the
A-share sample's stocks over the 180 bars before 2019-06-28 (the first S
tickers with a full window), z-scored per stock, target the next day's return.

Usage::

    nice -n 5 .venv/bin/python benchmarks/smallcap_lstm_speed.py [--cases 8:100 8:300 8:686 1:300]
        [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from alphalab.data.panel import Panel
from alphalab.models.grouped_lstm import (
    GroupedFit,
    GroupedLSTM,
    fit_compiled,
    fit_grouped,
    fit_looped,
)
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


def _timed(fn: Callable[[], GroupedFit]) -> tuple[GroupedFit, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _diff(a: GroupedFit, b: GroupedFit) -> float:
    return float(max(np.abs(a.losses - b.losses).max(), np.abs(a.final - b.final).max()))


def run_case(x_all: np.ndarray, y_all: np.ndarray, m_all: np.ndarray, S: int, hidden: int,
             epochs: int) -> dict[str, Any]:
    """Time the three trainers on the first ``S`` stocks; every side starts from the same weights."""
    dtype = torch.float32
    x = torch.as_tensor(x_all[:S, None], dtype=dtype)
    y = torch.as_tensor(y_all[:S, None], dtype=dtype)
    m = torch.as_tensor(m_all[:S, None])
    init = GroupedLSTM(S, 4, hidden, generator=configure_torch(0, threads=1), dtype=dtype)

    def fresh() -> GroupedLSTM:
        g = GroupedLSTM(S, 4, hidden, dtype=dtype)
        g.load_state_dict(init.state_dict())
        return g

    # one untimed epoch of each on other weights: compilation / first-call allocations are not measured
    warm = GroupedLSTM(S, 4, hidden, generator=configure_torch(1), dtype=dtype)
    fit_compiled(warm, x, y, m, epochs=1, lr=0.01)
    fit_grouped(warm, x, y, m, epochs=1, lr=0.01)
    fit_looped(warm.to_modules()[:5], x[:5], y[:5], m[:5], epochs=1, lr=0.01)
    load0 = os.getloadavg()[0]
    comp, tc, cc = _timed(lambda: fit_compiled(fresh(), x, y, m, epochs=epochs, lr=0.01, threads=1))
    comp2, tc2, cc2 = _timed(lambda: fit_compiled(fresh(), x, y, m, epochs=epochs, lr=0.01, threads=2))
    old, to, co = _timed(lambda: fit_grouped(fresh(), x, y, m, epochs=epochs, lr=0.01))
    modules = fresh().to_modules()
    loop, tl, cl = _timed(lambda: fit_looped(modules, x, y, m, epochs=epochs, lr=0.01))
    load1 = os.getloadavg()[0]
    diffs = {"compiled": _diff(comp, loop), "compiled_2threads": _diff(comp2, loop), "torch_batched": _diff(old, loop)}
    if not np.array_equal(comp.losses, comp2.losses):
        raise SystemExit(f"S={S}, H={hidden}: the compiled trainer's losses depend on its thread count")
    return {"S": S, "hidden": hidden, "compiled": (tc, cc), "compiled_2threads": (tc2, cc2),
            "torch_batched": (to, co), "loop": (tl, cl), "diffs": diffs, "load": (load0, load1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT)
    ap.add_argument("--cases", nargs="+", default=["8:100", "8:300", "8:686", "1:300"],
                    help="hidden:stocks pairs")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--window", type=int, default=180)
    args = ap.parse_args()
    x_all, y_all, m_all = real_inputs(args.data, args.window)
    print(f"real inputs: {x_all.shape[0]} stocks x {args.window} bars; {args.epochs} epochs, float32, "
          f"torch threads 1")
    worst = float("inf")
    for case in args.cases:
        hidden, S = (int(v) for v in case.split(":"))
        if S > x_all.shape[0]:
            print(f"S={S}: only {x_all.shape[0]} stocks have a full window; skipped")
            continue
        r = run_case(x_all, y_all, m_all, S, hidden, args.epochs)
        tl, cl = r["loop"]
        cells = []
        for name in ("compiled", "compiled_2threads", "torch_batched"):
            t, c = r[name]
            cells.append(f"{name} {t:7.3f} s wall / {c:7.3f} s CPU = {tl / t:5.1f}x wall, {cl / c:5.1f}x CPU "
                         f"(diff {r['diffs'][name]:.1e})")
        print(f"H={hidden} S={S:4d} | loop {tl:7.3f} s wall / {cl:7.3f} s CPU | " + " | ".join(cells)
              + f" | load {r['load'][0]:.1f} -> {r['load'][1]:.1f}")
        bad = {k: v for k, v in r["diffs"].items() if v > 1e-6}
        if bad:
            raise SystemExit(f"losses differ from the loop by more than 1e-6 at H={hidden}, S={S}: {bad}")
        if hidden == 8:
            worst = min(worst, cl / r["compiled"][1])
    print(f"smallcap_lstm_speedup_cpu_h8_min={worst:.2f}")


if __name__ == "__main__":
    main()
