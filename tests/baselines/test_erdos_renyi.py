"""The Erdős–Rényi graph baseline (ric.baselines.erdos_renyi)."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from ric.baselines.erdos_renyi import ErdosRenyiGenerator
from ric.metrics.graphs import laman_validity


@pytest.fixture(scope="module")
def laman_train():
    """200 graphs of the paper's low regime (the package's generator)."""
    from ric.laman.data import make_dataset

    return [g.to_networkx() for g in make_dataset(200, "low", seed=0)]


def _density(g: nx.Graph) -> float:
    n = g.number_of_nodes()
    return 2 * g.number_of_edges() / (n * (n - 1))


def test_edge_probability_is_the_mean_training_density(laman_train):
    gen = ErdosRenyiGenerator(laman_train)
    assert gen.p == pytest.approx(np.mean([_density(g) for g in laman_train]))
    assert sorted(gen.node_counts) == sorted(g.number_of_nodes() for g in laman_train)


def test_samples_are_reproducible_and_per_index(laman_train):
    def edges(graphs):
        return [(g.number_of_nodes(), sorted(g.edges())) for g in graphs]

    a = ErdosRenyiGenerator(laman_train, seed=3).generate(20)
    b = ErdosRenyiGenerator(laman_train, seed=3).generate(20)
    assert edges(a) == edges(b)
    assert edges(ErdosRenyiGenerator(laman_train, seed=3).generate(7)) == edges(a[:7])
    assert edges(ErdosRenyiGenerator(laman_train, seed=4).generate(20)) != edges(a)
    assert edges([ErdosRenyiGenerator(laman_train, seed=3).sample(5)]) == edges(a[5:6])


def test_node_counts_and_density_follow_the_data(laman_train):
    samples = ErdosRenyiGenerator(laman_train, seed=1).generate(2000)
    counts = {g.number_of_nodes() for g in samples}
    train_counts = {g.number_of_nodes() for g in laman_train}
    assert counts <= train_counts and len(counts) > len(train_counts) // 2
    assert all(sorted(g.nodes()) == list(range(g.number_of_nodes())) for g in samples)
    assert all(nx.number_of_selfloops(g) == 0 for g in samples)
    data_density = np.mean([_density(g) for g in laman_train])
    assert np.mean([_density(g) for g in samples]) == pytest.approx(data_density, rel=0.03)
    assert np.mean([g.number_of_nodes() for g in samples]) == pytest.approx(
        np.mean([g.number_of_nodes() for g in laman_train]), abs=0.5
    )


def test_samples_are_rarely_laman(laman_train):
    # The paper's E-R baseline: 8 % valid. G(n, p) rarely hits exactly 2n - 3 edges, and
    # rarely spreads them as a Laman graph when it does: here well under that.
    result = laman_validity(ErdosRenyiGenerator(laman_train, seed=2).generate(500))
    assert result.fraction < 0.1


def test_needs_training_graphs_with_two_nodes():
    with pytest.raises(ValueError):
        ErdosRenyiGenerator([])
    with pytest.raises(ValueError):
        ErdosRenyiGenerator([nx.empty_graph(1)])
    assert ErdosRenyiGenerator([nx.complete_graph(4)]).p == 1.0
