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
from alphalab.models.deep_portfolio import DeepSharpe  # registers deep_sharpe
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
from alphalab.models.smallcap import (
    HalvingStop,
    PanicHalt,
    SmallCapLSTM,
    SmallCapUniverse,
    ThresholdSteps,
)
from alphalab.models.strategy import ForecastStrategy
from alphalab.models.vol import forecasters as _vol_forecasters  # noqa: F401 - registers garch, har, ewma
from alphalab.models.vol import learners as _vol_learners  # noqa: F401 - registers the volatility learners
from alphalab.models.vol_scaling import EwmVolScaling, VolScaled

__all__ = [
    "ALLOCATORS",
    "FORECASTERS",
    "FORECAST_KINDS",
    "OVERLAYS",
    "Allocator",
    "Capabilities",
    "DeepSharpe",
    "DrawdownHalt",
    "EwmVolScaling",
    "Forecast",
    "ForecastStrategy",
    "Forecaster",
    "HalvingStop",
    "InverseVariance",
    "LightGBMForecaster",
    "LongShortQuantile",
    "MarketHalt",
    "MeanVarianceAllocator",
    "MomentumForecaster",
    "Overlay",
    "PanicHalt",
    "RealisedVolForecaster",
    "SmallCapLSTM",
    "SmallCapUniverse",
    "ThresholdSteps",
    "TopK",
    "TrailingStop",
    "VolScaled",
    "VolScaling",
    "VolTarget",
    "register_allocator",
    "register_forecaster",
    "register_overlay",
]

from alphalab.models import cluster_rl as _cluster_rl  # noqa: F401  (registers kind "cluster_rl")
