"""Batches of states and their legal moves, built straight from arrays.

:func:`make_example` featurises a state and encodes its legal moves (and, for training,
locates its label move); :func:`collate` joins examples into a :class:`MoveBatch`: one
disjoint union of molecules whose candidate indices are offset to point at the right
atoms and pairs, with the atom and pair candidate blocks of the whole batch sorted by
class list (:class:`CandidateBlocks`) so the network scores each list with one dense
product. Everything is concatenated numpy, converted to tensors once per batch; no
per-molecule tensor is made.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ric.moves.encoding import KIND_ATOM, KIND_SET, KIND_STOP, MoveEncoding

__all__ = ["Example", "make_example", "CandidateBlocks", "MoveBatch", "collate", "collate_states"]


@dataclass
class Example:
    """One state ready for batching.

    Attributes:
        features: the move set's ``featurise(state)``: ``(x, edge_index, edge_attr)``.
        encoding: the state's legal moves.
        label: ``(kind, row)`` of the target move among the candidates, or ``None``.
    """

    features: tuple[np.ndarray, np.ndarray, np.ndarray]
    encoding: MoveEncoding
    label: tuple[int, int] | None = None


def make_example(move_set: Any, state: Any, label: Any = None, encoding: MoveEncoding | None = None) -> Example:
    """Featurise ``state`` and encode its legal moves (and locate ``label``, if given).

    Args:
        move_set: a move set (:class:`~ric.moves.protocol.MoveSet`: ``featurise``,
            ``encode_moves``, ``locate``).
        state: the (corrupted) state.
        label: the target move (``STOP`` or a legal move), or ``None`` for unlabelled data.
        encoding: precomputed ``move_set.encode_moves(state)`` (default: computed here).

    Raises:
        KeyError: if ``label`` is not a legal move of ``state``.
    """
    enc = encoding if encoding is not None else move_set.encode_moves(state)
    target = None
    if label is not None:
        kind, row = move_set.locate(state, enc, label)
        target = (int(kind), int(row) if kind != KIND_STOP else 0)
    return Example(move_set.featurise(state), enc, target)


def _tensor_fields(obj: Any, fn: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = fn(value) if isinstance(value, (torch.Tensor, CandidateBlocks)) else value
    return out


@dataclass
class CandidateBlocks:
    """The atom (or pair) candidate blocks of a batch, sorted by class list.

    ``R`` blocks in ``U`` groups; group ``u`` is rows ``groups[u, 0]:groups[u, 1]`` of every
    per-block tensor, all of one class list, of which the first ``groups[u, 3]`` classes
    are ``classes[groups[u, 2]:groups[u, 2] + groups[u, 3]]``.

    Attributes:
        entity: long ``[R]``, the block's atom (or pair row) in the batch.
        count: long ``[R]``, its candidates: the first ``count`` classes of its list.
        graph: long ``[R]``, its molecule.
        offset: long ``[R]``, index of its first candidate among the batch's candidates of
            this kind in flat, molecule-major order.
        class_start: long ``[R]``, index in ``classes`` of its group's first class.
        classes: long ``[L]``, each group's classes, concatenated.
        groups: long ``[U, 5]``, rows ``(first block, end block, first class, width, full)``;
            ``full`` is 1 when every block of the group has ``count == width``.
    """

    entity: torch.Tensor
    count: torch.Tensor
    graph: torch.Tensor
    offset: torch.Tensor
    class_start: torch.Tensor
    classes: torch.Tensor
    groups: torch.Tensor

    def to(self, device: Any) -> "CandidateBlocks":
        return CandidateBlocks(**_tensor_fields(self, lambda t: t.to(device)))

    def pin_memory(self) -> "CandidateBlocks":
        return CandidateBlocks(**_tensor_fields(self, lambda t: t.pin_memory()))


@dataclass
class MoveBatch:
    """A batch of states with their legal moves (see :func:`collate`).

    Shapes with ``N`` nodes (atoms), ``E`` directed edges, ``P`` pairs, ``K`` set members
    and ``B`` states: ``x [N, node_feature_dim]``, ``edge_index [2, E]``, ``edge_attr [E,
    edge_feature_dim]``, ``batch [N]`` (state of each node), ``pairs [P, 2]``, ``pair_attr
    [P, F]``, ``set_members [K, 2]`` ``(set, node)``, ``set_roles [K]`` (each member's
    role), ``num_atom_moves``, ``num_pair_moves``,
    ``num_sets`` ``[B]``; ``atom_blocks`` and ``pair_blocks`` as :class:`CandidateBlocks`.
    Labelled batches also have ``y [B, 2]``, each label's ``(kind, row)`` among its
    molecule's candidates, and ``target [B, 3]``, the same label as ``(kind, index,
    position)``: the molecule (stop), the set in the batch (set), or the sorted block and
    the position in it (atom, pair); unlabelled ones have ``None``.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    batch: torch.Tensor
    pairs: torch.Tensor
    pair_attr: torch.Tensor
    set_members: torch.Tensor
    set_roles: torch.Tensor
    num_atom_moves: torch.Tensor
    num_pair_moves: torch.Tensor
    num_sets: torch.Tensor
    atom_blocks: CandidateBlocks
    pair_blocks: CandidateBlocks
    y: torch.Tensor | None = None
    target: torch.Tensor | None = None

    @property
    def num_graphs(self) -> int:
        return int(self.num_sets.numel())

    def to(self, device: Any) -> "MoveBatch":
        """The batch on ``device``."""
        return MoveBatch(**_tensor_fields(self, lambda t: t.to(device)))

    def pin_memory(self) -> "MoveBatch":
        return MoveBatch(**_tensor_fields(self, lambda t: t.pin_memory()))


def _offset_concat(blocks: Sequence[np.ndarray], offsets: np.ndarray, width: int) -> np.ndarray:
    """Concatenate int64 row blocks, adding ``offsets[k]`` (a row of ``width``) to block ``k``."""
    sizes = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=len(blocks))
    if not sizes.sum():
        return np.zeros((0, width), dtype=np.int64)
    return np.concatenate(blocks).reshape(-1, width) + np.repeat(offsets, sizes, axis=0)


def _sort_blocks(blocks: Sequence[np.ndarray], entity_start: np.ndarray,
                 lists: Mapping[int, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-block arrays of :class:`CandidateBlocks` (sorted by list), the sorted position of
    each block in batch order, and the first block of each molecule (batch order)."""
    sizes = np.fromiter((len(b) for b in blocks), dtype=np.int64, count=len(blocks))
    first = np.cumsum(sizes) - sizes
    rows = np.concatenate(blocks).reshape(-1, 3) if sizes.sum() else np.zeros((0, 3), dtype=np.int64)
    entity = rows[:, 0] + np.repeat(entity_start, sizes)
    count = rows[:, 2]
    graph = np.repeat(np.arange(len(blocks), dtype=np.int64), sizes)
    offset = np.cumsum(count) - count
    uniq, inverse = np.unique(rows[:, 1], return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    sorted_count = count[order]
    if len(order):
        lo = np.concatenate([[0], np.flatnonzero(np.diff(inverse[order])) + 1])
        width = np.maximum.reduceat(sorted_count, lo)
        full = np.minimum.reduceat(sorted_count, lo) == width
        hi = np.append(lo[1:], len(order))
    else:
        lo = hi = width = full = np.zeros(0, dtype=np.int64)
    class_lo = np.cumsum(width) - width
    classes = (np.concatenate([lists[int(k)][:w] for k, w in zip(uniq.tolist(), width.tolist())])
               if len(uniq) else np.zeros(0, dtype=np.int64))
    arrays = {
        "entity": entity[order],
        "count": sorted_count,
        "graph": graph[order],
        "offset": offset[order],
        "class_start": np.repeat(class_lo, hi - lo),
        "classes": classes.astype(np.int64, copy=False),
        "groups": np.stack([lo, hi, class_lo, width, full.astype(np.int64)], axis=1).astype(np.int64).reshape(-1, 5),
    }
    return arrays, rank, first


def _as_blocks(arrays: dict[str, np.ndarray]) -> CandidateBlocks:
    return CandidateBlocks(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()})


def collate(examples: Sequence[Example]) -> MoveBatch:
    """Join examples into one :class:`MoveBatch` (labelled when every example has a label).

    Raises:
        ValueError: if some examples have labels and others do not, or none are given.
    """
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    features = [e.features for e in examples]
    encodings = [e.encoding for e in examples]
    num_atoms = np.array([f[0].shape[0] for f in features], dtype=np.int64)
    num_pairs = np.array([len(e.pairs) for e in encodings], dtype=np.int64)
    num_sets = np.array([e.num_sets for e in encodings], dtype=np.int64)
    atom_start = np.cumsum(num_atoms) - num_atoms
    pair_start = np.cumsum(num_pairs) - num_pairs
    set_start = np.cumsum(num_sets) - num_sets
    lists: dict[int, np.ndarray] = {}
    for e in encodings:
        lists.update(e.lists)
    atom, atom_rank, atom_first = _sort_blocks([e.atom_blocks for e in encodings], atom_start, lists)
    pair, pair_rank, pair_first = _sort_blocks([e.pair_blocks for e in encodings], pair_start, lists)
    arrays = {
        "x": np.concatenate([f[0] for f in features]),
        "edge_index": _offset_concat([f[1].T for f in features], atom_start[:, None], 2).T.copy(),
        "edge_attr": np.concatenate([f[2] for f in features]),
        "batch": np.repeat(np.arange(len(features), dtype=np.int64), num_atoms),
        "pairs": _offset_concat([e.pairs for e in encodings], atom_start[:, None], 2),
        "pair_attr": np.concatenate([e.pair_features for e in encodings]).astype(np.float32, copy=False),
        "set_members": _offset_concat(
            [e.set_members for e in encodings], np.stack([set_start, atom_start], 1), 2),
        "set_roles": np.concatenate([e.roles for e in encodings]).astype(np.int64, copy=False),
        "num_atom_moves": np.array([e.num_atom_moves for e in encodings], dtype=np.int64),
        "num_pair_moves": np.array([e.num_pair_moves for e in encodings], dtype=np.int64),
        "num_sets": num_sets,
    }
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    labelled = [e.label is not None for e in examples]
    if any(labelled):
        if not all(labelled):
            raise ValueError("either every example of a batch has a label or none has")
        y = np.array([e.label for e in examples], dtype=np.int64).reshape(-1, 2)
        target = np.zeros((len(examples), 3), dtype=np.int64)
        for b, (enc, (kind, row)) in enumerate(zip(encodings, y.tolist())):
            target[b, 0] = kind
            if kind == KIND_STOP:
                target[b, 1] = b
            elif kind == KIND_SET:
                target[b, 1] = set_start[b] + row
            else:
                blocks, rank, first = ((enc.atom_blocks, atom_rank, atom_first) if kind == KIND_ATOM
                                       else (enc.pair_blocks, pair_rank, pair_first))
                ends = np.cumsum(blocks[:, 2])
                i = int(np.searchsorted(ends, row, side="right"))
                target[b, 1] = rank[first[b] + i]
                target[b, 2] = row - (ends[i] - blocks[i, 2])
        batch["y"], batch["target"] = torch.from_numpy(y), torch.from_numpy(target)
    return MoveBatch(atom_blocks=_as_blocks(atom), pair_blocks=_as_blocks(pair), **batch)


def collate_states(
    features: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], encodings: Sequence[MoveEncoding]
) -> MoveBatch:
    """Batch unlabelled featurised states and their legal-move encodings (the sampler's path).

    Args:
        features: per state, the move set's ``featurise(state)``: ``(x, edge_index, edge_attr)``.
        encodings: per state, its :class:`~ric.moves.encoding.MoveEncoding`.
    """
    return collate([Example(f, e) for f, e in zip(features, encodings)])
