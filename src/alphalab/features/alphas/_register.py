"""Registering a formula catalogue as a feature set (one routine for every catalogue)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.features.expr.engine import compile_formula

__all__ = ["OHLCV", "register_catalogue"]

OHLCV = ("open", "high", "low", "close", "volume")


def register_catalogue(
    name: str,
    formulas: Mapping[str, str],
    feature_set: Callable[[Panel], dict[str, np.ndarray]],
    *,
    extra_fields: Sequence[str] = (),
    groups: Sequence[str] = (),
    spec: Mapping[str, Any],
    description: str,
) -> None:
    """Register ``formulas`` as the feature set ``name`` (OHLCV required).

    The set's lookback is the longest warm-up of any formula, given the optional
    ``extra_fields`` and ``groups`` it may read; its spec hashes the formula text, so a
    changed formula invalidates cached features.
    """
    try:
        from alphalab.features.sets import register_feature_set
    except ImportError:  # a checkout without the feature-set registry
        return
    fields = [*OHLCV, *extra_fields]
    warm = max(compile_formula(f, fields, list(groups)).warmup for f in formulas.values())
    digest = hashlib.sha256(json.dumps(dict(formulas), sort_keys=True).encode()).hexdigest()
    register_feature_set(
        name,
        feature_set,
        spec={"catalogue": name, "formulas": digest, **spec},
        requires=OHLCV,
        lookback=warm,
        description=description,
        replace=True,
    )
