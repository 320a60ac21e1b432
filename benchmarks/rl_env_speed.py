"""Steps per second of :class:`alphalab.models.rl.MarketEnv` against a FinRL-style pandas env.

Both environments trade the same synthetic panel (random-walk open/close,
volume) one bar per step with target-weight actions. ``MarketEnv`` runs with
every HOSE rule on (lots, tick-rounded 7% limits, dated T+3 sell lock, no
shorting, 0.1% sell tax) plus slippage and a minimum fee; the reference is
written here in the style of FinRL's ``StockTradingEnv``: a long DataFrame,
``df.loc[day, :]`` row lookups per step, per-asset Python loops for sells and
buys, state as a list. Each environment takes the same random actions; the
best of 3 timed runs of ``--steps`` steps is reported. Output: a table and a
last line ``ratio_30=<MarketEnv steps/s / pandas steps/s at 30 assets>``.

Usage::

    .venv/bin/python benchmarks/rl_env_speed.py            # 30 and 300 assets
    .venv/bin/python benchmarks/rl_env_speed.py --quick    # fewer steps
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from alphalab.backtest import Costs
from alphalab.data.panel import Panel
from alphalab.models.rl import MarketEnv


def make_panel(n_assets: int, n_dates: int, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-02", periods=n_dates)
    close = 20_000.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (n_dates, n_assets)), axis=0))
    open_ = close * np.exp(rng.normal(0.0, 0.005, (n_dates, n_assets)))
    volume = np.full((n_dates, n_assets), 1e6)
    return Panel(
        {"open": open_, "close": close, "volume": volume},
        dates,
        [f"S{i:04d}" for i in range(n_assets)],
    )


class PandasTradingEnv:
    """The FinRL ``StockTradingEnv`` pattern, reduced to weights actions.

    State = [cash] + prices + holdings + features, rebuilt from ``df.loc[day]``
    each step; orders are sized and filled asset by asset in Python; costs
    are a proportional fee. (Fewer rules than MarketEnv: no lots, limits or
    locks, so the comparison flatters the reference.)
    """

    def __init__(self, df: pd.DataFrame, n_assets: int, fee: float = 0.0015) -> None:
        self.df = df
        self.n = n_assets
        self.fee = fee
        self.days = df.index.unique()

    def reset(self) -> list[float]:
        self.day = 0
        self.data = self.df.loc[self.days[self.day], :]
        self.cash = 1e9
        self.holdings = [0.0] * self.n
        return self._state()

    def _state(self) -> list[float]:
        return [self.cash, *self.data.close.values.tolist(), *self.holdings,
                *self.data.ret.values.tolist()]  # fmt: skip

    def step(self, weights: np.ndarray):
        prices = self.data.close.values
        value = self.cash + sum(h * p for h, p in zip(self.holdings, prices, strict=True))
        self.day += 1
        self.data = self.df.loc[self.days[self.day], :]
        px = self.data.open.values
        target = [w * value / p for w, p in zip(weights, px, strict=True)]
        for i in np.argsort(np.array(target) - np.array(self.holdings)):
            delta = target[i] - self.holdings[i]
            if delta < 0:  # sell
                q = min(-delta, self.holdings[i])
                self.cash += q * px[i] * (1 - self.fee)
                self.holdings[i] -= q
            elif delta > 0:  # buy what the cash allows
                q = min(delta, self.cash / (px[i] * (1 + self.fee)))
                self.cash -= q * px[i] * (1 + self.fee)
                self.holdings[i] += q
        end = self.cash + sum(
            h * p for h, p in zip(self.holdings, self.data.close.values, strict=True)
        )
        reward = np.log(end / value)
        done = self.day >= len(self.days) - 1
        return self._state(), reward, done, {}


def long_frame(panel: Panel) -> pd.DataFrame:
    close = panel["close"]
    ret = np.vstack([np.zeros((1, panel.n_assets)), np.log(close[1:] / close[:-1])])
    idx = np.repeat(np.arange(panel.n_dates), panel.n_assets)
    return pd.DataFrame(
        {
            "tic": np.tile(np.asarray(panel.assets), panel.n_dates),
            "open": panel["open"].ravel(),
            "close": close.ravel(),
            "ret": ret.ravel(),
        },
        index=idx,
    )


def time_env(env, actions: np.ndarray, repeat: int) -> float:
    """Best steps per second over ``repeat`` runs of ``len(actions)`` steps."""
    best = np.inf
    for _ in range(repeat):
        env.reset()
        t0 = time.perf_counter()
        for a in actions:
            out = env.step(a)
            if out[2]:
                env.reset()
        best = min(best, time.perf_counter() - t0)
    return len(actions) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    steps = 2_000 if args.quick else 20_000
    ref_steps = 200 if args.quick else 1_000
    print(f"cpu count {os.cpu_count()}; MarketEnv {steps} steps, pandas env {ref_steps} steps")
    print(f"{'assets':>6} {'MarketEnv steps/s':>18} {'pandas steps/s':>15} {'ratio':>7}")
    ratio_30 = np.nan
    for n_assets in (30, 300):
        panel = make_panel(n_assets, 1_260)
        rng = np.random.default_rng(1)
        raw = rng.random((steps, n_assets))
        actions = raw / raw.sum(axis=1, keepdims=True)
        env = MarketEnv(
            panel, "vn.hose", window=10, initial_cash=1e10,
            costs=Costs(commission_bps=15.0, slippage_bps=5.0, min_commission=10_000.0),
        )  # fmt: skip
        env.reset(seed=0)
        env.step(actions[0])  # compile / warm
        fast = time_env(env, actions, 3)
        ref = PandasTradingEnv(long_frame(panel), n_assets)
        slow = time_env(ref, actions[:ref_steps], 2)
        ratio = fast / slow
        if n_assets == 30:
            ratio_30 = ratio
        print(f"{n_assets:>6} {fast:>18,.0f} {slow:>15,.0f} {ratio:>7.1f}", flush=True)
    print(f"ratio_30={ratio_30:.1f}")


if __name__ == "__main__":
    main()
