"""The molecule state every move set edits: a connected, Kekulé-form molecular graph.

A :class:`MolGraph` holds heavy atoms (element and formal charge) and bonds of order
1, 2 or 3. Aromaticity is never stored: molecules are kekulised on the way in and
RDKit re-perceives aromaticity when a SMILES is written. Hydrogens are implicit and
follow RDKit's default valence rules, so the only validity condition an edit has to
respect is that every atom's bond-order sum stays within the largest valence RDKit
allows for its element and charge (:func:`max_valence`). RDKit sanitisation remains
the final judge; tests and ``ric corrupt --check`` confirm it on every state.

Instances are immutable; derived quantities (neighbours, valences, rings) are computed
lazily and cached.
"""
from __future__ import annotations

import functools
from collections import deque
from typing import Iterable, Sequence

from rdkit import Chem

from ric.molecules.rdkit_utils import quiet_rdkit

__all__ = ["MolGraph", "max_valence", "SUPPORTED_CHARGES", "BOND_TYPES"]

#: Formal charges ``ric`` represents. Atoms with other charges are rejected on input.
SUPPORTED_CHARGES = (-1, 0, 1)

BOND_TYPES = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
_ORDER_OF_TYPE = {v: k for k, v in BOND_TYPES.items()}
_SANITIZE_OPS = Chem.SanitizeFlags.SANITIZE_ALL ^ Chem.SanitizeFlags.SANITIZE_CLEANUP


@functools.lru_cache(maxsize=None)
def max_valence(atomic_num: int, charge: int) -> int:
    """Largest total valence (bond orders + hydrogens) RDKit accepts for an atom.

    Found by asking RDKit itself to sanitise a lone atom carrying ``v`` explicit
    hydrogens for ``v = 0..7``, so the table always agrees with the installed RDKit.

    Args:
        atomic_num: element number.
        charge: formal charge.

    Returns:
        The largest accepted valence, or ``-1`` when RDKit sets no limit or accepts
        none (such atom types are unsupported).
    """
    best = -1
    with quiet_rdkit():
        for v in range(8):
            mol = Chem.RWMol()
            atom = Chem.Atom(atomic_num)
            atom.SetFormalCharge(charge)
            atom.SetNumExplicitHs(v)
            atom.SetNoImplicit(True)
            mol.AddAtom(atom)
            try:
                Chem.SanitizeMol(mol)
            except Exception:  # RDKit raises several exception types for valence errors
                continue
            best = v
    # Accepting 7 hydrogens means RDKit has no valence model for this type.
    return -1 if best >= 7 else best


class MolGraph:
    """An immutable Kekulé molecular graph of heavy atoms.

    Args:
        atomic_nums: element number per atom, length ``n``.
        charges: formal charge per atom, length ``n``.
        bonds: ``(i, j, order)`` triples with ``i != j`` and ``order`` in ``{1, 2, 3}``;
            stored with ``i < j``.
    """

    __slots__ = ("atomic_nums", "charges", "bonds", "__dict__")

    def __init__(
        self,
        atomic_nums: Sequence[int],
        charges: Sequence[int],
        bonds: Iterable[tuple[int, int, int]],
    ) -> None:
        self.atomic_nums: tuple[int, ...] = tuple(atomic_nums)
        self.charges: tuple[int, ...] = tuple(charges)
        self.bonds: tuple[tuple[int, int, int], ...] = tuple(
            (i, j, o) if i < j else (j, i, o) for i, j, o in bonds
        )
        if len(self.atomic_nums) != len(self.charges):
            raise ValueError("atomic_nums and charges differ in length")

    # ------------------------------------------------------------------ basics
    @property
    def num_atoms(self) -> int:
        return len(self.atomic_nums)

    @property
    def num_bonds(self) -> int:
        return len(self.bonds)

    def atom_type(self, i: int) -> tuple[int, int]:
        """``(atomic_num, charge)`` of atom ``i``."""
        return self.atomic_nums[i], self.charges[i]

    @functools.cached_property
    def neighbors(self) -> tuple[tuple[int, ...], ...]:
        nbrs: list[list[int]] = [[] for _ in range(self.num_atoms)]
        for i, j, _ in self.bonds:
            nbrs[i].append(j)
            nbrs[j].append(i)
        return tuple(tuple(x) for x in nbrs)

    @functools.cached_property
    def bond_orders(self) -> dict[tuple[int, int], int]:
        """Bond order keyed by both ``(i, j)`` and ``(j, i)``."""
        out: dict[tuple[int, int], int] = {}
        for i, j, o in self.bonds:
            out[(i, j)] = o
            out[(j, i)] = o
        return out

    @functools.cached_property
    def valences(self) -> tuple[int, ...]:
        """Sum of bond orders per atom (hydrogens excluded)."""
        val = [0] * self.num_atoms
        for i, j, o in self.bonds:
            val[i] += o
            val[j] += o
        return tuple(val)

    @functools.cached_property
    def free_valences(self) -> tuple[int, ...]:
        """How many more bond orders each atom can take: ``max_valence - valence``."""
        return tuple(
            max_valence(z, c) - v for z, c, v in zip(self.atomic_nums, self.charges, self.valences)
        )

    @property
    def degrees(self) -> tuple[int, ...]:
        return tuple(len(n) for n in self.neighbors)

    def is_connected(self) -> bool:
        """True when the graph has at least one atom and one connected component."""
        n = self.num_atoms
        if n == 0:
            return False
        seen = [False] * n
        seen[0] = True
        queue = deque([0])
        count = 1
        nbrs = self.neighbors
        while queue:
            u = queue.popleft()
            for v in nbrs[u]:
                if not seen[v]:
                    seen[v] = True
                    count += 1
                    queue.append(v)
        return count == n

    # ------------------------------------------------------------------ rings
    @functools.cached_property
    def rings(self) -> tuple[tuple[int, ...], ...]:
        """Symmetrised smallest set of smallest rings (RDKit), as atom-index tuples.

        Their order carries no meaning (:meth:`edit` may set rings derived from a parent
        state, in another order than RDKit's)."""
        if self.num_bonds < self.num_atoms:  # a tree has no rings
            return ()
        return tuple(tuple(r) for r in Chem.GetSymmSSSR(self._rdkit_unsanitized))

    def known_rings(self) -> tuple[tuple[int, ...], ...] | None:
        """:attr:`rings` if already perceived or set by :meth:`edit`, else ``None`` (no work)."""
        return self.__dict__.get("rings")

    @functools.cached_property
    def ring_bonds(self) -> frozenset[tuple[int, int]]:
        """Bonds that lie on a ring, keyed ``(i, j)`` with ``i < j``."""
        out = set()
        for ring in self.rings:
            for k in range(len(ring)):
                a, b = ring[k], ring[k - 1]
                out.add((a, b) if a < b else (b, a))
        return frozenset(out)

    # ------------------------------------------------------------------ RDKit
    @functools.cached_property
    def _rdkit_unsanitized(self) -> Chem.RWMol:
        mol = Chem.RWMol()
        for z, c in zip(self.atomic_nums, self.charges):
            atom = Chem.Atom(z)
            if c:
                atom.SetFormalCharge(c)
            mol.AddAtom(atom)
        for i, j, o in self.bonds:
            mol.AddBond(i, j, BOND_TYPES[o])
        return mol

    @functools.cached_property
    def _sanitized(self) -> Chem.Mol | str:
        """The sanitised molecule, or RDKit's error message (computed once per state)."""
        mol = Chem.RWMol(self._rdkit_unsanitized)
        with quiet_rdkit():
            try:
                # No clean-up step: RDKit's clean-up would silently rewrite some
                # over-valent graphs (e.g. five-valent N into an N-oxide) instead of
                # rejecting them, and the state must be valid exactly as it is.
                Chem.SanitizeMol(mol, sanitizeOps=_SANITIZE_OPS)
            except Exception as exc:  # RDKit raises several exception types
                return str(exc)
        return mol.GetMol()

    def sanitized_mol(self) -> Chem.Mol:
        """The cached sanitised RDKit molecule; treat it as read-only (use :meth:`to_rdkit` for a copy).

        Raises:
            ValueError: if RDKit rejects the molecule.
        """
        mol = self._sanitized
        if isinstance(mol, str):
            raise ValueError(f"RDKit rejects {self.kekule_smiles()}: {mol}")
        return mol

    def to_rdkit(self, sanitize: bool = True) -> Chem.Mol:
        """A new RDKit molecule; sanitised (aromaticity perceived) unless ``sanitize=False``.

        Sanitisation skips RDKit's clean-up step, so a graph RDKit would have to rewrite
        to accept (e.g. a five-valent nitrogen) is rejected.

        Raises:
            ValueError: if RDKit rejects the molecule during sanitisation.
        """
        if not sanitize:
            return Chem.Mol(self._rdkit_unsanitized)
        return Chem.Mol(self.sanitized_mol())

    def sanitizes(self) -> bool:
        """True when RDKit sanitises the molecule."""
        return not isinstance(self._sanitized, str)

    @functools.cached_property
    def _smiles(self) -> str:
        return Chem.MolToSmiles(self.sanitized_mol())

    def smiles(self) -> str:
        """Canonical (aromatic) SMILES, the identity of the molecule."""
        return self._smiles

    def kekule_smiles(self) -> str:
        """Kekulé SMILES that preserves bond orders (parse it with :meth:`from_kekule_smiles`)."""
        return self.kekule_smiles_with_order()[0]

    def kekule_smiles_with_order(self) -> tuple[str, list[int]]:
        """Canonical Kekulé SMILES and the output order of atoms.

        Returns:
            ``(smiles, order)`` where ``order[k]`` is the index in this graph of the
            ``k``-th atom written, i.e. the atom that gets index ``k`` on re-parsing.
        """
        mol = Chem.RWMol(self._rdkit_unsanitized)
        with quiet_rdkit():
            mol.UpdatePropertyCache(strict=False)
            smi = Chem.MolToSmiles(mol, kekuleSmiles=True, canonical=True)
        order = list(mol.GetProp("_smilesAtomOutputOrder").strip("[],").split(","))
        return smi, [int(x) for x in order if x != ""]

    @classmethod
    def from_kekule_smiles(cls, smiles: str) -> "MolGraph":
        """Read a Kekulé SMILES written by :meth:`kekule_smiles` without re-perceiving aromaticity.

        Raises:
            ValueError: if the SMILES does not parse or contains aromatic atoms.
        """
        with quiet_rdkit():
            mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            raise ValueError(f"cannot parse Kekulé SMILES {smiles!r}")
        return cls.from_rdkit(mol)

    @classmethod
    def from_rdkit(cls, mol: Chem.Mol) -> "MolGraph":
        """Graph of a Kekulé RDKit molecule (no aromatic bonds), hydrogens implicit.

        Raises:
            ValueError: if a bond is aromatic or not single/double/triple.
        """
        zs = [a.GetAtomicNum() for a in mol.GetAtoms()]
        cs = [a.GetFormalCharge() for a in mol.GetAtoms()]
        bonds = []
        for b in mol.GetBonds():
            order = _ORDER_OF_TYPE.get(b.GetBondType())
            if order is None:
                raise ValueError(f"bond type {b.GetBondType()} is not Kekulé single/double/triple")
            bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), order))
        return cls(zs, cs, bonds)

    # ------------------------------------------------------------------ edits
    def edit(
        self,
        remove_atoms: Iterable[int] = (),
        add_atoms: Sequence[tuple[int, int]] = (),
        add_bonds: Iterable[tuple[int, int, int]] = (),
        remove_bonds: Iterable[tuple[int, int]] = (),
        set_bond_orders: Iterable[tuple[int, int, int]] = (),
        rings: Sequence[Sequence[int]] | None = None,
    ) -> "MolGraph":
        """A new graph with atoms/bonds removed and added.

        New atoms get indices ``num_atoms, num_atoms + 1, ...`` *before* removals are
        applied; ``add_bonds`` may refer to them. Removed atoms take their bonds with
        them and the remaining atoms keep their relative order.

        Args:
            remove_atoms: atom indices to delete.
            add_atoms: ``(atomic_num, charge)`` of atoms to append.
            add_bonds: ``(i, j, order)`` bonds to add.
            remove_bonds: ``(i, j)`` bonds to delete.
            set_bond_orders: ``(i, j, order)`` existing bonds to re-order.
            rings: the new graph's :attr:`rings` when the caller knows them, in the numbering
                before removals (default ``None``: perceived by RDKit when first needed). The
                caller guarantees that they are the rings RDKit would perceive, as a set
                (their order may differ); the fragment move set derives them from the
                parent's rings and the fragment's.
        """
        zs = list(self.atomic_nums)
        cs = list(self.charges)
        for z, c in add_atoms:
            zs.append(z)
            cs.append(c)
        removed_bonds = {(min(i, j), max(i, j)) for i, j in remove_bonds}
        new_orders = {(min(i, j), max(i, j)): o for i, j, o in set_bond_orders}
        bonds = []
        for i, j, o in self.bonds:
            if (i, j) in removed_bonds:
                continue
            bonds.append((i, j, new_orders.get((i, j), o)))
        bonds.extend(add_bonds)
        dead = set(remove_atoms)
        if not dead:
            out = MolGraph(zs, cs, bonds)
            if rings is not None:
                out.__dict__["rings"] = tuple(tuple(r) for r in rings)
            return out
        remap = {}
        k = 0
        for old in range(len(zs)):
            if old not in dead:
                remap[old] = k
                k += 1
        out = MolGraph(
            [zs[i] for i in remap],
            [cs[i] for i in remap],
            [(remap[i], remap[j], o) for i, j, o in bonds if i in remap and j in remap],
        )
        if rings is not None:
            out.__dict__["rings"] = tuple(tuple(remap[a] for a in ring) for ring in rings)
        return out

    def permute(self, order: Sequence[int]) -> "MolGraph":
        """The same molecule with atoms renumbered: ``order[k]`` becomes atom ``k``."""
        new_index = [0] * self.num_atoms
        for k, old in enumerate(order):
            new_index[old] = k
        return MolGraph(
            [self.atomic_nums[i] for i in order],
            [self.charges[i] for i in order],
            [(new_index[i], new_index[j], o) for i, j, o in self.bonds],
        )

    # ------------------------------------------------------------------ misc
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MolGraph):
            return NotImplemented
        return (
            self.atomic_nums == other.atomic_nums
            and self.charges == other.charges
            and sorted(self.bonds) == sorted(other.bonds)
        )

    def __hash__(self) -> int:
        return hash((self.atomic_nums, self.charges, tuple(sorted(self.bonds))))

    def __reduce__(self):
        return (MolGraph, (self.atomic_nums, self.charges, self.bonds))

    def __repr__(self) -> str:
        try:
            text = self.kekule_smiles()
        except Exception:  # repr must never raise
            text = f"{self.num_atoms} atoms"
        return f"MolGraph({text!r})"
