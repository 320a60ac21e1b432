"""Imports every built-in analysis so that it registers itself (one line per module)."""

from alphalab.analyses import (
    cluster_rl,  # noqa: F401
    correlation,  # noqa: F401
    deep_portfolio,  # noqa: F401
    forecast_evaluation,  # noqa: F401
    pm_threshold_search,  # noqa: F401
    smallcap,  # noqa: F401
    volatility,  # noqa: F401
)
