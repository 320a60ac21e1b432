"""Steps per second of :class:`alphalab.models.rl.MarketEnv` against a FinRL-style pandas env.

Both environments trade the same synthetic panel (random-walk open/close,
volume) one bar per step, with random actions (``MarketEnv``: target weights;
the reference: FinRL's share actions in [-1, 1]). ``MarketEnv`` runs with
every HOSE rule on (lots, tick-rounded 7% limits, dated T+3 sell lock, no
shorting, 0.1% sell tax) plus slippage and a minimum fee; the reference is
written here in the style of FinRL's ``StockTradingEnv`` (see
:class:`PandasTradingEnv`). ``MarketEnv`` runs twice: with its default
``info="full"`` (fills and refusals in ``info``) and with ``info="minimal"``.
The contenders take turns, one timed run each per round, so that a change in
the shared machine's load hits all of them; the best of 5 rounds
(``--quick``: 3) is reported, by wall clock and by CPU time. Output: a table
and a last line ``ratio_30=<MarketEnv (full info) steps/s / pandas steps/s
at 30 assets>``.

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
    """A FinRL ``StockTradingEnv``-style environment (reference, written here).

    It follows the structure of FinRL's ``finrl/meta/env_stock_trading/
    env_stocktrading.py`` (AI4Finance-Foundation/FinRL): a long DataFrame
    indexed by day number, ``df.loc[day, :]`` lookups, ``len(df.index.unique())``
    for the end test, state as a Python list ``[cash] + closes + holdings +
    indicators``, actions in [-1, 1] scaled by ``hmax`` to whole shares, sells
    then buys asset by asset in Python, asset / reward / action / state / date
    memories. Fewer rules than MarketEnv (a proportional fee only: no lots,
    limits or locks), so the comparison flatters the reference.
    """

    def __init__(self, df: pd.DataFrame, n_assets: int, tech: list[str], fee: float = 0.001):
        self.df = df
        self.stock_dim = n_assets
        self.tech = tech
        self.hmax = 100
        self.fee = fee
        self.initial_amount = 1e9

    def _get_date(self):
        return self.data.date.unique()[0]

    def _update_state(self) -> list[float]:
        # list concatenation and sum of lists as FinRL writes them
        return (
            [self.state[0]]  # noqa: RUF005
            + self.data.close.values.tolist()
            + list(self.state[self.stock_dim + 1 : self.stock_dim * 2 + 1])
            + sum((self.data[t].values.tolist() for t in self.tech), [])  # noqa: RUF017
        )

    def reset(self) -> list[float]:
        self.day = 0
        self.data = self.df.loc[self.day, :]
        self.state = (
            [self.initial_amount]
            + self.data.close.values.tolist()
            + [0] * self.stock_dim
            + sum((self.data[t].values.tolist() for t in self.tech), [])  # noqa: RUF017
        )
        self.asset_memory = [self.initial_amount]
        self.rewards_memory, self.actions_memory, self.state_memory = [], [], []
        self.date_memory = [self._get_date()]
        return self.state

    def _total(self) -> float:
        n = self.stock_dim
        return self.state[0] + sum(
            np.array(self.state[1 : n + 1]) * np.array(self.state[n + 1 : 2 * n + 1])
        )

    def _sell(self, i: int, action: int) -> int:
        n = self.stock_dim
        if self.state[i + n + 1] > 0:
            q = min(abs(action), self.state[i + n + 1])
            self.state[0] += self.state[i + 1] * q * (1 - self.fee)
            self.state[i + n + 1] -= q
            return q
        return 0

    def _buy(self, i: int, action: int) -> int:
        n = self.stock_dim
        available = self.state[0] // (self.state[i + 1] * (1 + self.fee))
        q = min(available, action)
        self.state[0] -= self.state[i + 1] * q * (1 + self.fee)
        self.state[i + n + 1] += q
        return q

    def step(self, actions: np.ndarray):
        terminal = self.day >= len(self.df.index.unique()) - 1
        if terminal:
            return self.state, 0.0, True, {}
        actions = (actions * self.hmax).astype(int)
        begin = self._total()
        order = np.argsort(actions)
        sells = order[: np.where(actions < 0)[0].shape[0]]
        buys = order[::-1][: np.where(actions > 0)[0].shape[0]]
        for i in sells:
            actions[i] = -self._sell(i, actions[i])
        for i in buys:
            actions[i] = self._buy(i, actions[i])
        self.actions_memory.append(actions)
        self.day += 1
        self.data = self.df.loc[self.day, :]
        self.state = self._update_state()
        end = self._total()
        self.asset_memory.append(end)
        self.date_memory.append(self._get_date())
        reward = end - begin
        self.rewards_memory.append(reward)
        self.state_memory.append(self.state)
        return self.state, reward * 1e-4, False, {}


def long_frame(panel: Panel) -> pd.DataFrame:
    """The panel as FinRL's long frame: one row per (day, tic), index = day number."""
    close = panel["close"]
    ret = np.vstack([np.zeros((1, panel.n_assets)), np.log(close[1:] / close[:-1])])
    idx = np.repeat(np.arange(panel.n_dates), panel.n_assets)
    return pd.DataFrame(
        {
            "date": np.repeat(panel.dates.strftime("%Y-%m-%d"), panel.n_assets),
            "tic": np.tile(np.asarray(panel.assets), panel.n_dates),
            "close": close.ravel(),
            "ret": ret.ravel(),
        },
        index=idx,
    )


def time_once(env, actions: np.ndarray) -> tuple[float, float]:
    """Wall and CPU seconds of ``len(actions)`` steps (resets at episode ends
    included); CPU time is this process's: the shared machine's load slows
    the wall clock, CPU time is what one free core would do."""
    env.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    for a in actions:
        out = env.step(a)
        if out[2]:
            env.reset()
    return time.perf_counter() - t0, time.process_time() - c0


def time_interleaved(contenders: dict, rounds: int) -> dict[str, tuple[float, float]]:
    """Best steps per second (wall, CPU) of each ``name: (env, actions)``,
    the contenders taking turns within each of ``rounds`` rounds."""
    best = {k: (np.inf, np.inf) for k in contenders}
    for _ in range(rounds):
        for k, (env, actions) in contenders.items():
            wall, cpu = time_once(env, actions)
            best[k] = (min(best[k][0], wall), min(best[k][1], cpu))
    return {k: (len(contenders[k][1]) / w, len(contenders[k][1]) / c) for k, (w, c) in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    steps = 2_000 if args.quick else 20_000
    ref_steps = 200 if args.quick else 1_000
    rounds = 3 if args.quick else 5
    print(
        f"cpu count {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
        f"MarketEnv {steps} steps, pandas env {ref_steps} steps, best of {rounds} rounds"
    )
    print(
        f"{'assets':>6} {'info':>8} {'MarketEnv steps/s':>18} {'(cpu)':>9} "
        f"{'pandas steps/s':>15} {'(cpu)':>7} {'ratio':>7} {'(cpu)':>7}"
    )
    ratio_30 = np.nan
    for n_assets in (30, 300):
        panel = make_panel(n_assets, 1_260)
        rng = np.random.default_rng(1)
        raw = rng.random((steps, n_assets))
        actions = raw / raw.sum(axis=1, keepdims=True)
        contenders = {}
        for info in ("full", "minimal"):
            env = MarketEnv(
                panel, "vn.hose", window=10, initial_cash=1e10, info=info,
                costs=Costs(commission_bps=15.0, slippage_bps=5.0, min_commission=10_000.0),
            )  # fmt: skip
            env.reset(seed=0)
            env.step(actions[0])  # compile / warm
            contenders[info] = (env, actions)
        ref = PandasTradingEnv(long_frame(panel), n_assets, ["ret"])
        signed = rng.uniform(-1.0, 1.0, (ref_steps, n_assets))  # FinRL actions: [-1, 1]
        contenders["pandas"] = (ref, signed)
        rates = time_interleaved(contenders, rounds)
        slow, slow_cpu = rates["pandas"]
        for info in ("full", "minimal"):
            fast, fast_cpu = rates[info]
            if n_assets == 30 and info == "full":
                ratio_30 = fast / slow
            print(
                f"{n_assets:>6} {info:>8} {fast:>18,.0f} {fast_cpu:>9,.0f} {slow:>15,.0f} "
                f"{slow_cpu:>7,.0f} {fast / slow:>7.1f} {fast_cpu / slow_cpu:>7.1f}",
                flush=True,
            )
    print(f"ratio_30={ratio_30:.1f}")


if __name__ == "__main__":
    main()
