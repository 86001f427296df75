"""The Erdős–Rényi baseline for graph generation (the paper's E-R row on Laman graphs).

Each sample is a ``G(n, p)`` graph: the node count ``n`` is drawn from the empirical
distribution of the training graphs' node counts (a uniformly chosen training graph's
count), and every one of the ``n(n - 1)/2`` node pairs is an edge independently with the
same probability ``p``, the mean density of the training graphs,
``p = mean over training graphs of 2 m / (n (n - 1))`` (graphs with fewer than two nodes
left out). The expected density of a sample is then the data's mean density; the edge
count is not tied to ``2n - 3``, so samples are rarely Laman (the paper reports 8 %
validity for its E-R baseline).

Sample ``i`` is drawn from its own generator seeded with ``(seed, i)``: a seed fixes the
samples, and the first ``k`` of ``generate(m)`` are ``generate(k)``.
"""
from __future__ import annotations

import logging
from typing import Sequence

import networkx as nx
import numpy as np

__all__ = ["ErdosRenyiGenerator"]

logger = logging.getLogger(__name__)


class ErdosRenyiGenerator:
    """``G(n, p)`` graphs matching the training graphs' node counts and mean density.

    Args:
        train_graphs: the training graphs (at least one with two or more nodes).
        seed: fixes the samples (default 0); sample ``i`` uses ``(seed, i)``.

    Attributes:
        node_counts: int64 ``[len(train_graphs)]``, the training node counts drawn from.
        p: the edge probability, the training graphs' mean density.
    """

    def __init__(self, train_graphs: Sequence[nx.Graph], seed: int = 0) -> None:
        counts = np.array([g.number_of_nodes() for g in train_graphs], dtype=np.int64)
        densities = [
            2.0 * g.number_of_edges() / (g.number_of_nodes() * (g.number_of_nodes() - 1))
            for g in train_graphs
            if g.number_of_nodes() >= 2
        ]
        if not densities:
            raise ValueError("the Erdős–Rényi baseline needs training graphs with at least two nodes")
        self.node_counts = counts
        self.p = float(np.mean(densities))
        self.seed = seed
        logger.debug("Erdős–Rényi baseline: %d training graphs, p = %.4f", counts.size, self.p)

    def sample(self, index: int) -> nx.Graph:
        """Sample number ``index`` (nodes ``0..n-1``), from a generator seeded with ``(seed, index)``."""
        rng = np.random.default_rng([self.seed, index])
        n = int(self.node_counts[rng.integers(self.node_counts.size)])
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        rows, cols = np.triu_indices(n, k=1)
        keep = rng.random(rows.size) < self.p
        graph.add_edges_from(zip(rows[keep].tolist(), cols[keep].tolist()))
        return graph

    def generate(self, number_samples: int) -> list[nx.Graph]:
        """``number_samples`` graphs (the same ones for the same seed)."""
        return [self.sample(i) for i in range(number_samples)]
