"""Checks on what a user hands to :func:`alphalab.backtest.backtest`.

Each function turns one kind of malformed argument into an
:class:`~alphalab.errors.AlphalabError` that names what is wrong and where
(date and asset for a cell), instead of a numpy/pandas traceback or, worse, a
silent conversion (text ``"0.3"`` read as a number, ``True`` as a 100% weight).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from alphalab._inputs import as_dates, real_number
from alphalab.backtest.costs import Costs
from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError, MarketRuleError
from alphalab.markets import MarketRules

__all__ = [
    "MAX_GROSS",
    "check_arguments",
    "check_finite_weights",
    "check_prices",
    "check_volume",
    "infinite_weight_error",
    "prepare_weights",
    "price_floor",
]

MAX_GROSS = 100.0
"""Largest sum of ``|weight|`` accepted in a decision row. Weights are
fractions of equity; a gross of hundreds is a unit mistake (percentages,
shares or scores passed as weights), not a portfolio."""


def check_arguments(panel: Any, market: Any, costs: Any, initial_cash: Any) -> tuple[Costs, float]:
    """Refuse arguments of the wrong kind before any work is done.

    Returns
    -------
    costs : Costs
        ``costs`` or the default :class:`Costs`.
    initial_cash : float

    Raises
    ------
    DataError
        ``panel`` is not a :class:`Panel`, has no dates or no ``close``.
    MarketRuleError
        ``market`` is neither a code nor a :class:`MarketRules`.
    ConfigError
        ``costs`` is not a :class:`Costs`; ``initial_cash`` is not a positive
        finite number.
    """
    if not isinstance(panel, Panel):
        raise DataError(f"panel must be an alphalab Panel, got {type(panel).__name__}")
    if panel.n_dates == 0:
        raise DataError("panel has no dates: there is nothing to simulate")
    panel.require("close")
    if not isinstance(market, (str, MarketRules)):
        raise MarketRuleError(
            f"market must be a market code (e.g. 'us', 'vn.hose') or MarketRules, got {market!r:.60}"
        )
    if costs is None:
        costs = Costs()
    elif not isinstance(costs, Costs):
        raise ConfigError(f"costs must be an alphalab Costs, got {type(costs).__name__}")
    cash = real_number(initial_cash, "initial_cash")
    if not (np.isfinite(cash) and cash > 0):
        raise ConfigError(f"initial_cash must be a positive finite number, got {initial_cash!r}")
    return costs, cash


def price_floor(initial_cash: float) -> float:
    """Smallest positive price a book of ``MAX_GROSS x initial_cash`` can be sized with."""
    # the largest float over the most shares a book can want: a smaller price
    # overflows the share count (0 when the cash is tiny: nothing to check)
    return initial_cash * MAX_GROSS / np.finfo(np.float64).max


def check_prices(panel: Panel, names: tuple[str, ...], initial_cash: float) -> None:
    """Refuse prices in the fields ``names`` that the simulation cannot use.

    NaN and 0 mean "no price" (the asset cannot trade on that bar and keeps
    its last close for valuation); anything else must be finite and positive,
    and not so small that a book of ``MAX_GROSS x initial_cash`` would hold
    more shares than a float can count (1e-310 yields infinite shares, then
    NaN equity).

    Raises
    ------
    DataError
        Names the field, date, asset and value of the first bad price, or the
        smallest price and the cash it cannot be sized with.
    """
    floor = price_floor(initial_cash)
    for name in names:
        arr = panel.get(name)
        if arr is None or arr.size == 0:
            continue
        # two SIMD reductions (NaN ignored) instead of a per-cell scan; the
        # cells are located only when something is wrong
        lo = np.fmin.reduce(arr, axis=None)
        hi = np.fmax.reduce(arr, axis=None)
        if lo < 0 or hi == np.inf:
            r, c = np.argwhere((arr < 0) | (arr == np.inf))[0]
            raise DataError(
                f"{name} price {float(arr[r, c])!r} on {panel.dates[r].date()} for asset "
                f"{panel.assets[c]!r}: prices must be finite and >= 0 (NaN or 0 = missing)"
            )
        if lo < floor:
            tiny = np.argwhere((arr > 0) & (arr < floor))
            if len(tiny):
                r, c = tiny[0]
                raise DataError(
                    f"{name} price {float(arr[r, c])!r} on {panel.dates[r].date()} for asset "
                    f"{panel.assets[c]!r} is too small for an initial cash of "
                    f"{initial_cash:g}: share counts would overflow a float; quote prices in "
                    "a larger unit or start with less cash"
                )


def check_volume(panel: Panel) -> None:
    """Refuse a negative volume (0 = no trade that day, NaN = unknown).

    Raises
    ------
    DataError
        Names the date, asset and value of the first negative volume.
    """
    vol = panel.get("volume")
    if vol is None or vol.size == 0 or not np.fmin.reduce(vol, axis=None) < 0:
        return
    r, c = np.argwhere(vol < 0)[0]
    raise DataError(
        f"volume {float(vol[r, c])!r} on {panel.dates[r].date()} for asset "
        f"{panel.assets[c]!r}: volumes must be >= 0 (0 = no trade, NaN = unknown)"
    )


def _first_non_real(cells: np.ndarray) -> tuple[int, int] | None:
    """Position of the first cell of a 2-D object array that is not a real number.

    None and NaN count as real (a missing weight); bools and text do not.
    """
    for (i, j), v in np.ndenumerate(cells):
        if v is None or v is pd.NA:
            continue
        if isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)):
            continue
        return i, j
    return None


def _as_float(values: np.ndarray, panel: Panel, what: str) -> np.ndarray:
    """``values`` (already the panel's shape) as float64, refusing non-real cells."""
    kind = values.dtype.kind
    if kind in "fiu":
        return values.astype(np.float64, copy=False)
    if kind == "b":
        raise DataError(
            f"{what} are booleans; weights are fractions of equity (e.g. 0.05), "
            "turn a selection mask into weights first"
        )
    if kind == "O":
        bad = _first_non_real(values)
        if bad is None:
            return values.astype(np.float64)
        i, j = bad
        raise DataError(
            f"{what} hold {values[i, j]!r:.40} on {panel.dates[i].date()} for asset "
            f"{panel.assets[j]!r}: weights must be real numbers (NaN = no weight)"
        )
    raise DataError(f"{what} must be real numbers, got dtype {values.dtype}")


def _frame_values(weights: pd.DataFrame, panel: Panel) -> np.ndarray:
    """A wide weights DataFrame checked and reordered to the panel's axes."""
    try:
        idx = as_dates(weights.index, "weights index", unique=False, wall_clock=True)
    except DataError as exc:
        raise DataError(f"{exc} (weights rows must be the panel's dates)") from None
    idx = idx.as_unit("ns")
    if idx.has_duplicates:
        raise DataError(f"weights index has a duplicated date: {idx[idx.duplicated()][0].date()}")
    cols = pd.Index([str(c) for c in weights.columns], dtype=object)
    if cols.has_duplicates:
        raise DataError(f"weights columns have a duplicated asset: {cols[cols.duplicated()][0]!r}")
    extra_d = idx.difference(panel.dates)
    missing_d = panel.dates.difference(idx)
    if len(extra_d) or len(missing_d):
        what = (
            f"dates not in the panel: {[str(d.date()) for d in extra_d[:3]]}"
            if len(extra_d)
            else f"panel dates missing from weights: {[str(d.date()) for d in missing_d[:3]]}"
        )
        raise DataError(f"weights index does not match the panel dates: {what}")
    extra_a = cols.difference(panel.assets)
    missing_a = panel.assets.difference(cols)
    if len(extra_a) or len(missing_a):
        raise DataError(
            "weights columns do not match the panel assets: "
            f"unknown {list(extra_a[:5])}, missing {list(missing_a[:5])}"
        )
    frame = weights.set_axis(cols, axis=1).set_axis(idx, axis=0)
    if not (idx.equals(panel.dates) and cols.equals(panel.assets)):
        frame = frame.reindex(index=panel.dates, columns=panel.assets)
    kinds = {dt.kind for dt in frame.dtypes}
    if kinds <= set("fiu"):
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    for name, dt in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dt):
            raise DataError(
                f"weights column {name!r} is boolean; weights are fractions of equity "
                "(e.g. 0.05), turn a selection mask into weights first"
            )
    numeric = all(
        pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt)
        for dt in frame.dtypes
    )
    if numeric:  # nullable Float64/Int64: pd.NA -> NaN
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    return _as_float(frame.to_numpy(dtype=object), panel, "weights")


def prepare_weights(weights: Any, panel: Panel, *, check_inf: bool = True) -> np.ndarray:
    """Target weights as a C-contiguous float64 ``(n_dates, n_assets)`` array.

    A DataFrame must carry exactly the panel's dates (index; a timezone is
    dropped keeping the wall-clock date, as :class:`Panel` does) and assets
    (columns), each once, in any order; it is reordered to the panel's. Arrays
    and nested lists must have the panel's shape. Cells must be real numbers
    or NaN/None: booleans, text and complex numbers are refused, not converted.

    Raises
    ------
    DataError
        Wrong shape, ragged rows, labels that do not match the panel, a
        duplicated date or asset, a cell that is not a real number or an
        infinite weight on any row (named by date and asset; not looked for
        when ``check_inf`` is False: the engine finds it in its scan of the
        decision rows, one pass over the weights instead of three).
    """
    if isinstance(weights, pd.DataFrame):
        arr = _frame_values(weights, panel)
    else:
        if isinstance(weights, (pd.Series, pd.Index)):
            weights = weights.to_numpy()
        try:
            raw = np.asarray(weights)
        except ValueError as exc:  # ragged nested lists
            raise DataError(f"weights cannot be read as a (dates, assets) array: {exc}") from None
        if raw.shape != panel.shape:
            raise DataError(
                f"weights have shape {raw.shape}, expected {panel.shape} (dates, assets) of "
                "the panel"
            )
        arr = _as_float(raw, panel, "weights")
    arr = np.ascontiguousarray(arr)
    if check_inf:
        check_finite_weights(arr, panel)
    return arr


def check_finite_weights(arr: np.ndarray, panel: Panel) -> None:
    """Refuse an infinite weight on any row, on schedule or not: broken input.

    Parameters
    ----------
    arr : ndarray, shape ``(n_dates, n_assets)``

    Raises
    ------
    DataError
        Names the date and asset of the first infinite weight.
    """
    # two SIMD reductions (NaN ignored); cells are located only on failure
    if arr.size and (
        np.fmax.reduce(arr, axis=None) == np.inf or np.fmin.reduce(arr, axis=None) == -np.inf
    ):
        r, c = np.argwhere(np.isinf(arr))[0]
        raise infinite_weight_error(panel, int(r), int(c))


def infinite_weight_error(panel: Panel, row: int, col: int) -> DataError:
    """The error for an infinite weight at ``(row, col)``."""
    return DataError(
        f"weight is infinite on {panel.dates[row].date()} for asset {panel.assets[col]!r}"
    )
