"""User-side trading costs: broker commission, minimum fee and slippage.

The market's own taxes (sell tax, historical buy stamp duties) are not set
here: they come from :func:`alphalab.markets.resolve_rules` and always apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alphalab.errors import ConfigError

__all__ = ["COST_KINDS", "Costs"]

#: Order of the cost kinds in the kernel's ``(n_dates, 4)`` cost buffer.
COST_KINDS = ("commission", "tax", "slippage", "borrow")


@dataclass(frozen=True)
class Costs:
    """Trading costs chosen by the user.

    Parameters
    ----------
    commission_bps : float, optional
        Broker commission in basis points of traded value; ``None`` uses the
        market's default rate.
    slippage_bps : float
        Price impact in basis points: buys fill at ``price * (1 + s)``, sells
        at ``price * (1 - s)``.
    min_commission : float, optional
        Minimum commission per order in the price currency; ``None`` uses the
        market's minimum. Ignored with ``rules="proportional"``.
    """

    commission_bps: float | None = None
    slippage_bps: float = 0.0
    min_commission: float | None = None

    def __post_init__(self) -> None:
        for name in ("commission_bps", "slippage_bps", "min_commission"):
            value = getattr(self, name)
            if value is None:
                continue
            # a bool is an int to Python: True would silently be 1 bp
            if (
                isinstance(value, (bool, np.bool_))
                or not isinstance(value, (int, float, np.integer, np.floating))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"Costs.{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.slippage_bps >= 1e4:
            raise ConfigError(f"Costs.slippage_bps must be below 10000, got {self.slippage_bps}")
