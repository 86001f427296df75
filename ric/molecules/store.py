"""Many molecules in a few flat arrays: a memory-bounded, cacheable sequence of :class:`MolGraph`.

A Python :class:`~ric.molecules.graph.MolGraph` per molecule costs about a kilobyte of tuples
and objects; a million molecules held as a list take gigabytes and are copied page by
page into every forked DataLoader worker as reference counts change. :class:`MolStore`
holds the same molecules as six numpy arrays (about 200 bytes per molecule of ZINC size)
and builds the :class:`MolGraph` of item ``i`` when it is asked for (about 12 µs), so
workers share the arrays untouched and a store saves to and loads from one ``.npz``
file without pickling.
"""
from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from ric.molecules.graph import MolGraph

__all__ = ["MolStore"]

_KEYS = ("atom_ptr", "atomic_nums", "charges", "bond_ptr", "bonds", "lines")


class MolStore(Sequence[MolGraph]):
    """An immutable sequence of molecules stored as flat arrays.

    Args (shapes for ``M`` molecules, ``A`` atoms and ``B`` bonds in all):
        atom_ptr: int64 ``[M + 1]``; molecule ``i`` owns atoms ``atom_ptr[i]:atom_ptr[i+1]``.
        atomic_nums, charges: int8 ``[A]``.
        bond_ptr: int64 ``[M + 1]``; molecule ``i`` owns bonds ``bond_ptr[i]:bond_ptr[i+1]``.
        bonds: int16 ``[B, 3]`` rows ``(i, j, order)`` with atom indices local to the molecule.
        lines: int64 ``[M]``, where each molecule came from (e.g. its line in the file).
    """

    def __init__(self, atom_ptr: np.ndarray, atomic_nums: np.ndarray, charges: np.ndarray,
                 bond_ptr: np.ndarray, bonds: np.ndarray, lines: np.ndarray) -> None:
        self.atom_ptr = atom_ptr
        self.atomic_nums = atomic_nums
        self.charges = charges
        self.bond_ptr = bond_ptr
        self.bonds = bonds
        self.lines = lines
        if not (len(atom_ptr) == len(bond_ptr) == len(lines) + 1):
            raise ValueError("MolStore arrays disagree on the number of molecules")

    @classmethod
    def from_graphs(cls, graphs: Iterable[MolGraph], lines: Iterable[int] | None = None) -> "MolStore":
        """Pack molecules (and optionally where each came from; default ``0, 1, ...``).

        ``graphs`` is consumed once, one molecule at a time (a generator keeps memory flat);
        ``lines`` is read only after it, so a generator may fill it as a side effect.
        """
        atoms, charges, bonds, atom_counts, bond_counts = [], [], [], [], []
        for g in graphs:
            atoms.extend(g.atomic_nums)
            charges.extend(g.charges)
            bonds.extend(g.bonds)
            atom_counts.append(g.num_atoms)
            bond_counts.append(len(g.bonds))
        n = len(atom_counts)
        line_array = np.arange(n, dtype=np.int64) if lines is None else np.fromiter(lines, dtype=np.int64, count=n)
        return cls(
            atom_ptr=np.concatenate([[0], np.cumsum(atom_counts, dtype=np.int64)]),
            atomic_nums=np.asarray(atoms, dtype=np.int8),
            charges=np.asarray(charges, dtype=np.int8),
            bond_ptr=np.concatenate([[0], np.cumsum(bond_counts, dtype=np.int64)]),
            bonds=np.asarray(bonds, dtype=np.int16).reshape(-1, 3),
            lines=line_array,
        )

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return self.subset(range(len(self))[index])
        n = len(self)
        i = int(index) + n if int(index) < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"molecule {index} out of range ({n} molecules)")
        a0, a1 = self.atom_ptr[i], self.atom_ptr[i + 1]
        b0, b1 = self.bond_ptr[i], self.bond_ptr[i + 1]
        return MolGraph(self.atomic_nums[a0:a1].tolist(), self.charges[a0:a1].tolist(),
                        map(tuple, self.bonds[b0:b1].tolist()))

    def __iter__(self) -> Iterator[MolGraph]:
        for i in range(len(self)):
            yield self[i]

    def subset(self, indices: Sequence[int] | np.ndarray) -> "MolStore":
        """The molecules at ``indices``, in that order, as a new store."""
        idx = np.asarray(indices, dtype=np.int64)
        atom_counts = np.diff(self.atom_ptr)[idx]
        bond_counts = np.diff(self.bond_ptr)[idx]
        atom_rows = _ranges(self.atom_ptr[idx], atom_counts)
        bond_rows = _ranges(self.bond_ptr[idx], bond_counts)
        return MolStore(
            atom_ptr=np.concatenate([[0], np.cumsum(atom_counts)]).astype(np.int64),
            atomic_nums=self.atomic_nums[atom_rows],
            charges=self.charges[atom_rows],
            bond_ptr=np.concatenate([[0], np.cumsum(bond_counts)]).astype(np.int64),
            bonds=self.bonds[bond_rows],
            lines=self.lines[idx],
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(getattr(self, k).nbytes for k in _KEYS)

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (what :meth:`save` writes)."""
        return {k: getattr(self, k) for k in _KEYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "MolStore":
        """The store of :meth:`arrays` output (e.g. read back from an ``.npz`` file)."""
        return cls(**{k: np.asarray(arrays[k]) for k in _KEYS})


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each ``(s, c)``, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return np.arange(total, dtype=np.int64) + offsets


def default_molecule_cache() -> str:
    """``$RIC_CACHE_DIR/molecules`` if ``RIC_CACHE_DIR`` is set, else ``~/.cache/ric/molecules``."""
    base = os.environ.get("RIC_CACHE_DIR")
    return os.path.join(base, "molecules") if base else os.path.join(os.path.expanduser("~"), ".cache", "ric", "molecules")
