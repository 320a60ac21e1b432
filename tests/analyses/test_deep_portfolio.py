"""The deep_portfolio analysis on a small real study (tiny network, 2007-2012)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphalab.analyses.deep_portfolio import DeepPortfolioReport, paper_metrics
from alphalab.study import Study
from tests.conftest import shared_file
from tests.models.deep_portfolio.conftest import ETF_COLUMNS


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = {
        "name": "dp-small",
        "seed": 1,
        "data": {"dataset": str(shared_file("us_etf_daily_2000_2025.parquet")), "market": "us",
                 "tickers": ["SPY", "TLT", "GLD", "HYG"], "columns": ETF_COLUMNS,
                 "start": "2007-04-11", "end": "2011-12-31"},
        "execution": {"at": "next_close", "rebalance": "monthly", "rules": "proportional",
                      "costs": {"commission_bps": 1, "slippage_bps": 0}},
        "strategies": [
            {"name": "deep", "kind": "deep_sharpe",
             "params": {"architecture": "mlp", "window": 20, "hidden_size": 4, "max_epochs": 2,
                        "n_seeds": 2, "progress": False}},
            {"name": "equal_weight", "kind": "equal_weight"},
            {"name": "fixed_60_40", "kind": "fixed", "params": {"weights": {"SPY": 0.6, "TLT": 0.4}}},
        ],
        "validation": {"walk_forward": {"train": "3y", "test": "1y", "mode": "expanding"}},
        "analyses": [{"name": "paper", "kind": "deep_portfolio", "params": {"model": "deep"}}],
        "report": {"charts": False, "html": False},
    }
    out = tmp_path_factory.mktemp("dp") / "run"
    Study.from_dict(study).run(out, progress=False)
    return out


def test_summary_and_files(run: Path) -> None:
    record = json.loads((run / "analyses" / "paper.json").read_text())
    s = record["summary"]
    assert [c["name"] for c in s["conditions"]] == ["1 bp, no scaling", "1 bp, vol scaled", "10 bp, vol scaled"]
    for rows in s["table"].values():
        assert set(rows) == {"deep", "equal_weight", "fixed_60_40"}
    assert set(s["dsr"]["1 bp, no scaling"]) >= {"dsr", "n_configurations"}
    assert s["dsr"]["1 bp, no scaling"]["n_configurations"] == 3
    assert "beat" in s["verdict"]["statement"] or "did not beat" in s["verdict"]["statement"]
    for f in ("cumulative.png", "weights.png", "model_weights.parquet", "returns_1_bp_no_scaling.parquet"):
        assert (run / "analyses" / "paper" / f).exists()
    html = DeepPortfolioReport.render(s, run / "analyses" / "paper")
    assert "Sharpe" in html and "data:image/png;base64" in html


def test_rerun_under_the_study_condition_reproduces_the_run(run: Path) -> None:
    # The study itself ran at 1 bp unscaled: re-running the recovered decisions under that
    # condition must give back the study's own returns.
    own = pd.read_parquet(run / "returns.parquet")
    again = pd.read_parquet(run / "analyses" / "paper" / "returns_1_bp_no_scaling.parquet")
    for name in ("deep", "equal_weight", "fixed_60_40"):
        a, b = own[name].dropna(), again[name].reindex(own[name].dropna().index)
        assert np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-9), name


def test_costs_and_scaling_move_the_numbers(run: Path) -> None:
    s = json.loads((run / "analyses" / "paper.json").read_text())["summary"]["table"]
    for name in ("deep", "equal_weight"):
        lo, hi = s["1 bp, vol scaled"][name], s["10 bp, vol scaled"][name]
        assert hi["expected_return"] < lo["expected_return"]  # same weights, more cost
        assert hi["turnover"] == pytest.approx(lo["turnover"], rel=0.05)


def test_paper_metrics_by_hand() -> None:
    r = pd.Series([0.01, -0.02, 0.03, 0.0, -0.01])
    m = paper_metrics(r, pd.Series([0.1] * 5), periods_per_year=252)
    assert m["expected_return"] == pytest.approx(0.002 * 252)
    assert m["pct_positive"] == pytest.approx(0.4)
    assert m["avg_gain_over_loss"] == pytest.approx(0.02 / 0.015)
    assert m["downside_deviation"] == pytest.approx(np.sqrt((0.0004 + 0.0001) / 5) * np.sqrt(252))
    assert m["max_drawdown"] == pytest.approx((1.01 * 0.98 * 1.03 * 0.99) / (1.01 * 0.98 * 1.03) - 1 + 0.0, abs=0.03)
    assert m["turnover"] == pytest.approx(25.2)


def test_sharpe_above_the_band_is_flagged_suspect(run: Path) -> None:
    s = json.loads((run / "analyses" / "paper.json").read_text())["summary"]
    table = json.loads(json.dumps(s["table"]))
    table["1 bp, vol scaled"]["fixed_60_40"]["sharpe"] = 3.1  # far above any published band
    report = DeepPortfolioReport(model="deep")
    verdict = report._verdict(table, s["dsr"])
    assert verdict["suspect"] == [{"condition": "1 bp, vol scaled", "strategy": "fixed_60_40", "sharpe": 3.1}]
    assert not [x for x in s["verdict"]["suspect"] if x["sharpe"] <= 2.5]
    html = DeepPortfolioReport.render({**s, "verdict": verdict}, run / "analyses" / "paper")
    assert "Suspect:</b> fixed_60_40 has Sharpe 3.10" in html


def test_vol_check_and_seed_ensemble_are_reported(run: Path) -> None:
    s = json.loads((run / "analyses" / "paper.json").read_text())["summary"]
    checks = {c["condition"]: c for c in s["vol_check"]}
    assert set(checks) == {"1 bp, vol scaled", "10 bp, vol scaled"}
    c = checks["1 bp, vol scaled"]
    assert c["model"] == pytest.approx(s["table"]["1 bp, vol scaled"]["deep"]["volatility"])
    assert c["min"] <= c["model"] <= c["max"]
    assert s["seeds"]["available"] and len(s["seeds"]["sharpe"]) == 2
    html = DeepPortfolioReport.render(s, run / "analyses" / "paper")
    assert "Volatility scaling (1 bp, vol scaled)" in html and "the ensemble of their weights" in html


def test_indices_are_named_not_investable() -> None:
    from alphalab.analyses.deep_portfolio import _non_investable
    from alphalab.data.panel import Panel

    df = pd.read_parquet(shared_file("us_etf_daily_2000_2025.parquet"))
    df = df[df["ticker"].isin(["SPY", "TLT", "GLD", "HYG"])].copy()
    df["ticker"] = df["ticker"].replace({"TLT": "^VIX", "GLD": "SPX"})
    df.loc[df["ticker"] == "HYG", "volume"] = 0  # a quote with no traded volume
    panel = Panel.from_long(df, ["close", "volume"])
    found = {a["ticker"]: a["why"] for a in _non_investable(panel, ["SPY"])}
    assert set(found) == {"^VIX", "SPX", "HYG", "SPY"}
    assert "index level" in found["^VIX"] and "no traded volume" in found["HYG"]
    html = DeepPortfolioReport.render({"non_investable": [{"ticker": "^VIX", "why": found["^VIX"]}]}, Path("."))
    assert "Not investable:</b> ^VIX" in html


def test_dsr_counts_every_tuning_trial(tmp_path: Path) -> None:
    # A tuned network (Optuna on the inner block, 2 trials per fold) beside one baseline: the DSR
    # deflates over every trial of every fold plus the baseline.
    study = {
        "name": "dp-tuned", "seed": 3,
        "data": {"dataset": str(shared_file("us_etf_daily_2000_2025.parquet")), "market": "us",
                 "tickers": ["SPY", "TLT"], "columns": ETF_COLUMNS, "start": "2007-04-11", "end": "2010-12-31"},
        "execution": {"at": "next_close", "rebalance": "monthly", "rules": "proportional",
                      "costs": {"commission_bps": 1, "slippage_bps": 0}},
        "strategies": [
            {"name": "deep", "kind": "deep_sharpe",
             "params": {"architecture": "mlp", "window": 20, "hidden_size": 4, "max_epochs": 1,
                        "n_seeds": 1, "progress": False},
             "tune": {"space": {"hidden_size": {"type": "categorical", "choices": [2, 4]},
                                "lr": {"low": 0.001, "high": 0.01, "log": True}},
                      "n_trials": 2, "inner": "6m"}},
            {"name": "equal_weight", "kind": "equal_weight"},
        ],
        "validation": {"walk_forward": {"train": "2y", "test": "1y", "mode": "expanding"}},
        "analyses": [{"name": "paper", "kind": "deep_portfolio", "params": {"model": "deep"}}],
        "guard": {"mode": "off", "reason": "trial-count test"},
        "report": {"charts": False, "html": False},
    }
    out = tmp_path / "run"
    Study.from_dict(study).run(out, progress=False)
    s = json.loads((out / "analyses" / "paper.json").read_text())["summary"]
    n_folds = len(json.loads((out / "diagnostics" / "deep.json").read_text()))
    assert n_folds >= 2
    assert s["trials"] == {"deep": 2 * n_folds, "equal_weight": 1}
    assert "manifest" in s["trials_source"]
    for d in s["dsr"].values():
        assert d["n_configurations"] == 2 * n_folds + 1
    html = DeepPortfolioReport.render(s, out / "analyses" / "paper")
    assert f"tuning trials: deep {2 * n_folds}" in html
