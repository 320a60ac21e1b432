"""scikit-learn parameter semantics shared by strategies, forecasters, allocators, overlays.

A :class:`Parametrised` object keeps its parameters exactly as given to
``__init__`` (validation may reject a value but never rewrites it), so that

* ``get_params(deep=True)`` lists every parameter, nested parts as ``part__param``;
* ``set_params(part__param=v)`` routes to the nested part;
* ``clone()`` (and :func:`sklearn.base.clone`) rebuilds an unfitted copy with
  deep-copied parameters, recursively cloning nested parts, so that two folds
  never share one fitted forecaster;
* fitted state lives in attributes ending with ``_`` and is never copied.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np

from alphalab.errors import ConfigError

__all__ = ["Parametrised", "clone_param", "is_part"]


def is_part(value: Any) -> bool:
    """True for a nested estimator-like part (has ``get_params`` and ``set_params``)."""
    return (
        not isinstance(value, type)
        and hasattr(value, "get_params")
        and hasattr(value, "set_params")
    )


def clone_param(value: Any) -> Any:
    """An unfitted copy of one parameter value: parts are cloned, lists/tuples element-wise."""
    if is_part(value):
        if hasattr(value, "clone"):
            return value.clone()
        from sklearn.base import clone as sk_clone

        return sk_clone(value)
    if isinstance(value, (list, tuple)):
        return type(value)(clone_param(v) for v in value)
    return copy.deepcopy(value)


class Parametrised:
    """Mixin: ``get_params`` / ``set_params`` / ``clone`` from the ``__init__`` signature.

    Subclasses store every constructor argument under its own name, unchanged.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters; with ``deep``, nested parts' parameters as ``part__param``."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and is_part(value):
                for sub, v in value.get_params(deep=True).items():
                    out[f"{name}__{sub}"] = v
        return out

    def set_params(self, **params: Any) -> Any:
        """Change parameters (``part__param`` goes to the nested part); returns ``self``.

        Direct values pass the constructor's own checks before they are stored,
        and are stored as given.

        Raises
        ------
        ConfigError
            Unknown parameter name (nested names are checked by the part).
        """
        if not params:
            return self
        valid = self._param_names()
        direct: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, sep, rest = key.partition("__")
            if head not in valid:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {head!r}; valid: {sorted(valid)}"
                )
            if sep:
                nested.setdefault(head, {})[rest] = value
            else:
                direct[key] = value
        if direct:
            # The constructor validates; what we store is the value as given.
            type(self)(**{**self.get_params(deep=False), **direct})
            for key, value in direct.items():
                setattr(self, key, value)
        for head, sub in nested.items():
            part = getattr(self, head)
            if not is_part(part):
                raise ConfigError(
                    f"{type(self).__name__}.{head} is {part!r}, not a part with parameters; "
                    f"cannot set {sorted(head + '__' + k for k in sub)}"
                )
            part.set_params(**sub)
        return self

    def clone(self) -> Any:
        """A fresh, unfitted copy with the same (deep-copied, recursively cloned) parameters."""
        return type(self)(**{k: clone_param(v) for k, v in self.get_params(deep=False).items()})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


def check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> int | None:
    """A constructor's integer parameter, checked: ``value`` as ``int`` (None when allowed).

    Bools are refused (YAML ``true`` is not a count), and so are floats and text.

    Raises
    ------
    ConfigError
        ``value`` is not an integer ``>= minimum``.
    """
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
