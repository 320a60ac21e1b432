"""Models layer: forecasters, allocators, overlays, and the strategy that joins them.

Importing this package registers the built-in forecasters, allocators and
overlays, and the ``forecast`` strategy kind (:class:`ForecastStrategy`).
Heavy learners (LightGBM, torch) import their library only when fitted.
"""

from __future__ import annotations

from alphalab.models.allocators import (
    ALLOCATORS,
    Allocator,
    InverseVariance,
    LongShortQuantile,
    MeanVarianceAllocator,
    TopK,
    VolTarget,
    register_allocator,
)
from alphalab.models.baselines import MomentumForecaster, RealisedVolForecaster
from alphalab.models.forecast import (
    FORECAST_KINDS,
    FORECASTERS,
    Capabilities,
    Forecast,
    Forecaster,
    register_forecaster,
)
from alphalab.models.lightgbm import LightGBMForecaster
from alphalab.models.overlays import (
    OVERLAYS,
    DrawdownHalt,
    MarketHalt,
    Overlay,
    TrailingStop,
    VolScaling,
    register_overlay,
)
from alphalab.models.strategy import ForecastStrategy

__all__ = [
    "ALLOCATORS",
    "FORECASTERS",
    "FORECAST_KINDS",
    "OVERLAYS",
    "Allocator",
    "Capabilities",
    "DrawdownHalt",
    "Forecast",
    "ForecastStrategy",
    "Forecaster",
    "InverseVariance",
    "LightGBMForecaster",
    "LongShortQuantile",
    "MarketHalt",
    "MeanVarianceAllocator",
    "MomentumForecaster",
    "Overlay",
    "RealisedVolForecaster",
    "TopK",
    "TrailingStop",
    "VolScaling",
    "VolTarget",
    "register_allocator",
    "register_forecaster",
    "register_overlay",
]

from alphalab.models import cluster_rl as _cluster_rl  # noqa: F401  (registers kind "cluster_rl")
