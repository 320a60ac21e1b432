"""PM signal models: backward-looking features (leakage guard), seeded determinism, MLP, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.pm_signals import (
    FEATURES,
    SignalModels,
    build_signals,
    pm_features,
    reliability,
)
from alphalab.models.trade_labels import trade_labels
from alphalab.portfolio.pm_kernel import SIG


def _split(panel: Panel, k: int):
    f = pm_features(panel)
    return {n: v[:k] for n, v in f.items()}, {n: v[k:] for n, v in f.items()}


def test_features_never_read_the_future(cn_panel: Panel) -> None:
    base = pm_features(cn_panel)
    k = 300
    fields = {n: cn_panel[n].copy() for n in cn_panel.field_names}
    for n in fields:
        fields[n][k + 1:] *= 1.7
    moved = pm_features(Panel(fields, cn_panel.dates, cn_panel.assets))
    for name in FEATURES:
        np.testing.assert_array_equal(base[name][: k + 1], moved[name][: k + 1], err_msg=name)
        assert np.isnan(base[name][0]).all() or name in ("range1", "volume_ratio20")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["lightgbm", "mlp"])
def test_fit_calibrate_predict_deterministic(cn_panel: Panel, kind: str) -> None:
    k1, k2 = 150, 230
    p_train, p_tune = cn_panel.iloc_dates(slice(0, k1)), cn_panel.iloc_dates(slice(k1, k2))
    f = pm_features(cn_panel)
    ftr = {n: v[:k1] for n, v in f.items()}
    ftu = {n: v[k1:k2] for n, v in f.items()}
    params = {"n_estimators": 20} if kind == "lightgbm" else {"max_iter": 8, "hidden_layer_sizes": (8,)}
    outs = []
    for _ in range(2):
        m = SignalModels(kind=kind, params=params, random_state=3).fit(ftr, trade_labels(p_train, "cn", 5), slice(None))
        rel = m.calibrate(ftu, trade_labels(p_tune, "cn", 5), slice(None))
        outs.append(m.predict(ftu, slice(None), cn_panel.n_assets))
    for key, v in outs[0].items():
        np.testing.assert_array_equal(v, outs[1][key], err_msg=key)
        assert v.shape == (k2 - k1, cn_panel.n_assets)
    for key in ("p_long", "p_short", "p_entry_long", "risk_market", "risk_long"):
        v = outs[0][key]
        assert np.nanmin(v) >= 0 and np.nanmax(v) <= 1
        r = rel[key]
        if r["calibrated"]:  # isotonic fitted on the tune split never raises its in-sample Brier score
            assert r["after"]["brier"] <= r["before"]["brier"] + 1e-12
    sig = build_signals(outs[0], cn_panel["close"][k1:k2], cn_panel["open"][k1:k2], np.full((k2 - k1, cn_panel.n_assets), 1.0))
    assert np.isnan(sig[SIG["ret"]][-2:]).all() and np.isfinite(sig[SIG["ret"]][:-2]).mean() > 0.9


def test_platt_and_bad_kinds(cn_panel: Panel) -> None:
    ftr, _ = _split(cn_panel, 250)
    m = SignalModels(calibration="platt", params={"n_estimators": 10}).fit(
        ftr, trade_labels(cn_panel.iloc_dates(slice(0, 250)), "cn", 5), slice(None))
    m.calibrate(ftr, trade_labels(cn_panel.iloc_dates(slice(0, 250)), "cn", 5), slice(None))
    assert np.nanmax(m.predict(ftr, slice(None), cn_panel.n_assets)["p_long"]) <= 1
    with pytest.raises(ConfigError, match="kind"):
        SignalModels(kind="xgb")
    with pytest.raises(ConfigError, match="calibration"):
        SignalModels(calibration="beta")


def test_reliability_bins() -> None:
    p = np.array([0.05, 0.15, 0.15, 0.95, np.nan])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    r = reliability(p, y, bins=10)
    assert r["count"][0] == 1 and r["count"][1] == 2 and r["observed"][1] == 0.5 and r["count"][9] == 1
    assert r["brier"] == pytest.approx(np.mean((p[:4] - y[:4]) ** 2))
