"""Per-stock learners: each stock's forecast comes from a model of that stock only."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.models.vol.learners import GINNForecaster, LightGBMVolForecaster
from alphalab.testing.conformance import check_forecaster

TINY = {"hidden": 2, "epochs": 1, "lookback": 10, "max_samples": 200, "batch_size": 128}


@pytest.fixture(scope="module")
def small(tw_panel: Panel) -> Panel:
    return tw_panel.select_assets(list(tw_panel.assets[:3])).iloc_dates(slice(0, 420))


def _other_assets_rescaled(panel: Panel, keep: int) -> Panel:
    """The panel with every field of the assets other than ``keep`` replaced by other random-walk data."""
    rng = np.random.default_rng(3)
    others = [j for j in range(panel.n_assets) if j != keep]
    path = np.exp(rng.normal(0, 0.05, (panel.n_dates, len(others))).cumsum(axis=0))
    arrays = {}
    for f in panel.field_names:
        a = np.array(panel[f], dtype=np.float64, copy=True)
        if f == "ret_ref":
            a[:, others] = rng.normal(0, 0.03, (panel.n_dates, len(others)))
        elif f != "volume":
            a[:, others] *= path
        arrays[f] = a
    return panel.with_fields(**arrays)


@pytest.mark.parametrize("make", [
    lambda pooling: LightGBMVolForecaster(inputs=["returns", "garch"], n_estimators=10, min_child_samples=20,
                                          pooling=pooling),
    lambda pooling: GINNForecaster(inputs=["returns", "garch"], pooling=pooling, random_state=0, **TINY),
], ids=["lgbm_vol", "ginn"])
def test_per_stock_forecast_ignores_other_stocks(make, small: Panel) -> None:
    until, dates = small.dates[380], small.dates[381:390]
    moved = _other_assets_rescaled(small, keep=0)
    a = make("per_stock").fit(small, until).predict(small, dates).variance
    b = make("per_stock").fit(moved, until).predict(moved, dates).variance
    np.testing.assert_array_equal(a[:, 0], b[:, 0])
    assert not np.allclose(a[:, 1:], b[:, 1:], equal_nan=True)
    # the pooled model learns across stocks: the same change moves stock 0's forecast
    pa = make("pooled").fit(small, until).predict(small, dates).variance
    pb = make("pooled").fit(moved, until).predict(moved, dates).variance
    assert not np.allclose(pa[:, 0], pb[:, 0])
    f = make("per_stock").fit(small, until)
    assert f.diagnostics_["per_stock"]["models"] == 3 and f.diagnostics_["pooling"] == "per_stock"


@pytest.mark.parametrize("forecaster", [
    LightGBMVolForecaster(inputs=["returns", "garch"], n_estimators=10, min_child_samples=20, pooling="per_stock"),
    GINNForecaster(inputs=["returns", "garch"], pooling="per_stock", **TINY),
], ids=["lgbm_vol", "ginn"])
def test_per_stock_conformance(forecaster, small: Panel) -> None:
    check_forecaster(forecaster, small, fit_until=small.dates[380], n_decisions=4)
