"""``charrnn``: the SMILES LSTM baseline of MOSES and GuacaMol (Segler et al. 2018).

A token embedding, a multi-layer LSTM and a linear softmax over the next token. Training is
teacher forcing: the cross-entropy of every token after BOS (EOS included) given the tokens
before it, averaged over the batch's tokens. Sampling is autoregressive from BOS, one token
at a time from the softmax (divided by a temperature), until EOS or the maximum length.

Tokens (SMILES or SELFIES) and the sequence layout ``[BOS, t_1, ..., t_L, EOS, PAD, ...]``
are those of the VAEs (:mod:`ric.vae.tokens`); a sampled row that reaches the maximum
length without drawing EOS ends without one (it is *truncated*, and decodes to the tokens
it has). The defaults are those of the MOSES CharRNN: 3 LSTM layers of 768 units, dropout
0.2 between LSTM layers (none after the last), and a learned embedding as wide as the
vocabulary. Unlike the VAEs, the model's ``log p(x)`` is exact (:meth:`CharRNN.log_likelihood`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ric.config import PlainDataConfig
from ric.vae.tokens import BOS, EOS, PAD, draw_token

__all__ = ["CharRNNConfig", "CharRNN"]

LSTMState = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class CharRNNConfig(PlainDataConfig):
    """Settings of a CharRNN (stored in its checkpoint as plain data).

    Attributes:
        vocab_size, max_length: from the :class:`~ric.vae.tokens.TokenVocabulary`.
        embedding: token embedding size (default 0: as many as ``vocab_size``, as MOSES).
        hidden: LSTM hidden size (default 768).
        layers: LSTM layers (default 3).
        dropout: dropout between LSTM layers while training (default 0.2; ignored with one layer).
    """

    vocab_size: int = 0
    max_length: int = 0
    embedding: int = 0
    hidden: int = 768
    layers: int = 3
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.vocab_size < 4 or self.max_length < 3:
            raise ValueError("vocab_size and max_length must come from a token vocabulary")
        if self.embedding < 0 or self.hidden < 1 or self.layers < 1 or not 0 <= self.dropout < 1:
            raise ValueError(f"invalid CharRNN settings: {self}")

    @property
    def embedding_size(self) -> int:
        """The embedding width in use (``vocab_size`` when ``embedding`` is 0)."""
        return self.embedding or self.vocab_size


class CharRNN(nn.Module):
    """Embedding -> ``layers``-layer LSTM -> linear logits over the next token.

    Args:
        config: the model's :class:`CharRNNConfig`.

    Shapes: ``x [B, T]`` (long, BOS first) -> logits ``[B, T, vocab_size]``; the LSTM state is
    a pair ``(h, c)``, each ``[layers, B, hidden]``.
    """

    def __init__(self, config: CharRNNConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=PAD)
        dropout = c.dropout if c.layers > 1 else 0.0
        self.lstm = nn.LSTM(c.embedding_size, c.hidden, num_layers=c.layers, dropout=dropout, batch_first=True)
        self.output = nn.Linear(c.hidden, c.vocab_size)

    @property
    def device(self) -> torch.device:
        return self.output.weight.device

    def forward(self, x: Tensor, state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        """Logits ``[B, T, V]`` of the token after each position of ``x [B, T]``, and the final
        LSTM state (``state``: the state before ``x``, default zeros)."""
        out, state = self.lstm(self.embedding(x), state)
        return self.output(out), state

    def log_likelihood(self, x: Tensor) -> Tensor:
        """``log p(x)`` per sequence ``[B]``: teacher-forced log-probabilities of the tokens after
        BOS up to and including EOS, for ``x [B, T]`` padded with PAD."""
        logits, _ = self(x[:, :-1])
        target = x[:, 1:]
        logp = torch.log_softmax(logits, dim=-1).gather(2, target.unsqueeze(2)).squeeze(2)
        return (logp * (target != PAD)).sum(1)

    # ------------------------------------------------------------------ training contract
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One optimiser for every parameter (the contract of :class:`~ric.vae.base.SequenceVAE`)."""
        return {"model": list(self.parameters())}

    def training_losses(self, x: Tensor, step: int) -> tuple[dict[str, Tensor], dict[str, float]]:
        """Teacher-forcing loss of a batch ``x [B, T]`` and scalars to log.

        The loss is the cross-entropy per predicted token (all the batch's tokens after BOS,
        EOS included, weighted equally, as MOSES trains it); ``nll`` is ``-log p(x)`` per
        molecule, in nats (comparable with the VAEs' ``-elbo``). ``step`` is unused.
        """
        ll = self.log_likelihood(x)
        tokens = (x[:, 1:] != PAD).sum()
        loss = -ll.sum() / tokens.clamp(min=1)
        return {"model": loss}, {"loss": float(loss.detach()), "nll": float(-ll.detach().mean())}

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        max_length: int | None = None,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Token ids ``[n, max_length]`` drawn autoregressively (BOS first, PAD after EOS).

        A row stops at the first EOS it draws; a row that has drawn none by ``max_length``
        tokens (BOS included) is cut there and has no EOS. PAD and BOS are never drawn.

        Args:
            n: sequences to draw.
            max_length: longest sequence, BOS (and EOS) included (default ``config.max_length``,
                the longest training sequence).
            temperature: softmax temperature (default 1).
            greedy: take the most likely token instead of sampling (default ``False``).
            generator: random generator of the token draws (default torch's global one).
        """
        T = self.config.max_length if max_length is None else max_length
        if T < 2:
            raise ValueError(f"max_length {T}: a sequence needs at least BOS and one token")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, not {temperature}")
        out = torch.full((n, T), PAD, dtype=torch.long, device=self.device)
        out[:, 0] = BOS
        token = out[:, 0]
        state = None
        done = torch.zeros(n, dtype=torch.bool, device=self.device)
        for t in range(1, T):
            logits, state = self(token.unsqueeze(1), state)
            logits = logits.squeeze(1)
            token = draw_token(logits, temperature, greedy, generator)
            token = token.masked_fill(done, PAD)
            out[:, t] = token
            done |= token == EOS
            if bool(done.all()):
                break
        return out
