"""The volatility lab (recipe R2): variance targets and proxies, a compiled GARCH,
econometric baselines (arch's GARCH family, HAR-RV, EWMA), learners (LightGBM, LSTM,
GARCH-informed nets, a DeepAR-style RNN), and VaR backtests.

Every forecaster here emits ``kind="volatility"`` forecasts: ``mean`` is the
forecast standard deviation of the next ``horizon`` bars' per-bar return
(not annualised) and ``variance`` its square, the forecast of the target
variance. Importing this package registers the forecasters.
"""

from __future__ import annotations

# forecasters register themselves when alphalab.models.vol.forecasters is imported (alphalab.models does it)
