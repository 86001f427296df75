"""The paper's random Laman graphs: Henneberg constructions from a triangle.

A graph of regime ``r`` and index ``i`` under ``seed`` draws, from
``np.random.default_rng(np.random.SeedSequence([seed, REGIMES.index(r), i]))`` and in this
order: ``p ~ U(lo, hi)`` of the regime (``low`` ``U(0, 0.1)``, ``med`` ``U(0.4, 0.6)``, ``high``
``U(0.9, 1)``); the node count ``n = max(4, round(Normal(30, 5)))``; then for each node
after the triangle one uniform number, Henneberg I when it is below ``p`` (on a uniform
pair of distinct nodes) and Henneberg II otherwise (on a uniform edge and a uniform node
other than its endpoints). Nodes are numbered in construction order. Each graph depends
only on ``(seed, regime, index)``, never on how many graphs are made or in what order.
"""
from __future__ import annotations

import logging
from typing import Iterable

import numpy as np

from ric.laman.graph import LamanGraph, canonical_key

__all__ = ["REGIMES", "REGIME_P", "random_laman_graph", "make_graph", "make_dataset", "make_splits"]

logger = logging.getLogger(__name__)

#: Regime names, in the order that seeds them.
REGIMES = ("low", "med", "high")
#: Range of the per-graph Henneberg I probability ``p`` of each regime.
REGIME_P = {"low": (0.0, 0.1), "med": (0.4, 0.6), "high": (0.9, 1.0)}

_MEAN_NODES, _SD_NODES, _MIN_NODES = 30.0, 5.0, 4


def random_laman_graph(rng: np.random.Generator, num_nodes: int, p_hi: float,
                       counts: list[int] | None = None) -> LamanGraph:
    """Grow a Laman graph from a triangle to ``num_nodes`` nodes by random Henneberg moves.

    Args:
        rng: source of randomness.
        num_nodes: final node count (>= 3).
        p_hi: probability that a node is added by Henneberg I (else II).
        counts: if given, ``counts[0]`` and ``counts[1]`` are increased by the number of
            Henneberg I and II moves made (default ``None``).
    """
    if num_nodes < 3:
        raise ValueError(f"a Laman state has at least 3 nodes, not {num_nodes}")
    edges = [(0, 1), (0, 2), (1, 2)]
    hi = 0
    for v in range(3, num_nodes):
        if rng.random() < p_hi:
            a = int(rng.integers(v))
            b = int(rng.integers(v - 1))
            b += b >= a
            edges += [(a, v), (b, v)]
            hi += 1
        else:
            k = int(rng.integers(len(edges)))
            a, b = edges[k]
            c = int(rng.integers(v - 2))
            c += c >= min(a, b)
            c += c >= max(a, b)
            edges[k] = edges[-1]
            edges.pop()
            edges += [(a, v), (b, v), (c, v)]
    if counts is not None:
        counts[0] += hi
        counts[1] += num_nodes - 3 - hi
    return LamanGraph(num_nodes, edges)


def _regime_index(regime: str) -> int:
    if regime not in REGIME_P:
        raise ValueError(f"unknown regime {regime!r}; choose one of {', '.join(REGIMES)}")
    return REGIMES.index(regime)


def make_graph(regime: str, seed: int, index: int, counts: list[int] | None = None) -> LamanGraph:
    """Graph ``index`` of ``regime`` under ``seed`` (see the module docstring).

    Args:
        regime: ``"low"``, ``"med"`` or ``"high"``.
        seed, index: non-negative integers.
        counts: as :func:`random_laman_graph` (default ``None``).
    """
    r = _regime_index(regime)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), r, int(index)]))
    lo, hi = REGIME_P[regime]
    p = rng.uniform(lo, hi)
    n = max(_MIN_NODES, int(round(rng.normal(_MEAN_NODES, _SD_NODES))))
    return random_laman_graph(rng, n, p, counts)


def make_dataset(num_graphs: int, regime: str = "low", seed: int = 0, start: int = 0) -> list[LamanGraph]:
    """Graphs ``start .. start + num_graphs - 1`` of ``regime`` under ``seed`` (duplicates kept).

    Args:
        num_graphs: how many (>= 0).
        regime: ``"low"`` (default), ``"med"`` or ``"high"``.
        seed: base seed (default 0).
        start: index of the first graph (default 0).
    """
    _regime_index(regime)
    return [make_graph(regime, seed, i) for i in range(start, start + num_graphs)]


def make_splits(sizes: Iterable[int] = (10_000, 1_000, 1_000), regime: str = "low", seed: int = 0,
                names: Iterable[str] = ("train", "valid", "test")) -> tuple[dict[str, list[LamanGraph]], int]:
    """Splits disjoint up to isomorphism: graphs ``0, 1, 2, ...`` of ``regime`` under ``seed``,
    keeping the first graph of each isomorphism class (by :func:`canonical_key`), cut in
    order into consecutive splits of ``sizes``.

    Args:
        sizes: graphs per split (default 10,000 / 1,000 / 1,000).
        regime: default ``"low"``.
        seed: default 0.
        names: split names (default train, valid, test).

    Returns:
        ``(splits, drawn)``: split name -> graphs, and how many graphs were drawn (the
        difference from the total size is the number of isomorphic repeats dropped).
    """
    sizes, names = list(sizes), list(names)
    if len(sizes) != len(names):
        raise ValueError(f"{len(sizes)} sizes for {len(names)} split names")
    total = sum(sizes)
    seen: set[str] = set()
    kept: list[LamanGraph] = []
    index = 0
    while len(kept) < total:
        g = make_graph(regime, seed, index)
        index += 1
        key = canonical_key(g)
        if key not in seen:
            seen.add(key)
            kept.append(g)
    if index > total:
        logger.info("dropped %d graphs isomorphic to earlier ones", index - total)
    splits, at = {}, 0
    for name, size in zip(names, sizes):
        splits[name] = kept[at:at + size]
        at += size
    return splits, index
