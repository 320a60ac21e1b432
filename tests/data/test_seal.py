"""The data seal: bound to the content of a dataset, not to a study config. Walks the
eight routes around the old config-only seal (finding 3 of issue 10); each stops at the
seal or is counted and marked."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import alphalab as al
import alphalab.portfolio
from alphalab.cli import app
from alphalab.data.seal import SealWarning, content_hash_of, find_seal, look_summary
from alphalab.errors import ConfigError, DataError
from alphalab.portfolio.base import make_strategy
from alphalab.study import Study
from alphalab.validation.protocol import ValidationSpec, validate_strategy
from alphalab.validation.walkforward import EngineSettings
from tests.conftest import shared_file

NAMES = ["AAPL", "MSFT", "AMZN", "JPM", "XOM", "JNJ", "WMT", "PG"]
SEAL = "2017-06-01"

pytestmark = pytest.mark.filterwarnings("ignore::alphalab.data.seal.SealWarning")


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    df = pd.read_parquet(shared_file("us_sp500_5yr.parquet"))
    path = tmp_path / "data" / "sp8.parquet"
    path.parent.mkdir()
    df[df["ticker"].isin(NAMES)].to_parquet(path)
    return path


def _study(data: Path, **over: object) -> dict:
    cfg = {
        "name": "sealed",
        "data": {"dataset": str(data), "market": "us"},
        "execution": {"rebalance": "monthly"},
        "strategies": [{"name": "ew", "kind": "equal_weight"}],
        "validation": {"walk_forward": {"train": "1y", "test": "6m"}, "holdout": {"start": SEAL}},
        "report": {"charts": False, "html": False, "health": False},
    }
    cfg.update(over)
    return cfg


def _last_dates(run_dir: Path) -> list[str]:
    """Every date the run directory shows: returns, weights, health issues."""
    out = [str(pd.read_parquet(run_dir / "returns.parquet").index.max().date())]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    out.append(manifest["window"]["end"])
    health = run_dir / "health.json"
    if health.exists():
        text = health.read_text()
        out += [d for d in __import__("re").findall(r"\d{4}-\d{2}-\d{2}", text)]
    return out


def test_every_route_around_the_seal_stops_or_is_counted(data, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home1"))
    # the study's holdout seals the file by content
    with_health = _study(data, report={"charts": False, "html": False, "health": True})
    first = Study.from_dict(with_health).run(out=tmp_path / "r0", progress=False)
    (h, _label) = content_hash_of(str(data))
    assert find_seal(h).sealed_from == pd.Timestamp(SEAL)
    assert first.manifest["seal"]["sealed_from"] == SEAL and not first.manifest["seal"]["opened"]
    assert (first.run_dir / "health.json").exists()
    assert max(_last_dates(first.run_dir)) < SEAL  # health.json included

    def dev_run(cfg: dict, name: str) -> Path:
        res = Study.from_dict(cfg).run(out=tmp_path / name, progress=False)
        assert max(_last_dates(res.run_dir)) < SEAL, name
        assert res.manifest["seal"]["cut"] is True
        return res.run_dir

    # 1. delete the holdout line
    no_holdout = _study(data, validation={"walk_forward": {"train": "1y", "test": "6m"}})
    dev_run(no_holdout, "r1")
    with pytest.raises(ConfigError, match="no sealed holdout"):
        Study.from_dict(no_holdout).run(out=tmp_path / "r1h", progress=False, holdout=True)
    # 2. move its start later: the earliest seal stays in force
    later = _study(data, validation={"walk_forward": {"train": "1y", "test": "6m"},
                                     "holdout": {"start": "2017-12-01"}})  # fmt: skip
    dev_run(later, "r2")
    assert find_seal(h).sealed_from == pd.Timestamp(SEAL)
    # 3. delete validation altogether
    cfg = _study(data)
    del cfg["validation"]
    dev_run(cfg, "r3")
    # 4. rename the study: same data, same seal; its holdout look is counted per dataset
    renamed = _study(data, name="another_name")
    dev_run(renamed, "r4")
    opened = Study.from_dict(_study(data)).run(out=tmp_path / "r4a", progress=False, holdout=True)
    opened2 = Study.from_dict(renamed).run(out=tmp_path / "r4b", progress=False, holdout=True)
    assert opened.manifest["seal"]["opened"] and opened2.manifest["seal"]["opened"]
    looks = json.loads((tmp_path / "r4b" / "gates.json").read_text())["holdout_looks"]
    assert looks["n_evaluations"] == 2  # both study names count against the one dataset
    # 5. switch ALPHALAB_HOME: the per-user registry still holds the seal
    monkeypatch.setenv("ALPHALAB_HOME", str(tmp_path / "home2"))
    dev_run(_study(data), "r5")
    assert find_seal(h) is not None
    # a copy of the file elsewhere (another store root, another name) is the same content
    copy = tmp_path / "elsewhere" / "renamed.parquet"
    copy.parent.mkdir()
    copy.write_bytes(data.read_bytes())
    assert al.load(str(copy)).dates[-1] < pd.Timestamp(SEAL)
    # 6. validate_strategy(..., holdout=True) from Python
    spec = ValidationSpec.model_validate(_study(data)["validation"])
    engine = EngineSettings(market="us", rebalance="monthly")
    with pytest.warns(SealWarning, match="sealed from 2017-06-01"):
        cut = al.load(str(data))
    with pytest.raises(ConfigError, match="fewer than 2 bars"):
        validate_strategy("ew", make_strategy("equal_weight"), cut, spec, engine, holdout=True)
    full = al.load(str(data), open_seal=True)
    assert full.meta["seal"]["opened"]
    before = look_summary(find_seal(h))["n_evaluations"]
    v = validate_strategy("ew", make_strategy("equal_weight"), full, spec, engine, holdout=True)
    assert v.seal is not None and v.seal["opened"] and v.summary()["seal"]["opened"]
    assert look_summary(find_seal(h))["n_evaluations"] == before + 1
    # 7. al.run_backtest from Python
    w = pd.DataFrame(1.0 / len(NAMES), index=cut.dates, columns=cut.assets)
    assert al.run_backtest(w, cut, "us").equity.index[-1] < pd.Timestamp(SEAL)
    hand_built = al.Panel(full.fields, full.dates, full.assets, cut.meta)  # seal meta, full dates
    with pytest.raises(DataError, match="sealed"):
        al.run_backtest(w.reindex(full.dates), hand_built, "us")
    with pytest.warns(SealWarning, match="look is recorded"):
        res = al.run_backtest(w.reindex(full.dates).ffill(), full, "us")
    assert res.seal["opened"] and look_summary(find_seal(h))["n_evaluations"] == before + 2
    # 8. alphalab factors
    fstudy = tmp_path / "factors.yaml"
    fstudy.write_text(yaml.safe_dump({"data": {"source": str(data)},
                                      "catalogue": {"mom": "close / delay(close, 20) - 1"},
                                      "horizon": 5, "horizons": [1, 5]}))  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = CliRunner().invoke(app, ["factors", str(fstudy), "--out", str(tmp_path / "f")])
    assert out.exit_code == 0, out.output
    assert any(issubclass(c.category, SealWarning) for c in caught)
    text = " ".join(p.read_text(errors="ignore") for p in (tmp_path / "f").rglob("*")
                    if p.is_file() and p.suffix in (".html", ".csv", ".json"))  # fmt: skip
    import re

    assert max(re.findall(r"20\d\d-\d\d-\d\d", text) or ["0"]) < SEAL


def test_data_seal_command(data, tmp_path) -> None:
    res = CliRunner().invoke(app, ["data", "seal", str(data), "--from", "2016-01-04"])
    assert res.exit_code == 0, res.output
    assert "2016-01-04" in res.output
    assert al.load(str(data)).dates[-1] < pd.Timestamp("2016-01-04")
    # an earlier seal wins over a later one
    CliRunner().invoke(app, ["data", "seal", str(data), "--from", "2017-01-03"])
    assert al.load(str(data)).dates[-1] < pd.Timestamp("2016-01-04")
    bad = CliRunner().invoke(app, ["data", "seal", str(data), "--from", "not-a-date"])
    assert bad.exit_code == 2 and "not a date" in bad.output
    missing = CliRunner().invoke(app, ["data", "seal", str(tmp_path / "nope.csv"), "--from", "2016-01-04"])
    assert missing.exit_code == 2


def test_store_dataset_seal_holds_across_store_roots(data, tmp_path) -> None:
    from alphalab.data.store import Store

    a, b = Store(tmp_path / "rootA"), Store(tmp_path / "rootB")
    df = pd.read_parquet(data)
    a.write(df, "prices", market="us")
    b.write(df, "other_name", market="us")
    CliRunner().invoke(app, ["data", "seal", "prices", "--from", SEAL, "--home", str(tmp_path / "rootA")])
    panel = al.load("other_name", store=str(tmp_path / "rootB"))
    assert panel.dates[-1] < pd.Timestamp(SEAL) and panel.meta["seal"]["cut"]
