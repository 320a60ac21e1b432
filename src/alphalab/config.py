"""Study configuration: a pydantic model of the YAML study file, and its JSON schema.

A study names its data (dataset, market, benchmark, date window), how trades
execute (timing, rebalance schedule, costs, market rules), the strategies to
compare and the report options. Every model forbids unknown keys, so a typo is
an error that names the key's path (``execution.cost: unknown key ...``).

Relative file paths in a study (``data.dataset``, ``data.benchmark``) resolve
against the folder of the YAML file, never against the working directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from alphalab.errors import AlphalabError, ConfigError
from alphalab.profiles import PROFILES_KEY, apply_overrides, apply_profile
from alphalab.validation.gates import GateSpec
from alphalab.validation.guard import GuardSpec
from alphalab.validation.protocol import ValidationSpec
from alphalab.validation.tuning import TuneSpec
from alphalab.yamlio import (  # re-exported: the study module was their first home
    check_finite,
    describe_kind,
    load_yaml,
    read_yaml_file,
)

__all__ = [
    "CostsConfig",
    "DataConfig",
    "ExecutionConfig",
    "ReportConfig",
    "StrategyConfig",
    "StudyConfig",
    "check_finite",
    "export_schema",
    "format_validation_error",
    "load_yaml",
    "read_yaml_file",
    "study_schema",
]

# Names end up as file names (weights/<name>.parquet) and directory names.
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
# Periodic schedules understood by alphalab.backtest.rebalance_mask.
_PERIODIC = ("daily", "weekly", "monthly", "quarterly", "yearly", "annually")
# A dataset / benchmark value with one of these endings is a file, not an embedded name.
FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".feather", ".json", ".gz", ".zip")
# Reserved for the benchmark column in equity.parquet / metrics.json.
BENCHMARK_KEY = "benchmark"
# Costs at or above 100 % of the traded value are refused.
MAX_COST_BPS = 10_000


class _Model(BaseModel):
    # NaN / inf are never a valid cash amount, cost or date window.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _no_duplicates(value: list[str], message: str) -> list[str]:
    """``value`` unchanged, or a ValueError ``message: a, b`` naming each repeated item once."""
    dup = sorted({v for v in value if value.count(v) > 1})
    if dup:
        raise ValueError(f"{message}: {', '.join(dup)}")
    return value


class CostsConfig(_Model):
    """Trading costs on top of the market's own taxes (which always apply).

    A field left out keeps the engine's default for the market.
    """

    # 10,000 bps is the whole trade value: anything near it is a typo, not a cost.
    commission_bps: float | None = Field(
        None, ge=0, lt=MAX_COST_BPS, description="Broker commission, bps of value (0-10,000)."
    )
    slippage_bps: float | None = Field(
        None, ge=0, lt=MAX_COST_BPS, description="Slippage, bps of value (0-10,000)."
    )
    min_commission: float | None = Field(
        None, ge=0, description="Minimum commission per order, price currency."
    )


class FundamentalsSource(_Model):
    """A fundamentals file joined point-in-time to the panel (see data.fundamentals)."""

    path: str = Field(..., min_length=1, description="Parquet / CSV file: ticker, period_end, "
                      "report_date (announcement) and numeric fields; relative to the YAML.")
    fields: list[str] = Field(
        ..., min_length=1, description="Columns to join, e.g. [totalShare, liqaShare]."
    )
    lag_days: int = Field(45, ge=0, description="Days after period_end assumed where no "
                          "announcement date exists (90 for annual reports).")

    @field_validator("fields")
    @classmethod
    def _unique_fields(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value, "fundamentals field(s) listed twice")


class UniverseConfig(_Model):
    """A universe chosen by a rule read before the study starts (see data.study_universe)."""

    size: int | None = Field(
        None, ge=1, description="Keep at most this many names (default: every eligible name)."
    )
    rank_by: str = Field(
        "dollar_volume", min_length=1,
        description="dollar_volume, volume, coverage, ticker, or a numeric field's name "
        "(its mean over the window).",
    )
    ascending: bool = Field(False, description="Rank smallest first (default largest first).")
    window: int = Field(
        60, ge=1, le=100_000, description="Sessions read, ending on the last one before data.start."
    )
    min_coverage: float = Field(
        0.9, gt=0.0, le=1.0,
        description="Share of the window's sessions a name needs a close (and each required "
        "field) on to be eligible.",
    )
    require: list[str] = Field(
        default_factory=list,
        description="Fields a name must have, e.g. fundamentals joined by data.fundamentals.",
    )

    @field_validator("require")
    @classmethod
    def _unique_require(cls, value: list[str]) -> list[str]:
        return _no_duplicates(value, "field(s) listed twice")


class DataConfig(_Model):
    """Where the prices come from and which window is simulated."""

    dataset: str = Field(
        ...,
        min_length=1,
        description="Embedded dataset name or a file path (relative to the YAML).",
    )
    market: str = Field("us", description="Market rule code: us, vn.hose, vn.hnx, cn, tw ...")
    benchmark: str | None = Field(
        None,
        description="Embedded benchmark name, a ticker of the dataset, or a file path.",
    )
    start: dt.date | None = Field(
        None, description="First simulated date (default: once every strategy has its history)."
    )
    end: dt.date | None = Field(None, description="Last date loaded and simulated.")
    mode: Literal["strict", "lenient"] = Field(
        "strict", description="strict: bad rows are errors; lenient: dropped and reported."
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="Column renames for files, source: alphalab name."
    )
    tickers: list[str] | None = Field(
        None, min_length=1, description="Restrict the universe to these tickers."
    )
    universe: UniverseConfig | None = Field(
        None,
        description="Choose the tickers by a rule measured on the sessions before data.start "
        "(e.g. the 30 most traded), so a study runs on any panel without naming tickers; "
        "applied after data.tickers.",
    )
    fundamentals: FundamentalsSource | None = Field(
        None,
        description="Quarterly fundamentals joined point-in-time (as of each report's "
        "announcement date, next session) as panel fields, e.g. totalShare for market caps.",
    )
    indices: str | None = Field(
        None,
        description="A file of index bars (date, ticker, close); each index's close becomes the "
        "panel field 'index:<ticker>' (the same value in every asset column), for market "
        "rules such as a panic halt; never a tradable asset. The benchmark may name one.",
    )
    store: str | None = Field(
        None,
        description="Store root searched for dataset names (default $ALPHALAB_HOME or "
        "~/.alphalab); relative to the study file.",
    )
    repair: list[str] = Field(
        default_factory=list,
        description="Data-health findings to repair by masking the flagged bars: bad_print, "
        "nonpositive_price, ohlc_inconsistent (each repair is counted in the report).",
    )
    waive: dict[str, str] = Field(
        default_factory=dict,
        description="Data-health checks waived for the verdict, each with its reason "
        "(recorded in the manifest and the report), e.g. {bad_print: 'vendor data audited'}.",
    )

    @model_validator(mode="after")
    def _known_policy(self) -> DataConfig:
        from alphalab.data.repair import check_policy_keys

        try:
            check_policy_keys(self.repair, self.waive)
        except AlphalabError as exc:
            raise ValueError(str(exc).removeprefix("data.")) from None
        return self

    @field_validator("market")
    @classmethod
    def _known_market(cls, value: str) -> str:
        from alphalab.markets import get_market

        try:
            get_market(value)
        except AlphalabError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("tickers")
    @classmethod
    def _unique_tickers(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _no_duplicates(value, "duplicated ticker(s)")

    @model_validator(mode="after")
    def _universe_needs_start(self) -> DataConfig:
        if self.universe is not None and self.start is None:
            raise ValueError("universe needs data.start: the rule reads only the sessions "
                             "before the study starts")
        return self

    @model_validator(mode="after")
    def _ordered_window(self) -> DataConfig:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


def _check_rebalance(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("rebalance must be a schedule name, an integer or a list of dates")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"rebalance every k bars needs k >= 1, got {value}")
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key.isdigit():
            return _check_rebalance(int(key))
        if key not in _PERIODIC:
            raise ValueError(
                f"unknown rebalance rule {value!r}; use one of {', '.join(_PERIODIC)}, "
                "an integer number of bars, or a list of dates"
            )
        return key
    if isinstance(value, list):
        if not value:
            raise ValueError("rebalance date list is empty")
        if len(set(value)) != len(value):
            raise ValueError("rebalance date list has duplicates")
        return sorted(value)
    raise ValueError("rebalance must be a schedule name, an integer or a list of dates")


class ExecutionConfig(_Model):
    """How decisions turn into trades."""

    at: Literal["next_open", "next_close"] = Field(
        "next_open", description="Decision at the close of t executes at the next open or close."
    )
    rebalance: str | int | list[dt.date] = Field(
        "monthly",
        description="daily | weekly | monthly | quarterly | yearly | every k bars | list of dates.",
    )
    initial_cash: float = Field(1_000_000.0, gt=0, description="Starting cash.")
    rules: Literal["market", "proportional"] = Field(
        "market", description="market: lots, bands, settlement; proportional: all rules off."
    )
    costs: CostsConfig = Field(default_factory=CostsConfig)

    @field_validator("rebalance", mode="before")
    @classmethod
    def _rebalance_type(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, list)):
            raise ValueError(
                f"rebalance must be a schedule name, an integer or a list of dates, got {value!r}"
            )
        return value

    @field_validator("rebalance", mode="after")
    @classmethod
    def _valid_rebalance(cls, value: Any) -> Any:
        return _check_rebalance(value)


def _strategy_registry() -> dict[str, Any]:
    from alphalab.portfolio.base import STRATEGIES

    # Baselines register themselves on import; without them only user kinds exist.
    for module in ("alphalab.portfolio.baselines", "alphalab.models"):
        try:
            importlib.import_module(module)  # registers its kinds (the models layer: ``forecast``)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return STRATEGIES


class StrategyConfig(_Model):
    """One strategy of the study: a registered kind and its parameters."""

    name: str = Field(..., pattern=_NAME_PATTERN, description="Unique name in the study.")
    kind: str = Field(..., description="A registered strategy kind, e.g. equal_weight.")
    params: dict[str, Any] = Field(default_factory=dict, description="Constructor parameters.")
    tune: TuneSpec | None = Field(
        None,
        description="Tune parameters on the inner split of each walk-forward training window "
        "(grid or Optuna space); needs a validation section.",
    )

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == BENCHMARK_KEY:
            raise ValueError(f"{BENCHMARK_KEY!r} is reserved for the benchmark series")
        return value

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        registry = _strategy_registry()
        if value not in registry:
            raise ValueError(
                f"unknown strategy kind {value!r}; known kinds: {', '.join(sorted(registry)) or 'none'}"
            )
        return value

    @model_validator(mode="after")
    def _params_build(self) -> StrategyConfig:
        # Building the strategy validates parameter names and values up front,
        # so a bad parameter fails before any data is loaded.
        self.build()
        if self.tune is not None:
            # Nested parts are tuned by ``part__param`` names (e.g. forecaster__num_leaves).
            valid = set(self.build().get_params(deep=True))
            tuned = set(self.tune.grid or self.tune.space or {})
            unknown = sorted(tuned - valid)
            if unknown:
                raise ValueError(
                    f"tune: {self.kind} has no parameter(s) {unknown}; valid: {sorted(valid)}"
                )
            if self.tune.grid is not None:
                from alphalab.validation.tuning import grid_candidates

                for cand in grid_candidates(self.tune.grid):
                    try:
                        self.build().set_params(**cand).clone()
                    except (AlphalabError, ValueError, TypeError) as exc:
                        raise ValueError(f"tune.grid candidate {cand}: {exc}") from None
        return self

    def build(self) -> Any:
        """A fresh :class:`alphalab.portfolio.base.Strategy` from ``kind`` and ``params``."""
        from alphalab.portfolio.base import make_strategy

        try:
            return make_strategy(self.kind, dict(self.params))
        except (AlphalabError, ValueError, TypeError) as exc:
            raise ValueError(f"params: {exc}") from None


def _analysis_registry() -> dict[str, Any]:
    from alphalab.analyses import (
        ANALYSES,
        catalogue,  # noqa: F401  (built-ins register on import)
    )

    return ANALYSES


class AnalysisConfig(_Model):
    """One study-level analysis: a registered kind, its parameters, a unique name."""

    name: str = Field(..., pattern=_NAME_PATTERN, description="Unique name in the study.")
    kind: str = Field(..., description="A registered analysis kind, e.g. return_correlation.")
    params: dict[str, Any] = Field(default_factory=dict, description="Constructor parameters.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        registry = _analysis_registry()
        if value not in registry:
            raise ValueError(
                f"unknown analysis kind {value!r}; known kinds: {', '.join(sorted(registry)) or 'none'}"
            )
        return value

    @model_validator(mode="after")
    def _params_build(self) -> AnalysisConfig:
        self.build()
        return self

    def build(self) -> Any:
        """A fresh :class:`alphalab.analyses.Analysis` from ``kind`` and ``params``."""
        from alphalab.analyses import make_analysis

        try:
            return make_analysis(self.kind, dict(self.params))
        except (AlphalabError, ValueError, TypeError) as exc:
            raise ValueError(f"params: {exc}") from None


class FeaturesConfig(_Model):
    """Named feature sets computed once on the study's data and added to it as fields."""

    sets: list[str] = Field(
        ..., min_length=1, description="Feature-set names, e.g. seed_ta, alpha101, alpha158."
    )
    cache: bool = Field(True, description="Reuse results cached by (data hash, spec hash).")

    @field_validator("sets")
    @classmethod
    def _known_sets(cls, value: list[str]) -> list[str]:
        from alphalab.features.sets import list_feature_sets

        known = list_feature_sets()
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown feature set(s) {unknown}; known: {', '.join(known)}")
        dup = sorted({v for v in value if value.count(v) > 1})
        if dup:
            raise ValueError(f"feature set(s) listed twice: {', '.join(dup)}")
        return value


class ReportConfig(_Model):
    """What the report shows."""

    title: str | None = Field(None, description="Report title (default: the study name).")
    rolling_window: int = Field(126, ge=2, description="Bars in the rolling Sharpe window.")
    charts: bool = Field(True, description="Write PNG charts.")
    html: bool = Field(True, description="Write the self-contained report.html.")
    health: bool = Field(
        True, description="Check the data (gaps, bad prints, band breaches, ...) into health.json."
    )


class ExecutorConfig(_Model):
    """Where walk-forward folds and tuning trials run."""

    kind: Literal["serial", "process", "ray"] = Field(
        "serial", description="serial, process (local workers) or ray (a Ray cluster)."
    )
    n_jobs: int | None = Field(
        None,
        ge=1,
        description="Worker processes for kind=process (default and cap: cores // threads).",
    )
    address: str | None = Field(None, description="Ray cluster address for kind=ray.")
    threads: int = Field(
        1,
        ge=1,
        le=1024,
        strict=True,  # a YAML true / 1.5 / "2" is a mistake, not a count
        description=(
            "Threads per worker for numpy/BLAS, numba and torch, set before they load; "
            "n_jobs x threads never exceeds the cores."
        ),
    )
    connect_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds to reach the Ray cluster before failing."
    )


class StudyConfig(_Model):
    """A whole study: data, execution, strategies and report.

    Build it with :meth:`from_yaml` (relative paths then resolve against the
    YAML file's folder) or :meth:`from_dict`.
    """

    name: str = Field(
        ..., pattern=_NAME_PATTERN, description="Study name (used in run folder names)."
    )
    seed: int = Field(0, ge=0, description="Seeds every random generator.")
    data: DataConfig
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    # minItems stays in the schema; the validator gives the readable message.
    strategies: list[StrategyConfig] = Field(..., json_schema_extra={"minItems": 1})
    report: ReportConfig = Field(default_factory=ReportConfig)
    features: FeaturesConfig | None = Field(
        None, description="Feature sets added to the data before any strategy runs."
    )
    validation: ValidationSpec | None = Field(
        None,
        description="Walk-forward retraining, sealed holdout and stress slice; without it every "
        "strategy is fitted once before a single backtest.",
    )
    gates: GateSpec | None = Field(None, description="Acceptance criteria: PASS or REJECTED.")
    analyses: list[AnalysisConfig] = Field(
        default_factory=list,
        description="Study-level analyses run over every strategy's results; each becomes a "
        "report section (analyses/<name>.json in the run directory).",
    )
    guard: GuardSpec | None = Field(
        None,
        description="Leakage guard run before any result is written (default mode, 20 % of "
        "the run time, at least 2 s); mode 'off' needs a reason.",
    )
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    _profile: str | None = PrivateAttr(default=None)
    _overrides: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("strategies")
    @classmethod
    def _unique_names(cls, value: list[StrategyConfig]) -> list[StrategyConfig]:
        if not value:
            raise ValueError("at least one strategy is needed")
        names = [s.name for s in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"strategy names must be unique; duplicated: {', '.join(dup)}")
        return value

    @field_validator("analyses")
    @classmethod
    def _unique_analysis_names(cls, value: list[AnalysisConfig]) -> list[AnalysisConfig]:
        names = [a.name for a in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"analysis names must be unique; duplicated: {', '.join(dup)}")
        return value

    @model_validator(mode="after")
    def _tuning_needs_walk_forward(self) -> StudyConfig:
        tuned = [s.name for s in self.strategies if s.tune is not None]
        if tuned and self.validation is None:
            raise ValueError(
                f"strategies {tuned} declare tune, which runs on walk-forward inner splits: "
                "add a validation section (validation.walk_forward)"
            )
        return self

    # ----------------------------------------------------------- building
    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        base_dir: str | Path | None = None,
        source: str = "study",
        profile: str | None = None,
        overrides: list[str] | tuple[str, ...] = (),
    ) -> StudyConfig:
        """Validate a mapping; errors become one :class:`ConfigError` naming each key path.

        ``profile`` names an entry of the mapping's ``profiles`` section to merge in
        first (see :mod:`alphalab.profiles`); the ``profiles`` key is always dropped.
        ``overrides`` (``KEY=VALUE``, the CLI's ``--set``) are applied after the profile.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a study must be a mapping of keys, got {describe_kind(data)}")
        data = apply_profile(data, profile, source=source)
        data = apply_overrides(data, overrides, source=source)
        check_finite(data, source)
        try:
            cfg = cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {format_validation_error(exc)}") from None
        cfg._base_dir = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
        cfg._profile = profile
        cfg._overrides = tuple(overrides)
        return cfg

    @classmethod
    def from_yaml(
        cls, path: str | Path, *, profile: str | None = None, overrides: list[str] | tuple[str, ...] = ()
    ) -> StudyConfig:
        """Read and validate a YAML study file.

        Raises
        ------
        FileNotFoundError
            No such file.
        ConfigError
            YAML syntax error (with line and column) or an invalid study.
        """
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path} is a folder; give the study's YAML file")
        if not path.is_file():
            raise FileNotFoundError(f"study file not found: {path}")
        data = read_yaml_file(path)
        if data is None:
            raise ConfigError(f"{path}: the study file is empty")
        cfg = cls.from_dict(data, base_dir=path.resolve().parent, source=str(path), profile=profile,
                            overrides=overrides)
        cfg._source = path.resolve()
        return cfg

    # ----------------------------------------------------------- identity
    def canonical_json(self) -> str:
        """The validated config as JSON with sorted keys and no spaces."""
        return json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )

    def config_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json` (defaults filled in, so equal studies hash equal)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def to_yaml(self) -> str:
        """The resolved config (defaults filled in) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    # -------------------------------------------------------------- paths
    @property
    def base_dir(self) -> Path:
        """Folder that relative paths resolve against (the YAML file's folder)."""
        return self._base_dir

    @property
    def profile(self) -> str | None:
        """The profile merged in when the study was read (``--profile``), if any."""
        return self._profile

    @property
    def overrides(self) -> tuple[str, ...]:
        """The ``--set KEY=VALUE`` items applied after the profile, as typed."""
        return self._overrides

    @property
    def source(self) -> Path | None:
        """The YAML file this config came from, if any."""
        return self._source

    def resolve_source(self, value: str) -> str | Path:
        """A dataset / benchmark value as a resolved file path, or unchanged if it names no file.

        A value is a file when it exists relative to :attr:`base_dir` (or as an
        absolute path), has a data-file ending, or contains a path separator.
        """
        candidate = Path(value).expanduser()
        if not candidate.is_absolute():
            candidate = self._base_dir / candidate
        looks_like_file = value.lower().endswith(FILE_SUFFIXES) or "/" in value or "\\" in value
        if candidate.exists() or looks_like_file:
            return candidate.resolve()
        return value



# ------------------------------------------------------------------ errors
_REWRITES = (
    ("Input should be greater than or equal to", "must be >="),
    ("Input should be greater than", "must be >"),
    ("Input should be less than or equal to", "must be <="),
    ("Input should be less than", "must be <"),
    ("Input should be", "must be"),
    ("Value error, ", ""),
    ("String should match pattern", "must match pattern"),
    ("Keys should be strings", "keys must be strings"),
)


_UNION_TAGS = frozenset({"str", "int", "list[date]", "float", "none"})


def _loc_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class whose field sits at ``loc`` (to list allowed keys)."""
    model: Any = StudyConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming its key path, e.g. ``strategies[2].kind: ...``."""
    errors = []
    for err in exc.errors(include_url=False):
        # Union members (str | int | list) each report; their tags are no key paths.
        loc = tuple(p for p in err["loc"] if p not in _UNION_TAGS)
        errors.append((loc, err))
    locs = [loc for loc, _ in errors]
    lines: list[str] = []
    for loc, err in errors:
        # A union error at a key is noise when a member reported something deeper.
        if any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs):
            continue
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = f" (allowed: {', '.join(parent.model_fields)})" if parent else ""
            msg = f"unknown key{allowed}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            for old, new in _REWRITES:
                msg = msg.replace(old, new)
            if msg.startswith("params: "):
                loc, msg = (*loc, "params"), msg.removeprefix("params: ")
        line = f"{_loc_path(loc)}: {msg}"
        if line not in lines:
            lines.append(line)
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems: " + "; ".join(lines)


# ------------------------------------------------------------------ schema
def study_schema() -> dict[str, Any]:
    """The JSON schema of a study file."""
    schema = StudyConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "alphalab study"
    # Stripped before validation (see alphalab.profiles), so documented here by hand.
    schema.setdefault("properties", {})[PROFILES_KEY] = {
        "type": "object",
        "description": "Named partial studies merged over this file by `--profile NAME` "
        "(mappings merge by key, lists of named items by name, anything else is replaced).",
        "additionalProperties": {"type": "object"},
    }
    return schema


def export_schema(path: str | Path) -> Path:
    """Write :func:`study_schema` as indented JSON to ``path``; returns the path."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the schema's file name")
    for part in path.parents:
        if part.exists() and not part.is_dir():
            raise ConfigError(f"cannot write {path}: {part} is a file, not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(study_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
