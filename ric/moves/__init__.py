"""Move sets: legal, reversible edits that keep every state valid.

* :mod:`ric.moves.protocol`: the domain-agnostic :class:`~ric.moves.protocol.MoveSet` protocol.
* :mod:`ric.moves.fragment`: the paper's fragment moves over a :mod:`ric.moves.vocab` vocabulary.
* :mod:`ric.moves.atom`: the vocabulary-free atom/bond moves.

Use :func:`make_move_set` to build one by name.
"""
from __future__ import annotations

from typing import Any

__all__ = ["make_move_set", "MOVE_SETS"]

MOVE_SETS = ("fragment", "atom")


def make_move_set(name: str, *, vocab: Any = None, config: Any = None):
    """Build a move set by name.

    Args:
        name: ``"fragment"`` (needs ``vocab``, a :class:`~ric.moves.vocab.Vocabulary`)
            or ``"atom"`` (optional ``config``, an :class:`~ric.moves.atom.AtomMoveSetConfig`).

    Raises:
        ValueError: for an unknown name or a fragment move set without a vocabulary.
    """
    if name == "fragment":
        from ric.moves.fragment import FragmentMoveSet

        if vocab is None:
            raise ValueError("the fragment move set needs a vocabulary")
        return FragmentMoveSet(vocab)
    if name == "atom":
        from ric.moves.atom import AtomMoveSet

        return AtomMoveSet(config)
    raise ValueError(f"unknown move set {name!r}; choose one of {', '.join(MOVE_SETS)}")
