"""Recipe R1: monthly stock clusters, RL signal agents and an RL allocator (Vietnam)."""

from alphalab.models.cluster_rl.strategy import ClusterRLStrategy

__all__ = ["ClusterRLStrategy"]
