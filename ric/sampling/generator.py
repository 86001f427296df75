"""The generator interface shared by every generator in ``ric``, and the chain generator.

A generator is anything with ``generate(number_samples) -> list[str]`` (the GuacaMol
distribution-learning contract, so GuacaMol can score it unchanged). ``ric``'s
generators also offer ``sample(n, *, seed, batch_size, progress)``, an iterator of
:class:`~ric.sampling.chain.Sample` with per-sample statistics.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

from ric.package_data import default_checkpoint
from ric.sampling.chain import ChainConfig, ChainSampler, NetworkScorer, Sample, UniformScorer

__all__ = ["Generator", "ChainGenerator", "DEFAULT_CHECKPOINT", "load_model", "find_starts", "chain_config"]

logger = logging.getLogger(__name__)

#: The bundled default model (fragment move set, trained on the bundled training set), package
#: data of ``ric`` found with :mod:`importlib.resources` (``ric/checkpoints/zinc_fragment.pt``).
DEFAULT_CHECKPOINT = default_checkpoint()


@runtime_checkable
class Generator(Protocol):
    """GuacaMol's distribution-learning generator contract."""

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` samples as text (SMILES for molecules)."""
        ...


def load_model(path: str | os.PathLike, device: Any = "cpu", payload: dict | None = None) -> tuple[Any, Any, dict]:
    """Load a trained reconstruction model.

    Args:
        path: a checkpoint written by ``ric train`` (or a slimmed copy).
        device: a torch device or spec (``"auto"``, ``"cpu"``, ``"cuda:N"``).
        payload: the checkpoint's contents when already loaded (default: read ``path``).

    Returns:
        ``(model, move_set, payload)``; the model is in eval mode on ``device``.

    Raises:
        ric.runtime.checkpoint.CheckpointError: unreadable or incompatible file.
    """
    import torch

    from ric.moves.registry import move_set_from_dict
    from ric.nn.model import ModelConfig, ReconstructionModel
    from ric.runtime.checkpoint import load_checkpoint
    from ric.runtime.device import resolve_device

    payload = load_checkpoint(path) if payload is None else payload
    if payload.get("model_family", "chain") != "chain":
        raise ValueError(
            f"{path} holds a {payload['model_family']} model, not a chain model: use ric.vae.generator.VAEGenerator"
        )
    move_set = move_set_from_dict(payload["move_set"])
    model = ReconstructionModel(ModelConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["model_state"])
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return model.to(dev).eval(), move_set, payload


def find_starts(
    texts: Sequence[str],
    move_set: Any,
    count: int,
    seed: int,
    scaffold: str | None = None,
    max_atoms: int | None = None,
) -> tuple[list[Any], list[frozenset[int]]]:
    """Up to ``count`` usable starting states in a seeded random order, with the nodes each
    chain must keep: the move set's domain's ``find_starts`` (for molecules
    :meth:`ric.molecules.domain.MoleculeDomain.find_starts`, which also handles a scaffold).

    Raises:
        ValueError: no usable start (the message says which condition none met).
    """
    from ric.moves.registry import domain_of

    return domain_of(move_set).find_starts(texts, move_set, count, seed, scaffold=scaffold, max_atoms=max_atoms)


def chain_config(payload: dict, **options: Any) -> ChainConfig:
    """The chain settings of a checkpoint: ``options`` (:class:`ChainConfig` fields), then
    the sampler settings recorded in it (``payload["sampler"]``, set when a model is
    released with the settings it was benchmarked with), then the training's corruption
    length for ``steps_mean``, then the defaults."""
    fields = set(ChainConfig.__dataclass_fields__)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise TypeError(f"not chain settings: {', '.join(unknown)}")
    settings = {k: v for k, v in (payload.get("sampler") or {}).items() if k in fields}
    settings.setdefault("steps_mean", payload.get("corruption", {}).get("steps_mean", 5.0))
    settings.update(options)
    return ChainConfig(**settings)


def _is_default(checkpoint: str | os.PathLike) -> bool:
    """Whether ``checkpoint`` is the bundled default model's file."""
    try:
        return DEFAULT_CHECKPOINT.exists() and os.path.samefile(checkpoint, DEFAULT_CHECKPOINT)
    except OSError:
        return False


def training_data(checkpoint: str | os.PathLike, payload: dict) -> str | os.PathLike:
    """The training data a checkpoint records, for starting its chains.

    Runs record their data as an absolute path with its SHA-256 (``payload["data_files"]``);
    older ones only as written on the command line (``train_config.data``), which may be
    relative to wherever training ran. The bundled default model's data is the bundled
    training set, and a model recording ``ric/data/bundled/<file>`` (a bundled model) reads
    that file from the package data.

    Raises:
        ValueError: the recorded file is not found; the message says to pass ``--init``.
    """
    from ric.data import bundled_dir, path_of
    from ric.files import file_sha256

    recorded = (payload.get("data_files") or {}).get("data") or {}
    data = recorded.get("path") or payload.get("train_config", {}).get("data")
    if _is_default(checkpoint):
        return path_of("bundled", "train")
    if not data:
        raise ValueError(f"{checkpoint} records no training data: give starting molecules with --init FILE")
    bundled = Path(data).parent.as_posix() == "ric/data/bundled" and not Path(data).is_file()
    if bundled and (bundled_dir() / Path(data).name).is_file():  # a bundled model's data: package data of ric
        data = str(bundled_dir() / Path(data).name)
    if not Path(data).is_file():
        relative = "" if Path(data).is_absolute() else f" (a path relative to where training ran, not found from {Path.cwd()})"
        raise ValueError(f"the training data recorded in {checkpoint}, {data}{relative}, is not available: "
                         f"give starting molecules with --init FILE")
    if recorded.get("sha256") and file_sha256(data) != recorded["sha256"]:
        logger.warning("%s has changed since %s was trained: its molecules are used as starts all the same", data, checkpoint)
    return data


class ChainGenerator:
    """Reversible-inductive-construction chains as a generator.

    Args:
        move_set: the move set.
        model: a trained network, or ``None`` for uniformly random legal moves (the
            corruption-only ablation).
        starts: starting states as text (SMILES, graph6).
        config: chain settings.
        batch_size: chains advanced together (default 64).
        seed: default seed of :meth:`generate` (default 0).
        scaffold: SMARTS/SMILES kept intact in every state (default none).
        processes: worker processes the chains are split over (default ``None``: 2 when the
            network runs on the CPU, else 1); see :meth:`ChainSampler.run`. The samples for
            a seed are fixed for a given number of processes (and batch size).
    """

    def __init__(
        self,
        move_set: Any,
        model: Any,
        starts: Sequence[str],
        config: ChainConfig = ChainConfig(),
        batch_size: int = 64,
        seed: int = 0,
        scaffold: str | None = None,
        processes: int | None = None,
    ) -> None:
        if processes is not None and processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self.move_set = move_set
        self.model = model
        self.starts = list(starts)
        self.config = config
        self.batch_size = batch_size
        self.seed = seed
        self.scaffold = scaffold
        self.processes = processes

    @property
    def num_processes(self) -> int:
        """Worker processes used: :attr:`processes`, or by default 2 for a network (or
        none) on the CPU and 1 for one on a GPU."""
        if self.processes is not None:
            return self.processes
        if self.model is None:
            return 2
        return 2 if all(p.device.type == "cpu" for p in self.model.parameters()) else 1

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike | None = None,
        *,
        init: str | os.PathLike | Sequence[str] | None = None,
        device: Any = "auto",
        uniform: bool = False,
        payload: dict | None = None,
        **options: Any,
    ) -> "ChainGenerator":
        """A generator from a ``ric train`` checkpoint (default: the bundled one).

        Args:
            path: checkpoint file (default :data:`DEFAULT_CHECKPOINT`).
            init: starting states: a file or a list of texts (default: the training
                file named in the checkpoint if it exists, else the bundled training set).
            device: where the network runs (default ``"auto"``).
            uniform: replace the network by uniformly random legal moves.
            payload: the checkpoint's contents when already loaded (default: read ``path``).
            options: ``batch_size``, ``seed``, ``scaffold``, ``processes`` and :class:`ChainConfig` fields;
                chain settings and ``batch_size`` (the number of chains) not given come from the
                checkpoint's recorded sampler settings (``payload["sampler"]``, if any), and
                ``steps_mean`` then from its training.
        """
        from ric.moves.registry import domain_of

        path = Path(path) if path is not None else DEFAULT_CHECKPOINT
        model, move_set, payload = load_model(path, device, payload)
        bundled = " (the bundled default model, package data of ric)" if _is_default(path) else ""
        logger.info("checkpoint: %s%s", path.resolve(), bundled)
        if init is None:
            init = training_data(path, payload)
        if isinstance(init, (str, os.PathLike)):
            starts = domain_of(move_set).read_texts(init)
            logger.info("starting %s: %s (%d)", domain_of(move_set).noun, Path(init).resolve(), len(starts))
        else:
            starts = list(init)
            logger.info("starting %s: %d given", domain_of(move_set).noun, len(starts))
        chain_fields = set(ChainConfig.__dataclass_fields__)
        chain_options = {k: v for k, v in options.items() if k in chain_fields}
        other = {k: v for k, v in options.items() if k not in chain_fields}
        recorded = payload.get("sampler") or {}
        if recorded:
            logger.info("sampler settings recorded in the checkpoint: %s (given options override them)",
                        ", ".join(f"{k}={v}" for k, v in sorted(recorded.items())))
        config = chain_config(payload, **chain_options)
        if recorded.get("batch_size") is not None:  # the number of chains it was benchmarked with
            other.setdefault("batch_size", int(recorded["batch_size"]))
        return cls(move_set, None if uniform else model, starts, config, **other)

    def _sampler(self, seed: int, batch_size: int) -> ChainSampler:
        initial, protected = find_starts(
            self.starts, self.move_set, batch_size, seed, self.scaffold, max_atoms=self.config.max_atoms
        )
        scorer = UniformScorer() if self.model is None else NetworkScorer(self.model)
        return ChainSampler(self.move_set, scorer, initial, self.config, protected)

    def sample(
        self, n: int, *, seed: int | None = None, batch_size: int | None = None, progress: bool = False
    ) -> Iterator[Sample]:
        """``n`` samples with their chain statistics, as an iterator.

        The chains are set up when this is called, so a problem with the starting
        molecules or the scaffold raises here, before the first sample is asked for.

        Args:
            n: number of samples.
            seed: fixes the output (default: the generator's seed).
            batch_size: chains run together (default: the generator's).
            progress: show a tqdm bar with molecules per second.

        Raises:
            ValueError: no usable starting molecule (see :func:`find_starts`).
        """
        seed = self.seed if seed is None else seed
        batch_size = batch_size or self.batch_size
        sampler = self._sampler(seed, batch_size) if n > 0 else None
        return self._samples(sampler, n, seed, batch_size, progress)

    def _samples(
        self, sampler: ChainSampler | None, n: int, seed: int, batch_size: int, progress: bool
    ) -> Iterator[Sample]:
        bar = None
        if progress:
            from tqdm import tqdm

            from ric.moves.registry import domain_of

            bar = tqdm(total=n, unit=domain_of(self.move_set).unit, desc="generating")
        produced = 0
        try:
            if sampler is None:
                return
            for sample in sampler.run(batch_size, seed, processes=self.num_processes):
                yield sample
                produced += 1
                if bar is not None:
                    bar.update(1)
                if produced >= n:
                    return
        finally:
            if bar is not None:
                bar.close()

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` samples as text: SMILES for molecules (GuacaMol's
        ``DistributionMatchingGenerator`` contract), graph6 for Laman graphs."""
        return [s.text for s in self.sample(number_samples)]
