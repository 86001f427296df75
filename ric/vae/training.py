"""Training of the sequence VAEs (``ric train --model vae|hvae|vlae|iaf|nvae|lfvi|dim``).

A VAE run is :func:`ric.baselines.sequence_training.train_sequence_model` with
:data:`VAE_FAMILY` (the loop the CharRNN and GraphRNN train on too), and has its
conventions: a frozen config stored as plain data in the checkpoint, atomic checkpoints
loadable with ``weights_only=True``, ``metrics.csv`` written as it goes, ``--resume``
continuing bit-for-bit, batches ordered by ``(seed, epoch)``, one Adam optimiser per
parameter group of the model (:meth:`~ric.vae.base.SequenceVAE.parameter_groups`), an
error naming the step on a non-finite loss, and a CPU-time budget.
:class:`ModelFamily`, :class:`SequenceTrainResult`, :func:`train_sequence_model` and
:func:`read_smiles` are importable from here too.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ric.baselines.sequence_training import (
    ModelFamily,
    SequenceTrainResult,
    load_model_checkpoint,
    read_smiles,
    train_sequence_model,
)
from ric.config import PlainDataConfig
from ric.vae import build_model
from ric.vae.base import VAEConfig
from ric.vae.tokens import TokenVocabulary

__all__ = [
    "VAETrainConfig",
    "VAETrainResult",
    "train_vae",
    "load_vae",
    "read_smiles",
    "MODEL_FAMILY",
    "ModelFamily",
    "SequenceTrainResult",
    "train_sequence_model",
    "VAE_FAMILY",
]

#: ``payload["model_family"]`` of VAE checkpoints (chain checkpoints have none or "chain").
MODEL_FAMILY = "vae"


@dataclass(frozen=True)
class VAETrainConfig(PlainDataConfig):
    """Settings of a VAE training run (see ``ric train --help``)."""

    data: str
    out: str
    model: str = "vae"
    valid: str | None = None
    tokens: str = "smiles"
    epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    embedding: int = 64
    hidden: int = 256
    latent: int = 32
    groups: int = 1
    flow_steps: int = 4
    noise: int = 32
    word_dropout: float = 0.0
    kl_warmup_steps: int = 2000
    free_bits: float = 0.0
    clip_norm: float = 10.0
    log_every: int = 20
    valid_every: int = 500
    checkpoint_every: int = 200
    valid_examples: int = 1000
    device: str = "auto"
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def model_config(self, tokens: TokenVocabulary) -> VAEConfig:
        groups = self.groups if self.model in ("hvae", "vlae", "nvae") else 1
        if self.model in ("hvae", "vlae", "nvae") and self.groups < 2:
            groups = 3
        return VAEConfig(
            model=self.model, vocab_size=tokens.size, max_length=tokens.max_length, embedding=self.embedding,
            hidden=self.hidden, latent=self.latent, groups=groups, flow_steps=self.flow_steps, noise=self.noise,
            word_dropout=self.word_dropout, kl_warmup_steps=self.kl_warmup_steps, free_bits=self.free_bits,
            options=dict(self.options),
        )  # fmt: skip


@dataclass
class VAETrainResult:
    """Outcome of :func:`train_vae`."""

    step: int
    checkpoint: Path | None
    valid_elbo: float | None
    seconds: float
    cpu_seconds: float = 0.0


def _vae_terms(model: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out = model.elbo(x)
    return {"elbo": out.elbo, "kl": sum(out.kl.values())}


#: The sequence VAEs (:data:`~ric.vae.base.MODEL_NAMES`).
VAE_FAMILY = ModelFamily(
    name=MODEL_FAMILY, config_key="vae_config", train_config=VAETrainConfig, build=build_model,
    train_columns=("loss", "elbo", "kl"), valid_columns=("elbo", "kl"), validate=_vae_terms, title="VAE",
    model_config=VAEConfig,
)  # fmt: skip


def load_vae(path: str | os.PathLike, device: Any = "cpu", payload: dict | None = None) -> tuple[Any, TokenVocabulary, dict]:
    """A trained VAE, its token vocabulary and the checkpoint payload (model in eval mode).

    ``payload``: the checkpoint's contents when already loaded (default: read ``path``).

    Raises:
        ric.runtime.checkpoint.CheckpointError: unreadable file.
        ValueError: the checkpoint does not hold a VAE.
    """
    model, payload = load_model_checkpoint(path, VAE_FAMILY, device, payload)
    return model, TokenVocabulary.from_dict(payload["tokens"]), payload


def train_vae(
    config: VAETrainConfig | None = None,
    *,
    resume: str | os.PathLike | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    overwrite: bool = False,
    relocate: dict[str, str | None] | None = None,
    epochs: int | None = None,
) -> VAETrainResult:
    """Train a sequence VAE, or continue an interrupted run (:func:`train_sequence_model`
    with :data:`VAE_FAMILY`; the arguments are documented there)."""
    result = train_sequence_model(VAE_FAMILY, config, resume=resume, max_steps=max_steps, time_budget=time_budget,
                                  progress=progress, overwrite=overwrite, relocate=relocate, epochs=epochs)  # fmt: skip
    return VAETrainResult(result.step, result.checkpoint, result.valid["elbo"], result.seconds, result.cpu_seconds)
