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

import csv
import gzip
import importlib.util
import io
import logging
from pathlib import Path

__all__ = ["SPLITS", "REFERENCE_SPLITS", "INSTALL_HINT", "MosesDataUnavailable", "moses_data_dir", "read_split"]

logger = logging.getLogger(__name__)

#: The MOSES splits, by file name.
SPLITS = ("train", "test", "test_scaffolds")
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
        spec = importlib.util.find_spec("moses")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "dataset" / "data"
        if all((folder / f"{split}.csv.gz").is_file() for split in SPLITS):
            return folder
    where = f" (the moses package at {', '.join(locations)} has no dataset/data/*.csv.gz)" if locations else ""
    raise MosesDataUnavailable(
        f"the MOSES splits come with the molsets package, which is not installed{where}: "
        f"install it with `{INSTALL_HINT}` (ric reads only its data files; its own dependencies pin old versions)"
    )


def read_split(split: str) -> list[str]:
    """The SMILES of one MOSES split, in file order.

    Args:
        split: ``train``, ``test`` or ``test_scaffolds``.

    Raises:
        ValueError: an unknown split; :class:`MosesDataUnavailable` when the data are missing.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MOSES split {split!r}; choose from {', '.join(SPLITS)}")
    path = moses_data_dir() / f"{split}.csv.gz"
    with gzip.open(path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        header = next(reader, None)
        if header is None or "SMILES" not in header:
            raise ValueError(f"{path}: expected a SMILES column, found {header}")
        column = header.index("SMILES")
        smiles = [row[column] for row in reader if len(row) > column and row[column]]
    logger.info("MOSES %s: %d molecules from %s", split, len(smiles), path)
    return smiles
