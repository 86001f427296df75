"""Move sets: legal, reversible edits that keep every state valid.

* :mod:`ric.moves.protocol`: the domain-agnostic :class:`~ric.moves.protocol.MoveSet` protocol.
* :mod:`ric.moves.fragment`: the paper's fragment moves over a :mod:`ric.moves.vocab` vocabulary.
* :mod:`ric.moves.atom`: the vocabulary-free atom/bond moves.

Use :func:`make_move_set` to build one by name.
"""
from __future__ import annotations

from typing import Any

__all__ = ["make_move_set", "move_set_to_dict", "move_set_from_dict", "MOVE_SETS"]

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


def move_set_to_dict(move_set: Any) -> dict[str, Any]:
    """A plain-data description of a move set (for checkpoints); see :func:`move_set_from_dict`."""
    if move_set.name == "fragment":
        return {"name": "fragment", "vocab": move_set.vocab.to_lines(), "vocab_hash": move_set.vocab.hash}
    if move_set.name == "atom":
        return {"name": "atom", "config": move_set.config.to_dict()}
    raise ValueError(f"cannot describe move set {move_set.name!r}")


def move_set_from_dict(data: dict[str, Any]):
    """Rebuild a move set from :func:`move_set_to_dict` output.

    Raises:
        ValueError: for an unknown move set, or a vocabulary whose hash does not match.
    """
    name = data.get("name")
    if name == "fragment":
        from ric.moves.vocab import Vocabulary

        vocab = Vocabulary.from_lines(data["vocab"], source="checkpoint vocabulary")
        if data.get("vocab_hash") and vocab.hash != data["vocab_hash"]:
            raise ValueError(
                f"vocabulary hash mismatch: stored {data['vocab_hash'][:12]}, rebuilt {vocab.hash[:12]}"
            )
        return make_move_set("fragment", vocab=vocab)
    if name == "atom":
        from ric.moves.atom import AtomMoveSetConfig

        return make_move_set("atom", config=AtomMoveSetConfig.from_dict(data.get("config", {})))
    raise ValueError(f"unknown move set {name!r}")
