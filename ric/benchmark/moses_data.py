"""The MOSES data splits, read from the data files of the ``molsets`` package.

The MOSES benchmark (Polykovskiy et al., Front. Pharmacol. 2020) trains on its ``train``
split (1,584,663 molecules) and reports FCD, SNN, Frag and Scaf against both its ``test``
split (*Test*, 176,074 molecules) and its scaffold split ``test_scaffolds`` (*TestSF*,
176,226 molecules whose Bemis–Murcko scaffolds are absent from train). The splits ship
in the ``molsets`` wheel as ``moses/dataset/data/<split>.csv.gz`` (one ``SMILES``
column). The ``moses`` package itself no longer imports on current numpy/pandas/RDKit
and pins old versions of them, so it is installed without its dependencies
(:data:`INSTALL_HINT`) and only its data files are read here: the package is located
with :func:`importlib.util.find_spec`, which does not run its ``__init__``.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ric.data import DATASETS, DatasetNotInstalledError, load, path_of

__all__ = ["SPLITS", "REFERENCE_SPLITS", "INSTALL_HINT", "MosesDataUnavailable", "moses_data_dir", "read_split"]

logger = logging.getLogger(__name__)

#: The MOSES splits, by file name.
SPLITS = tuple(DATASETS["moses"].files)
#: The reference splits and their labels in the MOSES table.
REFERENCE_SPLITS = {"test": "Test", "test_scaffolds": "TestSF"}
#: How to get the splits.
INSTALL_HINT = "pip install --no-deps molsets"


class MosesDataUnavailable(ValueError):
    """The MOSES splits cannot be found (``molsets`` is not installed, or lacks its data)."""


def moses_data_dir() -> Path:
    """The folder holding ``train.csv.gz``, ``test.csv.gz`` and ``test_scaffolds.csv.gz``.

    Raises:
        MosesDataUnavailable: with a message naming the package to install.
    """
    try:
        folders = {path_of("moses", split).parent for split in SPLITS}
    except (DatasetNotInstalledError, FileNotFoundError) as exc:
        raise MosesDataUnavailable(
            f"the MOSES splits come with the molsets package ({exc}): install it with `{INSTALL_HINT}` "
            f"(ric reads only its data files; its own dependencies pin old versions)"
        ) from None
    return folders.pop()


def read_split(split: str) -> list[str]:
    """The SMILES of one MOSES split, in file order (:func:`ric.data.load`).

    Args:
        split: ``train``, ``test`` or ``test_scaffolds``.

    Raises:
        ValueError: an unknown split; :class:`MosesDataUnavailable` when the data are missing.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MOSES split {split!r}; choose from {', '.join(SPLITS)}")
    moses_data_dir()
    smiles = load("moses", split)
    logger.info("MOSES %s: %d molecules", split, len(smiles))
    return smiles
