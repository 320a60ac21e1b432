from __future__ import annotations

import math

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.models.vol import targets as T
from alphalab.testing import assert_no_leakage


def test_returns_prefer_ret_ref(tw_panel: Panel) -> None:
    r = T.returns(tw_panel)
    ref = tw_panel["ret_ref"]
    np.testing.assert_array_equal(np.isnan(r), ~np.isfinite(ref))
    plain = T.returns(tw_panel.drop_fields("ret_ref"))
    close = tw_panel["close"]
    np.testing.assert_allclose(plain[1:], close[1:] / close[:-1] - 1)
    # ex-dates: ret_ref is NaN although both closes exist -> no return (not volatility)
    ex = ~np.isfinite(ref[1:]) & np.isfinite(close[1:]) & np.isfinite(close[:-1])
    assert np.isnan(r[1:][ex]).all()


def test_ar1_demeaned_square_matches_hand_ols() -> None:
    rng = np.random.default_rng(3)
    r = rng.standard_normal((200, 2)) * 0.02
    r[50, 1] = np.nan
    out = T.ar1_demeaned_square(r, window=90)
    for t in (120, 150, 199):
        for j in (0, 1):
            x, y = r[t - 90 : t - 1, j], r[t - 89 : t, j]  # pairs s = t-89 .. t-1 (rows t-90 .. t-1)
            ok = np.isfinite(x) & np.isfinite(y)
            phi, c = np.polyfit(x[ok], y[ok], 1)
            assert out[t, j] == pytest.approx((r[t, j] - c - phi * r[t - 1, j]) ** 2, rel=1e-9)
    assert np.isnan(out[:31]).all()  # fewer than 30 pairs
    assert np.isnan(out[50, 1]) and np.isnan(out[51, 1])


def test_range_estimators_hand_values() -> None:
    p = Panel({"open": np.array([[10.0]]), "high": np.array([[11.0]]), "low": np.array([[9.5]]),
               "close": np.array([[10.5]])}, ["2020-01-02"], ["A"])
    hl = math.log(11 / 9.5)
    assert T.parkinson(p)[0, 0] == pytest.approx(hl**2 / (4 * math.log(2)))
    assert T.garman_klass(p)[0, 0] == pytest.approx(0.5 * hl**2 - (2 * math.log(2) - 1) * math.log(1.05) ** 2)
    with pytest.raises(DataError, match="high"):
        T.parkinson(p.drop_fields("high"))


def test_forward_variance_window_and_errors() -> None:
    v = np.arange(10, dtype=float).reshape(-1, 1)
    f = T.forward_variance(v, 3)
    assert f[0, 0] == pytest.approx((1 + 2 + 3) / 3)
    assert np.isnan(f[-3:]).all()
    v[5] = np.nan
    f = T.forward_variance(v, 2)
    assert np.isnan(f[3, 0]) and np.isnan(f[4, 0]) and f[5, 0] == pytest.approx(6.5)
    with pytest.raises(ConfigError):
        T.forward_variance(v, 0)
    with pytest.raises(ConfigError, match="proxy"):
        T.proxy(Panel({"close": np.ones((1, 1))}, ["2020-01-02"], ["A"]), "vix")


@pytest.mark.parametrize("name", T.PROXIES)
def test_proxies_are_leak_free(tw_panel: Panel, name: str) -> None:
    assert_no_leakage(lambda p: T.proxy(p, name), tw_panel.iloc_dates(slice(0, 300)), n_trials=4)
