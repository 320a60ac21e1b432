"""max_diversification and diversity_weighted on real ETF data."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import make_strategy, target_weights
from alphalab.testing import assert_strategy_no_leakage
from tests.models.deep_portfolio.conftest import etf_panel


@pytest.fixture(scope="module")
def panel() -> Panel:
    return etf_panel(end="2009-12-31")


def test_max_diversification_matches_the_ratio(panel: Panel) -> None:
    s = make_strategy("max_diversification", {"window": 50})
    w = target_weights(s, panel, "monthly")
    rows = np.flatnonzero(np.isfinite(w).all(axis=1))
    assert rows.size > 20 and not s.fallbacks_
    assert np.allclose(w[rows].sum(axis=1), 1.0) and (w[rows] >= 0).all()
    # the solution's diversification ratio beats equal weight's on its own window
    row = int(rows[-1])
    c = panel["close"][row - 50: row + 1]
    r = c[1:] / c[:-1] - 1
    cov = np.cov(r, rowvar=False)

    def ratio(x: np.ndarray) -> float:
        return float(x @ np.sqrt(np.diag(cov)) / np.sqrt(x @ cov @ x))

    assert ratio(w[row]) >= ratio(np.full(4, 0.25)) - 1e-6


def test_diversity_weighted_interpolates_cap_and_equal(panel: Panel) -> None:
    dates = panel.dates[-3:]
    eq = make_strategy("diversity_weighted", {"p": 0.0}).decide(panel, dates)
    assert np.allclose(eq, 0.25)
    cap = make_strategy("diversity_weighted", {"p": 1.0, "window": 50}).decide(panel, dates)
    row = panel.n_dates - 1
    dv = (panel["close"][row - 49: row + 1] * panel["volume"][row - 49: row + 1]).mean(axis=0)
    assert np.allclose(cap[-1], dv / dv.sum())
    half = make_strategy("diversity_weighted", {"p": 0.5, "window": 50}).decide(panel, dates)
    # p = 0.5 sits between: the largest asset gets less than under cap weights, more than 1/n
    big = int(np.argmax(cap[-1]))
    assert 0.25 < half[-1, big] < cap[-1, big]


def test_no_leakage(panel: Panel) -> None:
    for kind, params in [("max_diversification", {"window": 50}), ("diversity_weighted", {})]:
        assert_strategy_no_leakage(make_strategy(kind, params), panel, panel.dates[-120::20],
                                   fit_until=panel.dates[-120], n_trials=2)


def test_errors(panel: Panel) -> None:
    with pytest.raises(ConfigError, match="p must lie"):
        make_strategy("diversity_weighted", {"p": 2})
    no_volume = Panel({"close": panel["close"]}, panel.dates, panel.assets)
    with pytest.raises(DataError, match="volume"):
        make_strategy("diversity_weighted", {}).decide(no_volume, no_volume.dates[-2:])
