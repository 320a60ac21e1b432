"""Build forecasters, allocators and overlays from study-config specs.

A spec is ``{kind: <registered kind>, params: {...}}``, a bare kind string, or
an already-built object. Errors are :class:`ConfigError` naming the key path
inside the strategy's ``params`` (e.g. ``forecaster.params: lightgbm has no
parameter(s) ['num_leavs']``), which the config layer prefixes with
``strategies[i].params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alphalab.errors import AlphalabError, ConfigError

__all__ = ["build_part", "check_part", "registries"]


def registries() -> dict[str, dict[str, type]]:
    """``{"forecaster": FORECASTERS, "allocator": ALLOCATORS, "overlay": OVERLAYS}`` (all loaded)."""
    import alphalab.models  # noqa: F401 - registers the built-ins
    from alphalab.models.allocators import ALLOCATORS
    from alphalab.models.forecast import FORECASTERS
    from alphalab.models.overlays import OVERLAYS

    return {"forecaster": FORECASTERS, "allocator": ALLOCATORS, "overlay": OVERLAYS}


_BASES = {"forecaster": "Forecaster", "allocator": "Allocator", "overlay": "Overlay"}


def check_part(role: str, value: Any, path: str) -> Any:
    """``value`` if it is a built part of the given role, else a :class:`ConfigError`."""
    base = _BASES[role]
    if isinstance(value, type) or not any(b.__name__ == base for b in type(value).__mro__):
        raise ConfigError(
            f"{path}: expected a {base} object, got {value!r:.80}"
            " (in a study file write {kind: ..., params: {...}})"
        )
    return value


def build_part(role: str, spec: Any, path: str) -> Any:
    """One part from its spec.

    Parameters
    ----------
    role : {"forecaster", "allocator", "overlay"}
    spec : mapping, str or object
    path : str
        Key path used in error messages (e.g. ``"overlays[1]"``).
    """
    registry = registries()[role]
    if hasattr(spec, "get_params") and not isinstance(spec, type):
        return check_part(role, spec, path)
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{path}: a {role} spec is a mapping {{kind: ..., params: {{...}}}}, got {spec!r}")
    extra = sorted(set(spec) - {"kind", "params"})
    if extra:
        raise ConfigError(f"{path}: unknown key(s) {extra}; a {role} spec has 'kind' and 'params'")
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in registry:
        raise ConfigError(f"{path}.kind: unknown {role} kind {kind!r}; known kinds: {', '.join(sorted(registry))}")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{path}.params must be a mapping, got {params!r}")
    cls = registry[kind]
    valid = cls._param_names()
    unknown = sorted(set(map(str, params)) - set(valid))
    if unknown:
        raise ConfigError(f"{path}.params: {role} {kind!r} has no parameter(s) {unknown}; valid: {sorted(valid)}")
    try:
        return cls(**dict(params))
    except AlphalabError as exc:
        raise ConfigError(f"{path}.params: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}.params: {kind}: {exc}") from None
