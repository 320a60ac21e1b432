"""Networks that map a window of normalised prices and returns to portfolio weights.

Three encoders share one head:

* ``lstm``: one (or more) LSTM layers; the last hidden state feeds the head
  (the paper's model: one layer of 64 units);
* ``mlp``: the flattened window through one hidden ReLU layer;
* ``cnn``: a temporal CNN (two dilated 1-D convolutions over time, ReLU,
  average-pooled over the window).

The head maps the encoding to one score per asset, then

* ``long_only``: softmax over the available assets (weights >= 0, sum 1);
* ``long_short``: ``tanh`` scores divided by the sum of their absolute values
  over the available assets (gross exposure 1, either sign).

Unavailable assets (no full price window) always get weight 0.
"""

from __future__ import annotations

from typing import Any

from alphalab.errors import ConfigError

__all__ = ["ARCHITECTURES", "build_net"]

ARCHITECTURES = ("lstm", "mlp", "cnn")


def build_net(architecture: str, n_assets: int, window: int, hidden_size: int = 64,
              num_layers: int = 1, dropout: float = 0.0, long_only: bool = True) -> Any:
    """A fresh ``torch.nn.Module``: ``net(x, available) -> weights``.

    Parameters
    ----------
    architecture : {"lstm", "mlp", "cnn"}
    n_assets : int
    window : int
        Time steps per sample.
    hidden_size : int
    num_layers : int
        LSTM layers (ignored by the others).
    dropout : float in [0, 1)
        Dropout on the encoding before the head.
    long_only : bool

    Notes
    -----
    Input ``x`` has shape ``(batch, window, 2 * n_assets)`` and ``available``
    ``(batch, n_assets)`` (bool); the output has shape ``(batch, n_assets)``.
    """
    if architecture not in ARCHITECTURES:
        raise ConfigError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
    return _net_class()(architecture, n_assets, window, hidden_size, num_layers, dropout, long_only)


_NET: Any = None


def _net_class() -> Any:
    """The module class, defined once torch is imported (kept at module level so it pickles)."""
    global _NET
    if _NET is not None:
        return _NET
    import torch
    from torch import nn

    class DeepPortfolioNet(nn.Module):
        def __init__(self, architecture: str, n_assets: int, window: int, hidden_size: int,
                     num_layers: int, dropout: float, long_only: bool) -> None:
            super().__init__()
            n_in = 2 * n_assets
            self.architecture = architecture
            self.long_only = long_only
            if architecture == "lstm":
                self.encoder = nn.LSTM(n_in, hidden_size, num_layers=num_layers, batch_first=True)
            elif architecture == "mlp":
                self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(window * n_in, hidden_size), nn.ReLU())
            else:
                self.encoder = nn.Sequential(
                    nn.Conv1d(n_in, hidden_size, kernel_size=5, padding=2), nn.ReLU(),
                    nn.Conv1d(hidden_size, hidden_size, kernel_size=5, padding=4, dilation=2), nn.ReLU(),
                    nn.AdaptiveAvgPool1d(1), nn.Flatten())
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden_size, n_assets)

        def forward(self, x: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
            if self.architecture == "lstm":
                out, _ = self.encoder(x)
                h = out[:, -1, :]
            elif self.architecture == "cnn":
                h = self.encoder(x.transpose(1, 2))
            else:
                h = self.encoder(x)
            score = self.head(self.drop(h))
            if self.long_only:
                score = score.masked_fill(~available, float("-inf"))
                w = torch.softmax(score, dim=1)
                # a sample with no available asset holds nothing (softmax of all -inf is NaN)
                return torch.nan_to_num(w, nan=0.0)
            t = torch.tanh(score) * available
            return t / (t.abs().sum(dim=1, keepdim=True) + 1e-8)

    DeepPortfolioNet.__module__ = __name__
    DeepPortfolioNet.__qualname__ = "DeepPortfolioNet"
    globals()["DeepPortfolioNet"] = DeepPortfolioNet
    _NET = DeepPortfolioNet
    return _NET


def __getattr__(name: str) -> Any:
    # unpickling a net looks the class up here: define it on demand
    if name == "DeepPortfolioNet":
        return _net_class()
    raise AttributeError(name)
