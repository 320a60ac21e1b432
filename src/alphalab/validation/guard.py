"""The study-time leakage guard: every strategy and feature set of a study is checked
before any result is written.

What it does
------------
A decision dated ``d`` may use data dated at or before ``d`` only. For each checked
decision date ``d`` the guard builds a copy of the study's panel whose rows *after* ``d``
are perturbed (every field: raw prices, volumes, panel fields and feature fields), asks
the strategy, fitted exactly as the study fitted it (same fold, same parameters: the
walk-forward's own fitted model of the fold when it kept one, else a refit with the same
seed), to decide at ``d`` on that copy and demands a bit-identical answer. Feature sets are checked
the same way one level down: the raw inputs are perturbed after a cutoff ``c``, every
feature set is recomputed from them, and every feature row at or before ``c`` must be
bit-identical.

Cutoffs are the study's own decision dates (the stitched walk-forward dates), so a peek
of a single bar is caught: only a cutoff on the decision date itself can show it. Feature
cutoffs are decision dates and the bar before each. Strategy checks cost one ``decide``
call per date (the check is per date, not by random cutoffs), so the default mode visits
every decision date when the budget allows and says how many it visited when it does not;
``mode: exhaustive`` visits every decision date and every feature cutoff whatever the cost.

Perturbations keep prices valid: open, high, low and close of one (date, asset) are
multiplied by the same positive factor (OHLC order preserved), volumes and amounts by
another positive factor, other fields by a positive factor per field; 0/1 flag fields
(``tradestatus``, ``suspended`` ...) are left alone. Every factor differs from 1 by at
least 5 %, so every finite non-zero value moves. When a check fails, each field is then
perturbed alone to name the input that moved the output.

What it cannot do
-----------------
A dataset that already holds future information (a field computed with a centred
window before it was saved, returns shifted the wrong way in a CSV) is invisible to
perturbation: perturbing the future leaves the already-contaminated past unchanged.
:mod:`alphalab.validation.suspect` exists for that. A leak that only shows on a date the
budget did not reach is not seen (the report says how many dates were checked), and a
leak whose output does not change under the perturbation drawn (e.g. a ranking that
survives a rescaling) is missed for that date.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphalab.data.panel import TRANSIENT_BUFFER, Panel
from alphalab.errors import ConfigError
from alphalab.testing.leakage import _normalise, _row_equal_mask
from alphalab.validation.executors import derive_seed, seed_everything

__all__ = [
    "GuardFinding",
    "GuardReport",
    "GuardSpec",
    "StrategyPlan",
    "plan_from_run",
    "plan_from_walk_forward",
    "run_guard",
    "valid_perturbation",
]

#: Fields scaled together so that open <= high, low <= close ... survive.
PRICE_FIELDS = frozenset(
    {"open", "high", "low", "close", "vwap", "adj_open", "adj_high", "adj_low", "adj_close",
     "prev_close", "pre_close", "settle", "mid", "bid", "ask"}
)
#: Non-negative size fields scaled by their own positive factor.
SIZE_FIELDS = frozenset({"volume", "amount", "turnover", "value", "shares", "trades"})


class GuardSpec(BaseModel):
    """Config block ``guard``.

    Attributes
    ----------
    mode : {"default", "exhaustive", "off"}
        ``default`` checks as many decision dates as the budget allows (every one when it
        fits) plus a minimum that is always run; ``exhaustive`` checks every decision date
        and every feature cutoff regardless of cost; ``off`` needs ``reason`` and is shown
        in the report and manifest.
    budget : float
        Share of the study's own run time the guard may spend (default 0.2 = 20 %).
    min_seconds : float
        Floor of the budget in seconds, so that a study that runs in a fraction of a
        second still gets its decision dates checked (default 2 s).
    min_checks : int
        Decision dates checked per strategy (and feature cutoffs) whatever the budget.
    checks : int or None
        A fixed number of decision dates per strategy (and of feature cutoffs), spread over
        the span, with no time budget: the guard then checks the same dates on every machine,
        so its verdict is reproducible. Default None: the time budget above, whose reach
        depends on the machine's speed beyond the ``min_checks`` that always run.
    seed : int
        Drives the perturbation factors (the guard is reproducible).
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["default", "exhaustive", "off"] = "default"
    budget: float = Field(0.2, ge=0.0, le=100.0)
    min_seconds: float = Field(2.0, ge=0.0)
    min_checks: int = Field(8, ge=1)
    checks: int | None = Field(None, ge=1, le=1_000_000)
    seed: int = 0
    reason: str | None = None

    @model_validator(mode="after")
    def _reason_for_off(self) -> GuardSpec:
        if self.mode == "off" and not (self.reason and self.reason.strip()):
            raise ValueError("guard.mode 'off' needs guard.reason (why the leakage guard is off)")
        return self


@dataclass(frozen=True)
class GuardFinding:
    """One leak: who, the first date whose output changed, and the input that moved it."""

    kind: str  # "strategy" or "feature_set"
    name: str
    date: str
    cutoff: str
    input_field: str
    output: str
    column: Any
    original: Any
    perturbed: Any
    first_date_complete: bool = True

    def message(self) -> str:
        what = f"strategy {self.name!r}" if self.kind == "strategy" else f"feature set {self.name!r}"
        first = "first leaking date" if self.first_date_complete else "earliest leaking date found"
        return (
            f"LEAK: {what} output {self.output!r} dated {self.date} ({first}), column "
            f"{self.column!r}, changed from {self.original!r} to {self.perturbed!r} when input "
            f"{self.input_field!r} was perturbed after {self.cutoff}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "date": self.date,
            "cutoff": self.cutoff,
            "input": self.input_field,
            "output": self.output,
            "column": None if self.column is None else str(self.column),
            "original": _plain(self.original),
            "perturbed": _plain(self.perturbed),
            "first_date_complete": self.first_date_complete,
            "message": self.message(),
        }


def _plain(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        f = float(x)
        return f if math.isfinite(f) else str(f)
    if isinstance(x, np.integer):
        return int(x)
    return x if isinstance(x, str | int | bool) or x is None else str(x)


@dataclass
class GuardReport:
    """What the guard checked, what it cost and what it found."""

    mode: str
    budget_s: float
    spent_s: float = 0.0
    strategies: dict[str, dict[str, Any]] = field(default_factory=dict)
    feature_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[GuardFinding] = field(default_factory=list)
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    checks: int | None = None  # a fixed count instead of a time budget

    @property
    def leaked(self) -> bool:
        return bool(self.findings)

    def leaks_for(self, strategy: str) -> list[GuardFinding]:
        """Findings that taint ``strategy``: its own, and every leaking feature set."""
        return [
            f for f in self.findings
            if f.kind == "feature_set" or (f.kind == "strategy" and f.name == strategy)
        ]  # fmt: skip

    def complete(self) -> bool:
        """Every decision date and every feature cutoff was checked."""
        return all(s["n_checked"] >= s["n_dates"] for s in self.strategies.values()) and all(
            f["n_checked"] >= f["n_cutoffs"] for f in self.feature_sets.values()
        )

    def summary(self) -> str:
        if self.mode == "off":
            return f"leakage guard OFF: {self.reason}"
        parts = [
            f"{n}: {s['n_checked']}/{s['n_dates']} decision dates" for n, s in self.strategies.items()
        ]
        parts += [
            f"feature set {n}: {f['n_checked']}/{f['n_cutoffs']} cutoffs"
            for n, f in self.feature_sets.items()
        ]
        verdict = f"{len(self.findings)} leak(s)" if self.findings else "no leak found"
        if self.complete():
            scope = "all dates"
        elif self.checks is not None:
            scope = f"a fixed {self.checks} per strategy, the same on every machine"
        else:
            scope = "budget-limited: beyond the minimum the count depends on machine speed; " \
                "guard.checks fixes it"
        budget = "no budget" if self.budget_s < 0 else f"of {self.budget_s:.2f}s budget"
        return (
            f"leakage guard ({self.mode}, {scope}, {self.spent_s:.2f}s {budget}): {verdict}; "
            "checked " + "; ".join(parts)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "budget_s": round(self.budget_s, 4),
            "spent_s": round(self.spent_s, 4),
            "complete": self.complete() if self.mode != "off" else False,
            "checks": self.checks,
            "leak": self.leaked,
            "strategies": self.strategies,
            "feature_sets": self.feature_sets,
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
            "summary": self.summary(),
        }


# ------------------------------------------------------------ perturbation
def _factors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Positive factors exp(+-u), u in [0.05, 0.7]: never within 5 % of 1."""
    u = rng.uniform(0.05, 0.7, size=shape)
    return np.exp(np.where(rng.random(shape) < 0.5, -u, u))


def _is_flag(a: np.ndarray) -> bool:
    finite = a[np.isfinite(a)]
    return finite.size > 0 and bool(np.isin(finite, (0.0, 1.0)).all())


def valid_perturbation(panel: Panel, seed: int = 0) -> dict[str, np.ndarray]:
    """Every field of ``panel`` with every row changed, prices kept valid.

    Parameters
    ----------
    panel : Panel
        Fields ``(n_dates, n_assets)``.
    seed : int

    Returns
    -------
    dict of str to numpy.ndarray, each ``(n_dates, n_assets)``
        Price fields (:data:`PRICE_FIELDS`) times one positive factor per (date, asset),
        shared by all of them so OHLC order holds; size fields times another positive
        factor (non-negative stays non-negative); other fields times a positive factor
        of their own; 0/1 flag fields unchanged. NaN stays NaN.
    """
    flags = {n for n, a in panel.fields.items() if _is_flag(a)}
    return _perturb_block(panel.fields, np.random.default_rng(seed), flags)


def _perturb_block(
    fields: Mapping[str, np.ndarray], rng: np.random.Generator, flags: set[str]
) -> dict[str, np.ndarray]:
    """The perturbation of :func:`valid_perturbation` applied to row blocks of equal shape."""
    shape = next(iter(fields.values())).shape
    price_f = _factors(rng, shape)
    size_f = _factors(rng, shape)
    out: dict[str, np.ndarray] = {}
    for name, a in fields.items():
        if name in PRICE_FIELDS:
            out[name] = a * price_f
        elif name in SIZE_FIELDS:
            out[name] = a * size_f
        elif name in flags:
            out[name] = np.array(a, copy=True)
        else:
            out[name] = a * _factors(rng, shape)
    return out


def _hybrid(panel: Panel, pert: Mapping[str, np.ndarray], row: int, only: str | None = None) -> Panel:
    """``panel`` with rows after ``row`` taken from ``pert`` (all fields, or ``only``)."""
    fields = {}
    for name, a in panel.fields.items():
        if only is not None and name != only:
            fields[name] = a
            continue
        b = np.empty_like(a)
        b[: row + 1] = a[: row + 1]
        b[row + 1 :] = pert[name][row + 1 :]
        b.flags.writeable = False
        fields[name] = b
    return _same_axes(panel, fields)


def _same_axes(panel: Panel, fields: dict[str, np.ndarray]) -> Panel:
    """A Panel on ``panel``'s already validated axes (skips re-validating them per check:
    the guard builds one panel per checked date)."""
    out = object.__new__(Panel)
    object.__setattr__(out, "fields", fields)
    object.__setattr__(out, "dates", panel.dates)
    object.__setattr__(out, "assets", panel.assets)
    object.__setattr__(out, "meta", dict(panel.meta))
    return out


# --------------------------------------------------------------- plans
@dataclass
class _Fold:
    params: dict[str, Any]
    fit_rows: tuple[int, int]  # inclusive rows handed to fit
    view_end: int  # last row the decisions may be given (inclusive)
    rows: np.ndarray  # decision rows
    seed: int
    model: Any = None  # the study's own fitted strategy of this fold, when it kept it


@dataclass
class StrategyPlan:
    """How the study produced one strategy's decisions, so the guard can replay them."""

    name: str
    strategy: Any
    folds: list[_Fold]

    @property
    def n_dates(self) -> int:
        return int(sum(f.rows.size for f in self.folds))


def plan_from_run(name: str, strategy: Any, panel: Panel, decisions: pd.DatetimeIndex, seed: int) -> StrategyPlan:
    """A plain study run: fit on rows up to the first decision, decide on ``decisions``."""
    start = decisions[0] if len(decisions) else panel.dates[-1]
    end_row = int(panel.dates.searchsorted(start, "right")) - 1
    rows = panel.dates.get_indexer(decisions)
    fold = _Fold({}, (0, end_row), panel.n_dates - 1, rows[rows >= 0], seed)
    return StrategyPlan(name, strategy, [fold])


def plan_from_walk_forward(
    name: str,
    strategy: Any,
    panel: Panel,
    wf: Any,
    rebalance: Any,
    *,
    single_pass: bool,
    seed: int,
) -> StrategyPlan:
    """A walk-forward run: the folds of ``wf`` (a WalkForwardResult) on ``panel``.

    ``single_pass`` mirrors :func:`alphalab.validation.walkforward.run_walk_forward` for
    strategies that learn nothing and are not tuned (fit once, decide in one pass).
    """
    from alphalab.backtest.schedule import rebalance_mask

    mask = rebalance_mask(panel.dates, rebalance)
    dates = panel.dates

    def row(d: Any) -> int:
        return int(dates.searchsorted(pd.Timestamp(d), "left"))

    folds: list[_Fold] = []
    # the study's fitted model of each fold (learning strategies only: a single pass is cheap
    # to refit and may carry state from deciding every test date)
    fitted = list(getattr(wf, "models", None) or [])
    if single_pass:
        f0 = wf.folds[0]
        rows = np.concatenate([
            np.arange(row(f["test_start"]), row(f["test_end"]) + 1)
            for f in wf.folds if f.get("test_start")
        ])  # fmt: skip
        folds.append(
            _Fold({}, (0, row(f0["train_end"])), panel.n_dates - 1, rows[mask[rows]],
                  derive_seed(seed, "fold", 0))
        )  # fmt: skip
    else:
        for i, f in enumerate(wf.folds):
            if not f.get("test_start"):
                continue
            test = np.arange(row(f["test_start"]), row(f["test_end"]) + 1)
            folds.append(
                _Fold(dict(f.get("params") or {}), (row(f["train_start"]), row(f["train_end"])),
                      int(test[-1]), test[mask[test]], derive_seed(seed, "fold", f.get("fold", i)),
                      fitted[i] if len(fitted) == len(wf.folds) else None)
            )  # fmt: skip
    return StrategyPlan(name, strategy, folds)


def _spread(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread evenly (bit-reversal order)."""
    if n <= 0:
        return []
    bits = max(1, (n - 1).bit_length())
    order = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(1 << bits)]
    return [i for i in order if i < n]


# ----------------------------------------------------------------- guard
#: Rows after a cutoff that a strategy check perturbs and keeps (when the strategy gives
#: the same decisions on a panel cut there, which is probed first): a peek further ahead
#: reads past the end of the checked panel, which changes its output as well.
HORIZON = 63
#: Panels up to this size get one shared writable copy for the strategy checks.
WORKSPACE_BYTES = 1 << 30


def _prefix(panel: Panel, fields: Mapping[str, np.ndarray], length: int) -> Panel:
    views = {}
    for n, a in fields.items():
        v = a[:length].view()
        v.flags.writeable = False
        views[n] = v
    out = _same_axes(panel, views)
    if length < panel.n_dates:
        object.__setattr__(out, "dates", panel.dates[:length])
    return out


class _Workspace:
    """The panel handed to strategy checks, perturbed after a cutoff.

    The perturbed rows ``r+1 .. length-1`` are drawn per check from a generator keyed by
    ``(seed, r)`` (the same draw again for the per-field blame), so no perturbed copy of
    the whole panel is held. Panels up to :data:`WORKSPACE_BYTES` get one writable copy
    shared by every check: the perturbed rows are written in place and restored after
    (a few rows copied per check); larger panels get a fresh prefix per check instead of
    a second full copy in memory.
    """

    def __init__(self, panel: Panel, seed: int) -> None:
        self.panel = panel
        self.seed = int(seed)
        self.flags = {n for n, a in panel.fields.items() if _is_flag(a)}
        size = sum(a.nbytes for a in panel.fields.values())
        self.work = (
            {n: np.array(a, copy=True) for n, a in panel.fields.items()}
            if size <= WORKSPACE_BYTES else None
        )  # fmt: skip

    def block(self, r: int, length: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, r, length])
        rows = {n: a[r + 1 : length] for n, a in self.panel.fields.items()}
        return _perturb_block(rows, rng, self.flags)

    @contextlib.contextmanager
    def hybrid(self, r: int, length: int, only: str | None = None) -> Iterator[Panel]:
        pert = self.block(r, length)
        names = [only] if only is not None else list(self.panel.fields)
        if self.work is None:
            fields = {}
            for n, a in self.panel.fields.items():
                if n in names:
                    b = np.array(a[:length], copy=True)
                    b[r + 1 : length] = pert[n]
                    fields[n] = b
                else:
                    fields[n] = a
            yield _prefix(self.panel, fields, length)
            return
        for n in names:
            self.work[n][r + 1 : length] = pert[n]
        try:
            hyb = _prefix(self.panel, self.work, length)
            # its memory is rewritten by the next check: a cache must not keep it as a source
            # of other panels' prefixes (see alphalab.models.vol.learners._lookup)
            hyb.meta[TRANSIENT_BUFFER] = True
            yield hyb
        finally:
            for n in names:
                self.work[n][r + 1 : length] = self.panel.fields[n][r + 1 : length]

    def moves(self, name: str, r: int, length: int) -> bool:
        """Whether the check's perturbation changes field ``name`` at all."""
        return not np.array_equal(self.block(r, length)[name], self.panel[name][r + 1 : length],
                                  equal_nan=True)  # fmt: skip

    def original(self, length: int) -> Panel:
        return _prefix(self.panel, self.panel.fields, length)


class _StrategyCheck:
    def __init__(self, plan: StrategyPlan, ws: _Workspace) -> None:
        self.plan = plan
        self.ws = ws
        self.panel = ws.panel
        self.models: dict[int, Any] = {}
        self.base: dict[int, np.ndarray] = {}
        self.separable: bool | None = None
        self.truncate = False
        # (fold index, position in fold) in an evenly spread order
        flat = [(k, j) for k, f in enumerate(plan.folds) for j in range(f.rows.size)]
        self.order = [flat[i] for i in _spread(len(flat))]
        self.checked: set[tuple[int, int]] = set()
        self.finding: GuardFinding | None = None
        self.reused = 0  # folds checked on the study's own fitted model (no second fit)

    def _model(self, k: int) -> Any:
        if k not in self.models:
            f = self.plan.folds[k]
            self.models[k] = _fold_model(self.plan.strategy, f, self.panel)
            self.reused += f.model is not None
            self.base[k] = self._decide(k, self.ws.original(f.view_end + 1), f.rows)
        return self.models[k]

    def _decide(self, k: int, panel: Panel, rows: np.ndarray) -> np.ndarray:
        f = self.plan.folds[k]
        seed_everything(derive_seed(f.seed, "decide"))
        out = self.models[k].decide(panel, self.panel.dates[rows])
        return np.asarray(out, dtype=np.float64)

    def _length(self, k: int, r: int) -> int:
        end = self.plan.folds[k].view_end
        return (min(end, r + HORIZON) if self.truncate else end) + 1

    def _probe_modes(self, k: int, j: int) -> None:
        """Decide how to check this strategy, from a few dates of its first fold:

        * per date on a panel cut ``HORIZON`` rows after the cutoff (cheapest), when that
          reproduces the decisions taken in one call on the full panel;
        * else per date on the full panel;
        * else the strategy carries state across dates (buy-and-hold): each check replays
          the fold's dates up to the cutoff.
        """
        f = self.plan.folds[k]
        n = f.rows.size
        probes = sorted({0, j, n // 2, n - 1})

        def same(length_of: Callable[[int], int]) -> bool:
            return all(
                _row_equal_mask(
                    self._decide(k, self.ws.original(length_of(int(f.rows[q]))), f.rows[q : q + 1]),
                    self.base[k][q : q + 1],
                ).all()
                for q in probes
            )

        if same(lambda r: min(f.view_end, r + HORIZON) + 1):
            self.separable, self.truncate = True, True
        else:
            self.separable = same(lambda r: f.view_end + 1)

    def _probe(self, k: int, j: int, panel: Panel) -> tuple[np.ndarray, np.ndarray, int]:
        """(new, base, offset): decisions for the date (separable) or the fold's prefix."""
        f = self.plan.folds[k]
        if self.separable:
            return self._decide(k, panel, f.rows[j : j + 1]), self.base[k][j : j + 1], j
        return self._decide(k, panel, f.rows[: j + 1]), self.base[k][: j + 1], 0

    def check(self, k: int, j: int) -> GuardFinding | None:
        f = self.plan.folds[k]
        self._model(k)
        r = int(f.rows[j])
        if r >= self.panel.n_dates - 1 or r >= f.view_end:
            self.checked.add((k, j))
            return None  # nothing after the last row to perturb
        if self.separable is None:
            self._probe_modes(k, j)
        length = self._length(k, r)
        try:
            with self.ws.hybrid(r, length) as hyb:
                new, base, off = self._probe(k, j, hyb)
        except Exception as exc:
            # The original panel cut at the same place decided fine (probed), so a failure
            # means the decision reads rows past the cut: retry on the full length, where
            # only the values after the cutoff differ from the original.
            length = self.plan.folds[k].view_end + 1
            try:
                with self.ws.hybrid(r, length) as hyb:
                    new, base, off = self._probe(k, j, hyb)
            except Exception:
                self.checked.add((k, j))
                return GuardFinding(
                    kind="strategy", name=self.plan.name, date=str(self.panel.dates[r].date()),
                    cutoff=str(self.panel.dates[r].date()), input_field="rows after the cutoff",
                    output="weights", column=None, original="decided",
                    perturbed=f"raised {type(exc).__name__}: {exc}"[:200],
                )  # fmt: skip
        self.checked.add((k, j))
        eq = _row_equal_mask(new, base)
        if eq.all():
            return None
        bad = np.argwhere(~eq)[0]
        pos = off + int(bad[0])
        col = self.panel.assets[int(bad[1])] if new.ndim == 2 else None
        date = self.panel.dates[int(f.rows[pos])]
        return GuardFinding(
            kind="strategy", name=self.plan.name, date=str(date.date()),
            cutoff=str(self.panel.dates[r].date()), input_field=self._blame(k, j, r, length),
            output="weights", column=col, original=base[tuple(bad)].item(),
            perturbed=new[tuple(bad)].item(),
        )  # fmt: skip

    def _blame(self, k: int, j: int, r: int, length: int) -> str:
        moved = []
        for name in self.panel.fields:
            if not self.ws.moves(name, r, length):
                continue
            with self.ws.hybrid(r, length, only=name) as hyb:
                new, base, _ = self._probe(k, j, hyb)
            if not _row_equal_mask(new, base).all():
                moved.append(name)
        return ", ".join(moved) if moved else "several fields together"


def _fold_model(template: Any, f: _Fold, panel: Panel) -> Any:
    """The fitted strategy whose decisions fold ``f`` checks.

    The study's own model of the fold when the plan carries it: the very object that
    produced the study's decisions, so nothing about what is checked changes (``fit``
    only ever receives the training rows, which end before every checked cutoff) and a
    strategy that trains for minutes is not trained a second time. Otherwise the fold is
    refitted exactly as the study fitted it: same seed, parameters and training rows.
    """
    if f.model is not None:
        return f.model
    seed_everything(f.seed)
    s = template.clone()
    if f.params:
        s.set_params(**f.params)
    a, b = f.fit_rows
    train = panel.iloc_dates(slice(a, b + 1))
    s.fit(train, until=train.dates[-1])
    return s


def _feature_base(panel: Panel, sets: Sequence[str], compute: Callable[..., Panel]) -> dict[str, Any]:
    return {s: _normalise(dict(compute(panel, [s], cache=False).fields)) for s in sets}


def run_guard(
    spec: GuardSpec | None,
    plans: Sequence[StrategyPlan],
    panel: Panel,
    *,
    raw: Panel | None = None,
    feature_sets: Sequence[str] = (),
    run_seconds: float = 0.0,
    decision_dates: pd.DatetimeIndex | None = None,
) -> GuardReport:
    """Check every strategy plan and feature set for look-ahead; see the module docstring.

    Parameters
    ----------
    spec : GuardSpec, optional
        Default :class:`GuardSpec()`.
    plans : sequence of StrategyPlan
        One per strategy, on ``panel``.
    panel : Panel
        The study's panel ``(n_dates, n_assets)`` as strategies saw it (features included).
    raw : Panel, optional
        The raw data before features were added (needed when ``feature_sets`` is given).
    feature_sets : sequence of str
        Feature-set names the study computed.
    run_seconds : float
        The study's own run time; the budget is ``max(budget * run_seconds, min_seconds)``.
    decision_dates : pandas.DatetimeIndex, optional
        Cutoffs for the feature check (default: every plan's decision dates); the bar
        before each is added.

    Returns
    -------
    GuardReport
    """
    spec = spec or GuardSpec()
    if spec.mode == "off":
        return GuardReport("off", 0.0, reason=spec.reason)
    exhaustive = spec.mode == "exhaustive"
    fixed = None if exhaustive else spec.checks
    budget = (math.inf if exhaustive or fixed is not None
              else max(spec.budget * run_seconds, spec.min_seconds))
    report = GuardReport(spec.mode, budget if math.isfinite(budget) else -1.0, checks=fixed)
    t0 = time.perf_counter()

    def left() -> float:
        return budget - (time.perf_counter() - t0)

    ws = _Workspace(panel, spec.seed)
    checks = [_StrategyCheck(p, ws) for p in plans]
    feat_share = 0.5 if feature_sets else 0.0
    strat_deadline = budget * (1.0 - feat_share)
    # round robin over strategies, each in its spread order
    cursor = [0] * len(checks)
    progressed = True
    while progressed:
        progressed = False
        for i, c in enumerate(checks):
            if c.finding is not None or cursor[i] >= len(c.order):
                continue
            if cursor[i] >= spec.min_checks and time.perf_counter() - t0 > strat_deadline:
                continue
            if fixed is not None and cursor[i] >= fixed:
                continue
            k, j = c.order[cursor[i]]
            cursor[i] += 1
            progressed = True
            found = c.check(k, j)
            if found is not None:
                c.finding = _earliest(c, found, left, exhaustive)
    for c in checks:
        report.strategies[c.plan.name] = {
            "n_dates": c.plan.n_dates,
            "n_checked": len(c.checked),
            "n_folds_fitted": len(c.models),
            "n_folds_reused": c.reused,
            "per_date": bool(c.separable),
            "leak": c.finding is not None,
        }
        if c.finding is not None:
            report.findings.append(c.finding)
    if feature_sets:
        _check_features(report, spec, raw if raw is not None else panel, feature_sets, plans,
                        decision_dates, left, exhaustive, fixed)  # fmt: skip
    report.spent_s = time.perf_counter() - t0
    return report


def _earliest(c: _StrategyCheck, found: GuardFinding, left: Callable[[], float], exhaustive: bool) -> GuardFinding:
    """Scan the dates before ``found`` in order so the first leaking date is reported."""
    target = pd.Timestamp(found.date)
    for k, f in enumerate(c.plan.folds):
        for j, r in enumerate(f.rows):
            d = c.panel.dates[int(r)]
            if d >= target:
                return found
            if not exhaustive and left() < 0 and (k, j) not in c.checked:
                return GuardFinding(**{**found.__dict__, "first_date_complete": False})
            if (k, j) in c.checked:
                continue
            hit = c.check(k, j)
            if hit is not None:
                return hit
    return found


def _check_features(
    report: GuardReport,
    spec: GuardSpec,
    raw: Panel,
    sets: Sequence[str],
    plans: Sequence[StrategyPlan],
    decision_dates: pd.DatetimeIndex | None,
    left: Callable[[], float],
    exhaustive: bool,
    fixed: int | None = None,
) -> None:
    from alphalab.features.sets import compute

    if decision_dates is None:
        rows = np.unique(np.concatenate(
            [f.rows for p in plans for f in p.folds] or [np.empty(0, dtype=np.int64)]
        ).astype(np.int64))  # fmt: skip
    else:
        rows = raw.dates.get_indexer(decision_dates)
        rows = rows[rows >= 0]
    # decision dates and the bar before each: a one-bar peek needs a cutoff exactly there
    cut = np.unique(np.concatenate([rows, rows - 1]))
    cut = cut[(cut >= 0) & (cut < raw.n_dates - 1)]
    order = [int(cut[i]) for i in _spread(cut.size)]
    pert = valid_perturbation(raw, spec.seed + 1)
    base = _feature_base(raw, sets, compute)
    done = {s: 0 for s in sets}
    for n, r in enumerate(order):
        if not exhaustive and n >= min(spec.min_checks, 2) and left() < 0:
            break
        if fixed is not None and n >= fixed:
            break
        hyb = _hybrid(raw, pert, r)
        for s in sets:
            if any(f.kind == "feature_set" and f.name == s for f in report.findings):
                continue
            diff = _feature_diff(base[s], _normalise(dict(compute(hyb, [s], cache=False).fields)), r)
            done[s] += 1
            if diff is not None:
                name, row, col, a, b = diff
                moved = _feature_blame(raw, pert, r, s, base[s], compute)
                report.findings.append(GuardFinding(
                    kind="feature_set", name=s, date=str(raw.dates[row].date()),
                    cutoff=str(raw.dates[r].date()), input_field=moved, output=name,
                    column=None if col is None else str(raw.assets[col]), original=a,
                    perturbed=b, first_date_complete=False,
                ))  # fmt: skip
    for s in sets:
        leak = any(f.kind == "feature_set" and f.name == s for f in report.findings)
        report.feature_sets[s] = {"n_cutoffs": int(cut.size), "n_checked": done[s], "leak": leak}


def _feature_diff(base: Mapping[str, Any], other: Mapping[str, Any], r: int) -> tuple[str, int, Any, Any, Any] | None:
    for name, (a, _) in base.items():
        b = other[name][0]
        eq = _row_equal_mask(a[: r + 1], b[: r + 1])
        if not eq.all():
            bad = np.argwhere(~eq)[0]
            col = int(bad[1]) if a.ndim == 2 else None
            return name, int(bad[0]), col, a[tuple(bad)].item(), b[tuple(bad)].item()
    return None


def _feature_blame(raw: Panel, pert: Mapping[str, np.ndarray], r: int, s: str, base: Mapping[str, Any],
                   compute: Callable[..., Panel]) -> str:  # fmt: skip
    moved = []
    for name in raw.fields:
        out = _normalise(dict(compute(_hybrid(raw, pert, r, only=name), [s], cache=False).fields))
        if _feature_diff(base, out, r) is not None:
            moved.append(name)
    return ", ".join(moved) if moved else "several fields together"


def check_off_reason(spec: GuardSpec | None) -> None:
    """Raise :class:`ConfigError` for a guard turned off without a reason (belt and braces)."""
    if spec is not None and spec.mode == "off" and not spec.reason:
        raise ConfigError("guard.mode 'off' needs guard.reason")
