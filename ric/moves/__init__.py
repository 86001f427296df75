"""The domain-agnostic core of move sets: the protocol, the array encoding of candidates,
and the registry that builds move sets and domains by name.

* :mod:`ric.moves.protocol`: the :class:`~ric.moves.protocol.MoveSet` protocol.
* :mod:`ric.moves.encoding`: :class:`~ric.moves.encoding.MoveEncoding`, the network's view
  of a state's legal moves.
* :mod:`ric.moves.registry`: move sets and domains by name (molecules:
  :mod:`ric.molecules.fragment`, :mod:`ric.molecules.atom`; Laman graphs: :mod:`ric.laman`).
"""
from __future__ import annotations

from typing import Any

from ric.moves.registry import move_set_class, move_set_from_dict, move_set_names, move_set_to_dict

__all__ = ["make_move_set", "move_set_to_dict", "move_set_from_dict", "move_set_names"]


def make_move_set(name: str, **options: Any):
    """Build a move set by name.

    Args:
        name: a registered move set (:func:`move_set_names`): ``"fragment"`` (needs
            ``vocab=``, a :class:`~ric.molecules.vocab.Vocabulary`), ``"atom"`` (optional
            ``config=``, an :class:`~ric.molecules.atom.AtomMoveSetConfig`), ``"laman"``.
        options: keyword arguments of the move set's class; ``None`` values are left out.

    Raises:
        ValueError: for an unknown name or missing options.
    """
    return move_set_class(name)(**{k: v for k, v in options.items() if v is not None})
