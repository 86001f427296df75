"""Henneberg moves on Laman graphs: the move set ``"laman"`` of the domain ``"laman"``.

States are :class:`~ric.laman.graph.LamanGraph` with at least 3 nodes (the triangle is the
smallest state; the data start from it). Moves on a state with ``n`` nodes:

* :class:`HennebergI` ``(a, b)``, ``a < b``: add node ``n`` joined to ``a`` and ``b``. Legal for
  every pair of distinct nodes, adjacent or not: a set of ``k`` nodes holding the new node
  spans at most ``2(k-1) - 3 + 2 = 2k - 3`` edges, so the result is Laman.
* :class:`HennebergII` ``(a, b, c)``, ``a < b``: remove the edge ``a-b`` and add node ``n``
  joined to ``a``, ``b`` and ``c`` (any node other than ``a`` and ``b``, adjacent to them or
  not). Legal for every edge and third node: a node set holding ``n``, ``a`` and ``b`` loses
  the edge ``a-b`` and gains three, any other gains at most two, so counts stay within
  ``2k - 3``.
* :class:`InverseI` ``(v)``: delete a node of degree 2.
* :class:`InverseII` ``(v, a, b)``, ``a < b``: delete a node ``v`` of degree 3 and join two of
  its neighbours ``a``, ``b`` that are not adjacent, where the result is Laman (decided by
  the pebble game on ``G - v`` plus ``a-b``). Every degree-3 node of a Laman graph has at
  least one such pair (Laman's theorem), and every Laman graph on more than 3 nodes has a
  node of degree 2 or 3, so a deletion is always possible above the triangle.

Deletions are illegal on 3 nodes: no state has fewer than 3 nodes. Node numbering follows
the protocol: the nodes a deletion keeps keep their order (indices above ``v`` shift down
by one) and the node an insertion adds is ``n``. Inverses, from what a move adds or removes:
``HennebergI(a, b)`` -> ``InverseI(n)``; ``HennebergII(a, b, c)`` -> ``InverseII(n, a, b)``;
``InverseI(v)`` -> ``HennebergI`` of ``v``'s two neighbours (shifted); ``InverseII(v, a, b)``
-> ``HennebergII(a, b, c)`` with ``c`` the third neighbour (all shifted). Undoing a deletion
restores the graph with the deleted node moved to the last index.

Speed: the move set keeps, for its 256 most recent states, their neighbour sets, legal
deletions and a pebble-game orientation, which :meth:`HennebergMoveSet.apply` carries to the
result, so an inverse-II test costs one pebble search on a copy rather than a whole pebble
game. An orientation computed from scratch (a dataset graph's) is also kept, packed into a
few hundred bytes, in the graph's private cache, and so is its canonical key.
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ric.laman.graph import LamanGraph, canonical_key, from_graph6, to_graph6
from ric.laman.pebble import (
    Orientation,
    delete_and_renumber,
    laman_violation,
    pebble_orientation,
    remove_node,
    try_add_edge,
)
from ric.moves.encoding import KIND_SET, KIND_STOP, MoveEncoding
from ric.moves.protocol import STOP, IllegalMoveError, Stop

__all__ = [
    "HennebergI",
    "HennebergII",
    "InverseI",
    "InverseII",
    "HennebergMove",
    "HennebergMoveSet",
    "ROLE_HI",
    "ROLE_HII_EDGE",
    "ROLE_HII_THIRD",
    "ROLE_INV_I",
    "ROLE_INV_II_NODE",
    "ROLE_INV_II_EDGE",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HennebergI:
    """Add a node joined to ``a`` and ``b`` (``a < b``)."""

    a: int
    b: int


@dataclass(frozen=True)
class HennebergII:
    """Remove edge ``a-b`` (``a < b``) and add a node joined to ``a``, ``b`` and ``c``."""

    a: int
    b: int
    c: int


@dataclass(frozen=True)
class InverseI:
    """Delete node ``v`` of degree 2."""

    v: int


@dataclass(frozen=True)
class InverseII:
    """Delete node ``v`` of degree 3 and add the edge ``a-b`` (``a < b``) between two of its neighbours."""

    v: int
    a: int
    b: int


HennebergMove = Union[HennebergI, HennebergII, InverseI, InverseII]

#: Member roles of the set candidates (:attr:`MoveEncoding.set_roles`).
ROLE_HI, ROLE_HII_EDGE, ROLE_HII_THIRD, ROLE_INV_I, ROLE_INV_II_NODE, ROLE_INV_II_EDGE = range(6)

_DEGREE_CLASSES = 16
_FREQUENCIES = np.pi / np.array([2.0, 4.0, 8.0, 16.0])
_REJECTION_TRIES = 64


def _sorted_edges(edges: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``edges`` (each ``i < j``) in lexicographic order."""
    return edges[np.argsort(edges[:, 0] * n + edges[:, 1], kind="stable")]


def _pack(out: Orientation) -> np.ndarray:
    """int32 ``[n, 2]`` form of an orientation (``-1`` for a free pebble): small enough to keep
    on every dataset graph."""
    arr = np.full((len(out), 2), -1, dtype=np.int32)
    for v, heads in enumerate(out):
        arr[v, :len(heads)] = heads
    return arr


def _unpack(arr: np.ndarray) -> Orientation:
    return [[x for x in row if x >= 0] for row in arr.tolist()]


class _Analysis:
    """Derived data of one state, kept by the move set for its most recent states.

    Attributes:
        state: the state (held, so that its id is not reused while cached).
        adj: neighbour set of every node.
        orient: the pebble-game orientation, or None until needed.
        deg2, deg3: nodes of degree 2 and 3 (none on the triangle, where nothing is deleted).
        inv2: ``(v, a, b) -> bool``, inverse-II tests made so far.
        inv2_out: ``((v, a, b), orientation of G - v + ab)`` of the last legal test.
        deletions: legal inverse-I nodes and inverse-II moves, once enumerated.
    """

    __slots__ = ("state", "adj", "orient", "deg2", "deg3", "inv2", "inv2_out", "deletions")

    def __init__(self, state: LamanGraph, orient: Orientation | None = None,
                 adj: list[set[int]] | None = None) -> None:
        self.state = state
        if adj is None:
            adj = [set() for _ in range(state.n)]
            for i, j in state.edges.tolist():
                adj[i].add(j)
                adj[j].add(i)
        self.adj = adj
        self.orient = orient
        if state.n > 3:
            self.deg2 = [v for v, x in enumerate(adj) if len(x) == 2]
            self.deg3 = [v for v, x in enumerate(adj) if len(x) == 3]
        else:
            self.deg2, self.deg3 = [], []
        self.inv2: dict[tuple[int, int, int], bool] = {}
        self.inv2_out: tuple | None = None
        self.deletions: tuple[list[int], list[InverseII]] | None = None


#: States whose analysis a move set keeps (many chains may share one move set).
_ANALYSIS_CACHE_SIZE = 256


class HennebergMoveSet:
    """Henneberg I and II moves and their inverses on Laman graphs (see the module docstring).

    Corruption step distribution (:meth:`sample_corruption_move`), fixed and size-neutral:
    with probability 1/2 a deletion, else an insertion (an insertion on the triangle, where
    no deletion is legal). An insertion is Henneberg I or II with probability 1/2 each: I on
    a uniform pair of distinct nodes, II on a uniform edge and a uniform third node. A
    deletion is uniform over the legal deletions (inverse I and II together), drawn by
    rejection from the candidates (each degree-2 node; each degree-3 node with each of its
    three neighbour pairs), so no enumeration is needed.

    Network view: node features are a one-hot of ``min(degree, 15)`` (16), sines and cosines
    of ``degree * pi / 2**k`` for ``k = 1..4`` (8) and ``n / 30`` (1); edges carry a constant 1.
    Every legal move is a set candidate, in :meth:`legal_moves` order, whose members carry
    the roles :data:`ROLE_HI` (0: HI's ``a``, ``b``), :data:`ROLE_HII_EDGE` (1: HII's ``a``,
    ``b``), :data:`ROLE_HII_THIRD` (2: HII's ``c``), :data:`ROLE_INV_I` (3: the deleted node of
    inverse I), :data:`ROLE_INV_II_NODE` (4: the deleted node of inverse II) and
    :data:`ROLE_INV_II_EDGE` (5: inverse II's new edge ``a``, ``b``).
    """

    name = "laman"
    domain = "laman"
    node_feature_dim = _DEGREE_CLASSES + 2 * len(_FREQUENCIES) + 1
    edge_feature_dim = 1
    num_atom_classes = 0
    num_pair_classes = 0
    pair_feature_dim = 0
    pairs_directed = False
    num_set_roles = 6

    def __init__(self) -> None:
        self._cache: OrderedDict[int, _Analysis] = OrderedDict()

    def __getstate__(self) -> dict:
        return {"name": self.name}  # the analyses of recent states are not pickled

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    # ------------------------------------------------------------------ plain data
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HennebergMoveSet":
        """Rebuild from :meth:`to_dict` output.

        Raises:
            ValueError: when ``data`` names another move set.
        """
        if data.get("name", cls.name) != cls.name:
            raise ValueError(f"not a {cls.name} move set: {data!r}")
        return cls()

    def __repr__(self) -> str:
        return "HennebergMoveSet()"

    # ------------------------------------------------------------------ per-state analysis
    def _analyse(self, state: LamanGraph, orient: Orientation | None = None,
                 adj: list[set[int]] | None = None) -> _Analysis:
        """The analysis of ``state`` (cached for the most recent states); ``orient`` and ``adj``
        are the state's orientation and neighbour sets when the caller knows them."""
        hit = self._cache.get(id(state))
        if hit is not None and hit.state is state:
            self._cache.move_to_end(id(state))
            return hit
        hit = self._cache[id(state)] = _Analysis(state, orient, adj)
        if len(self._cache) > _ANALYSIS_CACHE_SIZE:
            self._cache.popitem(last=False)
        return hit

    def _orientation(self, state: LamanGraph, info: _Analysis | None = None) -> Orientation:
        """The state's pebble-game orientation: carried from its parent by :meth:`apply`, or
        computed once (then also kept, packed, on the state itself, so that dataset graphs
        never pay for it twice)."""
        info = info or self._analyse(state)
        if info.orient is None:
            packed = state._cache.get("orient")
            if packed is not None:
                info.orient = _unpack(packed)
            else:
                out = pebble_orientation(state.n, state.edges)
                if out is None:
                    raise ValueError(f"{to_graph6(state)} is not a Laman graph: {laman_violation(state.n, state.edges)}")
                state._cache["orient"] = _pack(out)
                info.orient = out
        return info.orient

    def _inverse2(self, state: LamanGraph, v: int, a: int, b: int) -> bool:
        """Whether ``G - v + ab`` is Laman; ``v`` must have degree 3 and ``a``, ``b`` be
        non-adjacent neighbours of it. The orientation of the last legal one is kept for
        :meth:`apply`."""
        info = self._analyse(state)
        key = (v, a, b)
        ok = info.inv2.get(key)
        if ok is None:
            out = remove_node(self._orientation(state, info), v, info.adj[v])
            ok = info.inv2[key] = try_add_edge(out, a, b)
            if ok:
                info.inv2_out = (key, out)
        return ok

    def _inverse2_orientation(self, state: LamanGraph, v: int, a: int, b: int) -> Orientation:
        """Orientation of ``G - v + ab`` (``v`` left isolated, old numbering) of a legal inverse II."""
        info = self._analyse(state)
        if info.inv2_out is not None and info.inv2_out[0] == (v, a, b):
            return info.inv2_out[1]
        out = remove_node(self._orientation(state, info), v, info.adj[v])
        if not try_add_edge(out, a, b):
            raise IllegalMoveError(f"DII {v} {a} {b} does not give a Laman graph")
        info.inv2_out = ((v, a, b), out)
        return out

    @staticmethod
    def _pairs(info: _Analysis, v: int) -> list[tuple[int, int]]:
        """The three neighbour pairs of a degree-3 node, in order."""
        x, y, z = sorted(info.adj[v])
        return [(x, y), (x, z), (y, z)]

    def _deletions(self, state: LamanGraph) -> tuple[list[int], list[InverseII]]:
        """Legal inverse-I nodes and inverse-II moves, in enumeration order."""
        info = self._analyse(state)
        if info.deletions is None:
            adj = info.adj
            inv2 = []
            for v in info.deg3:
                out = None  # G - v, shared by v's pairs: a test leaves a valid game state behind
                for a, b in self._pairs(info, v):
                    if b in adj[a]:
                        continue
                    ok = info.inv2.get((v, a, b))
                    if ok is None:
                        if out is None:
                            out = remove_node(self._orientation(state, info), v, adj[v])
                        ok = info.inv2[(v, a, b)] = try_add_edge(out, a, b)
                        if ok:
                            out[a].remove(b)  # take the test edge out again
                    if ok:
                        inv2.append(InverseII(v, a, b))
            info.deletions = (list(info.deg2), inv2)
        return info.deletions

    # ------------------------------------------------------------------ enumeration
    def legal_moves(self, state: LamanGraph) -> list[HennebergMove]:
        """Every legal move: all HennebergI (pairs in lexicographic order), all HennebergII
        (edges in order, then ``c`` ascending), InverseI (by node), legal InverseII (by node,
        then pair)."""
        n = state.n
        ia, ib = np.triu_indices(n, 1)
        moves: list[HennebergMove] = [HennebergI(a, b) for a, b in zip(ia.tolist(), ib.tolist())]
        others = list(range(n))
        for a, b in state.edges.tolist():
            moves.extend(HennebergII(a, b, c) for c in others if c != a and c != b)
        deg2, inv2 = self._deletions(state)
        moves.extend(InverseI(v) for v in deg2)
        moves.extend(inv2)
        return moves

    def is_legal(self, state: LamanGraph, move: HennebergMove) -> bool:
        """Whether ``move`` is legal in ``state`` (a Laman graph)."""
        n = state.n
        if isinstance(move, HennebergI):
            return 0 <= move.a < move.b < n
        if isinstance(move, HennebergII):
            a, b, c = move.a, move.b, move.c
            return 0 <= a < b < n and 0 <= c < n and c != a and c != b and b in self._analyse(state).adj[a]
        if isinstance(move, InverseI):
            return n > 3 and 0 <= move.v < n and len(self._analyse(state).adj[move.v]) == 2
        if isinstance(move, InverseII):
            v, a, b = move.v, move.a, move.b
            if not (n > 3 and 0 <= v < n and a < b):
                return False
            adj = self._analyse(state).adj
            if len(adj[v]) != 3 or a not in adj[v] or b not in adj[v] or b in adj[a]:
                return False
            return self._inverse2(state, v, a, b)
        return False

    # ------------------------------------------------------------------ apply / inverse
    def apply(self, state: LamanGraph, move: HennebergMove) -> LamanGraph:
        """The state after ``move`` (its neighbour sets and pebble-game orientation are
        derived from ``state``'s and kept for it).

        Raises:
            IllegalMoveError: if ``move`` is not legal in ``state``.
            ValueError: if ``state`` is not a Laman graph.
        """
        if not self.is_legal(state, move):
            raise IllegalMoveError(f"{self.format_move(move)} is not legal in {to_graph6(state)}")
        n, edges = state.n, state.edges
        info = self._analyse(state)
        parent = self._orientation(state, info)
        # the result's edges, neighbour sets and orientation, each from the parent's
        adj = [set(x) for x in info.adj]
        if isinstance(move, (HennebergI, HennebergII)):
            a, b = move.a, move.b
            out = [list(x) for x in parent]
            if isinstance(move, HennebergI):
                joined = [a, b]
                new = np.concatenate([edges, [[a, n], [b, n]]])
                out.append([a, b])
            else:
                c = move.c
                joined = [a, b, c]
                new = np.concatenate([edges[~((edges[:, 0] == a) & (edges[:, 1] == b))], [[a, n], [b, n], [c, n]]])
                adj[a].discard(b)
                adj[b].discard(a)
                # the pebble that covered a-b (at its tail) now covers tail -> n; n covers n -> head, n -> c
                tail, head = (a, b) if b in parent[a] else (b, a)
                out[tail][out[tail].index(head)] = n
                out.append([head, c])
            for u in joined:
                adj[u].add(n)
            adj.append(set(joined))
            child = LamanGraph._trusted(n + 1, _sorted_edges(new, n + 1))
        else:
            v = move.v
            new = edges[(edges[:, 0] != v) & (edges[:, 1] != v)]
            if isinstance(move, InverseII):
                a, b = move.a, move.b
                new = np.concatenate([new, [[a, b]]])
                adj[a].add(b)
                adj[b].add(a)
                removed = self._inverse2_orientation(state, v, a, b)
            else:
                removed = remove_node(parent, v, info.adj[v])
            new = new - (new > v)
            if isinstance(move, InverseII):
                new = _sorted_edges(new, n - 1)
            for u in info.adj[v]:
                adj[u].discard(v)
            del adj[v]
            adj = [{u - (u > v) for u in x} for x in adj]
            out = delete_and_renumber(removed, v)
            child = LamanGraph._trusted(n - 1, np.ascontiguousarray(new))
        self._analyse(child, out, adj)
        return child

    def inverse(self, state: LamanGraph, move: HennebergMove) -> HennebergMove:
        """The move that undoes ``move`` applied to ``state``, indexed in the result.

        Raises:
            IllegalMoveError: if ``move`` is not legal in ``state``.
        """
        if not self.is_legal(state, move):
            raise IllegalMoveError(f"{self.format_move(move)} is not legal in {to_graph6(state)}")
        n = state.n
        if isinstance(move, HennebergI):
            return InverseI(n)
        if isinstance(move, HennebergII):
            return InverseII(n, move.a, move.b)
        v = move.v
        nbrs = [u - (u > v) for u in sorted(self._analyse(state).adj[v])]
        if isinstance(move, InverseI):
            return HennebergI(nbrs[0], nbrs[1])
        a, b = move.a - (move.a > v), move.b - (move.b > v)
        (c,) = [u for u in nbrs if u != a and u != b]
        return HennebergII(a, b, c)

    # ------------------------------------------------------------------ corruption
    def sample_corruption_move(self, state: LamanGraph, rng: np.random.Generator) -> HennebergMove | None:
        """One draw from the corruption step distribution (see the class docstring)."""
        if state.n > 3 and rng.random() < 0.5:
            move = self._sample_deletion(state, rng)
            if move is not None:
                return move
        return self._sample_insertion(state, rng)

    def _sample_insertion(self, state: LamanGraph, rng: np.random.Generator) -> HennebergMove | None:
        n, m = state.n, len(state.edges)
        if n < 2:
            return None
        if rng.random() < 0.5 or m == 0 or n < 3:
            a = int(rng.integers(n))
            b = int(rng.integers(n - 1))
            b += b >= a
            return HennebergI(min(a, b), max(a, b))
        a, b = state.edges[int(rng.integers(m))].tolist()
        c = int(rng.integers(n - 2))
        c += c >= a
        c += c >= b
        return HennebergII(a, b, c)

    def _sample_deletion(self, state: LamanGraph, rng: np.random.Generator) -> HennebergMove | None:
        """Uniform over the legal deletions: uniform candidates, illegal ones redrawn."""
        info = self._analyse(state)
        deg2, deg3 = info.deg2, info.deg3
        n2 = len(deg2)
        total = n2 + 3 * len(deg3)
        if total:
            for _ in range(_REJECTION_TRIES):
                r = int(rng.integers(total))
                if r < n2:
                    return InverseI(deg2[r])
                v = deg3[(r - n2) // 3]
                a, b = self._pairs(info, v)[(r - n2) % 3]
                if b not in info.adj[a] and self._inverse2(state, v, a, b):
                    return InverseII(v, a, b)
        # Many rejections in a row (rare): draw from the enumerated legal deletions.
        d2, inv2 = self._deletions(state)
        count = len(d2) + len(inv2)
        if not count:
            return None
        r = int(rng.integers(count))
        return InverseI(d2[r]) if r < len(d2) else inv2[r - len(d2)]

    # ------------------------------------------------------------------ identity / checks
    def quick_key(self, state: LamanGraph) -> tuple:
        """``(n, sorted degree sequence)``: equal for isomorphic graphs."""
        return (state.n, tuple(np.sort(state.degrees).tolist()))

    def key(self, state: LamanGraph) -> str:
        """:func:`~ric.laman.graph.canonical_key`: equal exactly for isomorphic graphs."""
        key = state._cache.get("key")
        if key is None:
            key = state._cache["key"] = canonical_key(state)
        return key

    def check_state(self, state: LamanGraph) -> str | None:
        """``None`` for a Laman graph with at least 3 nodes, else what is wrong."""
        if not isinstance(state, LamanGraph):
            return f"not a LamanGraph: {type(state).__name__}"
        if state.n < 3:
            return f"{state.n} node(s): states have at least 3 (the triangle)"
        return laman_violation(state.n, state.edges)

    def is_valid(self, state: LamanGraph) -> bool:
        """Laman with at least 3 nodes, by the pebble game (run afresh)."""
        if state.n < 3 or len(state.edges) != 2 * state.n - 3:
            return False
        out = pebble_orientation(state.n, state.edges)
        if out is None:
            return False
        info = self._analyse(state)
        if info.orient is None:
            info.orient = out
        return True

    def size(self, state: LamanGraph) -> int:
        """Number of nodes."""
        return state.n

    def removed_nodes(self, state: LamanGraph, move: HennebergMove) -> tuple[int, ...]:
        """``(v,)`` for the inverse moves, ``()`` for insertions."""
        return (move.v,) if isinstance(move, (InverseI, InverseII)) else ()

    def preserves(self, state: LamanGraph, move: HennebergMove, protected: frozenset[int]) -> bool:
        """False when ``move`` deletes a protected node, or (HennebergII) removes an edge
        between two protected nodes."""
        if isinstance(move, (InverseI, InverseII)):
            return move.v not in protected
        if isinstance(move, HennebergII):
            return not (move.a in protected and move.b in protected)
        return True

    def forbidden_mask(self, state: LamanGraph, encoding: MoveEncoding, protected: frozenset[int]) -> np.ndarray:
        """bool ``[1 + encoding.num_moves]``: True at the candidates that break :meth:`preserves`."""
        mask = np.zeros(1 + encoding.num_moves, dtype=bool)
        if not protected:
            return mask
        n = state.n
        prot = np.zeros(n, dtype=bool)
        prot[[p for p in protected if 0 <= p < n]] = True
        start = 1 + n * (n - 1) // 2
        both = prot[state.edges[:, 0]] & prot[state.edges[:, 1]]
        mask[start:start + len(both) * (n - 2)] = np.repeat(both, n - 2)
        start += len(both) * (n - 2)
        deg2, inv2 = self._deletions(state)
        mask[start:start + len(deg2)] = prot[np.asarray(deg2, dtype=np.int64)]
        start += len(deg2)
        mask[start:start + len(inv2)] = prot[np.asarray([m.v for m in inv2], dtype=np.int64)]
        return mask

    def relabel_move(self, move: HennebergMove | Stop, new_index: list[int]) -> HennebergMove | Stop:
        """The same move after the nodes are renumbered ``i -> new_index[i]``."""
        if isinstance(move, Stop):
            return move
        if isinstance(move, HennebergI):
            a, b = sorted((new_index[move.a], new_index[move.b]))
            return HennebergI(a, b)
        if isinstance(move, HennebergII):
            a, b = sorted((new_index[move.a], new_index[move.b]))
            return HennebergII(a, b, new_index[move.c])
        if isinstance(move, InverseI):
            return InverseI(new_index[move.v])
        a, b = sorted((new_index[move.a], new_index[move.b]))
        return InverseII(new_index[move.v], a, b)

    # ------------------------------------------------------------------ text form
    _CODES = {HennebergI: "HI", HennebergII: "HII", InverseI: "DI", InverseII: "DII"}
    _ARITY = {"HI": (HennebergI, 2), "HII": (HennebergII, 3), "DI": (InverseI, 1), "DII": (InverseII, 3)}
    _PATTERN = re.compile(r"^\s*([A-Za-z]+)((?:\s+[-+]?\d+)*)\s*$")

    def format_move(self, move: HennebergMove | Stop) -> str:
        """``HI a b``, ``HII a b c``, ``DI v``, ``DII v a b`` or ``STOP``."""
        if isinstance(move, Stop):
            return "STOP"
        code = self._CODES[type(move)]
        return " ".join([code, *(str(getattr(move, f)) for f in move.__dataclass_fields__)])

    def parse_move(self, text: str) -> HennebergMove | Stop:
        """Read a move written by :meth:`format_move`.

        Raises:
            ValueError: naming the text when it is malformed (unknown code, wrong number of
                nodes, pairs not in increasing order).
        """
        m = self._PATTERN.match(text)
        if m is None:
            raise ValueError(f"not a Henneberg move: {text!r} (expected e.g. 'HI 3 7', 'HII 3 7 12', 'DI 5', 'DII 5 2 9', 'STOP')")
        code, rest = m.group(1).upper(), [int(x) for x in m.group(2).split()]
        if code == "STOP" and not rest:
            return STOP
        if code not in self._ARITY:
            raise ValueError(f"unknown Henneberg move {m.group(1)!r} in {text!r}: use HI, HII, DI, DII or STOP")
        cls, arity = self._ARITY[code]
        if len(rest) != arity:
            raise ValueError(f"{code} takes {arity} node(s), got {len(rest)} in {text!r}")
        if min(rest) < 0:
            raise ValueError(f"negative node in {text!r}")
        move = cls(*rest)
        if isinstance(move, (HennebergI, HennebergII, InverseII)) and not move.a < move.b:
            raise ValueError(f"the pair in {text!r} must be increasing (a < b)")
        return move

    def format_state(self, state: LamanGraph) -> str:
        """graph6."""
        return to_graph6(state)

    def parse_state(self, text: str) -> LamanGraph:
        """The graph of a graph6 string.

        Raises:
            ValueError: naming what is wrong: malformed graph6, or not a Laman graph with at
                least 3 nodes.
        """
        try:
            graph = from_graph6(text)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not graph6: {exc}") from None
        problem = self.check_state(graph)
        if problem is not None:
            raise ValueError(f"{text!r} is not a Laman state: {problem}")
        return graph

    # ------------------------------------------------------------------ network view
    def featurise(self, state: LamanGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x float32 [n, 25], edge_index int64 [2, 2m], edge_attr float32 [2m, 1])``:
        one-hot ``min(degree, 15)``, ``sin``/``cos`` of ``degree * pi / 2**k`` (k = 1..4),
        ``n / 30``; each edge in both directions with attribute 1."""
        n, e = state.n, state.edges
        deg = state.degrees
        x = np.zeros((n, self.node_feature_dim), dtype=np.float32)
        x[np.arange(n), np.minimum(deg, _DEGREE_CLASSES - 1)] = 1.0
        angle = deg[:, None] * _FREQUENCIES[None, :]
        k = len(_FREQUENCIES)
        x[:, _DEGREE_CLASSES:_DEGREE_CLASSES + k] = np.sin(angle)
        x[:, _DEGREE_CLASSES + k:_DEGREE_CLASSES + 2 * k] = np.cos(angle)
        x[:, -1] = n / 30.0
        edge_index = np.stack([np.concatenate([e[:, 0], e[:, 1]]), np.concatenate([e[:, 1], e[:, 0]])])
        return x, edge_index.astype(np.int64), np.ones((2 * len(e), 1), dtype=np.float32)

    def encode_moves(self, state: LamanGraph) -> MoveEncoding:
        """Every legal move as a set candidate, in :meth:`legal_moves` order.

        Members (rows ``(set row, node)`` of ``set_members``, grouped by set) and roles:
        HI ``a``, ``b`` (0, 0); HII ``a``, ``b``, ``c`` (1, 1, 2); inverse I ``v`` (3); inverse II
        ``v``, ``a``, ``b`` (4, 5, 5). No atom or pair candidates.
        """
        n, e = state.n, state.edges
        m = len(e)
        ia, ib = np.triu_indices(n, 1)
        n_hi = len(ia)
        # HII: edge k with third node t-th of the nodes other than a, b
        t = np.broadcast_to(np.arange(n - 2, dtype=np.int64), (m, max(n - 2, 0)))
        ea, eb = e[:, :1], e[:, 1:]
        c = t + (t >= ea)
        c = c + (c >= eb)
        n_hii = c.size
        deg2, inv2 = self._deletions(state)
        n_d1, n_d2 = len(deg2), len(inv2)
        inv2_arr = np.array([(mv.v, mv.a, mv.b) for mv in inv2], dtype=np.int64).reshape(-1, 3)
        hii_nodes = np.stack([np.broadcast_to(ea, c.shape), np.broadcast_to(eb, c.shape), c], axis=2).reshape(-1, 3)
        nodes = np.concatenate([
            np.stack([ia, ib], axis=1).ravel(),
            hii_nodes.ravel(),
            np.asarray(deg2, dtype=np.int64),
            inv2_arr.ravel(),
        ]).astype(np.int64)
        rows = np.concatenate([
            np.repeat(np.arange(n_hi), 2),
            np.repeat(np.arange(n_hi, n_hi + n_hii), 3),
            np.arange(n_hi + n_hii, n_hi + n_hii + n_d1),
            np.repeat(np.arange(n_hi + n_hii + n_d1, n_hi + n_hii + n_d1 + n_d2), 3),
        ]).astype(np.int64)
        roles = np.concatenate([
            np.full(2 * n_hi, ROLE_HI),
            np.tile([ROLE_HII_EDGE, ROLE_HII_EDGE, ROLE_HII_THIRD], n_hii),
            np.full(n_d1, ROLE_INV_I),
            np.tile([ROLE_INV_II_NODE, ROLE_INV_II_EDGE, ROLE_INV_II_EDGE], n_d2),
        ]).astype(np.int64)
        return MoveEncoding(
            atom_blocks=np.zeros((0, 3), dtype=np.int64),
            pairs=np.zeros((0, 2), dtype=np.int64),
            pair_features=np.zeros((0, 0), dtype=np.float32),
            pair_blocks=np.zeros((0, 3), dtype=np.int64),
            set_members=np.stack([rows, nodes], axis=1),
            num_sets=n_hi + n_hii + n_d1 + n_d2,
            lists={},
            set_roles=roles,
        )

    def locate(self, state: LamanGraph, encoding: MoveEncoding, move: HennebergMove | Stop) -> tuple[int, int]:
        """``(KIND_SET, row)`` of a legal move, ``(KIND_STOP, 0)`` for STOP.

        Raises:
            KeyError: if ``move`` is not legal in ``state``.
        """
        if isinstance(move, Stop):
            return KIND_STOP, 0
        if not self.is_legal(state, move):
            raise KeyError(f"{self.format_move(move)} is not a legal move of {to_graph6(state)}")
        n = state.n
        n_hi = n * (n - 1) // 2
        if isinstance(move, HennebergI):
            a, b = move.a, move.b
            row = a * (n - 1) - a * (a - 1) // 2 + (b - a - 1)
        elif isinstance(move, HennebergII):
            a, b, c = move.a, move.b, move.c
            e = state.edges
            k = int(np.searchsorted(e[:, 0] * n + e[:, 1], a * n + b))
            row = n_hi + k * (n - 2) + c - (c > a) - (c > b)
        else:
            deg2, inv2 = self._deletions(state)
            base = n_hi + len(state.edges) * (n - 2)
            row = base + deg2.index(move.v) if isinstance(move, InverseI) else base + len(deg2) + inv2.index(move)
        if row >= encoding.num_sets:
            raise KeyError(f"{self.format_move(move)}: row {row} is outside the encoding ({encoding.num_sets} sets)")
        return KIND_SET, row

    def move_at(self, state: LamanGraph, encoding: MoveEncoding, kind: int, row: int) -> HennebergMove | Stop:
        """The move of candidate ``row`` of ``kind`` (inverse of :meth:`locate`).

        Raises:
            IndexError: for a row outside the encoding; ValueError for a kind other than
                stop or set.
        """
        if kind == KIND_STOP:
            return STOP
        if kind != KIND_SET:
            raise ValueError(f"the {self.name} move set has only stop and set candidates, not kind {kind}")
        if not 0 <= row < encoding.num_sets:
            raise IndexError(f"set row {row} out of range ({encoding.num_sets} sets)")
        n = state.n
        n_hi = n * (n - 1) // 2
        if row < n_hi:
            starts = np.arange(n) * (n - 1) - np.arange(n) * (np.arange(n) - 1) // 2
            a = int(np.searchsorted(starts, row, side="right")) - 1
            return HennebergI(a, int(row - starts[a] + a + 1))
        row -= n_hi
        n_hii = len(state.edges) * (n - 2)
        if row < n_hii:
            k, t = divmod(row, n - 2)
            a, b = state.edges[k].tolist()
            c = t + (t >= a)
            c += c >= b
            return HennebergII(a, b, int(c))
        row -= n_hii
        deg2, inv2 = self._deletions(state)
        return InverseI(deg2[row]) if row < len(deg2) else inv2[row - len(deg2)]
