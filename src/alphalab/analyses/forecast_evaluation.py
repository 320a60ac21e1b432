"""Out-of-sample forecast quality of every forecasting strategy of a study.

Scores the stitched walk-forward forecasts (``forecasts/<strategy>.parquet``)
against targets realised in the study's data: IC, rank IC, ICIR and quantile
spreads for return and score forecasts (plus MSE / R² for returns), MSE, MAE and
QLIKE for volatility forecasts. Each strategy is scored twice for return and score
forecasts: against the close-to-close return over the horizon (the usual research
figure, Qlib's convention) and against the return a next-open execution can earn
(``open[t+1] -> open[t+1+h]``), which is what the backtest trades.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from alphalab.analyses import Analysis, AnalysisContext, register_analysis
from alphalab.errors import ConfigError

__all__ = ["ForecastEvaluation"]

_KINDS = ("score", "return", "volatility")
_COLUMNS = [
    ("ic_mean", "IC"),
    ("rank_ic_mean", "rank IC"),
    ("icir", "ICIR"),
    ("rank_icir", "rank ICIR"),
    ("hit_rate", "rank IC > 0"),
    ("long_short_mean", "top − bottom quantile"),
    ("n_dates", "dates"),
]
_VOL_COLUMNS = [("mse", "MSE"), ("mae", "MAE"), ("qlike", "QLIKE"), ("r2", "R²"), ("n_scored", "n")]


def _horizon_of(strategy: Any) -> int | None:
    forecaster = getattr(strategy, "forecaster", None)
    h = getattr(forecaster, "horizon", None)
    return h if isinstance(h, int) and not isinstance(h, bool) and h >= 1 else None


@register_analysis("forecast_evaluation")
class ForecastEvaluation(Analysis):
    """Score every forecasting strategy's out-of-sample forecasts.

    Parameters
    ----------
    strategies : list of str, optional
        Strategies to score (default: every strategy that produced forecasts).
    horizon : int, optional
        Bars over which the target is realised; default each strategy's
        ``forecaster.horizon``, else 1.
    forecast_kind : {"score", "return", "volatility"}
        ``score`` (ranks only: IC, rank IC, spreads), ``return`` (also MSE, R²) or
        ``volatility`` (MSE, MAE, QLIKE of the variance).
    n_quantiles : int
        Buckets for the quantile spread.
    column : str
        Forecast column scored (``mean`` by default).
    """

    title = "Forecast quality (out of sample)"

    def __init__(
        self,
        strategies: list[str] | None = None,
        horizon: int | None = None,
        forecast_kind: str = "score",
        n_quantiles: int = 5,
        column: str = "mean",
    ) -> None:
        if strategies is not None and (
            not isinstance(strategies, list) or not all(isinstance(s, str) for s in strategies)
        ):
            raise ConfigError(f"strategies must be a list of strategy names, got {strategies!r}")
        if horizon is not None and (
            isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1
        ):
            raise ConfigError(f"horizon must be an integer >= 1, got {horizon!r}")
        if forecast_kind not in _KINDS:
            raise ConfigError(
                f"forecast_kind must be one of {', '.join(_KINDS)}, got {forecast_kind!r}"
            )
        if isinstance(n_quantiles, bool) or not isinstance(n_quantiles, int) or n_quantiles < 2:
            raise ConfigError(f"n_quantiles must be an integer >= 2, got {n_quantiles!r}")
        if not isinstance(column, str) or not column:
            raise ConfigError(f"column must be a column name, got {column!r}")
        self.strategies = strategies
        self.horizon = horizon
        self.forecast_kind = forecast_kind
        self.n_quantiles = n_quantiles
        self.column = column

    def run(self, ctx: AnalysisContext) -> dict[str, Any]:
        from alphalab.models.evaluation import evaluate_forecast_frame

        names = self.strategies if self.strategies is not None else sorted(ctx.forecasts)
        unknown = [n for n in names if n not in ctx.results]
        if unknown:
            raise ConfigError(f"strategies {unknown} are not strategies of this study")
        out: dict[str, Any] = {"kind": self.forecast_kind, "strategies": {}, "skipped": {}}
        for name in names:
            frame = ctx.forecasts.get(name)
            if frame is None or len(frame) == 0:
                out["skipped"][name] = "produced no forecasts"
                continue
            if self.column not in frame.columns:
                out["skipped"][name] = f"its forecasts have no {self.column!r} column"
                continue
            horizon = self.horizon or _horizon_of(ctx.strategies.get(name)) or 1
            entry: dict[str, Any] = {"horizon": horizon}
            kw = {"kind": self.forecast_kind, "n_quantiles": self.n_quantiles, "column": self.column}
            report = evaluate_forecast_frame(frame, ctx.panel, horizon, **kw)
            entry["close_to_close"] = report.summary
            if "ic" in report.tables:
                report.tables["ic"].to_parquet(ctx.out_dir / f"{name}_ic.parquet")
            if self.forecast_kind != "volatility" and "open" in ctx.panel.fields:
                tradable = evaluate_forecast_frame(
                    frame, ctx.panel, horizon, price_field="open", entry_lag=1, **kw
                )
                entry["next_open"] = tradable.summary
            out["strategies"][name] = entry
        return out

    @classmethod
    def render(cls, summary: dict[str, Any], files: Path) -> str:
        vol = summary.get("kind") == "volatility"
        cols = _VOL_COLUMNS if vol else _COLUMNS
        head = "".join(f"<th>{escape(label)}</th>" for _, label in cols)
        rows = ""
        for name, entry in (summary.get("strategies") or {}).items():
            for target in ("close_to_close", "next_open"):
                s = entry.get(target)
                if not s:
                    continue
                cells = ""
                for key, _ in cols:
                    v = s.get(key)
                    if v is None:
                        cells += "<td>–</td>"
                    elif key in ("n_dates", "n_scored"):
                        cells += f"<td>{int(v)}</td>"
                    elif key in ("hit_rate", "long_short_mean"):
                        cells += f"<td>{100 * v:.2f}%</td>"
                    else:
                        cells += f"<td>{v:.4f}</td>"
                label = "close → close" if target == "close_to_close" else "next open → open"
                rows += (
                    f"<tr><th>{escape(name)}</th><td>{entry.get('horizon')}</td>"
                    f"<td>{label}</td>{cells}</tr>"
                )
        skipped = "".join(
            f"<li>{escape(n)}: {escape(why)}</li>" for n, why in (summary.get("skipped") or {}).items()
        )
        note = (
            "<p>Scored on the stitched out-of-sample forecasts of the walk-forward folds. "
            "For a daily cross-section of liquid stocks a rank IC of a few hundredths is "
            "typical (Qlib's Alpha158 + LightGBM on CSI 300: IC about 0.045); a figure far "
            "above that deserves suspicion before celebration.</p>"
            if not vol
            else "<p>Variance forecasts scored against realised variance per bar.</p>"
        )
        table = (
            f"<table><tr><th>strategy</th><th>horizon</th><th>target</th>{head}</tr>{rows}</table>"
            if rows
            else "<p>No strategy produced forecasts to score.</p>"
        )
        return note + table + (f"<p>Not scored:</p><ul>{skipped}</ul>" if skipped else "")
