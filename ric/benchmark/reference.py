"""Reference sets for benchmarking, and their statistics cached on disk.

A reference is a random draw of distinct valid molecules (canonical SMILES, stereo
removed) from a SMILES file, made with a recorded seed: never the first rows of a file
(the MOSES training file is ordered, and its first rows give a very different FCD).
Everything the metrics need from the reference (KL-divergence descriptors, ChemNet
activation statistics for FCD, MOSES fingerprints, fragments, scaffolds and properties)
is computed once and cached in an ``.npz`` file keyed by the drawn molecules (hence the
source, seed and n), the RDKit version and :data:`STATS_VERSION`, so a second run
against the same reference skips all of it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ric.metrics.distribution import canonical_or_none

__all__ = ["ReferenceStats", "draw_reference", "load_reference", "default_cache_dir", "STATS_VERSION"]

logger = logging.getLogger(__name__)

#: Bump when the cached statistics change meaning; old cache files are then ignored.
STATS_VERSION = 1


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
        kl: :func:`~ric.metrics.distribution.kl_descriptors` of the molecules.
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
        kl = kl_descriptors(mols)
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


def _cache_file(cache_dir: Path, smiles: Sequence[str], source: str, seed: int) -> Path:
    import rdkit

    digest = hashlib.sha256("\n".join(smiles).encode()).hexdigest()[:16]
    stem = Path(source).name.split(".")[0] or "reference"
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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **stats.state_dict())
            os.replace(tmp, path)
            logger.info("cached reference statistics in %s", path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return stats
