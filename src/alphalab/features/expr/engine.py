"""Compile formulas against the fields a dataset has, and evaluate them on a Panel.

Fields a formula may use: every field of the Panel, plus these derived ones
when the Panel lacks them:

``returns``
    ``close / delay(close, 1) - 1`` (daily close-to-close return).
``vwap``
    ``amount / volume`` when an ``amount`` field exists; otherwise the
    *proxy* ``(high + low + close) / 3`` (the typical price), with a
    :class:`ProxyFieldWarning`. Daily bars carry no true VWAP, so alphas on
    such data use this stand-in.
``adv{d}``
    ``ts_mean(close * volume, d)``: average daily *dollar* volume over ``d``
    days, as the paper defines it. Note that several alphas compare it with
    ``volume`` (shares), as the paper's formulas do.
``cap``
    only from a ``cap`` field (market capitalisation); no proxy.

Groups (for ``indneutralize``): a mapping ``{"sector": {ticker: label}, ...}``
passed as ``groups=``. ``IndClass.sector`` in a formula names group
``sector``. Formulas needing a group map or a standard field (``open high low
close volume amount cap benchmark_close``) that the data lacks raise :class:`MissingInputError`,
which the catalogues turn into "skipped: reason"; any other unknown name is a
:class:`FormulaError` naming it and the available fields.

Warm-up: each operator declares the rows it reads (its lookback); a
formula's warm-up is the largest sum of ``lookback - 1`` along a path from
the root to a field. The first ``warmup`` output rows are always NaN, and
``history = warmup + 1`` rows are needed for one valid value. An asset that
lists late gets the same warm-up counted from its first row where all the
formula's fields are finite. After that, missing values propagate element by
element (a gap blanks each time-series window that contains it).

Common subexpressions (the same ``rank(volume)`` in many alphas) are computed
once per :func:`evaluate_many` call: nodes are keyed by their canonical text
and kept only while a later formula still needs them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.features.expr import ops as _ops  # noqa: F401  (registers the built-ins)
from alphalab.features.expr.parser import Call, FormulaError, Name, Node, Num, parse
from alphalab.features.expr.registry import Operator, get_operator, suggest_operators

__all__ = [
    "Formula",
    "MissingInputError",
    "ProxyFieldWarning",
    "compile_formula",
    "evaluate",
    "evaluate_many",
]

_ADV = re.compile(r"^adv(\d+)$")
#: Market-data fields a dataset may or may not have: formulas needing an absent
#: one raise MissingInputError (catalogues skip them); other unknown names are typos.
_STANDARD_FIELDS = frozenset(
    {"open", "high", "low", "close", "volume", "amount", "cap", "benchmark_close"}
)
_GROUP_PREFIX = "indclass."


class MissingInputError(FormulaError):
    """A formula is valid but the data lacks a field or group it needs.

    Attributes
    ----------
    missing : str
        The field or group name.
    """

    def __init__(self, message: str, formula: str, pos: int, missing: str) -> None:
        self.missing = missing
        super().__init__(message, formula, pos)


class ProxyFieldWarning(UserWarning):
    """A derived field was replaced by a stand-in (e.g. vwap by the typical price)."""


# ------------------------------------------------------------- resolved tree
@dataclass(frozen=True, eq=False)
class RNode:
    key: str
    warmup: int


@dataclass(frozen=True, eq=False)
class RConst(RNode):
    value: float


@dataclass(frozen=True, eq=False)
class RField(RNode):
    name: str


@dataclass(frozen=True, eq=False)
class RCall(RNode):
    op: Operator
    args: tuple[Any, ...]  # RNode for "x" roles, int / float / str literals otherwise

    @property
    def children(self) -> list[RNode]:
        return [a for a in self.args if isinstance(a, RNode)]


@dataclass(frozen=True)
class Formula:
    """A formula compiled against a set of available fields and groups.

    Attributes
    ----------
    text : str
        The formula as written.
    root : RNode
        The resolved operator tree.
    warmup : int
        Leading rows that are always NaN.
    history : int
        Rows needed for the first valid value (``warmup + 1``).
    fields : frozenset of str
        Raw Panel fields read.
    groups : frozenset of str
        Group maps read.
    proxies : tuple of str
        Derived fields replaced by a proxy (``"vwap"``).
    """

    text: str
    root: RNode
    warmup: int
    fields: frozenset[str]
    groups: frozenset[str]
    proxies: tuple[str, ...] = ()

    @property
    def history(self) -> int:
        return self.warmup + 1


@dataclass
class _Resolver:
    text: str
    fields: frozenset[str]
    groups: frozenset[str]
    used_fields: set[str] = field(default_factory=set)
    used_groups: set[str] = field(default_factory=set)
    proxies: set[str] = field(default_factory=set)

    def derived(self, name: str, pos: int) -> RNode | None:
        if name == "returns":
            return self.expand("close / delay(close, 1) - 1", pos)
        if name == "vwap":
            if "amount" in self.fields and "volume" in self.fields:
                return self.expand("amount / volume", pos)
            self.proxies.add("vwap")
            return self.expand("(high + low + close) / 3", pos)
        m = _ADV.match(name)
        if m and int(m.group(1)) >= 1:
            return self.expand(f"ts_mean(close * volume, {int(m.group(1))})", pos)
        return None

    def expand(self, text: str, pos: int) -> RNode:
        # derived fields are resolved in the context of the user's formula so
        # that a missing raw field is reported against it
        tree = _parse_cached(text)
        try:
            return self.resolve(tree)
        except MissingInputError as exc:
            raise MissingInputError(
                f"{exc.reason} (needed by a derived field)", self.text, pos, exc.missing
            ) from None
        except FormulaError as exc:
            raise FormulaError(f"{exc.reason} (needed by a derived field)", self.text, pos) from None

    def available(self) -> str:
        derived = ["returns", "vwap", "adv{d}"]
        names = sorted(self.fields) + [d for d in derived if d not in self.fields]
        return ", ".join(names) or "none"

    def resolve(self, node: Node) -> RNode:
        if isinstance(node, Num):
            return RConst(node.key, 0, float(node.value))
        if isinstance(node, Name):
            name = node.name
            if name in self.fields:
                self.used_fields.add(name)
                return RField(name, 0, name)
            derived = self.derived(name, node.pos)
            if derived is not None:
                return derived
            if name.lower().startswith(_GROUP_PREFIX) or name in ("sector", "industry", "subindustry"):
                raise FormulaError(
                    f"group {name!r} can only be an argument of indneutralize", self.text, node.pos
                )
            if name == "cap":
                raise MissingInputError(
                    "field 'cap' (market capitalisation) is not in the data", self.text,
                    node.pos, "cap",
                )
            if name in _STANDARD_FIELDS:
                # a standard market-data field this dataset lacks: catalogues skip it
                raise MissingInputError(
                    f"field {name!r} is not in the data; available fields: {self.available()}",
                    self.text, node.pos, name,
                )
            # anything else is a name nobody defines: most likely a typo
            raise FormulaError(
                f"unknown field {name!r}; available fields: {self.available()}",
                self.text, node.pos,
            )
        assert isinstance(node, Call)
        return self.resolve_call(node)

    def literal(self, node: Node, role: str, opname: str, i: int) -> float:
        if not isinstance(node, Num):
            what = "a window length" if role == "d" else "a number"
            raise FormulaError(
                f"argument {i + 1} of {opname} must be {what} (a literal)", self.text, node.pos
            )
        return float(node.value)

    def resolve_call(self, node: Call) -> RNode:
        name = node.op
        if name in ("min", "max") and len(node.args) == 2:
            # the paper: min(x, d) = ts_min(x, d); with two series: element-wise
            if isinstance(node.args[1], Num):
                name = "ts_" + name
            else:
                name = "least" if name == "min" else "greatest"
        op = get_operator(name)
        if op is None:
            hint = suggest_operators(name)
            extra = f"; did you mean {', '.join(hint)}?" if hint else ""
            raise FormulaError(f"unknown operator {node.op!r}{extra}", self.text, node.pos)
        sig = op.signature
        n = len(node.args)
        if n < op.min_args or n > len(sig):
            want = str(len(sig)) if op.min_args == len(sig) else f"{op.min_args} to {len(sig)}"
            raise FormulaError(
                f"{node.op} takes {want} argument(s), got {n}", self.text, node.pos
            )
        args: list[Any] = []
        params: list[float] = []
        for i, role in enumerate(sig):
            if i >= n:
                val = op.defaults[i - op.min_args]
                args.append(val)
                params.append(val)
                continue
            a = node.args[i]
            if role == "x":
                args.append(self.resolve(a))
            elif role == "d":
                v = self.literal(a, role, node.op, i)
                d = math.floor(v)
                if d < 1:
                    raise FormulaError(
                        f"window of {node.op} must be >= 1, got {v:g}", self.text, a.pos
                    )
                args.append(int(d))
                params.append(float(d))
            elif role == "n":
                v = self.literal(a, role, node.op, i)
                args.append(v)
                params.append(v)
            else:  # group
                if not isinstance(a, Name):
                    raise FormulaError(
                        f"argument {i + 1} of {node.op} must be a group name such as "
                        "IndClass.sector", self.text, a.pos,
                    )
                g = a.name[len(_GROUP_PREFIX):] if a.name.lower().startswith(_GROUP_PREFIX) else a.name
                if g not in self.groups:
                    have = ", ".join(sorted(self.groups)) or "none"
                    raise MissingInputError(
                        f"group map {g!r} is not given (groups available: {have})",
                        self.text, a.pos, g,
                    )
                self.used_groups.add(g)
                args.append(g)
        children = [a for a in args if isinstance(a, RNode)]
        if op.name == "rank" and isinstance(args[0], RCall) and args[0].op.name == "rank":
            # rank is idempotent (same order, ties and count): rank(rank(x)) is rank(x)
            return args[0]
        base = max((c.warmup for c in children), default=0)
        warm = base + max(op.rows_needed(params) - 1, 0) if children else 0
        key = f"{op.name}({','.join(a.key if isinstance(a, RNode) else repr(a) for a in args)})"
        if children and all(isinstance(c, RConst) for c in children) and op.kind == "elementwise":
            # fold constants such as (-1 * 1) so that they stay scalars
            with np.errstate(all="ignore"):
                value = op.fn(*(np.array([[c.value]]) for c in children))
            return RConst(key, 0, float(np.asarray(value).ravel()[0]))
        return RCall(key, warm, op, tuple(args))


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Node:
    return parse(text)


def compile_formula(
    text: str,
    fields: Collection[str],
    groups: Collection[str] = (),
) -> Formula:
    """Parse ``text`` and resolve it against the available fields and groups.

    Parameters
    ----------
    text : str
        The formula.
    fields : collection of str
        Field names of the data (e.g. ``panel.field_names``).
    groups : collection of str
        Names of the group maps given (``"sector"``, ``"industry"`` ...).

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        Syntax errors, unknown operators, bad arguments.
    MissingInputError
        A field or group the data lacks.
    """
    tree = _parse_cached(text)
    r = _Resolver(text, frozenset(fields), frozenset(groups))
    root = r.resolve(tree)
    return Formula(
        text, root, root.warmup, frozenset(r.used_fields), frozenset(r.used_groups),
        tuple(sorted(r.proxies)),
    )


# ------------------------------------------------------------------ evaluation
class _Evaluator:
    def __init__(self, panel: Panel, groups: Mapping[str, Any] | None) -> None:
        from alphalab.features.transforms import group_codes

        self.panel = panel
        self.shape = panel.shape
        self.codes = {
            g: group_codes(panel.assets, m) for g, m in (groups or {}).items()
        }
        self.cache: dict[str, np.ndarray] = {}
        self.uses: dict[str, int] = {}

    def count(self, roots: Iterable[RNode]) -> None:
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            self.uses[node.key] = self.uses.get(node.key, 0) + 1
            if node.key in seen:
                continue
            seen.add(node.key)
            if isinstance(node, RCall):
                stack.extend(node.children)

    def full(self, value: float) -> np.ndarray:
        return np.full(self.shape, value)

    def get(self, node: RNode) -> np.ndarray:
        key = node.key
        if key in self.cache:
            self.uses[key] -= 1
            arr = self.cache[key]
            if self.uses[key] <= 0:
                del self.cache[key]
            return arr
        arr = self.compute(node)
        self.uses[key] = self.uses.get(key, 1) - 1
        if self.uses[key] > 0:
            self.cache[key] = arr
        return arr

    def compute(self, node: RNode) -> np.ndarray:
        if isinstance(node, RConst):
            return self.full(node.value)
        if isinstance(node, RField):
            return np.ascontiguousarray(self.panel[node.name], dtype=np.float64)
        assert isinstance(node, RCall)
        op = node.op
        args: list[Any] = []
        for role, a in zip(op.signature, node.args, strict=True):
            if role == "x":
                args.append(self.get(a))
            elif role == "g":
                args.append(self.codes[a])
            else:
                args.append(a)
        out = np.asarray(op.fn(*args), dtype=np.float64)
        if out.shape != self.shape:
            out = np.broadcast_to(out, self.shape).copy()
        return out


def _first_rows(panel: Panel, fields: frozenset[str]) -> np.ndarray:
    """Per asset, the first row where every field in ``fields`` is finite (n_dates if never)."""
    ok = np.ones(panel.shape, dtype=bool)
    for name in fields:
        ok &= np.isfinite(panel[name])
    first = np.argmax(ok, axis=0)
    first[~ok.any(axis=0)] = panel.n_dates
    return first


def _finish(arr: np.ndarray, warmup: int, first: np.ndarray | None) -> np.ndarray:
    out = np.array(arr, dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    out[:warmup] = np.nan
    if first is not None and warmup > 0:
        # a late listing gets its own warm-up: a ternary whose chosen branch is
        # already finite must not yield values before the asset's windows fill
        rows = np.arange(out.shape[0])[:, None]
        out[rows < (first + warmup)[None, :]] = np.nan
    return out


def _group_names(groups: Mapping[str, Any] | None) -> list[str]:
    return list(groups or {})


def evaluate_many(
    formulas: Mapping[str, str | Formula],
    panel: Panel,
    *,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
    on_missing: str = "raise",
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate several formulas on one Panel, sharing common subexpressions.

    Parameters
    ----------
    formulas : mapping of str to str or Formula
        Name -> formula.
    panel : Panel
        Fields of shape ``(n_dates, n_assets)``.
    groups : mapping, optional
        Group name -> (ticker -> label), for ``indneutralize``.
    on_missing : {"raise", "skip"}
        What to do when the data lacks a field or group a formula needs:
        raise :class:`MissingInputError`, or skip it and report why.

    Returns
    -------
    values : dict of str to ndarray, each (n_dates, n_assets)
        NaN during each formula's warm-up and where inputs are missing.
    skipped : dict of str to str
        Name -> reason, for formulas skipped under ``on_missing="skip"``.
    """
    if on_missing not in ("raise", "skip"):
        raise FormulaError(f"on_missing must be 'raise' or 'skip', not {on_missing!r}", "")
    compiled: dict[str, Formula] = {}
    skipped: dict[str, str] = {}
    gnames = _group_names(groups)
    for name, f in formulas.items():
        try:
            compiled[name] = (
                f if isinstance(f, Formula) else compile_formula(f, panel.field_names, gnames)
            )
        except MissingInputError as exc:
            if on_missing == "raise":
                raise
            skipped[name] = exc.reason
    proxies = sorted({p for f in compiled.values() for p in f.proxies})
    if proxies:
        warnings.warn(
            "vwap is not in the data: using the typical price (high + low + close) / 3 "
            "as a proxy", ProxyFieldWarning, stacklevel=2,
        )
    ev = _Evaluator(panel, groups)
    ev.count(f.root for f in compiled.values())
    out: dict[str, np.ndarray] = {}
    firsts: dict[frozenset[str], np.ndarray] = {}
    for name, f in compiled.items():
        if f.fields and f.fields not in firsts:
            firsts[f.fields] = _first_rows(panel, f.fields)
        out[name] = _finish(ev.get(f.root), f.warmup, firsts.get(f.fields))
    return out, skipped


def evaluate(
    formula: str | Formula,
    panel: Panel,
    *,
    groups: Mapping[str, Mapping[str, Any]] | None = None,
) -> np.ndarray:
    """Evaluate one formula on a Panel.

    Parameters
    ----------
    formula : str or Formula
        E.g. ``"rank(ts_corr(close, volume, 10))"``.
    panel : Panel
    groups : mapping, optional
        Group name -> (ticker -> label), for ``indneutralize``.

    Returns
    -------
    ndarray, shape (n_dates, n_assets)

    Raises
    ------
    FormulaError, MissingInputError
    """
    values, _ = evaluate_many({"_": formula}, panel, groups=groups)
    return values["_"]
