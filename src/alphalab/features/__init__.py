"""Features: indicator kernels, rolling primitives, named feature sets.

``compute(panel, ["seed_ta", ...])`` returns a Panel of feature fields (cached
on disk); ``compute_indicator(panel, "rsi", timeperiod=14)`` one indicator.
The expression engine, alpha catalogues and transforms live in the
subpackages ``expr`` and ``alphas`` and in ``transforms``.
"""

from __future__ import annotations

from alphalab.features.indicators import INDICATORS, compute_indicator, lookback
from alphalab.features.sets import (
    FEATURE_SETS,
    FeatureSet,
    clear_cache,
    compute,
    get_feature_set,
    list_feature_sets,
    register_feature_set,
    spec_hash,
)

__all__ = [
    "FEATURE_SETS",
    "INDICATORS",
    "FeatureSet",
    "clear_cache",
    "compute",
    "compute_indicator",
    "get_feature_set",
    "list_feature_sets",
    "lookback",
    "register_feature_set",
    "spec_hash",
]
