"""The simulation layer: schedules, the engine kernel, fills, costs and results."""

from alphalab.backtest.costs import COST_KINDS, Costs
from alphalab.backtest.engine import backtest
from alphalab.backtest.kernel import REASONS, REJECT_DTYPE, TRADE_DTYPE
from alphalab.backtest.result import BacktestResult
from alphalab.backtest.schedule import rebalance_mask

__all__ = [
    "COST_KINDS",
    "REASONS",
    "REJECT_DTYPE",
    "TRADE_DTYPE",
    "BacktestResult",
    "Costs",
    "backtest",
    "rebalance_mask",
]
