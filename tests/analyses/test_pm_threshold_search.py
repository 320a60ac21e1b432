"""R4 analysis end to end on real CN data: valid JSON, hashes on trades, search sealed from later rows, ablation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from alphalab.analyses import AnalysisContext, make_analysis, write_analysis
from alphalab.analyses.catalogue import pm_threshold_search  # noqa: F401  (registers the kind)
from alphalab.data.panel import Panel
from tests.models.conftest import cn_small_panel

SMALL_GRID = {"dir_min": [0.3, 0.4], "margin_min": [-1.0, 0.0], "entry_min": [0.0, 0.45],
              "edge_min_bps": [-1000.0, 0.0], "market_risk_max": [1.0], "position_risk_max": [1.0]}
PERMISSIVE = {"validation_min_total_edge_bps": -1e12, "validation_min_trades": 0, "validation_min_profit_factor": 0.0,
              "validation_min_avg_edge_bps": -1e12, "validation_max_consecutive_losses": 10**6, "stress_min_trades": 0,
              "stress_min_profit_factor": 0.0, "stress_min_avg_edge_bps": -1e12, "stress_max_consecutive_losses": 10**6,
              "stress_max_loss_share_of_validation_gain": 1e12}


@pytest.fixture(scope="module")
def panel() -> Panel:
    return cn_small_panel(n_assets=12)


def _ctx(panel: Panel) -> AnalysisContext:
    costs = SimpleNamespace(commission_bps=3.0, slippage_bps=5.0, min_commission=None)
    cfg = SimpleNamespace(seed=5, data=SimpleNamespace(market="cn"),
                          execution=SimpleNamespace(at="next_open", rules="market", initial_cash=5e6, costs=costs))
    return AnalysisContext(config=cfg, panel=panel, results={}, strategies={})


def _params(**over):
    p = {"universe_size": 10, "model": {"params": {"n_estimators": 15}},
         "position_manager": {"exit": {"max_hold_bars": 5}, "sizing": {"base_ratio": 0.05, "liquidity_use": 1.0}},
         "search": {"grid": SMALL_GRID, "compare_stateless": True}}
    p.update(over)
    return p


def _strict(path: Path):
    def refuse(token):
        raise ValueError(f"{path}: invalid JSON constant {token}")
    return json.loads(path.read_text(), parse_constant=refuse)


def _run(panel: Panel, run_dir: Path, **over):
    an = make_analysis("pm_threshold_search", _params(**over))
    return write_analysis(run_dir, "pm", an, _ctx(panel))


def test_end_to_end_json_hashes_and_reports(panel: Panel, tmp_path: Path) -> None:
    rec = _run(panel, tmp_path / "runs" / "a", gates=PERMISSIVE)
    s = rec["summary"]
    assert s["verdict"] in ("PASS", "REJECTED")
    files = tmp_path / "runs" / "a" / "analyses" / "pm"
    for p in [tmp_path / "runs" / "a" / "analyses" / "pm.json", files / "best_config.json"]:
        _strict(p)  # strict JSON: no NaN / Infinity tokens
    best = _strict(files / "best_config.json")
    assert len(best["sha256"]) == 64 and best["sha256"] == s["config_sha256"]
    trades = pd.read_parquet(files / "trades.parquet")
    assert len(trades) > 0 and (trades["config_sha256"] == best["sha256"]).all()
    assert set(trades["split"]) <= {"tune", "validation", "stress"}
    assert {"trend_state", "vol_state", "feat_ret5", "edge_bps", "entry_date", "exit_date"} <= set(trades.columns)
    cands = pd.read_parquet(files / "candidates.parquet")
    assert len(cands) == 2 ** 4 == s["search"]["n_candidates"]
    assert {"score", "n_trades", "founding_score", "rank"} <= set(cands.columns)
    assert len(s["worst_trades"]) == min(20, len(trades))
    assert {r["by"] for r in s["regimes"]} >= {"split", "split+side", "trend_state", "vol_state"}
    assert (files / "reliability.png").stat().st_size > 1000
    assert s["ablation"]["status"] == "NO_BASELINE"
    assert {c["code"] for c in s["checks"]} >= {"validation_min_trades", "stress_loss_vs_validation_gain"}
    html = make_analysis("pm_threshold_search", _params()).render(s, files)
    assert "Verdict" in html and "data:image/png" in html


def test_ablation_against_previous_accepted_config(panel: Panel, tmp_path: Path) -> None:
    from alphalab.portfolio.pm_config import PMConfig

    old = tmp_path / "runs" / "old" / "analyses"
    old.mkdir(parents=True)
    prev = PMConfig().with_entry(dir_min=0.3, margin_min=-1.0, entry_min=0.0, edge_min_bps=-1000.0,
                                 market_risk_max=1.0, position_risk_max=1.0)
    (old / "pm.json").write_text(json.dumps({"kind": "pm_threshold_search", "name": "pm",
                                             "summary": {"verdict": "PASS", "best_config": prev.to_dict()}}))
    rejected = tmp_path / "runs" / "rejected" / "analyses"
    rejected.mkdir(parents=True)
    (rejected / "pm.json").write_text(json.dumps({"summary": {"verdict": "REJECTED", "best_config": {}}}))
    ab = _run(panel, tmp_path / "runs" / "new")["summary"]["ablation"]
    assert ab["status"] == "COMPARED" and ab["baseline_run"] == "old"
    assert ab["baseline_sha256"] == prev.sha256()
    assert ab["validation_baseline"]["n_trades"] >= 0 and "changed" in ab


def test_founding_gates_reject_with_reasons(panel: Panel, tmp_path: Path) -> None:
    s = _run(panel, tmp_path / "r", gates={"validation_min_trades": 10**6})["summary"]
    assert s["verdict"] == "REJECTED"
    assert any(r.startswith("validation_min_trades:") for r in s["reasons"])


def test_search_sealed_from_validation_and_stress(panel: Panel, tmp_path: Path) -> None:
    """Changing any validation or stress row leaves the search's output byte-identical."""
    _run(panel, tmp_path / "x", search={"grid": SMALL_GRID, "compare_stateless": False})
    n = panel.n_dates
    tune_end = int(np.round(np.cumsum([0.5, 0.2])[-1] * n))  # the analysis' own cut
    rng = np.random.default_rng(0)
    f = {k: panel[k].copy() for k in panel.field_names}
    scale = rng.uniform(0.5, 1.5, (n - tune_end, panel.n_assets))
    for k in ("open", "high", "low", "close", "volume"):
        f[k][tune_end:] *= scale
    moved = Panel(f, panel.dates, panel.assets)
    _run(moved, tmp_path / "y", search={"grid": SMALL_GRID, "compare_stateless": False})
    a, b = tmp_path / "x" / "analyses" / "pm", tmp_path / "y" / "analyses" / "pm"
    assert (a / "best_config.json").read_bytes() == (b / "best_config.json").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(a / "candidates.parquet"), pd.read_parquet(b / "candidates.parquet"))
    sa = json.loads((tmp_path / "x" / "analyses" / "pm.json").read_text())["summary"]["search"]
    sb = json.loads((tmp_path / "y" / "analyses" / "pm.json").read_text())["summary"]["search"]
    assert json.dumps(sa, sort_keys=True) == json.dumps(sb, sort_keys=True)
    # and the validation replay did see the change
    ta = pd.read_parquet(a / "trades.parquet")
    tb = pd.read_parquet(b / "trades.parquet")
    pd.testing.assert_frame_equal(ta[ta.split == "tune"].reset_index(drop=True), tb[tb.split == "tune"].reset_index(drop=True))
