"""The operator registry: every operator's arguments, kind and lookback.

An operator is a plain function over ``(n_dates, n_assets)`` float64 arrays
plus literal parameters. Its *signature* names each argument's role:

``"x"``
    a series (a sub-formula; numbers are broadcast to full arrays);
``"d"``
    a window length: a numeric literal, floored to an int >= 1 as in the
    paper ("non-integer number of days d is converted to floor(d)");
``"n"``
    any other numeric literal (a power, a quantile, a scale target);
``"g"``
    a group name (``IndClass.sector``, ``sector``, ``industry``, ...).

Its *lookback* is the number of rows, today included, that it reads from its
inputs for one output row (1 for element-wise and cross-sectional operators,
``d`` for a rolling window, ``d + 1`` for ``delay``/``delta``). The engine
adds ``lookback - 1`` along each path of the tree to get a formula's warm-up.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from alphalab.errors import ConfigError

__all__ = [
    "Operator",
    "OperatorKind",
    "get_operator",
    "list_operators",
    "register_operator",
]

OperatorKind = Literal["ts", "cs", "elementwise"]
_ROLES = frozenset("xdng")


@dataclass(frozen=True)
class Operator:
    """One registered operator.

    Attributes
    ----------
    name : str
        Lower-case name used in formulas.
    fn : callable
        ``fn(*args)`` with arrays for ``"x"`` roles, ``int`` for ``"d"``,
        ``float`` for ``"n"`` and, for ``"g"``, an int array of group codes of
        shape ``(n_assets,)`` (-1 = no group). Returns a ``(n_dates, n_assets)``
        float64 array and must not modify its inputs.
    kind : {"ts", "cs", "elementwise"}
        Time-series (reads past rows of each asset), cross-sectional (reads
        one row across assets) or element-wise.
    signature : str
        One role letter per argument, e.g. ``"xxd"`` for ``ts_corr``.
    defaults : tuple
        Values for trailing optional arguments (literals only).
    lookback : callable or int
        Rows read per output row, as an int or as ``f(params) -> int`` where
        ``params`` are the literal arguments (windows as ints) in order.
    doc : str
        One line for listings.
    """

    name: str
    fn: Callable[..., Any]
    kind: OperatorKind
    signature: str
    defaults: tuple[float, ...] = ()
    lookback: Callable[[Sequence[float]], int] | int = 1
    doc: str = ""

    def rows_needed(self, params: Sequence[float]) -> int:
        lb = self.lookback
        return int(lb(params)) if callable(lb) else int(lb)

    @property
    def min_args(self) -> int:
        return len(self.signature) - len(self.defaults)


_REGISTRY: dict[str, Operator] = {}
_ALIASES: dict[str, str] = {}


def register_operator(
    name: str,
    fn: Callable[..., Any],
    *,
    lookback: Callable[[Sequence[float]], int] | int | None = None,
    kind: OperatorKind = "elementwise",
    signature: str = "x",
    defaults: Sequence[float] = (),
    aliases: Sequence[str] = (),
    doc: str = "",
    replace: bool = False,
) -> Operator:
    """Register an operator so formulas can call it by ``name``.

    Parameters
    ----------
    name : str
        Formula name (case-insensitive).
    fn : callable
        See :class:`Operator`.
    lookback : int or callable, optional
        Rows read per output row. Default: 1 for ``"elementwise"``/``"cs"``;
        for ``"ts"`` the first window (``"d"``) argument.
    kind : {"ts", "cs", "elementwise"}
    signature : str
        Argument roles, e.g. ``"xd"`` (series, window).
    defaults : sequence of float
        Values of trailing optional literal arguments.
    aliases : sequence of str
        Other names for the same operator.
    doc : str
    replace : bool
        Allow replacing an existing operator of the same name.

    Returns
    -------
    Operator

    Raises
    ------
    ConfigError
        Bad signature or kind, or the name is taken and ``replace`` is false.

    Examples
    --------
    >>> import numpy as np
    >>> register_operator("ts_range", lambda x, d: ts_max(x, d) - ts_min(x, d),
    ...                   kind="ts", signature="xd")                    # doctest: +SKIP
    """
    key = name.lower()
    if kind not in ("ts", "cs", "elementwise"):
        raise ConfigError(f"operator {name!r}: kind must be 'ts', 'cs' or 'elementwise', not {kind!r}")
    if not signature or set(signature) - _ROLES:
        raise ConfigError(f"operator {name!r}: signature {signature!r} must use the letters x, d, n, g")
    if len(defaults) > len(signature) or any(r == "x" for r in signature[len(signature) - len(defaults):]):
        raise ConfigError(f"operator {name!r}: defaults may only cover trailing literal arguments")
    if lookback is None:
        if kind == "ts":
            if "d" not in signature:
                raise ConfigError(f"time-series operator {name!r} needs a lookback or a 'd' argument")
            lits = [r for r in signature if r != "x"]
            pos = lits.index("d")
            lookback = lambda params, _p=pos: int(params[_p])  # noqa: E731
        else:
            lookback = 1
    names = [key, *(a.lower() for a in aliases)]
    if not replace:
        taken = [n for n in names if n in _REGISTRY or n in _ALIASES]
        if taken:
            raise ConfigError(f"operator name(s) already registered: {', '.join(taken)}")
    op = Operator(key, fn, kind, signature, tuple(float(v) for v in defaults), lookback, doc)
    _REGISTRY[key] = op
    for alias in names[1:]:
        _ALIASES[alias] = key
    return op


def get_operator(name: str) -> Operator | None:
    """The operator called ``name`` (or an alias), or ``None``."""
    key = name.lower()
    return _REGISTRY.get(_ALIASES.get(key, key))


def suggest_operators(name: str, n: int = 3) -> list[str]:
    """Registered names closest to ``name`` (for error messages)."""
    return difflib.get_close_matches(name.lower(), [*_REGISTRY, *_ALIASES], n=n, cutoff=0.6)


def list_operators() -> list[Operator]:
    """Every registered operator, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def operator_aliases() -> dict[str, str]:
    """Alias -> canonical name."""
    return dict(_ALIASES)
