"""Array form of a state's legal moves, grouped by the network head that scores them.

Move sets describe their legal moves with three generic kinds of candidates, which
lets one network and one training loop serve every move set:

* **atom candidates** ``(atom, class)``: a per-atom choice among ``num_atom_classes``
  (fragment: fuse atom slot ``class`` at ``atom``; atom moves: add an atom of a type
  and bond order, or delete the atom);
* **pair candidates** ``(pair row, class)`` over atom pairs ``pairs[row] = (i, j)``
  (fragment: fuse bond slot ``class`` onto the directed ring bond ``i → j``; atom moves:
  close, open or re-order the bond ``i–j``);
* **set candidates**: one per atom set (fragment: delete a leaf cluster), with members
  listed in ``set_members``.

Plus the stop action. Within a molecule candidates are ordered
``[stop, atom candidates..., pair candidates..., set candidates...]``; :data:`KIND_STOP`
etc. name the groups.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MoveEncoding", "KIND_STOP", "KIND_ATOM", "KIND_PAIR", "KIND_SET", "KIND_NAMES"]

KIND_STOP, KIND_ATOM, KIND_PAIR, KIND_SET = 0, 1, 2, 3
KIND_NAMES = ("stop", "atom", "pair", "set")


@dataclass
class MoveEncoding:
    """Legal moves of one state as index arrays.

    Attributes:
        atom_moves: int64 ``[M_atom, 2]``, rows ``(atom, class)``.
        pairs: int64 ``[P, 2]``, atom pairs ``(i, j)``.
        pair_features: float32 ``[P, F]``, features of each pair (move-set specific).
        pair_moves: int64 ``[M_pair, 2]``, rows ``(pair row, class)``.
        set_members: int64 ``[K, 2]``, rows ``(set row, atom)``.
        num_sets: number of set candidates.
    """

    atom_moves: np.ndarray
    pairs: np.ndarray
    pair_features: np.ndarray
    pair_moves: np.ndarray
    set_members: np.ndarray
    num_sets: int

    @property
    def num_moves(self) -> int:
        """Number of legal edits (stop excluded)."""
        return len(self.atom_moves) + len(self.pair_moves) + self.num_sets

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
        table = self.atom_moves if kind == KIND_ATOM else self.pair_moves
        hits = np.flatnonzero((table[:, 0] == first) & (table[:, 1] == second))
        if hits.size == 0:
            raise KeyError(f"no {KIND_NAMES[kind]} candidate ({first}, {second})")
        return int(hits[0])

    def pair_row(self, i: int, j: int) -> int:
        """Row of pair ``(i, j)`` in :attr:`pairs`; raises KeyError if absent."""
        hits = np.flatnonzero((self.pairs[:, 0] == i) & (self.pairs[:, 1] == j))
        if hits.size == 0:
            raise KeyError(f"pair ({i}, {j}) has no legal move")
        return int(hits[0])
