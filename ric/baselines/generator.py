"""The CharRNN as a generator, with the interface of the chain and VAE generators.

Samples are strings as decoded (invalid ones included, so validity stays a meaningful
metric; a sequence cut at the maximum length decodes to the tokens it has);
``generate(n)`` follows GuacaMol's contract. Sequences are drawn ``batch_size`` at a time
from one random generator seeded with ``seed``, so a seed fixes the samples, and the first
``n`` of ``generate(m)`` are ``generate(n)`` for the same batch size.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch

from ric.baselines.charrnn import CharRNN
from ric.vae.tokens import EOS, PAD, TokenVocabulary

__all__ = ["CharRNNGenerator", "CharRNNSample"]

logger = logging.getLogger(__name__)


@dataclass
class CharRNNSample:
    """One sample: ``smiles`` as decoded, its ``index`` in the stream, its ``tokens`` (between
    BOS and EOS) and whether it was ``truncated`` at the maximum length (no EOS drawn)."""

    smiles: str
    index: int
    tokens: int
    truncated: bool

    @property
    def text(self) -> str:
        """:attr:`smiles` (every generator's samples have ``text``)."""
        return self.smiles

    STATS = ("index", "tokens", "truncated")

    def stats_row(self) -> list[str]:
        return [str(self.index), str(self.tokens), str(int(self.truncated))]


class CharRNNGenerator:
    """A trained CharRNN as a generator.

    Args:
        model: the CharRNN (put in eval mode).
        tokens: its token vocabulary.
        seed: default seed (default 0).
        batch_size: sequences drawn together (default 256).
        temperature: softmax temperature (default 1).
        max_length: longest sequence in tokens, BOS and EOS included (default ``None``: the
            model's, i.e. the longest training sequence).
    """

    def __init__(
        self,
        model: CharRNN,
        tokens: TokenVocabulary,
        *,
        seed: int = 0,
        batch_size: int = 256,
        temperature: float = 1.0,
        max_length: int | None = None,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, not {temperature}")
        if max_length is not None and max_length < 2:
            raise ValueError(f"max_length {max_length}: a sequence needs at least BOS and one token")
        self.model = model.eval()
        self.tokens = tokens
        self.seed = seed
        self.batch_size = batch_size
        self.temperature = temperature
        self.max_length = max_length

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, device: Any = "auto", payload: dict | None = None,
                        **options: Any) -> "CharRNNGenerator":
        """A generator from a checkpoint written by ``ric train --model charrnn``.

        Args:
            path: the checkpoint.
            device: where the model runs (default ``"auto"``).
            payload: the checkpoint's contents when already loaded (default: read ``path``).
            options: ``seed``, ``batch_size``, ``temperature``, ``max_length``.

        Raises:
            ValueError: the checkpoint does not hold a CharRNN.
        """
        from ric.baselines.training import load_charrnn

        model, tokens, payload = load_charrnn(path, device, payload)
        logger.debug("CharRNN from %s (step %s)", path, payload.get("step"))
        return cls(model, tokens, **options)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def sample(
        self, n: int, *, seed: int | None = None, batch_size: int | None = None, progress: bool = False
    ) -> Iterator[CharRNNSample]:
        """Yield ``n`` samples, drawn ``batch_size`` at a time with a generator seeded by ``seed``
        (default: the generator's ``seed`` and ``batch_size``)."""
        seed = self.seed if seed is None else seed
        batch_size = batch_size or self.batch_size
        generator = torch.Generator(device=self.device).manual_seed(seed)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n, unit="mol", desc="generating (charrnn)")
        try:
            produced = 0
            while produced < n:
                ids = self.model.sample(
                    batch_size, max_length=self.max_length, temperature=self.temperature, generator=generator
                ).cpu()
                for row in ids.numpy():
                    if produced >= n:
                        return
                    ended = bool((row == EOS).any())
                    length = int(((row != PAD) & (row != EOS)).sum()) - 1  # BOS not counted
                    yield CharRNNSample(self.tokens.decode(row), produced, length, not ended)
                    produced += 1
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` SMILES (GuacaMol's ``DistributionMatchingGenerator`` contract)."""
        return [s.smiles for s in self.sample(number_samples)]
