"""Junction-tree clusters and the fragment vocabulary of the fragment move set.

A molecule decomposes into *clusters* (as in JT-VAE and the paper): every bond that
is on no ring is a two-atom cluster; rings (RDKit's symmetrised SSSR) are clusters,
merged when two share more than two atoms (bridged systems); a molecule of a single
atom is one single-atom cluster. A *fragment* is a cluster's subgraph (atoms with
element and charge, bonds with their Kekulé order).

The :class:`Vocabulary` holds the fragments seen in training data, each stored in the
canonical atom order of :func:`ric.molecules.canon.canonical_form` and keyed by its
certificate, so identities do not drift with the RDKit release. Attachment *slots*
are orbits under the fragment's automorphisms: an atom slot for fusion at an atom,
a directed-bond slot for fusion onto a ring bond. Global slot numbers
(:attr:`Fragment.atom_slot_offset`, :attr:`Fragment.bond_slot_offset`) index the
network's output heads.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from rdkit import Chem

from ric.molecules.canon import canonical_form
from ric.molecules.graph import MolGraph
from ric.molecules.rdkit_utils import quiet_rdkit
from ric.molecules.standardise import MoleculeError

__all__ = [
    "Cluster",
    "decompose",
    "Fragment",
    "Vocabulary",
    "UnknownFragmentError",
    "cluster_subgraph",
]

logger = logging.getLogger(__name__)

VOCAB_FORMAT = "ric-fragment-vocabulary 1"


class UnknownFragmentError(MoleculeError):
    """A cluster of a molecule is not in the fragment vocabulary.

    Attributes:
        fragment: Kekulé SMILES of the missing fragment.
    """

    def __init__(self, molecule: str, fragment: str) -> None:
        self.fragment = fragment
        super().__init__(molecule, "unknown_fragment", f"fragment {fragment} is not in the vocabulary")


@dataclass(frozen=True)
class Cluster:
    """A cluster of a molecule.

    Attributes:
        atoms: atom indices, sorted.
        bonds: ``(i, j)`` bonds (``i < j``) of the cluster, sorted.
        is_ring: True for ring systems, False for non-ring bonds and single atoms.
    """

    atoms: tuple[int, ...]
    bonds: tuple[tuple[int, int], ...]
    is_ring: bool


def decompose(graph: MolGraph) -> list[Cluster]:
    """Cluster decomposition of a molecule (see module docstring).

    Args:
        graph: the molecule.

    Returns:
        Ring clusters first (ordered by their sorted atom indices), then non-ring bonds in
        bond order; a single-atom molecule gives one single-atom cluster.
    """
    if graph.num_atoms == 1:
        return [Cluster((0,), (), False)]
    ring_bonds = graph.ring_bonds
    rings = [set(r) for r in graph.rings]
    # Merge rings sharing more than two atoms (union-find over rings).
    parent = list(range(len(rings)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a in range(len(rings)):
        for b in range(a + 1, len(rings)):
            if len(rings[a] & rings[b]) > 2:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra
    groups: dict[int, list[int]] = {}
    for r in range(len(rings)):
        groups.setdefault(find(r), []).append(r)
    clusters = []
    for members in groups.values():
        atoms: set[int] = set()
        bonds: set[tuple[int, int]] = set()
        for r in members:
            ring = graph.rings[r]
            atoms.update(ring)
            for k in range(len(ring)):
                a, b = ring[k], ring[k - 1]
                bonds.add((a, b) if a < b else (b, a))
        clusters.append(Cluster(tuple(sorted(atoms)), tuple(sorted(bonds)), True))
    clusters.sort(key=lambda c: c.atoms)  # whatever the order of graph.rings
    for i, j, _ in graph.bonds:
        if (i, j) not in ring_bonds:
            clusters.append(Cluster((i, j), ((i, j),), False))
    return clusters


def cluster_subgraph(graph: MolGraph, cluster: Cluster) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Labels and bonds of a cluster in local indices (position in ``cluster.atoms``)."""
    local = {a: k for k, a in enumerate(cluster.atoms)}
    labels = [graph.atom_type(a) for a in cluster.atoms]
    orders = graph.bond_orders
    bonds = [(local[i], local[j], orders[(i, j)]) for i, j in cluster.bonds]
    return labels, bonds


def _fragment_smiles(labels: Sequence[tuple[int, int]], bonds: Sequence[tuple[int, int, int]]) -> str:
    """Kekulé SMILES of a fragment written in the given atom order (display and file form)."""
    graph = MolGraph([z for z, _ in labels], [c for _, c in labels], bonds)
    mol = Chem.RWMol(graph._rdkit_unsanitized)
    with quiet_rdkit():
        mol.UpdatePropertyCache(strict=False)
        return Chem.MolToSmiles(mol, kekuleSmiles=True, canonical=False, rootedAtAtom=0)


@dataclass
class Fragment:
    """A vocabulary fragment in canonical atom order.

    Attributes:
        index: position in the vocabulary.
        smiles: Kekulé SMILES (display and file form).
        labels: ``(atomic_num, charge)`` per canonical atom.
        bonds: ``(i, j, order)`` in canonical indices.
        is_ring: ring system (True) or non-ring bond (False).
        count: occurrences in the data the vocabulary was built from.
        atom_slot: slot number of each canonical atom (atoms in one orbit share it).
        atom_slot_rep: representative canonical atom of each atom slot.
        bond_slot: slot number of each directed bond ``(u, v)`` (ring fragments only).
        bond_slot_rep: representative directed bond of each bond slot.
        bond_slot_symmetric: whether ``(v, u)`` lies in the same slot as ``(u, v)``.
        valences: bond-order sum of each canonical atom inside the fragment.
        atom_slot_offset / bond_slot_offset: first global slot number of this fragment.
    """

    index: int
    smiles: str
    labels: tuple[tuple[int, int], ...]
    bonds: tuple[tuple[int, int, int], ...]
    is_ring: bool
    count: int = 0
    atom_slot: tuple[int, ...] = ()
    atom_slot_rep: tuple[int, ...] = ()
    bond_slot: dict[tuple[int, int], int] = field(default_factory=dict)
    bond_slot_rep: tuple[tuple[int, int], ...] = ()
    bond_slot_symmetric: tuple[bool, ...] = ()
    valences: tuple[int, ...] = ()
    atom_slot_offset: int = 0
    bond_slot_offset: int = 0

    @property
    def num_atoms(self) -> int:
        return len(self.labels)

    @property
    def bond_order_of(self) -> dict[tuple[int, int], int]:
        out = {}
        for i, j, o in self.bonds:
            out[(i, j)] = o
            out[(j, i)] = o
        return out


def _make_fragment(index: int, labels, bonds, is_ring: bool, count: int) -> tuple[tuple, Fragment]:
    form = canonical_form(labels, bonds)
    n = len(labels)
    pos = [0] * n
    for k, v in enumerate(form.order):
        pos[v] = k
    c_labels = tuple(labels[v] for v in form.order)
    c_bonds = tuple(sorted((min(pos[i], pos[j]), max(pos[i], pos[j]), o) for i, j, o in bonds))
    # Automorphisms expressed on canonical positions.
    autos = [tuple(pos[p[form.order[k]]] for k in range(n)) for p in form.automorphisms]
    atom_slot = [-1] * n
    reps: list[int] = []
    for k in range(n):
        if atom_slot[k] < 0:
            for p in autos:
                atom_slot[p[k]] = len(reps)
            reps.append(k)
    bond_slot: dict[tuple[int, int], int] = {}
    bond_reps: list[tuple[int, int]] = []
    symmetric: list[bool] = []
    if is_ring:
        for i, j, _ in c_bonds:
            for u, v in ((i, j), (j, i)):
                if (u, v) in bond_slot:
                    continue
                s = len(bond_reps)
                for p in autos:
                    bond_slot[(p[u], p[v])] = s
                bond_reps.append((u, v))
                symmetric.append(bond_slot.get((v, u)) == s)
    valences = [0] * n
    for i, j, o in c_bonds:
        valences[i] += o
        valences[j] += o
    frag = Fragment(
        index=index,
        smiles=_fragment_smiles(c_labels, c_bonds),
        labels=c_labels,
        bonds=c_bonds,
        is_ring=is_ring,
        count=count,
        atom_slot=tuple(atom_slot),
        atom_slot_rep=tuple(reps),
        bond_slot=bond_slot,
        bond_slot_rep=tuple(bond_reps),
        bond_slot_symmetric=tuple(symmetric),
        valences=tuple(valences),
    )
    return form.certificate, frag


@dataclass(frozen=True)
class AtomFusionTable:
    """Atom-fusion slots for one atom type, sorted by the free valence they need.

    Arrays have one entry per slot: ``need`` (free valence the molecule atom must
    have), ``fragment``, ``slot`` (slot number within the fragment).
    """

    need: np.ndarray
    fragment: np.ndarray
    slot: np.ndarray
    global_slot: np.ndarray


@dataclass(frozen=True)
class BondFusionTable:
    """Bond-fusion slots for one directed bond environment ``(type_u, type_v, order)``."""

    need_begin: np.ndarray
    need_end: np.ndarray
    fragment: np.ndarray
    slot: np.ndarray
    symmetric: np.ndarray
    global_slot: np.ndarray


class Vocabulary:
    """An ordered set of fragments with attachment tables.

    Build one with :meth:`build` (from molecules) or :meth:`load` (from a file written
    by :meth:`save`).
    """

    def __init__(self, fragments: Sequence[tuple[tuple, Fragment]]) -> None:
        self.fragments: list[Fragment] = []
        self._index: dict[tuple, int] = {}
        atom_offset = bond_offset = 0
        for cert, frag in fragments:
            if cert in self._index:
                raise ValueError(f"fragment {frag.smiles} appears twice in the vocabulary")
            frag.index = len(self.fragments)
            frag.atom_slot_offset = atom_offset
            frag.bond_slot_offset = bond_offset
            atom_offset += len(frag.atom_slot_rep)
            bond_offset += len(frag.bond_slot_rep)
            self._index[cert] = frag.index
            self.fragments.append(frag)
        self.num_atom_slots = atom_offset
        self.num_bond_slots = bond_offset
        self._build_tables()

    # ------------------------------------------------------------------ tables
    def _build_tables(self) -> None:
        atom_rows: dict[tuple[bool, tuple[int, int]], list[tuple[int, int, int]]] = {}
        bond_rows: dict[tuple, list[tuple[int, int, int, int, bool]]] = {}
        for f in self.fragments:
            for s, k in enumerate(f.atom_slot_rep):
                atom_rows.setdefault((f.is_ring, f.labels[k]), []).append((f.valences[k], f.index, s))
            if f.is_ring:
                orders = f.bond_order_of
                for s, (u, v) in enumerate(f.bond_slot_rep):
                    o = orders[(u, v)]
                    key = (f.labels[u], f.labels[v], o)
                    bond_rows.setdefault(key, []).append(
                        (f.valences[u] - o, f.valences[v] - o, f.index, s, f.bond_slot_symmetric[s])
                    )
        self.atom_tables: dict[tuple[bool, tuple[int, int]], AtomFusionTable] = {}
        for key, rows in atom_rows.items():
            rows.sort()
            arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
            offsets = np.array([self.fragments[f].atom_slot_offset for f in arr[:, 1]], dtype=np.int64)
            self.atom_tables[key] = AtomFusionTable(arr[:, 0], arr[:, 1], arr[:, 2], offsets + arr[:, 2])
        self.bond_tables: dict[tuple, BondFusionTable] = {}
        for key, rows in bond_rows.items():
            arr = np.array([r[:4] for r in rows], dtype=np.int64).reshape(-1, 4)
            sym = np.array([r[4] for r in rows], dtype=bool)
            offsets = np.array([self.fragments[f].bond_slot_offset for f in arr[:, 2]], dtype=np.int64)
            self.bond_tables[key] = BondFusionTable(
                arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], sym, offsets + arr[:, 3]
            )
        # Global slot number -> (fragment, slot within the fragment).
        self.atom_slot_owner = np.array(
            [(f.index, s) for f in self.fragments for s in range(len(f.atom_slot_rep))], dtype=np.int64
        ).reshape(-1, 2)
        self.bond_slot_owner = np.array(
            [(f.index, s) for f in self.fragments for s in range(len(f.bond_slot_rep))], dtype=np.int64
        ).reshape(-1, 2)

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.fragments)

    def __getitem__(self, index: int) -> Fragment:
        return self.fragments[index]

    def identify(self, labels, bonds) -> tuple[int, tuple[int, ...]] | None:
        """Find a fragment given in local indices.

        Returns:
            ``(fragment index, position)`` where ``position[i]`` is the canonical atom of
            local atom ``i`` (unique up to the fragment's automorphisms), or ``None``.
        """
        form = canonical_form(labels, bonds)
        idx = self._index.get(form.certificate)
        if idx is None:
            return None
        pos = [0] * len(labels)
        for k, v in enumerate(form.order):
            pos[v] = k
        return idx, tuple(pos)

    def identify_cluster(self, graph: MolGraph, cluster: Cluster) -> tuple[int, dict[int, int]]:
        """Vocabulary index of a cluster and the canonical position of each of its atoms.

        Raises:
            UnknownFragmentError: naming the fragment and the molecule.
        """
        labels, bonds = cluster_subgraph(graph, cluster)
        found = self.identify(labels, bonds)
        if found is None:
            raise UnknownFragmentError(graph.smiles(), _fragment_smiles(labels, bonds))
        idx, pos = found
        return idx, {a: pos[k] for k, a in enumerate(cluster.atoms)}

    def check_molecule(self, graph: MolGraph) -> None:
        """Raise :class:`UnknownFragmentError` if a cluster of ``graph`` is not in the vocabulary."""
        for cluster in decompose(graph):
            if len(cluster.atoms) > 1:
                self.identify_cluster(graph, cluster)

    @property
    def hash(self) -> str:
        """SHA-256 of the ordered fragment list (identifies the vocabulary in checkpoints)."""
        h = hashlib.sha256()
        for f in self.fragments:
            h.update(f"{f.smiles}\t{'ring' if f.is_ring else 'bond'}\n".encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ build / io
    @classmethod
    def build(cls, graphs: Iterable[MolGraph], min_count: int = 1) -> "Vocabulary":
        """Collect the fragments of molecules.

        Args:
            graphs: standardised molecules.
            min_count: keep fragments seen at least this many times (default 1).

        Returns:
            A vocabulary ordered by kind (bonds, then rings), count (descending) and SMILES.
        """
        counts: Counter = Counter()
        examples: dict[tuple, tuple] = {}
        cache: dict[tuple, tuple] = {}
        for graph in graphs:
            for cluster in decompose(graph):
                if len(cluster.atoms) < 2:
                    continue
                labels, bonds = cluster_subgraph(graph, cluster)
                raw = (tuple(labels), tuple(bonds))
                cert = cache.get(raw)
                if cert is None:
                    cert = canonical_form(labels, bonds).certificate
                    cache[raw] = cert
                    examples.setdefault(cert, (labels, bonds, cluster.is_ring))
                counts[cert] += 1
        made = []
        for cert, count in counts.items():
            if count < min_count:
                continue
            labels, bonds, is_ring = examples[cert]
            made.append(_make_fragment(0, labels, bonds, is_ring, count))
        made.sort(key=lambda cf: (cf[1].is_ring, -cf[1].count, cf[1].smiles))
        return cls(made)

    def to_lines(self) -> list[str]:
        """The text form: a header line, then ``SMILES<TAB>ring|bond<TAB>count`` per fragment."""
        lines = [f"# {VOCAB_FORMAT}", "# smiles\tkind\tcount"]
        lines += [f"{f.smiles}\t{'ring' if f.is_ring else 'bond'}\t{f.count}" for f in self.fragments]
        return lines

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as text (one fragment per line), atomically."""
        from ric.files import atomic_write

        atomic_write(path, lambda fh: fh.write("\n".join(self.to_lines()) + "\n"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read a vocabulary file written by :meth:`save`.

        Raises:
            ValueError: naming the file and line of a malformed entry.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                return cls.from_lines(fh, source=str(path))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a vocabulary file (not UTF-8 text: {exc.reason})") from None

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str = "<vocabulary>") -> "Vocabulary":
        """Parse the text form (see :meth:`to_lines`); errors name ``source`` and the line."""
        made = []
        for line_no, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) not in (2, 3) or parts[1] not in ("ring", "bond"):
                raise ValueError(f"{source}:{line_no}: expected 'SMILES<TAB>ring|bond[<TAB>count]', got {line!r}")
            try:
                graph = MolGraph.from_kekule_smiles(parts[0])
            except ValueError as exc:
                raise ValueError(f"{source}:{line_no}: {exc}") from exc
            if len(parts) == 3 and not parts[2].strip().isdigit():
                raise ValueError(f"{source}:{line_no}: the count {parts[2]!r} is not a non-negative integer")
            count = int(parts[2]) if len(parts) == 3 else 0
            labels = [graph.atom_type(a) for a in range(graph.num_atoms)]
            made.append(_make_fragment(0, labels, list(graph.bonds), parts[1] == "ring", count))
        if not made:
            raise ValueError(f"{source}: no fragments found")
        try:
            return cls(made)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from exc
