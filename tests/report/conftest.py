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


#: 20 liquid HOSE names with history over the whole 2009-2020 span.
HOSE_LIQUID = ["VNM", "FPT", "HPG", "SSI", "MSN", "VIC", "REE", "PVD", "DPM", "KDC",
               "HAG", "STB", "GMD", "ITA", "VCB", "CTG", "BVH", "KBC", "PPC", "VSH"]  # fmt: skip


def hose_study() -> dict:
    """examples/hose_walkforward.yaml on 20 liquid tickers, report off (tests render it)."""
    import yaml

    from tests.conftest import REPO, shared_file

    data = yaml.safe_load((REPO / "examples" / "hose_walkforward.yaml").read_text())
    data["data"]["dataset"] = str(shared_file("vn_hose_2006_2020.parquet"))
    data["data"]["benchmark"] = str(shared_file("vnindex_2000_2020.parquet"))
    data["data"]["tickers"] = HOSE_LIQUID
    data["report"] = {**data.get("report", {}), "charts": False, "html": False}
    return data


@pytest.fixture(scope="session")
def validated_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real validated HOSE runs: ``dev`` (holdout sealed) and ``holdout`` (its 2nd look).

    The holdout ledger lives in a private ALPHALAB_HOME, restored afterwards.
    Session-scoped and shared: tests must not modify these directories.
    """
    import os
    import warnings

    from alphalab.study import Study

    root = tmp_path_factory.mktemp("validated")
    old = os.environ.get("ALPHALAB_HOME")
    os.environ["ALPHALAB_HOME"] = str(root / "home")
    try:
        with warnings.catch_warnings():
            # Known OHLC faults of the HOSE file and the index ending early (both counted).
            warnings.simplefilter("ignore")
            study = Study.from_dict(hose_study())
            out = {"dev": study.run(out=root / "dev", progress=False).run_dir}
            study.run(out=root / "holdout", progress=False, holdout=True)
            out["holdout"] = study.run(out=root / "holdout", progress=False, holdout=True).run_dir
    finally:
        if old is None:
            os.environ.pop("ALPHALAB_HOME", None)
        else:
            os.environ["ALPHALAB_HOME"] = old
    return out
