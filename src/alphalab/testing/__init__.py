"""Reusable test harnesses for alphalab code and user code (the leakage guard)."""

from __future__ import annotations

from alphalab.testing.conformance import (
    check_allocator,
    check_forecaster,
    check_overlay,
    check_params,
    check_strategy,
)
from alphalab.testing.leakage import (
    PERTURBATIONS,
    LeakageFinding,
    assert_no_leakage,
    assert_no_leakage_decisions,
    assert_strategy_no_leakage,
    find_leakage,
    perturb_after,
)

__all__ = [
    "PERTURBATIONS",
    "LeakageFinding",
    "assert_no_leakage",
    "assert_no_leakage_decisions",
    "assert_strategy_no_leakage",
    "check_allocator",
    "check_forecaster",
    "check_overlay",
    "check_params",
    "check_strategy",
    "find_leakage",
    "perturb_after",
]
