"""Graph benchmark metrics (ric.metrics.graphs): Laman validity, isomorphism, MMD, DoD."""
from __future__ import annotations

import itertools
import json
import math
import time

import networkx as nx
import numpy as np
import pytest

from ric.metrics.graphs import (
    CLUSTERING_SIGMA,
    DEGREE_SIGMA,
    clustering_histograms,
    clustering_mmd,
    degree_histograms,
    degree_mmd,
    degree_of_decomposability,
    dod_distribution,
    dod_ks,
    dod_values,
    evaluate_graphs,
    fraction_unique,
    gaussian_emd_mmd2,
    is_laman_generic,
    isomorphism_classes,
    laman_validity,
    node_count_stats,
    novelty,
)

# ----------------------------------------------------------------------- helpers


def henneberg(n: int, p_one: float, rng: np.random.Generator) -> nx.Graph:
    """A Laman graph on ``n`` nodes from a triangle: Henneberg I with probability ``p_one``
    (new node joined to two distinct nodes), else Henneberg II (remove edge ab, join the
    new node to a, b and a third node c)."""
    g = nx.complete_graph(min(n, 3))
    for new in range(3, n):
        if rng.random() < p_one:
            a, b = rng.choice(new, size=2, replace=False)
            g.add_edges_from([(new, int(a)), (new, int(b))])
        else:
            edges = sorted(g.edges())
            a, b = edges[rng.integers(len(edges))]
            c = int(rng.choice([v for v in range(new) if v not in (a, b)]))
            g.remove_edge(a, b)
            g.add_edges_from([(new, a), (new, b), (new, c)])
    return g


def two_tree(n: int, rng: np.random.Generator) -> nx.Graph:
    """Henneberg I onto the two ends of an existing edge only (a 2-tree)."""
    g = nx.complete_graph(3)
    for new in range(3, n):
        edges = sorted(g.edges())
        a, b = edges[rng.integers(len(edges))]
        g.add_edges_from([(new, a), (new, b)])
    return g


def brute_force_laman(g: nx.Graph) -> bool:
    """2n - 3 edges and every k >= 2 nodes span at most 2k - 3 edges (all subsets)."""
    n = g.number_of_nodes()
    if n < 2 or g.number_of_edges() != 2 * n - 3:
        return False
    index = {v: i for i, v in enumerate(g.nodes())}
    edges = np.array([(index[u], index[v]) for u, v in g.edges()], dtype=np.int64)
    masks = np.arange(1 << n, dtype=np.int64)
    inside = (((masks[:, None] >> edges[:, 0]) & (masks[:, None] >> edges[:, 1]) & 1)).sum(axis=1)
    size = np.array([bin(m).count("1") for m in range(1 << n)])
    considered = size >= 2
    return bool(np.all(inside[considered] <= 2 * size[considered] - 3))


def move_one_edge(g: nx.Graph, rng: np.random.Generator) -> nx.Graph:
    """Remove a random edge and add a random non-edge (same counts, maybe not Laman)."""
    h = g.copy()
    edges = sorted(h.edges())
    h.remove_edge(*edges[rng.integers(len(edges))])
    non_edges = sorted(nx.non_edges(h))
    h.add_edge(*non_edges[rng.integers(len(non_edges))])
    return h


def relabel(g: nx.Graph, rng: np.random.Generator) -> nx.Graph:
    perm = rng.permutation(g.number_of_nodes())
    h = nx.Graph()
    h.add_nodes_from(range(g.number_of_nodes()))
    h.add_edges_from((int(perm[u]), int(perm[v])) for u, v in g.edges())
    return h


def prism() -> nx.Graph:
    """Two triangles 0-1-2 and 3-4-5 joined by 0-3, 1-4, 2-5."""
    return nx.Graph([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (0, 3), (1, 4), (2, 5)])


# ---------------------------------------------------------------------- validity


def _all_graphs_with_laman_count(n: int):
    pairs = list(itertools.combinations(range(n), 2))
    for edges in itertools.combinations(pairs, 2 * n - 3):
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(edges)
        yield g


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_laman_check_matches_brute_force_on_every_small_graph(n):
    for g in _all_graphs_with_laman_count(n):
        assert is_laman_generic(g) == brute_force_laman(g), sorted(g.edges())


@pytest.mark.slow
def test_laman_check_matches_brute_force_on_every_six_node_graph():
    lamans = []
    for g in _all_graphs_with_laman_count(6):
        ours = is_laman_generic(g)
        assert ours == brute_force_laman(g), sorted(g.edges())
        if ours:
            lamans.append(g)
    # 13 Laman graphs on 6 nodes up to isomorphism (OEIS A227117)
    assert len(set(isomorphism_classes(lamans))) == 13


def test_laman_counts_up_to_isomorphism_on_five_nodes():
    lamans = [g for g in _all_graphs_with_laman_count(5) if is_laman_generic(g)]
    assert len(set(isomorphism_classes(lamans))) == 3  # OEIS A227117: 1, 1, 1, 3, 13, 70


def test_laman_check_matches_brute_force_on_random_graphs_up_to_nine_nodes():
    rng = np.random.default_rng(1)
    seen = {True: 0, False: 0}
    for n in range(3, 10):
        for trial in range(30):
            kind = trial % 3
            if kind == 0:  # uniform graph with the Laman edge count
                g = nx.gnm_random_graph(n, 2 * n - 3, seed=int(rng.integers(1 << 30)))
            elif kind == 1:  # a Laman graph with one edge moved: often still Laman, often not
                g = move_one_edge(henneberg(n, rng.random(), rng), rng)
            else:  # other edge counts
                g = nx.gnm_random_graph(n, int(rng.integers(0, n * (n - 1) // 2 + 1)), seed=int(rng.integers(1 << 30)))
            expected = brute_force_laman(g)
            assert is_laman_generic(g, seed=trial) == expected, (n, sorted(g.edges()))
            seen[expected] += 1
    assert seen[True] > 30 and seen[False] > 30


def test_henneberg_graphs_of_30_to_40_nodes_are_laman():
    rng = np.random.default_rng(2)
    for n in range(30, 41, 2):
        for p_one in (0.0, 0.5, 1.0):
            g = henneberg(n, p_one, rng)
            assert g.number_of_edges() == 2 * n - 3
            assert is_laman_generic(g)
            assert is_laman_generic(relabel(g, rng), seed=5)


def test_large_non_laman_graphs_with_the_laman_edge_count():
    rng = np.random.default_rng(3)
    # a 20-node Laman graph, a K4 (overbraced: 6 > 2*4 - 3) and two joining edges: 2n - 3 edges
    g = henneberg(20, 0.5, rng)
    g.add_edges_from((20 + a, 20 + b) for a, b in itertools.combinations(range(4), 2))
    g.add_edges_from([(0, 20), (1, 21)])
    assert g.number_of_edges() == 2 * g.number_of_nodes() - 3
    assert not is_laman_generic(g)
    # a node of degree one (a pendant node and one more edge elsewhere)
    h = henneberg(34, 0.5, rng)
    a, b = next(iter(nx.non_edges(h)))
    h.add_edges_from([(34, 0), (a, b)])
    assert h.number_of_edges() == 2 * h.number_of_nodes() - 3
    assert not is_laman_generic(h)


def test_laman_check_agrees_with_floating_point_rank_on_perturbed_large_graphs():
    """An independent (inexact) check: rank of the rigidity matrix at Gaussian coordinates."""
    rng = np.random.default_rng(4)
    outcomes = set()
    for trial in range(12):
        n = int(rng.integers(30, 41))
        g = henneberg(n, rng.random(), rng)
        if trial % 2:
            g = move_one_edge(g, rng)
        pos = rng.normal(size=(n, 2))
        rows = []
        for u, v in g.edges():
            row = np.zeros(2 * n)
            row[2 * u : 2 * u + 2] = pos[u] - pos[v]
            row[2 * v : 2 * v + 2] = pos[v] - pos[u]
            rows.append(row)
        float_rank = np.linalg.matrix_rank(np.array(rows))
        expected = float_rank == 2 * n - 3
        assert is_laman_generic(g, seed=trial) == expected
        outcomes.add(expected)
    assert outcomes == {True, False}


def test_laman_edge_cases_and_validity_fraction():
    assert not is_laman_generic(nx.Graph())
    assert not is_laman_generic(nx.empty_graph(1))
    assert is_laman_generic(nx.Graph([(0, 1)]))
    assert not is_laman_generic(nx.empty_graph(2))
    assert is_laman_generic(nx.complete_graph(3))
    assert not is_laman_generic(nx.complete_graph(4))  # 6 edges, one too many
    loop = nx.Graph([(0, 1), (1, 2), (2, 2)])  # 3 edges on 3 nodes, one a self-loop
    assert not is_laman_generic(loop)
    named = nx.relabel_nodes(prism(), {i: f"v{i}" for i in range(6)})
    assert is_laman_generic(named)
    result = laman_validity([nx.complete_graph(3), nx.complete_graph(4), prism(), nx.path_graph(4)])
    assert (result.fraction, result.n_valid, result.n) == (0.5, 2, 4)


# ----------------------------------------------------------- uniqueness / novelty


def test_uniqueness_counts_isomorphism_classes():
    rng = np.random.default_rng(5)
    base = [henneberg(int(rng.integers(8, 20)), 0.5, rng) for _ in range(10)]
    copies = [relabel(g, rng) for g in base for _ in range(3)]
    rng.shuffle(copies)
    assert fraction_unique(copies) == pytest.approx(10 / 30)
    classes = isomorphism_classes(copies)
    assert len(set(classes)) == 10 and classes[0] == 0
    assert fraction_unique([]) == 0.0


@pytest.mark.filterwarnings("ignore:The hashes produced:UserWarning")
def test_wl_collisions_are_resolved_exactly():
    # Both 3-regular on 6 nodes with equal WL hashes, not isomorphic (and both Laman).
    k33, pr = nx.complete_bipartite_graph(3, 3), prism()
    assert nx.weisfeiler_lehman_graph_hash(k33) == nx.weisfeiler_lehman_graph_hash(pr)
    assert fraction_unique([k33, pr]) == 1.0
    assert fraction_unique([k33, pr, relabel(k33, np.random.default_rng(0))]) == pytest.approx(2 / 3)
    # 2-regular: a hexagon and two triangles
    hexagon, triangles = nx.cycle_graph(6), nx.disjoint_union(nx.complete_graph(3), nx.complete_graph(3))
    assert fraction_unique([hexagon, triangles]) == 1.0
    assert novelty([hexagon], [triangles]) == 1.0
    assert novelty([hexagon], [triangles, relabel(hexagon, np.random.default_rng(1))]) == 0.0


def test_novelty_of_distinct_generated_graphs():
    rng = np.random.default_rng(6)
    train = [henneberg(15, 0.5, rng) for _ in range(20)]
    seen = [relabel(g, rng) for g in train[:4]]
    new = [henneberg(15, 0.5, rng) for _ in range(2)]
    generated = seen + seen[:2] + new + [relabel(new[0], rng)]  # 6 distinct, 2 novel
    assert novelty(generated, train) == pytest.approx(2 / 6)
    assert novelty(generated, []) == 1.0
    assert novelty([], train) == 0.0
    assert novelty(generated, iter(train)) == pytest.approx(2 / 6)  # any iterable


@pytest.mark.slow
def test_novelty_scales_to_ten_thousand_training_graphs():
    rng = np.random.default_rng(7)
    train = [henneberg(int(rng.integers(20, 40)), rng.random(), rng) for _ in range(10_000)]
    generated = [relabel(g, rng) for g in train[:300]]
    generated += [henneberg(int(rng.integers(20, 40)), 0.3, rng) for _ in range(700)]
    start = time.perf_counter()
    value = novelty(generated, train)
    elapsed = time.perf_counter() - start
    assert 0.6 < value <= 0.7 + 1e-9
    assert elapsed < 30, elapsed


# ------------------------------------------------------------------ node counts


def test_node_count_stats():
    gen = [nx.empty_graph(3), nx.empty_graph(4), nx.empty_graph(5)]
    ref = [nx.empty_graph(3), nx.empty_graph(3)]
    r = node_count_stats(gen, ref)
    assert r.generated_mean == 4 and r.generated_std == pytest.approx(math.sqrt(2 / 3))
    assert r.reference_mean == 3 and r.reference_std == 0
    assert r.wasserstein == pytest.approx(1.0)  # mean |4 - 3| over matched quantiles: (0 + 1 + 2) / 3
    assert math.isnan(node_count_stats([], ref).wasserstein)


# ------------------------------------------------------------------------- MMD


def _brute_force_mmd2(x, y, sigma, bin_width):
    from scipy.stats import wasserstein_distance

    support = np.arange(x.shape[1]) * bin_width

    def k(a, b):
        d = wasserstein_distance(support, support, a, b)
        return math.exp(-d * d / (2 * sigma * sigma))

    def mean(a, b):
        return np.mean([[k(s, t) for t in b] for s in a])

    return mean(x, x) + mean(y, y) - 2 * mean(x, y)


@pytest.mark.parametrize("sigma,bin_width,bins", [(1.0, 1.0, 7), (0.1, 0.01, 100), (0.5, 0.25, 12)])
def test_gaussian_emd_mmd_matches_pairwise_emd(sigma, bin_width, bins):
    rng = np.random.default_rng(8)
    x = rng.random((9, bins)) ** 3
    y = rng.random((6, bins)) ** 2
    x /= x.sum(1, keepdims=True)
    y /= y.sum(1, keepdims=True)
    ours = gaussian_emd_mmd2(x, y, sigma=sigma, bin_width=bin_width, block=4)
    assert ours == pytest.approx(_brute_force_mmd2(x, y, sigma, bin_width), rel=1e-9, abs=1e-12)


def test_gaussian_emd_mmd_graphrnn_example():
    # GraphRNN eval/mmd.py test(): EMDs 0.05 / 0.1 / 0.15 between two-bin pmfs, sigma 1
    x = np.array([[0.2, 0.8], [0.3, 0.7]])
    y = np.array([[0.25, 0.75], [0.35, 0.65]])

    def k(d):
        return math.exp(-d * d / 2)

    kxx = (2 * k(0) + 2 * k(0.1)) / 4
    kyy = (2 * k(0) + 2 * k(0.1)) / 4
    kxy = (k(0.05) + k(0.15) + k(0.05) + k(0.05)) / 4
    assert gaussian_emd_mmd2(x, y, sigma=1.0) == pytest.approx(kxx + kyy - 2 * kxy, abs=1e-15)


def test_histograms_match_networkx_and_numpy():
    rng = np.random.default_rng(9)
    graphs = [nx.gnp_random_graph(int(rng.integers(1, 25)), rng.random(), seed=i) for i in range(40)]
    graphs += [nx.complete_graph(5), prism(), nx.star_graph(6), henneberg(30, 0.5, rng)]
    deg = degree_histograms(graphs)
    clus = clustering_histograms(graphs)
    for i, g in enumerate(graphs):
        expected = np.array(nx.degree_histogram(g), dtype=float)
        expected /= expected.sum()
        assert np.allclose(deg[i, : expected.size], expected) and not deg[i, expected.size :].any()
        counts, _ = np.histogram(list(nx.clustering(g).values()), bins=100, range=(0.0, 1.0))
        assert np.allclose(clus[i], counts / counts.sum())


def test_degree_and_clustering_mmd_separate_distributions():
    rng = np.random.default_rng(10)
    a = [henneberg(int(rng.integers(20, 35)), 0.5, rng) for _ in range(60)]
    b = [henneberg(int(rng.integers(20, 35)), 0.5, rng) for _ in range(60)]
    er = [nx.gnp_random_graph(int(rng.integers(20, 35)), 0.3, seed=i) for i in range(60)]
    same_deg, far_deg = degree_mmd(a, b), degree_mmd(er, a)
    same_clus, far_clus = clustering_mmd(a, b), clustering_mmd(er, a)
    assert degree_mmd(a, a).mmd2 == pytest.approx(0, abs=1e-12)
    assert clustering_mmd(a, a).mmd2 == pytest.approx(0, abs=1e-12)
    assert 0 <= same_deg.mmd2 < far_deg.mmd2 and 0 <= same_clus.mmd2 < far_clus.mmd2
    assert (same_deg.sigma, same_deg.bin_width) == (DEGREE_SIGMA, 1.0) == (1.0, 1.0)
    assert (same_clus.sigma, same_clus.bin_width) == (CLUSTERING_SIGMA, 0.01) == (0.1, 0.01)
    # empty generated graphs are dropped, as GraphRNN does
    with_empty = degree_mmd(a + [nx.Graph()], b)
    assert with_empty.n_generated == 60 and with_empty.mmd2 == pytest.approx(same_deg.mmd2)
    assert math.isnan(degree_mmd([nx.Graph()], b).mmd2)


def test_mmd_of_thousand_by_thousand_histograms_takes_seconds():
    rng = np.random.default_rng(11)
    x = rng.random((1000, 100))
    y = rng.random((1000, 100))
    x /= x.sum(1, keepdims=True)
    y /= y.sum(1, keepdims=True)
    start = time.perf_counter()
    gaussian_emd_mmd2(x, y, sigma=0.1, bin_width=0.01)
    assert time.perf_counter() - start < 10


# ------------------------------------------------------ degree of decomposability


def _published_style_dod(g: nx.Graph, pinned: tuple[int, int]) -> float:
    """An independent implementation with networkx (Hopcroft-Karp and Tarjan)."""
    b = nx.Graph()
    unknowns = set()
    for i, (u, v) in enumerate(g.edges()):
        if {u, v} == set(pinned):
            continue
        b.add_node(("eq", i))
        for node in (u, v):
            if node not in pinned:
                for axis in (0, 1):
                    b.add_edge(("eq", i), ("x", node, axis))
                    unknowns.add(("x", node, axis))
    matching = nx.bipartite.hopcroft_karp_matching(b, top_nodes=unknowns)
    d = nx.DiGraph()
    d.add_nodes_from(b)
    for x, y in b.edges():
        eq, var = (x, y) if x[0] == "eq" else (y, x)
        d.add_edge(eq, var)
        if matching.get(var) == eq:
            d.add_edge(var, eq)
    return nx.number_strongly_connected_components(d) / g.number_of_nodes()


def test_dod_of_small_graphs_worked_by_hand():
    for seed in range(5):
        assert degree_of_decomposability(nx.complete_graph(3), seed) == pytest.approx(1 / 3)
        # K3,3: no proper set of unknown nodes is fixed by its own edges: one block
        assert degree_of_decomposability(nx.complete_bipartite_graph(3, 3), seed) == pytest.approx(1 / 6)
    assert degree_of_decomposability(nx.Graph([(0, 1)])) == 0.0  # nothing left to solve
    assert math.isnan(degree_of_decomposability(nx.empty_graph(4)))
    # prism: pinning a triangle edge fixes the third node alone, then the other triangle (2 blocks);
    # pinning a joining edge leaves one block
    g = prism()
    for edge in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]:
        assert degree_of_decomposability(g, pinned_edge=edge) == pytest.approx(2 / 6)
    for edge in [(0, 3), (4, 1), (2, 5)]:
        assert degree_of_decomposability(g, pinned_edge=edge) == pytest.approx(1 / 6)
    with pytest.raises(ValueError):
        degree_of_decomposability(g, pinned_edge=(0, 4))


def test_dod_of_henneberg_one_graphs_is_n_minus_two_over_n():
    rng = np.random.default_rng(12)
    for n in (5, 12, 30):
        g = two_tree(n, rng)  # every pinned edge: one block per further node
        for seed in range(4):
            assert degree_of_decomposability(g, seed) == pytest.approx((n - 2) / n)
        h = henneberg(n, 1.0, rng)  # Henneberg I anywhere: pinned base edge gives the build order
        assert degree_of_decomposability(h, pinned_edge=(0, 1)) == pytest.approx((n - 2) / n)


def test_dod_of_henneberg_two_graphs_is_mostly_irreducible():
    rng = np.random.default_rng(13)
    values = []
    for _ in range(40):
        n = int(rng.integers(20, 35))
        values.append(round(degree_of_decomposability(henneberg(n, 0.0, rng)) * n))  # components
    values = np.array(values)
    assert values.min() >= 1 and np.mean(values == 1) >= 0.4  # about 2/3 irreducible


def test_dod_matches_an_independent_networkx_implementation_for_every_pin():
    rng = np.random.default_rng(14)
    for p_one in (0.0, 0.3, 0.7, 1.0):
        g = henneberg(int(rng.integers(10, 25)), p_one, rng)
        for u, v in g.edges():
            assert degree_of_decomposability(g, pinned_edge=(u, v)) == pytest.approx(_published_style_dod(g, (u, v)))


def test_dod_is_deterministic_for_a_seed_and_independent_of_edge_order():
    rng = np.random.default_rng(15)
    graphs = [henneberg(25, 0.5, rng) for _ in range(20)]
    first, again = dod_values(graphs, seed=3), dod_values(graphs, seed=3)
    assert np.array_equal(first, again)
    shuffled = []
    for g in graphs:
        edges = list(g.edges())
        rng.shuffle(edges)
        shuffled.append(nx.Graph(edges))
    assert np.array_equal(dod_values(shuffled, seed=3), first)
    # the pin changes with the seed: the prism's DoD is 1/6 or 1/3 depending on it
    assert {degree_of_decomposability(prism(), s) for s in range(30)} == {1 / 6, 2 / 6}


def test_dod_grows_with_the_share_of_henneberg_one_moves():
    # the published data sets: n = round(Normal(30, 5)), p from U(0, 0.1) / U(0.9, 1.0)
    rng = np.random.default_rng(16)

    def dataset(lo, hi, size=80):
        return [henneberg(int(round(rng.normal(30, 5))), rng.uniform(lo, hi), rng) for _ in range(size)]

    low, high = dataset(0.0, 0.1), dataset(0.9, 1.0)
    low_mean, high_mean = np.mean(dod_values(low)), np.mean(dod_values(high))
    assert 0.03 < low_mean < 0.2 and 0.6 < high_mean < 0.9  # paper: about 0.1 and 0.75
    assert dod_ks(low, high) > 0.9
    assert dod_ks(low, low) == 0.0
    result = dod_distribution(low, high, valid=[True] * 40 + [False] * 40)
    assert result.n_valid == 40 and result.ks_valid > 0.9
    assert result.generated_mean == pytest.approx(low_mean)
    assert math.isnan(dod_ks([nx.empty_graph(3)], low))


# ----------------------------------------------------------------------- report


def test_evaluate_graphs_report():
    rng = np.random.default_rng(17)
    reference = [henneberg(int(rng.integers(15, 25)), 0.5, rng) for _ in range(40)]
    train = [henneberg(int(rng.integers(15, 25)), 0.5, rng) for _ in range(40)]
    generated = [relabel(g, rng) for g in train[:10]] + [henneberg(20, 0.5, rng) for _ in range(25)]
    generated += [nx.gnp_random_graph(20, 0.5, seed=i) for i in range(5)]
    report = evaluate_graphs(generated, reference, train=train, seed=1)
    assert report.validity.n_valid == 35 and report.validity.fraction == pytest.approx(35 / 40)
    assert report.uniqueness.n_unique == 40
    assert report.novelty is not None and report.novelty.n_novel == 30
    assert report.dod.n_generated == 40 and report.dod.n_valid == 35
    assert 0 <= report.dod.ks <= 1 and 0 <= report.dod.ks_valid <= 1
    assert report.degree_mmd.mmd2 >= 0 and report.clustering_mmd.mmd2 >= 0
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    keys = {"validity", "uniqueness", "novelty", "node_counts", "degree_mmd", "clustering_mmd", "dod", "seconds"}
    assert set(data) >= keys
    # without training graphs and with no valid graph: novelty None, the valid-only DoD null
    bare = evaluate_graphs(generated[-5:], reference).to_dict()
    assert bare["novelty"] is None and bare["dod"]["ks_valid"] is None and bare["validity"]["fraction"] == 0.0


@pytest.mark.slow
def test_evaluate_graphs_on_a_thousand_against_a_thousand_is_fast():
    rng = np.random.default_rng(18)

    def dataset(size):
        return [henneberg(int(round(rng.normal(30, 5))), rng.uniform(0, 0.1), rng) for _ in range(size)]

    generated, reference, train = dataset(1000), dataset(1000), dataset(1000)
    start = time.perf_counter()
    report = evaluate_graphs(generated, reference, train=train)
    elapsed = time.perf_counter() - start
    assert report.validity.fraction == 1.0 and report.dod.ks < 0.1
    assert elapsed < 60, elapsed
