"""The (2,3) pebble game (Jacobs & Hendrickson 1997; Lee & Streinu 2008).

Every node holds two pebbles. An edge is accepted (is *independent* of the accepted ones)
when four pebbles can be gathered on its two endpoints; one of them then covers the
edge, which is oriented away from the node whose pebble covers it. A pebble is moved to
a node ``u`` by finding, along out-edges from ``u``, a node with a free pebble and
reversing the path. A graph is Laman exactly when it has ``2n - 3`` edges and every edge
is accepted.

An *orientation* is a list of ``n`` lists: ``out[v]`` are the heads of the edges covered by
``v``'s pebbles (at most two), so ``v`` has ``2 - len(out[v])`` free pebbles. Any orientation
reached by the game is a valid game state of its edge set; the move set keeps one per
state and updates it along moves (:mod:`ric.laman.moves`). Plain Python lists: graphs of
tens of nodes are too small for numpy to pay off here.
"""
from __future__ import annotations

import logging
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "Orientation",
    "pebble_orientation",
    "is_laman",
    "is_independent",
    "laman_violation",
    "try_add_edge",
    "remove_node",
    "delete_and_renumber",
]

logger = logging.getLogger(__name__)

Orientation = list  # list[list[int]]: out-neighbours of every node


def _find_pebble(out: Orientation, u: int, held: int) -> bool:
    """Move one free pebble to ``u`` (which has fewer than two), not touching node ``held``.

    Depth-first search along out-edges from ``u`` for a node with a free pebble; the path is
    reversed so that the pebble ends on ``u``. Returns False when there is none.
    """
    parent = {u: u, held: held}
    stack = [u]
    while stack:
        x = stack.pop()
        for y in out[x]:
            if y in parent:
                continue
            parent[y] = x
            if len(out[y]) < 2:
                while y != u:  # y's free pebble covers x-y, freeing x's pebble, back to u
                    x = parent[y]
                    out[x].remove(y)
                    out[y].append(x)
                    y = x
                return True
            stack.append(y)
    return False


def _gather(out: Orientation, u: int, v: int) -> bool:
    """Gather two free pebbles on ``u`` and two on ``v``; False when impossible (edge ``uv``
    is then dependent). The orientation stays a valid game state either way."""
    while len(out[u]):
        if not _find_pebble(out, u, v):
            return False
    while len(out[v]):
        if not _find_pebble(out, v, u):
            return False
    return True


def try_add_edge(out: Orientation, u: int, v: int) -> bool:
    """Add edge ``u-v`` to the game state ``out`` (in place) if it is independent.

    Returns:
        True when the edge was accepted (now in ``out``), False when it is dependent
        (``out`` then holds the same edges, possibly reoriented).
    """
    if not _gather(out, u, v):
        return False
    out[u].append(v)
    return True


def pebble_orientation(n: int, edges: Iterable[Sequence[int]] | np.ndarray) -> Orientation | None:
    """A pebble-game orientation of the graph, or ``None`` when an edge is dependent.

    Args:
        n: number of nodes.
        edges: ``[m, 2]`` node pairs (no self-loops or repeats).
    """
    out: Orientation = [[] for _ in range(n)]
    pairs = edges.tolist() if isinstance(edges, np.ndarray) else edges
    for u, v in pairs:
        if not _gather(out, u, v):
            return None
        out[u].append(v)
    return out


def is_independent(n: int, edges: Iterable[Sequence[int]] | np.ndarray) -> bool:
    """Whether every set of ``k >= 2`` nodes spans at most ``2k - 3`` of the edges."""
    return pebble_orientation(n, edges) is not None


def is_laman(n: int, edges: Iterable[Sequence[int]] | np.ndarray) -> bool:
    """Whether the graph is Laman: ``2n - 3`` edges, independent (``n >= 2``), no self-loops
    or repeated edges."""
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if n < 2 or len(arr) != 2 * n - 3:
        return False
    if (arr[:, 0] == arr[:, 1]).any() or len({(min(a, b), max(a, b)) for a, b in arr.tolist()}) != len(arr):
        return False
    return pebble_orientation(n, arr) is not None


def laman_violation(n: int, edges: Iterable[Sequence[int]] | np.ndarray) -> str | None:
    """``None`` if the graph is Laman, else what is wrong: the edge count, or a set of
    ``k`` nodes spanning more than ``2k - 3`` edges (found by the failed pebble search).
    """
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if n < 2:
        return f"{n} node(s): a Laman graph has at least 2"
    if len(arr) != 2 * n - 3:
        return f"{len(arr)} edges, but a Laman graph on {n} nodes has 2n-3 = {2 * n - 3}"
    out: Orientation = [[] for _ in range(n)]
    for u, v in arr.tolist():
        if u == v:
            return f"self-loop at node {u}"
        if v in out[u] or u in out[v]:
            return f"edge {min(u, v)}-{max(u, v)} is repeated"
        if _gather(out, u, v):
            out[u].append(v)
            continue
        # Gather as many pebbles as possible on u and v (at most 3); then the nodes reachable
        # from u and v hold no other free pebble, so with u-v they span more than 2k - 3 edges.
        for a, b in ((u, v), (v, u), (u, v)):
            while len(out[a]) and _find_pebble(out, a, b):
                pass
        seen = {u, v}
        stack = [u, v]
        while stack:
            for y in out[stack.pop()]:
                if y not in seen:
                    seen.add(y)
                    stack.append(y)
        inside = np.isin(arr, sorted(seen)).all(1).sum()
        k = len(seen)
        nodes = ",".join(map(str, sorted(seen)))
        return f"the {k} nodes {{{nodes}}} span {inside} edges, more than 2k-3 = {2 * k - 3} (edge {u}-{v} is dependent)"
    return None


def remove_node(out: Orientation, v: int, neighbors: Iterable[int]) -> Orientation:
    """A copy of ``out`` without node ``v``'s edges (``v`` stays as an isolated index).

    Edges covered by ``v``'s pebbles vanish with them; an edge ``u -> v`` gives its pebble
    back to ``u``. The result is a valid game state of the graph minus ``v``.

    Args:
        out: orientation of the graph.
        v: the node.
        neighbors: ``v``'s neighbours.
    """
    new = [list(x) for x in out]
    new[v] = []
    for u in neighbors:
        if v in new[u]:
            new[u].remove(v)
    return new


def delete_and_renumber(out: Orientation, v: int) -> Orientation:
    """``out`` (with ``v`` already isolated) without index ``v``: higher indices shift down."""
    return [[y - (y > v) for y in heads] for x, heads in enumerate(out) if x != v]
