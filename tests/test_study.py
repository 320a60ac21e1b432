"""Study runner on a real slice of the S&P 500 five-year panel: run directory, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml

from alphalab.config import StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import STRATEGIES, Requirements, Strategy, register_strategy
from alphalab.study import RunResult, Study, benchmark_returns

N_TICKERS = 20
STRATS = [
    {"name": "bh", "kind": "buy_and_hold"},
    {"name": "ew", "kind": "equal_weight"},
    {"name": "iv", "kind": "inverse_vol"},
    {"name": "minvar", "kind": "min_variance"},
    {"name": "mom", "kind": "momentum_topk", "params": {"k": 5}},
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, us_sp500_long: pd.DataFrame) -> Path:
    """20 tickers with full history over 2016-2017, plus a one-ticker benchmark file."""
    df = us_sp500_long
    df = df[(df["date"] >= "2016-01-01") & (df["date"] <= "2017-12-31")]
    counts = df.groupby("ticker").size()
    full = sorted(counts[counts == counts.max()].index)[:N_TICKERS]
    folder = tmp_path_factory.mktemp("study_data")
    df[df["ticker"].isin(full)].to_parquet(folder / "prices.parquet", index=False)
    bench = df[df["ticker"] == "MSFT"].assign(ticker="IDX")[["date", "ticker", "close"]]
    bench.to_parquet(folder / "index.parquet", index=False)
    return folder


def _study(folder: Path, **data: Any) -> dict[str, Any]:
    return {
        "name": "slice",
        "seed": 11,
        "data": {
            "dataset": "prices.parquet",
            "market": "us",
            "benchmark": "index.parquet",
            "start": "2016-07-01",
            "mode": "lenient",
            **data,
        },
        "execution": {
            "at": "next_close",
            "rebalance": "monthly",
            "costs": {"commission_bps": 5, "slippage_bps": 5},
        },
        "strategies": STRATS,
        "report": {"charts": False, "html": False},
    }


def _write_yaml(folder: Path, study: dict[str, Any], name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(study))
    return path


@pytest.fixture(scope="module")
def run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    path = _write_yaml(data_dir, _study(data_dir))
    out = tmp_path_factory.mktemp("runs") / "first"
    return Study.from_yaml(path).run(out=out, progress=False)


def test_run_directory_layout(run: RunResult) -> None:
    d = run.run_dir
    names = [s["name"] for s in STRATS]
    for f in (
        "manifest.json",
        "config.yaml",
        "metrics.json",
        "equity.parquet",
        "returns.parquet",
        "trades.parquet",
        "rejected.parquet",
        "costs.json",
    ):
        assert (d / f).is_file(), f
    assert sorted(p.stem for p in (d / "weights").glob("*.parquet")) == sorted(names)
    assert not list(d.parent.glob(".first.tmp-*")), "temporary folder left behind"

    equity = pd.read_parquet(d / "equity.parquet")
    returns = pd.read_parquet(d / "returns.parquet")
    assert list(equity.columns) == [*names, "benchmark"]
    assert list(returns.columns) == list(equity.columns)
    assert equity.index.name == "date" and isinstance(equity.index, pd.DatetimeIndex)
    assert equity.index[0] >= pd.Timestamp("2016-07-01")
    assert equity.index[0] == pd.Timestamp("2016-07-01")  # a trading day: the first decision
    assert np.allclose(equity.iloc[0], 1_000_000.0)
    # Returns are the equity's own day-on-day changes.
    assert np.allclose(equity.pct_change().iloc[1:], returns.iloc[1:], atol=1e-10)

    metrics = json.loads((d / "metrics.json").read_text())
    assert list(metrics) == [*names, "benchmark"]
    assert set(metrics["ew"]) == set(run.metrics.columns)
    for name in names:
        for key, value in metrics[name].items():
            expected = run.metrics.loc[name, key]
            assert (value is None and not np.isfinite(expected)) or value == pytest.approx(expected)

    trades = pd.read_parquet(d / "trades.parquet")
    assert list(trades.columns[:4]) == ["strategy", "date", "ticker", "side"]
    assert {"shares", "price", "value", "commission", "tax", "slippage"} <= set(trades.columns)
    assert set(trades["strategy"]) == set(names)
    # Buy and hold trades once (the first decision); equal weight at every month start.
    bh_days = trades.loc[trades["strategy"] == "bh", "date"].nunique()
    ew_days = trades.loc[trades["strategy"] == "ew", "date"].nunique()
    assert bh_days == 1 and ew_days >= 12
    rejected = pd.read_parquet(d / "rejected.parquet")
    assert "strategy" in rejected.columns and "reason" in rejected.columns

    costs = json.loads((d / "costs.json").read_text())
    assert set(costs) == set(names) and costs["ew"]["commission"] > 0

    weights = pd.read_parquet(d / "weights" / "ew.parquet")
    assert weights.shape == (len(equity), N_TICKERS)
    # Held weights just after a rebalance sit near 1/20 each (5 bps costs, whole shares).
    assert np.allclose(weights.iloc[5].sum(), 1.0, atol=0.01)


def test_manifest(run: RunResult, data_dir: Path) -> None:
    m = json.loads((run.run_dir / "manifest.json").read_text())
    cfg = StudyConfig.from_yaml(data_dir / "study.yaml")
    assert m["config_hash"] == cfg.config_hash()
    assert m["seed"] == 11 and m["study"] == "slice" and m["market"] == "us"
    assert len(m["data_hash"]) == 64
    assert {"numpy", "pandas", "alphalab", "numba"} <= set(m["versions"])
    assert m["python"] and m["platform"] and m["created"]
    t = m["timings"]
    assert set(t["strategies"]) == {s["name"] for s in STRATS}
    assert t["load"] >= 0 and t["total"] >= t["load"]
    assert m["window"]["start"] == "2016-07-01" and m["window"]["end"] == "2017-12-29"
    assert m["window"]["n_dates"] == len(pd.read_parquet(run.run_dir / "equity.parquet"))
    written = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    assert StudyConfig.from_dict(written).config_hash() == cfg.config_hash()


def test_benchmark_is_the_file_aligned_to_the_panel(run: RunResult, data_dir: Path) -> None:
    bench = pd.read_parquet(data_dir / "index.parquet").set_index("date")["close"]
    returns = pd.read_parquet(run.run_dir / "returns.parquet")["benchmark"]
    expected = bench.reindex(returns.index).pct_change().fillna(0.0)
    assert np.allclose(returns.to_numpy(), expected.to_numpy())
    equity = pd.read_parquet(run.run_dir / "equity.parquet")["benchmark"]
    assert equity.iloc[-1] == pytest.approx(
        1e6 * bench.loc[equity.index[-1]] / bench.loc[equity.index[0]]
    )


def test_same_config_same_numbers(run: RunResult, data_dir: Path, tmp_path: Path) -> None:
    again = Study.from_yaml(data_dir / "study.yaml").run(out=tmp_path / "second", progress=False)
    assert (again.run_dir / "metrics.json").read_bytes() == (
        run.run_dir / "metrics.json"
    ).read_bytes()
    assert (again.run_dir / "equity.parquet").read_bytes() == (
        run.run_dir / "equity.parquet"
    ).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(again.run_dir / "trades.parquet"),
        pd.read_parquet(run.run_dir / "trades.parquet"),
    )


def test_benchmark_ticker_default_start_and_rerun_into_same_folder(
    data_dir: Path, tmp_path: Path
) -> None:
    study = _study(data_dir, benchmark="AAPL", start=None, end="2016-12-31")
    study["strategies"] = [
        {"name": "ew", "kind": "equal_weight"},
        {"name": "mom", "kind": "momentum_topk", "params": {"k": 3}},
    ]
    cfg = StudyConfig.from_dict(study, base_dir=data_dir)
    need = max(s.build().requires.min_history for s in cfg.strategies)
    out = tmp_path / "run"
    result = Study(cfg).run(out=out, progress=False)
    dates = pd.read_parquet(data_dir / "prices.parquet")["date"].drop_duplicates().sort_values()
    equity = pd.read_parquet(out / "equity.parquet")
    # Without a start the window opens once every strategy has its history.
    assert equity.index[0] == dates.iloc[need - 1]
    assert equity.index[-1] == pd.Timestamp("2016-12-30")
    aapl = pd.read_parquet(data_dir / "prices.parquet").query("ticker == 'AAPL'").set_index("date")
    assert equity["benchmark"].iloc[-1] == pytest.approx(
        1e6 * aapl["close"].loc[equity.index[-1]] / aapl["close"].loc[equity.index[0]]
    )
    # Running again into the same folder replaces the previous run.
    (out / "stale.txt").write_text("from the previous run")
    Study(cfg).run(out=out, progress=False)
    assert not (out / "stale.txt").exists() and (out / "manifest.json").is_file()
    assert result.metrics.index[-1] == "benchmark"


def test_refuses_to_clobber_a_foreign_folder(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    cfg = StudyConfig.from_dict(_study(data_dir), base_dir=data_dir)
    with pytest.raises(ConfigError, match="not an alphalab run directory"):
        Study(cfg).run(out=out, progress=False)
    assert (out / "thesis.tex").read_text() == "precious"


def test_user_errors_name_the_problem(data_dir: Path, tmp_path: Path) -> None:
    missing = StudyConfig.from_dict(_study(data_dir, dataset="nope.parquet"), base_dir=data_dir)
    with pytest.raises((FileNotFoundError, DataError), match=r"nope\.parquet"):
        Study(missing).run(out=tmp_path / "a", progress=False)
    bench = pd.read_parquet(data_dir / "index.parquet")
    bench[bench["date"] >= "2016-03-01"].to_parquet(tmp_path / "late.parquet", index=False)
    late = StudyConfig.from_dict(
        _study(data_dir, benchmark=str(tmp_path / "late.parquet"), start="2016-02-01"),
        base_dir=data_dir,
    )
    with pytest.raises(DataError, match="benchmark starts on 2016-03-01"):
        Study(late).run(out=tmp_path / "b", progress=False)
    empty = StudyConfig.from_dict(_study(data_dir, start="2017-12-29"), base_dir=data_dir)
    with pytest.raises(DataError, match="at least 2"):
        Study(empty).run(out=tmp_path / "c", progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_explicit_rebalance_dates(data_dir: Path, tmp_path: Path) -> None:
    study = _study(data_dir)
    study["strategies"] = [{"name": "ew", "kind": "equal_weight"}]
    study["execution"]["rebalance"] = ["2016-07-01", "2017-03-01"]
    result = Study.from_dict(study, base_dir=data_dir).run(out=tmp_path / "r", progress=False)
    trades = result.results["ew"].trades_frame()
    # next_close: each decision fills at the following bar's close.
    assert sorted({str(d.date()) for d in trades["date"]}) == ["2016-07-05", "2017-03-02"]
    study["execution"]["rebalance"] = ["2016-07-02"]  # a Saturday
    with pytest.raises(ConfigError, match="2016-07-02"):
        Study.from_dict(study, base_dir=data_dir).run(out=tmp_path / "s", progress=False)
    study["execution"]["rebalance"] = ["2016-03-01"]  # before the window
    with pytest.raises(ConfigError, match="outside the study window"):
        Study.from_dict(study, base_dir=data_dir).run(out=tmp_path / "t", progress=False)


def test_report_options_reach_the_report(data_dir: Path, tmp_path: Path) -> None:
    study = _study(data_dir, start="2017-06-01")
    study["strategies"] = [{"name": "ew", "kind": "equal_weight"}]
    study["report"] = {"charts": True, "html": False}
    result = Study.from_dict(study, base_dir=data_dir).run(out=tmp_path / "r", progress=False)
    assert list((result.run_dir / "charts").glob("equity*.png"))
    assert not (result.run_dir / "report.html").exists()
    assert "report" in result.manifest["timings"]


def test_benchmark_returns_carry_the_last_close() -> None:
    close = pd.Series(
        [100.0, 110.0, 99.0, 108.9],
        index=pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-06", "2020-01-08"]),
    )
    # 2020-01-02: no print that day, 01-07: none either (carried), 01-08: the move lands.
    dates = pd.DatetimeIndex(
        pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"])
    )
    out = benchmark_returns(close, dates)
    assert out.tolist() == pytest.approx([0.0, 0.1, -0.1, 0.0, 0.1])
    with pytest.raises(DataError, match="starts on"):
        benchmark_returns(close, pd.DatetimeIndex(["2019-12-31", "2020-01-03"]))
    with pytest.warns(RuntimeWarning, match="ends on 2020-01-08"):
        late = benchmark_returns(close, dates.append(pd.DatetimeIndex(["2020-01-09"])))
    assert late.iloc[-1] == 0.0


class _Learner(Strategy):
    """Records what ``fit`` saw; holds its fitted-on-the-past best asset."""

    requires: ClassVar[Requirements] = Requirements(learns=True, min_history=20)

    def __init__(self) -> None:
        pass

    def fit(self, panel: Panel, until: Any = None) -> _Learner:
        self.seen_last_ = panel.dates[-1]
        self.fitted_until_ = pd.Timestamp(until)
        close = panel["close"]
        self.best_ = int(np.nanargmax(close[-1] / close[0]))
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = np.zeros((len(dates), panel.n_assets))
        out[:, self.best_] = 1.0
        return out


@pytest.fixture
def learner_kind() -> Any:
    kind = "_test_learner"
    register_strategy(kind)(_Learner)
    yield kind
    STRATEGIES.pop(kind, None)


def test_learning_strategies_fit_only_before_the_window(
    data_dir: Path, tmp_path: Path, learner_kind: str
) -> None:
    study = _study(data_dir)
    study["strategies"] = [{"name": "learner", "kind": learner_kind}]
    result = Study.from_dict(study, base_dir=data_dir).run(out=tmp_path / "r", progress=False)
    weights = result.results["learner"].weights
    held = weights.columns[weights.iloc[-1].to_numpy().argmax()]
    prices = pd.read_parquet(data_dir / "prices.parquet")
    before = prices[prices["date"] <= "2016-07-01"].pivot(
        index="date", columns="ticker", values="close"
    )
    assert held == (before.iloc[-1] / before.iloc[0]).idxmax()


def test_top_level_api_is_lazy() -> None:
    import subprocess
    import sys

    import alphalab as al

    assert al.Study is Study and al.StudyConfig is StudyConfig
    from alphalab.backtest.engine import backtest

    # al.run_backtest is the engine behind the data seal (alphalab.validation.sealed)
    assert al.run_backtest.__wrapped__ is backtest
    code = "import sys, alphalab; print('alphalab.study' in sys.modules, 'skfolio' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "example",
    sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_example_studies_run_end_to_end(example: Path, tmp_path: Path) -> None:
    study = Study.from_yaml(example)
    source = study.config.resolve_source(study.config.data.dataset)
    if isinstance(source, Path) and not source.exists():
        pytest.fail(f"{example.name} needs {source}; the shared data must sit beside the repo")
    result = study.run(out=tmp_path / "run", progress=False)
    assert (result.run_dir / "report.html").is_file()
    assert list(result.metrics.index) == [s.name for s in study.config.strategies] + ["benchmark"]
    assert np.isfinite(result.metrics["sharpe"]).all()


# ------------------------------------------------------------ hostile input
def test_study_needs_a_config() -> None:
    with pytest.raises(ConfigError, match="needs a StudyConfig, got dict"):
        Study({"name": "x"})  # type: ignore[arg-type]


def test_tickers_not_in_the_data_name_the_key(data_dir: Path, tmp_path: Path) -> None:
    cfg = StudyConfig.from_dict(_study(data_dir, tickers=["AAPL", "NOPE"]), base_dir=data_dir)
    with pytest.raises(DataError, match=r"data\.tickers: .*'NOPE'"):
        Study(cfg).run(out=tmp_path / "o", progress=False)


@pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning")
def test_benchmark_with_all_nan_closes(data_dir: Path, tmp_path: Path) -> None:
    bench = pd.read_parquet(data_dir / "index.parquet").assign(close=np.nan)
    bench.to_parquet(tmp_path / "nan.parquet", index=False)
    cfg = StudyConfig.from_dict(
        _study(data_dir, benchmark=str(tmp_path / "nan.parquet")), base_dir=data_dir
    )
    with pytest.raises(DataError, match=r"benchmark .*nan\.parquet.*: no valid rows"):
        Study(cfg).run(out=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


@pytest.mark.filterwarnings("ignore::alphalab.data.validation.DataQualityWarning")
def test_benchmark_ticker_with_all_nan_closes(data_dir: Path, tmp_path: Path) -> None:
    prices = pd.read_parquet(data_dir / "prices.parquet")
    odd = prices[prices["ticker"] == prices["ticker"].iloc[0]].assign(ticker="DEAD")
    odd[["open", "high", "low", "close"]] = np.nan
    pd.concat([prices, odd]).to_parquet(tmp_path / "p.parquet", index=False)
    cfg = StudyConfig.from_dict(
        _study(data_dir, dataset=str(tmp_path / "p.parquet"), benchmark="DEAD"), base_dir=data_dir
    )
    with pytest.raises(DataError, match="benchmark 'DEAD'"):
        Study(cfg).run(out=tmp_path / "o", progress=False)


def test_output_path_that_is_a_file(data_dir: Path, tmp_path: Path) -> None:
    cfg = StudyConfig.from_dict(_study(data_dir), base_dir=data_dir)
    afile = tmp_path / "afile"
    afile.write_text("precious")
    with pytest.raises(ConfigError, match=r"afile is a file, not a folder"):
        Study(cfg).run(out=afile, progress=False)
    with pytest.raises(ConfigError, match=r"afile is a file, not a folder"):
        Study(cfg).run(out=afile / "run", progress=False)
    assert afile.read_text() == "precious"
