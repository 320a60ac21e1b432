from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

import alphalab.portfolio  # noqa: F401
from alphalab.portfolio.base import make_strategy
from alphalab.validation.cpcv import CPCVSpec, run_cpcv
from alphalab.validation.protocol import ValidationSpec, validate_strategy
from tests.validation.test_protocol import ENGINE, SPEC, hose  # noqa: F401


def test_cpcv_distribution_on_hose(hose) -> None:  # noqa: F811
    panel, _ = hose
    dev = panel.slice_dates(None, "2018-12-31")
    spec = CPCVSpec(n_groups=6, n_test_groups=2, purge=5, embargo=5)
    out = run_cpcv(make_strategy("momentum_topk", {"k": 5, "lookback": 60}), dev, spec, ENGINE, seed=1)
    assert out["n_splits"] == math.comb(6, 2) == len(out["splits"])
    assert out["sharpe_p05"] <= out["sharpe_p50"] <= out["sharpe_p95"]
    assert 0.0 <= out["share_positive"] <= 1.0
    again = run_cpcv(make_strategy("momentum_topk", {"k": 5, "lookback": 60}), dev, spec, ENGINE, seed=1)
    assert again == out


def test_cpcv_in_the_protocol_stays_out_of_the_holdout(hose) -> None:  # noqa: F811
    panel, _ = hose
    spec = ValidationSpec.model_validate(
        SPEC.model_dump() | {"cpcv": {"n_groups": 4, "n_test_groups": 1}}
    )
    v = validate_strategy("ew", make_strategy("equal_weight"), panel, spec, ENGINE)
    assert v.cpcv is not None and v.cpcv["n_splits"] == 4
    total = sum(s["test_rows"] for s in v.cpcv["splits"])
    assert total == int((panel.dates < "2019-01-01").sum())
    assert v.summary()["cpcv"]["n_splits"] == 4


def test_cpcv_spec_errors() -> None:
    with pytest.raises(ValidationError, match="below n_groups"):
        CPCVSpec(n_groups=3, n_test_groups=3)
    with pytest.raises(ValidationError):
        CPCVSpec(n_groups=1)


class _SeamProbe:
    """A trend learner that records every one-bar return its ``fit`` could compute."""

    seen: ClassVar[list[tuple[tuple[Any, ...], list[tuple[Any, Any]]]]] = []


def _probe_class():
    import numpy as np

    from alphalab.portfolio.base import Requirements, Strategy

    class SeamProbe(Strategy):
        requires = Requirements(fields=("close",), learns=True)

        def fit(self, panel, until=None):
            close = panel["close"]
            finite = np.isfinite(close[1:]) & np.isfinite(close[:-1])
            rows = np.flatnonzero(finite.any(axis=1))
            # (date before, date after) of every return the learner could form
            pairs = [(panel.dates[r], panel.dates[r + 1]) for r in rows]
            _SeamProbe.seen.append((tuple(panel.meta.get("train_segments", ())), pairs))
            self.drift_ = float(np.nanmean(close[1:][finite] / close[:-1][finite] - 1.0))
            return super().fit(panel, until)

        def decide(self, panel, dates):
            return np.full((len(dates), panel.n_assets), 1.0 / panel.n_assets)

    return SeamProbe


def test_cpcv_fit_never_sees_a_return_across_a_purged_test_block(hose) -> None:  # noqa: F811
    import numpy as np

    from alphalab.validation.splits import CombinatorialPurgedCV

    panel, _ = hose
    dev = panel.slice_dates("2014-01-01", "2016-12-31")
    spec = CPCVSpec(n_groups=5, n_test_groups=2, purge=5, embargo=5)
    _SeamProbe.seen.clear()
    run_cpcv(_probe_class()(), dev, spec, ENGINE, seed=0)
    folds = CombinatorialPurgedCV(5, 2, 5, 5).split(dev.n_dates)
    assert len(_SeamProbe.seen) == len(folds)
    for fold, (segments, pairs) in zip(folds, _SeamProbe.seen, strict=True):
        train = set(dev.dates[fold.train])
        assert len(segments) >= 1
        for a, b in pairs:
            # both ends are training rows and adjacent on the real calendar
            assert a in train and b in train
            ia, ib = dev.dates.get_loc(a), dev.dates.get_loc(b)
            assert ib == ia + 1, f"return {a.date()}->{b.date()} spans rows outside training"
    # the glued series would have formed returns across the seams: show at least one fold has one
    glued_spans = 0
    for fold in folds:
        gaps = np.diff(fold.train)
        glued_spans += int((gaps > 1).sum())
    assert glued_spans > 0
