"""The vocabulary-free atom move set: edit a molecule one atom or one bond at a time.

Moves on a :class:`~ric.molecules.graph.MolGraph` (Kekulé, hydrogens implicit):

* :class:`AddAtom` appends a new atom of an alphabet type, bonded to an existing atom;
  its inverse is :class:`DeleteAtom` of the new atom.
* :class:`DeleteAtom` removes an atom of degree one (never the last atom); its inverse
  is :class:`AddAtom` at the former neighbour.
* :class:`CloseRing` bonds two non-bonded atoms that are at most
  ``max_ring_size - 1`` bonds apart, closing a ring of at most ``max_ring_size`` atoms;
  its inverse is :class:`OpenRing`.
* :class:`OpenRing` removes a ring bond whose smallest ring has at most
  ``max_ring_size`` atoms (the molecule stays connected); its inverse is
  :class:`CloseRing` with the old order.
* :class:`ChangeBond` raises or lowers the order of an existing bond by one; its
  inverse changes it back.

Because molecules are Kekulé with implicit hydrogens, a state is valid exactly when
every atom's bond-order sum is at most :func:`~ric.molecules.graph.max_valence` of its
type, so legality is a matter of free valences, bond orders and (for ring edits)
bounded shortest-path lengths; RDKit sanitisation is never called when moves are
enumerated or applied. Every rule is stated so that the inverse of a legal move is
legal in its result: deletions require that the re-addition would be legal (the atom
type is in the alphabet, the bond order is an allowed one), and lowering a bond order
requires that raising it back would be legal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from rdkit import Chem

from ric.molecules.domain import MoleculeStates
from ric.molecules.graph import MolGraph, max_valence
from ric.moves.encoding import KIND_ATOM, KIND_PAIR, KIND_STOP, MoveEncoding
from ric.moves.protocol import STOP, IllegalMoveError, Stop

__all__ = [
    "AddAtom",
    "DeleteAtom",
    "CloseRing",
    "OpenRing",
    "ChangeBond",
    "AtomMove",
    "AtomMoveSetConfig",
    "AtomMoveSet",
    "DEFAULT_ATOM_TYPES",
]

_PERIODIC_TABLE = Chem.GetPeriodicTable()
_SYMBOLS: dict[int, str] = {z: _PERIODIC_TABLE.GetElementSymbol(z) for z in range(1, 119)}
_NUMBERS: dict[str, int] = {symbol: z for z, symbol in _SYMBOLS.items()}

#: ``(atomic_num, charge)`` of every atom type in ZINC250k except the rare O+, P+ and S+.
DEFAULT_ATOM_TYPES: tuple[tuple[int, int], ...] = (
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (15, 0),
    (16, 0),
    (17, 0),
    (35, 0),
    (53, 0),
    (7, 1),
    (7, -1),
    (8, -1),
    (16, -1),
    (6, -1),
)


# ---------------------------------------------------------------------- moves
@dataclass(frozen=True)
class AddAtom:
    """Append a new atom ``(atomic_num, charge)`` bonded with ``order`` to atom ``atom``.

    The new atom gets index ``num_atoms`` of the state it is applied to.
    """

    atom: int
    atomic_num: int
    charge: int
    order: int


@dataclass(frozen=True)
class DeleteAtom:
    """Remove atom ``atom`` (degree one) and its bond; higher indices shift down by one."""

    atom: int


@dataclass(frozen=True)
class CloseRing:
    """Add a bond of order ``order`` between non-bonded atoms ``begin < end``."""

    begin: int
    end: int
    order: int


@dataclass(frozen=True)
class OpenRing:
    """Remove the ring bond between atoms ``begin < end``."""

    begin: int
    end: int


@dataclass(frozen=True)
class ChangeBond:
    """Set the order of the existing bond ``begin < end`` to ``order`` (old order +- 1)."""

    begin: int
    end: int
    order: int


AtomMove = Union[AddAtom, DeleteAtom, CloseRing, OpenRing, ChangeBond]


# ---------------------------------------------------------------------- config
def _symbol(atomic_num: int) -> str:
    """Element symbol, or ``#Z`` for an atomic number without one."""
    return _SYMBOLS.get(atomic_num, f"#{atomic_num}")


def _type_label(atomic_num: int, charge: int) -> str:
    return f"{_symbol(atomic_num)}{charge:+d}"


@dataclass(frozen=True)
class AtomMoveSetConfig:
    """Settings of :class:`AtomMoveSet`.

    Attributes:
        atom_types: the atom alphabet, ``(atomic_num, charge)`` pairs that
            :class:`AddAtom` may create and :class:`DeleteAtom` may remove (default
            :data:`DEFAULT_ATOM_TYPES`: C, N, O, F, P, S, Cl, Br, I neutral, N+, N-,
            O-, S-, C-).
        bond_orders: orders of the bond an :class:`AddAtom` creates (default ``(1, 2, 3)``);
            an atom is deletable only if its bond has one of these orders.
        ring_bond_orders: orders a :class:`CloseRing` bond may have and an
            :class:`OpenRing` bond must have (default ``(1, 2)``).
        max_ring_size: largest ring (in atoms) a :class:`CloseRing` may close or an
            :class:`OpenRing` may open (default 8; the smallest is 3 automatically).
        max_ring_bond_order: largest order :class:`ChangeBond` may give a ring bond
            (default 2); non-ring bonds go up to 3.
    """

    atom_types: tuple[tuple[int, int], ...] = DEFAULT_ATOM_TYPES
    bond_orders: tuple[int, ...] = (1, 2, 3)
    ring_bond_orders: tuple[int, ...] = (1, 2)
    max_ring_size: int = 8
    max_ring_bond_order: int = 2

    def __post_init__(self) -> None:
        types = tuple((int(z), int(c)) for z, c in self.atom_types)
        object.__setattr__(self, "atom_types", types)
        object.__setattr__(self, "bond_orders", tuple(int(o) for o in self.bond_orders))
        object.__setattr__(self, "ring_bond_orders", tuple(int(o) for o in self.ring_bond_orders))
        object.__setattr__(self, "max_ring_size", int(self.max_ring_size))
        object.__setattr__(self, "max_ring_bond_order", int(self.max_ring_bond_order))
        if not types:
            raise ValueError("atom_types must not be empty")
        if len(set(types)) != len(types):
            raise ValueError(f"atom_types has duplicates: {types}")
        for z, c in types:
            if max_valence(z, c) < 1:
                raise ValueError(f"atom type {_type_label(z, c)} cannot form a bond")
        for name in ("bond_orders", "ring_bond_orders"):
            orders = getattr(self, name)
            if not orders or len(set(orders)) != len(orders) or not set(orders) <= {1, 2, 3}:
                raise ValueError(f"{name} must be distinct values from (1, 2, 3), got {orders}")
        if self.max_ring_size < 3:
            raise ValueError(f"max_ring_size must be >= 3, got {self.max_ring_size}")
        if self.max_ring_bond_order not in (1, 2, 3):
            raise ValueError(f"max_ring_bond_order must be 1, 2 or 3, got {self.max_ring_bond_order}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (lists instead of tuples); read back with :meth:`from_dict`."""
        return {
            "atom_types": [[z, c] for z, c in self.atom_types],
            "bond_orders": list(self.bond_orders),
            "ring_bond_orders": list(self.ring_bond_orders),
            "max_ring_size": self.max_ring_size,
            "max_ring_bond_order": self.max_ring_bond_order,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AtomMoveSetConfig":
        """Config from :meth:`to_dict` output; missing keys take their defaults.

        Raises:
            ValueError: on unknown keys or invalid values.
        """
        fields = {"atom_types", "bond_orders", "ring_bond_orders", "max_ring_size", "max_ring_bond_order"}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown AtomMoveSetConfig keys: {sorted(unknown)}")
        return cls(**data)


# ---------------------------------------------------------------------- analysis
class _Analysis:
    """Legal moves of one state, grouped by corruption side and kind."""

    __slots__ = ("state", "add", "delete", "close", "open", "raise_", "lower")

    def __init__(self, state: MolGraph) -> None:
        self.state = state
        self.add: list[AddAtom] = []
        self.delete: list[DeleteAtom] = []
        self.close: list[CloseRing] = []
        self.open: list[OpenRing] = []
        self.raise_: list[ChangeBond] = []
        self.lower: list[ChangeBond] = []

    def all_moves(self) -> list[AtomMove]:
        return self.add + self.delete + self.close + self.open + self.raise_ + self.lower


def _bfs_distance(
    nbrs: tuple[tuple[int, ...], ...], source: int, target: int, limit: int, skip_direct: bool
) -> int | None:
    """Bonds on a shortest ``source``-``target`` path of length <= ``limit``, else ``None``.

    With ``skip_direct`` the bond ``source``-``target`` itself is not used.
    """
    if source == target:
        return 0
    dist = {source: 0}
    frontier = [source]
    d = 0
    while frontier and d < limit:
        d += 1
        nxt = []
        for u in frontier:
            for v in nbrs[u]:
                if v in dist:
                    continue
                if v == target:
                    if skip_direct and u == source:
                        continue
                    return d
                dist[v] = d
                nxt.append(v)
        frontier = nxt
    return None


def _smallest_ring_sizes(state: MolGraph) -> dict[tuple[int, int], int]:
    """For every ring bond ``(i, j)``, ``i < j``, the size of the smallest SSSR ring on it."""
    out: dict[tuple[int, int], int] = {}
    for ring in state.rings:
        size = len(ring)
        prev = ring[-1]
        for a in ring:
            key = (a, prev) if a < prev else (prev, a)
            old = out.get(key)
            if old is None or size < old:
                out[key] = size
            prev = a
    return out


# ---------------------------------------------------------------------- move set
class AtomMoveSet(MoleculeStates):
    """The vocabulary-free atom move set (see the module docstring for the moves).

    Args:
        config: settings (default ``AtomMoveSetConfig()``).

    Legality rules, for a valid connected state with free valences ``fv``
    (``max_valence - bond-order sum``):

    * ``AddAtom(a, z, c, o)``: ``(z, c)`` is in ``atom_types``, ``o`` in
      ``bond_orders``, ``fv[a] >= o`` and ``max_valence(z, c) >= o``.
    * ``DeleteAtom(a)``: the state has at least two atoms, ``a`` has degree one, its
      type is in ``atom_types`` and its bond order is in ``bond_orders``.
    * ``CloseRing(b, e, o)``: ``b < e`` are not bonded, ``o`` in ``ring_bond_orders``,
      ``fv[b] >= o``, ``fv[e] >= o`` and their distance ``d`` satisfies
      ``d + 1 <= max_ring_size``.
    * ``OpenRing(b, e)``: the bond ``b < e`` has an order in ``ring_bond_orders`` and
      a path of at most ``max_ring_size - 1`` bonds joins ``b`` and ``e`` without it
      (so it is a ring bond whose smallest ring has at most ``max_ring_size`` atoms).
    * ``ChangeBond(b, e, o)``: the bond ``b < e`` exists with order ``o -+ 1``,
      ``o >= 1``; the largest order is ``max_ring_bond_order`` for ring bonds and 3
      otherwise. Raising needs ``fv >= 1`` at both atoms and ``o <=`` the largest
      order; lowering needs the old order ``<=`` the largest order.

    Corruption step distribution (:meth:`sample_corruption_move`): the legal moves are
    split into a *removal* side (``DeleteAtom``, ``OpenRing``, ``ChangeBond``
    lowering an order) and an *addition* side (``AddAtom``, ``CloseRing``,
    ``ChangeBond`` raising an order). A side is chosen with probability 1/2 each when
    both have a legal move (otherwise the non-empty side); within the side a move kind
    is chosen uniformly among the kinds with at least one legal move, then a legal
    move of that kind uniformly.
    """

    name = "atom"

    def __init__(self, config: AtomMoveSetConfig | None = None) -> None:
        self.config = config if config is not None else AtomMoveSetConfig()
        cfg = self.config
        self._types = frozenset(cfg.atom_types)
        self._bond_orders = frozenset(cfg.bond_orders)
        self._ring_orders = frozenset(cfg.ring_bond_orders)
        self._ring_orders_sorted = tuple(sorted(cfg.ring_bond_orders))
        self._min_ring_order = min(cfg.ring_bond_orders)
        self._max_dist = cfg.max_ring_size - 1
        # AddAtom moves per (atom, min(free valence, 3)): moves are immutable, so share them.
        self._add_table: dict[tuple[int, int], tuple[AddAtom, ...]] = {}
        # CloseRing moves per (begin, end, min(free valences, largest ring order)).
        self._close_table: dict[tuple[int, int, int], tuple[CloseRing, ...]] = {}
        self._cache: _Analysis | None = None

    # ------------------------------------------------------------------ enumeration
    def _add_moves(self, atom: int, free: int) -> tuple[AddAtom, ...]:
        key = (atom, free)
        moves = self._add_table.get(key)
        if moves is None:
            moves = tuple(
                AddAtom(atom, z, c, o)
                for z, c in self.config.atom_types
                for o in self.config.bond_orders
                if o <= free and o <= max_valence(z, c)
            )
            if len(self._add_table) < 100_000:
                self._add_table[key] = moves
        return moves

    def _analyse(self, state: MolGraph) -> _Analysis:
        cached = self._cache
        if cached is not None and cached.state is state:
            return cached
        out = _Analysis(state)
        n = state.num_atoms
        fv = state.free_valences
        nbrs = state.neighbors
        orders = state.bond_orders
        zs, cs = state.atomic_nums, state.charges

        # AddAtom
        add = out.add
        for a in range(n):
            f = fv[a]
            if f > 0:
                add.extend(self._add_moves(a, f if f < 3 else 3))

        # DeleteAtom
        if n >= 2:
            types, bond_orders = self._types, self._bond_orders
            for a in range(n):
                nb = nbrs[a]
                if len(nb) == 1 and (zs[a], cs[a]) in types and orders[(a, nb[0])] in bond_orders:
                    out.delete.append(DeleteAtom(a))

        # Bonds: ChangeBond and OpenRing
        ring_sizes = _smallest_ring_sizes(state) if state.num_bonds >= n else {}
        ring_max = self.config.max_ring_bond_order
        ring_orders = self._ring_orders
        max_dist = self._max_dist
        for i, j, o in state.bonds:
            size = ring_sizes.get((i, j))
            top = 3 if size is None else ring_max
            if o < top and fv[i] >= 1 and fv[j] >= 1:
                out.raise_.append(ChangeBond(i, j, o + 1))
            if 1 < o <= top:
                out.lower.append(ChangeBond(i, j, o - 1))
            if size is not None and o in ring_orders:
                # An SSSR ring is a real cycle through the bond; only when all of them are
                # too large must the exact smallest ring be found.
                if size - 1 <= max_dist or _bfs_distance(nbrs, i, j, max_dist, True) is not None:
                    out.open.append(OpenRing(i, j))

        # CloseRing
        min_order = self._min_ring_order
        candidates = [a for a in range(n) if fv[a] >= min_order]
        if len(candidates) >= 2 and max_dist >= 2:
            self._close_moves(state, candidates, out.close)
        self._cache = out
        return out

    def _close_moves(self, state: MolGraph, candidates: list[int], out: list[CloseRing]) -> None:
        """Append every legal CloseRing among ``candidates`` (atoms with enough free valence).

        Distances come from RDKit's distance matrix of the (cached) unsanitised molecule,
        measured faster than breadth-first searches in Python from every candidate.
        """
        fv = state.free_valences
        dist = Chem.GetDistanceMatrix(state._rdkit_unsanitized)
        mask = np.zeros(state.num_atoms, dtype=bool)
        mask[candidates] = True
        ok = (dist >= 2) & (dist <= self._max_dist)
        ok &= mask[:, None]
        ok &= mask[None, :]
        rows, cols = np.nonzero(np.triu(ok, 1))
        table = self._close_table
        top = self._ring_orders_sorted[-1]
        for b, e in zip(rows.tolist(), cols.tolist()):
            f = fv[b] if fv[b] < fv[e] else fv[e]
            key = (b, e, f if f < top else top)
            moves = table.get(key)
            if moves is None:
                moves = tuple(CloseRing(b, e, o) for o in self._ring_orders_sorted if o <= key[2])
                if len(table) < 1_000_000:
                    table[key] = moves
            out.extend(moves)

    def legal_moves(self, state: MolGraph) -> list[AtomMove]:
        """Every legal move of ``state`` without duplicates, in a deterministic order
        (additions, deletions, ring closures, ring openings, raises, lowerings)."""
        return self._analyse(state).all_moves()

    # ------------------------------------------------------------------ single moves
    def _is_ring_bond(self, state: MolGraph, i: int, j: int) -> bool:
        return state.num_bonds >= state.num_atoms and (i, j) in state.ring_bonds

    def is_legal(self, state: MolGraph, move: Any) -> bool:
        """Whether ``move`` is legal in ``state`` (rules in the class docstring)."""
        n = state.num_atoms
        cls = type(move)
        if cls is AddAtom:
            a, o = move.atom, move.order
            return (
                0 <= a < n
                and (move.atomic_num, move.charge) in self._types
                and o in self._bond_orders
                and state.free_valences[a] >= o
                and max_valence(move.atomic_num, move.charge) >= o
            )
        if cls is DeleteAtom:
            a = move.atom
            if not (n >= 2 and 0 <= a < n):
                return False
            nb = state.neighbors[a]
            return (
                len(nb) == 1
                and state.atom_type(a) in self._types
                and state.bond_orders[(a, nb[0])] in self._bond_orders
            )
        if cls is CloseRing:
            b, e, o = move.begin, move.end, move.order
            if not (0 <= b < e < n and o in self._ring_orders):
                return False
            fv = state.free_valences
            if fv[b] < o or fv[e] < o or (b, e) in state.bond_orders:
                return False
            return _bfs_distance(state.neighbors, b, e, self._max_dist, False) is not None
        if cls is OpenRing:
            b, e = move.begin, move.end
            if not (0 <= b < e < n):
                return False
            o = state.bond_orders.get((b, e))
            if o is None or o not in self._ring_orders:
                return False
            return _bfs_distance(state.neighbors, b, e, self._max_dist, True) is not None
        if cls is ChangeBond:
            b, e, new = move.begin, move.end, move.order
            if not (0 <= b < e < n):
                return False
            old = state.bond_orders.get((b, e))
            if old is None or new < 1 or abs(new - old) != 1:
                return False
            top = self.config.max_ring_bond_order if self._is_ring_bond(state, b, e) else 3
            if new > old:
                fv = state.free_valences
                return new <= top and fv[b] >= 1 and fv[e] >= 1
            return old <= top
        return False

    def _require_legal(self, state: MolGraph, move: Any) -> None:
        if not self.is_legal(state, move):
            try:
                label = self.format_move(move)
            except Exception:  # a malformed move still gets a message
                label = repr(move)
            raise IllegalMoveError(f"move {label} is not legal in {state.kekule_smiles()}")

    def apply(self, state: MolGraph, move: AtomMove) -> MolGraph:
        """The state after ``move``.

        Raises:
            IllegalMoveError: naming the move and the molecule's Kekulé SMILES when
                ``move`` is not legal in ``state``.
        """
        self._require_legal(state, move)
        zs, cs, bonds = state.atomic_nums, state.charges, state.bonds
        cls = type(move)
        if cls is AddAtom:
            new_bond = (move.atom, len(zs), move.order)
            return MolGraph(zs + (move.atomic_num,), cs + (move.charge,), bonds + (new_bond,))
        if cls is DeleteAtom:
            return state.edit(remove_atoms=(move.atom,))
        if cls is CloseRing:
            return MolGraph(zs, cs, bonds + ((move.begin, move.end, move.order),))
        pair = (move.begin, move.end)
        if cls is OpenRing:
            return MolGraph(zs, cs, [bd for bd in bonds if bd[:2] != pair])
        # ChangeBond
        return MolGraph(zs, cs, [(i, j, move.order) if (i, j) == pair else (i, j, o) for i, j, o in bonds])

    def inverse(self, state: MolGraph, move: AtomMove) -> AtomMove:
        """The move that undoes ``move`` applied to ``state``, indexed in the result.

        Raises:
            IllegalMoveError: when ``move`` is not legal in ``state``.
        """
        self._require_legal(state, move)
        cls = type(move)
        if cls is AddAtom:
            return DeleteAtom(state.num_atoms)
        if cls is DeleteAtom:
            a = move.atom
            nb = state.neighbors[a][0]
            z, c = state.atom_type(a)
            return AddAtom(nb - 1 if nb > a else nb, z, c, state.bond_orders[(a, nb)])
        if cls is CloseRing:
            return OpenRing(move.begin, move.end)
        old = state.bond_orders[(move.begin, move.end)]
        if cls is OpenRing:
            return CloseRing(move.begin, move.end, old)
        return ChangeBond(move.begin, move.end, old)

    # ------------------------------------------------------------------ array encoding
    #: Pair candidates are unordered atom pairs ``(i, j)`` with ``i < j``.
    pairs_directed = False

    @property
    def pair_feature_dim(self) -> int:
        """Pair features: bond order one-hot (none, 1, 2, 3), ring bond, and the
        topological distance one-hot (1 .. max_ring_size - 1, farther)."""
        return 5 + self.config.max_ring_size

    @property
    def num_atom_classes(self) -> int:
        """Atom-candidate classes: one per (atom type, bond order) to add, plus delete."""
        return len(self.config.atom_types) * len(self.config.bond_orders) + 1

    @property
    def num_pair_classes(self) -> int:
        """Pair-candidate classes: close with each ring order, open, change to order 1/2/3."""
        return len(self.config.ring_bond_orders) + 4

    def _atom_class(self, move: AtomMove) -> int:
        cfg = self.config
        if isinstance(move, DeleteAtom):
            return len(cfg.atom_types) * len(cfg.bond_orders)
        t = cfg.atom_types.index((move.atomic_num, move.charge))
        return t * len(cfg.bond_orders) + cfg.bond_orders.index(move.order)

    def _pair_class(self, move: AtomMove) -> int:
        r = len(self._ring_orders_sorted)
        if isinstance(move, CloseRing):
            return self._ring_orders_sorted.index(move.order)
        if isinstance(move, OpenRing):
            return r
        return r + move.order  # ChangeBond to order 1, 2, 3

    def encode_moves(self, state: MolGraph) -> MoveEncoding:
        """All legal moves of ``state`` as arrays (see :mod:`ric.moves.encoding`).

        Atom candidates are ``AddAtom``/``DeleteAtom`` ``(atom, class)``; pair candidates
        are ``CloseRing``/``OpenRing``/``ChangeBond`` on pairs ``(begin, end)``.
        """
        atom_rows, pair_rows = [], []
        pair_index: dict[tuple[int, int], int] = {}
        for move in self.legal_moves(state):
            if isinstance(move, (AddAtom, DeleteAtom)):
                atom_rows.append((move.atom, self._atom_class(move)))
            else:
                key = (move.begin, move.end)
                row = pair_index.setdefault(key, len(pair_index))
                pair_rows.append((row, self._pair_class(move)))
        pairs = np.array(list(pair_index), dtype=np.int64).reshape(-1, 2)
        features = np.zeros((len(pairs), self.pair_feature_dim), dtype=np.float32)
        if len(pairs):
            dist = Chem.GetDistanceMatrix(state._rdkit_unsanitized)
            orders = state.bond_orders
            ring_bonds = state.ring_bonds if state.num_bonds >= state.num_atoms else frozenset()
            far = self.config.max_ring_size + 4
            for r, (i, j) in enumerate(pairs.tolist()):
                features[r, orders.get((i, j), 0)] = 1.0
                features[r, 4] = float((i, j) in ring_bonds)
                features[r, 4 + min(int(dist[i, j]), far - 4)] = 1.0
        return MoveEncoding.from_rows(
            atom_moves=np.array(atom_rows, dtype=np.int64).reshape(-1, 2),
            pairs=pairs,
            pair_features=features,
            pair_moves=np.array(pair_rows, dtype=np.int64).reshape(-1, 2),
            set_members=MoveEncoding.empty_rows(2),
            num_sets=0,
        )

    def move_at(self, state: MolGraph, encoding: MoveEncoding, kind: int, row: int) -> AtomMove | Stop:
        """The move of candidate ``row`` of group ``kind`` in ``encoding`` (of ``state``)."""
        cfg = self.config
        if kind == KIND_STOP:
            return STOP
        if kind == KIND_ATOM:
            a, c = encoding.candidate(KIND_ATOM, row)
            n_orders = len(cfg.bond_orders)
            if c == len(cfg.atom_types) * n_orders:
                return DeleteAtom(a)
            z, charge = cfg.atom_types[c // n_orders]
            return AddAtom(a, z, charge, cfg.bond_orders[c % n_orders])
        if kind == KIND_PAIR:
            p, c = encoding.candidate(KIND_PAIR, row)
            b, e = (int(x) for x in encoding.pairs[p])
            r = len(self._ring_orders_sorted)
            if c < r:
                return CloseRing(b, e, self._ring_orders_sorted[c])
            if c == r:
                return OpenRing(b, e)
            return ChangeBond(b, e, c - r)
        raise KeyError(f"the atom move set has no candidates of kind {kind}")

    def locate(self, state: MolGraph, encoding: MoveEncoding, move: AtomMove | Stop) -> tuple[int, int]:
        """``(kind, row)`` of a legal move in ``encoding``; raises KeyError if it is absent."""
        if isinstance(move, Stop):
            return KIND_STOP, 0
        if isinstance(move, (AddAtom, DeleteAtom)):
            return KIND_ATOM, encoding.row_of(KIND_ATOM, move.atom, self._atom_class(move))
        pair = encoding.pair_row(move.begin, move.end)
        return KIND_PAIR, encoding.row_of(KIND_PAIR, pair, self._pair_class(move))

    def removed_nodes(self, state: MolGraph, move: AtomMove) -> tuple[int, ...]:
        """The atom a ``DeleteAtom`` removes (other moves remove none)."""
        return (move.atom,) if isinstance(move, DeleteAtom) else ()

    def to_dict(self) -> dict:
        """``{"name", "config"}``."""
        return {"name": self.name, "config": self.config.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "AtomMoveSet":
        """Inverse of :meth:`to_dict`."""
        return cls(AtomMoveSetConfig.from_dict(data.get("config", {})))

    def preserves(self, state: MolGraph, move: AtomMove, protected: frozenset[int]) -> bool:
        """Whether ``move`` keeps every atom of ``protected`` and every bond between two of them."""
        if isinstance(move, DeleteAtom):
            return move.atom not in protected
        if isinstance(move, (OpenRing, ChangeBond)):
            return not (move.begin in protected and move.end in protected)
        return True

    def forbidden_mask(self, state: MolGraph, encoding: MoveEncoding, protected: frozenset[int]) -> np.ndarray:
        """Boolean mask over the flat candidates ``[stop, atom..., pair...]`` of ``encoding``:
        True where the move would delete a protected atom or alter a protected bond."""
        mask = np.zeros(1 + encoding.num_moves, dtype=bool)
        if protected:
            prot = np.zeros(state.num_atoms, dtype=bool)
            prot[list(protected)] = True
            delete_class = self.num_atom_classes - 1
            am = encoding.atom_moves
            if len(am):
                mask[1 : 1 + len(am)] = (am[:, 1] == delete_class) & prot[am[:, 0]]
            pm = encoding.pair_moves
            if len(pm):
                pairs = encoding.pairs[pm[:, 0]]
                alters = pm[:, 1] >= len(self._ring_orders_sorted)  # open or change, not close
                mask[1 + len(am) :] = alters & prot[pairs[:, 0]] & prot[pairs[:, 1]]
        return mask

    def relabel_move(self, move: AtomMove | Stop, new_index: list[int]) -> AtomMove | Stop:
        """The same move after the state's atoms are renumbered (atom ``i`` becomes
        ``new_index[i]``); bond moves keep ``begin < end``. :data:`STOP` is returned as is.

        Raises:
            TypeError: if ``move`` is not an atom move or :data:`STOP`.
        """
        if isinstance(move, Stop):
            return move
        cls = type(move)
        if cls is AddAtom:
            return AddAtom(new_index[move.atom], move.atomic_num, move.charge, move.order)
        if cls is DeleteAtom:
            return DeleteAtom(new_index[move.atom])
        if cls not in (CloseRing, OpenRing, ChangeBond):
            raise TypeError(f"not an atom move: {move!r}")
        b, e = new_index[move.begin], new_index[move.end]
        if b > e:
            b, e = e, b
        if cls is OpenRing:
            return OpenRing(b, e)
        return cls(b, e, move.order)

    # ------------------------------------------------------------------ corruption
    def sample_corruption_move(self, state: MolGraph, rng: np.random.Generator) -> AtomMove | None:
        """One draw from the corruption step distribution (see the class docstring).

        Args:
            state: the current state.
            rng: source of randomness.

        Returns:
            A legal move, or ``None`` when no move is legal.
        """
        an = self._analyse(state)
        removal = [kind for kind in (an.delete, an.open, an.lower) if kind]
        addition = [kind for kind in (an.add, an.close, an.raise_) if kind]
        if removal and addition:
            side = removal if rng.random() < 0.5 else addition
        elif removal or addition:
            side = removal or addition
        else:
            return None
        kind = side[int(rng.integers(len(side)))] if len(side) > 1 else side[0]
        return kind[int(rng.integers(len(kind)))]

    # ------------------------------------------------------------------ identity / checks
    def key(self, state: MolGraph) -> str:
        """Canonical SMILES of the state."""
        return state.smiles()

    def check_state(self, state: MolGraph) -> str | None:
        """``None`` if ``state`` is a usable state, else what is wrong: an atom type
        outside the alphabet (e.g. ``"atom 3 (Se+0) is not in the atom alphabet"``), an
        over-full valence, or a disconnected or empty graph."""
        for a in range(state.num_atoms):
            t = state.atom_type(a)
            if t not in self._types:
                return f"atom {a} ({_type_label(*t)}) is not in the atom alphabet"
        if state.num_atoms == 0:
            return "the molecule has no atoms"
        for a, f in enumerate(state.free_valences):
            if f < 0:
                return f"atom {a} ({_type_label(*state.atom_type(a))}) exceeds its valence"
        if not state.is_connected():
            return "the molecule is disconnected"
        return None

    # ------------------------------------------------------------------ text form
    def format_move(self, move: AtomMove | Stop) -> str:
        """Text form: ``add_atom(3,C,+0,1)``, ``delete_atom(7)``, ``close_ring(2,9,1)``,
        ``open_ring(2,9)``, ``change_bond(1,2,2)`` or ``stop``.

        Raises:
            TypeError: if ``move`` is not an atom move or :data:`STOP`.
        """
        if isinstance(move, Stop):
            return "stop"
        cls = type(move)
        if cls is AddAtom:
            return f"add_atom({move.atom},{_symbol(move.atomic_num)},{move.charge:+d},{move.order})"
        if cls is DeleteAtom:
            return f"delete_atom({move.atom})"
        if cls is CloseRing:
            return f"close_ring({move.begin},{move.end},{move.order})"
        if cls is OpenRing:
            return f"open_ring({move.begin},{move.end})"
        if cls is ChangeBond:
            return f"change_bond({move.begin},{move.end},{move.order})"
        raise TypeError(f"not an atom move: {move!r}")

    _PATTERN = re.compile(r"^\s*([a-z_]+)\(([^()]*)\)\s*$")
    _INT = re.compile(r"^[+-]?\d+$")
    _ARITY = {"add_atom": 4, "delete_atom": 1, "close_ring": 3, "open_ring": 2, "change_bond": 3}

    def parse_move(self, text: str) -> AtomMove | Stop:
        """Read a move written by :meth:`format_move`.

        Raises:
            ValueError: naming the text when it is malformed (unknown kind, wrong number
                of fields, non-integer index, unknown element, ``begin >= end``).
        """
        if text.strip() == "stop":
            return STOP
        m = self._PATTERN.match(text)
        if m is None:
            raise ValueError(f"not an atom move: {text!r}")
        kind, body = m.groups()
        fields = [f.strip() for f in body.split(",")] if body.strip() else []
        arity = self._ARITY.get(kind)
        if arity is None:
            raise ValueError(f"unknown atom move kind {kind!r} in {text!r}")
        if len(fields) != arity:
            raise ValueError(f"{kind} takes {arity} fields, got {len(fields)} in {text!r}")

        def integer(s: str) -> int:
            if not self._INT.match(s):
                raise ValueError(f"{s!r} is not an integer in {text!r}")
            return int(s)

        if kind == "add_atom":
            symbol = fields[1]
            if symbol.startswith("#"):
                z = integer(symbol[1:])
            elif symbol in _NUMBERS:
                z = _NUMBERS[symbol]
            else:
                raise ValueError(f"unknown element {symbol!r} in {text!r}")
            return AddAtom(integer(fields[0]), z, integer(fields[2]), integer(fields[3]))
        values = [integer(f) for f in fields]
        if kind == "delete_atom":
            return DeleteAtom(values[0])
        if values[0] >= values[1]:
            raise ValueError(f"bond atoms must satisfy begin < end in {text!r}")
        if kind == "close_ring":
            return CloseRing(*values)
        if kind == "open_ring":
            return OpenRing(*values)
        return ChangeBond(*values)
