"""Market data: the Panel container, loaders, validation."""

from alphalab.data.panel import Panel

__all__ = ["Panel"]
