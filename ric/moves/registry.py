"""Move sets and domains by name.

The core never imports a domain: it looks move sets and domains up here, and the entry
names the class to import only when it is first needed. A domain (molecules, Laman
graphs) registers its move sets with :func:`register_move_set` and itself with
:func:`register_domain`; the built-in ones are listed below. The CLI's ``--move-set``
choices are :func:`move_set_names`.

A **domain** object provides what the core needs beyond one state's moves:

* ``name`` (``"molecules"``), ``state_format`` (``"SMILES"``) and ``file_suffix`` (``".smi"``);
* ``build_move_set(name, *, data=None, vocab=None, max_unusable=1.0)``: a move set for
  training on the file ``data`` (the fragment move set builds its vocabulary from it
  unless ``vocab`` names one);
* ``load_states(path, move_set=None, *, strict=False, max_unusable=1.0, cache_dir=None)``:
  the valid states of a file that ``move_set`` can use, as a sequence; unusable records
  are counted and logged with file and line, and a ``ValueError`` names the file when
  none is usable.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MoveSetEntry",
    "register_move_set",
    "register_domain",
    "move_set_names",
    "move_set_entry",
    "move_set_class",
    "get_domain",
    "domain_of",
    "move_set_to_dict",
    "move_set_from_dict",
]


@dataclass(frozen=True)
class MoveSetEntry:
    """A registered move set.

    Attributes:
        name: the move set's name (``--move-set``, checkpoints).
        domain: the name of its domain.
        target: ``"module:Class"`` of the move-set class, imported on first use; the class
            has ``from_dict(data)`` (the inverse of its ``to_dict()``).
        summary: one line for ``--help``.
    """

    name: str
    domain: str
    target: str
    summary: str = ""


_MOVE_SETS: dict[str, MoveSetEntry] = {}
_DOMAINS: dict[str, str] = {}
_LOADED: dict[str, Any] = {}


def _load(target: str) -> Any:
    if target not in _LOADED:
        module, _, attr = target.partition(":")
        _LOADED[target] = getattr(importlib.import_module(module), attr)
    return _LOADED[target]


def register_move_set(entry: MoveSetEntry) -> None:
    """Add (or replace) a move set."""
    _MOVE_SETS[entry.name] = entry


def register_domain(name: str, target: str) -> None:
    """Add (or replace) a domain: ``target`` is ``"module:object"`` of its domain object."""
    _DOMAINS[name] = target


def move_set_names() -> tuple[str, ...]:
    """Names of the registered move sets, in registration order."""
    return tuple(_MOVE_SETS)


def move_set_entry(name: str) -> MoveSetEntry:
    """The entry of move set ``name``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    entry = _MOVE_SETS.get(name)
    if entry is None:
        raise ValueError(f"unknown move set {name!r}; choose one of {', '.join(_MOVE_SETS)}")
    return entry


def move_set_class(name: str) -> type:
    """The class of move set ``name`` (imported now)."""
    return _load(move_set_entry(name).target)


def get_domain(name: str) -> Any:
    """The domain object called ``name``.

    Raises:
        ValueError: for an unknown domain.
    """
    target = _DOMAINS.get(name)
    if target is None:
        raise ValueError(f"unknown domain {name!r}; choose one of {', '.join(_DOMAINS)}")
    return _load(target)


def domain_of(move_set: Any) -> Any:
    """The domain object of a move set, or of a move-set name."""
    name = move_set if isinstance(move_set, str) else move_set.name
    return get_domain(move_set_entry(name).domain)


def move_set_to_dict(move_set: Any) -> dict[str, Any]:
    """Plain data describing ``move_set`` (for checkpoints): its ``to_dict()``."""
    data = dict(move_set.to_dict())
    data.setdefault("name", move_set.name)
    return data


def move_set_from_dict(data: dict[str, Any]) -> Any:
    """Rebuild a move set from :func:`move_set_to_dict` output.

    Raises:
        ValueError: for a missing or unknown name, or data the move set rejects.
    """
    name = data.get("name") if isinstance(data, dict) else None
    if not name:
        raise ValueError("the move-set description has no name")
    return move_set_class(name).from_dict(data)


register_domain("molecules", "ric.molecules.domain:MOLECULES")
register_domain("laman", "ric.laman.domain:LAMAN")
register_move_set(MoveSetEntry("fragment", "molecules", "ric.molecules.fragment:FragmentMoveSet",
                               "the paper's fragment moves over a vocabulary"))
register_move_set(MoveSetEntry("atom", "molecules", "ric.molecules.atom:AtomMoveSet",
                               "vocabulary-free atom and bond moves"))
register_move_set(MoveSetEntry("laman", "laman", "ric.laman.moves:HennebergMoveSet",
                               "Henneberg moves on Laman graphs"))
