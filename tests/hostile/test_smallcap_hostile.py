"""Hostile inputs of the small-cap recipe: data.fundamentals / data.indices, the R5 parts, its analysis."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphalab.config import StudyConfig
from alphalab.errors import ConfigError, DataError
from alphalab.study import Study
from tests.conftest import shared_file

BASE = {
    "name": "r5",
    "data": {"dataset": "sp500_20", "market": "us"},
    "strategies": [{"name": "ew", "kind": "equal_weight"}],
}

LSTM = {"kind": "smallcap_lstm", "params": {}}


def _with(**data: object) -> dict:
    return {**BASE, "data": {**BASE["data"], **data}}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"fundamentals": "f.parquet"}, r"data\.fundamentals"),
        ({"fundamentals": {"path": "f.parquet"}}, r"data\.fundamentals\.fields"),
        ({"fundamentals": {"path": "f.parquet", "fields": []}}, r"data\.fundamentals\.fields"),
        ({"fundamentals": {"path": "f.parquet", "fields": ["a", "a"]}}, "listed twice"),
        ({"fundamentals": {"path": "f.parquet", "fields": ["a"], "lag_days": -1}}, "lag_days"),
        ({"fundamentals": {"path": "f.parquet", "fields": ["a"], "bogus": 1}}, "bogus"),
        ({"indices": 3}, r"data\.indices"),
    ],
)
def test_bad_data_keys(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(_with(**data))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"hidden": 0}}, "allocator": "threshold_steps"}, "hidden"),
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"n_stocks": 0}}, "allocator": "threshold_steps"},
         "n_stocks"),
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"trainer": "numba"}}, "allocator": "threshold_steps"},
         "trainer must be 'compiled' or 'torch'"),
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"trainer": ["compiled"]}},
          "allocator": "threshold_steps"}, "trainer"),
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"blacklist": ["sh.600000"]}},
          "allocator": "threshold_steps"}, "blacklist must map ticker"),
        ({"forecaster": {"kind": "smallcap_lstm", "params": {"blacklist": {"sh.600000": "never"}}},
          "allocator": "threshold_steps"}, "not a date"),
        ({"forecaster": {"kind": "smallcap_universe", "params": {"window": 1}}, "allocator": "topk"}, "window"),
        ({"forecaster": LSTM, "allocator": {"kind": "threshold_steps", "params": {"cap": 0.5}}},
         r"initial \(1.0\) must not exceed cap"),
        ({"forecaster": LSTM, "allocator": {"kind": "threshold_steps", "params": {"threshold": -0.1}}},
         "threshold"),
        ({"forecaster": LSTM, "allocator": "threshold_steps",
          "overlays": [{"kind": "halving_stop", "params": {"drawdown": 1.5}}]}, "drawdown"),
        ({"forecaster": LSTM, "allocator": "threshold_steps",
          "overlays": [{"kind": "panic_halt", "params": {"sessions": 0}}]}, "sessions"),
        ({"forecaster": LSTM, "allocator": "threshold_steps",
          "overlays": [{"kind": "panic_halt", "params": {"index": 300}}]}, "index must be"),
    ],
)
def test_bad_recipe_parts(params: dict, match: str) -> None:
    cfg = {**BASE, "strategies": [{"name": "m", "kind": "forecast", "params": params}]}
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict(cfg)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"halt": {"sesions": 3}}, "unknown key"),
        ({"universe": "big"}, "universe must be a mapping"),
        ({"indices": "sh.000852"}, "indices must be a list"),
        ({"n_boot": 5}, "n_boot"),
        ({"model": ""}, "model must be a strategy name"),
    ],
)
def test_bad_analysis_params(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StudyConfig.from_dict({**BASE, "analyses": [{"name": "s", "kind": "smallcap_lstm_report", "params": params}]})


def _tiny_dataset(tmp_path: Path) -> Path:
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"),
                         filters=[("date", "<=", pd.Timestamp("2017-03-31"))])
    df = df[df["ticker"].isin(["sh.600000", "sh.600010"])]
    path = tmp_path / "tiny.parquet"
    df.to_parquet(path)
    return path


def test_missing_and_malformed_side_files(tmp_path: Path) -> None:
    data = _tiny_dataset(tmp_path)
    base = {"name": "r5", "data": {"dataset": str(data), "market": "cn"},
            "strategies": [{"name": "ew", "kind": "equal_weight"}], "report": {"charts": False, "html": False}}
    study = Study.from_dict({**base, "data": {**base["data"], "indices": str(tmp_path / "none.parquet")}})
    with pytest.raises(DataError, match=r"data\.indices: file not found"):
        study.run(tmp_path / "run1", progress=False)
    bad = tmp_path / "idx.csv"
    pd.DataFrame({"date": ["2017-01-03", "2017-01-04"], "ticker": ["X", "X"], "close": [1.0, -2.0]}).to_csv(bad)
    study = Study.from_dict({**base, "data": {**base["data"], "indices": str(bad)}})
    with pytest.raises(DataError, match=r"data\.indices: 1 close\(s\) missing or <= 0"):
        study.run(tmp_path / "run2", progress=False)
    nocol = tmp_path / "idx2.csv"
    pd.DataFrame({"date": ["2017-01-03"], "close": [1.0]}).to_csv(nocol)
    study = Study.from_dict({**base, "data": {**base["data"], "indices": str(nocol)}})
    with pytest.raises(DataError, match=r"lacks column\(s\) \['ticker'\]"):
        study.run(tmp_path / "run3", progress=False)
    fund = tmp_path / "f.parquet"
    pd.DataFrame({"ticker": ["sh.600000"], "period_end": ["2016-12-31"], "totalShare": [1e9]}).to_parquet(fund)
    study = Study.from_dict({**base, "data": {**base["data"], "fundamentals": {"path": str(fund),
                                                                              "fields": ["liqaShare"]}}})
    with pytest.raises(DataError, match=r"data\.fundamentals: .*no column"):
        study.run(tmp_path / "run4", progress=False)


def test_indices_and_fundamentals_join_as_fields(tmp_path: Path) -> None:
    data = _tiny_dataset(tmp_path)
    idx = pd.read_parquet(shared_file("cn_indices_daily.parquet"))
    idx = idx[(idx["date"] <= "2017-03-31") & idx["ticker"].isin(["sh.000001", "sh.000852"])]
    ipath = tmp_path / "idx.parquet"
    idx.to_parquet(ipath)
    cfg = {"name": "r5", "data": {"dataset": str(data), "market": "cn", "indices": str(ipath),
                                  "benchmark": "sh.000852",
                                  "fundamentals": {"path": str(shared_file("cn_fundamentals_quarterly_2014_2022.parquet")),
                                                   "fields": ["totalShare"]}},
           "strategies": [{"name": "ew", "kind": "equal_weight"}], "report": {"charts": False, "html": False}}
    res = Study.from_dict(cfg).run(tmp_path / "run", progress=False)
    assert "benchmark" in res.metrics.index
    from alphalab.study.inputs import load_panel

    panel, _ = load_panel(StudyConfig.from_dict(cfg))
    assert {"index:sh.000001", "index:sh.000852", "totalShare"} <= set(panel.field_names)
    s = idx[idx["ticker"] == "sh.000001"].set_index("date")["close"]
    assert panel["index:sh.000001"][0, 1] == s.iloc[0]
    # each date carries the newest report announced strictly before it
    fund = pd.read_parquet(shared_file("cn_fundamentals_quarterly_2014_2022.parquet"))
    fund = fund[fund["ticker"] == "sh.600000"]
    col = panel.assets.get_loc("sh.600000")
    for d, value in zip(panel.dates, panel["totalShare"][:, col], strict=True):
        known = fund[fund["report_date"] < d].sort_values(["report_date", "period_end"])
        assert value == known["totalShare"].iloc[-1]
    assert res.manifest["benchmark"] == "sh.000852"
