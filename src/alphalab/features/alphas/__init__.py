"""Alpha catalogues written as formulas for :mod:`alphalab.features.expr`.

* :data:`ALPHA101` - the 101 WorldQuant alphas (Kakushadze 2016).
* :data:`ALPHA158` - a Qlib-Alpha158-like set (k-bar, price, 29 rolling
  families over 5/10/20/30/60 days).
* :data:`GTJA191` - Guotai Junan's 191 short-period alphas where well
  defined (181; :data:`GTJA191_SKIPPED` gives the reasons for the rest).
* :func:`compute_alphas` - any mix of catalogue and alpha names.
"""

from __future__ import annotations

from alphalab.features.alphas.alpha101 import ALPHA101, alpha101_names, compute_alpha101
from alphalab.features.alphas.alpha158 import ALPHA158, ALPHA158_WINDOWS, compute_alpha158
from alphalab.features.alphas.gtja191 import (
    GTJA191,
    GTJA191_REPAIRS,
    GTJA191_SKIPPED,
    compute_gtja191,
    gtja191_names,
)
from alphalab.features.catalogues import compute_alphas

__all__ = [
    "ALPHA101",
    "ALPHA158",
    "ALPHA158_WINDOWS",
    "GTJA191",
    "GTJA191_REPAIRS",
    "GTJA191_SKIPPED",
    "alpha101_names",
    "compute_alpha101",
    "compute_alpha158",
    "compute_alphas",
    "compute_gtja191",
    "gtja191_names",
]
