"""Market data: the Panel container, loaders, validation."""

from alphalab.data.embedded import MissingDependencyError, list_embedded, load_embedded
from alphalab.data.files import read_file, read_file_with_report
from alphalab.data.load import load, load_benchmark, resolve_source
from alphalab.data.panel import Panel
from alphalab.data.validation import (
    DataQualityWarning,
    ValidationError,
    ValidationReport,
    validate_prices,
)

__all__ = [
    "DataQualityWarning",
    "MissingDependencyError",
    "Panel",
    "ValidationError",
    "ValidationReport",
    "list_embedded",
    "load",
    "load_benchmark",
    "load_embedded",
    "read_file",
    "read_file_with_report",
    "resolve_source",
    "validate_prices",
]
