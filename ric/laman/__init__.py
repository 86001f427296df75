"""Laman graphs: the minimally rigid graphs of the plane, built by Henneberg moves.

* :mod:`ric.laman.graph`: :class:`~ric.laman.graph.LamanGraph` (the immutable state), graph6
  text and files, and the exact canonical form :func:`~ric.laman.graph.canonical_key`;
* :mod:`ric.laman.pebble`: the (2,3) pebble game (:func:`~ric.laman.pebble.is_laman`);
* :mod:`ric.laman.moves`: :class:`~ric.laman.moves.HennebergMoveSet`, the move set
  ``"laman"`` (Henneberg I and II and their inverses);
* :mod:`ric.laman.data`: the paper's random Laman graph generator and the bundled split.
"""
from __future__ import annotations

from ric.laman.graph import LamanGraph, canonical_key, from_graph6, read_graph6, to_graph6, write_graph6
from ric.laman.moves import HennebergI, HennebergII, HennebergMoveSet, InverseI, InverseII
from ric.laman.pebble import is_laman

__all__ = [
    "LamanGraph",
    "canonical_key",
    "from_graph6",
    "to_graph6",
    "read_graph6",
    "write_graph6",
    "is_laman",
    "HennebergMoveSet",
    "HennebergI",
    "HennebergII",
    "InverseI",
    "InverseII",
]
