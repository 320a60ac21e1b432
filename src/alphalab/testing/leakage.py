"""The leakage guard: perturb the future, demand a bit-identical past.

DESIGN section 4: a feature, model or strategy is correct only if changing data
after a date ``t`` leaves everything it produced at or before ``t`` bit-for-bit
unchanged. This module is the reusable harness that checks it.

For each trial a cutoff row ``t`` is drawn, a copy of the input is built in
which every field's rows after ``t`` are changed (random rescaling, NaN holes,
rows moved in time, extreme values), the function is called on both inputs and
every output row dated at or before ``t`` must be identical bit for bit (NaN
equals NaN, but ``0.0`` and ``-0.0`` differ). The first difference raises
:class:`alphalab.errors.LeakageError` naming the output, date, column, cutoff
and perturbation.

Usable from pytest (it raises an ``AssertionError`` subclass) and from user
code (:func:`find_leakage` returns the finding instead of raising).

Examples
--------
>>> from alphalab.testing import assert_no_leakage
>>> assert_no_leakage(lambda p: my_feature(p["close"]), panel)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, LeakageError

__all__ = [
    "PERTURBATIONS",
    "LeakageFinding",
    "assert_no_leakage",
    "assert_no_leakage_decisions",
    "assert_strategy_no_leakage",
    "find_leakage",
    "perturb_after",
]

#: Perturbation kinds understood by :func:`perturb_after`.
PERTURBATIONS: tuple[str, ...] = ("scale", "nan", "shuffle", "extreme")

Data = Panel | np.ndarray | Mapping[str, np.ndarray]


@dataclass(frozen=True)
class LeakageFinding:
    """Where an output at or before the cutoff changed.

    Attributes
    ----------
    output : str
        Name of the output (``"output"`` for a single array).
    row : int
        Row position of the first difference on the date axis.
    date : Any
        The date of that row (a Timestamp for Panels, else the row index).
    column : Any
        Column label (asset name when the output has one column per asset).
    cutoff_row : int
        The cutoff ``t``: rows after it were perturbed.
    cutoff : Any
        The date of the cutoff row.
    perturbation : str
        The perturbation kind of the failing trial.
    original, perturbed : Any
        The two differing values.
    """

    output: str
    row: int
    date: Any
    column: Any
    cutoff_row: int
    cutoff: Any
    perturbation: str
    original: Any
    perturbed: Any

    def message(self) -> str:
        return (
            f"leakage: output {self.output!r} at {_fmt(self.date)} (row {self.row}), "
            f"column {self.column!r} changed from {self.original!r} to {self.perturbed!r} "
            f"when data after {_fmt(self.cutoff)} (row {self.cutoff_row}) was perturbed "
            f"({self.perturbation!r})"
        )


def _fmt(d: Any) -> str:
    if isinstance(d, pd.Timestamp):
        return str(d.date()) if d == d.normalize() else str(d)
    return str(d)


# --------------------------------------------------------------- perturbing
def _perturb_array(a: np.ndarray, t: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``a`` (shape ``(n_dates, ...)``) with rows ``> t`` changed by ``kind``."""
    out = np.array(a, dtype=np.float64, copy=True)
    tail = out[t + 1 :]
    if tail.size == 0:
        return out
    if kind == "scale":
        # Positive factors keep prices positive, so honest code that takes
        # logs still runs; 1 is excluded so every finite value changes.
        f = rng.uniform(0.5, 0.95, size=tail.shape) * rng.choice([1.0, 2.0], size=tail.shape)
        tail *= f
    elif kind == "nan":
        holes = rng.random(tail.shape) < 0.3
        holes[0] = True  # the first row after t always changes
        tail[holes] = np.nan
    elif kind == "shuffle":
        # Move rows in time (a roll by a random shift, then a permutation)
        # so the future holds different, still realistic, values.
        n = tail.shape[0]
        if n > 1:
            tail[:] = tail[rng.permutation(np.roll(np.arange(n), int(rng.integers(1, n))))]
        tail *= 1.0 + 1e-3  # a single row cannot move: nudge it as well
    elif kind == "extreme":
        # Extreme but valid: values multiplied by 1e6 or 1e-6 keep their sign, so prices
        # stay positive and a function that runs a backtest can still be checked (the old
        # -1e12 / 0 values made every such function raise instead). Zeros become 1e-6.
        big = rng.choice([1e6, 1e-6], size=tail.shape)
        pick = rng.random(tail.shape) < 0.5
        pick[0] = True
        tail[pick] = np.where(tail[pick] == 0.0, 1e-6, tail[pick] * big[pick])
    else:
        raise ConfigError(f"unknown perturbation {kind!r}; known: {', '.join(PERTURBATIONS)}")
    return out


def perturb_after(data: Data, t: int, kind: str, *, seed: int | np.random.Generator = 0) -> Data:
    """A copy of ``data`` whose rows after position ``t`` are perturbed.

    Parameters
    ----------
    data : Panel, numpy.ndarray or mapping of str to numpy.ndarray
        Arrays of shape ``(n_dates, ...)``; every field is perturbed.
    t : int
        Last row left untouched (``0 <= t < n_dates``).
    kind : {"scale", "nan", "shuffle", "extreme"}
        Random rescaling, random NaN holes, rows moved in time, or extreme
        values (each picked value times ``1e6`` or ``1e-6``, sign kept; zeros become
        ``1e-6``): prices stay positive.
    seed : int or numpy.random.Generator

    Returns
    -------
    Same type as ``data``; rows ``<= t`` are bit-identical copies.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if isinstance(data, Panel):
        return Panel(
            {k: _perturb_array(v, t, kind, rng) for k, v in data.fields.items()},
            data.dates,
            data.assets,
            data.meta,
        )
    if isinstance(data, Mapping):
        return {k: _perturb_array(np.asarray(v), t, kind, rng) for k, v in data.items()}
    return _perturb_array(np.asarray(data), t, kind, rng)


# ---------------------------------------------------------------- outputs
def _n_dates(data: Data) -> int:
    if isinstance(data, Panel):
        return data.n_dates
    if isinstance(data, Mapping):
        if not data:
            raise ConfigError("leakage check: the input mapping has no arrays")
        return int(np.asarray(next(iter(data.values()))).shape[0])
    return int(np.asarray(data).shape[0])


def _normalise(out: Any) -> dict[str, tuple[np.ndarray, Sequence[Any] | None]]:
    """Outputs as ``{name: (array with dates on axis 0, column labels or None)}``."""
    if isinstance(out, Panel):
        return {k: (np.asarray(v), list(out.assets)) for k, v in out.fields.items()}
    if isinstance(out, pd.DataFrame):
        return {"output": (out.to_numpy(), list(out.columns))}
    if isinstance(out, pd.Series):
        return {"output": (out.to_numpy(), None)}
    if isinstance(out, Mapping):
        res: dict[str, tuple[np.ndarray, Sequence[Any] | None]] = {}
        for k, v in out.items():
            for sub, val in _normalise(v).items():
                res[str(k) if sub == "output" else f"{k}.{sub}"] = val
        return res
    if isinstance(out, tuple | list):
        res = {}
        for i, v in enumerate(out):
            for sub, val in _normalise(v).items():
                res[f"[{i}]" if sub == "output" else f"[{i}].{sub}"] = val
        return res
    return {"output": (np.asarray(out), None)}


def _row_equal_mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise bit equality with NaN == NaN (any NaN payload)."""
    if a.dtype.kind == "f" and b.dtype.kind == "f" and a.dtype == b.dtype:
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        ia = np.ascontiguousarray(a).view(f"u{a.dtype.itemsize}")
        ib = np.ascontiguousarray(b).view(f"u{b.dtype.itemsize}")
        return (nan_a & nan_b) | ((ia == ib) & ~nan_a & ~nan_b)
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        return (a == b) | (pd.isna(a) & pd.isna(b))
    eq = a == b
    if a.dtype == object:
        eq = eq | (pd.isna(a) & pd.isna(b))
    return np.asarray(eq, dtype=bool)


def _compare(
    base: Mapping[str, tuple[np.ndarray, Sequence[Any] | None]],
    other: Mapping[str, tuple[np.ndarray, Sequence[Any] | None]],
    upto: int,
    row_dates: Sequence[Any],
) -> tuple[str, int, Any, Any, Any] | None:
    """First ``(output, row, column, original, perturbed)`` differing in rows ``< upto``."""
    if set(base) != set(other):
        missing = sorted(set(base) ^ set(other))
        return (f"<set of outputs: {missing}>", 0, None, None, None)
    for name, (a, cols) in base.items():
        b = other[name][0]
        if a.shape != b.shape or a.dtype != b.dtype:
            return (
                name,
                0,
                f"<shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}>",
                None,
                None,
            )
        if a.ndim == 0:
            continue
        if a.shape[0] != len(row_dates):
            raise ConfigError(
                f"leakage check: output {name!r} has {a.shape[0]} rows, expected one per "
                f"input date ({len(row_dates)}); outputs must be indexed by date on axis 0"
            )
        aa, bb = a[:upto], b[:upto]
        eq = _row_equal_mask(aa, bb)
        if eq.all():
            continue
        bad = np.argwhere(~eq)[0]
        row = int(bad[0])
        col: Any = None
        if a.ndim >= 2:
            j = int(bad[1])
            col = cols[j] if cols is not None and j < len(cols) else j
        return (name, row, col, aa[tuple(bad)].item(), bb[tuple(bad)].item())
    return None


def _pick_cutoffs(
    n: int,
    n_trials: int,
    rng: np.random.Generator,
    cutoffs: Sequence[Any] | None,
    dates: pd.Index | None,
    min_row: int,
) -> list[int]:
    if cutoffs is not None:
        rows = []
        for c in cutoffs:
            if isinstance(c, int | np.integer):
                r = int(c)
            elif dates is not None:
                r = int(dates.searchsorted(pd.Timestamp(c), "right")) - 1
            else:
                raise ConfigError(f"cutoff {c!r} must be a row position for array inputs")
            if not 0 <= r < n:
                raise ConfigError(f"cutoff {c!r} lies outside the data (rows 0..{n - 1})")
            rows.append(r)
        return rows
    if n < 2:
        raise ConfigError(f"leakage check needs at least 2 dates, the data has {n}")
    lo = min(max(min_row, 0), n - 2)
    # The last row is never a cutoff: nothing after it could be perturbed.
    return [int(r) for r in rng.integers(lo, n - 1, size=n_trials)]


def _trials(rows: list[int], perturb: Sequence[str], *, explicit: bool) -> list[tuple[int, str]]:
    """Random cutoffs cycle through the kinds; explicit cutoffs get every kind."""
    if explicit:
        return [(t, k) for t in rows for k in perturb]
    return [(t, perturb[i % len(perturb)]) for i, t in enumerate(rows)]


def find_leakage(
    fn: Callable[[Any], Any],
    data: Data,
    *,
    n_trials: int = 4,
    seed: int = 0,
    cutoffs: Sequence[Any] | None = None,
    perturb: Sequence[str] = PERTURBATIONS,
    min_row: int = 0,
    check_determinism: bool = True,
) -> LeakageFinding | None:
    """Run the leakage check and return the first finding (``None`` when clean).

    Parameters are those of :func:`assert_no_leakage`.
    """
    for kind in perturb:
        if kind not in PERTURBATIONS:
            raise ConfigError(f"unknown perturbation {kind!r}; known: {', '.join(PERTURBATIONS)}")
    if not perturb:
        raise ConfigError("leakage check: perturb must name at least one perturbation")
    n = _n_dates(data)
    dates = data.dates if isinstance(data, Panel) else None
    row_dates: Sequence[Any] = dates if dates is not None else range(n)
    rng = np.random.default_rng(seed)
    rows = _pick_cutoffs(n, n_trials, rng, cutoffs, dates, min_row)
    trials = _trials(rows, perturb, explicit=cutoffs is not None)
    base = _normalise(fn(data))
    if check_determinism:
        again = _compare(base, _normalise(fn(data)), n, row_dates)
        if again is not None:
            name, row, col, a, b = again
            raise LeakageError(
                f"the function is not deterministic: output {name!r} at row {row} column "
                f"{col!r} gave {a!r} then {b!r} on the same input; the leakage check needs "
                "a fixed seed"
            )
    for t, kind in trials:
        other = _normalise(fn(perturb_after(data, t, kind, seed=rng)))
        diff = _compare(base, other, t + 1, row_dates)
        if diff is not None:
            name, row, col, a, b = diff
            return LeakageFinding(
                output=name,
                row=row,
                date=row_dates[row],
                column=col,
                cutoff_row=t,
                cutoff=row_dates[t],
                perturbation=kind,
                original=a,
                perturbed=b,
            )
    return None


def assert_no_leakage(
    fn: Callable[[Any], Any],
    data: Data,
    *,
    n_trials: int = 4,
    seed: int = 0,
    cutoffs: Sequence[Any] | None = None,
    perturb: Sequence[str] = PERTURBATIONS,
    min_row: int = 0,
    check_determinism: bool = True,
) -> None:
    """Raise :class:`LeakageError` if any output at or before a cutoff depends on later data.

    Parameters
    ----------
    fn : callable
        ``fn(data)`` returning a numpy array, a pandas DataFrame or Series, a
        Panel, or a dict / tuple of those; every output has one row per input
        date on axis 0 (shape ``(n_dates, ...)``).
    data : Panel, numpy.ndarray or mapping of str to numpy.ndarray
        The input; arrays have shape ``(n_dates, ...)``. All fields are perturbed.
    n_trials : int
        Number of random cutoffs; trial ``i`` uses ``perturb[i % len(perturb)]``.
    seed : int
        Drives cutoff choice and perturbations (the check is reproducible).
    cutoffs : sequence of int or date-like, optional
        Explicit cutoffs (row positions, or dates for Panels: the last row dated
        at or before it) instead of random ones; each is tried with every kind.
    perturb : sequence of str
        Kinds from :data:`PERTURBATIONS`.
    min_row : int
        Smallest random cutoff row (e.g. past a long warm-up, so that the check
        compares real values rather than NaN).
    check_determinism : bool
        First call ``fn`` twice on the same input and fail with a clear message
        if the outputs differ (a random function would otherwise look leaky).

    Raises
    ------
    LeakageError
        The first output value at or before a cutoff that changed.
    ConfigError
        Outputs not indexed by date, unknown perturbation, too few dates.
    """
    found = find_leakage(
        fn,
        data,
        n_trials=n_trials,
        seed=seed,
        cutoffs=cutoffs,
        perturb=perturb,
        min_row=min_row,
        check_determinism=check_determinism,
    )
    if found is not None:
        raise LeakageError(found.message())


# -------------------------------------------------------------- decisions
def assert_no_leakage_decisions(
    decide: Callable[[Panel, pd.DatetimeIndex], Any],
    panel: Panel,
    dates: Sequence[Any] | None = None,
    *,
    n_trials: int = 4,
    seed: int = 0,
    cutoffs: Sequence[Any] | None = None,
    perturb: Sequence[str] = PERTURBATIONS,
    min_date: Any = None,
) -> None:
    """Leakage check for code whose outputs are decisions at given dates.

    Parameters
    ----------
    decide : callable
        ``decide(panel, dates) -> array (n_decisions, ...)`` (or a DataFrame /
        dict of such), one row per decision date.
    panel : Panel
    dates : sequence of date-like, optional
        Decision dates (default every panel date).
    min_date : date-like, optional
        Random cutoffs are drawn at or after this date (e.g. a fit date).

    Raises
    ------
    LeakageError
        A decision dated at or before a cutoff changed when later data changed.
    """
    dec_dates = panel.dates if dates is None else pd.DatetimeIndex(dates)
    n = panel.n_dates
    rng = np.random.default_rng(seed)
    min_row = 0 if min_date is None else int(panel.dates.searchsorted(pd.Timestamp(min_date)))
    rows = _pick_cutoffs(n, n_trials, rng, cutoffs, panel.dates, min_row)
    base = _normalise(decide(panel, dec_dates))
    for t, kind in _trials(rows, perturb, explicit=cutoffs is not None):
        other = _normalise(decide(perturb_after(panel, t, kind, seed=rng), dec_dates))
        upto = int(dec_dates.searchsorted(panel.dates[t], "right"))
        diff = _compare(base, other, upto, dec_dates)
        if diff is not None:
            name, row, col, a, b = diff
            raise LeakageError(
                LeakageFinding(
                    output=name,
                    row=row,
                    date=dec_dates[row],
                    column=col,
                    cutoff_row=t,
                    cutoff=panel.dates[t],
                    perturbation=kind,
                    original=a,
                    perturbed=b,
                ).message()
            )


def assert_strategy_no_leakage(
    strategy: Any,
    panel: Panel,
    dates: Sequence[Any] | None = None,
    *,
    fit_until: Any = None,
    n_trials: int = 4,
    seed: int = 0,
    cutoffs: Sequence[Any] | None = None,
    perturb: Sequence[str] = PERTURBATIONS,
) -> None:
    """Leakage check for a :class:`alphalab.portfolio.base.Strategy`.

    A fresh clone is fitted with ``fit(panel, until=fit_until)`` on the
    original and on each perturbed panel, then asked to ``decide`` at
    ``dates``. Cutoffs are drawn at or after ``fit_until`` (a fit may use data
    up to its own date), and every decision at or before the cutoff must be
    bit-identical.

    Parameters
    ----------
    strategy : Strategy
        Anything with ``clone()``, ``fit(panel, until)`` and ``decide(panel, dates)``.
    panel : Panel
    dates : sequence of date-like, optional
        Decision dates (default: every date from ``fit_until`` on).
    fit_until : date-like, optional
        Passed to ``fit``; default the first panel date.
    """
    until = panel.dates[0] if fit_until is None else pd.Timestamp(fit_until)
    if dates is None:
        dates = panel.dates[panel.dates >= until]

    def run(p: Panel, d: pd.DatetimeIndex) -> Any:
        s = strategy.clone()
        s.fit(p, until)
        return s.decide(p, d)

    assert_no_leakage_decisions(
        run,
        panel,
        dates,
        n_trials=n_trials,
        seed=seed,
        cutoffs=cutoffs,
        perturb=perturb,
        min_date=until,
    )
