"""Undirected simple graphs as immutable states, graph6 text, and an exact canonical form.

* :class:`LamanGraph`: nodes ``0 .. n-1``, edges as a sorted int64 array ``[m, 2]`` with
  ``i < j`` in every row (rows in lexicographic order), neighbour sets and degrees computed
  on first use. The class does not require the graph to be Laman (parsers and generators
  use it for any simple graph); :func:`ric.laman.pebble.is_laman` decides that.
* :func:`to_graph6` / :func:`from_graph6`, :func:`read_graph6` / :func:`write_graph6`:
  the graph6 format of nauty (one graph a line, upper triangle column by column).
* :func:`canonical_key`: the graph6 string of a canonical relabelling, equal for two graphs
  exactly when they are isomorphic (colour refinement and individualisation-refinement,
  keeping the smallest certificate; see :func:`canonical_labelling`).
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "LamanGraph",
    "to_graph6",
    "from_graph6",
    "read_graph6",
    "write_graph6",
    "canonical_labelling",
    "canonical_key",
]

logger = logging.getLogger(__name__)


class LamanGraph:
    """An immutable undirected simple graph on nodes ``0 .. n-1`` (the Laman domain's state).

    Args:
        n: number of nodes (>= 0).
        edges: ``[m, 2]`` integer pairs in any order and orientation (default: none).

    Raises:
        ValueError: for a node out of range, a self-loop or a repeated edge.

    Attributes:
        n: number of nodes.
        edges: int64 ``[m, 2]``, read-only, ``edges[k, 0] < edges[k, 1]``, rows sorted.
    """

    __slots__ = ("n", "edges", "_neighbors", "_degrees", "_cache")

    def __init__(self, n: int, edges: Iterable[Sequence[int]] | np.ndarray = ()) -> None:
        n = int(n)
        if n < 0:
            raise ValueError(f"a graph cannot have {n} nodes")
        arr = np.asarray(list(edges) if not isinstance(edges, np.ndarray) else edges, dtype=np.int64)
        arr = arr.reshape(-1, 2)
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = arr[(arr < 0).any(1) | (arr >= n).any(1)][0].tolist()
            raise ValueError(f"edge {tuple(bad)} names a node outside 0..{n - 1}")
        if (arr[:, 0] == arr[:, 1]).any():
            bad = int(arr[arr[:, 0] == arr[:, 1]][0, 0])
            raise ValueError(f"self-loop at node {bad}")
        arr = np.sort(arr, axis=1)
        arr = arr[np.lexsort((arr[:, 1], arr[:, 0]))]
        if len(arr) > 1:
            same = (np.diff(arr, axis=0) == 0).all(1)
            if same.any():
                raise ValueError(f"edge {tuple(arr[np.flatnonzero(same)[0]].tolist())} is repeated")
        self._init(n, arr)

    def _init(self, n: int, edges: np.ndarray) -> None:
        edges.setflags(write=False)
        self.n = n
        self.edges = edges
        self._neighbors: tuple[frozenset[int], ...] | None = None
        self._degrees: np.ndarray | None = None
        #: Derived data of move sets (pebble-game orientation, legal deletions): never part
        #: of the graph's identity.
        self._cache: dict = {}

    @classmethod
    def _trusted(cls, n: int, edges: np.ndarray) -> "LamanGraph":
        """A graph from an already normalised edge array (``i < j``, sorted, no repeats)."""
        g = cls.__new__(cls)
        g._init(n, edges)
        return g

    @classmethod
    def from_edges(cls, n: int, edges: Iterable[Sequence[int]]) -> "LamanGraph":
        """Same as ``LamanGraph(n, edges)``."""
        return cls(n, edges)

    @classmethod
    def from_networkx(cls, graph) -> "LamanGraph":
        """A graph from a networkx graph; nodes are numbered in ``graph.nodes`` order.

        Raises:
            ValueError: for a directed graph, a multigraph or a self-loop.
        """
        if graph.is_directed() or graph.is_multigraph():
            raise ValueError("only undirected simple graphs can be states")
        index = {v: i for i, v in enumerate(graph.nodes)}
        return cls(len(index), [(index[u], index[v]) for u, v in graph.edges])

    def to_networkx(self):
        """A :class:`networkx.Graph` with nodes ``0 .. n-1``."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(self.edges.tolist())
        return g

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def neighbors(self) -> tuple[frozenset[int], ...]:
        """Neighbour set of every node."""
        if self._neighbors is None:
            adj: list[set[int]] = [set() for _ in range(self.n)]
            for i, j in self.edges.tolist():
                adj[i].add(j)
                adj[j].add(i)
            self._neighbors = tuple(frozenset(s) for s in adj)
        return self._neighbors

    @property
    def degrees(self) -> np.ndarray:
        """int64 ``[n]``, read-only."""
        if self._degrees is None:
            d = np.bincount(self.edges.ravel(), minlength=self.n).astype(np.int64)
            d.setflags(write=False)
            self._degrees = d
        return self._degrees

    def has_edge(self, i: int, j: int) -> bool:
        return 0 <= i < self.n and j in self.neighbors[i]

    def relabel(self, new_index: Sequence[int]) -> "LamanGraph":
        """The same graph with node ``i`` renamed ``new_index[i]`` (a permutation of ``0..n-1``)."""
        perm = np.asarray(new_index, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(self.n)):
            raise ValueError("new_index is not a permutation of the nodes")
        return LamanGraph(self.n, perm[self.edges])

    def __eq__(self, other: object) -> bool:
        """Equal labelled graphs (same ``n`` and edge set); see :func:`canonical_key` for isomorphism."""
        if not isinstance(other, LamanGraph):
            return NotImplemented
        return self.n == other.n and np.array_equal(self.edges, other.edges)

    def __hash__(self) -> int:
        return hash((self.n, self.edges.tobytes()))

    def __repr__(self) -> str:
        return f"LamanGraph(n={self.n}, m={len(self.edges)}, graph6={to_graph6(self)!r})"

    def __getstate__(self):
        return (self.n, self.edges)

    def __setstate__(self, state) -> None:
        n, edges = state
        self._init(n, np.array(edges, dtype=np.int64))


# ---------------------------------------------------------------------- graph6

def _upper_bits(n: int, edges: np.ndarray) -> np.ndarray:
    """uint8 ``[n(n-1)/2]``: the graph6 bit order, pair ``(i, j)``, ``i < j``, at ``j(j-1)/2 + i``."""
    bits = np.zeros(n * (n - 1) // 2, dtype=np.uint8)
    if len(edges):
        lo = np.minimum(edges[:, 0], edges[:, 1])
        hi = np.maximum(edges[:, 0], edges[:, 1])
        bits[hi * (hi - 1) // 2 + lo] = 1
    return bits


def _size_header(n: int) -> bytes:
    if n <= 62:
        return bytes([n + 63])
    if n <= 258047:
        return b"~" + bytes([((n >> s) & 63) + 63 for s in (12, 6, 0)])
    return b"~~" + bytes([((n >> s) & 63) + 63 for s in (30, 24, 18, 12, 6, 0)])


_SIX = np.array([32, 16, 8, 4, 2, 1], dtype=np.uint8)


def _graph6_of_bits(n: int, bits: np.ndarray) -> str:
    pad = (-len(bits)) % 6
    if pad:
        bits = np.concatenate([bits, np.zeros(pad, dtype=np.uint8)])
    body = (bits.reshape(-1, 6) @ _SIX + 63).astype(np.uint8).tobytes()
    return (_size_header(n) + body).decode("ascii")


def to_graph6(graph: LamanGraph) -> str:
    """The graph6 text of ``graph`` (no ``>>graph6<<`` header, no newline)."""
    return _graph6_of_bits(graph.n, _upper_bits(graph.n, graph.edges))


def from_graph6(text: str | bytes) -> LamanGraph:
    """The graph of one graph6 string (surrounding whitespace and a ``>>graph6<<`` header ignored).

    Raises:
        ValueError: naming what is wrong (characters outside ``?``..``~``, a wrong length,
            sparse6 or digraph6 input).
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    raw = raw.strip()
    if raw.startswith(b">>graph6<<"):
        raw = raw[len(b">>graph6<<"):]
    if not raw:
        raise ValueError("empty graph6 string")
    if raw[:1] == b":" or raw.startswith(b">>sparse6<<"):
        raise ValueError("sparse6 is not supported, only graph6")
    if raw[:1] == b"&" or raw.startswith(b">>digraph6<<"):
        raise ValueError("digraph6 is not supported, only graph6")
    data = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 63
    if (data < 0).any() or (data > 63).any():
        k = int(np.flatnonzero((data < 0) | (data > 63))[0])
        raise ValueError(f"character {chr(raw[k])!r} at position {k} is not a graph6 character")
    if data[0] < 63:
        n, body = int(data[0]), data[1:]
    elif len(data) >= 4 and data[1] < 63:
        n, body = int((data[1] << 12) | (data[2] << 6) | data[3]), data[4:]
    elif len(data) >= 8 and data[1] == 63:
        n = 0
        for x in data[2:8].tolist():
            n = (n << 6) | x
        body = data[8:]
    else:
        raise ValueError("truncated graph6 size header")
    pairs = n * (n - 1) // 2
    need = (pairs + 5) // 6
    if len(body) != need:
        raise ValueError(f"graph6 body of a {n}-node graph needs {need} characters, got {len(body)}")
    bits = ((body[:, None] >> np.arange(5, -1, -1)) & 1).ravel()[:pairs]
    pos = np.flatnonzero(bits)
    # invert pos = j(j-1)/2 + i
    j = ((1 + np.sqrt(1 + 8 * pos.astype(np.float64))) // 2).astype(np.int64)
    j -= (j * (j - 1) // 2 > pos).astype(np.int64)
    j += ((j + 1) * j // 2 <= pos).astype(np.int64)
    i = pos - j * (j - 1) // 2
    edges = np.stack([i, j], axis=1)
    return LamanGraph._trusted(n, edges[np.lexsort((edges[:, 1], edges[:, 0]))])


def read_graph6(path: str | os.PathLike, require_laman: bool = False) -> list[LamanGraph]:
    """The graphs of a graph6 file: one a line, blank lines skipped, an optional
    ``>>graph6<<`` header on the first line.

    Args:
        path: the file.
        require_laman: also reject graphs that are not Laman with at least 3 nodes
            (default ``False``).

    Raises:
        ValueError: ``"<path>, line <k>: <what> in '<line>'"`` for a malformed line.
    """
    from ric.laman.pebble import laman_violation

    graphs = []
    with open(path, "rb") as fh:
        for k, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            shown = text[:60].decode("ascii", "replace") + ("..." if len(text) > 60 else "")
            try:
                g = from_graph6(text)
            except ValueError as exc:
                raise ValueError(f"{path}, line {k}: {exc} in {shown!r}") from None
            if require_laman:
                problem = "has fewer than 3 nodes" if g.n < 3 else laman_violation(g.n, g.edges)
                if problem is not None:
                    raise ValueError(f"{path}, line {k}: not a Laman graph ({problem}) in {shown!r}")
            graphs.append(g)
    logger.debug("read %d graphs from %s", len(graphs), path)
    return graphs


def write_graph6(path: str | os.PathLike, graphs: Iterable[LamanGraph]) -> int:
    """Write ``graphs`` one graph6 line each (``\\n`` endings, no header); returns the count.

    The file is written to a temporary file and renamed (:func:`ric.files.atomic_write`).
    """
    from ric.files import atomic_write

    lines = [to_graph6(g) + "\n" for g in graphs]
    atomic_write(path, lambda fh: fh.write("".join(lines)))
    return len(lines)


# ---------------------------------------------------------------------- canonical form
#
# Individualisation-refinement: colours are dense ranks 0..k-1 (an ordered partition).
# Refinement replaces each colour by (old colour, sum over neighbours of h(colour)) with a
# fixed 31-bit mixing function h, ranked; every step depends only on isomorphism-invariant
# data, so the search tree of an isomorphic copy is the image of this one. A hash collision
# can only leave a cell unsplit (more search, never a wrong answer): the canonical form is
# the smallest certificate (the relabelled graph itself) over the explored leaves.

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_LOW40 = (1 << 40) - 1


def _mix(col: np.ndarray) -> np.ndarray:
    x = (col.astype(np.uint64) + np.uint64(1)) * _M1
    x ^= x >> np.uint64(31)
    x *= _M2
    return (x >> np.uint64(33)).astype(np.float64)  # < 2**31, exact in float64


def _refine(col: np.ndarray, k: int, src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, int, bytes]:
    """Refine colouring ``col`` (ranks, ``k`` colours) to a stable one; returns
    ``(col, k, trace)`` where ``trace`` is an isomorphism-invariant record of the splits."""
    trace = []
    while k < n:
        s = np.bincount(src, weights=_mix(col)[dst], minlength=n).astype(np.int64) & _LOW40
        key = (col << 40) | s
        uniq, inv = np.unique(key, return_inverse=True)
        if len(uniq) == k:
            break
        trace.append(uniq.tobytes())
        col, k = inv.astype(np.int64), len(uniq)
    return col, k, b"|".join(trace)


def canonical_labelling(graph: LamanGraph) -> np.ndarray:
    """A canonical labelling: int64 ``[n]``, ``lab[v]`` is node ``v``'s canonical position.

    ``graph.relabel(lab)`` is the same labelled graph for all graphs isomorphic to
    ``graph``. Search tree: a node is an ordered partition refined to stability; its
    children individualise each node of its first non-singleton cell. Each leaf (a
    discrete partition) has the key ``(trace of every node on its path, certificate)``,
    the certificate being the relabelled upper triangle; the leaf with the smallest key
    wins. Pruning, all exact: a node whose traces already exceed the best leaf's is cut;
    two leaves with equal certificates give an automorphism, and children in one orbit of
    the automorphisms that fix the node's individualised nodes are explored once (a child
    found equivalent to an explored sibling is left at once).
    """
    n = graph.n
    edges = graph.edges
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    col, k, _ = _refine(np.zeros(n, dtype=np.int64), 1 if n else 0, src, dst, n)
    if k == n:
        return col
    best: dict = {"key": None, "lab": None}
    autos: list[np.ndarray] = []
    path: list[int] = []  # individualised node at each depth
    levels: list[tuple[list[int], list[int]]] = []  # (cell, explored children) at each depth

    def same_orbit(depth: int, v: int, others: list[int]) -> bool:
        """Whether ``v`` is in the orbit of one of ``others`` under the found automorphisms
        that fix ``path[:depth]`` pointwise."""
        fixed = path[:depth]
        gens = [g for g in autos if all(g[p] == p for p in fixed)]
        if not gens or not others:
            return False
        orbit, frontier = {v}, [v]
        while frontier:
            x = frontier.pop()
            for g in gens:
                y = int(g[x])
                if y not in orbit:
                    orbit.add(y)
                    frontier.append(y)
        return any(u in orbit for u in others)

    def leaf(lab: np.ndarray, traces: list) -> int | None:
        """Record a leaf; returns the depth to go back to when it reveals an automorphism."""
        cert = np.packbits(_upper_bits(n, lab[edges])).tobytes()
        key = traces + [(1, cert)]
        if best["key"] is None or key < best["key"]:
            best["key"], best["lab"] = key, lab
            return None
        if key != best["key"]:
            return None
        inv_best = np.empty(n, dtype=np.int64)
        inv_best[best["lab"]] = np.arange(n)
        autos.append(inv_best[lab])  # maps this leaf's labelled graph onto the best one's
        for depth, (_, done) in enumerate(levels):
            if same_orbit(depth, path[depth], done):
                return depth
        return None

    def search(col: np.ndarray, k: int, traces: list, less: bool) -> int | None:
        depth = len(path)
        counts = np.bincount(col, minlength=k)
        c = int(np.flatnonzero(counts > 1)[0])
        cell = np.flatnonzero(col == c).tolist()
        done: list[int] = []
        levels.append((cell, done))
        base = col + (col > c) + (col == c)
        try:
            for v in cell:
                if same_orbit(depth, v, done):
                    continue
                child = base.copy()
                child[v] = c
                ccol, ck, trace = _refine(child, k + 1, src, dst, n)
                item = (0, trace)
                child_less = less
                if not less and best["key"] is not None:
                    if item > best["key"][depth]:
                        done.append(v)
                        continue
                    child_less = item < best["key"][depth]
                path.append(v)
                back = leaf(ccol, traces + [item]) if ck == n else search(ccol, ck, traces + [item], child_less)
                path.pop()
                if back is not None and back < depth:
                    return back
                done.append(v)
            return None
        finally:
            levels.pop()

    search(col, k, [], False)
    return best["lab"]


def canonical_key(graph: LamanGraph) -> str:
    """The graph6 string of the canonically relabelled graph: equal iff the graphs are isomorphic."""
    lab = canonical_labelling(graph)
    return _graph6_of_bits(graph.n, _upper_bits(graph.n, lab[graph.edges]))
