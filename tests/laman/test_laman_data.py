"""The random Laman graph generator, the bundled split and ``ric laman-data``."""
from __future__ import annotations

import numpy as np
import pytest

from ric.laman.data import REGIMES, make_dataset, make_graph, make_splits, random_laman_graph
from ric.laman.graph import canonical_key, read_graph6
from ric.laman.pebble import is_laman
from ric.package_data import resource_path

BUNDLED = {"train": 10_000, "valid": 1_000, "test": 1_000}


def test_graphs_depend_only_on_seed_regime_and_index():
    graphs = make_dataset(6, "med", seed=3)
    assert graphs == [make_graph("med", 3, i) for i in range(6)]
    assert make_dataset(3, "med", seed=3, start=3) == graphs[3:]
    assert make_graph("med", 3, 5) == graphs[5]  # drawn alone, out of order
    assert make_dataset(6, "med", seed=4) != graphs
    assert make_dataset(6, "low", seed=3) != graphs
    with pytest.raises(ValueError, match="unknown regime"):
        make_dataset(1, "huge")


def test_random_laman_graph_counts_moves():
    rng = np.random.default_rng(0)
    counts = [0, 0]
    g = random_laman_graph(rng, 20, 0.5, counts)
    assert g.n == 20 and is_laman(g.n, g.edges) and sum(counts) == 17
    with pytest.raises(ValueError):
        random_laman_graph(rng, 2, 0.5)


@pytest.mark.parametrize("regime,fraction", [("low", 0.05), ("med", 0.5), ("high", 0.95)])
def test_regime_statistics(regime, fraction):
    counts = [0, 0]
    graphs = [make_graph(regime, 0, i, counts) for i in range(1500)]
    sizes = np.array([g.n for g in graphs])
    assert abs(sizes.mean() - 30) < 0.5 and 4.3 < sizes.std() < 5.7 and sizes.min() >= 4
    assert abs(counts[0] / sum(counts) - fraction) < 0.01
    assert all(is_laman(g.n, g.edges) for g in graphs[:200])
    assert all(len(g.edges) == 2 * g.n - 3 for g in graphs)


def test_make_splits_are_disjoint_up_to_isomorphism():
    splits, drawn = make_splits((30, 5, 5), "high", seed=1)
    assert [len(v) for v in splits.values()] == [30, 5, 5] and drawn >= 40
    keys = [canonical_key(g) for part in splits.values() for g in part]
    assert len(set(keys)) == 40
    with pytest.raises(ValueError):
        make_splits((1, 2), "low", 0, ("train",))


def _bundled(split):
    return read_graph6(resource_path("data", "bundled", f"laman_low_{split}.g6"))


def test_bundled_files_load_and_start_as_generated():
    for split, size in BUNDLED.items():
        graphs = _bundled(split)
        assert len(graphs) == size
        assert all(is_laman(g.n, g.edges) for g in graphs[:200])
    # no isomorphic repeats were dropped for seed 0, so the split is graphs 0.. in order
    assert _bundled("train")[:20] == make_dataset(20, "low", 0)
    assert _bundled("test")[-3:] == make_dataset(3, "low", 0, start=11_997)


@pytest.mark.slow
def test_bundled_files_are_laman_and_disjoint():
    keys = set()
    total = 0
    for split in BUNDLED:
        graphs = read_graph6(resource_path("data", "bundled", f"laman_low_{split}.g6"), require_laman=True)
        keys.update(canonical_key(g) for g in graphs)
        total += len(graphs)
    assert len(keys) == total == sum(BUNDLED.values())


def test_cli_laman_data(tmp_path, capsys):
    from ric.cli.main import main

    out = tmp_path / "g.g6"
    assert main(["laman-data", "--regime", "med", "-n", "12", "--seed", "3", "-o", str(out)]) == 0
    assert read_graph6(out) == make_dataset(12, "med", seed=3)
    assert "12 Laman graphs" in capsys.readouterr().out
    assert main(["laman-data", "-n", "2", "-o", str(tmp_path / "missing" / "g.g6")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["laman-data", "--regime", "huge", "-n", "2", "-o", str(out)])


def test_regimes_are_ordered():
    assert REGIMES == ("low", "med", "high")
