"""``ForecastStrategy``: a forecaster, an allocator and overlays, as one :class:`Strategy`.

Because it is a plain Strategy, the walk-forward runner, tuning with nested
names (``forecaster__num_leaves``), CPCV and the leakage guard treat it like
any baseline. Study YAML::

    - name: lgbm
      kind: forecast
      params:
        forecaster: {kind: lightgbm, params: {horizon: 5, num_leaves: 31}}
        allocator: {kind: topk, params: {k: 30}}
        overlays: [{kind: market_halt, params: {drop: 0.07}}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.specs import build_part, check_part
from alphalab.portfolio.base import Requirements, Strategy, register_strategy
from alphalab.portfolio.params import clone_param

__all__ = ["ForecastStrategy"]


@register_strategy("forecast")
class ForecastStrategy(Strategy):
    """Forecast, allocate, overlay.

    Parameters
    ----------
    forecaster : Forecaster
    allocator : Allocator
    overlays : sequence of Overlay, default ()
        Applied in order after the allocator.
    random_state : int, optional
        Injected by the runner per fold / trial; passed to the forecaster's
        own ``random_state`` when that is ``None``.

    Attributes
    ----------
    forecaster_, allocator_ : fitted clones (the parameters are never fitted)
    forecasts_ : pandas.DataFrame
        After :meth:`decide`: long forecasts (``date, ticker, mean, ...``) for
        exactly the decided dates.
    diagnostics_ : dict
        ``forecaster``: the forecaster's own diagnostics; ``allocator``: the
        allocator's (e.g. solver fallbacks) after :meth:`decide`.
    """

    def __init__(self, forecaster: Any, allocator: Any,
                 overlays: Sequence[Any] = (), random_state: int | None = None) -> None:
        # Parts must be built objects (YAML specs go through from_config); stored as given.
        check_part("forecaster", forecaster, "forecaster")
        check_part("allocator", allocator, "allocator")
        if isinstance(overlays, (str, bytes, Mapping)) or not isinstance(overlays, Sequence):
            raise ConfigError(f"overlays must be a list of overlays, got {overlays!r}")
        for i, ov in enumerate(overlays):
            check_part("overlay", ov, f"overlays[{i}]")
        if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer))):
            raise ConfigError(f"random_state must be an integer or None, got {random_state!r}")
        self.forecaster = forecaster
        self.allocator = allocator
        self.overlays = overlays
        self.random_state = random_state

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> ForecastStrategy:
        """Build from a study config's ``params`` (nested ``{kind, params}`` specs)."""
        if "forecaster" not in params or "allocator" not in params:
            raise ConfigError("kind 'forecast' needs params 'forecaster' and 'allocator' ({kind, params} each)")
        overlays = params.get("overlays") or []
        if not isinstance(overlays, list):
            raise ConfigError(f"overlays must be a list of {{kind, params}} specs, got {overlays!r}")
        return cls(
            forecaster=build_part("forecaster", params["forecaster"], "forecaster"),
            allocator=build_part("allocator", params["allocator"], "allocator"),
            overlays=[build_part("overlay", o, f"overlays[{i}]") for i, o in enumerate(overlays)],
            random_state=params.get("random_state"),
        )

    @property
    def requires(self) -> Requirements:  # type: ignore[override]
        cap = self.forecaster.requires
        return Requirements(fields=tuple(dict.fromkeys(("close", *cap.fields))), min_history=cap.min_history,
                            learns=True, probabilistic=cap.probabilistic)

    def fit(self, panel: Panel, until: Any = None) -> ForecastStrategy:
        """Fit a clone of the forecaster on rows dated at or before ``until``."""
        super().fit(panel, until)
        self.forecaster_ = clone_param(self.forecaster)
        if self.random_state is not None and self.forecaster_.get_params(deep=False).get("random_state", 0) is None:
            self.forecaster_.set_params(random_state=int(self.random_state))
        self.forecaster_.fit(panel, until=self.fitted_until_)
        self.allocator_ = clone_param(self.allocator)
        self.overlays_ = [clone_param(o) for o in self.overlays]
        self.diagnostics_: dict[str, Any] = {"forecaster": dict(getattr(self.forecaster_, "diagnostics_", {}))}
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        """Weights ``(len(dates), n_assets)``; sets ``forecasts_`` for the same dates."""
        if not hasattr(self, "forecaster_"):
            raise ConfigError("ForecastStrategy.decide before fit: call fit(panel, until) first")
        dates = pd.DatetimeIndex(dates)
        forecast = self.forecaster_.predict(panel, dates)
        self.forecasts_ = forecast.to_frame()
        weights = self.allocator_.allocate(forecast, panel, None)
        for ov in self.overlays_:
            weights = ov.apply(weights, panel, dates)
        self.diagnostics_["allocator"] = dict(getattr(self.allocator_, "diagnostics_", {}))
        return weights
