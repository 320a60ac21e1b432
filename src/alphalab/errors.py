"""Exceptions raised for user errors. The CLI prints them as one clear message."""

from __future__ import annotations

__all__ = ["AlphalabError", "ConfigError", "DataError", "LeakageError", "MarketRuleError"]


class AlphalabError(Exception):
    """Base class for errors caused by user input (data, configs, arguments)."""


class DataError(AlphalabError, ValueError):
    """Input data breaks a rule; the message names the file, row, ticker and rule."""


class ConfigError(AlphalabError, ValueError):
    """A study configuration or argument is invalid."""


class MarketRuleError(AlphalabError, ValueError):
    """A market or its rules are unknown or inconsistent."""


class LeakageError(AlphalabError, AssertionError):
    """Something computed at or before date t changed when data after t changed."""
