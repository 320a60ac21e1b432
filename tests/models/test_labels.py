"""Forward labels: values by hand, horizons, and training rows that never cross ``until``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab import ConfigError
from alphalab.data.panel import Panel
from alphalab.errors import LeakageError
from alphalab.models import ForecastStrategy, LightGBMForecaster, TopK
from alphalab.models.labels import make_label, training_mask
from alphalab.testing import assert_no_leakage, assert_strategy_no_leakage


def _toy(close: list[list[float]]) -> Panel:
    c = np.asarray(close, dtype=float)
    return Panel({"close": c}, pd.bdate_range("2020-01-01", periods=c.shape[0]), ["A", "B"][: c.shape[1]])


def test_values_by_hand() -> None:
    p = _toy([[10, 20], [11, 18], [12, 19], [9, 25], [10, 25]])
    r = make_label(p, "return", 2)
    np.testing.assert_allclose(r.values[:3], [[0.2, -0.05], [9 / 11 - 1, 25 / 18 - 1], [10 / 12 - 1, 25 / 19 - 1]])
    assert np.isnan(r.values[3:]).all() and r.horizon == 2
    v = make_label(p, "volatility", 2).values
    lr = np.log([11 / 10, 12 / 11])
    assert v[0, 0] == pytest.approx(np.sqrt(np.mean(lr**2)))
    c = make_label(p, "class", 2, thresholds=[-0.1, 0.1]).values
    # A: +0.2 -> 2, -0.18 -> 0, -0.167 -> 0 ; B: -0.05 -> 1, +0.39 -> 2, +0.32 -> 2
    np.testing.assert_array_equal(c[:3], [[2, 1], [0, 2], [0, 2]])
    tb = make_label(p, "triple_barrier", 3, upper=0.15, lower=0.15).values
    # A from 10: 11, 12 (+20% hits upper first) ; B from 20: 18, 19, 25 (+25% at bar 3)
    np.testing.assert_array_equal(tb[0], [1.0, 1.0])
    # A from 11: 12, 9 (-18% hits lower), B from 18: 19, 25, 25 (upper)
    np.testing.assert_array_equal(tb[1], [-1.0, 1.0])
    ranked = make_label(p, "return", 1, cs_rank=True).values
    np.testing.assert_array_equal(ranked[0], [1.0, 0.5])


def test_training_mask_drops_rows_whose_window_crosses_until() -> None:
    p = _toy([[float(i + 10), float(i + 20)] for i in range(10)])
    lab = make_label(p, "return", 3)
    keep = lab.training_mask(p.dates[6])
    # row t is usable iff t + 3 <= 6
    assert keep[:, 0].tolist() == [True] * 4 + [False] * 6
    assert not training_mask(lab.values, p.dates, 3, p.dates[2]).any()


def test_bad_label_arguments() -> None:
    p = _toy([[1.0, 2.0], [1.1, 2.1]])
    with pytest.raises(ConfigError, match="horizon"):
        make_label(p, "return", 0)
    with pytest.raises(ConfigError, match="label kind"):
        make_label(p, "sharpe", 1)
    with pytest.raises(ConfigError, match="thresholds"):
        make_label(p, "class", 1, thresholds=[0.1, -0.1])


def test_masked_labels_pass_the_leakage_guard_and_raw_labels_fail(cn_panel: Panel) -> None:
    until_row = 300

    def masked(p: Panel) -> np.ndarray:
        lab = make_label(p, "return", 5)
        return np.where(lab.training_mask(p.dates[until_row]), lab.values, np.nan)

    # data after until (and after a later cutoff) changes: usable labels must not
    assert_no_leakage(masked, cn_panel, cutoffs=[until_row, until_row + 7])
    with pytest.raises(LeakageError):
        assert_no_leakage(lambda p: make_label(p, "return", 5).values, cn_panel, cutoffs=[until_row])


def test_a_fitted_learner_ignores_everything_after_until(cn_panel: Panel) -> None:
    """The label horizon leakage test: perturbing data after ``until`` leaves the fit unchanged."""
    fc = LightGBMForecaster(horizon=10, features=["ROC5", "STD20", "KMID"], n_estimators=10,
                            num_leaves=4, min_child_samples=20, random_state=0)
    s = ForecastStrategy(fc, TopK(k=5))
    until = cn_panel.dates[350]
    dates = cn_panel.dates[351:400:7]
    # cutoff == until: everything after the fit date is perturbed, so any label that
    # peeked past until would change the model and the decisions at every date.
    assert_strategy_no_leakage(s, cn_panel, dates, fit_until=until, cutoffs=[until, dates[3]])
