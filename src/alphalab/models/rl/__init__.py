"""Reinforcement-learning environments that step the backtest's own engine.

:class:`MarketEnv` is a gymnasium environment over a :class:`~alphalab.data.panel.Panel`
whose every step calls :func:`alphalab.backtest.kernel.step`, the function a
backtest loops over, so an agent trades under exactly the rules a backtest
applies (lots, tick-rounded price limits, dated sell locks, no shorting where
the market forbids it, minimum fees, taxes, slippage). :func:`make_vec_env`
builds vectorised copies for parallel rollouts.
"""

from alphalab.models.rl.env import (
    ACTIONS,
    INFO_LEVELS,
    MarketEnv,
    StepRecords,
    make_sb3_vec_env,
    make_vec_env,
)

__all__ = ["ACTIONS", "INFO_LEVELS", "MarketEnv", "StepRecords", "make_sb3_vec_env", "make_vec_env"]
