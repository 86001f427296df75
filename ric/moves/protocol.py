"""The domain-agnostic move-set protocol of reversible inductive construction.

A move set defines, for any valid state, a finite set of legal edits that keep the
state valid, each with an exact inverse. Molecules implement it now
(:mod:`ric.moves.fragment`, :mod:`ric.moves.atom`); other domains (Laman graphs) can
implement the same protocol and reuse the corruption engine and sampler unchanged.

Conventions every implementation follows:

* states are immutable; :meth:`MoveSet.apply` returns a new state;
* ``inverse(state, move)`` is the move that, applied to ``apply(state, move)``, gives
  back ``state`` (equal :meth:`MoveSet.key`), and it is legal there; it is computed
  from what the edit adds or removes, never by search;
* the stop action is :data:`STOP`, which is not an edit and is not returned by
  :meth:`MoveSet.legal_moves`.
"""
from __future__ import annotations

from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

__all__ = ["MoveSet", "Stop", "STOP", "IllegalMoveError"]

State = TypeVar("State")
Move = TypeVar("Move")


class Stop:
    """The stop action: the reconstruction is finished. Use the singleton :data:`STOP`."""

    _instance: "Stop | None" = None

    def __new__(cls) -> "Stop":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STOP"

    def __reduce__(self):
        return (Stop, ())


STOP = Stop()


class IllegalMoveError(ValueError):
    """A move that is not legal in the state it was applied to."""


@runtime_checkable
class MoveSet(Protocol, Generic[State, Move]):
    """What a domain provides to the corruption engine and the sampler."""

    #: Short identifier, e.g. ``"fragment"`` or ``"atom"``.
    name: str

    def legal_moves(self, state: State) -> list[Move]:
        """Every legal edit of ``state`` (stop excluded), without duplicates."""
        ...

    def is_legal(self, state: State, move: Move) -> bool:
        """Whether ``move`` is legal in ``state`` (cheaper than enumerating all moves)."""
        ...

    def apply(self, state: State, move: Move) -> State:
        """The state after ``move``; raises :class:`IllegalMoveError` if it is not legal."""
        ...

    def inverse(self, state: State, move: Move) -> Move:
        """The move that undoes ``move`` applied to ``state``, in the result's indexing."""
        ...

    def key(self, state: State) -> str:
        """A canonical identity of the state (equal keys mean equal objects)."""
        ...

    def check_state(self, state: State) -> str | None:
        """``None`` if ``state`` is a valid state, else a short description of what is wrong."""
        ...

    def sample_corruption_move(self, state: State, rng: np.random.Generator) -> Move | None:
        """One draw from the fixed corruption step distribution, or ``None`` if no edit is legal."""
        ...

    def relabel_move(self, move: Move | Stop, new_index: list[int]) -> Move | Stop:
        """The same move after the state's atoms (nodes) are renumbered: ``i -> new_index[i]``."""
        ...

    def format_move(self, move: Move | Stop) -> str:
        """A one-line text form of a move, readable by :meth:`parse_move`."""
        ...

    def parse_move(self, text: str) -> Move | Stop:
        """Inverse of :meth:`format_move`."""
        ...
