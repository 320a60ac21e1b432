"""The simulation layer: schedules, the engine kernel, fills, costs and results."""

from alphalab.backtest.schedule import rebalance_mask

__all__ = ["rebalance_mask"]
