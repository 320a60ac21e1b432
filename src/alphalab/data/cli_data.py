"""``alphalab data ...``: the local store from the command line.

Mounted on the main CLI as ``app.add_typer(data_app, name="data")``. The store
root is ``--home``, else ``$ALPHALAB_HOME``, else ``~/.alphalab``. User errors
print one red line and exit with code 2.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from alphalab._console import make_console
from alphalab.errors import AlphalabError

__all__ = ["data_app"]

data_app = typer.Typer(
    name="data",
    help="The local dataset store: import, list, show, query, check, update, remove, seal, "
    "repair.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _console(stderr: bool = False) -> Console:
    # Built per call, not at import: Rich reads $COLUMNS when a Console is
    # made, so a module-level one would keep the width of whatever process
    # imported it first (80 under pytest-xdist, folding table cells).
    return make_console(stderr=stderr)


F = TypeVar("F", bound=Callable[..., Any])

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Store folder (default $ALPHALAB_HOME or ~/.alphalab)."),
]


def _errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (AlphalabError, OSError) as exc:  # bad input, or an output path we cannot write
            text = " ".join(str(exc).split()) or type(exc).__name__
            _console(stderr=True).print(
                f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _store(home: Path | None) -> Any:
    from alphalab.data.store import Store

    return Store(home)


def _frame_table(df: pd.DataFrame, title: str | None = None, max_rows: int = 50) -> Table:
    # Cells and headers are user data: Text objects are printed literally, never as
    # Rich markup ("[/x]" would raise, "[bold]" would restyle the table).
    table = Table(title=None if title is None else Text(title), show_lines=False)
    for i, col in enumerate(df.columns):
        # Names stay whole; long values fold.
        table.add_column(Text(str(col)), overflow="fold", no_wrap=i == 0)
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(
            *[
                Text("" if (v is None or (isinstance(v, float) and pd.isna(v))) else str(v))
                for v in row
            ]
        )
    return table


def _outside_store(path: Path, home: Path | None, what: str) -> Path:
    """``path`` unless it points inside the store (a dataset file, the catalogue)."""
    from alphalab.data.store import Store

    root = Store(home).root.expanduser().resolve()
    target = path.expanduser().resolve()
    if target == root or root in target.parents:
        raise AlphalabError(
            f"{what} {path} is inside the store {root}; the store's files are written by "
            "alphalab only: choose a path outside it"
        )
    if target.is_dir():
        raise AlphalabError(f"{what} {path} is a folder; give a file name")
    return target


def _parse_map(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise AlphalabError(f"--map expects SRC=DST, got {pair!r}")
        src, dst = pair.split("=", 1)
        out[src.strip()] = dst.strip()
    return out


@data_app.command("import")
@_errors
def import_(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file, long layout.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the store.")],
    market: Annotated[
        str | None, typer.Option(help="Markets code, e.g. us, vn.hose, cn, tw.")
    ] = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="Rename a column: SRC=DST (repeatable).")
    ] = None,
    adjusted: Annotated[
        str, typer.Option(help="raw | adjusted | split_only | unknown")
    ] = "unknown",
    replace: Annotated[bool, typer.Option(help="Overwrite an existing dataset.")] = False,
    kind: Annotated[
        str | None,
        typer.Option(
            help="prices | fundamentals | table (default: fundamentals when the file has "
            "ticker and period_end columns, else prices; a table only when asked)."
        ),
    ] = None,
    ticker: Annotated[
        str | None,
        typer.Option(help="Ticker of a single-stock file (default: the file name)."),
    ] = None,
    layout: Annotated[
        str, typer.Option(help="auto | long | wide (wide: one column per ticker).")
    ] = "auto",
    home: HomeOpt = None,
) -> None:
    """Import FILE as dataset NAME (atomically: an interrupted import changes nothing)."""
    info = _store(home).import_file(
        file, name, market=market, mapping=_parse_map(map_), adjusted=adjusted, replace=replace,
        kind=kind, ticker=ticker, layout=layout,
    )  # fmt: skip
    dropped = info.meta.get("validation", {}).get("n_dropped", 0)
    for note in info.meta.get("notes", []):
        if note.startswith(("single-stock", "delimiter", "dates read as Excel", "column ")):
            _console().print(f"note: {escape(note)}", highlight=False)
    _console().print(
        f"imported [bold]{escape(info.name)}[/] ({info.kind}): {info.n_rows:,} rows, "
        f"{info.n_tickers} tickers, "
        f"{info.start_date.date() if info.start_date is not None else '-'} .. "
        f"{info.end_date.date() if info.end_date is not None else '-'}"
        + (f"; {dropped} bad rows dropped (see `data show {escape(info.name)}`)" if dropped else ""),
        highlight=False,
    )
    if info.kind == "prices" and info.adjusted == "unknown":
        _console().print(
            "note: price adjustment unknown; pass --adjusted raw|adjusted|split_only so that "
            "studies can refuse to mix raw and adjusted data"
        )


@data_app.command("list")
@_errors
def list_(home: HomeOpt = None) -> None:
    """List the datasets in the store."""
    cat = _store(home).list()
    if cat.empty:
        _console().print("the store is empty; add data with `alphalab data import FILE --name NAME`")
        return
    cols = [
        "name",
        "kind",
        "market",
        "adjusted",
        "n_tickers",
        "start_date",
        "end_date",
        "n_rows",
        "source",
    ]
    _console().print(_frame_table(cat[cols], title=None, max_rows=10_000))


@data_app.command("show")
@_errors
def show(name: str, home: HomeOpt = None) -> None:
    """Show one dataset's catalogue entry."""
    info = _store(home).info(name)
    print(json.dumps(info.summary(), default=str, indent=2))


@data_app.command("query")
@_errors
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT / WITH / SHOW / DESCRIBE statement.")],
    max_rows: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 50,
    csv: Annotated[
        Path | None, typer.Option(help="Also write the full result to this CSV.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Run read-only SQL; each dataset is a view named after it, the catalogue is `datasets`."""
    if csv is not None:
        csv = _outside_store(csv, home, "--csv")
    df = _store(home).query(sql)
    if csv is not None:
        df.to_csv(csv, index=False)
    _console().print(_frame_table(df, max_rows=max_rows))
    if len(df) > max_rows:
        _console().print(f"... {len(df) - max_rows} more rows", highlight=False)


@data_app.command("remove")
@_errors
def remove(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    home: HomeOpt = None,
) -> None:
    """Delete a dataset from the store."""
    store = _store(home)
    store.info(name)
    if not yes and not typer.confirm(f"remove dataset {name!r} from {store.root}?"):
        raise typer.Exit(1)
    store.remove(name)
    _console().print(f"removed {escape(name)}", highlight=False)


@data_app.command("update")
@_errors
def update(
    name: str,
    end: Annotated[str | None, typer.Option(help="Last date to fetch (default today).")] = None,
    home: HomeOpt = None,
) -> None:
    """Fetch only the dates after the dataset's last stored date."""
    from alphalab.data.providers import update_dataset

    info, added = update_dataset(_store(home), name, end=end)
    last = info.end_date.date() if info.end_date is not None else "-"
    if added == 0:
        _console().print(f"{escape(name)} is up to date (last date {last})", highlight=False)
    else:
        _console().print(f"{escape(name)}: added {added:,} rows, now up to {last}", highlight=False)


@data_app.command("fetch")
@_errors
def fetch(
    provider: Annotated[str, typer.Argument(help="yahoo | cn | tw | vn | fiinquant")],
    name: Annotated[str, typer.Option("--name", "-n")],
    tickers: Annotated[str, typer.Option(help="Comma-separated tickers.")],
    start: Annotated[str, typer.Option()],
    end: Annotated[str | None, typer.Option()] = None,
    replace: Annotated[bool, typer.Option()] = False,
    home: HomeOpt = None,
) -> None:
    """Fetch from a provider into the store (needs the network and the provider's package)."""
    from alphalab.data.providers import fetch_into_store, get_provider

    p = get_provider(provider)
    info = fetch_into_store(
        _store(home),
        p,
        [t.strip() for t in tickers.split(",") if t.strip()],
        start,
        end or pd.Timestamp.today().strftime("%Y-%m-%d"),
        name,
        replace=replace,
    )
    _console().print(
        f"fetched {escape(info.name)}: {info.n_rows:,} rows, {info.n_tickers} tickers",
        highlight=False,
    )


@data_app.command("check")
@_errors
def check(
    name: str,
    market: Annotated[str | None, typer.Option(help="Override the catalogue's market.")] = None,
    fundamentals: Annotated[
        str | None, typer.Option(help="A fundamentals dataset in the store to check too.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write an HTML fragment here.")] = None,
    max_rows: Annotated[int, typer.Option(min=0, help="Issues to list.")] = 30,
    home: HomeOpt = None,
) -> None:
    """Data-health report: gaps, stale prices, band breaches, bad prints, OHLC, listings."""
    from alphalab.data.health import check_dataset

    if html is not None:
        html = _outside_store(html, home, "--html")
    report = check_dataset(_store(home), name, market=market, fundamentals=fundamentals)
    if html is not None:
        html.write_text(report.to_html_fragment(), encoding="utf-8")
    if as_json:
        print(report.to_json())
        return
    _console().print(report.summary(), highlight=False, markup=False)
    shown = report.issues[report.issues["severity"] != "info"].head(max_rows)
    if len(shown):
        shown = shown.assign(date=shown["date"].dt.strftime("%Y-%m-%d"))
        _console().print(_frame_table(shown, max_rows=max_rows))


@data_app.command("seal")
@_errors
def seal(
    name: Annotated[str, typer.Argument(help="A store dataset name or a data file.")],
    from_: Annotated[
        str, typer.Option("--from", help="First sealed date (YYYY-MM-DD); loads stop before it.")
    ],
    home: HomeOpt = None,
) -> None:
    """Seal a dataset, by its content hash, from a date on (see alphalab.data.seal)."""
    from alphalab.data.seal import content_hash_of, seal_dataset, seal_dirs
    from alphalab.errors import ConfigError

    try:
        when = pd.Timestamp(from_)
    except (ValueError, TypeError):
        raise ConfigError(f"--from {from_!r} is not a date (YYYY-MM-DD)") from None
    content = content_hash_of(name, store=home)
    if content is None:
        raise ConfigError(f"{name!r} cannot be sealed (not a file or store dataset)")
    s = seal_dataset(content[0], when, content[1], source="alphalab data seal")
    _console().print(
        f"sealed {escape(content[1])} (content {content[0][:16]}) from "
        f"[bold]{s.sealed_from.date()}[/]; registries: "
        + ", ".join(escape(str(d)) for d in seal_dirs()),
        highlight=False,
    )


@data_app.command("repair")
@_errors
def repair(home: HomeOpt = None) -> None:
    """Rebuild a damaged catalogue from the dataset files and the hashes in their names."""
    out = _store(home).repair()
    if out["moved_aside"]:
        _console().print(f"old catalogue moved aside to {escape(out['moved_aside'])}", highlight=False)
    _console().print(
        f"catalogue rebuilt: {len(out['restored'])} dataset(s) restored"
        + (f" ({escape(', '.join(out['restored']))})" if out["restored"] else ""),
        highlight=False,
    )
    for path, why in out["skipped"].items():
        _console().print(f"skipped {escape(path)}: {escape(why)}", highlight=False)
