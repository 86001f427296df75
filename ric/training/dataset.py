"""Corrupted examples as a map-style dataset, and an epoch-aware sampler.

Items are addressed by ``(epoch, index)`` so that each example's randomness comes from
``(seed, epoch, index)`` (:func:`ric.corruption.example_rng`) whatever worker builds it:
results do not depend on the number of workers, and persistent workers need no epoch
signal. Workers build whole batches (:func:`ric.nn.data.collate`, tensors only); no domain
object (RDKit molecule, graph) crosses a process boundary.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler

from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.nn.data import Example, make_example

__all__ = ["CorruptionDataset", "EpochSampler"]

logger = logging.getLogger(__name__)


class CorruptionDataset(Dataset):
    """Corrupted training examples of a sequence of clean states.

    Args:
        graphs: clean states (a list, or a domain's packed store such as
            :class:`~ric.molecules.store.MolStore`).
        move_set: the move set (with ``encode_moves``/``locate``).
        config: corruption settings.
        seed: base seed.

    ``dataset[(epoch, index)]`` is example ``index`` of ``epoch``; ``dataset[index]`` means epoch 0.
    """

    def __init__(self, graphs: Sequence[Any], move_set: Any, config: CorruptionConfig, seed: int) -> None:
        self.graphs = graphs if hasattr(graphs, "subset") else list(graphs)
        self.move_set = move_set
        self.config = config
        self.seed = seed

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, key: int | tuple[int, int]) -> Example:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        example = corrupt(self.move_set, self.graphs[index], example_rng(self.seed, epoch, index), self.config)
        return make_example(self.move_set, example.corrupted, example.reverse_move)


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
