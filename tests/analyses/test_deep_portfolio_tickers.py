"""examples/etf_deep_portfolio.yaml on other tickers and another panel of the same schema.

The example's strategies and analysis run as written; only the span is cut (2007-2010,
monthly) and the network shrunk, so that the test stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alphalab.study import Study
from tests.conftest import shared_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "etf_deep_portfolio.yaml"


def _example(tickers: list[str] | None, dataset: str | None = None) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.pop("profiles")
    if tickers is not None:
        data["data"]["tickers"] = tickers
    else:
        data["data"].pop("tickers")
    if dataset is not None:
        data["data"]["dataset"] = dataset
    data["data"]["end"] = "2010-12-31"
    data["execution"]["rebalance"] = "monthly"
    data["validation"]["walk_forward"] = {"train": "2y", "test": "1y", "mode": "expanding"}
    deep = data["strategies"][0]
    assert deep["kind"] == "deep_sharpe"
    deep["params"].update(architecture="mlp", window=20, hidden_size=4, max_epochs=1, n_seeds=1,
                          progress=False)
    data["report"] = {"charts": False, "html": False}
    # the guard re-decides every strategy under perturbed data for a share of the wall time;
    # the full example runs it, this test is about which tickers the strategies meet
    data["guard"] = {"mode": "off", "reason": "ticker-list test; the example's own runs keep the guard"}
    return data


def _summary(data: dict, out: Path) -> dict:
    Study.from_dict(data, base_dir=EXAMPLE.parent).run(out, progress=False)
    return json.loads((out / "analyses" / "paper_table.json").read_text())["summary"]


def test_example_runs_on_another_ticker_list(tmp_path: Path) -> None:
    # SLV is not in the file: ask only for what it holds, in a different mix of roles
    s = _summary(_example(["QQQ", "IEF", "LQD", "EEM"]), tmp_path / "run")
    names = [st["name"] for st in yaml.safe_load(EXAMPLE.read_text())["strategies"]]
    for rows in s["table"].values():
        assert list(rows) == names
    notes = s["notes"]
    # 60/40 finds both of its groups (equity: QQQ + EEM, treasuries: IEF): nothing to say
    assert "fixed_60_40" not in notes
    # the others lose real_assets (no GLD/VNQ/... here), rescaled, and say so
    for name in ("fixed_40_40_10_10", "fixed_30_40_15_15"):
        assert any("group 'real_assets'" in n and "dropped" in n for n in notes[name]), notes
        assert any("scaled by" in n for n in notes[name])
    from alphalab.analyses.deep_portfolio import DeepPortfolioReport

    html = DeepPortfolioReport.render(s, tmp_path / "run" / "analyses" / "paper_table")
    assert "Note on fixed_40_40_10_10" in html and "real_assets" in html


def test_example_runs_on_another_panel_of_the_same_schema(tmp_path: Path) -> None:
    # The file's schema with other names: none of the fixed allocations' groups is in it.
    df = pd.read_parquet(shared_file("us_etf_daily_2000_2025.parquet"))
    df = df[df["ticker"].isin(["SPY", "TLT", "GLD"])].copy()
    df["ticker"] = df["ticker"].map({"SPY": "AAA", "TLT": "BBB", "GLD": "CCC"})
    path = tmp_path / "other.parquet"
    df.to_parquet(path, index=False)
    data = _example(None, dataset=str(path))
    s = _summary(data, tmp_path / "run")
    notes = s["notes"]
    for name in ("fixed_60_40", "fixed_40_40_10_10", "fixed_30_40_15_15"):
        assert any("holds cash" in n for n in notes[name]), notes
    last = s["verdict"]["per_condition"]["10 bp, vol scaled"]
    # a strategy that held cash has no Sharpe: it cannot be the best baseline
    assert last["best_baseline"] not in {"fixed_60_40", "fixed_40_40_10_10", "fixed_30_40_15_15"}
    assert last["best_baseline"] is not None and last["model_sharpe"] == pytest.approx(last["model_sharpe"])
