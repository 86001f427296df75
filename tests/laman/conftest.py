"""Fixtures of the Laman tests: the move set, small Laman graphs, the bundled training graphs."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def move_set():
    from ric.laman.moves import HennebergMoveSet

    return HennebergMoveSet()


@pytest.fixture(scope="session")
def small_laman():
    """Laman graphs of 3-8 nodes: hand-picked ones and random Henneberg constructions."""
    from ric.laman.data import random_laman_graph
    from ric.laman.graph import LamanGraph

    graphs = [LamanGraph(3, [(0, 1), (0, 2), (1, 2)])]
    # K4 minus an edge; the triangular prism (no degree-2 node, all degree 3)
    graphs.append(LamanGraph(4, [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]))
    graphs.append(LamanGraph(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (0, 3), (1, 4), (2, 5)]))
    # K_{3,3}: Laman, every node of degree 3
    graphs.append(LamanGraph(6, [(a, b) for a in range(3) for b in range(3, 6)]))
    rng = np.random.default_rng(5)
    for n in range(4, 9):
        for p in (0.0, 0.5, 1.0):
            for _ in range(4):
                graphs.append(random_laman_graph(rng, n, p))
    return graphs


@pytest.fixture(scope="session")
def bundled_train():
    from ric.laman.graph import read_graph6
    from ric.package_data import resource_path

    return read_graph6(resource_path("data", "bundled", "laman_low_train.g6"))

