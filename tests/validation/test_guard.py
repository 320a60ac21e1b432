"""The study-time leakage guard on real S&P 500 data: a look-ahead strategy ends LEAK in
`alphalab run` and `evaluate`, a 1-in-500 peek and a centred mean fed through a feature
set are caught in the default mode, honest baselines and an honest learner are never
flagged (false-positive rate over 20 seeds), perturbations keep prices valid."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import alphalab.portfolio  # noqa: F401 - registers the baselines
from alphalab.backtest import backtest
from alphalab.cli import app
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.features.sets import FEATURE_SETS, register_feature_set
from alphalab.portfolio.base import (
    STRATEGIES,
    Requirements,
    Strategy,
    decision_rows,
    make_strategy,
)
from alphalab.study import Study
from alphalab.validation.guard import (
    GuardSpec,
    plan_from_run,
    plan_from_walk_forward,
    run_guard,
    valid_perturbation,
)
from alphalab.validation.splits import WalkForward
from alphalab.validation.walkforward import EngineSettings, run_walk_forward
from tests.conftest import shared_file

NAMES = ["AAPL", "MSFT", "AMZN", "JPM", "XOM", "JNJ", "WMT", "PG", "KO", "INTC", "CSCO", "PFE"]


@pytest.fixture(scope="module")
def sp12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    path = tmp_path_factory.mktemp("sp12") / "sp12.parquet"
    df[df["ticker"].isin(NAMES)].to_parquet(path)
    return path


@pytest.fixture(scope="module")
def panel(sp12: Path) -> Panel:
    df = pd.read_parquet(sp12)
    return Panel.from_long(df, ["open", "high", "low", "close", "volume"])


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


class PeekTomorrow(Strategy):
    """Top ``k`` by tomorrow's return on rows ``r % every == every // 2`` (every=1: always),
    20-day momentum otherwise."""

    requires = Requirements(fields=("close",))

    def __init__(self, k: int = 3, every: int = 1) -> None:
        self.k, self.every = k, every

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        close = panel["close"]
        rows = decision_rows(panel, dates)
        out = np.zeros((len(rows), panel.n_assets))
        for i, r in enumerate(rows):
            if r + 1 < panel.n_dates and r % self.every == self.every // 2:
                score = close[r + 1] / close[r]
            else:
                score = close[r] / close[max(r - 20, 0)]
            out[i, np.argsort(-np.nan_to_num(score, nan=-np.inf))[: self.k]] = 1.0 / self.k
        return out


class FeatureTopK(Strategy):
    """Top ``k`` by a panel field (e.g. a feature-set output)."""

    requires = Requirements(fields=("close",))

    def __init__(self, field: str = "centred_mean", k: int = 3) -> None:
        self.field, self.k = field, k

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        x = panel[self.field][decision_rows(panel, dates)] / panel["close"][decision_rows(panel, dates)]
        out = np.zeros((len(dates), panel.n_assets))
        for i in range(len(dates)):
            out[i, np.argsort(-np.nan_to_num(x[i], nan=-np.inf))[: self.k]] = 1.0 / self.k
        return out


class RidgeLearner(Strategy):
    """An honest learner: ridge regression of next-day returns on 5 lagged returns,
    fitted on rows up to ``until``, long the top ``k`` predictions."""

    requires = Requirements(fields=("close",), min_history=10, learns=True)

    def __init__(self, k: int = 3, alpha: float = 1.0) -> None:
        self.k, self.alpha = k, alpha

    @staticmethod
    def _features(close: np.ndarray) -> np.ndarray:
        r = np.full_like(close, np.nan)
        r[1:] = close[1:] / close[:-1] - 1.0
        lags = [np.vstack([np.full((j, close.shape[1]), np.nan), r[: len(r) - j]]) for j in range(5)]
        return np.stack(lags, axis=-1)  # (n_dates, n_assets, 5)

    def fit(self, panel: Panel, until: object = None) -> Strategy:
        from sklearn.linear_model import Ridge

        close = panel["close"][: int(panel.dates.searchsorted(pd.Timestamp(until), "right"))]
        x = self._features(close)[:-1].reshape(-1, 5)
        y = (close[1:] / close[:-1] - 1.0).reshape(-1)
        ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
        self.model_ = Ridge(alpha=self.alpha).fit(x[ok], y[ok])
        return super().fit(panel, until)

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        rows = decision_rows(panel, dates)
        x = self._features(panel["close"][: rows.max() + 1])[rows]
        out = np.zeros((len(rows), panel.n_assets))
        for i in range(len(rows)):
            pred = self.model_.predict(np.nan_to_num(x[i]))
            out[i, np.argsort(-pred)[: self.k]] = 1.0 / self.k
        return out


def _centred_mean(p: Panel) -> dict[str, np.ndarray]:
    # a centred 5-day window: row t averages t-2 .. t+2 (two days of the future)
    c = pd.DataFrame(p["close"]).rolling(5, center=True).mean().to_numpy()
    return {"centred_mean": c}


#: Registered only while this module's tests run, so that suite-wide parametrisations over
#: every registered strategy (tests/validation/test_strategy_leakage.py) never see them.
TEST_KINDS = {
    "test_peek_tomorrow": PeekTomorrow,
    "test_feature_topk": FeatureTopK,
    "test_ridge_learner": RidgeLearner,
}


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The leaky test strategies and the centred-mean feature set, registered for a while."""
    for kind, cls in TEST_KINDS.items():
        STRATEGIES[kind] = cls
    register_feature_set("test_centred_mean", _centred_mean, requires=("close",), replace=True)
    try:
        yield
    finally:
        for kind in TEST_KINDS:
            STRATEGIES.pop(kind, None)
        FEATURE_SETS.pop("test_centred_mean", None)


@pytest.fixture(autouse=True, scope="module")
def _test_strategies() -> Iterator[None]:
    with registered():
        yield


def _study(sp12: Path, strategies: list[dict], **extra: object) -> dict:
    return {
        "name": "peek",
        "data": {"dataset": str(sp12), "market": "us"},
        "execution": {"rebalance": "daily", "costs": {"commission_bps": 10}},
        "strategies": strategies,
        "validation": {"walk_forward": {"train": "1y", "test": "6m"},
                       "holdout": {"start": "2017-06-01"}},
        "gates": {"sharpe_min": 0.5},
        "report": {"charts": False, "html": False},
        **extra,
    }


def test_look_ahead_study_ends_leak_in_run_and_evaluate(sp12, tmp_path, home) -> None:
    cfg = _study(sp12, [{"name": "peek", "kind": "test_peek_tomorrow"},
                        {"name": "ew", "kind": "equal_weight"}])  # fmt: skip
    path = tmp_path / "peek.yaml"
    path.write_text(yaml.safe_dump(cfg))
    for args in (["run", str(path), "--out", str(tmp_path / "r")],
                 ["evaluate", str(path), "--out", str(tmp_path / "e")]):  # fmt: skip
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "LEAK" in res.output and "2014-02-10" in res.output
        out = tmp_path / args[-1].rsplit("/", 1)[-1]
        gates = json.loads((out / "gates.json").read_text())
        peek = gates["strategies"]["peek"]
        assert peek["status"] == "LEAK" and peek["gate_status"] == "PASS"  # Sharpe > 10 passed the gates
        assert peek["leaks"][0]["date"] == "2014-02-10"  # the first out-of-sample decision
        assert peek["leaks"][0]["input"] == "close"
        assert peek["reasons"][0].startswith("LEAK: strategy 'peek'")
        assert gates["strategies"]["ew"]["status"] in ("PASS", "REJECTED")
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["verdicts"]["peek"] == "LEAK"
        assert manifest["guard"]["findings"][0]["name"] == "peek"
    # the report shows the finding first, inside the verdict section, before the cards
    from alphalab.report import write_report

    page = Path(write_report(tmp_path / "r", charts=False)).read_text()
    assert page.index("LEAK: strategy &#x27;peek&#x27;") < page.index('class="cards"')
    assert "1 LEAK" in page
    # the holdout evaluation too
    res = CliRunner().invoke(app, ["evaluate", str(path), "--holdout", "--out", str(tmp_path / "h")])
    assert res.exit_code == 0, res.output
    gates = json.loads((tmp_path / "h" / "gates.json").read_text())
    assert gates["scope"] == "holdout" and gates["strategies"]["peek"]["status"] == "LEAK"


def test_rare_peek_is_caught_in_default_mode(sp12, tmp_path, home) -> None:
    # Default mode; the floor of its wall-clock budget is raised so that a loaded test
    # machine (2 cores shared by the whole suite) still reaches every decision date.
    cfg = _study(sp12, [{"name": "rare", "kind": "test_peek_tomorrow", "params": {"every": 500}}],
                 guard={"mode": "default", "min_seconds": 60})  # fmt: skip
    res = Study.from_dict(cfg).run(out=tmp_path / "r", progress=False)
    guard = res.manifest["guard"]
    assert guard["mode"] == "default"
    assert guard["strategies"]["rare"]["n_checked"] >= 1
    (finding,) = guard["findings"]
    # the only peeking decision rows are r % 500 == 250: row 750 here
    panel_dates = pd.read_parquet(sp12)["date"].drop_duplicates().sort_values().reset_index(drop=True)
    assert finding["date"] == str(panel_dates[750].date())
    assert res.manifest["verdicts"]["rare"] == "LEAK"


def test_centred_mean_feature_set_is_caught(sp12, tmp_path, home) -> None:
    cfg = _study(sp12, [{"name": "feat", "kind": "test_feature_topk"}],
                 features={"sets": ["test_centred_mean"], "cache": False})  # fmt: skip
    res = Study.from_dict(cfg).run(out=tmp_path / "f", progress=False)
    guard = res.manifest["guard"]
    (finding,) = guard["findings"]
    assert finding["kind"] == "feature_set" and finding["name"] == "test_centred_mean"
    assert finding["output"] == "centred_mean" and finding["input"] == "close"
    assert res.manifest["verdicts"]["feat"] == "LEAK"


def test_no_false_positive_on_baselines_and_an_honest_learner(panel) -> None:
    # 20 perturbation seeds x 4 baselines + 1 learner, every decision date checked
    span = panel.slice_dates("2015-01-01", "2016-03-31")
    engine = EngineSettings(market="us", rebalance="monthly")
    decisions = span.dates[span.dates >= "2015-07-01"][::10]
    checks = flagged = 0
    learner = RidgeLearner()
    wf = run_walk_forward(learner, span, WalkForward("6m", "3m"), engine, seed=0)
    for seed in range(20):
        plans = [
            plan_from_run(kind, make_strategy(kind, params), span, decisions, seed)
            for kind, params in (("equal_weight", {}), ("inverse_vol", {}),
                                 ("momentum_topk", {"k": 3}), ("buy_and_hold", {}))
        ]  # fmt: skip
        plans.append(plan_from_walk_forward("ridge", learner, span, wf, "monthly",
                                            single_pass=False, seed=seed))  # fmt: skip
        report = run_guard(GuardSpec(mode="exhaustive", seed=seed), plans, span)
        assert report.complete()
        checks += sum(s["n_checked"] for s in report.strategies.values())
        flagged += len(report.findings)
        assert report.findings == [], [f.message() for f in report.findings]
    assert checks >= 20 * 5 * 10 and flagged == 0  # false-positive rate 0 / checks


def test_perturbation_keeps_prices_valid_and_backtestable(panel) -> None:
    pert = valid_perturbation(panel, seed=3)
    o, h, lo, c, v = (pert[k] for k in ("open", "high", "low", "close", "volume"))
    ok = np.isfinite(c)
    assert (c[ok] > 0).all() and (v[np.isfinite(v)] >= 0).all()
    assert (h[ok] >= np.maximum(o, c)[ok] * (1 - 1e-12)).all()
    assert (lo[ok] <= np.minimum(o, c)[ok] * (1 + 1e-12)).all()
    moved = np.isfinite(c) & (panel["close"] != 0)
    assert (c[moved] != panel["close"][moved]).all()  # every finite value moves
    perturbed = Panel(pert, panel.dates, panel.assets)
    w = np.full(panel.shape, 1.0 / panel.n_assets)
    assert np.isfinite(backtest(w, perturbed, "us", rebalance="monthly").equity).all()


def test_guard_off_needs_a_reason_and_is_recorded(sp12, tmp_path, home) -> None:
    with pytest.raises(ConfigError, match=r"guard\.reason"):
        Study.from_dict(_study(sp12, [{"name": "ew", "kind": "equal_weight"}], guard={"mode": "off"}))
    cfg = _study(sp12, [{"name": "ew", "kind": "equal_weight"}],
                 guard={"mode": "off", "reason": "benchmarking the engine"})  # fmt: skip
    res = Study.from_dict(cfg).run(out=tmp_path / "o", progress=False)
    assert res.manifest["guard"]["mode"] == "off"
    assert "benchmarking the engine" in res.manifest["guard"]["summary"]


class PeekFar(Strategy):
    """Reads the close 100 bars ahead (past the checked horizon) without guarding the index."""

    requires = Requirements(fields=("close",))

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        close = panel["close"]
        out = np.zeros((len(dates), panel.n_assets))
        for i, r in enumerate(decision_rows(panel, dates)):
            score = close[r + 100] / close[r] if r + 100 < panel.n_dates else close[r]
            out[i, np.argsort(-np.nan_to_num(score, nan=-np.inf))[:3]] = 1.0 / 3
        return out


def test_a_peek_beyond_the_checked_horizon_is_caught(panel) -> None:
    span = panel.slice_dates("2014-01-01", "2015-12-31")
    decisions = span.dates[span.dates >= "2014-07-01"][::21]
    plan = plan_from_run("far", PeekFar(), span, decisions, 0)
    report = run_guard(GuardSpec(), [plan], span)
    (finding,) = report.findings
    assert finding.name == "far" and finding.date == str(decisions[0].date())


def test_fixed_check_count_is_the_same_on_a_slow_and_a_fast_machine(panel, monkeypatch) -> None:
    import time as _time

    from alphalab.validation import guard as guard_mod

    span = panel.slice_dates("2014-01-01", "2015-12-31")
    decisions = span.dates[span.dates >= "2014-03-01"][::5]
    plans = [plan_from_run(k, make_strategy(k, {}), span, decisions, 0)
             for k in ("equal_weight", "inverse_vol")]
    fast = run_guard(GuardSpec(checks=13), plans, span)
    # A machine so slow that every clock read advances 10 s: the time budget would stop at
    # min_checks, the fixed count must not.
    clock = iter(range(0, 10**9, 10))
    monkeypatch.setattr(guard_mod.time, "perf_counter", lambda: float(next(clock)))
    slow = run_guard(GuardSpec(checks=13), plans, span)
    budgeted = run_guard(GuardSpec(), plans, span)
    monkeypatch.setattr(guard_mod.time, "perf_counter", _time.perf_counter)
    for name in ("equal_weight", "inverse_vol"):
        assert fast.strategies[name]["n_checked"] == slow.strategies[name]["n_checked"] == 13
        assert budgeted.strategies[name]["n_checked"] == GuardSpec().min_checks
    assert "the same on every machine" in slow.summary()
    assert "depends on machine speed" in budgeted.summary()


class CountingLearner(RidgeLearner):
    """RidgeLearner counting its fits; ``peek`` reads tomorrow's close on every decision."""

    fits = 0

    def __init__(self, k: int = 3, alpha: float = 1.0, peek: bool = False) -> None:
        super().__init__(k, alpha)
        self.peek = peek

    def fit(self, panel: Panel, until: object = None) -> Strategy:
        type(self).fits += 1
        return super().fit(panel, until)

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        out = super().decide(panel, dates)
        if self.peek:
            close = panel["close"]
            for i, r in enumerate(decision_rows(panel, dates)):
                if r + 1 < panel.n_dates:
                    out[i] = 0.0
                    out[i, np.argsort(-np.nan_to_num(close[r + 1] / close[r], nan=-np.inf))[:3]] = 1 / 3
        return out


@pytest.mark.parametrize("peek", [False, True])
def test_guard_checks_the_walk_forwards_own_models_without_refitting(panel, peek) -> None:
    # An expensive learner (an RL agent trained for minutes) is not trained a second time:
    # the guard replays the decisions of the very models the walk-forward fitted, and still
    # catches a peek in them; without kept models it refits each fold as before.
    import dataclasses

    span = panel.slice_dates("2015-01-01", "2016-03-31")
    engine = EngineSettings(market="us", rebalance="monthly")
    learner = CountingLearner(peek=peek)
    wf = run_walk_forward(learner, span, WalkForward("6m", "3m"), engine, seed=0)
    n_folds = sum(1 for f in wf.folds if f.get("test_start"))
    assert len(wf.models) == len(wf.folds) and CountingLearner.fits == n_folds
    plan = plan_from_walk_forward("ridge", learner, span, wf, "monthly", single_pass=False, seed=0)
    assert all(f.model is m for f, m in zip(plan.folds, wf.models, strict=True))
    CountingLearner.fits = 0
    report = run_guard(GuardSpec(mode="exhaustive"), [plan], span)
    entry = report.strategies["ridge"]
    assert CountingLearner.fits == 0 and entry["n_folds_reused"] == entry["n_folds_fitted"] >= 1
    assert bool(report.findings) is peek and entry["leak"] is peek
    if not peek:  # every decision date of every fold, as before
        assert entry["n_checked"] == entry["n_dates"] and entry["n_folds_fitted"] == n_folds
    bare = plan_from_walk_forward("ridge", learner, span, dataclasses.replace(wf, models=[]), "monthly",
                                  single_pass=False, seed=0)  # fmt: skip
    again = run_guard(GuardSpec(mode="exhaustive"), [bare], span)
    assert CountingLearner.fits == again.strategies["ridge"]["n_folds_fitted"] >= 1
    assert again.strategies["ridge"]["n_folds_reused"] == 0
    assert bool(again.findings) is peek
    CountingLearner.fits = 0
