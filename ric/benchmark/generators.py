"""The generators ``ric benchmark`` can score, all behind ``generate(n) -> list[str]``.

* ``training-set``: :class:`TrainingSetGenerator`, resampling the training molecules
  (the upper bound on KL/FCD, zero novelty);
* ``corruption-only``: the chain with uniformly random legal moves instead of the network.
  Uniform moves almost never draw stop (one stop among thousands of insertions), so each
  reconstruction is capped at the length of its corruption and transitions producing a
  molecule larger than the largest training molecule are rejected; without these the
  molecules grow without bound;
* ``ric``: the reversible-inductive-construction chain from a checkpoint (given a VAE or
  CharRNN checkpoint, that model instead, named as a checkpoint file is);
* a checkpoint file (``path/to/checkpoint.pt``): a chain, VAE or CharRNN model (``ric train``),
  sampled with its default sampler;
* ``package.module:factory``: anything importable whose factory returns an object with
  ``generate(n)``;
* a SMILES file of samples produced elsewhere (:class:`SamplesFile`).
"""
from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "TrainingSetGenerator",
    "SamplesFile",
    "GeneratorSpec",
    "make_generator",
    "iterate_samples",
    "checkpoint_family",
]

logger = logging.getLogger(__name__)


class TrainingSetGenerator:
    """Draws training molecules at random: the ``training-set`` baseline.

    Without replacement while the training set lasts (GuacaMol's random sampler), then
    with replacement.

    Args:
        smiles: the training molecules.
        seed: fixes the draw (default 0).
    """

    def __init__(self, smiles: Sequence[str], seed: int = 0) -> None:
        if not smiles:
            raise ValueError("the training-set baseline needs training molecules")
        self.smiles = list(smiles)
        self.seed = seed

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` training SMILES."""
        rng = np.random.default_rng(self.seed)
        replace = number_samples > len(self.smiles)
        picks = rng.choice(len(self.smiles), size=number_samples, replace=replace)
        return [self.smiles[i] for i in picks]


class SamplesFile:
    """SMILES produced elsewhere, read as written (invalid strings stay, and count as invalid).

    The first whitespace-separated field of each non-empty line is the SMILES; a header
    line ``smiles`` (any case) is skipped. ``generate(n)`` returns the first ``n``.

    Args:
        path: the file (``.smi``/``.txt``, optionally gzipped).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"samples file {self.path} does not exist")

    def read(self) -> list[str]:
        """All the file's SMILES strings."""
        import gzip

        opener = gzip.open if self.path.suffix == ".gz" else open
        out = []
        with opener(self.path, "rt") as fh:
            for line in fh:
                fields = line.split()
                if not fields or (not out and fields[0].lower() == "smiles"):
                    continue
                out.append(fields[0])
        return out

    def generate(self, number_samples: int) -> list[str]:
        """The first ``number_samples`` strings (fewer if the file is shorter; logged)."""
        smiles = self.read()
        if len(smiles) < number_samples:
            logger.warning("%s holds %d samples, fewer than the %d asked for", self.path, len(smiles), number_samples)
        return smiles[:number_samples]


@dataclass(frozen=True)
class GeneratorSpec:
    """What to benchmark: ``kind`` is ``ric``, ``corruption-only``, ``training-set``,
    ``samples`` or ``import``; ``target`` a checkpoint, file or ``module:factory``."""

    name: str
    kind: str
    target: str | None = None

    @classmethod
    def _checkpoint(cls, path: str) -> "GeneratorSpec":
        """A checkpoint file, named after its run directory (or its file name)."""
        p = Path(path)
        return cls(p.parent.name if p.name == "checkpoint.pt" and p.parent.name else p.stem, "checkpoint", path)

    @classmethod
    def parse(cls, text: str, checkpoint: str | None = None) -> "GeneratorSpec":
        """A spec from a ``--generator`` value (``checkpoint``: the ``--checkpoint`` of ``ric`` and
        ``corruption-only``, default the bundled model).

        Raises:
            ValueError: an unknown generator, a missing checkpoint file, or ``corruption-only``
                with a checkpoint that holds no chain model.
        """
        if text in ("ric", "corruption-only"):
            family = checkpoint_family(checkpoint) if checkpoint is not None else "chain"
            if family != "chain":
                if text == "corruption-only":
                    raise ValueError(f"--generator corruption-only draws a chain model's legal moves; {checkpoint} "
                                     f"holds a {family} model")
                return cls._checkpoint(checkpoint)  # the sequence model itself, named after its run
            return cls(text, text, checkpoint)
        if text == "training-set":
            return cls(text, text)
        if text.endswith(".pt"):
            from pathlib import Path

            path = Path(text)
            if not path.is_file():
                raise ValueError(f"--generator {text}: no such checkpoint file")
            return cls._checkpoint(text)
        if ":" in text:
            module, _, attr = text.partition(":")
            if not module or not attr:
                raise ValueError(f"--generator {text!r}: expected package.module:factory")
            return cls(text, "import", text)
        raise ValueError(
            f"unknown generator {text!r}: use ric, corruption-only, training-set, a checkpoint.pt "
            "or package.module:factory"
        )


def checkpoint_family(path: str | os.PathLike) -> str:
    """``payload["model_family"]`` of a ``ric train`` checkpoint: ``"chain"``, ``"vae"`` or ``"charrnn"``.

    Raises:
        ric.runtime.checkpoint.CheckpointError: the file is missing or unreadable.
    """
    from ric.runtime.checkpoint import load_checkpoint

    return str(load_checkpoint(path).get("model_family", "chain"))


def _largest(smiles: Sequence[str]) -> int:
    """Heavy atoms of the largest valid molecule in ``smiles``."""
    from rdkit import Chem

    from ric.molecules.rdkit_utils import quiet_rdkit

    with quiet_rdkit():
        sizes = [m.GetNumAtoms() for m in map(Chem.MolFromSmiles, smiles) if m is not None]
    return max(sizes, default=1)


def make_generator(spec: GeneratorSpec, *, train: Sequence[str], seed: int, device: Any = "auto") -> Any:
    """Instantiate the generator a spec names.

    Args:
        spec: the generator.
        train: training SMILES (for the training-set baseline and as chain starts).
        seed: seed of every random generator.
        device: where networks run.
    """
    if spec.kind == "training-set":
        return TrainingSetGenerator(train, seed)
    if spec.kind == "samples":
        return SamplesFile(spec.target)
    if spec.kind in ("ric", "corruption-only"):
        from ric.sampling.generator import ChainGenerator

        options: dict[str, Any] = {}
        if spec.kind == "corruption-only":
            options = {"uniform": True, "match_corruption": True, "max_atoms": _largest(train)}
        return ChainGenerator.from_checkpoint(spec.target, init=list(train), device=device, seed=seed, **options)
    if spec.kind == "checkpoint":
        family = checkpoint_family(spec.target)
        if family == "vae":
            from ric.vae.generator import VAEGenerator

            return VAEGenerator.from_checkpoint(spec.target, device=device, seed=seed)
        if family == "charrnn":
            from ric.baselines.generator import CharRNNGenerator

            return CharRNNGenerator.from_checkpoint(spec.target, device=device, seed=seed)
        from ric.sampling.generator import ChainGenerator

        return ChainGenerator.from_checkpoint(spec.target, init=list(train), device=device, seed=seed)
    if spec.kind == "import":
        module_name, _, attr = spec.target.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"--generator {spec.target}: cannot import it ({exc})") from exc
        generator = factory()
        if not callable(getattr(generator, "generate", None)):
            raise ValueError(f"--generator {spec.target}: the factory's result has no generate(n) method")
        return generator
    raise ValueError(f"unknown generator kind {spec.kind!r}")


def iterate_samples(generator: Any, n: int, *, seed: int, progress: bool = False) -> Iterator[str]:
    """Yield ``n`` SMILES from ``generator``, one at a time when it can stream them.

    ``ric``'s own generators (chain, VAE) stream through ``sample`` (with a progress
    bar); anything else is asked for ``generate(n)`` once.
    """
    if type(generator).__module__.startswith("ric.") and callable(getattr(generator, "sample", None)):
        for sample in generator.sample(n, seed=seed, progress=progress):
            yield sample.text
        return
    smiles = generator.generate(n)
    if not isinstance(smiles, (list, tuple)):
        smiles = list(smiles)
    for s in smiles:
        yield s if isinstance(s, str) else ""
