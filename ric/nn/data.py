"""PyTorch Geometric data for reconstruction examples.

:func:`make_data` turns a state (and optionally its label move) into a :class:`MoveData`:
atom and bond features plus the array encoding of the state's legal moves
(:class:`~ric.moves.encoding.MoveEncoding`). Batching with
:class:`torch_geometric.loader.DataLoader` offsets every index column correctly
(:meth:`MoveData.__inc__`), so a batch is a disjoint union of molecules whose candidates
still point at the right atoms and pairs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch_geometric.data import Data

from ric.chem.featurise import featurise
from ric.moves.encoding import KIND_STOP, MoveEncoding

__all__ = ["MoveData", "make_data"]


class MoveData(Data):
    """One state with its legal moves.

    Attributes (shapes for one molecule with ``n`` atoms, ``m`` bonds):
        x: float ``[n, ATOM_DIM]``; edge_index: long ``[2, 2m]``; edge_attr: float ``[2m, BOND_DIM]``.
        atom_moves: long ``[M_atom, 2]`` ``(atom, class)``.
        pairs: long ``[P, 2]``; pair_attr: float ``[P, F]``; pair_moves: long ``[M_pair, 2]`` ``(pair, class)``.
        set_members: long ``[K, 2]`` ``(set, atom)``.
        num_atom_moves, num_pair_moves, num_sets: long ``[1]`` (``[B]`` once batched).
        y: long ``[1, 2]`` ``(kind, row)`` of the label move (``[B, 2]`` once batched), if labelled.
    """

    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key == "atom_moves":
            return torch.tensor([[self.num_nodes, 0]])
        if key == "pairs":
            return self.num_nodes
        if key == "pair_moves":
            return torch.tensor([[self.pairs.size(0), 0]])
        if key == "set_members":
            return torch.tensor([[int(self.num_sets), self.num_nodes]])
        if key == "y":
            return 0
        return super().__inc__(key, value, *args, **kwargs)


def make_data(move_set: Any, state: Any, label: Any = None, encoding: MoveEncoding | None = None) -> MoveData:
    """Featurise ``state`` and encode its legal moves (and ``label``, if given).

    Args:
        move_set: a move set with ``encode_moves`` and ``locate``.
        state: the (corrupted) state.
        label: the target move (``STOP`` or a legal move), or ``None`` for unlabelled data.
        encoding: precomputed ``move_set.encode_moves(state)`` (default: computed here).

    Raises:
        KeyError: if ``label`` is not a legal move of ``state``.
    """
    x, edge_index, edge_attr = featurise(state)
    enc = encoding if encoding is not None else move_set.encode_moves(state)
    data = MoveData(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(edge_index),
        edge_attr=torch.from_numpy(edge_attr),
        atom_moves=torch.from_numpy(enc.atom_moves),
        pairs=torch.from_numpy(enc.pairs),
        pair_attr=torch.from_numpy(enc.pair_features),
        pair_moves=torch.from_numpy(enc.pair_moves),
        set_members=torch.from_numpy(enc.set_members),
        num_atom_moves=torch.tensor([len(enc.atom_moves)]),
        num_pair_moves=torch.tensor([len(enc.pair_moves)]),
        num_sets=torch.tensor([enc.num_sets]),
        num_nodes=state.num_atoms,
    )
    if label is not None:
        kind, row = move_set.locate(state, enc, label)
        data.y = torch.tensor([[kind, row if kind != KIND_STOP else 0]])
    return data
