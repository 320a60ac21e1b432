"""Formulaic-alpha expression engine: parse formulas once, evaluate on wide arrays.

>>> from alphalab.features.expr import evaluate                   # doctest: +SKIP
>>> evaluate("rank(ts_corr(close, volume, 10))", panel)            # doctest: +SKIP
"""

from __future__ import annotations

from alphalab.features.expr.engine import (
    Formula,
    MissingInputError,
    ProxyFieldWarning,
    compile_formula,
    evaluate,
    evaluate_many,
)
from alphalab.features.expr.parser import FormulaError, parse
from alphalab.features.expr.registry import (
    Operator,
    get_operator,
    list_operators,
    register_operator,
)

__all__ = [
    "Formula",
    "FormulaError",
    "MissingInputError",
    "Operator",
    "ProxyFieldWarning",
    "compile_formula",
    "evaluate",
    "evaluate_many",
    "get_operator",
    "list_operators",
    "parse",
    "register_operator",
]
