"""Transforms: cross-sectional scalers vs pandas, neutralisation, processors fitted on a window, leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphalab import Panel
from alphalab.errors import DataError
from alphalab.features import transforms as T
from alphalab.testing.leakage import assert_no_leakage


@pytest.fixture(scope="module")
def panel(vn30_long: pd.DataFrame) -> Panel:
    return Panel.from_long(vn30_long[["date", "ticker", "close", "volume"]]).iloc_dates(slice(-300, None))


def wide(p: Panel, name: str) -> pd.DataFrame:
    return pd.DataFrame(np.array(p[name]), index=p.dates, columns=p.assets)


def test_cs_rank_pm1_minmax_zscore_match_pandas(panel: Panel) -> None:
    c = wide(panel, "close")
    r = c.rank(axis=1)
    n = c.notna().sum(axis=1)
    pm1 = (2 * (r - 1)).div(n - 1, axis=0) - 1
    np.testing.assert_allclose(T.cs_rank(c.to_numpy(), scale="pm1"), pm1.to_numpy(), equal_nan=True)
    out = T.cs_rank(c.to_numpy(), scale="pm1")
    assert np.nanmin(out) == -1.0 and np.nanmax(out) == 1.0
    mm = c.sub(c.min(axis=1), axis=0).div(c.max(axis=1) - c.min(axis=1), axis=0)
    np.testing.assert_allclose(T.cs_minmax(c.to_numpy()), mm.to_numpy(), equal_nan=True)
    z = c.sub(c.mean(axis=1), axis=0).div(c.std(axis=1, ddof=0), axis=0)
    np.testing.assert_allclose(T.cs_zscore(c.to_numpy()), z.to_numpy(), equal_nan=True, rtol=1e-10)


def test_winsorize_quantile_and_sigma(panel: Panel) -> None:
    c = wide(panel, "close")
    out = T.cs_winsorize(c.to_numpy(), method="quantile", limit=0.1)
    lo, hi = c.quantile(0.1, axis=1), c.quantile(0.9, axis=1)
    np.testing.assert_allclose(np.nanmin(out, axis=1), lo.to_numpy())
    np.testing.assert_allclose(np.nanmax(out, axis=1), hi.to_numpy())
    s = T.cs_winsorize(c.to_numpy(), method="sigma", limit=1.0)
    bound = (c.mean(axis=1) + c.std(axis=1, ddof=0)).to_numpy()
    assert np.all(np.nanmax(s, axis=1) <= bound + 1e-9)
    with pytest.raises(DataError, match="method"):
        T.cs_winsorize(c.to_numpy(), method="iqr")  # type: ignore[arg-type]


def test_neutralize_demean_and_regress(panel: Panel) -> None:
    c = wide(panel, "close")
    labels = {t: ("bank" if t[0] in "BCMSTV" else "other") for t in panel.assets}
    codes = T.group_codes(panel.assets, labels)
    d = T.cs_neutralize(c.to_numpy(), codes)
    lab = pd.Series(labels)
    expected = c - c.T.groupby(lab).transform("mean").T
    np.testing.assert_allclose(d, expected.to_numpy(), equal_nan=True, rtol=1e-10, atol=1e-9)
    reg = T.cs_neutralize(c.to_numpy(), codes, method="regress")
    np.testing.assert_allclose(reg, d, equal_nan=True, rtol=1e-6, atol=1e-6)
    # with an exposure, the residual is orthogonal to it on each date
    expo = np.log(np.array(panel["volume"]) + 1)
    res = T.cs_neutralize(c.to_numpy(), codes, method="regress", exposures=[expo])
    t = 150
    ok = np.isfinite(res[t])
    assert abs(np.dot(res[t, ok], expo[t, ok])) < 1e-4 * np.abs(res[t, ok]).sum() * np.abs(expo[t, ok]).max()
    missing = T.group_codes(panel.assets, {panel.assets[0]: "x"})
    assert (missing[1:] == -1).all()
    assert np.isnan(T.cs_neutralize(c.to_numpy(), missing)[:, 1:]).all()


def test_ts_zscore_and_calendar(panel: Panel) -> None:
    c = wide(panel, "close")
    z = T.ts_zscore(c.to_numpy(), 20)
    ref = (c - c.rolling(20).mean()) / c.rolling(20).std()
    both = np.isfinite(z) & np.isfinite(ref.to_numpy())
    np.testing.assert_allclose(z[both], ref.to_numpy()[both], rtol=1e-7, atol=1e-9)
    dummies = T.calendar_dummies(panel.dates)
    assert dummies.shape == (panel.n_dates, 5 + 12)
    assert (dummies.filter(like="weekday").sum(axis=1) == 1).all()
    assert (dummies.filter(like="month").sum(axis=1) == 1).all()
    assert dummies.loc[panel.dates[0], f"month_{panel.dates[0].month}"] == 1


def test_processors_use_only_training_rows(panel: Panel) -> None:
    x = np.array(panel["close"])
    cut = panel.dates[149]
    for proc in (T.ZScoreScaler(), T.MinMaxScaler(), T.Winsorizer(0.05)):
        a = proc.fit(x, panel.dates, cut).transform(x)
        y = x.copy()
        y[150:] *= 7.0  # change everything after the training window
        b = type(proc)(**({"limit": 0.05} if isinstance(proc, T.Winsorizer) else {}))
        b = b.fit(y, panel.dates, cut).transform(x)
        np.testing.assert_array_equal(a, b)
        assert proc.train_rows_ == 150
    z = T.ZScoreScaler().fit(x, panel.dates, cut)
    np.testing.assert_allclose(z.mean_, np.nanmean(x[:150], axis=0))
    with pytest.raises(DataError, match="not fitted"):
        T.MinMaxScaler().transform(x)
    with pytest.raises(DataError, match="no rows on or before"):
        T.ZScoreScaler().fit(x, panel.dates, "1990-01-01")


def test_bad_shapes(panel: Panel) -> None:
    with pytest.raises(DataError, match="2-D"):
        T.cs_zscore(np.ones(5))
    with pytest.raises(DataError, match="group codes"):
        T.cs_neutralize(np.ones((3, 4)), np.zeros(3, dtype=int))
    with pytest.raises(DataError, match="one per asset"):
        T.group_codes(["a", "b"], ["x"])


def test_no_leakage_every_transform(panel: Panel) -> None:
    codes = T.group_codes(panel.assets, {t: t[0] for t in panel.assets})
    cut = panel.dates[100]

    def all_transforms(p: Panel) -> dict[str, np.ndarray]:
        c = np.array(p["close"])
        return {
            "rank": T.cs_rank(c),
            "rank_pm1": T.cs_rank(c, scale="pm1"),
            "minmax": T.cs_minmax(c),
            "zscore": T.cs_zscore(c),
            "scale": T.cs_scale(c),
            "wins_q": T.cs_winsorize(c, limit=0.05),
            "wins_s": T.cs_winsorize(c, method="sigma", limit=2.0),
            "demean": T.cs_neutralize(c, codes),
            "regress": T.cs_neutralize(c, codes, method="regress"),
            "ts_z": T.ts_zscore(c, 20),
            "calendar": T.calendar_dummies(p.dates).to_numpy(),
            "zs_proc": T.ZScoreScaler().fit_transform(c, p.dates, cut),
            "mm_proc": T.MinMaxScaler().fit_transform(c, p.dates, cut),
            "w_proc": T.Winsorizer(0.05).fit_transform(c, p.dates, cut),
        }

    # cutoffs at or after the training end: fitted statistics come from rows <= cut
    assert_no_leakage(all_transforms, panel, n_trials=4, seed=4, min_row=101)
