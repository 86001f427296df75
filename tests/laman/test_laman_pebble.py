"""The (2,3) pebble game against brute-force subset counting."""
from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pytest
from laman_brute import brute_independent, brute_laman, brute_violation

from ric.laman.data import random_laman_graph
from ric.laman.pebble import (
    delete_and_renumber,
    is_independent,
    is_laman,
    laman_violation,
    pebble_orientation,
    remove_node,
    try_add_edge,
)


def _witness(message: str) -> list[int]:
    return [int(x) for x in re.search(r"\{([\d,]+)\}", message).group(1).split(",")]


def _check_witness(n, edges, message):
    nodes = set(_witness(message))
    k = len(nodes)
    inside = sum(1 for a, b in edges if a in nodes and b in nodes)
    assert k >= 2 and inside > 2 * k - 3, message


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_is_laman_on_every_graph_with_2n_minus_3_edges(n):
    pairs = list(combinations(range(n), 2))
    laman = 0
    for edges in combinations(pairs, 2 * n - 3):
        expected = brute_laman(n, edges)
        assert is_laman(n, edges) == expected, edges
        problem = laman_violation(n, edges)
        assert (problem is None) == expected
        if problem is not None:
            _check_witness(n, edges, problem)
        laman += expected
    # labelled Laman graphs (the 5-node count by hand: 120 edge sets minus the 5 * 4 that hold a K4)
    assert laman == {2: 1, 3: 1, 4: 6, 5: 100, 6: 3355}[n]


@pytest.mark.parametrize("n", [3, 4, 5])
def test_independence_on_every_edge_set(n):
    pairs = list(combinations(range(n), 2))
    for mask in range(1 << len(pairs)):
        edges = [pairs[i] for i in range(len(pairs)) if mask >> i & 1]
        assert is_independent(n, edges) == brute_independent(n, edges), edges


def test_random_laman_and_non_laman_graphs_up_to_8_nodes():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n = int(rng.integers(3, 9))
        g = random_laman_graph(rng, n, float(rng.random()))
        assert is_laman(g.n, g.edges) and brute_laman(g.n, g.edges.tolist())
        # shuffle the edge order: the answer must not depend on it
        order = rng.permutation(len(g.edges))
        assert is_laman(g.n, g.edges[order])
    seen_true = seen_false = 0
    for _ in range(300):
        n = int(rng.integers(3, 9))
        pairs = list(combinations(range(n), 2))
        pick = rng.choice(len(pairs), size=2 * n - 3, replace=False)
        edges = [pairs[i] for i in pick]
        expected = brute_laman(n, edges)
        assert is_laman(n, edges) == expected
        problem = laman_violation(n, edges)
        if problem is not None:
            _check_witness(n, edges, problem)
        seen_true += expected
        seen_false += not expected
    assert seen_true and seen_false


def test_violation_messages():
    assert "2n-3 = 3" in laman_violation(3, [(0, 1), (1, 2)])
    assert "repeated" in laman_violation(3, [(0, 1), (1, 0), (1, 2)])
    assert "self-loop" in laman_violation(3, [(0, 1), (1, 1), (1, 2)])
    assert laman_violation(1, []) is not None
    assert not is_laman(3, [(0, 1), (0, 1), (1, 2)])


def test_orientation_is_a_valid_game_state():
    rng = np.random.default_rng(1)
    for _ in range(50):
        g = random_laman_graph(rng, int(rng.integers(4, 40)), float(rng.random()))
        out = pebble_orientation(g.n, g.edges)
        assert all(len(heads) <= 2 for heads in out)
        assert sorted(tuple(sorted((u, v))) for u in range(g.n) for v in out[u]) == sorted(map(tuple, g.edges.tolist()))
        assert sum(2 - len(heads) for heads in out) == 3  # a Laman graph keeps 3 free pebbles


def test_node_removal_and_edge_test_match_brute_force():
    rng = np.random.default_rng(2)
    for _ in range(60):
        g = random_laman_graph(rng, int(rng.integers(4, 9)), float(rng.random()))
        out = pebble_orientation(g.n, g.edges)
        for v in range(g.n):
            nbrs = sorted(g.neighbors[v])
            removed = remove_node(out, v, nbrs)
            assert sum(2 - len(h) for h in removed) - 2 == 2 * (g.n - 1) - (len(g.edges) - len(nbrs))
            rest = [(a, b) for a, b in g.edges.tolist() if v not in (a, b)]
            for a, b in combinations([u for u in range(g.n) if u != v], 2):
                if g.has_edge(a, b):
                    continue
                work = [list(h) for h in removed]
                expected = brute_independent(g.n, rest + [(a, b)])
                assert try_add_edge(work, a, b) == expected
            renumbered = delete_and_renumber(removed, v)
            assert len(renumbered) == g.n - 1
            shifted = sorted(tuple(sorted((x - (x > v), y - (y > v)))) for x, y in rest)
            assert sorted(tuple(sorted((u, w))) for u in range(g.n - 1) for w in renumbered[u]) == shifted


def test_witness_is_always_a_violating_set():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(4, 9))
        pairs = list(combinations(range(n), 2))
        edges = [pairs[i] for i in rng.choice(len(pairs), size=2 * n - 3, replace=False)]
        problem = laman_violation(n, edges)
        assert (problem is None) == (brute_violation(n, edges) is None)
        if problem is not None:
            _check_witness(n, edges, problem)
