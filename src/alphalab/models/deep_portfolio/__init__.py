"""The deep portfolio (recipe R3): a network trained on a differentiable Sharpe loss.

Zhang, Zohren and Roberts, "Deep Learning for Portfolio Optimisation" (2020),
done properly: normalised inputs, the (std, mean) order of ``torch.std_mean``
respected, costs and volatility scaling inside the loss, expanding-window
retraining with early stopping on the end of each training window, several
seeds. Modules: :mod:`.features` (inputs, targets), :mod:`.nets` (LSTM, MLP,
temporal CNN), :mod:`.loss` (Sharpe loss and its numpy twin),
:mod:`.training` (one seed), :mod:`.strategy` (kind ``deep_sharpe``).
"""

from __future__ import annotations

from alphalab.models.deep_portfolio.loss import sharpe_loss, sharpe_loss_numpy
from alphalab.models.deep_portfolio.strategy import DeepSharpe

__all__ = ["DeepSharpe", "sharpe_loss", "sharpe_loss_numpy"]
