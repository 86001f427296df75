"""Corrupted examples as a map-style dataset, and an epoch-aware sampler.

Items are addressed by ``(epoch, index)`` so that each example's randomness comes from
``(seed, epoch, index)`` (:func:`ric.corruption.example_rng`) whatever worker builds it:
results do not depend on the number of workers, and persistent workers need no epoch
signal. Workers return :class:`~ric.nn.data.MoveData` (tensors only); no RDKit object
crosses a process boundary.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler

from ric.chem.graph import MolGraph
from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.nn.data import MoveData, make_data

__all__ = ["CorruptionDataset", "EpochSampler", "load_graphs"]

logger = logging.getLogger(__name__)


def load_graphs(path: str, move_set: Any | None = None, strict: bool = False,
                max_unusable: float = 1.0) -> list[MolGraph]:
    """Standardised molecules of a file, keeping those ``move_set`` can use.

    Unusable records (unparsable, or not usable with ``move_set``) are counted; the first
    few of each kind are logged with file and line, then one summary line.

    Args:
        path: molecule file.
        move_set: keep only molecules it can use (default: no such check).
        strict: raise on the first unusable record (default ``False``).
        max_unusable: raise when a larger fraction of the records is unusable
            (default 1.0: never).

    Raises:
        ValueError: no usable molecule, more than ``max_unusable`` unusable, or (strict)
            the first unusable record; the message names the file and what to do.
    """
    from ric.chem.io import ReadStats, read_molecules

    stats = ReadStats()
    graphs = []
    reason = f"not usable with the {move_set.name} move set" if move_set is not None else ""
    for record, _, graph in read_molecules(path, strict=strict, stats=stats):
        problem = move_set.check_state(graph) if move_set is not None else None
        if problem is not None:
            if strict:
                raise ValueError(f"{path}:{record.line}: {record.smiles}: {problem}")
            stats.add_unusable(reason, record, problem)
            continue
        graphs.append(graph)
    summary = stats.summary()
    (logger.warning if stats.total_skipped else logger.info)("%s", summary)
    if not graphs:
        raise ValueError(f"{summary}: no usable molecules")
    if stats.unusable_fraction > max_unusable:
        hint = ""
        if stats.skipped.get(reason) and getattr(move_set, "name", "") == "fragment":
            hint = f"; does the vocabulary fit this data? (build one with: ric vocab {path} -o vocab.txt)"
        raise ValueError(
            f"{stats.total_skipped} of {stats.seen} records of {path} ({stats.unusable_fraction:.1%}) cannot be "
            f"used, more than the {max_unusable:.0%} allowed{hint}; to train on the {len(graphs)} usable ones, "
            f"pass --max-unusable 1"
        )
    return graphs


class CorruptionDataset(Dataset):
    """Corrupted training examples of a list of molecules.

    Args:
        graphs: clean molecules.
        move_set: the move set (with ``encode_moves``/``locate``).
        config: corruption settings.
        seed: base seed.

    ``dataset[(epoch, index)]`` is example ``index`` of ``epoch``; ``dataset[index]`` means epoch 0.
    """

    def __init__(self, graphs: Sequence[MolGraph], move_set: Any, config: CorruptionConfig, seed: int) -> None:
        self.graphs = list(graphs)
        self.move_set = move_set
        self.config = config
        self.seed = seed

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, key: int | tuple[int, int]) -> MoveData:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        example = corrupt(self.move_set, self.graphs[index], example_rng(self.seed, epoch, index), self.config)
        return make_data(self.move_set, example.corrupted, example.reverse_move)


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` in a seeded random order, sharded across processes.

    Args:
        size: dataset length.
        seed: shuffling seed (the order of epoch ``e`` depends only on ``(seed, e)``).
        rank, world_size: this process's shard (default: the only one).

    Every rank gets the same number of items (the permutation is padded by wrapping
    around), as distributed data parallel requires. :meth:`set_epoch` selects the epoch
    and how many leading items of this rank's shard to skip (to resume mid-epoch).
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size = size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch = epoch
        self.skip = skip

    def shard_size(self) -> int:
        return -(-self.size // self.world_size)

    def __len__(self) -> int:
        return max(self.shard_size() - self.skip, 0)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=gen).tolist()
        total = self.shard_size() * self.world_size
        order = (order * (total // max(len(order), 1) + 1))[:total]
        shard = order[self.rank :: self.world_size]
        for index in shard[self.skip :]:
            yield self.epoch, index
