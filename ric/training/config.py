"""Training configuration: a frozen dataclass stored in checkpoints as plain data."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ric.config import PlainDataConfig

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig(PlainDataConfig):
    """Everything ``ric train`` needs; defaults suit a laptop CPU.

    Attributes:
        data: training molecules (.smi/.csv/.sdf, optionally .gz).
        out: run directory (``checkpoint.pt``, ``metrics.csv``, ``config.json``).
        valid: held-out molecules; default: 5% of ``data`` (at most 2,000), drawn with ``seed``.
        move_set: a registered move set (:func:`ric.moves.move_set_names`: ``"fragment"``,
            ``"atom"``, ``"laman"``); default ``"fragment"``.
        vocab: fragment vocabulary file; default: built from ``data``.
        epochs: passes over the training molecules (default 10).
        max_steps: stop after this many optimiser steps in total (default: no limit).
        time_budget: stop once training has spent this many CPU seconds, counting this
            process and its corruption workers (:class:`ric.runtime.cpu_clock.CpuClock`;
            setup and data loading excluded; default: no limit).
        batch_size: molecules per step (default 64, per process under torchrun).
        lr: Adam learning rate (default 1e-3), reached after ``warmup_steps`` (default 100).
        decay_steps: if given, the learning rate then follows a half cosine from ``lr`` down
            to ``lr_final``, reached at this step and kept after it (default: constant).
        lr_final: the learning rate at ``decay_steps`` (default ``lr / 10``).
        init_weights: a chain checkpoint whose network weights start this run (fine-tuning);
            its move set (vocabulary) and network size are used, and the optimiser starts
            afresh (default: random initialisation).
        grad_clip: gradient-norm clip (default 10.0).
        hidden, depth: network size (default 128, 4).
        set_hidden: width of the set head's hidden layer (default ``None``: ``hidden``); a
            narrower one is much cheaper where states have thousands of set candidates
            (Laman graphs).
        steps_mean: mean corruption length (default 5.0).
        seed: seeds data order, corruption and initialisation (default 0).
        workers: DataLoader worker processes (default 2; 0 corrupts in the main process).
        log_every: steps between rows of ``metrics.csv`` (default 20).
        valid_every: steps between validations (default 500; also at the end).
        checkpoint_every: steps between checkpoints (default 200; also at the end).
        valid_examples: corrupted validation examples (default 2,000).
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"`` or ``"cuda[:N]"``.
        max_unusable: refuse to train when a larger fraction of a data file's records
            cannot be used (unparsable, or not usable with the move set, e.g. fragments
            outside the vocabulary); default 0.05. Set 1.0 to train on whatever is usable.
    """

    data: str
    out: str
    valid: str | None = None
    move_set: str = "fragment"
    vocab: str | None = None
    epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 100
    decay_steps: int | None = None
    lr_final: float | None = None
    init_weights: str | None = None
    grad_clip: float = 10.0
    hidden: int = 128
    depth: int = 4
    set_hidden: int | None = None
    steps_mean: float = 5.0
    seed: int = 0
    workers: int = 2
    log_every: int = 20
    valid_every: int = 500
    checkpoint_every: int = 200
    valid_examples: int = 2000
    device: str = "auto"
    max_unusable: float = 0.05

    strict_keys = True

    def __post_init__(self) -> None:
        from ric.moves.registry import move_set_names

        if self.move_set not in move_set_names():
            raise ValueError(f"move_set must be one of {', '.join(move_set_names())}, got {self.move_set!r}")
        for name in ("epochs", "batch_size", "log_every", "valid_every", "checkpoint_every", "valid_examples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError(f"max_steps must be >= 0, got {self.max_steps}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError(f"time_budget must be positive CPU seconds, got {self.time_budget}")
        if not 0 <= self.max_unusable <= 1:
            raise ValueError(f"max_unusable must be a fraction in [0, 1], got {self.max_unusable}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.decay_steps is not None and self.decay_steps <= self.warmup_steps:
            raise ValueError(f"decay_steps must be larger than warmup_steps ({self.warmup_steps}), "
                             f"got {self.decay_steps}")
        if self.lr_final is not None:
            if self.decay_steps is None:
                raise ValueError("lr_final needs decay_steps (the step at which it is reached)")
            if not 0 < self.lr_final <= self.lr:
                raise ValueError(f"lr_final must be in (0, lr = {self.lr}], got {self.lr_final}")

    def replace(self, **changes: Any) -> "TrainConfig":
        return replace(self, **changes)
