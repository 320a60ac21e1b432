"""``al.run_backtest`` as users call it from Python: the engine, behind the data seal.

A panel that carries a seal (``panel.meta["seal"]``, set by :func:`alphalab.load`) and
holds dates on or after it was either opened on purpose (``open_seal=True``: the run is
recorded as a look at that dataset's holdout, a :class:`SealWarning` is raised and the
result carries ``result.seal``) or was rebuilt by hand around a cut panel (refused). The
engine itself (:mod:`alphalab.backtest.engine`) stays seal-free: studies and the
validation layer call it on panels they already cut.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from alphalab.backtest.engine import backtest as _engine_backtest
from alphalab.data.seal import SealWarning, check_panel

__all__ = ["backtest"]


@functools.wraps(_engine_backtest)
def backtest(weights: Any, panel: Any, *args: Any, **kwargs: Any) -> Any:
    info = check_panel(panel, "al.run_backtest")
    result = _engine_backtest(weights, panel, *args, **kwargs)
    if info is not None:
        warnings.warn(
            f"al.run_backtest ran on {info['dataset']} past its seal ({info['sealed_from']}); "
            f"the look is recorded (looks so far: {info['n_looks']})",
            SealWarning,
            stacklevel=2,
        )
        object.__setattr__(result, "seal", info)  # the output is marked as having seen it
    return result
