"""Canonical labelling of small labelled graphs, computed by ``ric`` itself.

Fragment identities must not depend on the RDKit release (RDKit's canonical SMILES
changed for 15 of the 780 published JT-VAE vocabulary items), so fragments are keyed
by a certificate computed here: colour refinement (1-dimensional Weisfeiler-Lehman)
followed by an exhaustive individualisation-refinement search that keeps the
lexicographically smallest certificate. The search visits every leaf, which also gives
the full automorphism group; fragments are small ring systems and bonds (at most a few
dozen atoms), for which this is fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = ["CanonicalForm", "canonical_form"]


@dataclass(frozen=True)
class CanonicalForm:
    """Result of :func:`canonical_form`.

    Attributes:
        certificate: equal for two graphs exactly when they are isomorphic
            (labels and bond orders included).
        order: ``order[k]`` is the input index of the atom placed at canonical position ``k``.
        automorphisms: every label- and order-preserving permutation ``p`` of the input
            indices (atom ``i`` maps to ``p[i]``), identity included.
    """

    certificate: tuple
    order: tuple[int, ...]
    automorphisms: tuple[tuple[int, ...], ...]


def _rank(signatures: Sequence) -> list[int]:
    table = {s: r for r, s in enumerate(sorted(set(signatures)))}
    return [table[s] for s in signatures]


def _refine(colors: list[int], adj: list[list[tuple[int, int]]]) -> list[int]:
    num = len(set(colors))
    while True:
        sigs = [
            (colors[v], tuple(sorted((o, colors[u]) for u, o in adj[v])))
            for v in range(len(colors))
        ]
        new = _rank(sigs)
        new_num = len(set(new))
        if new_num == num:
            return new
        colors, num = new, new_num


def _leaves(colors: list[int], adj, out: list[list[int]]) -> None:
    n = len(colors)
    if len(set(colors)) == n:
        out.append(colors)
        return
    counts: dict[int, int] = {}
    for c in colors:
        counts[c] = counts.get(c, 0) + 1
    target = min(c for c, k in counts.items() if k > 1)
    cell = [v for v in range(n) if colors[v] == target]
    for v in cell:
        split = _rank([(colors[u], 0 if u == v else 1) for u in range(n)])
        _leaves(_refine(split, adj), adj, out)


def canonical_form(labels: Sequence, bonds: Sequence[tuple[int, int, int]]) -> CanonicalForm:
    """Canonical form of a graph with sortable atom labels and integer bond orders.

    Args:
        labels: one sortable label per atom (e.g. ``(atomic_num, charge)``).
        bonds: ``(i, j, order)`` triples.

    Returns:
        A :class:`CanonicalForm`.
    """
    n = len(labels)
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for i, j, o in bonds:
        adj[i].append((j, o))
        adj[j].append((i, o))
    start = _refine(_rank(list(labels)), adj)
    leaves: list[list[int]] = []
    _leaves(start, adj, leaves)

    best_cert = None
    certs = []
    for colors in leaves:
        order = sorted(range(n), key=colors.__getitem__)
        cert = (
            tuple(labels[v] for v in order),
            tuple(sorted((min(colors[i], colors[j]), max(colors[i], colors[j]), o) for i, j, o in bonds)),
        )
        certs.append((cert, order))
        if best_cert is None or cert < best_cert:
            best_cert = cert
    best_orders = [order for cert, order in certs if cert == best_cert]
    ref = best_orders[0]
    autos = set()
    for order in best_orders:
        perm = [0] * n
        for k in range(n):
            perm[ref[k]] = order[k]
        autos.add(tuple(perm))
    return CanonicalForm(best_cert, tuple(ref), tuple(sorted(autos)))
