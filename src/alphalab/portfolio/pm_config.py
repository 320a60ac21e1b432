"""Position-manager configuration as data: sections that mirror the founding defaults, hashed.

Sections (every value overridable from YAML, unknown keys refused)::

    entry:  dir_min, margin_min, entry_min, edge_min_bps, market_risk_max, position_risk_max
    add:    max_adds, cooldown_bars, min_edge_bps, min_continuation
    reduce: position_risk, fraction
    exit:   max_hold_bars, stop_bps, take_profit_bps, min_edge_bps, market_risk, reentry_bars
    sizing: base_ratio, edge_scale_bps, edge_cap, risk_discount, uncertainty_penalty,
            liquidity_use, max_position, max_gross, allow_short

The six ``entry`` thresholds are the ones the threshold search varies; the rest are
fixed per study. :meth:`PMConfig.vector` packs everything into the float64 layout
the compiled state machine reads (indices in :data:`CFG`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from alphalab.errors import ConfigError

__all__ = ["CFG", "SEARCH_KEYS", "AddRules", "EntryRules", "ExitRules", "PMConfig", "ReduceRules", "SizingRules"]


@dataclass(frozen=True)
class EntryRules:
    """Open a position when every threshold passes (the searched thresholds)."""

    dir_min: float = 0.45          # probability of the chosen side
    margin_min: float = 0.05       # its lead over the opposite side
    entry_min: float = 0.55        # entry (success) probability of the side
    edge_min_bps: float = 10.0     # predicted net edge of the side
    market_risk_max: float = 0.5   # market-risk probability
    position_risk_max: float = 0.5  # position (adverse-move) risk of the side


@dataclass(frozen=True)
class AddRules:
    max_adds: int = 2
    cooldown_bars: int = 3         # bars since the last open or add
    min_edge_bps: float = 15.0
    min_continuation: float = 0.55  # entry probability of the held side


@dataclass(frozen=True)
class ReduceRules:
    position_risk: float = 0.65    # reduce once when the side's risk reaches this
    fraction: float = 0.5


@dataclass(frozen=True)
class ExitRules:
    max_hold_bars: int = 10
    stop_bps: float = 300.0        # close-to-close loss from the decision price
    take_profit_bps: float = 600.0
    min_edge_bps: float = -10.0    # exit when the held side's predicted edge falls below
    market_risk: float = 0.8       # exit when market risk reaches this
    reentry_bars: int = 1          # bars after an exit before a new open


@dataclass(frozen=True)
class SizingRules:
    base_ratio: float = 0.02
    edge_scale_bps: float = 50.0
    edge_cap: float = 2.0
    risk_discount: float = 0.5
    uncertainty_penalty: float = 0.5
    liquidity_use: float = 0.05    # share of the bar's traded value a position may reach
    max_position: float = 0.08
    max_gross: float = 1.0
    allow_short: bool = False


SECTIONS: dict[str, type] = {"entry": EntryRules, "add": AddRules, "reduce": ReduceRules,
                             "exit": ExitRules, "sizing": SizingRules}
SEARCH_KEYS: tuple[str, ...] = tuple(f.name for f in fields(EntryRules))

# Layout of the packed vector (name -> index); the kernels read these positions.
_ORDER = [(s, f.name) for s, cls in SECTIONS.items() for f in fields(cls)]
CFG: dict[str, int] = {f"{s}.{n}": i for i, (s, n) in enumerate(_ORDER)}


def _finite(section: str, name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise ConfigError(f"position_manager.{section}.{name} must be a finite number, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class PMConfig:
    """The whole position manager (see the module docstring)."""

    entry: EntryRules = field(default_factory=EntryRules)
    add: AddRules = field(default_factory=AddRules)
    reduce: ReduceRules = field(default_factory=ReduceRules)
    exit: ExitRules = field(default_factory=ExitRules)
    sizing: SizingRules = field(default_factory=SizingRules)

    def __post_init__(self) -> None:
        for s in SECTIONS:
            for f in fields(getattr(self, s)):
                v = getattr(getattr(self, s), f.name)
                if f.type in ("bool", bool):
                    if not isinstance(v, bool):
                        raise ConfigError(f"position_manager.{s}.{f.name} must be true or false, got {v!r}")
                    continue
                x = _finite(s, f.name, v)
                if f.type in ("int", int) and (int(x) != x or x < 0):
                    raise ConfigError(f"position_manager.{s}.{f.name} must be a non-negative integer, got {v!r}")
        sz = self.sizing
        for name in ("base_ratio", "max_position", "max_gross"):
            if not getattr(sz, name) > 0:
                raise ConfigError(f"position_manager.sizing.{name} must be > 0, got {getattr(sz, name)!r}")
        if not 0 <= self.reduce.fraction <= 1:
            raise ConfigError(f"position_manager.reduce.fraction must lie in [0, 1], got {self.reduce.fraction!r}")
        if self.exit.max_hold_bars < 1:
            raise ConfigError("position_manager.exit.max_hold_bars must be >= 1")

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | None) -> PMConfig:
        """Build from a nested mapping (YAML); unknown sections or keys are refused by name."""
        spec = dict(spec or {})
        unknown = sorted(set(spec) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"position_manager has no section(s) {unknown}; valid: {sorted(SECTIONS)}")
        parts = {}
        for s, sec_cls in SECTIONS.items():
            sub = spec.get(s) or {}
            if not isinstance(sub, Mapping):
                raise ConfigError(f"position_manager.{s} must be a mapping, got {sub!r}")
            names = {f.name for f in fields(sec_cls)}
            bad = sorted(set(sub) - names)
            if bad:
                raise ConfigError(f"position_manager.{s} has no key(s) {bad}; valid: {sorted(names)}")
            parts[s] = sec_cls(**sub)
        return cls(**parts)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s: asdict(getattr(self, s)) for s in SECTIONS}

    def with_entry(self, **thresholds: float) -> PMConfig:
        """A copy with new entry thresholds (a search candidate)."""
        return replace(self, entry=replace(self.entry, **{k: float(v) for k, v in thresholds.items()}))

    def sha256(self) -> str:
        """Hash of the canonical JSON (sorted keys, floats as repr): the config's identity."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def vector(self) -> np.ndarray:
        """float64 vector in :data:`CFG` order (booleans as 0/1)."""
        return np.array([float(getattr(getattr(self, s), n)) for s, n in _ORDER], dtype=np.float64)
