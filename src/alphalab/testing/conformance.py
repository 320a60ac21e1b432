"""Conformance checks every strategy, forecaster, allocator and overlay must pass.

``check_strategy(strategy, panel)`` runs, on a real panel:

* parameter round-trips: ``get_params`` / ``set_params`` / ``clone`` and
  :func:`sklearn.base.clone` give an equal, independent object;
* output rules: ``decide`` returns ``(n_decisions, n_assets)`` float weights,
  no infinities, a row is either all NaN (no decision) or finite where not NaN;
  ``forecasts_`` (if set) covers only decided dates; ``diagnostics_`` is JSON-able;
* determinism under a seed (``random_state`` set when the strategy has one);
* fold isolation: fitting one clone does not change another's decisions;
* the leakage guard (:func:`alphalab.testing.assert_strategy_no_leakage`);
* pickling of a fitted strategy (process and Ray executors ship it).

``check_forecaster``, ``check_allocator`` and ``check_overlay`` do the same
for the parts. Each raises ``AssertionError`` (or :class:`LeakageError`) with
the name of the broken rule.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.testing.leakage import assert_no_leakage_decisions, assert_strategy_no_leakage

__all__ = ["check_allocator", "check_forecaster", "check_overlay", "check_params", "check_strategy"]


def _same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), f"{what}: outputs differ"


def check_params(obj: Any) -> None:
    """Parameter round-trips: clone, sklearn clone, set_params(get_params) and repr agree."""
    from sklearn.base import clone as sk_clone

    name = type(obj).__name__
    shallow = obj.get_params(deep=False)
    deep = obj.get_params(deep=True)
    assert set(shallow) <= set(deep), f"{name}: deep params must include the shallow ones"
    for cloned in (obj.clone(), sk_clone(obj)):
        assert type(cloned) is type(obj) and cloned is not obj, f"{name}: clone gave the same object"
        assert repr(cloned) == repr(obj), f"{name}: clone changed parameters: {cloned!r} != {obj!r}"
        for key, value in shallow.items():
            if hasattr(value, "get_params"):
                assert cloned.get_params(deep=False)[key] is not value, f"{name}.{key}: clone shares a part"
    again = obj.clone().set_params(**shallow)
    assert repr(again) == repr(obj), f"{name}: set_params(**get_params()) changed the object"
    assert type(obj)(**shallow).get_params(deep=False).keys() == shallow.keys()


def _seeded(obj: Any, seed: int) -> Any:
    c = obj.clone()
    if "random_state" in c.get_params(deep=False):
        c.set_params(random_state=seed)
    return c


def _split(panel: Panel, fit_until: Any, n_decisions: int) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    until = panel.dates[int(panel.n_dates * 0.6)] if fit_until is None else pd.Timestamp(fit_until)
    after = panel.dates[panel.dates > until]
    step = max(1, len(after) // n_decisions)
    return until, after[::step][:n_decisions]


def _check_weights(w: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    w = np.asarray(w)
    assert w.shape == shape, f"{name}: weights shape {w.shape}, expected {shape}"
    assert w.dtype.kind == "f", f"{name}: weights must be float, got {w.dtype}"
    assert not np.isinf(w).any(), f"{name}: infinite weights"
    return w


def check_strategy(strategy: Any, panel: Panel, *, fit_until: Any = None, n_decisions: int = 8,
                   seed: int = 0, leakage_trials: int = 2) -> None:
    """Run every conformance rule on a :class:`~alphalab.portfolio.base.Strategy`.

    Parameters
    ----------
    strategy : Strategy
        An unfitted template.
    panel : Panel
        Real data of shape ``(n_dates, n_assets)``, long enough for the
        strategy's ``min_history`` before ``fit_until``.
    fit_until : date-like, optional
        Default: the date 60 % into the panel.
    n_decisions : int
        Decision dates after ``fit_until``, evenly spaced.
    """
    name = type(strategy).__name__
    check_params(strategy)
    until, dates = _split(panel, fit_until, n_decisions)
    shape = (len(dates), panel.n_assets)

    a = _seeded(strategy, seed).fit(panel, until)
    wa = _check_weights(a.decide(panel, dates), shape, name)
    b = _seeded(strategy, seed).fit(panel, until)
    _same(wa, b.decide(panel, dates), f"{name}: determinism under random_state={seed}")

    # fold isolation: another clone fitted elsewhere leaves ``a`` unchanged
    other = _seeded(strategy, seed + 1).fit(panel, panel.dates[-1])
    other.decide(panel, dates)
    _same(wa, a.decide(panel, dates), f"{name}: fold isolation")

    fc = getattr(a, "forecasts_", None)
    if fc is not None:
        assert isinstance(fc, pd.DataFrame) and {"date", "ticker"} <= set(fc.columns), f"{name}: forecasts_ format"
        assert set(pd.DatetimeIndex(fc["date"])) <= set(dates), f"{name}: forecasts_ outside the decided dates"
        assert all(fc[c].dtype.kind in "fiu" for c in fc.columns if c not in ("date", "ticker"))
    json.dumps(getattr(a, "diagnostics_", {}))

    restored = pickle.loads(pickle.dumps(a))
    _same(wa, restored.decide(panel, dates), f"{name}: pickled strategy")

    assert_strategy_no_leakage(_seeded(strategy, seed), panel, dates, fit_until=until,
                               n_trials=leakage_trials, seed=seed,
                               cutoffs=[until, dates[len(dates) // 2]])


def check_forecaster(forecaster: Any, panel: Panel, *, fit_until: Any = None, n_decisions: int = 8,
                     seed: int = 0) -> None:
    """Conformance of a :class:`~alphalab.models.forecast.Forecaster` (see :func:`check_strategy`)."""
    from alphalab.models.forecast import Forecast

    name = type(forecaster).__name__
    check_params(forecaster)
    until, dates = _split(panel, fit_until, n_decisions)
    a = _seeded(forecaster, seed).fit(panel, until)
    f = a.predict(panel, dates)
    assert isinstance(f, Forecast), f"{name}.predict must return a Forecast"
    assert f.shape == (len(dates), panel.n_assets) and f.dates.equals(dates), f"{name}: forecast shape/dates"
    assert not np.isinf(f.mean).any(), f"{name}: infinite forecasts"
    assert np.isfinite(f.mean).any(), f"{name}: no finite forecast at all"
    assert f.kind == a.requires.kind, f"{name}: forecast kind {f.kind!r} != declared {a.requires.kind!r}"
    b = _seeded(forecaster, seed).fit(panel, until)
    _same(f.mean, b.predict(panel, dates).mean, f"{name}: determinism")
    _seeded(forecaster, seed + 1).fit(panel, panel.dates[-1])
    _same(f.mean, a.predict(panel, dates).mean, f"{name}: fold isolation")
    _same(f.mean, pickle.loads(pickle.dumps(a)).predict(panel, dates).mean, f"{name}: pickled forecaster")
    json.dumps(getattr(a, "diagnostics_", {}))
    frame = f.to_frame()
    assert list(frame.columns[:3]) == ["date", "ticker", "mean"], f"{name}: to_frame columns"

    def run(p: Panel, d: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        fitted = _seeded(forecaster, seed).fit(p, until).predict(p, d)
        return fitted.columns()

    assert_no_leakage_decisions(run, panel, dates, n_trials=2, seed=seed,
                                cutoffs=[until, dates[len(dates) // 2]], min_date=until)


def _forecast_for(allocator: Any, panel: Panel, dates: pd.DatetimeIndex) -> Any:
    """A real forecast of a kind the allocator accepts (momentum score, realised vol, or return)."""
    from alphalab.models.baselines import MomentumForecaster, RealisedVolForecaster
    from alphalab.models.forecast import Forecast

    if "score" in allocator.accepts:
        return MomentumForecaster(lookback=20).fit(panel, dates[0]).predict(panel, dates)
    if "volatility" in allocator.accepts:
        return RealisedVolForecaster(window=20).fit(panel, dates[0]).predict(panel, dates)
    mom = MomentumForecaster(lookback=20).fit(panel, dates[0]).predict(panel, dates)
    # a per-bar expected return with a constant forecast variance
    return Forecast(mom.dates, mom.assets, mom.horizon, "return", mom.mean / 20.0,
                    variance=np.where(np.isfinite(mom.mean), 1e-4, np.nan))


def check_allocator(allocator: Any, panel: Panel, *, n_decisions: int = 8, seed: int = 0) -> None:
    """Conformance of an :class:`~alphalab.models.allocators.Allocator` on a real forecast."""
    name = type(allocator).__name__
    check_params(allocator)
    _, dates = _split(panel, None, n_decisions)
    f = _forecast_for(allocator, panel, dates)
    w = _check_weights(allocator.clone().allocate(f, panel, None), f.shape, name)
    assert np.isfinite(w).any(), f"{name}: no decision at all on a real forecast"
    _same(w, allocator.clone().allocate(f, panel, None), f"{name}: determinism")
    _same(w, pickle.loads(pickle.dumps(allocator)).allocate(f, panel, None), f"{name}: pickled allocator")

    def run(p: Panel, d: pd.DatetimeIndex) -> np.ndarray:
        return allocator.clone().allocate(_forecast_for(allocator, p, d), p, None)

    assert_no_leakage_decisions(run, panel, dates, n_trials=2, seed=seed, cutoffs=[dates[0], dates[len(dates) // 2]])


def check_overlay(overlay: Any, panel: Panel, *, n_decisions: int = 8, seed: int = 0) -> None:
    """Conformance of an :class:`~alphalab.models.overlays.Overlay`: shape, NaN rows kept, causal."""
    name = type(overlay).__name__
    check_params(overlay)
    _, dates = _split(panel, None, n_decisions)
    base = np.full((len(dates), panel.n_assets), 1.0 / panel.n_assets)
    base[1] = np.nan  # a no-decision row stays one
    w = _check_weights(overlay.clone().apply(base, panel, dates), base.shape, name)
    assert np.isnan(w[1]).all(), f"{name}: a NaN (no decision) row must stay NaN"
    assert (np.abs(np.nan_to_num(w)).sum(axis=1) <= np.abs(np.nan_to_num(base)).sum(axis=1) * 10 + 1e-12).all()
    _same(w, pickle.loads(pickle.dumps(overlay)).apply(base, panel, dates), f"{name}: pickled overlay")
    assert_no_leakage_decisions(lambda p, d: overlay.clone().apply(base, p, d), panel, dates, n_trials=2,
                                seed=seed, cutoffs=[dates[0], dates[len(dates) // 2]])
