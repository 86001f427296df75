"""The vectorised featurisation against a direct per-atom reading of RDKit's sanitised molecule."""
from __future__ import annotations

import numpy as np
import pytest

from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.molecules.atom import AtomMoveSet
from ric.molecules.featurise import (
    _AROM_COL, _CHARGE_OFF, _DEGREE_OFF, _ELEMENT_COL, _FREE_OFF, _HS_OFF, _RING_COL, ATOM_DIM, BOND_DIM, ELEMENTS,
    featurise,
)
from ric.molecules.fragment import FragmentMoveSet
from ric.molecules.graph import MolGraph


def _reference(graph: MolGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every feature read off RDKit atom by atom and bond by bond."""
    mol = graph.sanitized_mol()
    x = np.zeros((graph.num_atoms, ATOM_DIM), dtype=np.float32)
    for a, atom in enumerate(mol.GetAtoms()):
        z, c = graph.atom_type(a)
        x[a, _ELEMENT_COL.get(z, len(ELEMENTS))] = 1
        x[a, _CHARGE_OFF + (c + 1 if c in (-1, 0, 1) else 3)] = 1
        x[a, _DEGREE_OFF + min(atom.GetDegree(), 6)] = 1
        x[a, _FREE_OFF + min(max(graph.free_valences[a], 0), 5)] = 1
        x[a, _HS_OFF + min(atom.GetTotalNumHs(), 4)] = 1
        x[a, _RING_COL] = atom.IsInRing()
        x[a, _AROM_COL] = atom.GetIsAromatic()
    m = graph.num_bonds
    edge_index = np.zeros((2, 2 * m), dtype=np.int64)
    edge_attr = np.zeros((2 * m, BOND_DIM), dtype=np.float32)
    for k, (i, j, o) in enumerate(graph.bonds):
        bond = mol.GetBondBetweenAtoms(i, j)
        row = np.zeros(BOND_DIM, dtype=np.float32)
        row[o - 1] = 1
        row[3] = bond.IsInRing()
        row[4] = bond.GetIsAromatic()
        edge_index[:, 2 * k], edge_index[:, 2 * k + 1] = (i, j), (j, i)
        edge_attr[2 * k] = edge_attr[2 * k + 1] = row
    return x, edge_index, edge_attr


def _states(graphs, move_set, count: int) -> list[MolGraph]:
    """Clean molecules and states met along corruption trajectories (charged atoms, odd valences)."""
    states = list(graphs[:count])
    for index, graph in enumerate(graphs[:count]):
        example = corrupt(move_set, graph, example_rng(3, 0, index), CorruptionConfig(steps_mean=6.0))
        states.append(example.corrupted)
    return states


@pytest.mark.parametrize("which", ["fragment", "atom"])
def test_featurise_equals_rdkit_read_atom_by_atom(which, zinc_graphs, hard_graphs, vocab):
    move_set = FragmentMoveSet(vocab) if which == "fragment" else AtomMoveSet()
    graphs = list(hard_graphs) + list(zinc_graphs)
    for state in _states(graphs, move_set, 150):
        # a fresh copy, so that no derived quantity is cached from an earlier call
        fresh = MolGraph(state.atomic_nums, state.charges, state.bonds)
        got, want = featurise(fresh), _reference(state)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and np.array_equal(g, w), fresh.kekule_smiles()


def test_featurise_single_atom_and_rejected_molecule():
    x, edge_index, edge_attr = featurise(MolGraph([6], [0], []))
    assert x.shape == (1, ATOM_DIM) and edge_index.shape == (2, 0) and edge_attr.shape == (0, BOND_DIM)
    assert x[0, _HS_OFF + 4] == 1  # methane: four hydrogens
    with pytest.raises(ValueError, match="RDKit rejects"):
        featurise(MolGraph([7, 6, 6, 6, 6, 6], [0] * 6, [(0, k, 1) for k in range(1, 5)] + [(0, 5, 1)]))
