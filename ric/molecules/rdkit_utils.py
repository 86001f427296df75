"""Small RDKit helpers shared across ``ric``."""
from __future__ import annotations

import contextlib
from typing import Iterator

from rdkit import rdBase

__all__ = ["quiet_rdkit"]


@contextlib.contextmanager
def quiet_rdkit() -> Iterator[None]:
    """Silence RDKit's log (warnings and errors) inside the block only.

    RDKit logging is restored when the block exits, so user code that relies on
    RDKit messages elsewhere keeps them.
    """
    blocker = rdBase.BlockLogs()
    try:
        yield
    finally:
        del blocker
