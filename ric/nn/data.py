"""PyTorch Geometric data for reconstruction examples.

:func:`make_data` turns a state (and optionally its label move) into a :class:`MoveData`:
atom and bond features plus the array encoding of the state's legal moves
(:class:`~ric.moves.encoding.MoveEncoding`). Batching with
:class:`torch_geometric.loader.DataLoader` offsets every index column correctly
(:meth:`MoveData.__inc__`), so a batch is a disjoint union of molecules whose candidates
still point at the right atoms and pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from ric.chem.featurise import featurise
from ric.moves.encoding import KIND_STOP, MoveEncoding

__all__ = ["MoveData", "make_data", "MoveBatch", "collate_states"]


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


@dataclass
class MoveBatch:
    """A batch of unlabelled states, built straight from arrays (see :func:`collate_states`).

    Has the attributes :class:`~ric.nn.model.ReconstructionModel` reads from a PyG
    ``Batch`` of :class:`MoveData`, with the same offsets, so the model scores both alike.
    Shapes with ``N`` atoms, ``E`` directed bonds and ``B`` molecules in the batch:
    ``x [N, ATOM_DIM]``, ``edge_index [2, E]``, ``edge_attr [E, BOND_DIM]``, ``batch [N]``,
    the move arrays as in :class:`MoveData` and ``num_atom_moves``, ``num_pair_moves``,
    ``num_sets`` ``[B]``.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    batch: torch.Tensor
    atom_moves: torch.Tensor
    pairs: torch.Tensor
    pair_attr: torch.Tensor
    pair_moves: torch.Tensor
    set_members: torch.Tensor
    num_atom_moves: torch.Tensor
    num_pair_moves: torch.Tensor
    num_sets: torch.Tensor

    @property
    def num_graphs(self) -> int:
        return int(self.num_sets.numel())

    def to(self, device: Any) -> "MoveBatch":
        """The batch on ``device``."""
        return MoveBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def _offset_concat(blocks: Sequence[np.ndarray], offsets: np.ndarray, width: int) -> np.ndarray:
    """Concatenate int64 row blocks, adding ``offsets[k]`` (a row of ``width``) to block ``k``."""
    sizes = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=len(blocks))
    if not sizes.sum():
        return np.zeros((0, width), dtype=np.int64)
    return np.concatenate(blocks).reshape(-1, width) + np.repeat(offsets, sizes, axis=0)


def collate_states(
    features: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], encodings: Sequence[MoveEncoding]
) -> MoveBatch:
    """Batch featurised states and their legal-move encodings without per-molecule tensors.

    Equivalent to ``Batch.from_data_list([make_data(...) ...])`` for unlabelled states
    (a test checks the model scores both identically) but builds each tensor once from
    concatenated numpy arrays, which matters in the sampler's inner loop.

    Args:
        features: per molecule, :func:`~ric.chem.featurise.featurise`'s ``(x, edge_index, edge_attr)``.
        encodings: per molecule, its :class:`~ric.moves.encoding.MoveEncoding`.
    """
    num_atoms = np.array([f[0].shape[0] for f in features], dtype=np.int64)
    num_pairs = np.array([len(e.pairs) for e in encodings], dtype=np.int64)
    num_sets = np.array([e.num_sets for e in encodings], dtype=np.int64)
    atom_start = np.cumsum(num_atoms) - num_atoms
    pair_start = np.cumsum(num_pairs) - num_pairs
    set_start = np.cumsum(num_sets) - num_sets
    zeros = np.zeros_like(atom_start)
    edges = [f[1].T for f in features]
    arrays = {
        "x": np.concatenate([f[0] for f in features]),
        "edge_index": _offset_concat(edges, atom_start[:, None], 2).T.copy(),
        "edge_attr": np.concatenate([f[2] for f in features]),
        "batch": np.repeat(np.arange(len(features), dtype=np.int64), num_atoms),
        "atom_moves": _offset_concat([e.atom_moves for e in encodings], np.stack([atom_start, zeros], 1), 2),
        "pairs": _offset_concat([e.pairs for e in encodings], atom_start[:, None], 2),
        "pair_attr": np.concatenate([e.pair_features for e in encodings]).astype(np.float32, copy=False),
        "pair_moves": _offset_concat([e.pair_moves for e in encodings], np.stack([pair_start, zeros], 1), 2),
        "set_members": _offset_concat([e.set_members for e in encodings], np.stack([set_start, atom_start], 1), 2),
        "num_atom_moves": np.array([len(e.atom_moves) for e in encodings], dtype=np.int64),
        "num_pair_moves": np.array([len(e.pair_moves) for e in encodings], dtype=np.int64),
        "num_sets": num_sets,
    }
    return MoveBatch(**{k: torch.from_numpy(v) for k, v in arrays.items()})
