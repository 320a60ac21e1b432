"""The conformance suite over EVERY registered strategy, forecaster, allocator and overlay.

Parametrised from the registries, so a newly registered component is covered
automatically; one without usable defaults must get an entry in ``EXAMPLES``.
"""

from __future__ import annotations

import numpy as np
import pytest

import alphalab.models  # noqa: F401 - registers the models layer
from alphalab.data.panel import Panel
from alphalab.errors import LeakageError
from alphalab.models import ALLOCATORS, FORECASTERS, OVERLAYS
from alphalab.portfolio.base import STRATEGIES, Strategy, decision_rows, make_strategy
from alphalab.testing.conformance import (
    check_allocator,
    check_forecaster,
    check_overlay,
    check_params,
    check_strategy,
)
from tests.models.conftest import cn_small_panel

FEATS = ["KMID", "ROC5", "STD20", "MA10", "VSTD5"]
LGBM = {"horizon": 5, "features": FEATS, "n_estimators": 15, "num_leaves": 8, "min_child_samples": 20}

STRATEGY_EXAMPLES = {
    "fixed": lambda p: {"weights": {p.assets[0]: 0.5, p.assets[1]: 0.3}},
    "buy_and_hold": lambda p: {},
    "min_variance": lambda p: {"window": 60},
    "mean_variance": lambda p: {"window": 60},
    "risk_parity": lambda p: {"window": 60},
    "hrp": lambda p: {"window": 60},
    "momentum_topk": lambda p: {"k": 5, "lookback": 60},
    "max_diversification": lambda p: {"window": 60},
    "vol_scaled": lambda p: {"strategy": {"kind": "inverse_vol", "params": {"window": 20}}},
    "deep_sharpe": lambda p: {"architecture": "mlp", "window": 10, "hidden_size": 4, "max_epochs": 1,
                              "n_seeds": 2, "progress": False},
    "forecast": lambda p: {
        "forecaster": {"kind": "lightgbm", "params": LGBM},
        "allocator": {"kind": "topk", "params": {"k": 5}},
        "overlays": [{"kind": "trailing_stop"}, {"kind": "market_halt", "params": {"drop": 0.04}}],
    },
}
# the R5 forecasters pick a market-cap universe; this panel has no share counts or turnover,
# so their examples use every tradable name (the cap universe has its own tests)
SMALLCAP_LSTM = {"n_stocks": None, "min_listing_days": 0, "window": 60, "hidden": 2, "epochs": 5}
SMALLCAP_UNIVERSE = {"n_stocks": None, "min_listing_days": 0, "window": 60}
FORECASTER_EXAMPLES = {"lightgbm": LGBM, "smallcap_lstm": SMALLCAP_LSTM, "smallcap_universe": SMALLCAP_UNIVERSE}


@pytest.fixture(scope="module")
def panel() -> Panel:
    # 20 liquid stocks over 2017-2018: small enough to refit in the leakage trials
    return cn_small_panel(n_assets=20)


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_every_strategy_conforms(kind: str, panel: Panel) -> None:
    params = STRATEGY_EXAMPLES.get(kind, lambda p: {})(panel)
    check_strategy(make_strategy(kind, params), panel, n_decisions=6)


@pytest.mark.parametrize("kind", sorted(FORECASTERS))
def test_every_forecaster_conforms(kind: str, panel: Panel) -> None:
    check_forecaster(FORECASTERS[kind](**FORECASTER_EXAMPLES.get(kind, {})), panel, n_decisions=6)


@pytest.mark.parametrize("kind", sorted(ALLOCATORS))
def test_every_allocator_conforms(kind: str, panel: Panel) -> None:
    check_allocator(ALLOCATORS[kind](), panel, n_decisions=6)


@pytest.mark.parametrize("kind", sorted(OVERLAYS))
def test_every_overlay_conforms(kind: str, panel: Panel) -> None:
    check_overlay(OVERLAYS[kind](), panel, n_decisions=6)


class Peeks(Strategy):
    """Weights from tomorrow's close: a leak the conformance suite must catch."""

    def __init__(self) -> None:
        pass

    def decide(self, p: Panel, dates):  # type: ignore[no-untyped-def]
        rows = np.minimum(decision_rows(p, dates) + 1, p.n_dates - 1)
        close = p["close"][rows]
        return close / np.nansum(close, axis=1, keepdims=True)


def test_conformance_catches_a_leaky_strategy(panel: Panel) -> None:
    check_params(Peeks())
    with pytest.raises(LeakageError):
        check_strategy(Peeks(), panel, n_decisions=6)


def test_conformance_catches_a_shared_part(panel: Panel) -> None:
    from alphalab.models import TopK

    class Sharing(TopK):
        def clone(self):  # type: ignore[no-untyped-def]
            return self  # a "clone" that shares state

    with pytest.raises(AssertionError, match="clone gave the same object"):
        check_params(Sharing(k=3))
