"""The ``alphalab`` command line: demo, run, report, markets, schema, factors.

User errors (bad configs, missing files, bad data) print one red message and
exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from alphalab import __version__
from alphalab._console import make_console

__all__ = ["app", "main"]

app = typer.Typer(
    name="alphalab",
    help="ML-driven trading research: market data in, an honest verdict on a strategy out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = make_console()
err_console = make_console(stderr=True)

USER_ERROR_EXIT = 2
_state: dict[str, bool] = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def _user_error_types() -> tuple[type[BaseException], ...]:
    import yaml
    from pydantic import ValidationError

    from alphalab.errors import AlphalabError

    return (AlphalabError, ValidationError, FileNotFoundError, NotADirectoryError, yaml.YAMLError)


def _one_line(exc: BaseException) -> str:
    # OS errors carry "[Errno 2] ..." text; the file name is what the user needs.
    if isinstance(exc, OSError) and exc.errno is not None and exc.filename:
        return f"{exc.strerror or 'file not found'}: {exc.filename}"
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(line.strip() for line in lines) or type(exc).__name__


def user_errors(func: F) -> F:
    """Turn user errors into one red line and exit code 2 (unless ``--debug``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _user_error_types() as exc:
            if _state["debug"]:
                raise
            err_console.print(
                f"[bold red]error:[/] {escape(_one_line(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        console.print(f"alphalab {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """alphalab: one config file, one command, the same engine for every strategy."""
    _state["debug"] = debug


def _print_summary(result: Any) -> None:
    from alphalab.config import BENCHMARK_KEY

    metrics = result.metrics
    table = Table(
        title=f"{result.manifest['study']}: {result.manifest['window']['start']} .. "
        f"{result.manifest['window']['end']}"
    )
    table.add_column("strategy", style="bold")
    wanted = [
        ("cagr", "CAGR", "{:.1%}"),
        ("sharpe", "Sharpe", "{:.2f}"),
        ("volatility", "vol", "{:.1%}"),
        ("max_drawdown", "max DD", "{:.1%}"),
        ("turnover", "turnover/yr", "{:.0%}"),
    ]
    cols = [(key, label, fmt) for key, label, fmt in wanted if key in metrics.columns]
    if not cols:
        cols = [(key, key, "{:.4g}") for key in list(metrics.columns)[:6]]
    for _, label, _ in cols:
        table.add_column(label, justify="right")
    for name, row in metrics.iterrows():
        cells = []
        for key, _, fmt in cols:
            value = row[key]
            try:
                cells.append(fmt.format(float(value)) if value == value else "-")
            except (TypeError, ValueError):
                cells.append(str(value))
        table.add_row(str(name), *cells, style="dim" if name == BENCHMARK_KEY else None)
    console.print(table)
    console.print(f"run directory: [bold]{escape(str(result.run_dir))}[/]")
    if result.report is not None:
        console.print(f"report: [bold green]{escape(str(result.report))}[/]")


def _executor(
    kind: str | None, address: str | None, n_jobs: int | None, timeout: float | None = None
) -> Any:
    """The executor the command line asks for, or None to use the study's own."""
    from alphalab.errors import ConfigError

    if timeout is not None and kind != "ray":
        raise ConfigError("--connect-timeout needs --executor ray")
    if kind is None:
        if address is not None:
            raise ConfigError("--address needs --executor ray")
        return None
    from alphalab.validation.executors import DEFAULT_CONNECT_TIMEOUT, make_executor

    return make_executor(
        kind, n_jobs=n_jobs, address=address, connect_timeout=timeout or DEFAULT_CONNECT_TIMEOUT
    )


def _run_study(
    path: Path,
    out: Path | None,
    *,
    holdout: bool = False,
    executor: str | None = None,
    address: str | None = None,
    n_jobs: int | None = None,
    profile: str | None = None,
    needs_validation: bool = False,
    connect_timeout: float | None = None,
    overrides: list[str] | None = None,
) -> None:
    from alphalab.study import Study

    study = Study.from_yaml(path, profile=profile, overrides=tuple(overrides or ()))
    if needs_validation and study.config.validation is None:
        from alphalab.errors import ConfigError

        # An in-sample backtest must never be reported as a verdict.
        raise ConfigError(
            f"{path}: {'no sealed holdout to open: ' if holdout else ''}evaluate needs a "
            "validation section (validation.walk_forward, and validation.holdout for "
            "--holdout); `alphalab run` gives an in-sample backtest"
        )
    ex = _executor(executor, address, n_jobs, connect_timeout)
    # Data-quality and solver warnings would tear the progress bar; show them after it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            result = study.run(out=out, progress=True, holdout=holdout, executor=ex)
        finally:
            _print_warnings(caught)
    _print_summary(result)
    _print_gates(result)


def _print_gates(result: Any) -> None:
    """Gate verdicts and holdout looks of a validated run (nothing for plain runs)."""
    guard = result.manifest.get("guard") or {}
    for finding in guard.get("findings") or []:
        console.print(f"[bold red]{escape(finding['message'])}[/]", highlight=False)
    if guard.get("summary"):
        console.print(escape(guard["summary"]), highlight=False)
    info = result.manifest.get("validation")
    if not info:
        return
    looks = info.get("holdout_looks") or {}
    console.print(
        f"scope: [bold]{info['scope']}[/]; holdout evaluated {looks.get('n_evaluations', 0)} "
        f"time(s) by {looks.get('n_configs', 0)} config(s)"
    )
    gates = _read_gates(result.run_dir)
    for name, entry in (gates.get("strategies") or {}).items():
        status = entry.get("status", "?")
        colour = "green" if status == "PASS" else "red"
        console.print(f"  {escape(name)}: [bold {colour}]{status}[/]", highlight=False)
        for reason in entry.get("reasons", []):
            console.print(f"    - {escape(reason)}", highlight=False)


def _read_gates(run_dir: Path) -> dict[str, Any]:
    import json

    path = Path(run_dir) / "gates.json"
    return json.loads(path.read_text()) if path.is_file() else {}


_EXECUTOR_OPTION = typer.Option(
    "--executor", help="Run folds and trials: serial, process or ray (default: the study's)."
)
_ADDRESS_OPTION = typer.Option("--address", help="Ray cluster address (with --executor ray).")
_JOBS_OPTION = typer.Option("--jobs", "-j", min=1, help="Worker processes (--executor process).")
_PROFILE_OPTION = typer.Option(
    "--profile", help="Apply a named profile of the study file (e.g. quick) before running."
)
_SET_OPTION = typer.Option(
    "--set",
    help="Override a study key after the profile, KEY=VALUE (repeatable), e.g. "
    "--set data.dataset=my_panel.parquet --set strategies.lstm.params.epochs=5; relative "
    "paths resolve against the current folder.",
)
_TIMEOUT_OPTION = typer.Option(
    "--connect-timeout", min=0.001, help="Seconds to reach the Ray cluster (default 30)."
)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    seen: set[str] = set()
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.add(text)
            err_console.print(
                f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True
            )


def demo_config_path() -> Path:
    """The packaged demo study (``alphalab/examples/demo.yaml``)."""
    return Path(str(resources.files("alphalab") / "examples" / "demo.yaml"))


@app.command()
@user_errors
def demo(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/demo-<time>).")
    ] = None,
) -> None:
    """Run the packaged demo study on the embedded S&P 500 data (20 stocks)."""
    _run_study(demo_config_path(), out)


@app.command()
@user_errors
def run(
    study: Annotated[Path, typer.Argument(help="The study YAML file.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<name>-<time>).")
    ] = None,
    executor: Annotated[str | None, _EXECUTOR_OPTION] = None,
    address: Annotated[str | None, _ADDRESS_OPTION] = None,
    jobs: Annotated[int | None, _JOBS_OPTION] = None,
    profile: Annotated[str | None, _PROFILE_OPTION] = None,
    connect_timeout: Annotated[float | None, _TIMEOUT_OPTION] = None,
    set_: Annotated[list[str] | None, _SET_OPTION] = None,
) -> None:
    """Run a study file and write its run directory and report.

    A study with a validation section runs walk-forward on its development span;
    its sealed holdout stays closed (see `alphalab evaluate --holdout`).
    """
    _run_study(
        study, out, executor=executor, address=address, n_jobs=jobs, profile=profile,
        connect_timeout=connect_timeout, overrides=set_,
    )  # fmt: skip


@app.command()
@user_errors
def evaluate(
    study: Annotated[Path, typer.Argument(help="The study YAML file.")],
    holdout: Annotated[
        bool,
        typer.Option("--holdout", help="Open the sealed holdout (the look is logged and counted)."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<name>-<time>).")
    ] = None,
    executor: Annotated[str | None, _EXECUTOR_OPTION] = None,
    address: Annotated[str | None, _ADDRESS_OPTION] = None,
    jobs: Annotated[int | None, _JOBS_OPTION] = None,
    profile: Annotated[str | None, _PROFILE_OPTION] = None,
    connect_timeout: Annotated[float | None, _TIMEOUT_OPTION] = None,
    set_: Annotated[list[str] | None, _SET_OPTION] = None,
) -> None:
    """Walk-forward evaluation with gates; `--holdout` judges the sealed holdout."""
    _run_study(
        study, out, holdout=holdout, executor=executor, address=address, n_jobs=jobs,
        profile=profile, needs_validation=True, connect_timeout=connect_timeout, overrides=set_,
    )  # fmt: skip


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `alphalab run`.")],
) -> None:
    """(Re)build the charts and report.html of a run directory."""
    from alphalab.errors import ConfigError

    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a directory; give the run directory")
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    if not (run_dir / "manifest.json").is_file():
        raise ConfigError(f"{run_dir} is not an alphalab run directory (no manifest.json)")
    from alphalab.report import write_report

    path = write_report(run_dir)
    console.print(f"report: [bold green]{escape(str(path))}[/]")


# Short headers and formats for the rule table; long text columns go below it.
_MARKET_COLUMNS = {
    "currency": ("ccy", str),
    "lot_size": ("lot", str),
    "min_order": ("min order", str),
    "price_band": ("band", lambda v: "none" if v != v else f"±{v:.0%}"),
    "st_price_band": ("ST band", lambda v: "" if v != v else f"±{v:.0%}"),
    "settlement_days": ("settles", lambda v: f"T+{v}"),
    "sell_lock": ("sell at open", lambda v: f"T+{v}"),
    "sell_lock_close": ("sell at close", lambda v: f"T+{v}"),
    "allow_short": ("short", lambda v: "yes" if v else "no"),
    "commission_bps": ("commission bps", lambda v: f"{v:g}"),
    "min_commission": ("min fee", lambda v: f"{v:g}"),
    "sell_tax_bps": ("sell tax bps", lambda v: f"{v:g}"),
    "buy_tax_bps": ("buy tax bps", lambda v: f"{v:g}"),
    "borrow_bps": ("borrow bps/yr", lambda v: f"{v:g}"),
}
_MARKET_TEXT = ("name", "tick_table", "limit_rounding", "changes", "notes")


@app.command()
@user_errors
def markets(
    full: Annotated[
        bool, typer.Option("--full", help="Also list names, dated rule changes and notes.")
    ] = False,
) -> None:
    """Print the market rule table (lots, bands, settlement, shorting, fees, taxes)."""
    from alphalab.markets import market_table

    frame = market_table()
    cols = [c for c in frame.columns if c not in _MARKET_TEXT]
    table = Table(title="market rules (values in force today; --full for dated changes)")
    table.add_column(str(frame.index.name or "code"), style="bold", no_wrap=True)
    for col in cols:
        table.add_column(_MARKET_COLUMNS.get(col, (col, str))[0], justify="right")
    for code, row in frame.iterrows():
        cells = [_MARKET_COLUMNS.get(col, (col, str))[1](row[col]) for col in cols]
        table.add_row(str(code), *cells)
    console.print(table)
    if full:
        for code, row in frame.iterrows():
            name = escape(str(row.get("name", "")))
            console.print(f"[bold]{escape(str(code))}[/]: {name}", highlight=False)
            for col in ("tick_table", "limit_rounding", "changes", "notes"):
                if col in frame.columns and row[col]:
                    console.print(f"  {col}: {escape(str(row[col]))}", highlight=False)


@app.command()
@user_errors
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of printing.")
    ] = None,
) -> None:
    """Print (or write) the JSON schema of study files."""
    import json

    from alphalab.config import export_schema, study_schema

    if out is None:
        typer.echo(json.dumps(study_schema(), indent=2, sort_keys=True))
    else:
        console.print(f"schema written to {escape(str(export_schema(out)))}")


@app.command()
@user_errors
def factors(
    study: Annotated[Path, typer.Argument(help="The factor-study YAML file.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default runs/factors-<name>)."),
    ] = None,
) -> None:
    """Rank a formula catalogue (alpha101, alpha158 or your own) by IC on a dataset."""
    from alphalab.features.factors import run_factor_study

    path = run_factor_study(study, out)
    console.print(f"factor report: [bold green]{escape(str(path))}[/]")


# `alphalab data ...` (store, providers, health) lives with the data package.
from alphalab.data.cli_data import data_app  # noqa: E402

app.add_typer(data_app, name="data")
