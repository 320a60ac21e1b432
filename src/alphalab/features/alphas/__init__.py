"""Alpha catalogues written as formulas for :mod:`alphalab.features.expr`.

* :data:`ALPHA101` - the 101 WorldQuant alphas (Kakushadze 2016).
"""

from __future__ import annotations

from alphalab.features.alphas.alpha101 import ALPHA101, alpha101_names, compute_alpha101

__all__ = ["ALPHA101", "alpha101_names", "compute_alpha101"]
