"""Portfolio construction: the strategy contract and the baseline strategies.

Importing this package registers the baselines (``buy_and_hold``,
``equal_weight``, ``fixed``, ``inverse_vol``, ``min_variance``,
``mean_variance``, ``momentum_topk``) with :func:`make_strategy`.
"""

from __future__ import annotations

from alphalab.portfolio.base import (
    STRATEGIES,
    Requirements,
    Strategy,
    make_strategy,
    register_strategy,
    target_weights,
)
from alphalab.portfolio.baselines import (
    BuyAndHold,
    EqualWeight,
    Fixed,
    InverseVol,
    MeanVariance,
    MinVariance,
    MomentumTopK,
)

__all__ = [
    "STRATEGIES",
    "BuyAndHold",
    "EqualWeight",
    "Fixed",
    "InverseVol",
    "MeanVariance",
    "MinVariance",
    "MomentumTopK",
    "Requirements",
    "Strategy",
    "make_strategy",
    "register_strategy",
    "target_weights",
]
