"""Run directories built from real S&P 500 closes for the report tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.report import rundir_builder as rb

HOSTILE = "<script>alert(1)</script>"

#: Acceptance gates the fixture run is judged by (alphalab.validation.gates).
GATE_SPEC = {"sharpe_min": 0.5, "max_drawdown_max": 0.35, "min_trades": 5, "beat_benchmark_by": 0.0}
#: Tickers with known bad prints / spin-offs, added to the health check so it finds issues.
ODD_TICKERS = ["LNT", "EBAY", "NWL"]


@pytest.fixture(scope="session")
def sp500_closes(us_sp500_long: pd.DataFrame) -> pd.DataFrame:
    """Closes of 20 S&P 500 stocks with full 2013-2018 history, shape (1259, 20)."""
    return rb.sp500_closes(us_sp500_long, 20)


@pytest.fixture(scope="session")
def sp500_benchmark(us_sp500_long: pd.DataFrame) -> pd.Series:
    """Equal-weight average daily return of all 505 stocks (the 'market')."""
    wide = us_sp500_long.pivot(index="date", columns="ticker", values="close")
    return wide.pct_change().mean(axis=1).fillna(0.0)


@pytest.fixture(scope="session")
def run_dir(
    tmp_path_factory: pytest.TempPathFactory,
    us_sp500_long: pd.DataFrame,
    sp500_closes: pd.DataFrame,
    sp500_benchmark: pd.Series,
) -> Path:
    """A complete run: 4 strategies (one with a hostile name), benchmark, gates, health.

    Session-scoped and shared: tests must not modify it (copy it first).
    """
    cols = list(sp500_closes.columns)
    rules = {
        "equal_weight": rb.equal_weight,
        "AAPL only": rb.single(cols.index("AAPL")),
        HOSTILE: rb.single(cols.index("ADBE")),
        "mom long/short": rb.momentum(5, short=True),
    }
    out = tmp_path_factory.mktemp("report") / "run"
    rb.build_run(out, sp500_closes, rules, sp500_benchmark)
    rb.add_gates(out, GATE_SPEC)
    checked = [*sp500_closes.columns, *ODD_TICKERS]
    rb.add_health(out, us_sp500_long[us_sp500_long["ticker"].isin(checked)], "us_sp500_5yr")
    return out


@pytest.fixture(scope="session")
def big_run_dir(tmp_path_factory: pytest.TempPathFactory, sp500_closes: pd.DataFrame) -> Path:
    """7 strategies x 20 assets x 8,000 days (real daily returns tiled in order)."""
    closes = rb.long_closes(sp500_closes, 8000)
    rules = {
        "equal_weight": rb.equal_weight,
        "inverse_vol": rb.inverse_vol(),
        "momentum_top5": rb.momentum(5),
        "momentum_top10": rb.momentum(10),
        "momentum_ls": rb.momentum(5, short=True),
        "single_A": rb.single(0),
        "single_AAL": rb.single(1),
    }
    bench = closes.pct_change().mean(axis=1).fillna(0.0)
    out = tmp_path_factory.mktemp("report_big") / "run"
    return rb.build_run(out, closes, rules, bench, study="big-8000-days")


@pytest.fixture(scope="session")
def study_run_dir(tmp_path_factory: pytest.TempPathFactory, us_sp500_long: pd.DataFrame) -> Path:
    """A real run directory written by ``alphalab.study`` (20 stocks, 2016-2017, 3 baselines)."""
    from alphalab.study import Study

    df = us_sp500_long[
        (us_sp500_long["date"] >= "2016-01-01") & (us_sp500_long["date"] <= "2017-12-31")
    ]
    counts = df.groupby("ticker").size()
    tickers = sorted(counts[counts == counts.max()].index)[:20]
    folder = tmp_path_factory.mktemp("study_data")
    df[df["ticker"].isin(tickers)].to_parquet(folder / "prices.parquet", index=False)
    bench = df[df["ticker"] == "MSFT"].assign(ticker="IDX")[["date", "ticker", "close"]]
    bench.to_parquet(folder / "index.parquet", index=False)
    study = {
        "name": "sp500-slice",
        "seed": 3,
        "data": {
            "dataset": "prices.parquet",
            "market": "us",
            "benchmark": "index.parquet",
            "start": "2016-07-01",
            "mode": "lenient",
        },
        "execution": {
            "at": "next_close",
            "rebalance": "monthly",
            "costs": {"commission_bps": 5, "slippage_bps": 5},
        },
        "strategies": [
            {"name": "buy_and_hold", "kind": "buy_and_hold"},
            {"name": "equal_weight", "kind": "equal_weight"},
            {"name": "momentum_top5", "kind": "momentum_topk", "params": {"k": 5}},
        ],
        "report": {"charts": False, "html": False, "rolling_window": 42},
    }
    out = tmp_path_factory.mktemp("study_runs") / "run"
    Study.from_dict(study, base_dir=folder).run(out=out, progress=False)
    return out
