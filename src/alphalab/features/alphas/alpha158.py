"""A Qlib-Alpha158-like feature set, written as formulas for the engine.

The families and windows follow Qlib's ``Alpha158`` handler
(``qlib.contrib.data.handler.Alpha158``, default config): 9 k-bar features,
4 price ratios (window 0) and 29 rolling families over windows
5, 10, 20, 30, 60 = 158 features. Qlib's ``$close`` is ``close`` here,
``Ref(x, d)`` is ``delay(x, d)``, ``Greater``/``Less`` are element-wise
``max``/``min``, ``Std`` is ddof=1, ``IdxMax`` is 1 (oldest) .. d (today), ``Greater(x, 0)`` is ``greatest(x, 0)``
(``max(x, 0)`` would be ``ts_max`` by the paper's rule),
``Rank(x, d)`` is ``ts_rank`` (percentile in ``(0, 1]``), ``Slope``/
``Rsquare``/``Resi`` regress the window on time (``ts_slope``,
``ts_rsquare``, ``ts_resi``) and ``Quantile`` is ``ts_quantile``.

Differences from Qlib, on purpose: windows are strict (NaN until full, where
Qlib's pandas rolling uses ``min_periods=1``), and ``vwap`` falls back to the
typical price when the data has no ``amount`` (with a warning).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.features.expr.engine import compile_formula, evaluate_many

__all__ = ["ALPHA158", "ALPHA158_WINDOWS", "compute_alpha158"]

ALPHA158_WINDOWS: tuple[int, ...] = (5, 10, 20, 30, 60)

_EPS = "1e-12"
_RET = "(close / delay(close, 1))"
_DC = "(close - delay(close, 1))"
_DV = "(volume - delay(volume, 1))"

_KBAR: dict[str, str] = {
    "KMID": "(close - open) / open",
    "KLEN": "(high - low) / open",
    "KMID2": f"(close - open) / (high - low + {_EPS})",
    "KUP": "(high - max(open, close)) / open",
    "KUP2": f"(high - max(open, close)) / (high - low + {_EPS})",
    "KLOW": "(min(open, close) - low) / open",
    "KLOW2": f"(min(open, close) - low) / (high - low + {_EPS})",
    "KSFT": "(2 * close - high - low) / open",
    "KSFT2": f"(2 * close - high - low) / (high - low + {_EPS})",
}

_PRICE: dict[str, str] = {
    "OPEN0": "open / close",
    "HIGH0": "high / close",
    "LOW0": "low / close",
    "VWAP0": "vwap / close",
}

_ROLLING: dict[str, str] = {
    "ROC": "delay(close, {d}) / close",
    "MA": "ts_mean(close, {d}) / close",
    "STD": "ts_std(close, {d}) / close",
    "BETA": "ts_slope(close, {d}) / close",
    "RSQR": "ts_rsquare(close, {d})",
    "RESI": "ts_resi(close, {d}) / close",
    "MAX": "ts_max(high, {d}) / close",
    "MIN": "ts_min(low, {d}) / close",
    "QTLU": "ts_quantile(close, {d}, 0.8) / close",
    "QTLD": "ts_quantile(close, {d}, 0.2) / close",
    "RANK": "ts_rank(close, {d})",
    "RSV": f"(close - ts_min(low, {{d}})) / (ts_max(high, {{d}}) - ts_min(low, {{d}}) + {_EPS})",
    "IMAX": "ts_argmax(high, {d}) / {d}",
    "IMIN": "ts_argmin(low, {d}) / {d}",
    "IMXD": "(ts_argmax(high, {d}) - ts_argmin(low, {d})) / {d}",
    "CORR": "ts_corr(close, log(volume + 1), {d})",
    "CORD": f"ts_corr({_RET}, log(volume / delay(volume, 1) + 1), {{d}})",
    "CNTP": "ts_mean(close > delay(close, 1), {d})",
    "CNTN": "ts_mean(close < delay(close, 1), {d})",
    "CNTD": "ts_mean(close > delay(close, 1), {d}) - ts_mean(close < delay(close, 1), {d})",
    "SUMP": f"ts_sum(greatest({_DC}, 0), {{d}}) / (ts_sum(abs({_DC}), {{d}}) + {_EPS})",
    "SUMN": f"ts_sum(greatest(-{_DC}, 0), {{d}}) / (ts_sum(abs({_DC}), {{d}}) + {_EPS})",
    "SUMD": (
        f"(ts_sum(greatest({_DC}, 0), {{d}}) - ts_sum(greatest(-{_DC}, 0), {{d}}))"
        f" / (ts_sum(abs({_DC}), {{d}}) + {_EPS})"
    ),
    "VMA": f"ts_mean(volume, {{d}}) / (volume + {_EPS})",
    "VSTD": f"ts_std(volume, {{d}}) / (volume + {_EPS})",
    "WVMA": (
        f"ts_std(abs({_RET} - 1) * volume, {{d}})"
        f" / (ts_mean(abs({_RET} - 1) * volume, {{d}}) + {_EPS})"
    ),
    "VSUMP": f"ts_sum(greatest({_DV}, 0), {{d}}) / (ts_sum(abs({_DV}), {{d}}) + {_EPS})",
    "VSUMN": f"ts_sum(greatest(-{_DV}, 0), {{d}}) / (ts_sum(abs({_DV}), {{d}}) + {_EPS})",
    "VSUMD": (
        f"(ts_sum(greatest({_DV}, 0), {{d}}) - ts_sum(greatest(-{_DV}, 0), {{d}}))"
        f" / (ts_sum(abs({_DV}), {{d}}) + {_EPS})"
    ),
}


def _build() -> dict[str, str]:
    out: dict[str, str] = {**_KBAR, **_PRICE}
    for fam, template in _ROLLING.items():
        for d in ALPHA158_WINDOWS:
            out[f"{fam}{d}"] = template.format(d=d)
    return out


#: Feature name (``KMID``, ``ROC5`` ... ``VSUMD60``) -> formula; 158 entries.
ALPHA158: dict[str, str] = _build()


def compute_alpha158(
    panel: Panel,
    *,
    names: list[str] | None = None,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate the Alpha158-like set (or a subset) on a Panel.

    Returns
    -------
    values : dict of str to ndarray, each (n_dates, n_assets)
    skipped : dict of str to str
        Features whose inputs are missing, with the reason.
    """
    chosen = ALPHA158 if names is None else {n: ALPHA158[n] for n in names}
    return evaluate_many(chosen, panel, groups=groups, on_missing="skip")


def _register() -> None:
    try:
        from alphalab.features.sets import register_feature_set
    except ImportError:  # a checkout without the feature-set registry
        return
    base = ["open", "high", "low", "close", "volume"]
    register_feature_set(
        "alpha158",
        lambda panel: compute_alpha158(panel)[0],
        spec={
            "catalogue": "alpha158",
            "formulas": hashlib.sha256(json.dumps(ALPHA158, sort_keys=True).encode()).hexdigest(),
            "vwap": "amount/volume else (high+low+close)/3",
        },
        requires=tuple(base),
        lookback=max(compile_formula(f, base).warmup for f in ALPHA158.values()),
        description="Qlib-Alpha158-like: k-bar, price ratios, 29 rolling families x 5/10/20/30/60",
        replace=True,
    )


_register()
