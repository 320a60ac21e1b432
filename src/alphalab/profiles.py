"""Study profiles: named overrides inside one study file (``--profile quick``).

A study file may carry a top-level ``profiles`` mapping. Each profile is a partial
study that is deep-merged over the file before validation, so one file serves a
full run and a quick one::

    strategies:
      - {name: lstm, kind: forecast, params: {epochs: 200}}
    profiles:
      quick:
        data: {end: 2015-12-31}
        strategies:
          - {name: lstm, params: {epochs: 5}}

Merge rules: mappings merge key by key; a list of mappings that all carry a
``name`` merges item by item on that name (a profile item must name an existing
item); any other value (scalars, other lists) is replaced. The ``profiles`` key
itself never reaches the validated study, so the config hash depends only on
what runs.
"""

from __future__ import annotations

import copy
from typing import Any

from alphalab.errors import ConfigError

__all__ = ["PROFILES_KEY", "apply_overrides", "apply_profile", "profile_names"]

PROFILES_KEY = "profiles"


def profile_names(data: Any) -> list[str]:
    """Names of the profiles a parsed study mapping declares (empty if none)."""
    if not isinstance(data, dict):
        return []
    profiles = data.get(PROFILES_KEY)
    return sorted(profiles) if isinstance(profiles, dict) else []


def _named_items(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in value)
    )


def _merge(base: Any, over: Any, path: str) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value, f"{path}.{key}") if key in base else value
        return out
    if _named_items(base) and isinstance(over, list):
        if not all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in over):
            raise ConfigError(
                f"{path}: a profile overrides this list item by item; each item must be a "
                "mapping with a 'name'"
            )
        index = {item["name"]: i for i, item in enumerate(base)}
        out = list(base)
        for item in over:
            if item["name"] not in index:
                raise ConfigError(
                    f"{path}: no item named {item['name']!r} to override; "
                    f"known: {', '.join(sorted(index))}"
                )
            i = index[item["name"]]
            out[i] = _merge(base[i], item, f"{path}[{item['name']}]")
        return out
    return over


def apply_profile(data: Any, profile: str | None, *, source: str = "study") -> Any:
    """The study mapping with ``profile`` merged in and the ``profiles`` key removed.

    Parameters
    ----------
    data : mapping
        A parsed study (anything else is returned unchanged for the validator to refuse).
    profile : str or None
        The profile to apply; ``None`` applies none.
    source : str
        File name used in error messages.

    Raises
    ------
    ConfigError
        ``profiles`` is not a mapping of mappings, the profile is unknown, or a
        profile item does not match the study.
    """
    if not isinstance(data, dict):
        if profile is not None:
            raise ConfigError(f"{source}: --profile {profile!r} given, but the study is not a mapping")
        return data
    profiles = data.get(PROFILES_KEY)
    if profiles is not None and not isinstance(profiles, dict):
        raise ConfigError(f"{source}: profiles must be a mapping of profile name -> overrides")
    for name, body in (profiles or {}).items():
        if not isinstance(name, str) or not isinstance(body, dict):
            raise ConfigError(
                f"{source}: profiles.{name} must be a mapping of study keys to override"
            )
        if PROFILES_KEY in body:
            raise ConfigError(f"{source}: profiles.{name} may not itself contain profiles")
    base = {k: v for k, v in data.items() if k != PROFILES_KEY}
    if profile is None:
        return base
    if not isinstance(profile, str) or not profile:
        raise ConfigError(f"{source}: the profile name must be a non-empty string")
    if not profiles or profile not in profiles:
        known = ", ".join(sorted(profiles or {})) or "none declared"
        raise ConfigError(f"{source}: unknown profile {profile!r}; profiles in this study: {known}")
    return _merge(copy.deepcopy(base), copy.deepcopy(profiles[profile]), f"profiles.{profile}")


def _parse_override(item: str, source: str) -> tuple[list[str], Any]:
    from alphalab.yamlio import load_yaml

    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"{source}: --set {item!r}: write KEY=VALUE, e.g. data.start=2015-01-02")
    key, _, text = item.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not p.strip() for p in parts):
        raise ConfigError(f"{source}: --set {item!r}: the key must be a dotted path such as "
                          "data.universe.size or strategies.lstm.params.epochs")
    value = load_yaml(text, f"--set {key.strip()}") if text.strip() else None
    return [p.strip() for p in parts], value


#: Study keys whose value names a file or folder (``data.dataset``, ``data.fundamentals.path`` ...).
PATH_KEYS = frozenset({"dataset", "benchmark", "store", "indices", "path"})


def _absolute_if_local(value: Any) -> Any:
    """A relative path typed on the command line means the current folder, not the study's."""
    from pathlib import Path

    if isinstance(value, str) and value and not Path(value).is_absolute():
        candidate = Path(value)
        try:
            if candidate.exists():
                return str(candidate.resolve())
        except OSError:
            return value
    return value


def apply_overrides(data: Any, overrides: list[str] | tuple[str, ...], *, source: str = "study") -> Any:
    """The study mapping with command-line ``KEY=VALUE`` overrides set (``--set``).

    Parameters
    ----------
    data : mapping
        A parsed study, after :func:`apply_profile`.
    overrides : sequence of str
        ``a.b.c=VALUE``. VALUE is read as YAML by the hardened reader (``5``, ``true``,
        ``[A, B]``, ``{size: 30}``; empty means null). A segment that meets a list of
        named items (``strategies``, ``analyses``) selects the item of that name. The value of a
        path key (:data:`PATH_KEYS`) naming an existing file or folder relative to the current
        directory becomes absolute (a path typed on the command line is relative to where it
        was typed); other values are kept as typed.

    Raises
    ------
    ConfigError
        Malformed item, a path through a value that is not a mapping, or no item of that name.
    """
    if not overrides:
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: --set given, but the study is not a mapping")
    out = copy.deepcopy(data)
    for item in overrides:
        parts, value = _parse_override(item, source)
        node: Any = out
        where = ""
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = f"{where}.{part}" if where else part
            if isinstance(node, list) and _named_items(node):
                names = [x["name"] for x in node]
                if part not in names:
                    raise ConfigError(f"{source}: --set {where}: no item named {part!r}; "
                                      f"known: {', '.join(names)}")
                if last:
                    raise ConfigError(f"{source}: --set {where}: set a key of the item, "
                                      f"e.g. {where}.params.<key>=VALUE")
                node = node[names.index(part)]
                continue
            if not isinstance(node, dict):
                raise ConfigError(f"{source}: --set {where}: {where.rsplit('.', 1)[0]} is not a "
                                  "mapping, so it has no keys to set")
            if last:
                node[part] = _absolute_if_local(value) if part in PATH_KEYS else value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
    return out
