"""The cluster-RL pipeline (recipe R1) as one walk-forward Strategy, kind ``cluster_rl``.

``fit(panel, until)`` reads rows ``<= until`` only: features, monthly clusters (each
on its month end's snapshot, slots aligned month to month), the signal agent
(trained on the window's first part, early-stopped on its last ``val_days`` rows)
and the allocator. ``decide`` extends the clusters to the decision dates (a month
end's clusters are used from the next bar on) and maps signal and allocation to
long-only weights: a slot's weight is shared equally by the members the signal
holds (``signal > 0``); no weight is ever negative, so no short order exists.

Variants for the baselines (same folds, rules and clusters): ``signal`` in
``random`` (uniform signal per stock and date, seeded), ``lightgbm`` (the models
layer's forecaster on the same features, forecast above the cross-sectional
median), ``none`` (every member held); ``allocator`` in ``equal`` and ``random``
(Dirichlet weights).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from alphalab.data.panel import Panel
from alphalab.errors import ConfigError
from alphalab.models.cluster_rl import agents
from alphalab.models.cluster_rl.clustering import (
    METHODS,
    align_labels,
    cluster_snapshot_cached,
    month_end_rows,
    stability,
)
from alphalab.models.cluster_rl.features import GROUPS, RATIOS, build_features, check_transforms
from alphalab.portfolio.base import Requirements, Strategy, decision_rows, register_strategy

__all__ = ["ClusterRLStrategy"]

SIGNALS = ("a2c", "ppo", "random", "lightgbm", "none")
ALLOCS = ("ddpg", "sac", "ppo", "equal", "random")


@register_strategy("cluster_rl")
class ClusterRLStrategy(Strategy):
    """Monthly clusters, an RL signal agent and an RL allocator over the clusters.

    Parameters
    ----------
    features : list of {"technical", "fundamental", "flow"}
    fundamentals : str, optional
        Quarterly fundamentals file (Parquet / CSV; relative to the working
        directory or the repository's parent).
    ratios : list of str, optional
        Ratio columns (default: the ten of :data:`~.features.RATIOS`).
    cluster : {"tsne_dbscan", "pca_kmeans", "umap_hdbscan"}
    cluster_params : dict, optional
        Passed to :func:`~.clustering.cluster_snapshot`.
    max_clusters : int
        Cluster slots (with ``outliers="own"`` the last holds the outliers).
    outliers : {"own", "exclude"}
    signal : {"a2c", "ppo", "random", "lightgbm", "none"}
    allocator : {"ddpg", "sac", "ppo", "equal", "random"}
    signal_steps, alloc_steps : int
        Environment steps of each training.
    n_seeds : int
        Signal agents trained with seeds ``random_state + i``; their signals are averaged.
    policy : {"mlp", "lstm"}
        Signal agent network: an MLP on the stacked ``window`` rows, or an LSTM-64
        actor-critic (sb3-contrib RecurrentPPO; needs ``signal: ppo``) that reads
        ``warmup`` bars before each date.
    per_cluster : bool
        One signal agent per cluster slot, trained on the slot's members at the
        fit's last month end and scoring the stocks in that slot (a slot without
        members then uses the mean of the other slots' agents); default one agent
        shared by every stock, the slot among its inputs.
    warmup : int
        Bars a recurrent signal agent reads before each date.
    zwindow : int
        Rolling z-score window of the technicals (60: the founding study's).
    transforms : dict, optional
        Scaling per feature group, e.g. ``{technical: zscore_rank, fundamental:
        rank}`` (:data:`~.features.TRANSFORMS`; default the founding study's:
        rolling z-scores, min-max across stocks).
    chunks, patience : int
        Early stopping of the signal agent (rounds, rounds without gain).
    window : int
        Feature rows per signal observation.
    n_envs : int
        Parallel single-stock environments of the signal agent.
    vec_env : {"dummy", "subproc"}
        Those environments stepped as one batch in-process, or each in a worker
        process (identical rollouts; worth it only with idle cores).
    train_days, val_days : int
        Training window (rows before ``until``) and its validation tail.
    market : str, optional
        Market rules of the training environment (default: the panel's).
    costs : dict, optional
        :class:`~alphalab.backtest.costs.Costs` fields of the training environment.
    cost_bps : float, optional
        None (default): the allocator's reward is net of the market's own
        commission, taxes and slippage (``costs``) on its buys and sells, as the
        backtest engine charges them (:func:`~.agents.market_cost_rates`); a
        number: a flat cost in basis points per unit bought or sold instead
        (sensitivity runs).
    random_state : int, optional
    """

    requires: ClassVar[Requirements] = Requirements(fields=("open", "high", "low", "close", "volume"),
                                                    min_history=120, learns=True)

    def __init__(
        self,
        features: Any = ("technical", "fundamental"),
        fundamentals: str | None = None,
        ratios: Any = None,
        cluster: str = "tsne_dbscan",
        cluster_params: dict[str, Any] | None = None,
        max_clusters: int = 5,
        outliers: str = "own",
        signal: str = "a2c",
        allocator: str = "ddpg",
        signal_steps: int = 4000,
        alloc_steps: int = 2000,
        n_seeds: int = 1,
        policy: str = "mlp",
        per_cluster: bool = False,
        warmup: int = 20,
        zwindow: int = 60,
        transforms: dict[str, str] | None = None,
        chunks: int = 4,
        patience: int = 2,
        window: int = 5,
        n_envs: int = 8,
        vec_env: str = "dummy",
        train_days: int = 500,
        val_days: int = 60,
        market: str | None = None,
        costs: dict[str, Any] | None = None,
        cost_bps: float | None = None,
        random_state: int | None = None,
    ) -> None:
        self.features = features
        self.fundamentals = fundamentals
        self.ratios = ratios
        self.cluster = cluster
        self.cluster_params = cluster_params
        self.max_clusters = max_clusters
        self.outliers = outliers
        self.signal = signal
        self.allocator = allocator
        self.signal_steps = signal_steps
        self.alloc_steps = alloc_steps
        self.n_seeds = n_seeds
        self.policy = policy
        self.per_cluster = per_cluster
        self.warmup = warmup
        self.zwindow = zwindow
        self.transforms = transforms
        self.chunks = chunks
        self.patience = patience
        self.window = window
        self.n_envs = n_envs
        self.vec_env = vec_env
        self.train_days = train_days
        self.val_days = val_days
        self.market = market
        self.costs = costs
        self.cost_bps = cost_bps
        self.random_state = random_state

    # ----------------------------------------------------------- checks
    def _validate(self) -> None:
        def intp(name: str, lo: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"cluster_rl: {name} must be an integer >= {lo}, got {v!r}")

        for name, lo in (("max_clusters", 2), ("signal_steps", 1), ("alloc_steps", 1), ("n_seeds", 1), ("zwindow", 2), ("chunks", 1),
                         ("patience", 1), ("window", 1), ("n_envs", 1), ("train_days", 40), ("val_days", 0), ("warmup", 1)):
            intp(name, lo)
        if self.val_days >= self.train_days // 2:
            raise ConfigError(f"cluster_rl: val_days ({self.val_days}) must be under half of train_days")
        for name, value, kinds in (("cluster", self.cluster, METHODS), ("signal", self.signal, SIGNALS),
                                   ("allocator", self.allocator, ALLOCS), ("outliers", self.outliers, ("own", "exclude")),
                                   ("policy", self.policy, agents.POLICIES), ("vec_env", self.vec_env, agents.VEC_ENVS)):
            if value not in kinds:
                raise ConfigError(f"cluster_rl: {name} must be one of {list(kinds)}, got {value!r}")
        if self.policy == "lstm" and self.signal in ("a2c",):
            raise ConfigError("cluster_rl: policy 'lstm' needs signal 'ppo' (sb3-contrib's RecurrentPPO; "
                              "there is no recurrent A2C)")
        if not isinstance(self.per_cluster, bool):
            raise ConfigError(f"cluster_rl: per_cluster must be true or false, got {self.per_cluster!r}")
        feats = [self.features] if isinstance(self.features, str) else list(self.features)
        bad = [g for g in feats if g not in GROUPS]
        if bad or not feats:
            raise ConfigError(f"cluster_rl: features must list groups of {list(GROUPS)}, got {self.features!r}")
        check_transforms(self.transforms)
        if self.cluster_params is not None and not isinstance(self.cluster_params, dict):
            raise ConfigError(f"cluster_rl: cluster_params must be a mapping, got {self.cluster_params!r}")
        if self.cost_bps is not None and not (isinstance(self.cost_bps, (int, float)) and not isinstance(self.cost_bps, bool)
                                              and np.isfinite(self.cost_bps) and self.cost_bps >= 0):
            raise ConfigError(f"cluster_rl: cost_bps must be null (the market's costs) or a number >= 0, "
                              f"got {self.cost_bps!r}")
        if self.costs is not None:
            from alphalab.backtest.costs import Costs

            if not isinstance(self.costs, dict):
                raise ConfigError(f"cluster_rl: costs must be a mapping of Costs fields, got {self.costs!r}")
            try:
                Costs(**self.costs)
            except TypeError as exc:
                raise ConfigError(f"cluster_rl: costs: {exc}") from None

    def check(self, panel: Panel) -> None:
        """Refuse bad parameters and data up front (the runner calls this before any fold)."""
        self._validate()
        super().check(panel)

    def _seed(self) -> int:
        return 0 if self.random_state is None else int(self.random_state)

    # ----------------------------------------------------------- pieces
    def _features(self, panel: Panel) -> tuple[np.ndarray, list[str]]:
        """Base features ``(n_dates, n_assets, F)`` float64 (NaN kept)."""
        groups = [self.features] if isinstance(self.features, str) else list(self.features)
        feats = build_features(panel, groups, fundamentals=self.fundamentals,
                               ratios=tuple(self.ratios) if self.ratios else RATIOS, zwindow=self.zwindow,
                               transforms=self.transforms)
        names = sorted(feats)
        return np.stack([np.asarray(feats[n], dtype=np.float64) for n in names], axis=-1), names

    def _extend_clusters(self, panel: Panel, x: np.ndarray, upto: int,
                         months: list[pd.Timestamp], slots_list: list[np.ndarray]) -> np.ndarray:
        """Cluster every month end after the last one in ``months`` and up to row ``upto``.

        Appends to ``months`` / ``slots_list`` (callers pass copies in ``decide`` so a
        decision never changes the fitted state) and returns the last embedding.
        """
        dates = panel.dates
        emb_last = np.zeros((0, 2))
        close = np.asarray(panel["close"], dtype=np.float64)
        for m in month_end_rows(dates[: upto + 1]):
            d = dates[m]
            if m < self.first_row_ or (months and d <= months[-1]):
                continue
            snap = x[m]
            # a feature most stocks lack that day (a ratio banks do not report) is dropped;
            # a stock missing a few of the rest gets the day's median for them
            cols = np.isfinite(snap).mean(axis=0) > 0.5
            snap = snap[:, cols]
            ok = (np.isfinite(snap).mean(axis=1) >= 0.8) & np.isfinite(close[m]) if cols.any() else np.zeros(len(snap), bool)
            raw = np.full(panel.n_assets, -2, dtype=np.int64)
            emb = np.full((panel.n_assets, 2), np.nan)
            if ok.sum() >= 4:
                sub = snap[ok]
                med = np.nanmedian(sub, axis=0)
                sub = np.where(np.isfinite(sub), sub, med)
                lab, e = cluster_snapshot_cached(sub, self.cluster, params=self.cluster_params, seed=self._seed())
                raw[ok] = lab
                emb[ok] = e
            prev = slots_list[-1] if slots_list else None
            slots = align_labels(prev, raw, self.max_clusters, self.outliers)
            slots[raw == -2] = -1
            months.append(d)
            slots_list.append(slots)
            emb_last = emb
        return emb_last

    def _slot_rows(self, dates: pd.DatetimeIndex, months: list[pd.Timestamp], slots_list: list[np.ndarray]) -> np.ndarray:
        """Slot per row and stock from the latest month end strictly before the row, ``(n, A)``."""
        out = np.full((len(dates), len(self.assets_)), -1, dtype=np.int64)
        if not months:
            return out
        pos = np.searchsorted(pd.DatetimeIndex(months).values, dates.values, side="left") - 1
        stacked = np.stack(slots_list)
        out[pos >= 0] = stacked[pos[pos >= 0]]
        return out

    def _obs_feats(self, x: np.ndarray, slots: np.ndarray) -> np.ndarray:
        onehot = (slots[..., None] == np.arange(self.max_clusters)).astype(np.float64)
        return np.nan_to_num(np.concatenate([x, onehot], axis=2), nan=0.0).astype(np.float32)

    def _agent_signal(self, by_slot: dict[int, Any], of: np.ndarray, rows: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """One seed's signal: the shared agent (key -1) or each stock's slot agent."""
        sig = {s: agents.policy_signal(m, of, rows, self.window, self.warmup) for s, m in by_slot.items()}
        if -1 in sig:
            return sig[-1]
        fallback = np.mean(list(sig.values()), axis=0)  # a slot that had no members at the fit
        at = slots[rows]
        out = fallback.copy()
        for s, v in sig.items():
            out[at == s] = v[at == s]
        return out

    def _signals(self, panel: Panel, x: np.ndarray, rows: np.ndarray, of: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Signal per row of ``rows`` and stock, ``(len(rows), A)``; ``slots`` ``(n, A)`` per row."""
        if self.signal in ("a2c", "ppo"):
            return np.mean([self._agent_signal(by_slot, of, rows, slots) for by_slot in self.agent_], axis=0)
        if self.signal == "none":
            return np.ones((len(rows), panel.n_assets))
        if self.signal == "random":
            out = np.empty((len(rows), panel.n_assets))
            for i, r in enumerate(rows):  # seeded per date: the same date draws the same numbers
                g = np.random.default_rng([self._seed(), int(panel.dates[r].value // 86_400_000_000_000)])
                out[i] = g.uniform(-1, 1, panel.n_assets)
            return out
        fields = {f"crl_{k}": x[:, :, k] for k in range(x.shape[2])}
        fc = self.agent_.predict(panel.with_fields(**fields), panel.dates[rows])
        m = np.asarray(fc.mean, dtype=np.float64)
        return m - np.nanmedian(np.where(np.isfinite(m), m, np.nan), axis=1, keepdims=True)

    def _slot_series(self, close: np.ndarray, slots: np.ndarray, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row t: slot return over bar t (members held at t-1) and active share at t."""
        k = self.max_clusters
        with np.errstate(divide="ignore", invalid="ignore"):
            r = close[1:] / close[:-1] - 1.0
        n = len(close)
        ret = np.full((n, k), np.nan)
        share = np.zeros((n, k))
        for t in range(n):
            held = (sig[t] > 0)
            for s in range(k):
                mem = slots[t] == s
                if mem.any():
                    share[t, s] = held[mem].mean()
                if t > 0:
                    m2 = (slots[t - 1] == s) & (sig[t - 1] > 0) & np.isfinite(r[t - 1])
                    if m2.any():
                        ret[t, s] = r[t - 1][m2].mean()
        return ret, share

    # ----------------------------------------------------------- contract
    def fit(self, panel: Panel, until: Any = None) -> ClusterRLStrategy:
        from alphalab.validation.executors import torch_seed_and_threads

        self.check(panel)
        until = panel.dates[-1] if until is None else pd.Timestamp(until)
        p = panel.until(until)
        seed = self._seed()
        market = self.market or p.meta.get("market") or "us"
        self.market_ = market
        self.assets_ = list(p.assets)
        x, self.feature_names_ = self._features(p)
        n = p.n_dates
        r0 = max(self.window, n - self.train_days)
        self.first_row_ = max(0, r0 - 45)  # a month end before the window seeds the slots
        self.months_: list[pd.Timestamp] = []
        self.slots_: list[np.ndarray] = []
        self.embedding_ = self._extend_clusters(p, x, n - 1, self.months_, self.slots_)
        slots = self._slot_rows(p.dates, self.months_, self.slots_)
        of = self._obs_feats(x, slots)
        close = np.asarray(p["close"], dtype=np.float64)
        costs = None
        if self.costs:
            from alphalab.backtest.costs import Costs

            costs = Costs(**self.costs)
        curves: dict[str, Any] = {"training_curve": [], "val_curve": []}
        torch_seed_and_threads(seed, 1)
        split = n - self.val_days
        if self.signal in ("a2c", "ppo"):
            sub = p.iloc_dates(slice(r0 - self.window, split))
            with np.errstate(divide="ignore", invalid="ignore"):
                fwd = np.log(close[1:] / close[:-1])
            vrows = np.arange(max(split, self.window - 1), n - 1)
            # one shared agent (key -1), or one per slot with members at the last month end
            groups = ({-1: None} if not self.per_cluster else
                      {s: np.flatnonzero(self.slots_[-1] == s) for s in range(self.max_clusters)
                       if self.slots_ and (self.slots_[-1] == s).any()})
            if not groups:
                raise ConfigError("cluster_rl: per_cluster needs at least one clustered month end in the "
                                  "training window")
            self.agent_ = []
            for i in range(self.n_seeds):  # several seeds: one agent (set) each, signals averaged
                by_slot: dict[int, Any] = {}
                for s, members in groups.items():
                    vfwd = fwd[vrows]
                    if members is not None:  # a slot's agent is scored on its own members
                        vfwd = np.where(slots[vrows] == s, vfwd, np.nan)
                    model, c = agents.train_signal_agent(
                        sub, of[r0 - self.window : split], market, algo=self.signal, steps=self.signal_steps,
                        chunks=self.chunks, patience=self.patience, window=self.window, n_envs=self.n_envs,
                        val=(of, vrows, vfwd) if len(vrows) else None, costs=costs, seed=seed + i,
                        policy=self.policy, assets=members, warmup=self.warmup, vec_env=self.vec_env)
                    first = not by_slot  # the seed's shared agent, or its first slot's
                    by_slot[int(s)] = model
                    curves.setdefault("agents", []).append({"seed": seed + i, "slot": int(s), **c})
                    for key in ("training_curve", "val_curve"):
                        if first:
                            curves.setdefault(f"{key}_by_seed", []).append(c[key])
                            if i == 0:
                                curves[key] = c[key]
                self.agent_.append(by_slot)
        elif self.signal == "lightgbm":
            from alphalab.models.lightgbm import LightGBMForecaster

            fields = {f"crl_{k}": x[:, :, k] for k in range(x.shape[2])}
            self.agent_ = LightGBMForecaster(horizon=5, features=list(fields), n_estimators=100, num_leaves=15,
                                             min_child_samples=50, train_window=self.train_days, random_state=seed)
            self.agent_.fit(p.with_fields(**fields), until)
        rows = np.arange(r0, n)
        sig = self._signals(p, x, rows, of, slots)
        ret, share = self._slot_series(close[r0:], slots[r0:], sig)
        self.alloc_curve_: list[float] = []
        if self.allocator in ("ddpg", "sac", "ppo"):
            states = agents.alloc_states(ret, share)
            if self.cost_bps is None:  # the trade decided at row t executes on bar t + 1
                buy, sell = agents.market_cost_rates(p, market, costs)
                buy, sell = buy[r0 + 1 :], sell[r0 + 1 :]
            else:
                buy = sell = self.cost_bps / 1e4
            self.alloc_, self.alloc_curve_ = agents.train_allocator(
                states[:-1], ret[1:], algo=self.allocator, steps=self.alloc_steps, buy_cost=buy, sell_cost=sell,
                seed=seed)
        aris = stability(self.slots_)
        self.diagnostics_ = {
            "training_curve": curves.get("training_curve", []),
            "val_curve": curves.get("val_curve", []),
            "training_curve_by_seed": curves.get("training_curve_by_seed", []),
            "val_curve_by_seed": curves.get("val_curve_by_seed", []),
            "agent_curves": curves.get("agents", []),
            "allocator_curve": self.alloc_curve_,
            "features": self.feature_names_,
            "map": [[self.assets_[j], float(self.embedding_[j, 0]), float(self.embedding_[j, 1]),
                     int(self.slots_[-1][j])] for j in range(len(self.embedding_))
                    if self.slots_ and np.isfinite(self.embedding_[j]).all()],
            "clusters": [
                {"date": str(d.date()), "ari": a, "sizes": np.bincount(s[s >= 0], minlength=self.max_clusters).tolist(),
                 "members": {self.assets_[j]: int(s[j]) for j in np.flatnonzero(s >= 0)}}
                for d, s, a in zip(self.months_, self.slots_, aris, strict=True)
            ],
        }
        self.fitted_until_ = until
        return self

    def decide(self, panel: Panel, dates: pd.DatetimeIndex) -> np.ndarray:
        if list(panel.assets) != self.assets_:
            raise ConfigError("cluster_rl: decide() got a panel with other assets than fit()")
        rows = decision_rows(panel, dates)
        last = int(rows.max())
        p = panel.iloc_dates(slice(0, last + 1))  # nothing after the last decision is read
        x, _ = self._features(p)
        months, slots_list = list(self.months_), list(self.slots_)
        self._extend_clusters(p, x, last, months, slots_list)
        slots = self._slot_rows(p.dates, months, slots_list)
        of = self._obs_feats(x, slots)
        lo = max(self.window, int(rows.min()) - 21)
        span = np.arange(lo, last + 1)
        sig = self._signals(p, x, span, of, slots)
        close = np.asarray(p["close"], dtype=np.float64)
        ret, share = self._slot_series(close[lo:], slots[lo:], sig)
        states = agents.alloc_states(ret, share)
        k = self.max_clusters
        out = np.zeros((len(rows), p.n_assets))
        cw = np.r_[np.zeros(k), 1.0]
        recs = []
        for i, r in enumerate(rows):
            j = r - lo
            if self.allocator in ("ddpg", "sac", "ppo"):
                act, _ = self.alloc_.predict(np.concatenate([states[j], cw.astype(np.float32)]), deterministic=True)
                cw = agents.softmax(np.asarray(act, dtype=np.float64) * 5.0)
            elif self.allocator == "random":
                g = np.random.default_rng([self._seed(), 1, int(p.dates[r].value // 86_400_000_000_000)])
                cw = g.dirichlet(np.ones(k + 1))
            else:
                present = np.array([(slots[r] == s).any() for s in range(k)], dtype=float)
                cw = np.r_[present / max(present.sum(), 1.0), 0.0]
            held = (slots[r] >= 0) & (sig[j] > 0) & np.isfinite(close[r])
            for s in range(k):
                mem = held & (slots[r] == s)
                if mem.any():
                    out[i, mem] = cw[s] / mem.sum()
            for a in np.flatnonzero(slots[r] >= 0):
                recs.append((p.dates[r], self.assets_[a], float(slots[r, a]), float(sig[j, a]), float(out[i, a])))
        self.forecasts_ = pd.DataFrame(recs, columns=["date", "ticker", "cluster", "mean", "weight"])
        return out
