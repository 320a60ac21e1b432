"""Factor evaluation: IC vs scipy, quantiles, turnover, decay, catalogue ranking, report, YAML study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from alphalab import Panel
from alphalab.errors import ConfigError
from alphalab.features.factors import (
    evaluate_factor,
    forward_returns,
    information_coefficient,
    quantile_returns,
    rank_catalogue,
    run_factor_study,
    signal_autocorrelation,
    write_factor_report,
)
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def panel(us_sp500_long: pd.DataFrame) -> Panel:
    tickers = sorted(us_sp500_long["ticker"].unique())[::10][:50]
    df = us_sp500_long[us_sp500_long["ticker"].isin(tickers)]
    return Panel.from_long(df).iloc_dates(slice(-260, None))


def test_forward_returns_are_labels_from_the_future(panel: Panel) -> None:
    c = panel["close"]
    fwd = forward_returns(c, 5)
    np.testing.assert_allclose(fwd[:-5], c[5:] / c[:-5] - 1, equal_nan=True)
    assert np.isnan(fwd[-5:]).all()
    with pytest.raises(ConfigError):
        forward_returns(c, 0)


def test_ic_matches_scipy_per_date(panel: Panel) -> None:
    c = panel["close"]
    sig = -(c / np.vstack([np.full((5, c.shape[1]), np.nan), c[:-5]]) - 1)  # 5-day reversal
    fwd = forward_returns(c, 1)
    ic = information_coefficient(sig, fwd, method="pearson", dates=panel.dates)
    ric = information_coefficient(sig, fwd, method="spearman", dates=panel.dates)
    for t in (10, 100, 200):
        ok = np.isfinite(sig[t]) & np.isfinite(fwd[t])
        assert ic.iloc[t] == pytest.approx(pearsonr(sig[t, ok], fwd[t, ok])[0], rel=1e-9)
        assert ric.iloc[t] == pytest.approx(spearmanr(sig[t, ok], fwd[t, ok])[0], rel=1e-9)
    assert np.isnan(ic.iloc[:5]).all() and np.isnan(ic.iloc[-1])


def test_quantiles_and_turnover(panel: Panel) -> None:
    c = panel["close"]
    fwd = forward_returns(c, 1)
    # the label itself is the perfect signal: quantile means are increasing
    q = quantile_returns(fwd, fwd, n_quantiles=5).dropna()
    means = q.drop(columns="long_short").mean().to_numpy()
    assert np.all(np.diff(means) > 0) and (q["long_short"] > 0).all()
    # a constant-per-asset ranking never changes: autocorrelation 1, turnover 0
    static = np.tile(np.arange(c.shape[1], dtype=float), (c.shape[0], 1))
    ac = signal_autocorrelation(static).dropna()
    np.testing.assert_allclose(ac.to_numpy(), 1.0)
    noise = np.random.default_rng(0).standard_normal(c.shape)
    assert abs(signal_autocorrelation(noise).mean()) < 0.05


def test_evaluate_factor_summary_and_decay(panel: Panel) -> None:
    c = panel["close"]
    res = evaluate_factor(forward_returns(c, 5), c, name="oracle", horizon=5, dates=panel.dates)
    assert res.summary["rank_ic_mean"] == pytest.approx(1.0)
    assert list(res.decay.index) == [1, 5, 10, 20]
    # the 5-day oracle is best at its own horizon
    assert res.decay["rank_ic_mean"].idxmax() == 5


def test_rank_catalogue_and_report(panel: Panel, tmp_path: Path) -> None:
    catalogue = {
        "rev5": "-1 * delta(close, 5) / delay(close, 5)",
        "volcorr": "rank(ts_corr(close, volume, 10))",
        "needs_cap": "rank(cap)",
    }
    table, results, skipped = rank_catalogue(panel, catalogue, horizon=5)
    assert set(table.index) == {"rev5", "volcorr"} and "cap" in skipped["needs_cap"]
    assert list(table.index) == list(table["rank_icir"].abs().sort_values(ascending=False).index)
    html = write_factor_report(results, tmp_path / "rep", table=table, skipped=skipped)
    text = html.read_text()
    assert "rev5" in text and "needs_cap" in text
    for f in ("factors.csv", "decay.csv", "skipped.json", "cumulative_rank_ic.png",
              "quantile_returns.png", "ic_decay.png"):
        assert (tmp_path / "rep" / f).stat().st_size > 0


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_run_factor_study_from_yaml(tmp_path: Path) -> None:
    src = shared_file("vn30_2016_2019.parquet")
    cfg = tmp_path / "study.yaml"
    cfg.write_text(
        f"name: vn30-test\ndata:\n  source: {src}\n  mode: lenient\n  start: 2018-01-01\n"
        "catalogue:\n  rev5: -1 * delta(close, 5)\n  mom20: delay(close, 1) / delay(close, 21)\n"
        "horizon: 5\nhorizons: [1, 5]\n"
    )
    out = run_factor_study(cfg, tmp_path / "out")
    assert out.exists()
    table = pd.read_csv(tmp_path / "out" / "factors.csv", index_col=0)
    assert set(table.index) == {"rev5", "mom20"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {source: x.parquet}\ncatalog: alpha101\n")
    with pytest.raises(ConfigError, match="unknown key"):
        run_factor_study(bad, tmp_path / "o2")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cli_factors_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alphalab.cli import app

    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        f"data: {{source: {shared_file('vn30_2016_2019.parquet')}, mode: lenient, start: 2019-01-01}}\n"
        "catalogue: {rev5: '-1 * delta(close, 5)'}\nhorizons: [1]\n"
    )
    res = CliRunner().invoke(app, ["factors", str(cfg), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "report.html").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"data: {{source: {shared_file('vn30_2016_2019.parquet')}, mode: lenient}}\ncatalogue: {{x: rank(clos)}}\n")
    res = CliRunner().invoke(app, ["factors", str(bad), "--out", str(tmp_path / "o2")])
    # a typo is an error naming the field, not a silent skip
    assert res.exit_code == 2 and "unknown field 'clos'" in res.output
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text(f"data: {{source: {shared_file('vn30_2016_2019.parquet')}, mode: lenient}}\ncatalogue: {{x: 'rank(close'}}\n")
    res = CliRunner().invoke(app, ["factors", str(syntax)])
    assert res.exit_code == 2 and "position" in res.output


def test_cs_corr_kernel_twin() -> None:
    from alphalab.features.expr import kernels as K

    rng = np.random.default_rng(5)
    a = rng.standard_normal((60, 30))
    b = a * 0.3 + rng.standard_normal((60, 30))
    a[rng.random(a.shape) < 0.1] = np.nan
    b[:, 0] = np.inf
    a[5] = 2.0  # constant row
    a[6, 3:] = np.nan  # too few pairs
    a[7] *= 1e200  # huge values must not overflow
    got, want = K.cs_corr(a, b, 5), K.cs_corr_py(a, b, 5)
    np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True)
    assert np.isnan(got[5]) and np.isnan(got[6]) and np.isfinite(got[7])


def test_shared_ranks_give_the_same_numbers(panel: Panel) -> None:
    c = panel["close"]
    rng = np.random.default_rng(9)
    sig = np.log(c) - np.log(np.vstack([np.full((10, c.shape[1]), np.nan), c[:-10]]))
    sig[rng.random(sig.shape) < 0.05] = np.nan  # holes that differ from the labels' holes
    res = evaluate_factor(sig, c, horizon=5, horizons=(1, 5), dates=panel.dates)
    fwd = forward_returns(c, 5)
    pd.testing.assert_series_equal(
        res.rank_ic, information_coefficient(sig, fwd, dates=panel.dates), check_names=False)
    pd.testing.assert_frame_equal(res.quantiles, quantile_returns(sig, fwd, dates=panel.dates))
    pd.testing.assert_series_equal(res.autocorr, signal_autocorrelation(sig, dates=panel.dates))
