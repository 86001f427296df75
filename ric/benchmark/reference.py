"""Reference sets for benchmarking, and their statistics cached on disk.

A reference is a random draw of distinct valid molecules (canonical SMILES, stereo
removed) from a SMILES file, made with a recorded seed: never the first rows of a file
(the MOSES training file is ordered, and its first rows give a very different FCD).
Everything the metrics need from the reference (KL-divergence descriptors, ChemNet
activation statistics for FCD, MOSES fingerprints, fragments, scaffolds and properties)
is computed once and cached in an ``.npz`` file keyed by the drawn molecules (hence the
source, seed and n), the RDKit version and :data:`STATS_VERSION`, so a second run
against the same reference skips all of it. The KL-divergence descriptors are computed on
the first :data:`KL_REFERENCE_MAX` molecules of the draw (a random subset, as GuacaMol
draws 10,000), since their within-set nearest-neighbour similarity grows with the square
of the size; every other statistic uses the whole reference (the MOSES test sets have
176,000 molecules).

The canonical forms of a large training set (novelty against the 1.58 million MOSES
training molecules) are cached the same way by :func:`load_training_set`.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ric.metrics.distribution import canonical_or_none

__all__ = [
    "ReferenceStats",
    "draw_reference",
    "load_reference",
    "load_training_set",
    "default_cache_dir",
    "STATS_VERSION",
    "KL_REFERENCE_MAX",
]

logger = logging.getLogger(__name__)

#: Bump when the cached statistics change meaning; old cache files are then ignored.
STATS_VERSION = 2
#: Reference molecules the KL-divergence descriptors are computed on, at most.
KL_REFERENCE_MAX = 10000


def default_cache_dir() -> Path:
    """``$RIC_CACHE_DIR`` if set, else ``~/.cache/ric/reference``."""
    env = os.environ.get("RIC_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "ric" / "reference"


def draw_reference(smiles: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` distinct valid molecules drawn at random from ``smiles``.

    Candidates are visited in a seeded random order and kept if they are valid and new
    (canonical SMILES, stereo removed), so only about ``n`` strings are parsed even for a
    very large file.

    Args:
        smiles: candidate SMILES (e.g. a training file's lines).
        n: molecules wanted; fewer are returned (with a warning) if the input runs out.
        seed: fixes the draw.

    Returns:
        canonical SMILES, in draw order.
    """
    chosen: list[str] = []
    seen: set[str] = set()
    for i in np.random.default_rng(seed).permutation(len(smiles)):
        if len(chosen) >= n:
            break
        c = canonical_or_none(smiles[i])
        if c is not None and c not in seen:
            seen.add(c)
            chosen.append(c)
    if len(chosen) < n:
        logger.warning("reference: asked for %d molecules, the source has only %d distinct valid ones", n, len(chosen))
    return chosen


@dataclass
class ReferenceStats:
    """Everything the metric suite needs from a reference set.

    Attributes:
        smiles: the reference molecules (canonical, stereo removed).
        source: where they were drawn from (a path or dataset name).
        seed: the seed of the draw.
        kl: :func:`~ric.metrics.distribution.kl_descriptors` of the first
            :data:`KL_REFERENCE_MAX` molecules.
        fcd: :class:`~ric.metrics.fcd.GaussianStats` of their ChemNet activations.
        moses: :class:`~ric.metrics.moses.MosesReference`.
        rings: number of rings per molecule ``[n]`` (for plots).
    """

    smiles: list[str]
    source: str
    seed: int
    kl: dict[str, np.ndarray]
    fcd: Any
    moses: Any
    rings: np.ndarray

    @property
    def n(self) -> int:
        return len(self.smiles)

    @classmethod
    def compute(
        cls, smiles: Sequence[str], source: str, seed: int, *, device: Any = "cpu", progress: bool = False
    ) -> "ReferenceStats":
        """Compute the statistics of ``smiles`` (canonical, distinct, valid)."""
        from rdkit import Chem
        from rdkit.Chem import rdMolDescriptors

        from ric.metrics.distribution import kl_descriptors
        from ric.metrics.fcd import GaussianStats, chemnet_activations
        from ric.metrics.moses import MosesReference

        mols = [Chem.MolFromSmiles(s) for s in smiles]
        logger.info("reference statistics: %d molecules from %s (seed %d)", len(mols), source, seed)
        kl = kl_descriptors(mols[:KL_REFERENCE_MAX])
        moses = MosesReference.from_mols(mols)
        acts = chemnet_activations(list(smiles), device=device, progress=progress)
        rings = np.array([rdMolDescriptors.CalcNumRings(m) for m in mols], dtype=np.float64)
        return cls(list(smiles), source, seed, kl, GaussianStats.from_activations(acts), moses, rings)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Numpy arrays only (for ``np.savez``)."""
        state = {
            "smiles": np.array(self.smiles, dtype=str),
            "source": np.array(self.source),
            "seed": np.array(self.seed),
            "rings": self.rings,
            "version": np.array(STATS_VERSION),
        }
        state.update({f"kl/{k}": v for k, v in self.kl.items()})
        state.update({f"fcd/{k}": v for k, v in self.fcd.state_dict().items()})
        state.update({f"moses/{k}": v for k, v in self.moses.state_dict().items()})
        return state

    @classmethod
    def from_state_dict(cls, state: Any) -> "ReferenceStats":
        from ric.metrics.fcd import GaussianStats
        from ric.metrics.moses import MosesReference

        def group(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) + 1 :]: state[k] for k in state.keys() if k.startswith(prefix + "/")}

        return cls(
            smiles=[str(s) for s in state["smiles"]],
            source=str(state["source"]),
            seed=int(state["seed"]),
            kl={k: np.asarray(v) for k, v in group("kl").items()},
            fcd=GaussianStats.from_state_dict(group("fcd")),
            moses=MosesReference.from_state_dict(group("moses")),
            rings=np.asarray(state["rings"]),
        )


def _stem(source: str) -> str:
    """A file-name-safe short name of a source (``data/zinc_train.smi`` -> ``zinc_train``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", Path(source).name.split(".")[0]).strip("_") or "reference"


def _write_cache(path: Path, write: Any, binary: bool = True) -> None:
    """Write a cache file atomically; a cache that cannot be written is only a warning."""
    from ric.files import atomic_write

    try:
        atomic_write(path, write, binary=binary)
        logger.info("cached %s", path)
    except OSError as exc:
        logger.warning("could not write the cache file %s (%s); carrying on without it", path, exc)


def _cache_file(cache_dir: Path, smiles: Sequence[str], source: str, seed: int) -> Path:
    import rdkit

    digest = hashlib.sha256("\n".join(smiles).encode()).hexdigest()[:16]
    stem = _stem(source)
    return cache_dir / f"{stem}-seed{seed}-n{len(smiles)}-rdkit{rdkit.__version__}-v{STATS_VERSION}-{digest}.npz"


def load_reference(
    smiles: Sequence[str],
    *,
    n: int,
    seed: int,
    source: str,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    device: Any = "cpu",
    progress: bool = False,
) -> ReferenceStats:
    """Draw a reference from ``smiles`` and return its statistics, from the cache if present.

    Args:
        smiles: the source molecules (e.g. the training file's SMILES).
        n: reference size.
        seed: seed of the draw.
        source: name recorded in reports and in the cache file name.
        cache_dir: where statistics are cached (default :func:`default_cache_dir`).
        use_cache: read and write the cache (default ``True``).
        device: where ChemNet runs.
        progress: progress bars.
    """
    drawn = draw_reference(smiles, n, seed)
    if len(drawn) < 2:
        raise ValueError(f"the reference {source} has fewer than two valid molecules")
    path = _cache_file(Path(cache_dir) if cache_dir else default_cache_dir(), drawn, source, seed)
    if use_cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as state:
                stats = ReferenceStats.from_state_dict(state)
            if stats.smiles == drawn:
                logger.info("reference statistics from cache %s", path)
                return stats
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("ignoring unreadable reference cache %s (%s)", path, exc)
    stats = ReferenceStats.compute(drawn, source, seed, device=device, progress=progress)
    if use_cache:
        state = stats.state_dict()
        _write_cache(path, lambda fh: np.savez(fh, **state))
    return stats


def load_training_set(
    smiles: Sequence[str],
    *,
    source: str,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    min_cached: int = 100000,
) -> set[str]:
    """The canonical SMILES (stereo removed, invalid dropped) of a training set, for novelty.

    Canonicalising the 1.58 million MOSES training molecules takes minutes, so for a set
    of at least ``min_cached`` strings the result is cached as gzipped text in the
    reference cache, keyed by the strings, the RDKit version and :data:`STATS_VERSION`.

    Args:
        smiles: the training SMILES.
        source: name used in the cache file name (e.g. ``moses:train``).
        cache_dir: the cache (default :func:`default_cache_dir`).
        use_cache: read and write the cache (default ``True``).
        min_cached: smaller sets are canonicalised without the cache (default 100,000).
    """
    import rdkit

    if not use_cache or len(smiles) < min_cached:
        return {c for c in map(canonical_or_none, smiles) if c is not None}
    digest = hashlib.sha256("\n".join(smiles).encode()).hexdigest()[:16]
    name = f"{_stem(source)}-canonical-n{len(smiles)}-rdkit{rdkit.__version__}-v{STATS_VERSION}-{digest}.txt.gz"
    path = (Path(cache_dir) if cache_dir else default_cache_dir()) / name
    if path.exists():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                known = set(fh.read().split("\n"))
            known.discard("")
            logger.info("canonical training set from cache %s", path)
            return known
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            logger.warning("ignoring unreadable cache %s (%s)", path, exc)
    logger.info("canonicalising %d training molecules of %s (cached for later runs)", len(smiles), source)
    known = {c for c in map(canonical_or_none, smiles) if c is not None}
    text = "\n".join(sorted(known)).encode("utf-8")

    def write(fh: Any) -> None:
        with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
            gz.write(text)

    _write_cache(path, write)
    return known
