"""The local dataset store: Parquet files catalogued in DuckDB.

Layout under the store root (``$ALPHALAB_HOME``, else ``~/.alphalab``)::

    ROOT/
      catalog.duckdb                      one row per dataset (see CATALOG_COLUMNS)
      .write.lock                         flock held by the single writer
      datasets/<name>/<content-hash>.parquet

Crash safety: a write goes to a temporary file in the dataset's folder, is
fsynced and renamed to its content-hash name, and only then is the catalogue
row replaced inside one DuckDB transaction. A process killed at any point
leaves the catalogue pointing at the old, intact file; files that no catalogue
row references are invisible and are swept by :meth:`Store.gc` (run on every
write). Readers open the catalogue read-only for a few milliseconds and retry
while a writer holds DuckDB's file lock, so they keep working during imports.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from alphalab.data.panel import Panel
from alphalab.data.parsing import parse_dates
from alphalab.errors import DataError
from alphalab.paths import alphalab_home

__all__ = [
    "ADJUSTED_STATES",
    "DatasetInfo",
    "Store",
    "check_adjustment_mix",
    "default_root",
    "validate_name",
]

# Test hook: seconds to sleep after the data file is in place and before the
# catalogue commit, so that a test can kill an import at the worst moment.
ENV_PAUSE = "ALPHALAB_TEST_PAUSE_BEFORE_COMMIT"
ADJUSTED_STATES = ("raw", "adjusted", "split_only", "unknown")
KINDS = ("prices", "fundamentals", "table")
PRICE_FIELDS = ("open", "high", "low", "close")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
GRID_KEY = b"alphalab.grid"
# The catalogue row (less what the file itself tells: hash, path, shape) inside each
# dataset file, so that `alphalab data repair` can rebuild a lost catalogue.
ENTRY_KEY = b"alphalab.entry"
# DuckDB messages that mean "opened elsewhere right now", worth a retry. Whole
# phrases: a damaged file's "block" errors contain "lock" too and must fail fast.
_BUSY = re.compile(
    r"could not set lock|conflicting lock|\block on file\b|different configuration|"
    r"already attached|file handle conflict",
    re.IGNORECASE,
)
_READ_ONLY_TYPES = {"SELECT"}  # SHOW / DESCRIBE parse as SELECT in DuckDB
# Keywords refused anywhere outside string literals and comments, however the
# statement wraps them (EXPLAIN ANALYZE COPY ... runs the COPY).
_WRITE_WORDS = re.compile(
    r"\b(COPY|EXPORT|IMPORT|ATTACH|DETACH|INSTALL|LOAD|PRAGMA|SET|RESET|CALL|CHECKPOINT|"
    r"VACUUM|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|TRUNCATE|PREPARE|EXECUTE|USE)\b",
    re.IGNORECASE,
)
_SQL_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALYZE\s+|ANALYSE\s+|\([^)]*\)\s*)?", re.IGNORECASE)
REPAIR_HINT = "run `alphalab data repair` to rebuild it from the dataset files"
# "datasets" is the catalogue's table in `query`; the others are device names
# that Windows refuses as file or folder names (with any extension).
_RESERVED = {"datasets", "con", "prn", "aux", "nul"} | {
    f"{dev}{i}" for dev in ("com", "lpt") for i in range(1, 10)
}

_CATALOG_DDL = """
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    source VARCHAR,
    market VARCHAR,
    adjusted VARCHAR NOT NULL,
    fields VARCHAR[],
    tickers VARCHAR[],
    n_tickers INTEGER,
    start_date DATE,
    end_date DATE,
    n_rows BIGINT,
    content_hash VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    meta VARCHAR
)
"""
CATALOG_COLUMNS = (
    "name",
    "kind",
    "source",
    "market",
    "adjusted",
    "fields",
    "tickers",
    "n_tickers",
    "start_date",
    "end_date",
    "n_rows",
    "content_hash",
    "path",
    "imported_at",
    "meta",
)


def default_root() -> Path:
    """The store root: ``$ALPHALAB_HOME`` when set, else ``~/.alphalab``."""
    return alphalab_home()


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe dataset name, else raise :class:`DataError`.

    Names are 1-128 characters of letters, digits, ``_``, ``-`` and ``.``,
    start with a letter or digit and never contain ``..`` (so a name can not
    reach outside the store's folder). ``datasets`` (the catalogue in SQL) and
    Windows device names (``con``, ``nul``, ``com1`` ..., with any extension)
    are reserved.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise DataError(
            f"invalid dataset name {name!r}: use 1-128 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit, no '..' or slashes"
        )
    if name.lower() == "datasets" or name.split(".")[0].lower() in _RESERVED:
        raise DataError(
            f"invalid dataset name {name!r}: reserved ('datasets' is the catalogue table in "
            "queries; con, prn, aux, nul, com1-9, lpt1-9 are device names on Windows)"
        )
    return name


@dataclass(frozen=True)
class DatasetInfo:
    """One catalogue row."""

    name: str
    kind: str
    source: str | None
    market: str | None
    adjusted: str
    fields: list[str]
    tickers: list[str]
    n_tickers: int
    start_date: pd.Timestamp | None
    end_date: pd.Timestamp | None
    n_rows: int
    content_hash: str
    path: str
    imported_at: pd.Timestamp
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly dict without the ticker list."""
        out = asdict(self)
        out.pop("tickers")
        if "dropped_rows" in out["meta"]:  # listed by `data check`; the count is enough here
            out["meta"] = {**out["meta"], "dropped_rows": len(out["meta"]["dropped_rows"])}
        for key in ("start_date", "end_date", "imported_at"):
            out[key] = None if out[key] is None else str(pd.Timestamp(out[key]))
        return out


def check_adjustment_mix(items: Sequence[DatasetInfo | Panel], *, allow_mixed: bool = False) -> None:
    """Refuse to combine raw and adjusted price data unless told to.

    Parameters
    ----------
    items : sequence of DatasetInfo or Panel
        Catalogue rows, or Panels whose ``meta["adjusted"]`` says their state
        (Panels from :meth:`Store.load` and embedded data carry it). Missing
        or ``unknown`` states are not compared.
    allow_mixed : bool
        The explicit override.

    Raises
    ------
    DataError
        Two items are price data in different states (``raw``, ``adjusted``,
        ``split_only``) and ``allow_mixed`` is False.
    """
    states: dict[str, str] = {}
    for k, item in enumerate(items):
        if isinstance(item, Panel):
            name = str(item.meta.get("dataset") or item.meta.get("source") or f"panel {k}")
            state = item.meta.get("adjusted")
        elif item.kind == "prices":
            name, state = item.name, item.adjusted
        else:
            continue
        if isinstance(state, bool):  # embedded datasets record True / False
            state = "adjusted" if state else "raw"
        if state in ("raw", "adjusted", "split_only"):
            states[name] = str(state)
    if len(set(states.values())) > 1 and not allow_mixed:
        desc = ", ".join(f"{n}={s}" for n, s in states.items())
        raise DataError(
            f"data mix price adjustments ({desc}); adjust them to one basis "
            "or pass allow_mixed_adjustment=True"
        )


# --------------------------------------------------------------------- helpers
def _guess_kind(columns: Sequence[str]) -> str:
    cols = set(columns)
    if {"date", "ticker"} <= cols and cols & set(PRICE_FIELDS):
        return "prices"
    if {"ticker", "period_end"} <= cols:
        return "fundamentals"
    return "table"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def data_identity(df: pd.DataFrame) -> str:
    """SHA-256 of a stored frame's columns and values (not of its file).

    Two stores holding the same rows under other names, or imported at other
    times, give the same identity; any changed value, column or row gives another.
    """
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


Axes = tuple[np.ndarray, np.ndarray]


def _sort_prices(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, Axes]:
    """Rows in (date, ticker) order; duplicated keys raise :class:`DataError`.

    Date-major order makes the Panel scatter in :meth:`Store.load` a
    sequential write, and a plain reshape when the grid is complete. The
    sorted axes (unique dates, unique tickers) are returned beside it.
    """
    d_codes, d_uniq = pd.factorize(df["date"], sort=True)
    t_codes, t_uniq = pd.factorize(df["ticker"], sort=True)
    n_t = len(t_uniq)
    key = d_codes.astype(np.int64) * n_t + t_codes
    span = len(d_uniq) * n_t
    if span <= max(4 * len(key), 1 << 24):
        # Dense keys: counting sort, linear time.
        counts = np.bincount(key, minlength=span)
        dup_keys = np.flatnonzero(counts > 1)
        if len(dup_keys) == 0:
            rank = np.cumsum(counts > 0) - 1
            order = np.empty(len(key), dtype=np.int64)
            order[rank[key]] = np.arange(len(key))
    else:
        order = np.argsort(key, kind="stable")
        sk = key[order]
        dup_keys = np.unique(sk[1:][sk[1:] == sk[:-1]])
    if len(dup_keys):
        k = int(dup_keys[0])
        n_extra = int(len(key) - len(np.unique(key)))
        raise DataError(
            f"dataset {name!r}: {n_extra} duplicated (date, ticker) rows, "
            f"first ({pd.Timestamp(d_uniq[k // n_t]).date()}, {t_uniq[k % n_t]!r})"
        )
    return df.take(order), (np.asarray(d_uniq), np.asarray(t_uniq, dtype=object))


def _to_arrow(df: pd.DataFrame, kind: str, axes: Axes | None = None) -> pa.Table:
    """Sort and encode a frame for storage (tickers dictionary-encoded)."""
    if kind == "fundamentals":
        df = df.sort_values(["ticker", "period_end"], kind="stable")
    table = pa.Table.from_pandas(df, preserve_index=False)
    if "ticker" in table.column_names:
        i = table.column_names.index("ticker")
        col = pc.cast(table.column(i), pa.string()).dictionary_encode()
        table = table.set_column(i, "ticker", col)
    if kind == "prices" and axes is not None:
        # A complete date x ticker grid in date-major order loads by reshaping
        # the field columns alone: record its axes so that load() can skip
        # decoding and factorising the key columns.
        dates, tickers = axes
        if len(df) == len(dates) * len(tickers):
            grid = {
                "dates": dates.astype("datetime64[ns]").view(np.int64).tolist(),
                "tickers": [str(t) for t in tickers],
            }
            meta = dict(table.schema.metadata or {})
            meta[GRID_KEY] = json.dumps(grid).encode()
            table = table.replace_schema_metadata(meta)
    return table


class Store:
    """A folder of Parquet datasets with a DuckDB catalogue.

    Parameters
    ----------
    root : str or Path, optional
        Store folder; default :func:`default_root`. Created on first write.
    lock_timeout : float
        Seconds a reader waits for a writer to release the catalogue.
    verify : bool
        Check each dataset file's SHA-256 against the catalogue while it loads
        (a file changed outside alphalab is then an error). False only for
        measuring what the check costs (``benchmarks/bench_data_load.py``).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = 30.0,
        verify: bool = True,
    ):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.lock_timeout = lock_timeout
        self.verify = verify

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    # ----------------------------------------------------------- connections
    def _check_root(self) -> None:
        """:class:`DataError` if the root, or the folder it would be made in, is a file."""
        for p in (self.root, *self.root.parents):
            if p.exists():
                if not p.is_dir():
                    raise DataError(
                        f"store root {self.root}: {p} is not a folder; pass another --home "
                        "or ALPHALAB_HOME"
                    )
                return

    @contextlib.contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the catalogue, retrying while another process holds its lock.

        DuckDB errors inside the block become :class:`DataError` naming the
        catalogue (a damaged file fails on first read, not always on open).
        """
        self._check_root()
        if read_only and not self.catalog_path.exists():
            self._init_catalog()
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                con = duckdb.connect(str(self.catalog_path), read_only=read_only)
                break
            except duckdb.Error as exc:
                # Another process holds the file lock, or another thread of this
                # process has it open in the other mode: both clear within ms.
                busy = bool(_BUSY.search(str(exc)))
                if not busy:
                    raise DataError(
                        f"store catalogue {self.catalog_path} is damaged or not a catalogue "
                        f"({' '.join(str(exc).split())[:200]}); {REPAIR_HINT}"
                    ) from None
                if time.monotonic() > deadline:
                    raise DataError(
                        f"store catalogue {self.catalog_path} is busy: another process held its "
                        f"lock for {self.lock_timeout:g} s ({exc})"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield con
        except duckdb.Error as exc:
            raise DataError(
                f"store catalogue {self.catalog_path} is unreadable (damaged?): {exc}; the data "
                f"files under datasets/ are untouched; {REPAIR_HINT}"
            ) from None
        finally:
            con.close()

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialise writers across processes (released by the OS if killed)."""
        self._check_root()
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".write.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _init_catalog(self) -> None:
        with self._write_lock(), self._connect(read_only=False) as con:
            con.execute(_CATALOG_DDL)

    # --------------------------------------------------------------- catalogue
    def _rows(self, where: str = "", params: Sequence[Any] = ()) -> list[DatasetInfo]:
        with self._connect(read_only=True) as con:
            cur = con.execute(
                f"SELECT {', '.join(CATALOG_COLUMNS)} FROM datasets {where} ORDER BY name",
                list(params),
            )
            rows = cur.fetchall()
        out = []
        for row in rows:
            rec = dict(zip(CATALOG_COLUMNS, row, strict=True))
            rec["meta"] = json.loads(rec["meta"] or "{}")
            rec["fields"] = list(rec["fields"] or [])
            rec["tickers"] = list(rec["tickers"] or [])
            for key in ("start_date", "end_date", "imported_at"):
                rec[key] = None if rec[key] is None else pd.Timestamp(rec[key])
            out.append(DatasetInfo(**rec))
        return out

    def names(self) -> list[str]:
        return [i.name for i in self._rows()]

    def list(self) -> pd.DataFrame:
        """The catalogue as a DataFrame, one row per dataset (no ticker lists)."""
        infos = self._rows()
        cols = [c for c in CATALOG_COLUMNS if c not in ("tickers", "meta")]
        return pd.DataFrame([{k: getattr(i, k) for k in cols} for i in infos], columns=cols)

    def exists(self, name: str) -> bool:
        validate_name(name)
        return bool(self._rows("WHERE name = ?", [name]))

    def info(self, name: str) -> DatasetInfo:
        """The catalogue row of ``name``; :class:`DataError` if it is not stored."""
        validate_name(name)
        rows = self._rows("WHERE name = ?", [name])
        if not rows:
            known = ", ".join(self.names()) or "none"
            raise DataError(f"dataset {name!r} is not in the store {self.root}; stored: {known}")
        return rows[0]

    # ----------------------------------------------------------------- writes
    def write(
        self,
        df: pd.DataFrame,
        name: str,
        *,
        source: str | None = None,
        market: str | None = None,
        adjusted: str = "unknown",
        kind: str | None = None,
        meta: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> DatasetInfo:
        """Store a long DataFrame as dataset ``name`` (atomically).

        Parameters
        ----------
        df : pandas.DataFrame
            Prices: long ``date, ticker, fields...`` with unique (date, ticker).
            Fundamentals: ``ticker, period_end, ...``. Anything else: a table.
        name : str
            Dataset name (see :func:`validate_name`).
        source, market : str, optional
            Provenance recorded in the catalogue (``market`` is a markets code).
        adjusted : {"raw", "adjusted", "split_only", "unknown"}
            Whether the prices are adjusted for corporate actions.
        kind : {"prices", "fundamentals", "table"}, optional
            Default: guessed from the columns.
        replace : bool
            Overwrite an existing dataset of that name (else :class:`DataError`).
        """
        validate_name(name)
        _check_frame(df, f"dataset {name!r}")
        if market is not None:
            from alphalab.markets import get_market

            get_market(market)  # a typo would silently switch off the market's rules later
        if adjusted not in ADJUSTED_STATES:
            raise DataError(f"adjusted must be one of {ADJUSTED_STATES}, got {adjusted!r}")
        kind = kind or _guess_kind(list(df.columns))
        if kind not in KINDS:
            raise DataError(f"kind must be one of {KINDS}, got {kind!r}")
        if df.empty:
            raise DataError(f"refusing to store an empty frame as {name!r}")
        needed = {"prices": ("date", "ticker"), "fundamentals": ("ticker", "period_end")}
        lacking = [c for c in needed.get(kind, ()) if c not in df.columns]
        if lacking:
            raise DataError(f"dataset {name!r} of kind {kind} lacks column(s) {lacking}")
        df, axes = self._normalise(df, kind, name)
        table = _to_arrow(df, kind, axes)
        imported_at = pd.Timestamp.now("UTC").tz_localize(None)
        # The file's own hash changes with the name and import time written into it
        # (the catalogue entry travels in the file); the data's identity must not, so
        # seals and trial ledgers key on this one.
        meta = {**dict(meta or {}), "data_hash": data_identity(df)}
        entry = {
            "name": name, "kind": kind, "source": source, "market": market,
            "adjusted": adjusted, "imported_at": imported_at.isoformat(), "meta": meta,
        }  # fmt: skip
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[ENTRY_KEY] = json.dumps(entry, default=str).encode()
        table = table.replace_schema_metadata(schema_meta)
        with self._write_lock():
            if not self.catalog_path.exists():
                with self._connect(read_only=False) as con:
                    con.execute(_CATALOG_DDL)
            old = self._rows("WHERE name = ?", [name])
            if old and not replace:
                raise DataError(
                    f"dataset {name!r} already exists in {self.root}; remove it or pass replace"
                )
            # SQL names (and some filesystems) ignore case, so 'A' would shadow 'a'.
            twins = self._rows("WHERE lower(name) = lower(?) AND name <> ?", [name, name])
            if twins:
                raise DataError(
                    f"dataset name {name!r} differs only in case from {twins[0].name!r}, "
                    "already in the store; choose another name"
                )
            folder = self.root / "datasets" / name
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".tmp-{uuid.uuid4().hex}.parquet"
            try:
                # lz4 decodes several times faster than zstd on float columns,
                # which dominates load time for large panels; dictionaries only
                # where values repeat (keys), not on prices.
                pq.write_table(
                    table,
                    tmp,
                    compression="lz4",
                    row_group_size=1 << 20,
                    use_dictionary=[
                        c for c in ("date", "ticker", "period_end") if c in table.column_names
                    ],
                )
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                digest = file_sha256(tmp)
                final = folder / f"{digest[:32]}.parquet"
                os.replace(tmp, final)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            _fsync_dir(folder)
            pause = float(os.environ.get(ENV_PAUSE, "0") or 0)
            if pause > 0:
                time.sleep(pause)
            info = self._describe(
                df,
                table,
                axes,
                name,
                kind,
                source,
                market,
                adjusted,
                meta,
                digest,
                final.relative_to(self.root).as_posix(),
                imported_at,
            )
            with self._connect(read_only=False) as con:
                self._insert(con, info)
            self._gc_locked()
        return info

    def _insert(self, con: duckdb.DuckDBPyConnection, info: DatasetInfo) -> None:
        """Replace the catalogue row of ``info.name`` inside one transaction."""
        name = info.name
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM datasets WHERE name = ?", [name])
            con.execute(
                f"INSERT INTO datasets ({', '.join(CATALOG_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(CATALOG_COLUMNS))})",
                [
                    info.name,
                    info.kind,
                    info.source,
                    info.market,
                    info.adjusted,
                    info.fields,
                    info.tickers,
                    info.n_tickers,
                    None if info.start_date is None else info.start_date.date(),
                    None if info.end_date is None else info.end_date.date(),
                    info.n_rows,
                    info.content_hash,
                    info.path,
                    info.imported_at.to_pydatetime(),
                    json.dumps(info.meta),
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _normalise(
        self, df: pd.DataFrame, kind: str, name: str
    ) -> tuple[pd.DataFrame, Axes | None]:
        df = df.copy()
        if "ticker" in df.columns:
            if df["ticker"].isna().any():
                raise DataError(
                    f"dataset {name!r}: {int(df['ticker'].isna().sum())} rows lack a ticker"
                )
            df["ticker"] = df["ticker"].astype(str)
        for col in ("date", "period_end", "report_date"):
            if col in df.columns:
                d = parse_dates(df[col], f"dataset {name!r}: column {col!r}")
                df[col] = d.astype("datetime64[us]")
        if kind == "prices":
            if df["date"].isna().any():
                raise DataError(
                    f"dataset {name!r}: {int(df['date'].isna().sum())} rows lack a date"
                )
            return _sort_prices(df, name)
        return df, None

    def _describe(
        self,
        df: pd.DataFrame,
        table: pa.Table,
        axes: Axes | None,
        name: str,
        kind: str,
        source: str | None,
        market: str | None,
        adjusted: str,
        meta: Mapping[str, Any] | None,
        digest: str,
        path: str,
        imported_at: pd.Timestamp | None = None,
    ) -> DatasetInfo:
        date_col = (
            "date"
            if "date" in df.columns
            else ("period_end" if "period_end" in df.columns else None)
        )
        keys = {"date", "ticker", "period_end"}
        if axes is not None:
            tickers = [str(t) for t in axes[1]]
        else:
            tickers = sorted(df["ticker"].unique().tolist()) if "ticker" in df.columns else []
        start = end = None
        if date_col is not None and df[date_col].notna().any():
            start, end = pd.Timestamp(df[date_col].min()), pd.Timestamp(df[date_col].max())
        return DatasetInfo(
            name=name,
            kind=kind,
            source=source,
            market=market,
            adjusted=adjusted,
            fields=[c for c in table.column_names if c not in keys],
            tickers=tickers,
            n_tickers=len(tickers),
            start_date=start,
            end_date=end,
            n_rows=len(df),
            content_hash=digest,
            path=path,
            imported_at=(
                imported_at if imported_at is not None
                else pd.Timestamp.now("UTC").tz_localize(None)
            ),
            meta=dict(meta or {}),
        )

    def import_file(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        market: str | None = None,
        mapping: Mapping[str, str] | None = None,
        adjusted: str = "unknown",
        replace: bool = False,
        kind: str | None = None,
        ticker: str | None = None,
        layout: str = "auto",
    ) -> DatasetInfo:
        """Read a CSV or Parquet file, rename columns by ``mapping`` and store it.

        The file goes through the reader ``al.load`` uses
        (:func:`alphalab.data.files.read_file_with_report`), which decides what
        it is: a long, wide or single-stock price file (``ticker`` names the
        stock of a single-stock file, default the file name), checked with
        :func:`alphalab.data.validation.validate_prices` (lenient: bad rows
        dropped and counted in the catalogue's meta), or a fundamentals table
        (``ticker`` and ``period_end`` columns). A generic table is stored only
        when asked for (``kind="table"``).
        """
        from alphalab.data import files

        if kind is not None and kind not in KINDS:
            raise DataError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if market is not None:
            from alphalab.markets import get_market

            get_market(market)  # before reading a large file
        validate_name(name)
        path = files.check_regular_file(path)
        kind = kind or files.file_kind(path, mapping)
        meta: dict[str, Any] = {"file": str(path.resolve()), "mapping": dict(mapping or {})}
        if kind == "prices":
            with warnings.catch_warnings():
                # The counts go into the catalogue's meta and `data show`.
                warnings.simplefilter("ignore")
                try:
                    df, report = files.read_file_with_report(
                        path, columns=mapping or None, mode="lenient", ticker=ticker,
                        layout=layout,  # type: ignore[arg-type]
                    )  # fmt: skip
                except DataError as exc:
                    if "missing_columns" not in str(exc):
                        raise
                    raise DataError(
                        f"{exc}; read as prices because that is what a file is unless told "
                        "otherwise: to store a table that is not prices, pass --kind table "
                        "(kind='table')"
                    ) from None
            meta["validation"], meta["dropped_rows"] = report.to_dict(), _dropped_rows(report)
            if df.empty:
                rules = ", ".join(f"rule {k} ({v} rows)" for k, v in report.errors.items() if v)
                first = meta["dropped_rows"][0] if meta["dropped_rows"] else {}
                raise DataError(
                    f"cannot import {path}: all {report.n_input} rows failed validation "
                    f"({rules}); first: ticker {first.get('ticker')!r} on {first.get('date')}, "
                    f"close={first.get('close')}"
                )
            meta["notes"] = list(report.notes)
        else:
            if ticker is not None:
                raise DataError(f"--ticker names the stock of a price file, not a {kind} table")
            df = files.read_plain_table(path, mapping)
            if df.empty:
                raise DataError(f"cannot import {path}: no data rows (columns: {list(df.columns)})")
        return self.write(
            df,
            name,
            source=f"file:{path.name}",
            market=market,
            adjusted=adjusted,
            kind=kind,
            meta=meta,
            replace=replace,
        )

    def append(self, name: str, new: pd.DataFrame) -> DatasetInfo:
        """Add rows to a price dataset; stored rows win on (date, ticker) overlap."""
        info = self.info(name)
        _check_frame(new, f"rows to append to {name!r}")
        lacking = [c for c in ("date", "ticker") if c not in new.columns]
        if lacking:
            raise DataError(f"rows to append to {name!r} lack column(s) {lacking}")
        old = self.read_table(name)
        both = pd.concat(
            [old, new[[c for c in new.columns if c in old.columns]]], ignore_index=True
        )
        both = both.drop_duplicates(["date", "ticker"], keep="first")
        return self.write(
            both,
            name,
            source=info.source,
            market=info.market,
            adjusted=info.adjusted,
            kind=info.kind,
            meta=info.meta,
            replace=True,
        )

    def remove(self, name: str) -> None:
        """Delete dataset ``name`` (catalogue row first, then its files)."""
        self.info(name)
        with self._write_lock():
            with self._connect(read_only=False) as con:
                con.execute("DELETE FROM datasets WHERE name = ?", [name])
            self._gc_locked()

    def repair(self) -> dict[str, Any]:
        """Rebuild the catalogue from the dataset files (``alphalab data repair``).

        Each ``datasets/<name>/<hash>.parquet`` whose SHA-256 matches its file
        name becomes a catalogue row again, with the kind, market, adjustment,
        source, meta and import time recorded inside the file; a damaged
        catalogue is moved aside (``catalog.duckdb.damaged-<time>``), never
        deleted. Files whose content no longer matches their name are listed
        under ``skipped`` and left where they are.

        Returns
        -------
        dict
            ``restored`` (names), ``skipped`` ({file: reason}), ``moved_aside`` (path or None).
        """
        restored: list[DatasetInfo] = []
        skipped: dict[str, str] = {}
        with self._write_lock():
            base = self.root / "datasets"
            for folder in sorted(base.iterdir()) if base.is_dir() else []:
                if not folder.is_dir():
                    continue
                best: tuple[float, DatasetInfo] | None = None
                for f in sorted(folder.glob("*.parquet")):
                    if f.name.startswith(".tmp-"):
                        continue
                    rel = f.relative_to(self.root).as_posix()
                    digest = file_sha256(f)
                    if digest[:32] != f.stem:
                        skipped[rel] = "content does not match the hash in its name (changed?)"
                        continue
                    try:
                        info = _entry_from_file(f, folder.name, digest, rel)
                    except (OSError, pa.ArrowException, ValueError, DataError) as exc:
                        skipped[rel] = f"not a readable dataset file ({exc})"
                        continue
                    if best is None or f.stat().st_mtime > best[0]:
                        best = (f.stat().st_mtime, info)
                if best is not None:
                    restored.append(best[1])
            moved = None
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for p in (self.catalog_path, self.catalog_path.with_name("catalog.duckdb.wal")):
                if p.exists():
                    aside = p.with_name(f"{p.name}.damaged-{stamp}")
                    os.replace(p, aside)
                    moved = moved or str(aside)
            with self._connect(read_only=False) as con:
                con.execute(_CATALOG_DDL)
                for info in restored:
                    self._insert(con, info)
        return {
            "restored": [i.name for i in restored],
            "skipped": skipped,
            "moved_aside": moved,
        }

    def gc(self) -> list[Path]:
        """Delete files that no catalogue row references (left by killed writes)."""
        with self._write_lock():
            return self._gc_locked()

    def _gc_locked(self) -> list[Path]:
        base = self.root / "datasets"
        if not base.exists():
            return []
        keep = {self.root / i.path for i in self._rows()}
        removed = []
        for folder in base.iterdir():
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                if f not in keep:
                    f.unlink(missing_ok=True)
                    removed.append(f)
            if not any(folder.iterdir()):
                folder.rmdir()
        return removed

    # ------------------------------------------------------------------ reads
    def _open(self, name: str) -> tuple[DatasetInfo, pq.ParquetFile]:
        # A writer may replace and delete the file between our catalogue read
        # and the open: read the catalogue again and retry while the path moves.
        last = None
        for _ in range(20):
            info = self.info(name)
            if info.path == last:
                break  # the catalogue still points at it: really gone
            last = info.path
            try:
                pf = pq.ParquetFile(self.root / info.path, memory_map=True)
            except FileNotFoundError:
                time.sleep(0.01)
                continue
            except (OSError, pa.ArrowException) as exc:
                raise _unreadable(name, info.path, exc) from None
            keys = {"date", "ticker", "period_end"}
            if [c for c in pf.schema_arrow.names if c not in keys] != list(info.fields):
                # Columns other than those recorded: changed outside alphalab, or damaged.
                self._raise_if_tampered(info)
            return info, pf
        raise _missing(name, info.path)

    def _raise_if_tampered(self, info: DatasetInfo) -> None:
        with contextlib.suppress(OSError):
            found = file_sha256(self.root / info.path)
            if found != info.content_hash:
                raise _tampered(info, found)

    @contextlib.contextmanager
    def _reading(self, info: DatasetInfo) -> Iterator[None]:
        """Damage found while decoding (not at open) also names the dataset.

        The file's SHA-256 is checked against the catalogue's ``content_hash``
        in a second thread while the block decodes (hashlib releases the GIL),
        so a file changed outside alphalab is an error, not silently new data.
        """
        if not self.verify:
            try:
                yield
            except (OSError, pa.ArrowException) as exc:
                raise _unreadable(info.name, info.path, exc) from None
            return
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            digest = pool.submit(file_sha256, self.root / info.path)
            try:
                yield
            except (OSError, pa.ArrowException) as exc:
                raise _unreadable(info.name, info.path, exc) from None
            try:
                found = digest.result()
            except OSError as exc:
                raise _unreadable(info.name, info.path, exc) from None
        if found != info.content_hash:
            raise _tampered(info, found)

    def read_table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Dataset ``name`` as a pandas DataFrame (tickers as plain strings)."""
        info, pf = self._open(name)
        if columns is not None:
            columns = [columns] if isinstance(columns, str) else list(columns)
            absent = [c for c in columns if c not in pf.schema_arrow.names]
            if absent:
                raise DataError(
                    f"dataset {name!r} has no column(s) {absent}; columns: {pf.schema_arrow.names}"
                )
        with self._reading(info):
            table = pf.read(columns=columns)
        if "ticker" in table.column_names:
            i = table.column_names.index("ticker")
            table = table.set_column(i, "ticker", pc.cast(table.column(i), pa.string()))
        return table.to_pandas()

    def load(
        self,
        name: str,
        fields: Sequence[str] | None = None,
        *,
        start: Any = None,
        end: Any = None,
        tickers: Sequence[str] | None = None,
    ) -> Panel:
        """Dataset ``name`` as a :class:`Panel` (prices only).

        Parameters
        ----------
        fields : sequence of str, optional
            Numeric columns to load; default all numeric columns.
        start, end : datetime-like, optional
            Inclusive date range.
        tickers : sequence of str, optional
            Restrict to these tickers.

        Returns
        -------
        Panel
            Fields of shape ``(n_dates, n_assets)``; ``meta`` carries the
            dataset name, market, source, adjusted state and content hash.
        """
        start, end = (
            None if v is None else pd.Timestamp(parse_dates(pd.Series([v]), f"{k}=").iloc[0])
            for k, v in (("start", start), ("end", end))
        )
        info, pf = self._open(name)
        if info.kind != "prices":
            raise DataError(
                f"dataset {name!r} is a {info.kind} table, not prices; read it with "
                "Store.read_table or join it with alphalab.data.fundamentals.join_fundamentals"
            )
        schema = pf.schema_arrow
        numeric = [
            f.name
            for f in schema
            if f.name not in ("date", "ticker")
            and (
                pa.types.is_integer(f.type)
                or pa.types.is_floating(f.type)
                or pa.types.is_boolean(f.type)
            )
        ]
        if isinstance(fields, str):
            fields = [fields]
        if fields is None:
            fields = numeric
        elif len(fields) == 0:
            raise DataError(f"fields=[] loads nothing from dataset {name!r}; pass None for all")
        else:
            bad = [f for f in fields if f not in numeric]
            if bad:
                raise DataError(
                    f"dataset {name!r} has no numeric field(s) {bad}; available: {numeric}"
                )
        meta = {
            "dataset": name,
            "market": info.market,
            "source": info.source,
            "adjusted": info.adjusted,
            "content_hash": info.content_hash,
        }
        grid_raw = (pf.schema_arrow.metadata or {}).get(GRID_KEY)
        if grid_raw is not None:
            grid = json.loads(grid_raw)
            dates = pd.DatetimeIndex(np.asarray(grid["dates"], dtype="datetime64[ns]"))
            assets = pd.Index(grid["tickers"], dtype=object)
            with self._reading(info):
                table = pf.read(columns=list(fields), use_threads=True)
            shape = (len(dates), len(assets))
            arrays = {f: _column_f64(table.column(f)).reshape(shape) for f in fields}
            del table
            panel = Panel(arrays, dates, assets, meta)
            if start is not None or end is not None:
                panel = panel.slice_dates(start, end)
            if tickers is not None:
                panel = panel.select_assets([t for t in tickers if t in set(assets)])
            return panel
        filters = []
        if start is not None:
            filters.append(("date", ">=", pd.Timestamp(start)))
        if end is not None:
            filters.append(("date", "<=", pd.Timestamp(end)))
        if tickers is not None:
            filters.append(("ticker", "in", [str(t) for t in tickers]))
        with self._reading(info):
            table = pq.read_table(
                self.root / info.path,
                columns=["date", "ticker", *fields],
                filters=filters or None,
                use_threads=True,
            )
        return panel_from_arrow(table, list(fields), meta=meta)

    def query(self, sql: str) -> pd.DataFrame:
        """Run one read-only SQL statement; every dataset is a view of its name.

        The catalogue itself is the table ``datasets``. Statements other than
        SELECT / WITH / SHOW / DESCRIBE / EXPLAIN raise :class:`DataError`.
        The statement runs in a private in-memory DuckDB that may read files
        under ``ROOT/datasets/`` only: ``read_csv('/etc/passwd')``, ``glob``
        or ``read_parquet`` of any other path raise :class:`DataError`.
        """
        # A concurrent write may replace (and delete) a file between the
        # catalogue read and the scan: read the catalogue again and retry.
        for attempt in range(5):
            try:
                return self._query_once(sql, final=False)
            except _Vanished:
                time.sleep(0.01 * (attempt + 1))
        return self._query_once(sql, final=True)

    def _query_once(self, sql: str, *, final: bool) -> pd.DataFrame:
        with self._connect(read_only=True) as cat:
            catalogue = cat.sql("SELECT * FROM datasets ORDER BY name").to_arrow_table()
        base = (self.root / "datasets").absolute()
        con = duckdb.connect(":memory:")
        try:
            try:
                stmts = con.extract_statements(sql)
            except duckdb.Error as exc:
                raise DataError(f"cannot parse query: {exc}") from None
            if len(stmts) != 1:
                raise DataError(f"query must be exactly one statement, got {len(stmts)}")
            _check_read_only(con, stmts[0])
            con.register("_catalogue", catalogue)
            con.execute("CREATE TABLE datasets AS SELECT * FROM _catalogue")
            con.unregister("_catalogue")
            for name, rel in zip(
                catalogue.column("name").to_pylist(), catalogue.column("path").to_pylist(), strict=True
            ):
                path = _sql_str((base.parent / rel).as_posix())
                try:
                    con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({path})')
                except duckdb.Error as exc:
                    if not final and not (base.parent / rel).exists():
                        raise _Vanished from None
                    # A broken dataset must not block queries of the others:
                    # its view raises the reason when (and only when) it is used.
                    broken = (
                        _missing(name, rel) if not (base.parent / rel).exists()
                        else _unreadable(name, rel, exc)
                    )
                    con.execute(
                        f'CREATE VIEW "{name}" AS SELECT * FROM range(1) '
                        f"WHERE error({_sql_str(str(broken))}) IS NULL"
                    )
            # From here on the connection can read nothing but the store's files.
            con.execute(f"SET allowed_directories=[{_sql_str(base.as_posix() + '/')}]")
            con.execute("SET enable_external_access=false")
            con.execute("SET lock_configuration=true")
            try:
                return con.execute(sql).df()
            except duckdb.Error as exc:
                paths = catalogue.column("path").to_pylist()
                if not final and not all((base.parent / rel).exists() for rel in paths):
                    raise _Vanished from None
                text = str(exc)
                if "Permission Error" in text or "disabled by configuration" in text:
                    raise DataError(
                        f"query may read only the store's datasets (their views, or files under "
                        f"{base}): {text.splitlines()[0]}"
                    ) from None
                raise DataError(f"query failed: {text}") from None
        finally:
            con.close()


def _check_read_only(con: duckdb.DuckDBPyConnection, stmt: Any) -> None:
    """Refuse any statement that is not a plain read, however it is wrapped.

    Allowed: SELECT / WITH / SHOW / DESCRIBE, and EXPLAIN of one of those
    (EXPLAIN ANALYZE runs its statement, so the inner one is checked too).
    Refused anywhere outside strings and comments: COPY, EXPORT, ATTACH,
    INSTALL, LOAD, PRAGMA, SET and every other keyword that writes.
    """
    kind = stmt.type.name
    text = stmt.query
    if kind == "EXPLAIN":
        inner = _EXPLAIN.sub("", text, count=1)
        try:
            inner_stmts = con.extract_statements(inner)
        except duckdb.Error:
            inner_stmts = []
        if len(inner_stmts) != 1:
            raise DataError("query is read-only: EXPLAIN must wrap one SELECT statement")
        kind, text = inner_stmts[0].type.name, inner_stmts[0].query
    if kind not in _READ_ONLY_TYPES:
        raise DataError(
            f"query is read-only: {kind} statements are not allowed (SELECT, WITH, SHOW, "
            "DESCRIBE or EXPLAIN of one)"
        )
    found = _WRITE_WORDS.search(_SQL_LITERALS.sub(" ", text))
    if found:
        raise DataError(
            f"query is read-only: {found.group(1).upper()} is not allowed in a query"
        )


class _Vanished(Exception):
    """A dataset file went away during a query (a concurrent replace): retry."""


def _check_frame(df: Any, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    twice = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if twice:
        raise DataError(f"{what} has duplicated column(s) {twice}")


def _sql_str(text: str) -> str:
    """``text`` as a quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _missing(name: str, path: str) -> DataError:
    return DataError(
        f"dataset {name!r}: its file {path} is missing from the store (deleted outside "
        f"alphalab?); re-import it, or drop the entry with `alphalab data remove {name}`"
    )


def _entry_from_file(path: Path, name: str, digest: str, rel: str) -> DatasetInfo:
    """A catalogue row rebuilt from a dataset file and the entry recorded inside it."""
    validate_name(name)
    pf = pq.ParquetFile(path)
    raw = (pf.schema_arrow.metadata or {}).get(ENTRY_KEY)
    entry = json.loads(raw) if raw else {}
    names = pf.schema_arrow.names
    keys = [c for c in ("date", "ticker", "period_end") if c in names]
    table = pf.read(columns=keys) if keys else None
    kind = entry.get("kind") or _guess_kind(names)
    tickers: list[str] = []
    start = end = None
    if table is not None and "ticker" in table.column_names:
        col = pc.cast(table.column("ticker"), pa.string())
        tickers = sorted(str(t) for t in pc.unique(col).to_pylist() if t is not None)
    date_col = "date" if "date" in names else ("period_end" if "period_end" in names else None)
    if table is not None and date_col is not None and table.num_rows:
        lo, hi = pc.min_max(table.column(date_col)).values()
        start = None if lo.as_py() is None else pd.Timestamp(lo.as_py())
        end = None if hi.as_py() is None else pd.Timestamp(hi.as_py())
    meta = entry.get("meta") or {}
    if not raw:
        meta = {**meta, "repair": "rebuilt from the file alone; market and adjustment unknown"}
    return DatasetInfo(
        name=name,
        kind=kind,
        source=entry.get("source"),
        market=entry.get("market"),
        adjusted=entry.get("adjusted") or "unknown",
        fields=[c for c in names if c not in ("date", "ticker", "period_end")],
        tickers=tickers,
        n_tickers=len(tickers),
        start_date=start,
        end_date=end,
        n_rows=pf.metadata.num_rows,
        content_hash=digest,
        path=rel,
        imported_at=pd.Timestamp(entry["imported_at"]) if entry.get("imported_at")
        else pd.Timestamp(path.stat().st_mtime, unit="s"),
        meta=meta,
    )


def _reimport_hint(info: DatasetInfo) -> str:
    src = info.meta.get("file") if isinstance(info.meta, dict) else None
    if src:
        return f"alphalab data import {shlex.quote(str(src))} --name {info.name} --replace"
    return f"alphalab data import FILE --name {info.name} --replace"


def _tampered(info: DatasetInfo, found: str) -> DataError:
    return DataError(
        f"dataset {info.name!r}: its file {info.path} no longer matches its recorded hash "
        f"(recorded {info.content_hash[:16]}..., found {found[:16]}...): it was changed outside "
        f"alphalab; re-import it with `{_reimport_hint(info)}`"
    )


def _unreadable(name: str, path: str, exc: BaseException) -> DataError:
    return DataError(
        f"dataset {name!r}: its file {path} is not readable Parquet (damaged?): {exc}; "
        f"re-import it, or drop the entry with `alphalab data remove {name}`"
    )


MAX_DROPPED_KEPT = 10_000


def _dropped_rows(report: Any) -> list[dict[str, Any]]:
    """Up to :data:`MAX_DROPPED_KEPT` rows validation dropped, as ``{ticker, date, rules,
    close}``, so that the health report can list them."""
    dropped = []
    d = report.dropped
    if len(d) and {"ticker", "date"} <= set(d.columns):
        d = d.head(MAX_DROPPED_KEPT)
        dates = pd.to_datetime(d["date"], errors="coerce", format="mixed")
        close = (
            pd.to_numeric(d["close"], errors="coerce")
            if "close" in d.columns
            else pd.Series(np.nan, index=d.index)
        )
        for t, dt, rules, c in zip(d["ticker"], dates, d["rules"], close, strict=True):
            dropped.append(
                {
                    "ticker": str(t),
                    "date": None if pd.isna(dt) else str(pd.Timestamp(dt).date()),
                    "rules": str(rules),
                    "close": None if pd.isna(c) else float(c),
                }
            )
    return dropped


def panel_from_arrow(
    table: pa.Table, fields: Sequence[str], *, meta: dict[str, Any] | None = None
) -> Panel:
    """Scatter a long Arrow table (``date``, ``ticker``, fields) into a Panel.

    Vectorised: dates and tickers are factorised once and each field is
    written with one fancy-index assignment, so the cost is linear in rows.

    Parameters
    ----------
    table : pyarrow.Table
        ``n_rows`` rows with unique (date, ticker).
    fields : sequence of str
        Numeric columns to place into ``(n_dates, n_assets)`` arrays.
    """
    tick = table.column("ticker")
    if pa.types.is_dictionary(tick.type):
        tick = tick.unify_dictionaries() if tick.num_chunks > 1 else tick
        chunks = tick.chunks
        if chunks:
            dictionary = chunks[0].dictionary
            codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
            used = np.zeros(len(dictionary), dtype=bool)
            used[codes] = True
            labels = np.asarray(dictionary.to_pylist(), dtype=object)
            # Sort labels and drop unused dictionary entries (filters leave them).
            order = np.argsort(labels[used], kind="stable")
            remap = np.full(len(dictionary), -1, dtype=np.int64)
            remap[np.flatnonzero(used)[order]] = np.arange(used.sum())
            asset_codes = remap[codes]
            assets = labels[used][order]
        else:
            asset_codes, assets = np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    else:
        asset_codes, assets = pd.factorize(np.asarray(tick.to_pylist(), dtype=object), sort=True)
    dates_i8 = table.column("date").cast(pa.timestamp("ns")).to_numpy().view(np.int64)
    date_codes, uniq = _factorize_dates(dates_i8)
    n_d, n_a = len(uniq), len(assets)
    flat = date_codes.astype(np.int64) * n_a + asset_codes
    increasing = len(flat) < 2 or bool(np.all(flat[1:] > flat[:-1]))
    complete = increasing and len(flat) == n_d * n_a
    if n_d and n_a and not increasing:  # strictly increasing keys are already unique
        counts = np.bincount(flat, minlength=n_d * n_a)
        if counts.max(initial=0) > 1:
            k = int(np.argmax(counts))
            raise DataError(
                f"duplicated (date, ticker) row: ({pd.Timestamp(uniq[k // n_a]).date()}, "
                f"{assets[k % n_a]!r})"
            )
    arrays = {}
    for name in fields:
        values = _column_f64(table.column(name))
        if complete:
            out = values
        else:
            out = np.full(n_d * n_a, np.nan)
            out[flat] = values
        arrays[name] = out.reshape(n_d, n_a)
    return Panel(
        arrays,
        pd.DatetimeIndex(uniq.astype("datetime64[ns]")),
        pd.Index(assets, dtype=object),
        meta or {},
    )


_DAY_NS = 86_400_000_000_000


def _column_f64(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric Arrow column as float64 ``(n_rows,)``, nulls -> NaN.

    May be a read-only view of Arrow memory: Panel fields are read-only
    anyway, and skipping a copy matters for 15 M-row panels.
    """
    if col.type != pa.float64():
        col = col.cast(pa.float64())
    return col.to_numpy()


def _factorize_dates(dates_i8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted factorisation of int64 ns timestamps, shape ``(n_rows,)``.

    Daily data (every stamp at midnight) goes through a lookup table over the
    day span, which is linear and several times faster than hashing; other
    stamps fall back to :func:`pandas.factorize`.
    """
    if len(dates_i8) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lo = int(dates_i8.min())
    span = (int(dates_i8.max()) - lo) // _DAY_NS + 1
    if lo % _DAY_NS == 0 and span <= 10 * len(dates_i8) + 1_000_000:
        offset = dates_i8 - lo
        days = offset // _DAY_NS
        if not np.any(days * _DAY_NS != offset):
            present = np.zeros(span, dtype=bool)
            present[days] = True
            lut = np.cumsum(present, dtype=np.int64) - 1
            return lut[days], lo + np.flatnonzero(present).astype(np.int64) * _DAY_NS
    codes, uniq = pd.factorize(dates_i8, sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=np.int64)
