"""The CharRNN as a generator, with the interface of the chain and VAE generators.

Samples are strings as decoded (invalid ones included, so validity stays a meaningful
metric; a sequence cut at the maximum length decodes to the tokens it has);
``generate(n)`` follows GuacaMol's contract. Sequences are drawn ``batch_size`` at a time
from one random generator seeded with ``seed``, so a seed fixes the samples, and the first
``n`` of ``generate(m)`` are ``generate(n)`` for the same batch size.

The module also holds what the generators of the sequence models share:
:class:`GeneratedSample` (``text`` and ``--with-stats`` columns of a sample),
:func:`stream_samples` (the first ``n`` samples of a stream, with a progress bar) and
:class:`SequenceGenerator`, the base of the CharRNN and GraphRNN generators.
"""
from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator, TypeVar

import torch

from ric.baselines.charrnn import CharRNN
from ric.baselines.sequence_training import ModelFamily, load_model_checkpoint
from ric.baselines.training import CHARRNN_FAMILY
from ric.vae.tokens import EOS, PAD, TokenVocabulary

__all__ = ["CharRNNGenerator", "CharRNNSample", "GeneratedSample", "SequenceGenerator", "stream_samples"]

logger = logging.getLogger(__name__)

S = TypeVar("S")


class GeneratedSample:
    """Mixin of the sample dataclasses of the sequence-model generators (CharRNN, GraphRNN, VAEs):
    ``text``, the field named by ``TEXT``, and ``stats_row()``, the fields named by ``STATS``
    as ``--with-stats`` columns (booleans as 0/1)."""

    TEXT: ClassVar[str] = "smiles"
    STATS: ClassVar[tuple[str, ...]] = ()

    @property
    def text(self) -> str:
        """The sample as text (every generator's samples have ``text``)."""
        return getattr(self, self.TEXT)

    def stats_row(self) -> list[str]:
        return [str(int(v)) if isinstance(v, bool) else str(v) for v in (getattr(self, k) for k in self.STATS)]


def stream_samples(samples: Iterable[S], n: int, *, progress: bool = False, desc: str = "generating",
                   unit: str = "mol") -> Iterator[S]:
    """The first ``n`` of ``samples`` (drawn lazily; no more are drawn), with a tqdm progress
    bar when ``progress``."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, unit=unit, desc=desc)
    try:
        for sample in itertools.islice(samples, n):
            yield sample
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


class SequenceGenerator:
    """Base of the generators of autoregressive baselines (CharRNN, GraphRNN): a trained model of
    ``family`` whose samples are drawn ``batch_size`` at a time by :meth:`_draw`.

    Args:
        model: the model (put in eval mode).
        seed: default seed (default 0).
        batch_size: samples drawn together (default 256).
        temperature: softmax temperature, > 0 (default 1).
    """

    #: The model family of the checkpoints :meth:`from_checkpoint` reads.
    family: ClassVar[ModelFamily]
    #: Unit of the progress bar.
    unit: ClassVar[str] = "mol"

    def __init__(self, model: Any, *, seed: int = 0, batch_size: int = 256, temperature: float = 1.0) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, not {temperature}")
        self.model = model.eval()
        self.seed = seed
        self.batch_size = batch_size
        self.temperature = temperature

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, *, device: Any = "auto", payload: dict | None = None,
                        **options: Any) -> Any:
        """A generator from a checkpoint of the class's model family (written by ``ric train --model NAME``).

        Args:
            path: the checkpoint.
            device: where the model runs (default ``"auto"``).
            payload: the checkpoint's contents when already loaded (default: read ``path``).
            options: the constructor's keyword arguments (``seed``, ``batch_size``, ``temperature``, ...).

        Raises:
            ValueError: the checkpoint does not hold a model of the family.
        """
        model, payload = load_model_checkpoint(path, cls.family, device, payload)
        logger.debug("%s from %s (step %s)", cls.family.title, path, payload.get("step"))
        return cls._from_payload(model, payload, **options)

    @classmethod
    def _from_payload(cls, model: Any, payload: dict, **options: Any) -> Any:
        return cls(model, **options)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def sample(self, n: int, *, seed: int | None = None, batch_size: int | None = None,
               progress: bool = False) -> Iterator[Any]:
        """Yield ``n`` samples, drawn ``batch_size`` at a time with randomness fixed by ``seed``
        (default: the generator's ``seed`` and ``batch_size``)."""
        seed = self.seed if seed is None else seed
        draws = self._draw(n, seed, batch_size or self.batch_size)
        return stream_samples(draws, n, progress=progress, desc=f"generating ({self.family.name})", unit=self.unit)

    def _draw(self, n: int, seed: int, batch_size: int) -> Iterator[Any]:
        """Samples ``0, 1, ...`` of the stream of ``seed`` (at least ``n`` of them; only the first ``n`` are taken)."""
        raise NotImplementedError

    def generate(self, number_samples: int) -> list[str]:
        """``number_samples`` samples as text (GuacaMol's ``DistributionMatchingGenerator`` contract)."""
        return [s.text for s in self.sample(number_samples)]


@dataclass
class CharRNNSample(GeneratedSample):
    """One sample: ``smiles`` as decoded, its ``index`` in the stream, its ``tokens`` (between
    BOS and EOS) and whether it was ``truncated`` at the maximum length (no EOS drawn)."""

    smiles: str
    index: int
    tokens: int
    truncated: bool

    STATS = ("index", "tokens", "truncated")


class CharRNNGenerator(SequenceGenerator):
    """A trained CharRNN as a generator.

    Args:
        model: the CharRNN (put in eval mode).
        tokens: its token vocabulary.
        seed: default seed (default 0).
        batch_size: sequences drawn together (default 256).
        temperature: softmax temperature (default 1).
        max_length: longest sequence in tokens, BOS and EOS included (default ``None``: the
            model's, i.e. the longest training sequence).

    :meth:`from_checkpoint` reads a checkpoint written by ``ric train --model charrnn``
    (options: ``seed``, ``batch_size``, ``temperature``, ``max_length``).
    """

    family = CHARRNN_FAMILY

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
        super().__init__(model, seed=seed, batch_size=batch_size, temperature=temperature)
        if max_length is not None and max_length < 2:
            raise ValueError(f"max_length {max_length}: a sequence needs at least BOS and one token")
        self.tokens = tokens
        self.max_length = max_length

    @classmethod
    def _from_payload(cls, model: Any, payload: dict, **options: Any) -> "CharRNNGenerator":
        return cls(model, TokenVocabulary.from_dict(payload["tokens"]), **options)

    def _draw(self, n: int, seed: int, batch_size: int) -> Iterator[CharRNNSample]:
        generator = torch.Generator(device=self.device).manual_seed(seed)
        for index in itertools.count(step=batch_size):
            ids = self.model.sample(
                batch_size, max_length=self.max_length, temperature=self.temperature, generator=generator
            ).cpu()
            for offset, row in enumerate(ids.numpy()):
                ended = bool((row == EOS).any())
                length = int(((row != PAD) & (row != EOS)).sum()) - 1  # BOS not counted
                yield CharRNNSample(self.tokens.decode(row), index + offset, length, not ended)

