"""The study's benchmark: a ticker of the dataset or its own file, as returns on the study dates."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphalab.config import BENCHMARK_KEY, StudyConfig
from alphalab.data.panel import Panel
from alphalab.errors import DataError

__all__ = ["benchmark_returns", "close_series", "load_benchmark"]


def close_series(obj: Any, name: str) -> pd.Series:
    """A benchmark given as a Series, a long frame or a one-column wide frame -> close by date."""
    if isinstance(obj, pd.Series):
        series = obj
    elif isinstance(obj, pd.DataFrame):
        frame = obj
        if "ticker" in frame.columns:
            tickers = pd.unique(frame["ticker"].astype(str))
            if len(tickers) > 1:
                raise DataError(
                    f"benchmark {name!r} holds {len(tickers)} tickers "
                    f"({', '.join(map(str, tickers[:5]))}); it must hold one series"
                )
        if "date" in frame.columns:
            frame = frame.set_index("date")
        if "close" in frame.columns:
            series = frame["close"]
        elif frame.shape[1] == 1:
            series = frame.iloc[:, 0]
        else:
            raise DataError(
                f"benchmark {name!r} has no 'close' column; columns: {list(frame.columns)}"
            )
    else:
        raise DataError(f"benchmark {name!r} is a {type(obj).__name__}, not a price series")
    index = pd.DatetimeIndex(pd.to_datetime(series.index))
    if index.tz is not None:
        index = index.tz_localize(None)  # the exchange's wall-clock date, as Panel does
    out = pd.Series(
        pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
        index=index.as_unit("ns"),
        name=BENCHMARK_KEY,
    ).dropna()
    out = out[~out.index.duplicated(keep="last")].sort_index()
    if out.empty:
        raise DataError(f"benchmark {name!r} has no prices")
    return out


def load_benchmark(cfg: StudyConfig, panel: Panel) -> tuple[pd.Series | None, Any]:
    """The benchmark's closes and the loader's validation report of its file (None for a ticker)."""
    name = cfg.data.benchmark
    if name is None:
        return None, None
    if name in panel.assets:
        return close_series(panel.frame("close")[name], name), None
    from alphalab.study.inputs import INDEX_PREFIX

    if INDEX_PREFIX + name in panel:  # an index of data.indices
        series = pd.Series(panel[INDEX_PREFIX + name][:, 0], index=panel.dates)
        return close_series(series, name), None
    from alphalab.data import load

    source = cfg.resolve_source(name)
    if isinstance(source, Path) and not source.exists():
        raise FileNotFoundError(f"benchmark file not found: {source}")
    try:
        # load() rather than load_benchmark(): its validation report goes into the manifest.
        bench = load(source, mode=cfg.data.mode, end=cfg.data.end, fields=["close"])
    except DataError as exc:
        if isinstance(source, Path):
            raise DataError(f"benchmark {name!r}: {exc}") from None
        # A bare name: a ticker of the dataset (possibly dropped by validation) or a dataset.
        raise DataError(
            f"benchmark {name!r} is not a ticker of the dataset with valid prices"
            f"{' after lenient validation' if cfg.data.mode == 'lenient' else ''}, "
            f"nor a dataset: {exc}"
        ) from None
    if bench.n_assets != 1:
        raise DataError(
            f"benchmark {name!r} holds {bench.n_assets} tickers "
            f"({', '.join(map(str, bench.assets[:5]))}); it must hold one series"
        )
    return close_series(bench.frame("close").iloc[:, 0], name), bench.meta.get("validation")


def benchmark_returns(close: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Benchmark simple returns on ``dates``, the first one 0.

    Parameters
    ----------
    close : pandas.Series
        Benchmark closes by date (any calendar).
    dates : pandas.DatetimeIndex, length ``n_dates``
        The study's simulated dates.

    Returns
    -------
    pandas.Series, length ``n_dates``
        Where the benchmark has no print on a study date its last known close
        carries over (a zero return that day, the move lands on its next print).

    Raises
    ------
    DataError
        The benchmark has no close on or before the first study date.

    Warns
    -----
    RuntimeWarning
        The benchmark ends before the last study date.
    """
    known = close.reindex(close.index.union(dates)).ffill().reindex(dates)
    if np.isnan(known.iloc[0]):
        raise DataError(
            f"the benchmark starts on {close.index[0].date()}, after the study's first date "
            f"{dates[0].date()}; set data.start on or after {close.index[0].date()}"
        )
    if close.index[-1] < dates[-1]:
        warnings.warn(
            f"the benchmark ends on {close.index[-1].date()}, before the study's last date "
            f"{dates[-1].date()}; its last close carries over (zero returns) after that",
            RuntimeWarning,
            stacklevel=2,
        )
    out = known.pct_change().fillna(0.0)
    out.iloc[0] = 0.0
    out.name = BENCHMARK_KEY
    out.index.name = "date"
    return out

