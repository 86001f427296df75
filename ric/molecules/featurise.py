"""Atom and bond features of a :class:`~ric.molecules.graph.MolGraph` for the network.

Every atom gets a feature row; nothing is dropped: an element outside
:data:`ELEMENTS` sets the "other element" bit rather than vanishing. Bond orders are the
Kekulé orders the move sets act on, plus RDKit's aromaticity as an extra flag.

Atom features (:data:`ATOM_DIM` = 34): element one-hot (12 + other), formal charge
(−1, 0, +1, other), degree (0..5, 6+), free valence (0..4, 5+), hydrogens
(0..3, 4+), in ring, aromatic.

Bond features (:data:`BOND_DIM` = 5): order one-hot (1, 2, 3), in ring, aromatic.
"""
from __future__ import annotations

import numpy as np
from rdkit import Chem

from ric.molecules.graph import MolGraph
from ric.molecules.standardise import SUPPORTED_ELEMENTS

__all__ = ["ELEMENTS", "ATOM_DIM", "BOND_DIM", "featurise"]

ELEMENTS: tuple[int, ...] = tuple(sorted(SUPPORTED_ELEMENTS))
_ELEMENT_COL = {z: k for k, z in enumerate(ELEMENTS)}
_CHARGE_OFF = len(ELEMENTS) + 1  # after element one-hot + "other"
_DEGREE_OFF = _CHARGE_OFF + 4
_FREE_OFF = _DEGREE_OFF + 7
_HS_OFF = _FREE_OFF + 6
_RING_COL = _HS_OFF + 5
_AROM_COL = _RING_COL + 1
ATOM_DIM = _AROM_COL + 1
BOND_DIM = 5


# Hydrogens per (element, charge, bond-order sum): RDKit's implicit-hydrogen count depends
# on nothing else for the Kekulé, hydrogen-implicit graphs ``ric`` builds, so each key is
# read once off a sanitised RDKit atom and reused (exact, and far cheaper than asking RDKit
# for every atom of every state).
_HYDROGENS: dict[tuple[int, int, int], int] = {}
# The five one-hot columns of an atom follow from (element, charge, bond-order sum, degree).
_COLUMNS: dict[tuple[int, int, int, int], tuple[int, int, int, int, int]] = {}


def featurise(graph: MolGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of a molecule.

    Args:
        graph: the molecule (must sanitise).

    Returns:
        ``(x, edge_index, edge_attr)``: ``x`` float32 ``[num_atoms, ATOM_DIM]``;
        ``edge_index`` int64 ``[2, 2 * num_bonds]`` with both directions of every bond
        (bond ``k`` gives columns ``2k`` (i→j) and ``2k + 1`` (j→i)); ``edge_attr``
        float32 ``[2 * num_bonds, BOND_DIM]``.

    Raises:
        ValueError: if RDKit rejects the molecule.
    """
    mol = graph.sanitized_mol()  # aromaticity; raises for a molecule RDKit rejects
    n, m = graph.num_atoms, graph.num_bonds
    degrees, free, valences = graph.degrees, graph.free_valences, graph.valences
    ring_bonds = graph.ring_bonds  # bonds on a cycle: exactly RDKit's IsInRing
    in_ring = np.zeros(n, dtype=bool)
    for i, j in ring_bonds:
        in_ring[i] = in_ring[j] = True
    aromatic = [a.GetIdx() for a in mol.GetAromaticAtoms()]

    cols = []
    memo = _COLUMNS
    for a, key in enumerate(zip(graph.atomic_nums, graph.charges, valences, degrees)):
        row = memo.get(key)
        if row is None:
            z, c, valence, degree = key
            h = _HYDROGENS.get(key[:3])
            if h is None:
                h = _HYDROGENS[key[:3]] = mol.GetAtomWithIdx(a).GetTotalNumHs()
            row = memo[key] = (
                _ELEMENT_COL.get(z, len(ELEMENTS)),
                _CHARGE_OFF + (c + 1 if c in (-1, 0, 1) else 3),
                _DEGREE_OFF + min(degree, 6),
                _FREE_OFF + min(max(free[a], 0), 5),  # max valence of (z, c) minus valence
                _HS_OFF + min(h, 4),
            )
        cols.append(row)
    x = np.zeros((n, ATOM_DIM), dtype=np.float32)
    x[np.arange(n)[:, None], np.array(cols, dtype=np.int64).reshape(n, 5)] = 1.0
    x[in_ring, _RING_COL] = 1.0
    x[aromatic, _AROM_COL] = 1.0

    edge_index = np.zeros((2, 2 * m), dtype=np.int64)
    edge_attr = np.zeros((2 * m, BOND_DIM), dtype=np.float32)
    if m:
        bonds = np.array(graph.bonds, dtype=np.int64).reshape(m, 3)
        edge_index[0, 0::2] = edge_index[1, 1::2] = bonds[:, 0]
        edge_index[1, 0::2] = edge_index[0, 1::2] = bonds[:, 1]
        rows = np.zeros((m, BOND_DIM), dtype=np.float32)
        rows[np.arange(m), bonds[:, 2] - 1] = 1.0
        rows[:, 3] = [(i, j) in ring_bonds for i, j, _ in graph.bonds]
        if aromatic:  # RDKit writes bond order 1.5 for an aromatic bond (one call, no per-bond objects)
            orders = Chem.GetAdjacencyMatrix(mol, useBO=True)
            rows[:, 4] = orders[bonds[:, 0], bonds[:, 1]] == 1.5
        edge_attr[0::2] = edge_attr[1::2] = rows
    return x, edge_index, edge_attr
