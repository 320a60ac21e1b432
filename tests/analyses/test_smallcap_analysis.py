"""The R5 report section end to end on a small real slice: universe, halts, refusals, model error, verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alphalab.analyses import read_analyses, render_analysis
from alphalab.study import Study
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("r5")
    df = pd.read_parquet(shared_file("cn_ashare_sample_2017_2023.parquet"),
                         filters=[("date", "<=", pd.Timestamp("2018-09-30"))])
    counts = df.groupby("ticker")["close"].count()
    keep = sorted(counts[counts == counts.max()].index)[:24:2]  # 12 names with a full history
    df[df["ticker"].isin(keep)].to_parquet(root / "cn.parquet")
    idx = pd.read_parquet(shared_file("cn_indices_daily.parquet"))
    idx[(idx["date"] <= "2018-09-30") & (idx["date"] >= "2017-01-01")].to_parquet(root / "idx.parquet")
    universe = {"n_stocks": 6, "shares_field": None, "min_listing_days": 120, "window": 60}
    halt = {"index": "sh.000001", "day_drop": 0.03, "two_day_drop": 0.02, "sessions": 5}
    study = {
        "name": "r5t", "seed": 3,
        "data": {"dataset": str(root / "cn.parquet"), "market": "cn", "indices": str(root / "idx.parquet"),
                 "benchmark": "sh.000852"},
        "execution": {"rebalance": "daily", "initial_cash": 10_000_000},
        "strategies": [
            {"name": "plain", "kind": "forecast", "params": {
                "forecaster": {"kind": "smallcap_universe", "params": universe},
                "allocator": {"kind": "topk", "params": {"k": 6}}}},
            {"name": "lstm", "kind": "forecast", "params": {
                "forecaster": {"kind": "smallcap_lstm", "params": {**universe, "hidden": 2, "epochs": 4}},
                "allocator": {"kind": "threshold_steps"},
                "overlays": [{"kind": "halving_stop"}, {"kind": "panic_halt", "params": halt}]}},
        ],
        "validation": {"walk_forward": {"train": "9m", "test": "3m"}},
        "analyses": [{"name": "r5", "kind": "smallcap_lstm_report", "params": {
            "model": "lstm", "baseline": "plain", "indices": ["sh.000852", "sh.000905"], "halt": halt,
            "universe": {"n_stocks": 6, "shares_field": None, "min_listing_days": 120}, "n_boot": 200}}],
        "report": {"charts": False, "html": True, "health": False},
    }
    out = root / "run"
    Study.from_dict(study).run(out=out, progress=False)
    return out


def test_report_section_records_everything(run_dir: Path) -> None:
    (record,) = read_analyses(run_dir)
    s = record["summary"]
    u = s["universe"]
    assert u["size_max"] == 6 and u["share_of_caps_from_fallback"] == 1.0
    members = pd.read_parquet(run_dir / "analyses" / "r5" / "membership.parquet")
    assert members.groupby("date").size().max() == 6
    assert set(s["refused"]) == {"plain", "lstm"}
    me = s["model_error"]
    assert me["n_forecasts"] > 100 and me["n_stocks"] >= 6 and me["pooled_mse_ratio"] > 0
    v = s["verdict"]
    assert v["n_trials"] == 2 and 0.0 <= v["dsr"] <= 1.0 and 0.0 <= v["bootstrap_p"] <= 1.0
    assert ("does NOT add" in v["statement"]) != v["adds_over_plain_smallcap"]
    assert set(s["index_total_return"]) == {"sh.000852", "sh.000905"}
    ends = [pd.Timestamp(0)]
    for a, b, n in s["halts"]:  # ordered, disjoint; a trigger inside a halt extends it past 5 sessions
        assert ends[-1] < pd.Timestamp(a) <= pd.Timestamp(b) and n >= 1
        ends.append(pd.Timestamp(b))
    assert (run_dir / "analyses" / "r5" / "equity.png").stat().st_size > 1000
    title, html = render_analysis(run_dir, record)
    assert "Small-cap LSTM" in title and "data:image/png;base64" in html and "Panic halts" in html
    assert (run_dir / "analyses" / "r5" / "membership.png").stat().st_size > 1000
    assert 'alt="membership.png"' in html and "Membership at the first session of each quarter" in html
    first_members = members[members["date"] == members["date"].min()]["ticker"]
    assert ", ".join(sorted(first_members)) in html
    json.dumps(s)


def test_lstm_decisions_go_flat_in_the_halts(run_dir: Path) -> None:
    (record,) = read_analyses(run_dir)
    held = pd.read_parquet(run_dir / "weights" / "lstm.parquet").sum(axis=1)  # gross held after each bar
    halts = record["summary"]["halts"]
    assert halts, "the 2018 sell-off must trigger a 3 % / 2 % x2 halt on the Shanghai Composite"
    refused = record["summary"]["refused"]["lstm"]
    for a, b, _ in halts:
        before = held.loc[: pd.Timestamp(a)].iloc[-1]
        inside = held.loc[pd.Timestamp(a):pd.Timestamp(b)].iloc[1:]  # sold at the open after the trigger
        if len(inside) and before > 0.5:
            # what is left is what the market refused to let it sell (limit-down, suspended)
            assert inside.median() < 0.25, (a, b, inside.to_dict())
            assert inside.median() < 0.05 or refused.get("band_down", 0) + refused.get("untradeable", 0) > 0
    assert held.max() > 0.5  # and it is invested outside the halts
