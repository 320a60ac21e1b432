"""Alpha catalogues written as formulas for :mod:`alphalab.features.expr`.

* :data:`ALPHA101` - the 101 WorldQuant alphas (Kakushadze 2016).
* :data:`ALPHA158` - a Qlib-Alpha158-like set (k-bar, price, 29 rolling
  families over 5/10/20/30/60 days).
"""

from __future__ import annotations

from alphalab.features.alphas.alpha101 import ALPHA101, alpha101_names, compute_alpha101
from alphalab.features.alphas.alpha158 import ALPHA158, ALPHA158_WINDOWS, compute_alpha158

__all__ = [
    "ALPHA101",
    "ALPHA158",
    "ALPHA158_WINDOWS",
    "alpha101_names",
    "compute_alpha101",
    "compute_alpha158",
]
