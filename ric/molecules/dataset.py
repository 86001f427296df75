"""Molecule files as training data: standardised, checked against a move set, cached.

:func:`load_graphs` reads a molecule file into a packed :class:`~ric.molecules.store.MolStore`
(no Python object per molecule is kept), dropping and counting the records a move set
cannot use; standardisation and the usability check are cached on disk, keyed by the
file's SHA-256 and the ``ric`` and RDKit versions (and the move set), so a second run on
ZINC250k starts in seconds.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ric.molecules.graph import MolGraph
from ric.molecules.store import MolStore, default_molecule_cache

__all__ = ["load_graphs"]

logger = logging.getLogger(__name__)


def load_graphs(path: str, move_set: Any | None = None, strict: bool = False,
                max_unusable: float = 1.0, cache_dir: str | os.PathLike | bool | None = None) -> MolStore:
    """Standardised molecules of a file, keeping those ``move_set`` can use.

    Unusable records (unparsable, or not usable with ``move_set``) are counted; the first
    few of each kind are logged with file and line, then one summary line.

    Standardising costs about 0.8 ms per molecule and the fragment move set's check as
    much again, minutes for ZINC250k, so both results are cached on disk, keyed by the
    file's SHA-256 and the ``ric`` and RDKit versions (and the move set): a second run on
    the same file starts in seconds.

    Args:
        path: molecule file.
        move_set: keep only molecules it can use (default: no such check).
        strict: raise on the first unusable record (default ``False``; never cached).
        max_unusable: raise when a larger fraction of the records is unusable
            (default 1.0: never).
        cache_dir: where the cache lives (default ``None``:
            :func:`~ric.molecules.store.default_molecule_cache`; ``False``: no cache).

    Returns:
        The usable molecules as a :class:`~ric.molecules.store.MolStore` (``lines`` holds each
        one's line in the file).

    Raises:
        ValueError: no usable molecule, more than ``max_unusable`` unusable, or (strict)
            the first unusable record; the message names the file and what to do.
    """
    from ric.molecules.io import MoleculeRecord, ReadStats, read_molecules

    cache = None if (cache_dir is False or strict) else Path(cache_dir or default_molecule_cache())
    key = _cache_key(path) if cache is not None else ""
    stats, store = ReadStats(), None
    if cache is not None:
        store = _read_cache(cache / f"{key}.npz", stats)
    if store is None:
        lines: list[int] = []

        def graphs() -> Iterator[MolGraph]:  # packed one by one: no Python object per molecule is kept
            for record, _, graph in read_molecules(path, strict=strict, stats=stats):
                lines.append(record.line)
                yield graph

        store = MolStore.from_graphs(graphs(), lines)
        if cache is not None:
            _write_cache(cache / f"{key}.npz", store.arrays(), stats=stats)
    else:
        logger.info("%s: %d standardised molecules from the cache %s", path, len(store), cache)
    stats.path = str(path)
    if move_set is not None:
        reason = f"not usable with the {move_set.name} move set"
        mask_file = cache / f"{key}-{_move_set_key(move_set)}.npz" if cache is not None else None
        usable = _read_mask(mask_file) if mask_file is not None else None
        if usable is None or len(usable) != len(store):
            usable = np.fromiter((move_set.check_state(g) is None for g in store), dtype=bool, count=len(store))
            if mask_file is not None:
                _write_cache(mask_file, {"usable": usable})
        for i in np.flatnonzero(~usable):
            graph = store[i]
            if strict:
                raise ValueError(f"{path}:{store.lines[i]}: {graph.smiles()}: {move_set.check_state(graph)}")
            shown = stats.skipped[reason] < stats.max_warnings  # the warned ones get their SMILES and problem
            record = MoleculeRecord(int(store.lines[i]), graph.smiles() if shown else "")
            stats.add_unusable(reason, record, move_set.check_state(graph) if shown else "")
        if not usable.all():
            store = store.subset(np.flatnonzero(usable))
    summary = stats.summary()
    (logger.warning if stats.total_skipped else logger.info)("%s", summary)
    if not len(store):
        raise ValueError(f"{summary}: no usable molecules")
    if stats.unusable_fraction > max_unusable:
        hint = ""
        if move_set is not None and stats.skipped.get(reason) and move_set.name == "fragment":
            hint = f"; does the vocabulary fit this data? (build one with: ric vocab {path} -o vocab.txt)"
        raise ValueError(
            f"{stats.total_skipped} of {stats.seen} records of {path} ({stats.unusable_fraction:.1%}) cannot be "
            f"used, more than the {max_unusable:.0%} allowed{hint}; to train on the {len(store)} usable ones, "
            f"pass --max-unusable 1"
        )
    return store


def _cache_key(path: str | os.PathLike) -> str:
    import rdkit

    import ric
    from ric.files import file_sha256

    return f"{Path(path).name}-{file_sha256(path)[:20]}-ric{ric.__version__}-rdkit{rdkit.__version__}"


def _move_set_key(move_set: Any) -> str:
    import hashlib

    from ric.moves.registry import move_set_to_dict

    text = json.dumps(move_set_to_dict(move_set), sort_keys=True)
    return f"{move_set.name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _write_cache(file: Path, arrays: dict[str, np.ndarray], stats: Any = None) -> None:
    """Write a cache file atomically; a cache that cannot be written is only a warning."""
    from ric.files import atomic_write

    payload = dict(arrays)
    if stats is not None:
        payload["stats"] = np.array(json.dumps({"seen": stats.seen, "read": stats.read,
                                                "skipped": dict(stats.skipped), "examples": stats.examples}))
    try:
        atomic_write(file, lambda fh: np.savez(fh, **payload), binary=True)
    except OSError as exc:
        logger.warning("could not cache molecules in %s (%s)", file, exc)


def _load_npz(file: Path) -> dict[str, np.ndarray] | None:
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("ignoring the unreadable cache file %s (%s)", file, exc)
        return None


def _read_cache(file: Path, stats: Any) -> MolStore | None:
    """The cached store (and its read statistics, into ``stats``), or None on a miss."""
    data = _load_npz(file)
    if data is None:
        return None
    try:
        store = MolStore.from_arrays(data)
        counts = json.loads(str(data["stats"]))
    except (KeyError, ValueError) as exc:
        logger.warning("ignoring the unreadable cache file %s (%s)", file, exc)
        return None
    stats.seen, stats.read = counts["seen"], counts["read"]
    stats.skipped.update(counts["skipped"])
    stats.examples.update(counts["examples"])
    return store


def _read_mask(file: Path) -> np.ndarray | None:
    data = _load_npz(file)
    return None if data is None or "usable" not in data else data["usable"].astype(bool)
