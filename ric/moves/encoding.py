"""Array form of a state's legal moves, grouped by the network head that scores them.

Move sets describe their legal moves with three generic kinds of candidates, which
lets one network and one training loop serve every move set:

* **atom candidates** ``(atom, class)``: a per-atom choice among ``num_atom_classes``
  (fragment: fuse atom slot ``class`` at ``atom``; atom moves: add an atom of a type
  and bond order, or delete the atom);
* **pair candidates** ``(pair row, class)`` over atom pairs ``pairs[row] = (i, j)``
  (fragment: fuse bond slot ``class`` onto the directed ring bond ``i → j``; atom moves:
  close, open or re-order the bond ``i–j``);
* **set candidates**: one per set of nodes (fragment: delete a leaf cluster; Laman: the
  Henneberg moves), with members listed in ``set_members`` and a role per member in
  ``set_roles`` (default all 0), so that two moves over the same nodes in different
  roles (remove edge a-b and join c, against remove a-c and join b) score differently.

Plus the stop action. Within a molecule candidates are ordered
``[stop, atom candidates..., pair candidates..., set candidates...]``; :data:`KIND_STOP`
etc. name the groups.

Atom and pair candidates are stored as **blocks**: one entity (an atom, or a pair row)
with the leading ``count`` classes of a *class list*. Lists are shared between
entities and molecules and named by a stable 63-bit id (:func:`list_id`, a digest of
the classes), so a batch can score every entity of one list with one dense product
instead of a full ``[entities, classes]`` table (the fragment move set's legal classes
of an atom are a prefix of one of a few dozen vocabulary tables). The flat candidates
of a kind are the blocks in order, each block's classes in list order.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["MoveEncoding", "list_id", "KIND_STOP", "KIND_ATOM", "KIND_PAIR", "KIND_SET", "KIND_NAMES"]

KIND_STOP, KIND_ATOM, KIND_PAIR, KIND_SET = 0, 1, 2, 3
KIND_NAMES = ("stop", "atom", "pair", "set")


def list_id(classes: np.ndarray) -> int:
    """Stable id of a class list: the first 63 bits of its BLAKE2b digest (same in every process)."""
    digest = hashlib.blake2b(np.ascontiguousarray(classes, dtype=np.int64).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def _blocks_of_rows(rows: np.ndarray, lists: dict[int, np.ndarray]) -> np.ndarray:
    """Blocks ``[R, 3]`` (entity, list id, count) of flat ``(entity, class)`` rows: one per run
    of rows with the same entity, whose classes become a list (added to ``lists``)."""
    if not len(rows):
        return np.zeros((0, 3), dtype=np.int64)
    entity = rows[:, 0]
    cut = np.flatnonzero(np.diff(entity)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(rows)]])
    blocks = np.empty((len(starts), 3), dtype=np.int64)
    blocks[:, 0] = entity[starts]
    blocks[:, 2] = ends - starts
    for r, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        classes = np.ascontiguousarray(rows[s:e, 1], dtype=np.int64)
        key = list_id(classes)
        lists.setdefault(key, classes)
        blocks[r, 1] = key
    return blocks


@dataclass
class MoveEncoding:
    """Legal moves of one state as index arrays.

    Attributes:
        atom_blocks: int64 ``[Ra, 3]``, rows ``(atom, list id, count)``: the atom's
            candidates are the classes ``lists[list id][:count]`` (``count >= 1``).
        pairs: int64 ``[P, 2]``, atom pairs ``(i, j)``.
        pair_features: float32 ``[P, F]``, features of each pair (move-set specific).
        pair_blocks: int64 ``[Rp, 3]``, rows ``(pair row, list id, count)``.
        set_members: int64 ``[K, 2]``, rows ``(set row, atom)``.
        num_sets: number of set candidates.
        lists: list id -> int64 classes, for every list the blocks name (arrays shared,
            never written).
        set_roles: int64 ``[K]``, the role of each member, in ``[0, num_set_roles)`` of the
            move set (default ``None``: every member has role 0).
    """

    atom_blocks: np.ndarray
    pairs: np.ndarray
    pair_features: np.ndarray
    pair_blocks: np.ndarray
    set_members: np.ndarray
    num_sets: int
    lists: Mapping[int, np.ndarray]
    set_roles: np.ndarray | None = None
    _flat: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_rows(cls, atom_moves: np.ndarray, pairs: np.ndarray, pair_features: np.ndarray,
                  pair_moves: np.ndarray, set_members: np.ndarray, num_sets: int,
                  set_roles: np.ndarray | None = None) -> "MoveEncoding":
        """An encoding from flat candidate rows: ``atom_moves`` ``[Ma, 2]`` ``(atom, class)`` and
        ``pair_moves`` ``[Mp, 2]`` ``(pair row, class)``, in candidate order (each run of rows
        with the same entity becomes one block)."""
        lists: dict[int, np.ndarray] = {}
        atom_moves = np.asarray(atom_moves, dtype=np.int64).reshape(-1, 2)
        pair_moves = np.asarray(pair_moves, dtype=np.int64).reshape(-1, 2)
        enc = cls(_blocks_of_rows(atom_moves, lists), pairs, pair_features, _blocks_of_rows(pair_moves, lists),
                  set_members, num_sets, lists, set_roles)
        enc._flat[KIND_ATOM], enc._flat[KIND_PAIR] = atom_moves, pair_moves
        return enc

    @property
    def roles(self) -> np.ndarray:
        """int64 ``[K]``: :attr:`set_roles`, or zeros when it is ``None``."""
        if self.set_roles is None:
            return np.zeros(len(self.set_members), dtype=np.int64)
        return self.set_roles

    @property
    def num_atom_moves(self) -> int:
        return int(self.atom_blocks[:, 2].sum())

    @property
    def num_pair_moves(self) -> int:
        return int(self.pair_blocks[:, 2].sum())

    @property
    def num_moves(self) -> int:
        """Number of legal edits (stop excluded)."""
        return self.num_atom_moves + self.num_pair_moves + self.num_sets

    def _blocks(self, kind: int) -> np.ndarray:
        if kind == KIND_ATOM:
            return self.atom_blocks
        if kind == KIND_PAIR:
            return self.pair_blocks
        raise ValueError(f"{KIND_NAMES[kind]} candidates have no blocks")

    def _rows(self, kind: int) -> np.ndarray:
        """Flat ``[M, 2]`` ``(entity, class)`` rows of one kind (built once, on demand)."""
        rows = self._flat.get(kind)
        if rows is None:
            blocks = self._blocks(kind)
            if not len(blocks):
                rows = np.zeros((0, 2), dtype=np.int64)
            else:
                counts = blocks[:, 2]
                classes = np.concatenate([self.lists[int(k)][:n] for k, n in blocks[:, 1:].tolist()])
                rows = np.stack([np.repeat(blocks[:, 0], counts), classes], axis=1)
            self._flat[kind] = rows
        return rows

    @property
    def atom_moves(self) -> np.ndarray:
        """int64 ``[M_atom, 2]``, flat rows ``(atom, class)`` in candidate order."""
        return self._rows(KIND_ATOM)

    @property
    def pair_moves(self) -> np.ndarray:
        """int64 ``[M_pair, 2]``, flat rows ``(pair row, class)`` in candidate order."""
        return self._rows(KIND_PAIR)

    def candidate(self, kind: int, row: int) -> tuple[int, int]:
        """``(entity, class)`` of candidate ``row`` of an atom or pair ``kind``, from the blocks."""
        blocks = self._blocks(kind)
        ends = np.cumsum(blocks[:, 2])
        if not 0 <= row < (ends[-1] if len(ends) else 0):
            raise IndexError(f"{KIND_NAMES[kind]} candidate {row} out of range")
        b = int(np.searchsorted(ends, row, side="right"))
        entity, key, count = (int(v) for v in blocks[b])
        return entity, int(self.lists[key][row - (ends[b] - count)])

    def kind_row(self, flat: int) -> tuple[int, int]:
        """``(kind, row)`` of index ``flat`` into the candidates ``[stop, atom..., pair..., set...]``."""
        n_atom, n_pair = self.num_atom_moves, self.num_pair_moves
        if flat == 0:
            return KIND_STOP, 0
        if flat <= n_atom:
            return KIND_ATOM, flat - 1
        if flat <= n_atom + n_pair:
            return KIND_PAIR, flat - 1 - n_atom
        return KIND_SET, flat - 1 - n_atom - n_pair

    @staticmethod
    def empty_rows(width: int, dtype=np.int64) -> np.ndarray:
        return np.zeros((0, width), dtype=dtype)

    def row_of(self, kind: int, first: int, second: int = -1) -> int:
        """Row of the candidate of ``kind`` whose two columns are ``(first, second)``.

        For :data:`KIND_SET` ``first`` is the set row itself.

        Raises:
            KeyError: if no candidate matches (the move is not legal).
        """
        if kind == KIND_SET:
            if 0 <= first < self.num_sets:
                return first
            raise KeyError(f"set row {first} out of range ({self.num_sets} sets)")
        blocks = self._blocks(kind)
        starts = np.cumsum(blocks[:, 2]) - blocks[:, 2]
        for b in np.flatnonzero(blocks[:, 0] == first).tolist():
            hits = np.flatnonzero(self.lists[int(blocks[b, 1])][: blocks[b, 2]] == second)
            if hits.size:
                return int(starts[b] + hits[0])
        raise KeyError(f"no {KIND_NAMES[kind]} candidate ({first}, {second})")

    def pair_row(self, i: int, j: int) -> int:
        """Row of pair ``(i, j)`` in :attr:`pairs`; raises KeyError if absent."""
        hits = np.flatnonzero((self.pairs[:, 0] == i) & (self.pairs[:, 1] == j))
        if hits.size == 0:
            raise KeyError(f"pair ({i}, {j}) has no legal move")
        return int(hits[0])
