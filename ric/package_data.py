"""Files shipped inside the ``ric`` package: the default checkpoint and the bundled data.

They are package data (``ric/checkpoints/``, ``ric/data/bundled/``), found with
:mod:`importlib.resources` in whatever copy of ``ric`` is imported (a wheel install, an
sdist install or an editable clone), never by a path relative to the source tree.

This module imports only the standard library, so ``ric --version`` stays instant.
"""
from __future__ import annotations

import atexit
import contextlib
import importlib.resources
from pathlib import Path

__all__ = ["DEFAULT_CHECKPOINT_NAME", "BUNDLED_DATA_DIR", "resource", "resource_path", "default_checkpoint"]

#: File name of the default model of ``ric generate`` inside ``ric/checkpoints/``.
DEFAULT_CHECKPOINT_NAME = "zinc_fragment.pt"

#: Folder of the bundled data, relative to the ``ric`` package.
BUNDLED_DATA_DIR = ("data", "bundled")

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def resource(*parts: str) -> importlib.resources.abc.Traversable:
    """The package resource ``ric/<parts...>`` (it may not exist)."""
    ref = importlib.resources.files("ric")
    for part in parts:
        ref = ref / part
    return ref


def resource_path(*parts: str) -> Path:
    """A real file-system path of the package resource ``ric/<parts...>``.

    For a package on disk (the usual case) this is the file inside the package directory;
    for a package imported from a zip archive the file is extracted to a temporary file
    that lives until the interpreter exits (:func:`importlib.resources.as_file`).
    """
    ref = resource(*parts)
    if isinstance(ref, Path):
        return ref
    if not ref.is_file():  # as_file of a missing zip member would fail with a less useful error
        return Path(str(ref))
    return _extracted.enter_context(importlib.resources.as_file(ref))


def default_checkpoint() -> Path:
    """Path of the bundled default model (``ric/checkpoints/zinc_fragment.pt``)."""
    return resource_path("checkpoints", DEFAULT_CHECKPOINT_NAME)
