"""The domain-agnostic move-set protocol of reversible inductive construction.

A move set defines, for any valid state, a finite set of legal edits that keep the
state valid, each with an exact inverse, and the network's view of states and moves.
The core (corruption, network, training, sampler) talks to a domain only through this
protocol: molecules (:mod:`ric.molecules.fragment`, :mod:`ric.molecules.atom`) and Laman graphs
(:mod:`ric.laman`) implement it, and :mod:`ric.moves.registry` builds them by name.

Conventions every implementation follows:

* states are immutable; :meth:`MoveSet.apply` returns a new state;
* ``inverse(state, move)`` is the move that, applied to ``apply(state, move)``, gives
  back ``state`` (equal :meth:`MoveSet.key`), and it is legal there; it is computed
  from what the edit adds or removes, never by search;
* the stop action is :data:`STOP`, which is not an edit and is not returned by
  :meth:`MoveSet.legal_moves`;
* states have nodes ``0 .. size - 1`` (atoms, graph vertices); an edit keeps the relative
  order of the nodes it does not delete and appends the nodes it adds, so
  :meth:`MoveSet.removed_nodes` is all a caller needs to follow a node across a move;
* the network's candidates of a state are ``[stop, atom..., pair..., set...]``
  (:class:`~ric.moves.encoding.MoveEncoding`); set candidates carry a role per member,
  so moves over the same nodes in different roles are different inputs.
"""
from __future__ import annotations

from typing import Any, Generic, Hashable, Protocol, TypeVar, runtime_checkable

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

    def quick_key(self, state: State) -> Hashable:
        """A cheap invariant of :meth:`key`: states with equal keys have equal quick keys
        (the converse need not hold). The sampler's revisit check compares keys only
        where quick keys collide."""
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

    # ------------------------------------------------------------------ states
    #: The domain's name, e.g. ``"molecules"`` or ``"laman"``.
    domain: str

    def size(self, state: State) -> int:
        """Number of nodes of ``state`` (heavy atoms, graph vertices)."""
        ...

    def is_valid(self, state: State) -> bool:
        """The domain's validity check of a state reached by a legal move (cheaper than
        :meth:`check_state`; the sampler calls it on every result)."""
        ...

    def removed_nodes(self, state: State, move: Move) -> tuple[int, ...]:
        """Nodes of ``state`` that ``move`` deletes (``()`` for moves that delete none)."""
        ...

    def preserves(self, state: State, move: Move, protected: frozenset[int]) -> bool:
        """Whether ``move`` keeps every node in ``protected`` and their connections."""
        ...

    def forbidden_mask(self, state: State, encoding: Any, protected: frozenset[int]) -> np.ndarray:
        """bool ``[1 + encoding.num_moves]`` over the candidates ``[stop, atom..., pair...,
        set...]``: True where the move would not preserve ``protected``."""
        ...

    def format_state(self, state: State) -> str:
        """One-line text form of a state (SMILES, graph6), readable by :meth:`parse_state`."""
        ...

    def parse_state(self, text: str) -> State:
        """A state from its text form; raises ``ValueError`` naming what is wrong."""
        ...

    # ------------------------------------------------------------------ network view
    #: Sizes of :meth:`featurise`'s node and edge features.
    node_feature_dim: int
    edge_feature_dim: int
    #: Classes of atom and pair candidates, pair feature size, pair orientation, and the
    #: number of member roles of set candidates (see :class:`~ric.moves.encoding.MoveEncoding`).
    num_atom_classes: int
    num_pair_classes: int
    pair_feature_dim: int
    pairs_directed: bool
    num_set_roles: int

    def featurise(self, state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x float32 [N, node_feature_dim], edge_index int64 [2, E], edge_attr float32
        [E, edge_feature_dim])``, each undirected edge listed in both directions."""
        ...

    def encode_moves(self, state: State) -> Any:
        """Every legal move of ``state`` as a :class:`~ric.moves.encoding.MoveEncoding`."""
        ...

    def locate(self, state: State, encoding: Any, move: Move | Stop) -> tuple[int, int]:
        """``(kind, row)`` of a legal move among ``encoding``'s candidates; raises ``KeyError``
        if it is not there."""
        ...

    def move_at(self, state: State, encoding: Any, kind: int, row: int) -> Move | Stop:
        """The move of candidate ``row`` of ``kind`` (inverse of :meth:`locate`)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Plain data that rebuilds this move set (``"name"`` included); see
        :func:`ric.moves.registry.move_set_from_dict`."""
        ...
