"""Optuna tuning of the GINN on the inner validation block: no test-block data, seeded, every trial recorded."""

from __future__ import annotations

import pandas as pd
import pytest

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.vol.learners import GINNForecaster
from alphalab.models.vol.tuning import check_tune, inner_block
from alphalab.testing.conformance import check_forecaster
from alphalab.testing.leakage import perturb_after

TINY = {"hidden": 3, "epochs": 2, "lookback": 15, "max_samples": 500, "batch_size": 128,
        "inputs": ["returns", "garch"]}
TUNE = {"n_trials": 3, "inner": 40, "seed": 5,
        "params": {"lam": [0.0, 1.0], "lr": [1e-3, 1e-2], "hidden": [2, 3], "lookback": [10, 15]}}


@pytest.fixture(scope="module")
def small(tw_panel: Panel) -> Panel:
    return tw_panel.select_assets(list(tw_panel.assets[:3])).iloc_dates(slice(0, 420))


@pytest.fixture(scope="module")
def tuned(small: Panel) -> GINNForecaster:
    return GINNForecaster(**TINY, tune=TUNE, random_state=0).fit(small, small.dates[380])


def test_every_trial_is_recorded_and_the_best_is_refitted(tuned: GINNForecaster, small: Panel) -> None:
    tun = tuned.diagnostics_["tuning"]
    assert tun["n_trials"] == 3 and len(tun["trials"]) == 3
    assert [t["trial"] for t in tun["trials"]] == [0, 1, 2]
    for t in tun["trials"]:
        assert set(t["params"]) == {"lam", "lr", "hidden", "lookback"}
        assert 0.0 <= t["params"]["lam"] <= 1.0 and 1e-3 <= t["params"]["lr"] <= 1e-2
        assert t["loss"] is not None and t["loss"] > 0
    best = min(tun["trials"], key=lambda t: t["loss"])
    assert tun["best"] == best["params"] and tun["best_trial"] == best["trial"]
    # the refitted model carries the chosen parameters; the forecaster's own parameters are as given
    assert tuned.tuned_.get_params()["lam"] == best["params"]["lam"] and tuned.tuned_.tune is None
    assert tuned.get_params()["lam"] == 0.5 and tuned.get_params()["tune"] == TUNE
    fc = tuned.predict(small, small.dates[381:386])
    assert fc.variance.shape == (5, 3) and (fc.variance[fc.variance == fc.variance] > 0).all()


def test_inner_block_ends_the_training_window(tuned: GINNForecaster, small: Panel) -> None:
    """Candidates fit strictly before the inner block, and the block ends at the training window's end."""
    tun = tuned.diagnostics_["tuning"]
    until = small.dates[380]
    first, cand_until = inner_block(small.until(until), 40)
    assert tun["inner_first"] == str(small.dates[first].date()) and tun["inner_last"] == str(until.date())
    assert pd.Timestamp(tun["candidates_until"]) == cand_until < pd.Timestamp(tun["inner_first"])


def test_tuner_never_sees_the_test_block(tuned: GINNForecaster, small: Panel) -> None:
    """Perturbing every row after the inner block's end (the test block) changes no trial and no choice."""
    t = small.dates.get_loc(small.dates[380])
    for kind in ("scale", "nan"):
        moved = perturb_after(small, t, kind, seed=1)
        again = GINNForecaster(**TINY, tune=TUNE, random_state=0).fit(moved, moved.dates[380])
        assert again.diagnostics_["tuning"] == tuned.diagnostics_["tuning"]


def test_one_seed_one_choice(tuned: GINNForecaster, small: Panel) -> None:
    again = GINNForecaster(**TINY, tune=TUNE, random_state=0).fit(small, small.dates[380])
    assert again.diagnostics_["tuning"] == tuned.diagnostics_["tuning"]
    other = GINNForecaster(**TINY, tune={**TUNE, "seed": 6}, random_state=0).fit(small, small.dates[380])
    assert [t["params"] for t in other.diagnostics_["tuning"]["trials"]] != \
        [t["params"] for t in tuned.diagnostics_["tuning"]["trials"]]


@pytest.mark.slow
def test_tuned_ginn_conformance(small: Panel) -> None:
    """Determinism, fold isolation, pickling and the leakage guard of a tuned forecaster."""
    check_forecaster(GINNForecaster(**TINY, tune={**TUNE, "n_trials": 2}), small, fit_until=small.dates[380],
                     n_decisions=4)


@pytest.mark.parametrize(
    ("tune", "match"),
    [
        ({"params": {"lam": [0, 1]}, "n_trials": 0}, r"n_trials must be an integer in \[1, 200\]"),
        ({"params": {}}, "params must be a non-empty mapping"),
        ({"params": {"epochs": [1, 2]}}, "'epochs' cannot be tuned"),
        ({"params": {"lam": [0.5, 0.1]}}, r"lam must be \[low, high\]"),
        ({"params": {"lr": [0, 0.01]}}, r"lr must be \[low, high\]"),
        ({"params": {"hidden": [4.5]}}, "hidden must be a non-empty list of integers"),
        ({"params": {"lam": [0, 1]}, "inner": 0.2}, r"inner must be an integer in \[20, 2520\]"),
    ],
)
def test_check_tune(tune: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        check_tune(tune)
