"""Portfolio construction: the strategy contract and the baseline strategies.

Importing this package registers the baselines (``buy_and_hold``,
``equal_weight``, ``fixed``, ``inverse_vol``, ``min_variance``,
``mean_variance``, ``risk_parity``, ``hrp``, ``momentum_topk``, ``max_diversification``,
``diversity_weighted``) with :func:`make_strategy`.
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
    HierarchicalRiskParity,
    InverseVol,
    MeanVariance,
    MinVariance,
    MomentumTopK,
    RiskParity,
)
from alphalab.portfolio.diversification import DiversityWeighted, MaxDiversification

__all__ = [
    "STRATEGIES",
    "BuyAndHold",
    "DiversityWeighted",
    "EqualWeight",
    "Fixed",
    "HierarchicalRiskParity",
    "InverseVol",
    "MaxDiversification",
    "MeanVariance",
    "MinVariance",
    "MomentumTopK",
    "Requirements",
    "RiskParity",
    "Strategy",
    "make_strategy",
    "register_strategy",
    "target_weights",
]
