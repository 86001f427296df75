"""Frozen-dataclass configurations stored in checkpoints as plain data."""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

__all__ = ["PlainDataConfig"]

C = TypeVar("C", bound="PlainDataConfig")


class PlainDataConfig:
    """Mixin for ``@dataclass(frozen=True)`` configurations: ``to_dict`` / ``from_dict``.

    ``from_dict`` rejects unknown keys when the class sets ``strict_keys = True`` (a typo in a
    hand-edited config should fail), and ignores them otherwise (checkpoints written by a
    newer ``ric`` with extra settings still load).
    """

    strict_keys = False

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain data (JSON- and checkpoint-safe)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """The configuration stored by :meth:`to_dict`."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - known
        if unknown and cls.strict_keys:
            raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
        return cls(**{k: v for k, v in data.items() if k in known})
