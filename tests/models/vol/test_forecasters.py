"""Econometric variance forecasters: conformance (leakage guard, determinism, pickling) and values."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.models.vol.forecasters import (
    EWMAForecaster,
    GarchForecaster,
    HARForecaster,
    ewma_variance,
)
from alphalab.models.vol.garch_fast import fit_garch
from alphalab.models.vol.targets import returns
from alphalab.testing.conformance import check_forecaster


@pytest.fixture(scope="module")
def small(tw_panel: Panel) -> Panel:
    return tw_panel.select_assets(list(tw_panel.assets[:3])).iloc_dates(slice(0, 420))


@pytest.mark.parametrize("forecaster", [
    EWMAForecaster(),
    HARForecaster(),
    HARForecaster(proxy="garman_klass", log=True),
    GarchForecaster(refit_every=5),
    GarchForecaster(vol="gjr", dist="t", window=250, refit_every=20, method="newton"),
], ids=["ewma", "har", "har_gk_log", "garch", "gjr_t"])
def test_conformance(forecaster, small: Panel) -> None:
    check_forecaster(forecaster, small, fit_until=small.dates[380], n_decisions=6)


@pytest.mark.slow
def test_arch_engine_egarch_conformance(small: Panel) -> None:
    check_forecaster(GarchForecaster(vol="egarch", engine="arch", window=250, refit_every=20), small,
                     fit_until=small.dates[380], n_decisions=4)


def test_garch_forecast_is_the_window_fit(small: Panel) -> None:
    f = GarchForecaster().fit(small, small.dates[300])
    fc = f.predict(small, small.dates[[350]])
    r = returns(small)[:, 0]
    y = r[:351][np.isfinite(r[:351])][-90:] * 100
    assert fc.variance[0, 0] * 1e4 == pytest.approx(fit_garch(y).forecast_var, rel=1e-4)
    assert fc.mean[0, 0] == pytest.approx(np.sqrt(fc.variance[0, 0]))
    assert f.diagnostics_["total_fits"] == 3 and f.diagnostics_["total_failed"] == 0


def test_ewma_recursion_by_hand() -> None:
    r = np.array([[0.01], [-0.02], [np.nan], [0.03]])
    v = ewma_variance(r, lam=0.9, init=2)
    s = (0.01**2 + 0.02**2) / 2
    assert np.isnan(v[0, 0]) and v[1, 0] == pytest.approx(s) and v[2, 0] == pytest.approx(s)
    assert v[3, 0] == pytest.approx(0.9 * s + 0.1 * 0.03**2)


def test_har_recovers_its_own_coefficients(small: Panel) -> None:
    f = HARForecaster(proxy="sq", min_rows=50).fit(small, small.dates[400])
    assert f.diagnostics_["own_fit"] == 3
    fc = f.predict(small, small.dates[[410]])
    assert np.isfinite(fc.variance).all() and (fc.variance > 0).all()


def test_arch_egarch_exploded_filter_is_capped_and_counted() -> None:
    """Stock 2448 in 2016: arch's EGARCH, refitted every 120 rows on 500, filtered to a daily
    variance of 4e2 (and 2e-179) in the quick profile; such forecasts are replaced by the
    window's sample variance and counted, never passed on."""
    import pandas as pd

    from alphalab.models.vol.forecasters import MAX_VARIANCE_RATIO
    from tests.conftest import shared_file
    from tests.models.vol.conftest import FIELDS

    df = pd.read_parquet(shared_file("tw_twse_midcap_1992_2018.parquet"), columns=["date", "ticker", *FIELDS],
                         filters=[("ticker", "==", "2448"), ("date", ">=", pd.Timestamp("2012-01-01")),
                                  ("date", "<=", pd.Timestamp("2016-12-30"))])
    df["ticker"] = df["ticker"].astype(str)
    panel = Panel.from_long(df, FIELDS, meta={"market": "tw"})
    # the quick profile's decisions of its 2016 fold: the first session of each week
    in_2016 = pd.Series(panel.dates[panel.dates >= "2016-01-01"])
    dates = pd.DatetimeIndex(in_2016.groupby(in_2016.dt.to_period("W")).min())
    f = GarchForecaster(vol="egarch", engine="arch", window=500, refit_every=120)
    var = f.fit(panel, dates[0]).predict(panel, dates).variance[:, 0]
    r = returns(panel)[:, 0]
    sample = np.nanvar(r[np.isfinite(r)][-500:])
    assert np.isfinite(var).all()
    assert var.max() <= MAX_VARIANCE_RATIO * 10 * sample and var.min() > 0
    assert f.diagnostics_["total_capped"] > 0
