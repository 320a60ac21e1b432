"""Feature sets: the fused seed_ta pass, the registry, the on-disk cache, leakage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import _fused
from alphalab.features import sets as S
from alphalab.testing import assert_no_leakage

OHLCV = ["open", "high", "low", "close", "volume"]
TICKERS = ["AAPL", "XOM", "APTV", "LNT", "BHF", "NWL", "AMD", "DWDP", "GOOGL"]


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    p = Panel.from_long(us_sp500_long[us_sp500_long["ticker"].isin(TICKERS)], OHLCV)
    arrays = {k: np.array(v, copy=True) for k, v in p.fields.items()}
    col = {a: j for j, a in enumerate(p.assets)}
    arrays["close"][500:503, col["AAPL"]] = np.nan  # a gap inside a series
    arrays["volume"][700, col["AMD"]] = np.nan
    xom = col["XOM"]
    arrays["close"][800:, xom] = arrays["close"][800, xom]  # a constant tail
    arrays["high"][800:, xom] = arrays["low"][800:, xom] = arrays["close"][800, xom]
    return Panel(arrays, p.dates, p.assets, {"market": "us"})


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHALAB_CACHE", str(tmp_path))
    return tmp_path


def _hlcv(p: Panel) -> tuple[np.ndarray, ...]:
    return tuple(p[f] for f in ("high", "low", "close", "volume"))


def test_fused_pass_is_bit_identical_to_the_composed_indicators(panel: Panel) -> None:
    fused = _fused.seed_ta_fused(*_hlcv(panel))
    composed = _fused.seed_ta_py(*_hlcv(panel))
    assert list(fused) == list(composed)
    assert len(fused) == 24
    for k in fused:
        assert np.array_equal(fused[k], composed[k], equal_nan=True), k
        assert fused[k].shape == panel.shape


def test_fused_pass_agrees_with_python_twins(panel: Panel) -> None:
    small = panel.iloc_dates(slice(350, 650))
    fused = _fused.seed_ta_fused(*_hlcv(small))
    twin = _fused.seed_ta_py(*_hlcv(small), engine="python")
    for k in fused:
        np.testing.assert_array_equal(np.isnan(fused[k]), np.isnan(twin[k]), err_msg=k)
        scale = np.nanmax(np.abs(twin[k])) if np.isfinite(twin[k]).any() else 1.0
        np.testing.assert_allclose(fused[k], twin[k], rtol=1e-9, atol=1e-9 * scale, err_msg=k)


def test_seed_ta_contents_and_warm_up(panel: Panel, cache_dir: Path) -> None:
    f = S.compute(panel, "seed_ta")
    names = set(f.field_names)
    for s in _fused.SEED_TA_SERIES:
        assert s in names and f"{s}_z60" in names
    assert f.meta["feature_sets"] == ["seed_ta"] and f.meta["market"] == "us"
    # z-score warm-up: 60 finite values of the series, which itself warms up
    aapl, xom = panel.assets.get_loc("AAPL"), panel.assets.get_loc("XOM")
    ema50 = f["ema_50"][:, aapl]
    first = int(np.argmax(np.isfinite(ema50)))
    assert first == 49
    z = f["ema_50_z60"][:, aapl]
    assert np.isnan(z[: first + 59]).all() and np.isfinite(z[first + 59])
    assert S.get_feature_set("seed_ta").lookback == first + 59
    # the constant tail: RSI 0 (TA-Lib), z-score NaN (no dispersion)
    # Wilder averages decay geometrically; TA-Lib's RSI is 0 once they are below 1e-8
    assert (f["rsi_14"][1150:, xom] == 0.0).all()
    assert np.isnan(f["ema_5_z60"][1150:, xom]).all()  # EMA 5 reached its fixed point
    atr = f["atr_14"][801:, xom]  # zero true ranges: Wilder's average decays to 0
    assert np.all(np.diff(atr) <= 0) and atr[-1] < 1e-12
    # the gap restarts every series: EMA 5 is back 5 rows after it
    assert np.isnan(f["ema_5"][500:507, aapl]).all() and np.isfinite(f["ema_5"][507, aapl])


def test_cache_round_trip_is_bit_identical(panel: Panel, cache_dir: Path) -> None:
    first = S.compute(panel, ["seed_ta"])
    assert first.meta["feature_origin"] == {"seed_ta": "computed"}
    entries = list((cache_dir / "features" / "seed_ta").iterdir())
    assert len(entries) == 1
    manifest = json.loads((entries[0] / "manifest.json").read_text())
    assert manifest["data_hash"] == panel.data_hash()
    assert manifest["spec_hash"] == S.spec_hash("seed_ta")
    again = S.compute(panel, ["seed_ta"])
    assert again.meta["feature_origin"] == {"seed_ta": "cache"}
    for k in first:
        a, b = first[k], again[k]
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a.view(np.uint64), b.view(np.uint64)), k
        assert not b.flags.writeable
    # other data -> another entry
    S.compute(panel.iloc_dates(slice(0, 800)), "seed_ta")
    assert len(list((cache_dir / "features" / "seed_ta").iterdir())) == 2
    assert S.clear_cache(set_name="seed_ta") == 2


def test_cache_invalidation(panel: Panel, tmp_path: Path) -> None:
    small = panel.iloc_dates(slice(0, 300))
    calls = []

    def fn(p: Panel) -> dict[str, np.ndarray]:
        calls.append(1)
        return {"twice": p["close"] * 2}

    try:
        S.register_feature_set("t_double", fn, spec={"k": 2})
        S.compute(small, "t_double", cache_dir=tmp_path)
        S.compute(small, "t_double", cache_dir=tmp_path)
        assert len(calls) == 1
        # a new spec (new parameters or version) never reads the old entry
        S.register_feature_set("t_double", fn, spec={"k": 3}, replace=True)
        S.compute(small, "t_double", cache_dir=tmp_path)
        assert len(calls) == 2
        # a damaged entry is recomputed, not trusted
        for m in (tmp_path / "features" / "t_double").glob("*/manifest.json"):
            m.write_text("{not json")
        S.compute(small, "t_double", cache_dir=tmp_path)
        assert len(calls) == 3
        # no cache at all
        S.compute(small, "t_double", cache=False)
        assert len(calls) == 4
    finally:
        S.FEATURE_SETS.pop("t_double", None)


def test_registry_errors(panel: Panel, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown feature set 'nope'"):
        S.compute(panel, ["nope"], cache=False)
    with pytest.raises(ConfigError, match="no feature sets"):
        S.compute(panel, [], cache=False)
    with pytest.raises(ConfigError, match="twice"):
        S.compute(panel, ["seed_ta", "seed_ta"], cache=False)
    with pytest.raises(DataError, match="needs field"):
        S.compute(panel.drop_fields("volume"), "seed_ta", cache=False)
    with pytest.raises(ConfigError, match="already registered"):
        S.register_feature_set("seed_ta", lambda p: {}, spec={})
    with pytest.raises(ConfigError, match="JSON"):
        S.register_feature_set("t_bad", lambda p: {}, spec={"f": object()})
    try:
        S.register_feature_set("t_clash", lambda p: {"ema_5": p["close"]})
        with pytest.raises(ConfigError, match="more than one set"):
            S.compute(panel, ["seed_ta", "t_clash"], cache=False)
        S.register_feature_set("t_shape", lambda p: {"x": p["close"][:-1]})
        with pytest.raises(DataError, match="shape"):
            S.compute(panel, "t_shape", cache=False)
    finally:
        S.FEATURE_SETS.pop("t_clash", None)
        S.FEATURE_SETS.pop("t_shape", None)


def test_lazy_sets_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(S.LAZY_SETS, "t_missing", "alphalab.features.no_such_module")
    with pytest.raises(ConfigError, match="could not be loaded"):
        S.get_feature_set("t_missing")
    assert "seed_ta" in S.list_feature_sets() and "t_missing" in S.list_feature_sets()


def test_indicator_set(panel: Panel) -> None:
    f = S.compute(panel.iloc_dates(slice(0, 400)), "indicators", cache=False)
    assert {"rsi", "macd_signal", "bbands_pctb", "adx_plus_di", "garman_klass_vol"} <= set(f)


def test_feature_sets_do_not_leak(panel: Panel) -> None:
    small = panel.iloc_dates(slice(300, 700))
    assert_no_leakage(lambda p: S.compute(p, "seed_ta", cache=False), small, min_row=120)
    assert_no_leakage(
        lambda p: S.compute(p, "indicators", cache=False), small, n_trials=2, min_row=60
    )
