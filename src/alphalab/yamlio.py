"""The one hardened YAML reader of study, factor and run files.

PyYAML accepts what no study means: duplicated keys (the last silently wins), aliases that
expand without bound, NaN and infinite numbers, invalid dates. Everything that reads a YAML
file the user wrote goes through :func:`read_yaml_file` / :func:`load_yaml` here; it sits
below every other layer so that features, data and reports can use it without importing the
study configuration.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from alphalab.errors import ConfigError

__all__ = [
    "MAX_STUDY_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_VALUES",
    "check_finite",
    "describe_kind",
    "load_yaml",
    "read_yaml_file",
]

# -------------------------------------------------------------------- YAML
#: A study is a small hand-written file; anything bigger is a mistake (or an attack).
MAX_STUDY_BYTES = 1024 * 1024
#: Values a YAML document may expand to once its aliases are followed.
MAX_YAML_VALUES = 100_000
#: Nesting depth of mappings and lists.
MAX_YAML_DEPTH = 64


def describe_kind(value: Any) -> str:
    """A reader's name for the type of a parsed YAML value."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def check_finite(value: Any, source: str, path: str = "") -> None:
    """Refuse NaN and infinite numbers anywhere in a parsed document, naming the key.

    YAML reads ``.nan`` and ``.inf`` as floats; no key of a study means them
    (a NaN threshold compares false with everything, so a gate would pass).
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            f"{source}: {path or 'the document'}: must be a finite number, got {value!r} "
            "(NaN and infinite values are not allowed)"
        )
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, source, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_finite(v, source, f"{path}[{i}]")


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _check_tree(root: yaml.Node, source: str) -> None:
    """Refuse duplicated keys, self-referencing aliases, alias bombs and deep nesting.

    PyYAML keeps the last of two equal keys silently and follows aliases
    without bound; this walks the composed node graph once (shared nodes are
    sized once), before any Python object is built.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def walk(node: yaml.Node, path: str, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            line = node.start_mark.line + 1
            raise ConfigError(
                f"{source}: line {line}: the alias at {path or 'top'} refers to itself"
            )
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(
                f"{source}: {path or 'top'} is nested too deeply (more than {MAX_YAML_DEPTH} levels)"
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    name = k.value
                    sub = f"{path}.{name}" if path else str(name)
                    if name in seen:
                        raise ConfigError(
                            f"{source}: line {k.start_mark.line + 1}: duplicated key '{sub}' "
                            f"(first on line {seen[name]}); YAML would silently keep the last one"
                        )
                    seen[name] = k.start_mark.line + 1
                else:
                    sub = f"{path}.<<" if path else "<<"
                total += walk(k, sub, depth + 1) + walk(v, sub, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                total += walk(v, f"{path}[{i}]", depth + 1)
        elif node.tag == _TIMESTAMP_TAG:
            # PyYAML raises a bare ValueError for 2018-02-30 while building the document.
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(node)
            except ValueError as exc:
                raise ConfigError(
                    f"{source}: line {node.start_mark.line + 1}: {path or 'top'}: "
                    f"{node.value!r} is not a valid date ({exc})"
                ) from None
        active.discard(key)
        sizes[key] = total
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"{source}: {path or 'the document'}: aliases expand to more than "
                f"{MAX_YAML_VALUES:,} values (a YAML alias bomb?); write the values out instead"
            )
        return total

    walk(root, "", 0)


def load_yaml(text: str, source: str = "study") -> Any:
    """Parse one YAML document safely and refuse what PyYAML would accept silently.

    Parameters
    ----------
    text : str
        The YAML text.
    source : str
        Where it came from, for messages.

    Returns
    -------
    object
        The parsed document (None for an empty one).

    Raises
    ------
    ConfigError
        Syntax errors (with line and column), duplicated keys (with their key
        path and line), self-referencing aliases, aliases expanding to more than
        100,000 values and nesting deeper than 64 levels.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}:{where} YAML syntax error: {problem}") from None
    except RecursionError:
        raise ConfigError(
            f"{source}: the document is nested too deeply (more than {MAX_YAML_DEPTH} levels)"
        ) from None
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, max_bytes: int = MAX_STUDY_BYTES) -> Any:
    """Read a UTF-8 YAML file of at most ``max_bytes`` through :func:`load_yaml`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ConfigError
        Too big, not UTF-8, or anything :func:`load_yaml` refuses.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ConfigError(
            f"{path}: the file is {size / 2**20:.1f} MB; a study file may be at most "
            f"{max_bytes / 2**20:.0f} MB"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{bad} at offset {exc.start}, line {line}); "
            "save the file as UTF-8"
        ) from None
    return load_yaml(text, str(path))
