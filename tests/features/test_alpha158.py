"""Alpha158-like catalogue: size, parity with pandas on real data, leakage."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.features.alphas.alpha158 import ALPHA158, compute_alpha158
from alphalab.features.expr import ProxyFieldWarning, compile_formula
from alphalab.testing.leakage import assert_no_leakage


@pytest.fixture(scope="module")
def panel(vn30_long: pd.DataFrame) -> Panel:
    df = vn30_long[["date", "ticker", "open", "high", "low", "close", "volume"]]
    return Panel.from_long(df).iloc_dates(slice(-250, None))


def run(panel: Panel, names: list[str]) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProxyFieldWarning)
        values, skipped = compute_alpha158(panel, names=names)
    assert skipped == {}
    return values


def test_158_features_with_declared_warmups() -> None:
    assert len(ALPHA158) == 158
    fields = ["open", "high", "low", "close", "volume"]
    for name, text in ALPHA158.items():
        f = compile_formula(text, fields)
        digits = "".join(ch for ch in name if ch.isdigit())
        window = int(digits) if name[-1].isdigit() and digits != "2" else 1
        # rolling families read `window` rows (plus one for the day-over-day ones)
        assert window - 1 <= f.warmup <= window, name


def test_parity_with_pandas(panel: Panel) -> None:
    names = ["KMID", "KUP", "KSFT2", "ROC5", "MA10", "STD20", "BETA5", "RSQR10", "RESI5",
             "QTLU20", "RSV10", "IMAX10", "IMXD5", "CORR10", "CNTP20", "SUMP10", "VSTD5", "WVMA10"]
    ours = run(panel, names)
    f = {k: pd.DataFrame(np.array(panel[k]), index=panel.dates, columns=panel.assets)
         for k in panel.field_names}
    o, h, lo, c, v = f["open"], f["high"], f["low"], f["close"], f["volume"]
    t5 = np.arange(5.0)
    t10 = np.arange(10.0)

    def slope(w: np.ndarray) -> float:
        return np.polyfit(t5, w, 1)[0]

    def rsq(w: np.ndarray) -> float:
        return np.corrcoef(t10, w)[0, 1] ** 2

    def resi(w: np.ndarray) -> float:
        b, a = np.polyfit(t5, w, 1)
        return w[-1] - (a + b * 4)

    dc = c - c.shift(1)
    r = (c / c.shift(1) - 1).abs() * v
    ref = {
        "KMID": (c - o) / o,
        "KUP": (h - np.maximum(o, c)) / o,
        "KSFT2": (2 * c - h - lo) / (h - lo + 1e-12),
        "ROC5": c.shift(5) / c,
        "MA10": c.rolling(10).mean() / c,
        "STD20": c.rolling(20).std() / c,
        "BETA5": c.rolling(5).apply(slope, raw=True) / c,
        "RSQR10": c.rolling(10).apply(rsq, raw=True),
        "RESI5": c.rolling(5).apply(resi, raw=True) / c,
        "QTLU20": c.rolling(20).quantile(0.8) / c,
        "RSV10": (c - lo.rolling(10).min()) / (h.rolling(10).max() - lo.rolling(10).min() + 1e-12),
        "IMAX10": h.rolling(10).apply(lambda w: np.argmax(w) + 1, raw=True) / 10,
        "IMXD5": (h.rolling(5).apply(lambda w: np.argmax(w) + 1, raw=True)
                  - lo.rolling(5).apply(lambda w: np.argmin(w) + 1, raw=True)) / 5,
        "CORR10": c.rolling(10).corr(np.log(v + 1)),
        "CNTP20": (c > c.shift(1)).astype(float).where(c.shift(1).notna()).rolling(20).mean(),
        "SUMP10": dc.clip(lower=0).rolling(10).sum() / (dc.abs().rolling(10).sum() + 1e-12),
        "VSTD5": v.rolling(5).std() / (v + 1e-12),
        "WVMA10": r.rolling(10).std() / (r.rolling(10).mean() + 1e-12),
    }
    for name, expected in ref.items():
        e = np.array(expected.to_numpy(dtype=float), copy=True)
        e[~np.isfinite(e)] = np.nan
        got = ours[name]
        both = np.isfinite(got) & np.isfinite(e)
        # same missing pattern except where pandas' reference yields a degenerate
        # value (constant windows: corr / R^2 undefined)
        assert (np.isfinite(got) != np.isfinite(e)).mean() < 0.01, name
        np.testing.assert_allclose(got[both], e[both], rtol=1e-6, atol=1e-9, err_msg=name)


def test_no_leakage_sample(panel: Panel) -> None:
    names = [n for i, n in enumerate(ALPHA158) if i % 7 == 0]
    assert_no_leakage(lambda p: run(p, names), panel, n_trials=4, seed=3, min_row=80)
