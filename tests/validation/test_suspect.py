"""SUSPECT: too good to be true. A dataset that already holds tomorrow's close passes
the leakage guard (perturbing the future cannot show it) and is flagged SUSPECT; honest
baselines are not; thresholds are configurable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from alphalab.study import Study
from alphalab.validation.gates import GateSpec
from alphalab.validation.suspect import SuspectSpec, judge_suspect, weight_ic
from tests.conftest import shared_file
from tests.validation.test_guard import registered

NAMES = ["AAPL", "MSFT", "AMZN", "JPM", "XOM", "JNJ", "WMT", "PG", "KO", "INTC", "CSCO", "PFE"]

pytestmark = pytest.mark.filterwarnings("ignore::alphalab.data.seal.SealWarning")


@pytest.fixture(autouse=True, scope="module")
def _test_strategies() -> Iterator[None]:
    with registered():  # test_feature_topk, only while this module runs
        yield


@pytest.fixture(scope="module")
def contaminated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S&P names with a column 'tomorrow' = the next day's close, saved in the file."""
    df = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    df = df[df["ticker"].isin(NAMES)].sort_values(["ticker", "date"])
    df["tomorrow"] = df.groupby("ticker")["close"].shift(-1)
    path = tmp_path_factory.mktemp("suspect") / "contaminated.parquet"
    df.to_parquet(path)
    return path


def _study(path: Path, gates: dict | None = None) -> Study:
    return Study.from_dict({
        "name": "contaminated",
        "data": {"dataset": str(path), "market": "us"},
        "execution": {"rebalance": "daily", "costs": {"commission_bps": 10}},
        "strategies": [{"name": "tomorrow", "kind": "test_feature_topk",
                        "params": {"field": "tomorrow"}},
                       {"name": "ew", "kind": "equal_weight"}],
        "validation": {"walk_forward": {"train": "1y", "test": "6m"},
                       "holdout": {"start": "2017-06-01"}},
        "gates": gates or {"sharpe_min": 0.3},
        "report": {"charts": False, "html": False, "health": False},
    })  # fmt: skip


def test_contaminated_dataset_is_suspect_not_leak(contaminated, tmp_path) -> None:
    res = _study(contaminated).run(out=tmp_path / "s", progress=False)
    m = res.manifest
    assert m["guard"]["findings"] == []  # perturbation cannot see future data already in the file
    assert m["verdicts"]["tomorrow"] == "SUSPECT"
    reasons = " ".join(m["suspect"]["tomorrow"]["reasons"])
    assert "Sharpe" in reasons and "IC" in reasons
    assert m["suspect"]["tomorrow"]["evidence"]["ic"] > 0.1
    assert m["verdicts"]["ew"] in ("PASS", "REJECTED")
    assert not m["suspect"]["ew"]["suspect"]


def test_thresholds_are_configurable(contaminated, tmp_path) -> None:
    off = {"sharpe_min": 0.3, "suspect": {"sharpe_max": None, "cagr_max": None, "ic_max": None,
                                          "hit_rate_max": None, "down_share_min": None}}  # fmt: skip
    res = _study(contaminated, off).run(out=tmp_path / "o", progress=False)
    assert res.manifest["verdicts"]["tomorrow"] == "PASS"  # every test switched off
    with pytest.raises(ValidationError):
        GateSpec.model_validate({"suspect": {"sharpe_max": -1}})
    with pytest.raises(ValidationError):
        GateSpec.model_validate({"suspect": {"hit_rate": 0.8}})


def test_judge_suspect_reasons() -> None:
    rng = np.random.default_rng(0)
    honest = rng.normal(0.0004, 0.01, 750)
    v = judge_suspect(None, {"sharpe": 0.6, "cagr": 0.1}, honest)
    assert not v.suspect and v.reasons == ()
    too_smooth = np.abs(rng.normal(0.002, 0.001, 300))
    too_smooth[::10] *= -1  # 10 % down days
    v = judge_suspect(SuspectSpec(), {"sharpe": 2.0, "cagr": 0.5}, too_smooth)
    text = " ".join(v.reasons)
    assert "hit rate 90.0%" in text and "only 10.0%" in text
    # too few periods: the hit-rate tests do not fire
    assert not judge_suspect(None, {"sharpe": 2.0, "cagr": 0.5}, too_smooth[:50]).suspect


def test_weight_ic_of_a_perfect_forecaster_and_of_equal_weights() -> None:
    rng = np.random.default_rng(1)
    close = np.cumprod(1 + rng.normal(0, 0.01, (300, 10)), axis=0)
    nxt = np.vstack([close[1:] / close[:-1] - 1, np.full((1, 10), np.nan)])
    assert weight_ic(nxt, close) > 0.99
    assert np.isnan(weight_ic(np.full((300, 10), 0.1), close))
