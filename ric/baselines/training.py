"""Training of the CharRNN (``ric train --model charrnn``).

The run goes through the loop of the VAEs and GraphRNN
(:func:`ric.baselines.sequence_training.train_sequence_model`) and so has its conventions:
a frozen config stored as plain data in the checkpoint, atomic checkpoints loadable with
``weights_only=True``, ``metrics.csv`` written as it goes, ``--resume`` continuing
bit-for-bit, batches ordered by ``(seed, epoch)``, a CPU-time budget, and an error naming
the step on a non-finite loss. One Adam optimiser; gradients clipped
to norm ``clip_norm``. There is no learning-rate schedule (MOSES halves the rate every 10
of its 80 epochs).

``metrics.csv`` columns: ``loss`` (cross-entropy per token, the training objective), ``nll``
(``-log p(x)`` per molecule, nats) and ``valid_nll`` (the same on the validation molecules:
an exact negative log-likelihood, to set against the VAEs' ``-valid_elbo``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ric.baselines import MODEL_FAMILY
from ric.baselines.charrnn import CharRNN, CharRNNConfig
from ric.baselines.sequence_training import ModelFamily, load_model_checkpoint, train_sequence_model
from ric.config import PlainDataConfig
from ric.vae.tokens import TokenVocabulary

__all__ = ["CharRNNTrainConfig", "CharRNNTrainResult", "train_charrnn", "load_charrnn", "CHARRNN_FAMILY"]


@dataclass(frozen=True)
class CharRNNTrainConfig(PlainDataConfig):
    """Settings of a CharRNN training run (see ``ric train --help``).

    Attributes:
        data, out: training molecules and run directory.
        model: always ``"charrnn"``.
        valid: validation molecules (default ``None``: 5 % of ``data``, at most
            ``valid_examples``, held out).
        tokens: ``"smiles"`` (default) or ``"selfies"``.
        epochs: default 10.
        max_steps, time_budget: stop after that many steps / CPU seconds (default no limit).
        batch_size: molecules per step (default 64, as MOSES).
        lr: Adam learning rate (default 1e-3).
        seed: fixes the initialisation, the batch order and dropout (default 0).
        embedding: embedding size (default 0: the vocabulary size, as MOSES).
        hidden: LSTM hidden size (default 768).
        layers: LSTM layers (default 3).
        dropout: dropout between LSTM layers (default 0.2).
        clip_norm: gradient-norm clip (default 10, as the VAEs).
        log_every, valid_every, checkpoint_every: cadences in steps (default 20, 500, 200).
        valid_examples: most validation molecules (default 1000).
        device: ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """

    data: str
    out: str
    model: str = "charrnn"
    valid: str | None = None
    tokens: str = "smiles"
    epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    embedding: int = 0
    hidden: int = 768
    layers: int = 3
    dropout: float = 0.2
    clip_norm: float = 10.0
    log_every: int = 20
    valid_every: int = 500
    checkpoint_every: int = 200
    valid_examples: int = 1000
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.model != MODEL_FAMILY:
            raise ValueError(f"a CharRNN run has model {MODEL_FAMILY!r}, not {self.model!r}")

    def model_config(self, tokens: TokenVocabulary) -> CharRNNConfig:
        return CharRNNConfig(
            vocab_size=tokens.size, max_length=tokens.max_length, embedding=self.embedding, hidden=self.hidden,
            layers=self.layers, dropout=self.dropout,
        )  # fmt: skip


@dataclass
class CharRNNTrainResult:
    """Outcome of :func:`train_charrnn`: ``valid_nll`` is ``-log p(x)`` per validation molecule (nats)."""

    step: int
    checkpoint: Path | None
    valid_nll: float | None
    seconds: float
    cpu_seconds: float = 0.0


def _terms(model: CharRNN, x: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"nll": -model.log_likelihood(x)}


#: The CharRNN for :func:`~ric.baselines.sequence_training.train_sequence_model`.
CHARRNN_FAMILY = ModelFamily(
    name=MODEL_FAMILY, config_key="charrnn_config", train_config=CharRNNTrainConfig, build=CharRNN,
    train_columns=("loss", "nll"), valid_columns=("nll",), validate=_terms, title="CharRNN", model_config=CharRNNConfig,
)  # fmt: skip


def train_charrnn(
    config: CharRNNTrainConfig | None = None,
    *,
    resume: str | os.PathLike | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    overwrite: bool = False,
    relocate: dict[str, str | None] | None = None,
    epochs: int | None = None,
) -> CharRNNTrainResult:
    """Train a CharRNN, or continue an interrupted run
    (:func:`~ric.baselines.sequence_training.train_sequence_model` with :data:`CHARRNN_FAMILY`;
    the arguments are documented there)."""
    result = train_sequence_model(CHARRNN_FAMILY, config, resume=resume, max_steps=max_steps, time_budget=time_budget,
                                  progress=progress, overwrite=overwrite, relocate=relocate, epochs=epochs)  # fmt: skip
    return CharRNNTrainResult(result.step, result.checkpoint, result.valid["nll"], result.seconds, result.cpu_seconds)


def load_charrnn(path: str | os.PathLike, device: Any = "cpu",
                 payload: dict | None = None) -> tuple[CharRNN, TokenVocabulary, dict]:
    """A trained CharRNN, its token vocabulary and the checkpoint payload (model in eval mode):
    :func:`~ric.baselines.sequence_training.load_model_checkpoint` with :data:`CHARRNN_FAMILY`
    (arguments and errors documented there; ``path``: a checkpoint written by
    ``ric train --model charrnn``)."""
    model, payload = load_model_checkpoint(path, CHARRNN_FAMILY, device, payload)
    return model, TokenVocabulary.from_dict(payload["tokens"]), payload
