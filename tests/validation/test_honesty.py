"""What the trial ledger counts for a strategy: its own configuration, and every configuration its
forecaster tried while tuning itself inside ``fit`` (the volatility lab's ``tune``)."""

from __future__ import annotations

from types import SimpleNamespace

from alphalab.config import StudyConfig
from alphalab.validation.honesty import _configs_of

TUNE = {"n_trials": 2, "inner": 63, "params": {"lam": [0.0, 1.0]}}


def _scfg(tune: dict | None):
    params = {"lam": 0.5, **({"tune": tune} if tune else {})}
    cfg = StudyConfig.from_dict({
        "name": "h", "data": {"dataset": "sp500_20", "market": "us"},
        "strategies": [{"name": "g", "kind": "forecast",
                        "params": {"forecaster": {"kind": "ginn", "params": params},
                                   "allocator": {"kind": "inverse_variance"}}}],
    })  # fmt: skip
    return cfg.strategies[0]


def _validation(folds: list[list[float]]) -> SimpleNamespace:
    """A validation record as the protocol leaves it: per-fold diagnostics of the fitted strategy."""
    diags = [{"fold": i, "forecaster": {"tuning": {"trials": [{"trial": k, "params": {"lam": lam}, "loss": 1.0}
                                                              for k, lam in enumerate(lams)]}}}
             for i, lams in enumerate(folds)]  # fmt: skip
    return SimpleNamespace(walk_forward=SimpleNamespace(diagnostics=diags, trials=[]),
                           overfitting={"sharpe": 0.2}, candidates=[])


def test_inner_tuning_trials_count_as_configurations() -> None:
    scfg = _scfg(TUNE)
    configs = _configs_of(scfg, _validation([[0.1, 0.9], [0.1, 0.4]]))
    # the strategy as configured, plus three distinct trial configurations (0.1 was tried in both folds)
    assert len(configs) == 4
    tried = sorted(c["params"]["forecaster"]["params"]["lam"] for c in configs[1:])
    assert tried == [0.1, 0.4, 0.9]
    for c in configs[1:]:
        assert c["kind"] == "forecast" and c["params"]["forecaster"]["params"]["tune"] is None
        assert c["params"]["allocator"] == {"kind": "inverse_variance"}


def test_untuned_forecaster_counts_once() -> None:
    assert len(_configs_of(_scfg(None), _validation([]))) == 1
