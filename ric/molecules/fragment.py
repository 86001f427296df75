"""The paper's fragment move set: delete a leaf cluster, or insert a vocabulary fragment.

Moves on a :class:`~ric.molecules.graph.MolGraph` (Kekulé, hydrogens implicit):

* :class:`DeleteLeaf` removes the atoms of a leaf cluster that no other cluster uses.
  Leaves are atoms of degree one (their non-ring bond is the cluster) and ring
  clusters whose *attachment atoms* (atoms shared with other clusters) are a single
  atom, or two bonded atoms whose bond lies on another ring cluster; the attachment
  atoms stay, so the molecule stays connected.
* :class:`FuseAtom` identifies one atom of a fragment with a molecule atom of the
  same element and charge that has enough free valence: a bond fragment appends an
  atom, a ring fragment sprouts (or spiro-fuses) a ring. Ring fragments are not fused
  onto a single-atom molecule, whose ring could not be deleted again.
* :class:`FuseBond` identifies a directed bond of a ring fragment with a ring bond of
  the molecule of the same order, endpoints matching in element and charge, in either
  orientation (one orientation when the fragment bond is symmetric).

A move is legal exactly when every atom's bond-order sum stays within RDKit's valence
limit, so legality is decided from precomputed attachment tables keyed by atom type
and bond environment (:class:`~ric.molecules.vocab.Vocabulary`), without trial
sanitisation. Every legal move has its inverse, computed from what the move adds or
removes: the inverse of a fusion deletes the added atoms; the inverse of a deletion
fuses the deleted cluster's fragment back at its attachment atom(s).
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Union

import numpy as np

from ric.molecules.domain import MoleculeStates
from ric.molecules.graph import MolGraph
from ric.molecules.standardise import SUPPORTED_ELEMENTS
from ric.moves.encoding import KIND_ATOM, KIND_PAIR, KIND_SET, KIND_STOP, MoveEncoding, list_id
from ric.moves.protocol import STOP, IllegalMoveError, Stop
from ric.molecules.vocab import Cluster, UnknownFragmentError, Vocabulary, decompose

__all__ = ["DeleteLeaf", "FuseAtom", "FuseBond", "FragmentMove", "FragmentMoveSet"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeleteLeaf:
    """Delete the atoms ``atoms`` (sorted) of a leaf cluster."""

    atoms: tuple[int, ...]


@dataclass(frozen=True)
class FuseAtom:
    """Fuse atom slot ``slot`` of fragment ``fragment`` onto molecule atom ``atom``."""

    atom: int
    fragment: int
    slot: int


@dataclass(frozen=True)
class FuseBond:
    """Fuse bond slot ``slot`` (directed ``u -> v``) of ring fragment ``fragment`` onto
    the molecule's ring bond ``begin -> end`` (``u`` becomes ``begin``, ``v`` ``end``)."""

    begin: int
    end: int
    fragment: int
    slot: int


FragmentMove = Union[DeleteLeaf, FuseAtom, FuseBond]


@dataclass(frozen=True)
class _Leaf:
    move: DeleteLeaf
    cluster: Cluster
    attachments: tuple[int, ...]


@dataclass
class _Analysis:
    """Per-state quantities shared by enumeration, sampling and inversion."""

    state: MolGraph
    clusters: list[Cluster]
    leaves: list[_Leaf]
    leaf_by_atoms: dict[tuple[int, ...], _Leaf]


# Corruption weights of the insertion categories (renormalised over non-empty ones):
# atom fusion of a bond fragment, atom fusion of a ring fragment, ring-bond fusion.
_INSERT_WEIGHTS = np.array([3.0, 3.0, 2.0]) / 8.0


_ANALYSIS_CACHE_SIZE = 256


class FragmentMoveSet(MoleculeStates):
    """The fragment move set over a :class:`~ric.molecules.vocab.Vocabulary`.

    Args:
        vocab: the fragment vocabulary.

    Corruption step distribution (:meth:`sample_corruption_move`): with probability
    1/2 delete a leaf drawn uniformly, otherwise insert (the other side when one side
    has no legal move). An insertion first picks its category with weights 3/8 (atom
    fusion of a bond fragment), 3/8 (atom fusion of a ring fragment) and 1/4 (fusion
    onto a ring bond), renormalised over categories with a legal move, then a legal
    move of that category uniformly.
    """

    name = "fragment"

    def __init__(self, vocab: Vocabulary | None = None) -> None:
        if vocab is None:
            raise ValueError("the fragment move set needs a vocabulary")
        self.vocab = vocab
        # Analyses of recent states, keyed by id(state); each entry holds its state, so
        # an id cannot be reused while cached. Many chains share one move set, hence >1.
        self._cache: OrderedDict[int, _Analysis] = OrderedDict()
        # Legal table rows depend only on atom types, bond order and free valences:
        # memoised per key (a few hundred keys on ZINC).
        self._atom_count_memo: dict[tuple, int] = {}
        self._bond_row_memo: dict[tuple, tuple] = {}
        # Class lists of the move encoding: bond slots of each legal row subset, and the
        # stable ids (digests) of all lists.
        self._bond_classes: dict[int, np.ndarray] = {}
        self._list_ids: dict[object, int] = {}
        self._frag_rings: dict[int, tuple[tuple[int, ...], ...]] = {}

    # ------------------------------------------------------------------ analysis
    def _analyse(self, state: MolGraph) -> _Analysis:
        cached = self._cache.get(id(state))
        if cached is not None and cached.state is state:
            return cached
        clusters = decompose(state)
        membership: list[list[int]] = [[] for _ in range(state.num_atoms)]
        for k, c in enumerate(clusters):
            for a in c.atoms:
                membership[a].append(k)
        leaves: list[_Leaf] = []
        if state.num_atoms >= 2:
            degrees = state.degrees
            for k, c in enumerate(clusters):
                if not c.is_ring:
                    continue
                att = tuple(a for a in c.atoms if len(membership[a]) > 1)
                if len(att) == 2:
                    a, b = att
                    bond = (a, b) if a < b else (b, a)
                    if not any(
                        bond in clusters[m].bonds and clusters[m].is_ring
                        for m in membership[a]
                        if m != k
                    ):
                        continue
                elif len(att) != 1:
                    continue
                removed = tuple(a for a in c.atoms if a not in att)
                leaves.append(_Leaf(DeleteLeaf(removed), c, att))
            by_bond = {c.atoms: c for c in clusters if not c.is_ring}
            for i, d in enumerate(degrees):
                if d == 1:
                    j = state.neighbors[i][0]
                    c = by_bond[(i, j) if i < j else (j, i)]
                    leaves.append(_Leaf(DeleteLeaf((i,)), c, (j,)))
        analysis = _Analysis(state, clusters, leaves, {leaf.move.atoms: leaf for leaf in leaves})
        self._cache[id(state)] = analysis
        if len(self._cache) > _ANALYSIS_CACHE_SIZE:
            self._cache.popitem(last=False)
        return analysis

    # ------------------------------------------------------------------ enumeration
    def _atom_fusion_counts(self, state: MolGraph, ring: bool) -> list[int]:
        """Per atom, how many leading rows of its atom-fusion table are legal."""
        if ring and state.num_atoms < 2:
            return [0] * state.num_atoms
        memo = self._atom_count_memo
        free = state.free_valences
        counts = []
        for a in range(state.num_atoms):
            key = (ring, state.atom_type(a), free[a])
            k = memo.get(key)
            if k is None:
                table = self.vocab.atom_tables.get(key[:2])
                k = memo[key] = 0 if table is None else int(np.searchsorted(table.need, free[a], side="right"))
            counts.append(k)
        return counts

    def _bond_rows(self, type_a: tuple, type_b: tuple, order: int, free_a: int, free_b: int, reverse: bool):
        """``(rows, table)`` of legal bond-fusion rows for one directed ring bond (memoised)."""
        key = (type_a, type_b, order, free_a, free_b, reverse)
        hit = self._bond_row_memo.get(key)
        if hit is None:
            table = self.vocab.bond_tables.get((type_a, type_b, order))
            rows = None
            if table is not None:
                ok = (table.need_begin <= free_a) & (table.need_end <= free_b)
                if reverse:
                    ok &= ~table.symmetric
                rows = np.flatnonzero(ok)
                rows.setflags(write=False)
            hit = self._bond_row_memo[key] = (rows, table) if rows is not None and rows.size else (None, None)
        return hit

    def _bond_fusion_options(self, state: MolGraph) -> list[tuple[int, int, np.ndarray, object]]:
        """``(begin, end, selected row indices, table)`` per directed ring bond with options."""
        out = []
        free = state.free_valences
        orders = state.bond_orders
        for i, j in sorted(state.ring_bonds):
            o = orders[(i, j)]
            for a, b in ((i, j), (j, i)):
                rows, table = self._bond_rows(state.atom_type(a), state.atom_type(b), o, free[a], free[b], a > b)
                if rows is not None:
                    out.append((a, b, rows, table))
        return out

    def deletion_moves(self, state: MolGraph) -> list[DeleteLeaf]:
        """Legal deletions of ``state``."""
        return [leaf.move for leaf in self._analyse(state).leaves]

    def legal_moves(self, state: MolGraph) -> list[FragmentMove]:
        """Every legal edit of ``state``: deletions, atom fusions, bond fusions."""
        moves: list[FragmentMove] = list(self.deletion_moves(state))
        for ring in (False, True):
            counts = self._atom_fusion_counts(state, ring)
            for a, k in enumerate(counts):
                if k:
                    table = self.vocab.atom_tables[(ring, state.atom_type(a))]
                    moves.extend(
                        FuseAtom(a, int(f), int(s)) for f, s in zip(table.fragment[:k], table.slot[:k])
                    )
        for a, b, rows, table in self._bond_fusion_options(state):
            moves.extend(FuseBond(a, b, int(table.fragment[r]), int(table.slot[r])) for r in rows)
        return moves

    def is_legal(self, state: MolGraph, move: FragmentMove) -> bool:
        """Whether ``move`` is legal in ``state``."""
        if isinstance(move, DeleteLeaf):
            return move.atoms in self._analyse(state).leaf_by_atoms
        n = state.num_atoms
        if not 0 <= getattr(move, "fragment", -1) < len(self.vocab):
            return False
        frag = self.vocab[move.fragment]
        free = state.free_valences
        if isinstance(move, FuseAtom):
            if not (0 <= move.atom < n and 0 <= move.slot < len(frag.atom_slot_rep)):
                return False
            if frag.is_ring and n < 2:
                return False
            u = frag.atom_slot_rep[move.slot]
            return frag.labels[u] == state.atom_type(move.atom) and frag.valences[u] <= free[move.atom]
        if isinstance(move, FuseBond):
            a, b = move.begin, move.end
            if not (frag.is_ring and 0 <= a < n and 0 <= b < n and 0 <= move.slot < len(frag.bond_slot_rep)):
                return False
            if (min(a, b), max(a, b)) not in state.ring_bonds:
                return False
            if frag.bond_slot_symmetric[move.slot] and a > b:
                return False
            u, v = frag.bond_slot_rep[move.slot]
            o = frag.bond_order_of[(u, v)]
            return (
                state.bond_orders[(a, b)] == o
                and frag.labels[u] == state.atom_type(a)
                and frag.labels[v] == state.atom_type(b)
                and frag.valences[u] - o <= free[a]
                and frag.valences[v] - o <= free[b]
            )
        return False

    # ------------------------------------------------------------------ apply / inverse
    def apply(self, state: MolGraph, move: FragmentMove) -> MolGraph:
        """The state after ``move``.

        Raises:
            IllegalMoveError: if ``move`` is not legal in ``state``.
        """
        if not self.is_legal(state, move):
            raise IllegalMoveError(f"{self.format_move(move)} is not legal in {state.kekule_smiles()}")
        # The new state's rings follow from the parent's (when perceived) without asking RDKit
        # again: a deletion removes exactly the rings through the deleted atoms (every ring of
        # a leaf cluster has a non-attachment atom, and those belong to no other cluster); a
        # fusion adds the fragment's rings. Checked against RDKit by ``ric corrupt --check``.
        known = state.known_rings()
        if isinstance(move, DeleteLeaf):
            rings = None
            if known is not None:
                dead = set(move.atoms)
                rings = [r for r in known if dead.isdisjoint(r)]
            return state.edit(remove_atoms=move.atoms, rings=rings)
        frag = self.vocab[move.fragment]
        if isinstance(move, FuseAtom):
            mapping = {frag.atom_slot_rep[move.slot]: move.atom}
            skip = None
        else:
            u, v = frag.bond_slot_rep[move.slot]
            mapping = {u: move.begin, v: move.end}
            skip = (min(u, v), max(u, v))
        new_atoms = []
        n = state.num_atoms
        for k, label in enumerate(frag.labels):
            if k not in mapping:
                mapping[k] = n + len(new_atoms)
                new_atoms.append(label)
        new_bonds = [(mapping[i], mapping[j], o) for i, j, o in frag.bonds if (i, j) != skip]
        rings = None
        if known is not None:
            rings = list(known) + [tuple(mapping[a] for a in r) for r in self._fragment_rings(move.fragment)]
        return state.edit(add_atoms=new_atoms, add_bonds=new_bonds, rings=rings)

    def _fragment_rings(self, index: int) -> tuple[tuple[int, ...], ...]:
        """RDKit's rings of fragment ``index`` in its own atom numbering (memoised)."""
        rings = self._frag_rings.get(index)
        if rings is None:
            frag = self.vocab[index]
            graph = MolGraph([z for z, _ in frag.labels], [c for _, c in frag.labels], frag.bonds)
            rings = self._frag_rings[index] = graph.rings
        return rings

    def inverse(self, state: MolGraph, move: FragmentMove) -> FragmentMove:
        """The move that undoes ``move`` (applied to ``state``), indexed in the result.

        Raises:
            IllegalMoveError: if ``move`` is not legal in ``state``.
            UnknownFragmentError: if a deleted cluster is not in the vocabulary.
        """
        if not self.is_legal(state, move):
            raise IllegalMoveError(f"{self.format_move(move)} is not legal in {state.kekule_smiles()}")
        if isinstance(move, (FuseAtom, FuseBond)):
            added = self.vocab[move.fragment].num_atoms - (1 if isinstance(move, FuseAtom) else 2)
            n = state.num_atoms
            return DeleteLeaf(tuple(range(n, n + added)))
        leaf = self._analyse(state).leaf_by_atoms[move.atoms]
        idx, pos = self.vocab.identify_cluster(state, leaf.cluster)
        frag = self.vocab[idx]
        removed = move.atoms

        def shifted(x: int) -> int:
            return x - sum(1 for r in removed if r < x)

        if len(leaf.attachments) == 1:
            a = leaf.attachments[0]
            return FuseAtom(shifted(a), idx, frag.atom_slot[pos[a]])
        a, b = leaf.attachments
        slot = frag.bond_slot[(pos[a], pos[b])]
        na, nb = shifted(a), shifted(b)
        # Any directed bond of the slot's orbit maps onto the representative by an
        # automorphism, so fusing the representative onto (a, b) restores the cluster.
        if frag.bond_slot_symmetric[slot] and na > nb:
            na, nb = nb, na
        return FuseBond(na, nb, idx, slot)

    def removed_nodes(self, state: MolGraph, move: FragmentMove) -> tuple[int, ...]:
        """The atoms a leaf deletion removes (fusions remove none)."""
        return tuple(move.atoms) if isinstance(move, DeleteLeaf) else ()

    def to_dict(self) -> dict:
        """``{"name", "vocab" (lines), "vocab_hash"}``."""
        return {"name": self.name, "vocab": self.vocab.to_lines(), "vocab_hash": self.vocab.hash}

    @classmethod
    def from_dict(cls, data: dict) -> "FragmentMoveSet":
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: if the vocabulary does not match its stored hash.
        """
        vocab = Vocabulary.from_lines(data["vocab"], source="checkpoint vocabulary")
        if data.get("vocab_hash") and vocab.hash != data["vocab_hash"]:
            raise ValueError(f"vocabulary hash mismatch: stored {data['vocab_hash'][:12]}, rebuilt {vocab.hash[:12]}")
        return cls(vocab)

    def preserves(self, state: MolGraph, move: FragmentMove, protected: frozenset[int]) -> bool:
        """Whether ``move`` keeps every atom in ``protected`` (fusions never remove atoms or bonds)."""
        return not (isinstance(move, DeleteLeaf) and protected.intersection(move.atoms))

    def forbidden_mask(self, state: MolGraph, encoding: MoveEncoding, protected: frozenset[int]) -> np.ndarray:
        """Boolean mask over the flat candidates ``[stop, atom..., pair..., set...]`` of
        ``encoding``: True where the move would delete an atom of ``protected``."""
        mask = np.zeros(1 + encoding.num_moves, dtype=bool)
        if protected:
            base = 1 + encoding.num_atom_moves + encoding.num_pair_moves
            for r, leaf in enumerate(self._analyse(state).leaves):
                if protected.intersection(leaf.move.atoms):
                    mask[base + r] = True
        return mask

    def relabel_move(self, move: FragmentMove | Stop, new_index: list[int]) -> FragmentMove | Stop:
        """The same move after the state's atoms are renumbered (atom ``i`` becomes ``new_index[i]``)."""
        if isinstance(move, Stop):
            return move
        if isinstance(move, DeleteLeaf):
            return DeleteLeaf(tuple(sorted(new_index[a] for a in move.atoms)))
        if isinstance(move, FuseAtom):
            return FuseAtom(new_index[move.atom], move.fragment, move.slot)
        a, b = new_index[move.begin], new_index[move.end]
        if self.vocab[move.fragment].bond_slot_symmetric[move.slot] and a > b:
            a, b = b, a
        return FuseBond(a, b, move.fragment, move.slot)

    # ------------------------------------------------------------------ array encoding
    #: Pair candidates are directed ring bonds (orientation matters for bond fusion).
    pairs_directed = True
    #: Pair features: one-hot Kekulé order of the ring bond.
    pair_feature_dim = 3

    @property
    def num_atom_classes(self) -> int:
        """Atom-candidate classes: the vocabulary's global atom slots."""
        return self.vocab.num_atom_slots

    @property
    def num_pair_classes(self) -> int:
        """Pair-candidate classes: the vocabulary's global bond slots."""
        return self.vocab.num_bond_slots

    def _list_id(self, key: object, classes: np.ndarray) -> int:
        """Stable id of a vocabulary class list (memoised by ``key``)."""
        lid = self._list_ids.get(key)
        if lid is None:
            lid = self._list_ids[key] = list_id(classes)
        return lid

    def encode_moves(self, state: MolGraph) -> MoveEncoding:
        """All legal moves of ``state`` as arrays (see :mod:`ric.moves.encoding`).

        Atom candidates are atom fusions ``(atom, global atom slot)``: one block per atom and
        table (bond or ring fragments), the legal slots being a prefix of the vocabulary's
        table for the atom's type. Pair candidates are bond fusions ``(directed ring bond
        row, global bond slot)``, one block per ring bond direction. Set candidates are leaf
        deletions, whose members are the leaf cluster's atoms.
        """
        lists: dict[int, np.ndarray] = {}
        atom_blocks = []
        for ring in (False, True):
            for a, k in enumerate(self._atom_fusion_counts(state, ring)):
                if k:
                    key = (ring, state.atom_type(a))
                    slots = self.vocab.atom_tables[key].global_slot
                    lid = self._list_id(key, slots)
                    lists[lid] = slots
                    atom_blocks.append((a, lid, k))
        pairs, pair_blocks = [], []
        for a, b, rows, table in self._bond_fusion_options(state):
            key = id(rows)  # rows are memoised arrays, kept for the move set's lifetime
            classes = self._bond_classes.get(key)
            if classes is None:
                classes = self._bond_classes[key] = table.global_slot[rows]
                classes.setflags(write=False)
            lid = self._list_id(key, classes)
            lists[lid] = classes
            pair_blocks.append((len(pairs), lid, rows.size))
            pairs.append((a, b))
        orders = state.bond_orders
        pair_features = np.zeros((len(pairs), 3), dtype=np.float32)
        for r, (a, b) in enumerate(pairs):
            pair_features[r, orders[(a, b)] - 1] = 1.0
        leaves = self._analyse(state).leaves
        members = [(r, a) for r, leaf in enumerate(leaves) for a in leaf.cluster.atoms]
        return MoveEncoding(
            atom_blocks=np.array(atom_blocks, dtype=np.int64).reshape(-1, 3),
            pairs=np.array(pairs, dtype=np.int64).reshape(-1, 2),
            pair_features=pair_features,
            pair_blocks=np.array(pair_blocks, dtype=np.int64).reshape(-1, 3),
            set_members=np.array(members, dtype=np.int64).reshape(-1, 2),
            num_sets=len(leaves),
            lists=lists,
        )

    def move_at(self, state: MolGraph, encoding: MoveEncoding, kind: int, row: int) -> FragmentMove | Stop:
        """The move of candidate ``row`` of group ``kind`` in ``encoding`` (of ``state``)."""
        if kind == KIND_STOP:
            return STOP
        if kind == KIND_ATOM:
            a, g = encoding.candidate(KIND_ATOM, row)
            f, s = self.vocab.atom_slot_owner[g]
            return FuseAtom(int(a), int(f), int(s))
        if kind == KIND_PAIR:
            p, g = encoding.candidate(KIND_PAIR, row)
            a, b = encoding.pairs[p]
            f, s = self.vocab.bond_slot_owner[g]
            return FuseBond(int(a), int(b), int(f), int(s))
        return self._analyse(state).leaves[row].move

    def locate(self, state: MolGraph, encoding: MoveEncoding, move: FragmentMove | Stop) -> tuple[int, int]:
        """``(kind, row)`` of a legal move in ``encoding``; raises KeyError if it is absent."""
        if isinstance(move, Stop):
            return KIND_STOP, 0
        if isinstance(move, FuseAtom):
            g = self.vocab[move.fragment].atom_slot_offset + move.slot
            return KIND_ATOM, encoding.row_of(KIND_ATOM, move.atom, g)
        if isinstance(move, FuseBond):
            g = self.vocab[move.fragment].bond_slot_offset + move.slot
            return KIND_PAIR, encoding.row_of(KIND_PAIR, encoding.pair_row(move.begin, move.end), g)
        for r, leaf in enumerate(self._analyse(state).leaves):
            if leaf.move == move:
                return KIND_SET, r
        raise KeyError(f"{self.format_move(move)} is not a legal deletion")

    # ------------------------------------------------------------------ corruption
    def sample_corruption_move(self, state: MolGraph, rng: np.random.Generator) -> FragmentMove | None:
        """One draw from the corruption step distribution (see class docstring)."""
        leaves = self._analyse(state).leaves
        delete_first = bool(leaves) and rng.random() < 0.5
        if not delete_first:
            move = self._sample_insertion(state, rng)
            if move is not None:
                return move
        if leaves:
            return leaves[int(rng.integers(len(leaves)))].move
        return None

    def _sample_insertion(self, state: MolGraph, rng: np.random.Generator) -> FragmentMove | None:
        weights = _INSERT_WEIGHTS.copy()
        while weights.sum() > 0:
            category = int(rng.choice(3, p=weights / weights.sum()))
            if category < 2:
                ring = category == 1
                counts = self._atom_fusion_counts(state, ring)
                total = sum(counts)
                if total:
                    r = int(rng.integers(total))
                    for a, k in enumerate(counts):
                        if r < k:
                            table = self.vocab.atom_tables[(ring, state.atom_type(a))]
                            return FuseAtom(a, int(table.fragment[r]), int(table.slot[r]))
                        r -= k
            else:
                options = self._bond_fusion_options(state)
                total = sum(rows.size for _, _, rows, _ in options)
                if total:
                    r = int(rng.integers(total))
                    for a, b, rows, table in options:
                        if r < rows.size:
                            row = rows[r]
                            return FuseBond(a, b, int(table.fragment[row]), int(table.slot[row]))
                        r -= rows.size
            weights[category] = 0.0
        return None

    # ------------------------------------------------------------------ identity / checks
    def key(self, state: MolGraph) -> str:
        """Canonical SMILES of the state."""
        return state.smiles()

    def is_valid(self, state: MolGraph) -> bool:
        """RDKit sanitises the molecule, it is connected, and the rings :meth:`apply` derived
        for it (instead of perceiving them) are the rings RDKit perceives."""
        return super().is_valid(state) and self._rings_agree(state)

    @staticmethod
    def _rings_agree(state: MolGraph) -> bool:
        rings = state.known_rings()
        if rings is None:
            return True
        # sanitisation perceived the rings anyway: comparing them costs no ring search
        perceived = state.sanitized_mol().GetRingInfo().AtomRings()
        return len(perceived) == len(rings) and {frozenset(r) for r in perceived} == {frozenset(r) for r in rings}

    def check_state(self, state: MolGraph) -> str | None:
        """``None`` if every atom is supported, every cluster is in the vocabulary and the
        rings derived along moves are RDKit's."""
        if state.sanitizes() and not self._rings_agree(state):
            return "the rings derived along the moves differ from RDKit's ring perception"
        for a in range(state.num_atoms):
            z, _ = state.atom_type(a)
            if z not in SUPPORTED_ELEMENTS:
                return f"atom {a} has unsupported element {z}"
        try:
            self.vocab.check_molecule(state)
        except UnknownFragmentError as exc:
            return str(exc.detail)
        return None

    # ------------------------------------------------------------------ text form
    def format_move(self, move: FragmentMove | Stop) -> str:
        """Text form, e.g. ``fuse_atom(atom=3,fragment=12,slot=0,smiles=C1=CC=CC=C1)``."""
        if isinstance(move, Stop):
            return "stop"
        if isinstance(move, DeleteLeaf):
            return f"delete(atoms={'.'.join(map(str, move.atoms))})"
        smiles = self.vocab[move.fragment].smiles if 0 <= move.fragment < len(self.vocab) else "?"
        if isinstance(move, FuseAtom):
            return f"fuse_atom(atom={move.atom},fragment={move.fragment},slot={move.slot},smiles={smiles})"
        return (
            f"fuse_bond(begin={move.begin},end={move.end},fragment={move.fragment},"
            f"slot={move.slot},smiles={smiles})"
        )

    _PATTERN = re.compile(r"^\s*(\w+)\((.*)\)\s*$")

    def parse_move(self, text: str) -> FragmentMove | Stop:
        """Read a move written by :meth:`format_move`.

        Raises:
            ValueError: naming the text when it is malformed or names a fragment the
                vocabulary does not have.
        """
        if text.strip() == "stop":
            return STOP
        m = self._PATTERN.match(text)
        if m is None:
            raise ValueError(f"not a fragment move: {text!r}")
        kind, body = m.groups()
        try:
            fields = dict(item.split("=", 1) for item in body.split(",")) if body else {}
            if kind == "delete":
                return DeleteLeaf(tuple(int(x) for x in fields["atoms"].split(".")))
            if kind == "fuse_atom":
                move: FragmentMove = FuseAtom(int(fields["atom"]), int(fields["fragment"]), int(fields["slot"]))
            elif kind == "fuse_bond":
                move = FuseBond(int(fields["begin"]), int(fields["end"]), int(fields["fragment"]), int(fields["slot"]))
            else:
                raise ValueError(f"unknown move kind {kind!r}")
        except (KeyError, ValueError) as exc:
            raise ValueError(f"malformed fragment move {text!r}: {exc}") from exc
        if not 0 <= move.fragment < len(self.vocab):
            raise ValueError(f"fragment {move.fragment} in {text!r} is outside the vocabulary of {len(self.vocab)}")
        if "smiles" in fields and fields["smiles"] != self.vocab[move.fragment].smiles:
            raise ValueError(
                f"{text!r} names fragment {move.fragment} as {fields['smiles']}, "
                f"but this vocabulary has {self.vocab[move.fragment].smiles}"
            )
        return move
