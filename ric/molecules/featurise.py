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


def featurise(graph: MolGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of a molecule.

    Args:
        graph: the molecule (must sanitise).

    Returns:
        ``(x, edge_index, edge_attr)``: ``x`` float32 ``[num_atoms, ATOM_DIM]``;
        ``edge_index`` int64 ``[2, 2 * num_bonds]`` with both directions of every bond
        (bond ``k`` gives columns ``2k`` (i→j) and ``2k + 1`` (j→i)); ``edge_attr``
        float32 ``[2 * num_bonds, BOND_DIM]``.
    """
    mol = graph.sanitized_mol()
    n = graph.num_atoms
    x = np.zeros((n, ATOM_DIM), dtype=np.float32)
    degrees = graph.degrees
    free = graph.free_valences
    for a, atom in enumerate(mol.GetAtoms()):
        z, c = graph.atom_type(a)
        x[a, _ELEMENT_COL.get(z, len(ELEMENTS))] = 1.0
        x[a, _CHARGE_OFF + (c + 1 if c in (-1, 0, 1) else 3)] = 1.0
        x[a, _DEGREE_OFF + min(degrees[a], 6)] = 1.0
        x[a, _FREE_OFF + min(max(free[a], 0), 5)] = 1.0
        x[a, _HS_OFF + min(atom.GetTotalNumHs(), 4)] = 1.0
        x[a, _RING_COL] = float(atom.IsInRing())
        x[a, _AROM_COL] = float(atom.GetIsAromatic())
    m = graph.num_bonds
    edge_index = np.zeros((2, 2 * m), dtype=np.int64)
    edge_attr = np.zeros((2 * m, BOND_DIM), dtype=np.float32)
    for k, (i, j, o) in enumerate(graph.bonds):
        bond = mol.GetBondBetweenAtoms(i, j)
        row = np.zeros(BOND_DIM, dtype=np.float32)
        row[o - 1] = 1.0
        row[3] = float(bond.IsInRing())
        row[4] = float(bond.GetIsAromatic())
        edge_index[:, 2 * k] = (i, j)
        edge_index[:, 2 * k + 1] = (j, i)
        edge_attr[2 * k] = row
        edge_attr[2 * k + 1] = row
    return x, edge_index, edge_attr

