"""Sequence VAEs as generators, with the same interface as the chain generator.

Two samplers:

* ``ancestral``: ``z ~ p(z)``, ``x ~ p(x|z)``;
* ``gibbs``: the encoder-decoder chain ``z ~ q(z|x_t)``, ``x_{t+1} ~ p(x|z)`` started
  from training molecules (the chain of the ladder-VAE paper's Proposition 1, the VAE
  counterpart of ric's corrupt/reconstruct chain). The chain moves in token space, so a
  state may be an invalid SMILES; it is encoded all the same.

Samples are SMILES strings as decoded (invalid ones included, so validity stays a
meaningful metric); ``generate(n)`` follows GuacaMol's contract.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from ric.baselines.generator import GeneratedSample, stream_samples
from ric.vae.tokens import PAD, TokenVocabulary, UnknownTokenError

__all__ = ["VAEGenerator", "VAESample"]

logger = logging.getLogger(__name__)


@dataclass
class VAESample(GeneratedSample):
    """One sample: ``smiles`` as decoded, its ``chain`` and ``transition`` (ancestral: chain -1)."""

    smiles: str
    chain: int
    transition: int

    STATS = ("chain", "transition")


class VAEGenerator:
    """A trained sequence VAE as a generator.

    Args:
        model: the VAE (eval mode).
        tokens: its token vocabulary.
        sampler: ``"ancestral"`` (default) or ``"gibbs"``.
        starts: SMILES the Gibbs chains start from (needed for ``gibbs``).
        seed: default seed (default 0).
        batch_size: sequences decoded together (default 256).
        temperature: decoder softmax temperature (default 1).
    """

    def __init__(
        self,
        model: Any,
        tokens: TokenVocabulary,
        *,
        sampler: str = "ancestral",
        starts: Sequence[str] | None = None,
        seed: int = 0,
        batch_size: int = 256,
        temperature: float = 1.0,
    ) -> None:
        if sampler not in ("ancestral", "gibbs"):
            raise ValueError(f"unknown sampler {sampler!r}: use ancestral or gibbs")
        self.model = model.eval()
        self.tokens = tokens
        self.sampler = sampler
        self.starts = list(starts or [])
        if sampler == "gibbs" and not self.starts:
            raise ValueError("the Gibbs sampler needs starting molecules")
        self.seed = seed
        self.batch_size = batch_size
        self.temperature = temperature

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, *, device: Any = "auto", init: Sequence[str] | str | None = None,
        payload: dict | None = None, **options: Any,
    ) -> "VAEGenerator":
        """A generator from a VAE checkpoint written by ``ric train --model ...``.

        Args:
            path: the checkpoint.
            device: where the model runs.
            init: Gibbs starting molecules (a file or SMILES; default: the training file
                named in the checkpoint).
            payload: the checkpoint's contents when already loaded (default: read ``path``).
            options: ``sampler``, ``seed``, ``batch_size``, ``temperature``.
        """
        from pathlib import Path

        from ric.vae.training import load_vae, read_smiles

        model, tokens, payload = load_vae(path, device, payload)
        starts = None
        if options.get("sampler") == "gibbs":
            if init is None:
                init = payload.get("train_config", {}).get("data")
                if not init or not Path(init).exists():
                    raise ValueError("give starting molecules (--init) for the Gibbs sampler")
            starts = read_smiles(init) if isinstance(init, (str, os.PathLike)) else list(init)
        return cls(model, tokens, starts=starts, **options)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _decode_rows(self, ids: torch.Tensor) -> list[str]:
        return [self.tokens.decode(row) for row in ids.cpu().numpy()]

    def _encodable(self, smiles: Sequence[str]) -> list[str]:
        ok = []
        for s in smiles:
            try:
                self.tokens.encode(s)
                ok.append(s)
            except (UnknownTokenError, ValueError):
                continue
        return ok

    def sample(
        self, n: int, *, seed: int | None = None, batch_size: int | None = None, progress: bool = False
    ) -> Iterator[VAESample]:
        """Yield ``n`` samples (see the module docstring for the two samplers)."""
        seed = self.seed if seed is None else seed
        batch_size = batch_size or self.batch_size
        generator = torch.Generator(device=self.device).manual_seed(seed)
        if self.sampler == "ancestral":
            draws = self._ancestral(generator, batch_size)
        else:
            draws = self._gibbs(generator, batch_size, seed)
        return stream_samples(draws, n, progress=progress, desc=f"generating ({self.sampler})")

    def _ancestral(self, generator: torch.Generator, batch_size: int) -> Iterator[VAESample]:
        t = 0
        while True:
            ids = self.model.sample(batch_size, generator=generator, temperature=self.temperature)
            for s in self._decode_rows(ids):
                yield VAESample(s, -1, t)
                t += 1

    def _gibbs(self, generator: torch.Generator, batch_size: int, seed: int) -> Iterator[VAESample]:
        starts = self._encodable(self.starts)
        if not starts:
            raise ValueError("no starting molecule can be encoded with the model's tokens")
        picks = np.random.default_rng(seed).choice(len(starts), size=batch_size, replace=len(starts) < batch_size)
        x = torch.from_numpy(self.tokens.encode_batch([starts[i] for i in picks])).to(self.device)
        t = 0
        while True:
            with torch.no_grad():
                z = self.model.encode(x[:, : int((x != PAD).sum(1).max())], generator=generator)
                x = self.model.decode(z, temperature=self.temperature, generator=generator)
            t += 1
            for c, s in enumerate(self._decode_rows(x)):
                yield VAESample(s, c, t)

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` SMILES (GuacaMol's ``DistributionMatchingGenerator`` contract)."""
        return [s.smiles for s in self.sample(number_samples)]
