"""LamanGraph, graph6 text and files, and the exact canonical form."""
from __future__ import annotations

import pickle
import statistics
import time

import networkx as nx
import numpy as np
import pytest

from ric.laman.graph import (
    LamanGraph,
    canonical_key,
    canonical_labelling,
    from_graph6,
    read_graph6,
    to_graph6,
    write_graph6,
)


def _random_graphs(seed: int, count: int, sizes=range(0, 12)):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.choice(list(sizes)))
        out.append(nx.gnp_random_graph(n, float(rng.uniform(0.1, 0.9)), seed=int(rng.integers(1 << 30))))
    return out


def _shrikhande():
    g = nx.Graph()
    for a in range(4):
        for b in range(4):
            for da, db in ((1, 0), (0, 1), (1, 1)):
                g.add_edge((a, b), ((a + da) % 4, (b + db) % 4))
    return g


SYMMETRIC = {
    "cycle7": nx.cycle_graph(7),
    "cycle12": nx.cycle_graph(12),
    "two_triangles": nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3)),
    "hexagon": nx.cycle_graph(6),
    "K33": nx.complete_bipartite_graph(3, 3),
    "K44": nx.complete_bipartite_graph(4, 4),
    "K35": nx.complete_bipartite_graph(3, 5),
    "wheel8": nx.wheel_graph(8),
    "wheel15": nx.wheel_graph(15),
    "petersen": nx.petersen_graph(),
    "cube4": nx.convert_node_labels_to_integers(nx.hypercube_graph(4)),
    "K6": nx.complete_graph(6),
    "empty5": nx.empty_graph(5),
    "rook4x4": nx.convert_node_labels_to_integers(nx.cartesian_product(nx.complete_graph(4), nx.complete_graph(4))),
    "shrikhande": nx.convert_node_labels_to_integers(_shrikhande()),
    "prism": nx.circular_ladder_graph(5),
    "moebius": nx.moebius_kantor_graph(),
}


# ---------------------------------------------------------------------- the state

def test_graph_normalises_and_validates():
    g = LamanGraph(4, [(2, 0), (1, 0), (3, 1)])
    assert g.edges.tolist() == [[0, 1], [0, 2], [1, 3]]
    assert g.n == 4 and g.num_edges == 3
    assert g.degrees.tolist() == [2, 2, 1, 1]
    assert g.neighbors[0] == frozenset({1, 2})
    assert g.has_edge(1, 3) and g.has_edge(3, 1) and not g.has_edge(2, 3)
    with pytest.raises(ValueError):
        g.edges[0, 0] = 5  # immutable
    with pytest.raises(ValueError, match="self-loop"):
        LamanGraph(3, [(1, 1)])
    with pytest.raises(ValueError, match="repeated"):
        LamanGraph(3, [(0, 1), (1, 0)])
    with pytest.raises(ValueError, match="outside"):
        LamanGraph(3, [(0, 3)])


def test_networkx_and_pickle_round_trip():
    nxg = nx.gnp_random_graph(15, 0.3, seed=3)
    g = LamanGraph.from_networkx(nxg)
    assert nx.utils.graphs_equal(g.to_networkx(), nxg)
    back = pickle.loads(pickle.dumps(g))
    assert back == g and hash(back) == hash(g)
    assert back._cache == {}


# ---------------------------------------------------------------------- graph6

@pytest.mark.parametrize("n", [0, 1, 2, 5, 6, 7, 62, 63, 70])
def test_graph6_matches_networkx(n):
    for k, p in enumerate((0.0, 0.3, 1.0)):
        nxg = nx.gnp_random_graph(n, p, seed=n + k)
        g = LamanGraph.from_networkx(nxg)
        text = to_graph6(g)
        assert text == nx.to_graph6_bytes(nxg, header=False).decode().strip()
        assert from_graph6(text) == g
        assert from_graph6(b">>graph6<<" + text.encode() + b"\n") == g


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("D??a", "needs 2 characters"),
    ("D?", "needs 2 characters"),
    ("D?\x7f", "not a graph6 character"),
    (":Fa@x^", "sparse6"),
    ("&D???", "digraph6"),
])
def test_from_graph6_errors(text, match):
    with pytest.raises(ValueError, match=match):
        from_graph6(text)


def test_read_write_graph6(tmp_path):
    graphs = [LamanGraph(3, [(0, 1), (1, 2), (0, 2)]), LamanGraph(4, [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)])]
    path = tmp_path / "g.g6"
    assert write_graph6(path, graphs) == 2
    assert read_graph6(path) == graphs
    path.write_text(">>graph6<<" + to_graph6(graphs[0]) + "\n\n  \n" + to_graph6(graphs[1]) + "\n")
    assert read_graph6(path, require_laman=True) == graphs


def test_read_graph6_names_file_line_and_value(tmp_path):
    path = tmp_path / "bad.g6"
    path.write_text("Bw\n\nC^\nC^x\n")
    with pytest.raises(ValueError) as info:
        read_graph6(path)
    message = str(info.value)
    assert str(path) in message and "line 4" in message and "'C^x'" in message
    path.write_text("Bw\nC~\n")  # K4 is not Laman
    assert len(read_graph6(path)) == 2
    with pytest.raises(ValueError, match=r"line 2: not a Laman graph .*6 edges"):
        read_graph6(path, require_laman=True)


# ---------------------------------------------------------------------- canonical form

def _check_against_networkx(graphs):
    keys = [canonical_key(LamanGraph.from_networkx(g)) for g in graphs]
    for i in range(len(graphs)):
        for j in range(i + 1, len(graphs)):
            if graphs[i].number_of_nodes() != graphs[j].number_of_nodes():
                assert keys[i] != keys[j]
                continue
            assert (keys[i] == keys[j]) == nx.is_isomorphic(graphs[i], graphs[j]), (i, j)


def test_canonical_key_agrees_with_networkx_on_random_graphs():
    # small graphs repeat isomorphism classes often, so both answers are exercised
    graphs = _random_graphs(0, 150, sizes=range(1, 7))
    _check_against_networkx(graphs)


def test_canonical_key_agrees_with_networkx_on_symmetric_graphs():
    graphs = list(SYMMETRIC.values())
    rng = np.random.default_rng(1)
    # relabelled copies and one-edge perturbations (same degrees nearby, not isomorphic)
    for g in list(graphs):
        perm = dict(zip(g.nodes, rng.permutation(g.number_of_nodes()).tolist()))
        graphs.append(nx.relabel_nodes(g, perm))
        if g.number_of_edges():
            h = g.copy()
            h.remove_edge(*list(g.edges)[0])
            graphs.append(h)
    _check_against_networkx(graphs)
    # famous non-isomorphic pairs that colour refinement cannot separate
    key = lambda g: canonical_key(LamanGraph.from_networkx(g))  # noqa: E731
    assert key(SYMMETRIC["rook4x4"]) != key(SYMMETRIC["shrikhande"])
    assert key(SYMMETRIC["two_triangles"]) != key(SYMMETRIC["hexagon"])


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_canonical_key_is_invariant_under_relabelling(name):
    g = LamanGraph.from_networkx(nx.convert_node_labels_to_integers(SYMMETRIC[name]))
    key = canonical_key(g)
    rng = np.random.default_rng(2)
    for _ in range(6):
        h = g.relabel(rng.permutation(g.n))
        assert canonical_key(h) == key
        lab = canonical_labelling(h)
        assert sorted(lab.tolist()) == list(range(g.n))
        assert to_graph6(h.relabel(lab)) == key


def test_canonical_key_on_random_and_laman_graphs(bundled_train):
    rng = np.random.default_rng(3)
    graphs = _random_graphs(4, 40, sizes=range(10, 40)) + [g.to_networkx() for g in bundled_train[:40]]
    for nxg in graphs:
        g = LamanGraph.from_networkx(nxg)
        key = canonical_key(g)
        for _ in range(3):
            assert canonical_key(g.relabel(rng.permutation(g.n))) == key
        assert from_graph6(key).n == g.n
        assert nx.is_isomorphic(from_graph6(key).to_networkx(), nxg)


def test_canonical_key_is_fast_on_laman_graphs(bundled_train):
    graphs = [g for g in bundled_train[:300]]
    times = []
    for g in graphs:
        start = time.perf_counter()
        canonical_key(g)
        times.append(time.perf_counter() - start)
    # typically ~0.1 ms; a generous bound for a loaded machine
    assert statistics.median(times) < 1e-3


def _all_graphs(n):
    from itertools import combinations

    pairs = list(combinations(range(n), 2))
    for mask in range(1 << len(pairs)):
        yield LamanGraph(n, [pairs[i] for i in range(len(pairs)) if mask >> i & 1])


def test_canonical_key_counts_every_graph_on_5_nodes():
    # 1,024 labelled graphs fall into the 34 isomorphism classes of 5-node graphs
    assert len({canonical_key(g) for g in _all_graphs(5)}) == 34


@pytest.mark.slow
def test_canonical_key_counts_every_graph_on_6_nodes():
    assert len({canonical_key(g) for g in _all_graphs(6)}) == 156
