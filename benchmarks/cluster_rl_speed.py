"""Speed of the cluster-RL recipe (R1): environment steps per second during training, wall per fold.

Reference run in the same process: the same single-stock MarketEnvs stepped by a random
policy (no learning), so the ratio says what the learner costs on top of the engine.
Both CPU and wall time are printed (the machine is shared; quote CPU-based ratios).

    PYTHONPATH=src python benchmarks/cluster_rl_speed.py [--steps 2000] [--tickers 20]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import alphalab.models  # noqa: F401
from alphalab.data.panel import Panel
from alphalab.models.cluster_rl import ClusterRLStrategy, agents
from alphalab.validation.executors import torch_seed_and_threads

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TICKERS = ["AAA", "BID", "BVH", "CTG", "DPM", "FPT", "GAS", "HPG", "KDC", "MBB", "MSN", "MWG",
           "PNJ", "REE", "SSI", "STB", "VCB", "VIC", "VNM", "VPB"]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--tickers", type=int, default=20)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    df = pd.read_parquet(DATA / "vn_hose_2006_2020.parquet", filters=[("date", ">=", pd.Timestamp("2016-01-01"))])
    df = df[df.ticker.isin(TICKERS[: args.tickers])]
    panel = Panel.from_long(df, ["open", "high", "low", "close", "volume"], meta={"market": "vn.hose"})
    torch_seed_and_threads(0, 1)
    s = ClusterRLStrategy(fundamentals=str(DATA / "vn_fundamentals_quarterly_2016_2023.parquet"))
    s.check(panel)
    x, _ = s._features(panel)
    feats = np.nan_to_num(x).astype(np.float32)
    sub = panel.iloc_dates(slice(len(panel.dates) - 400, len(panel.dates)))
    f_sub = feats[-400:]

    # reference: the same 8 single-stock envs, random actions
    from stable_baselines3.common.vec_env import DummyVecEnv

    names = [f"x{k}" for k in range(f_sub.shape[2])]
    kw = {"window": 5, "episode_length": 60, "random_start": True, "costs": None}
    env = DummyVecEnv([(lambda j=j: agents._stock_env(sub, j, f_sub, names, "vn.hose", kw)) for j in range(8)])
    env.seed(0)
    env.reset()
    rng = np.random.default_rng(0)
    w0, c0 = _clock()
    n = 0
    while n < args.steps:
        env.step(rng.integers(0, 3, (8, 1)))
        n += 8
    w1, c1 = _clock()
    ref_wall, ref_cpu = (w1 - w0) / n, (c1 - c0) / n

    w0, c0 = _clock()
    agents.train_signal_agent(sub, f_sub, "vn.hose", algo="a2c", steps=args.steps, chunks=1, window=5,
                              n_envs=8, seed=0)
    w1, c1 = _clock()
    a2c_wall, a2c_cpu = (w1 - w0) / args.steps, (c1 - c0) / args.steps
    w0, c0 = _clock()
    agents.train_signal_agent(sub, f_sub, "vn.hose", algo="ppo", steps=args.steps, chunks=1, window=5,
                              n_envs=8, seed=0)
    w1, c1 = _clock()
    ppo_wall, ppo_cpu = (w1 - w0) / args.steps, (c1 - c0) / args.steps

    print(f"panel {panel.shape}, training slice {sub.shape}, {args.steps} steps, 8 envs")
    print(f"random policy (reference): {1 / ref_cpu:,.0f} steps/s CPU, {1 / ref_wall:,.0f} wall")
    print(f"A2C training:             {1 / a2c_cpu:,.0f} steps/s CPU, {1 / a2c_wall:,.0f} wall "
          f"({a2c_cpu / ref_cpu:.1f}x the reference's CPU per step)")
    print(f"PPO training:             {1 / ppo_cpu:,.0f} steps/s CPU, {1 / ppo_wall:,.0f} wall "
          f"({ppo_cpu / ref_cpu:.1f}x)")

    # one walk-forward fold of the quick profile: fit to 2018-12-31, decide weekly over 2019
    w0, c0 = _clock()
    strat = ClusterRLStrategy(fundamentals=str(DATA / "vn_fundamentals_quarterly_2016_2023.parquet"),
                              signal_steps=2000, alloc_steps=600, chunks=2, n_envs=8, train_days=300,
                              val_days=40, random_state=0).fit(panel, "2018-12-31")
    w1, c1 = _clock()
    dates = panel.dates[(panel.dates > "2019-01-01") & (panel.dates <= "2019-12-31")][::5]
    strat.decide(panel, dates)
    w2, c2 = _clock()
    print(f"fold (quick profile, {panel.n_assets} stocks): fit {c1 - c0:.1f} s CPU / {w1 - w0:.1f} s wall, "
          f"decide {len(dates)} dates {c2 - c1:.1f} s CPU / {w2 - w1:.1f} s wall")


if __name__ == "__main__":
    main()
