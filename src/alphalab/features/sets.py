"""Feature sets by name, computed on a Panel and cached on disk.

A *feature set* is a named, versioned recipe ``Panel -> {field: (n_dates,
n_assets) array}``. Study configs list sets by name (``features: {sets:
[seed_ta, alpha101]}``) and :func:`compute` returns one Panel holding every
feature field.

Results are cached under ``$ALPHALAB_CACHE/features`` (default
``$ALPHALAB_HOME/cache/features``, default home ``~/.alphalab``), keyed by ``(panel.data_hash(), spec hash)``:
the spec hash covers the set's name, its declared specification (every
parameter that changes the numbers) and :data:`FEATURES_VERSION`. A cache read
returns arrays bit-identical to a fresh computation (``.npy`` files, memory
mapped read-only); an entry whose manifest does not match is recomputed.
Writes are atomic (a temporary directory renamed into place), so concurrent
readers never see a half-written entry.

Built-in sets
-------------
``seed_ta``
    The founding notebook's features: EMA 5/20/50, MACD 12/26/9 line, signal
    and difference, RSI 14, Bollinger 20/2 upper and lower, ATR 14, OBV, VWAP
    14 (TA-Lib definitions, see ``docs/indicators.md``), each also as a
    60-row rolling z-score ``<name>_z60``. One fused numba pass; its fields
    are Fortran-ordered ``(n_dates, n_assets)`` arrays (each asset's history
    contiguous) when computed, C-ordered when read from the cache.
``indicators``
    Every indicator of :data:`alphalab.features.indicators.INDICATORS` that
    needs no benchmark, with default parameters, named ``<indicator>`` or
    ``<indicator>_<output>``.

Other modules register their sets with :func:`register_feature_set`; the
catalogues in :data:`LAZY_SETS` are imported on first use.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError, DataError
from alphalab.features import indicators as I
from alphalab.features._fused import SEED_TA_SERIES, seed_ta_fused
from alphalab.paths import alphalab_home

__all__ = [
    "FEATURES_VERSION",
    "FEATURE_SETS",
    "LAZY_SETS",
    "FeatureSet",
    "cache_root",
    "clear_cache",
    "compute",
    "get_feature_set",
    "list_feature_sets",
    "register_feature_set",
    "spec_hash",
]

#: Bumped whenever a built-in definition changes its numbers (invalidates caches).
FEATURES_VERSION = "2"

ComputeFn = Callable[[Panel], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class FeatureSet:
    """A named recipe for feature fields.

    Attributes
    ----------
    name : str
    compute : callable
        ``compute(panel) -> {field name: array (n_dates, n_assets)}``; must be
        deterministic and causal (the leakage guard checks it).
    spec : dict
        JSON-serialisable description of everything that changes the numbers
        (parameters, catalogue version); part of the cache key.
    requires : tuple of str
        Panel fields the set reads; checked up front.
    lookback : int or None
        Longest warm-up of its fields, in rows, where known.
    description : str
    """

    name: str
    compute: ComputeFn
    spec: Mapping[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    lookback: int | None = None
    description: str = ""


FEATURE_SETS: dict[str, FeatureSet] = {}

#: Sets registered by modules imported on first use: name -> module.
LAZY_SETS: dict[str, str] = {
    "alpha101": "alphalab.features.alphas.alpha101",
    "alpha158": "alphalab.features.alphas.alpha158",
    "gtja191": "alphalab.features.alphas.gtja191",
}


def register_feature_set(
    name: str,
    compute: ComputeFn | None = None,
    *,
    spec: Mapping[str, Any] | None = None,
    requires: Sequence[str] = (),
    lookback: int | None = None,
    description: str = "",
    replace: bool = False,
) -> Any:
    """Register a feature set; usable directly or as a decorator.

    Parameters
    ----------
    name : str
        The name study configs use.
    compute : callable, optional
        ``compute(panel) -> {field: array (n_dates, n_assets)}``. Omit to use
        as ``@register_feature_set("name", spec=...)``.
    spec : dict, optional
        JSON-serialisable parameters and version; change it whenever the
        numbers change so that caches are invalidated.
    requires : sequence of str
        Panel fields needed.
    lookback : int, optional
    description : str
    replace : bool
        Allow replacing an existing registration (default: error).

    Raises
    ------
    ConfigError
        The name is taken (and ``replace`` is False) or the spec is not JSON.
    """

    def deco(fn: ComputeFn) -> ComputeFn:
        if name in FEATURE_SETS and not replace and FEATURE_SETS[name].compute is not fn:
            raise ConfigError(f"feature set {name!r} is already registered")
        try:
            json.dumps(dict(spec or {}), sort_keys=True)
        except TypeError as exc:
            raise ConfigError(
                f"feature set {name!r}: spec must be JSON-serialisable ({exc})"
            ) from None
        FEATURE_SETS[name] = FeatureSet(
            name, fn, dict(spec or {}), tuple(requires), lookback, description
        )
        return fn

    if compute is not None:
        deco(compute)
        return FEATURE_SETS[name]
    return deco


def _load_lazy(name: str) -> None:
    module = LAZY_SETS.get(name)
    if module is not None and name not in FEATURE_SETS:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"feature set {name!r} could not be loaded from {module}: {exc}"
            ) from exc


def get_feature_set(name: str) -> FeatureSet:
    """The registered set ``name`` (importing its catalogue if needed)."""
    if not isinstance(name, str):
        raise ConfigError(f"a feature set is named by a string, got {name!r}")
    _load_lazy(name)
    if name not in FEATURE_SETS:
        raise ConfigError(f"unknown feature set {name!r}; known: {', '.join(list_feature_sets())}")
    return FEATURE_SETS[name]


def list_feature_sets() -> list[str]:
    """Names of the registered and lazily available sets."""
    return sorted(set(FEATURE_SETS) | set(LAZY_SETS))


def spec_hash(feature_set: str | FeatureSet) -> str:
    """SHA-256 of the set's name, spec and :data:`FEATURES_VERSION`."""
    fs = get_feature_set(feature_set) if isinstance(feature_set, str) else feature_set
    payload = json.dumps(
        {"set": fs.name, "spec": fs.spec, "features_version": FEATURES_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# ------------------------------------------------------------------ cache
def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir``, else ``$ALPHALAB_CACHE``, else ``<alphalab home>/cache``; plus ``/features``."""
    base = cache_dir or os.environ.get("ALPHALAB_CACHE") or alphalab_home() / "cache"
    return Path(base).expanduser() / "features"


def _entry(root: Path, set_name: str, data_hash: str, shash: str) -> Path:
    return root / set_name / f"{data_hash[:24]}-{shash[:24]}"


def _read_entry(
    path: Path, data_hash: str, shash: str, shape: tuple[int, int]
) -> dict[str, np.ndarray] | None:
    manifest = path / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        meta = json.loads(manifest.read_text())
        if meta.get("data_hash") != data_hash or meta.get("spec_hash") != shash:
            return None
        out: dict[str, np.ndarray] = {}
        for k, name in enumerate(meta["fields"]):
            arr = np.load(path / f"f{k:05d}.npy", mmap_mode="r", allow_pickle=False)
            if arr.shape != shape or arr.dtype != np.float64:
                return None
            out[name] = arr
        return out
    except (OSError, ValueError, KeyError):
        return None  # a damaged entry is recomputed, never trusted


def _write_entry(path: Path, arrays: Mapping[str, np.ndarray], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
    try:
        for k, arr in enumerate(arrays.values()):
            np.save(tmp / f"f{k:05d}.npy", np.ascontiguousarray(arr, dtype=np.float64))
        (tmp / "manifest.json").write_text(json.dumps({**meta, "fields": list(arrays)}, indent=1))
        try:
            os.replace(tmp, path)
        except OSError:
            # another process wrote the same entry first: theirs is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def clear_cache(
    cache_dir: str | os.PathLike[str] | None = None, set_name: str | None = None
) -> int:
    """Delete cached feature entries (all, or one set's); returns how many."""
    root = cache_root(cache_dir)
    dirs = (
        [root / set_name]
        if set_name
        else ([p for p in root.iterdir() if p.is_dir()] if root.exists() else [])
    )
    n = 0
    for d in dirs:
        if d.exists():
            n += sum(1 for p in d.iterdir() if p.is_dir())
            shutil.rmtree(d)
    return n


# ---------------------------------------------------------------- compute
def _run_set(fs: FeatureSet, panel: Panel) -> dict[str, np.ndarray]:
    missing = [f for f in fs.requires if f not in panel]
    if missing:
        raise DataError(
            f"feature set {fs.name!r} needs field(s) {', '.join(missing)}; "
            f"the panel has: {', '.join(panel.field_names) or 'none'}"
        )
    res = dict(fs.compute(panel))
    for k, v in res.items():
        if np.shape(v) != panel.shape:
            raise DataError(
                f"feature set {fs.name!r} returned field {k!r} with shape {np.shape(v)}, "
                f"expected {panel.shape} (dates, assets)"
            )
    return res


def compute(
    panel: Panel,
    sets: str | Sequence[str],
    *,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Panel:
    """Compute named feature sets on ``panel``.

    Parameters
    ----------
    panel : Panel
        Input data ``(n_dates, n_assets)`` per field.
    sets : str or sequence of str
        Feature-set names (see :func:`list_feature_sets`).
    cache : bool
        Read and write the on-disk cache (keyed by data hash and spec hash).
    cache_dir : path, optional
        Cache root; default ``$ALPHALAB_CACHE`` or ``<alphalab home>/cache``.

    Returns
    -------
    Panel
        Same dates and assets; one field per feature. ``meta`` records the
        sets, their spec hashes, the data hash and which came from the cache.

    Raises
    ------
    ConfigError
        Unknown set, or two sets produce a field with the same name.
    DataError
        The panel lacks a field a set requires.
    """
    names = [sets] if isinstance(sets, str) else list(sets)
    if not names:
        raise ConfigError("no feature sets given")
    if len(set(names)) != len(names):
        raise ConfigError(f"feature sets listed twice: {names}")
    fsets = [get_feature_set(n) for n in names]
    data_hash = panel.data_hash() if cache else None
    root = cache_root(cache_dir)
    fields: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for fs in fsets:
        shash = spec_hash(fs)
        hashes[fs.name] = shash
        res = None
        if cache:
            assert data_hash is not None
            path = _entry(root, fs.name, data_hash, shash)
            res = _read_entry(path, data_hash, shash, panel.shape)
            origin[fs.name] = "cache" if res is not None else "computed"
            if res is None:
                t0 = time.perf_counter()
                res = _run_set(fs, panel)
                _write_entry(
                    path,
                    res,
                    {
                        "set": fs.name,
                        "data_hash": data_hash,
                        "spec_hash": shash,
                        "spec": fs.spec,
                        "shape": list(panel.shape),
                        "seconds": round(time.perf_counter() - t0, 4),
                        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    },
                )
        else:
            origin[fs.name] = "computed"
            res = _run_set(fs, panel)
        for k, v in res.items():
            if k in fields:
                raise ConfigError(f"feature field {k!r} is produced by more than one set ({names})")
            fields[k] = v
    meta = {
        **{k: v for k, v in panel.meta.items() if k in ("market", "source")},
        "feature_sets": names,
        "spec_hashes": hashes,
        "feature_origin": origin,
    }
    if data_hash is not None:
        meta["data_hash"] = data_hash
    return Panel(fields, panel.dates, panel.assets, meta)


# ---------------------------------------------------------------- built-ins
def _seed_ta(panel: Panel) -> dict[str, np.ndarray]:
    return seed_ta_fused(panel["high"], panel["low"], panel["close"], panel["volume"], 60)


register_feature_set(
    "seed_ta",
    _seed_ta,
    spec={
        "series": list(SEED_TA_SERIES),
        "params": {
            "ema": [5, 20, 50],
            "macd": [12, 26, 9],
            "rsi": 14,
            "bbands": [20, 2.0],
            "atr": 14,
            "vwap": 14,
        },
        "zscore": {"window": 60, "ddof": 1},
        "definitions": "talib",
    },
    requires=("high", "low", "close", "volume"),
    lookback=max(I.lookback("ema", timeperiod=50), I.lookback("macd")) + 59,
    description="founding notebook: EMA 5/20/50, MACD, RSI 14, BB 20/2, ATR 14, OBV, VWAP 14, "
    "each with a 60-row rolling z-score",
)

_PLAIN = [n for n, d in I.INDICATORS.items() if not d.extra]


def _all_indicators(panel: Panel) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name in _PLAIN:
        res = I.compute_indicator(panel, name)
        for k, v in res.items():
            out[name if len(res) == 1 else f"{name}_{k}"] = v
    return out


register_feature_set(
    "indicators",
    _all_indicators,
    spec={"indicators": {n: dict(I.INDICATORS[n].defaults) for n in _PLAIN}},
    requires=tuple(sorted({f for n in _PLAIN for f in I.INDICATORS[n].inputs})),
    lookback=max(I.lookback(n) for n in _PLAIN),
    description="every indicator needing no benchmark, default parameters",
)
