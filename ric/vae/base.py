"""The shared latent-variable base of the sequence VAEs.

Every model maps a padded token batch ``x`` (long ``[B, T]``, rows
``[BOS, t_1, ..., EOS, PAD...]``) to latent groups ``z = [z_1, ..., z_L]`` (each
``[B, latent]``) and decodes with one GRU decoder conditioned on a context vector computed
from ``z`` (its initial state and an input at every step). Subclasses implement

* :meth:`SequenceVAE.infer`: draw ``z ~ q(z|x)`` (reparameterised) and return the
  per-group KL terms, plus ``log q(z|x)`` and ``log p(z)`` of the draw where the model has
  densities (implicit models return ``None``);
* :meth:`SequenceVAE.prior_sample`: ancestral draws of ``z`` from the prior;
* :meth:`SequenceVAE.context`: the decoder's conditioning vector from ``z``.

The base class provides the reconstruction log-likelihood, the ELBO with KL warm-up and
free bits, the importance-weighted bound ``iwae(K)`` (Burda et al. 2016), ``encode``,
``decode`` and sampling of token sequences.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ric.config import PlainDataConfig
from ric.vae.tokens import BOS, EOS, PAD, draw_token

__all__ = [
    "VAEConfig",
    "Inference",
    "ElboOutput",
    "SequenceVAE",
    "GRUEncoder",
    "gaussian_log_prob",
    "gaussian_kl",
    "reparameterise",
    "importance_weighted_bound",
    "MODEL_NAMES",
]

#: The models of the family (``ric train --model``).
MODEL_NAMES = ("vae", "hvae", "vlae", "iaf", "nvae", "lfvi", "dim")

LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class VAEConfig(PlainDataConfig):
    """Settings of a sequence VAE (stored in its checkpoint as plain data).

    Attributes:
        model: one of :data:`MODEL_NAMES`.
        vocab_size, max_length: from the :class:`~ric.vae.tokens.TokenVocabulary`.
        embedding: token embedding size (default 64).
        hidden: GRU hidden size (default 256).
        latent: size of each latent group (default 32).
        groups: number of latent groups / levels (default 1; hierarchical models use more).
        flow_steps: IAF steps (default 4).
        noise: noise size of the implicit models (default 32).
        word_dropout: probability of dropping a decoder input token (default 0).
        kl_warmup_steps: steps over which the KL weight rises linearly from 0 to 1 (default 0).
        free_bits: minimum KL per group in nats (batch mean; Kingma et al. 2016; default 0).
        options: model-specific extras (plain JSON data).
    """

    model: str = "vae"
    vocab_size: int = 0
    max_length: int = 0
    embedding: int = 64
    hidden: int = 256
    latent: int = 32
    groups: int = 1
    flow_steps: int = 4
    noise: int = 32
    word_dropout: float = 0.0
    kl_warmup_steps: int = 0
    free_bits: float = 0.0
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}: use one of {', '.join(MODEL_NAMES)}")
        if self.vocab_size < 4 or self.max_length < 3:
            raise ValueError("vocab_size and max_length must come from a token vocabulary")
        if self.groups < 1 or self.latent < 1 or not 0 <= self.word_dropout < 1:
            raise ValueError(f"invalid VAE settings: {self}")

    def kl_weight(self, step: int) -> float:
        """KL weight β at a training step (linear warm-up)."""
        return 1.0 if self.kl_warmup_steps <= 0 else min(1.0, step / self.kl_warmup_steps)


@dataclass
class Inference:
    """One draw from the approximate posterior.

    Attributes:
        z: latent groups, each ``[B, latent]``.
        kl: per-group KL(q || p) estimates ``[B]`` (analytic where the model allows).
        log_q: ``log q(z|x)`` of the draw ``[B]``, or ``None`` (implicit posterior).
        log_prior: ``log p(z)`` of the draw ``[B]``, or ``None``.
    """

    z: list[Tensor]
    kl: dict[str, Tensor]
    log_q: Tensor | None = None
    log_prior: Tensor | None = None


@dataclass
class ElboOutput:
    """ELBO pieces for a batch: ``elbo = log_likelihood - sum(kl)`` (all ``[B]``)."""

    elbo: Tensor
    log_likelihood: Tensor
    kl: dict[str, Tensor]
    loss: Tensor


def gaussian_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log N(z; mu, diag(exp(logvar)))`` summed over the last dimension (``[..., d] -> [...]``)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)


def gaussian_kl(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor | None = None, logvar_p: Tensor | None = None) -> Tensor:
    """Closed-form ``KL(N(mu_q, var_q) || N(mu_p, var_p))`` summed over the last dimension.

    ``mu_p``/``logvar_p`` default to the standard normal.
    """
    if mu_p is None:
        mu_p = torch.zeros_like(mu_q)
    if logvar_p is None:
        logvar_p = torch.zeros_like(logvar_q)
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1).sum(-1)


def reparameterise(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (from ``generator`` if given)."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + (0.5 * logvar).exp() * eps


def importance_weighted_bound(infer: Any, log_likelihood: Any, x: Tensor, k: int, chunk: int = 64) -> Tensor:
    """``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)`` per row of ``x`` (``[B, ...] -> [B]``).

    Args:
        infer: ``infer(x) -> Inference`` with ``log_q`` and ``log_prior`` of its draw.
        log_likelihood: ``log_likelihood(z, x) -> [B]``.
        x: the data, batch first.
        k: importance samples (``k = 1``: a single-sample ELBO estimate).
        chunk: samples evaluated together (bounds memory at ``B * chunk`` rows).
    """
    weights = []
    for start in range(0, k, chunk):
        m = min(chunk, k - start)
        xr = x.repeat_interleave(m, dim=0)
        inf = infer(xr)
        w = log_likelihood(inf.z, xr) + inf.log_prior - inf.log_q
        weights.append(w.view(x.size(0), m))
    return torch.logsumexp(torch.cat(weights, dim=1), dim=1) - math.log(k)


class GRUEncoder(nn.Module):
    """Bidirectional GRU over a token batch; returns the final states of both directions.

    Args:
        embedding: the shared token embedding.
        hidden: GRU size per direction.
        layers: GRU layers (default 1).

    Shapes: ``x [B, T]`` -> ``[B, 2 * hidden]``.
    """

    def __init__(self, embedding: nn.Embedding, hidden: int, layers: int = 1) -> None:
        super().__init__()
        self.embedding = embedding
        self.gru = nn.GRU(embedding.embedding_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor) -> Tensor:
        lengths = (x != PAD).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(x), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)
        return torch.cat([h[-2], h[-1]], dim=1)

    def states(self, x: Tensor) -> Tensor:
        """Per-position outputs ``[B, T, 2 * hidden]`` (zero at padding)."""
        lengths = (x != PAD).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(x), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return out


class SequenceVAE(nn.Module, metaclass=abc.ABCMeta):
    """Base of the sequence VAEs (see the module docstring).

    Args:
        config: the model's :class:`VAEConfig`.
        context_dim: size of the decoder's conditioning vector (default ``latent * groups``).
    """

    #: Whether the model has tractable ``log q`` and ``log p(z)`` (implicit models: no).
    has_density = True

    def __init__(self, config: VAEConfig, context_dim: int | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding, padding_idx=PAD)
        self.context_dim = context_dim if context_dim is not None else c.latent * c.groups
        self.decoder_init = nn.Linear(self.context_dim, c.hidden)
        self.decoder = nn.GRU(c.embedding + self.context_dim, c.hidden, batch_first=True)
        self.output = nn.Linear(c.hidden, c.vocab_size)

    # ------------------------------------------------------------------ subclass API
    @abc.abstractmethod
    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """Draw ``z ~ q(z|x)``; ``x [B, T]``."""

    @abc.abstractmethod
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``n`` ancestral draws of the latent groups from the prior."""

    def context(self, z: list[Tensor]) -> Tensor:
        """Decoder conditioning ``[B, context_dim]`` (default: the groups concatenated)."""
        return torch.cat(z, dim=1)

    # ------------------------------------------------------------------ likelihood
    def decoder_logits(self, z: list[Tensor], x: Tensor, word_dropout: float = 0.0) -> Tensor:
        """Teacher-forced logits ``[B, T - 1, V]`` predicting ``x[:, 1:]`` from ``x[:, :-1]``."""
        ctx = self.context(z)
        inputs = x[:, :-1]
        if word_dropout > 0 and self.training:
            drop = (torch.rand(inputs.shape, device=x.device) < word_dropout) & (inputs != BOS)
            inputs = inputs.masked_fill(drop, PAD)
        emb = self.embedding(inputs)
        steps = emb.size(1)
        h0 = torch.tanh(self.decoder_init(ctx)).unsqueeze(0)
        out, _ = self.decoder(torch.cat([emb, ctx.unsqueeze(1).expand(-1, steps, -1)], dim=2), h0)
        return self.output(out)

    def log_likelihood(self, z: list[Tensor], x: Tensor, word_dropout: float = 0.0) -> Tensor:
        """``log p(x|z)`` per sequence ``[B]`` (tokens after BOS up to and including EOS)."""
        logits = self.decoder_logits(z, x, word_dropout)
        target = x[:, 1:]
        logp = torch.log_softmax(logits, dim=-1).gather(2, target.unsqueeze(2)).squeeze(2)
        return (logp * (target != PAD)).sum(1)

    # ------------------------------------------------------------------ bounds
    def elbo(self, x: Tensor, beta: float = 1.0, free_bits: float = 0.0) -> ElboOutput:
        """Single-sample ELBO and the training loss.

        The loss is ``-(log p(x|z) - beta * sum_l max(KL_l, free_bits))`` averaged over the
        batch, with free bits applied to each group's batch-mean KL and word dropout from
        the config while training.

        Args:
            x: long ``[B, T]``.
            beta: KL weight (warm-up), default 1.
            free_bits: minimum KL per group in nats (default 0).
        """
        inf = self.infer(x)
        ll = self.log_likelihood(inf.z, x, self.config.word_dropout if self.training else 0.0)
        kl_total = sum(inf.kl.values())
        penalised = sum(torch.clamp(k.mean(), min=free_bits) for k in inf.kl.values())
        loss = -ll.mean() + beta * penalised + self.extra_loss(inf, x)
        return ElboOutput(ll - kl_total, ll, inf.kl, loss)

    def extra_loss(self, inference: Inference, x: Tensor) -> Tensor | float:
        """Model-specific regularisers added to the training loss (default none)."""
        return 0.0

    # ------------------------------------------------------------------ training contract
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameter groups with their own optimiser (default: one group ``"model"``).

        Models trained adversarially (e.g. a ratio estimator) return several groups; the
        training loop steps each group's optimiser on the loss of the same name from
        :meth:`training_losses`, with gradients of that loss w.r.t. that group only.
        """
        return {"model": list(self.parameters())}

    def training_losses(self, x: Tensor, step: int) -> tuple[dict[str, Tensor], dict[str, float]]:
        """Losses per parameter group, and scalars to log (``loss``, ``elbo``, ``kl``, ...).

        Default: the ELBO loss with the config's KL warm-up and free bits.
        """
        out = self.elbo(x, beta=self.config.kl_weight(step), free_bits=self.config.free_bits)
        kl = sum(out.kl.values())
        logs = {"loss": float(out.loss.detach()), "elbo": float(out.elbo.detach().mean()), "kl": float(kl.detach().mean())}
        logs.update({f"kl_{name}": float(v.detach().mean()) for name, v in out.kl.items()})
        return {"model": out.loss}, logs

    # ------------------------------------------------------------------ inference gaps
    def local_parameters(self, x: Tensor) -> dict[str, Tensor]:
        """Per-example variational parameters of ``q(z|x)``, initialised from the encoder.

        Used for the inference-gap analysis (Cremer, Li, Duvenaud 2018): the returned
        tensors are detached leaves that an optimiser can move per example to find ``q*``
        in the same variational family; :meth:`local_elbo` scores them.
        """
        raise NotImplementedError(f"{self.config.model} does not expose local variational parameters")

    def local_elbo(
        self, x: Tensor, params: dict[str, Tensor], samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """ELBO ``[B]`` of ``x`` under the local posterior ``params`` (``samples`` draws averaged)."""
        raise NotImplementedError(f"{self.config.model} does not expose local variational parameters")

    def local_posterior(self, params: dict[str, Tensor], generator: torch.Generator | None = None) -> Inference:
        """One draw ``z ~ q(z)`` of the local posterior ``params`` (from :meth:`local_parameters`),
        with its ``log_q`` and ``log_prior`` ``[B]``."""
        raise NotImplementedError(f"{self.config.model} does not expose local variational parameters")

    @torch.no_grad()
    def local_iwae(self, x: Tensor, params: dict[str, Tensor], k: int, chunk: int = 64) -> Tensor:
        """Importance-weighted bound on ``log p(x)`` ``[B]`` with the local posterior ``params``
        (e.g. the optimised ``q*``) as the proposal instead of the encoder's.

        Args:
            x: long ``[B, T]``.
            params: per-example tensors, molecules on the first dimension.
            k: importance samples.
            chunk: samples evaluated together.
        """

        def infer(xr: Tensor) -> Inference:
            repeats = xr.size(0) // x.size(0)
            return self.local_posterior({n: v.repeat_interleave(repeats, dim=0) for n, v in params.items()})

        return importance_weighted_bound(infer, self.log_likelihood, x, k, chunk)

    @torch.no_grad()
    def iwae(self, x: Tensor, k: int, chunk: int = 64) -> Tensor:
        """Importance-weighted bound ``log (1/K) sum_k p(x, z_k) / q(z_k|x)`` per sequence ``[B]``.

        Args:
            x: long ``[B, T]``.
            k: importance samples (``k = 1`` is the single-sample ELBO estimate).
            chunk: samples evaluated together (bounds memory at ``B * chunk`` sequences).

        Raises:
            NotImplementedError: the model has no tractable ``log q`` (implicit posterior).
        """
        if not self.has_density:
            raise NotImplementedError(f"{self.config.model} has an implicit posterior: no importance weights")
        return importance_weighted_bound(self.infer, self.log_likelihood, x, k, chunk)

    # ------------------------------------------------------------------ encode / decode
    @torch.no_grad()
    def encode(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """A posterior draw of the latent groups for ``x [B, T]``."""
        return self.infer(x, generator).z

    @torch.no_grad()
    def decode(
        self,
        z: list[Tensor],
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Token ids ``[B, max_length]`` decoded autoregressively from ``z`` (BOS first, PAD after EOS).

        Args:
            z: latent groups.
            temperature: softmax temperature (default 1).
            greedy: take the most likely token instead of sampling.
            generator: random generator for the token draws.
        """
        ctx = self.context(z)
        n = ctx.size(0)
        T = self.config.max_length
        out = torch.full((n, T), PAD, dtype=torch.long, device=ctx.device)
        out[:, 0] = BOS
        h = torch.tanh(self.decoder_init(ctx)).unsqueeze(0)
        token = out[:, 0]
        done = torch.zeros(n, dtype=torch.bool, device=ctx.device)
        for t in range(1, T):
            step_in = torch.cat([self.embedding(token), ctx], dim=1).unsqueeze(1)
            o, h = self.decoder(step_in, h)
            logits = self.output(o.squeeze(1))
            token = draw_token(logits, temperature, greedy, generator)
            if t == T - 1:
                token = torch.full_like(token, EOS)
            token = token.masked_fill(done, PAD)
            out[:, t] = token
            done |= token == EOS
            if bool(done.all()):
                break
        return out

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` ancestral samples ``[n, max_length]``: ``z ~ p(z)``, then ``x ~ p(x|z)``."""
        return self.decode(self.prior_sample(n, generator), temperature=temperature, generator=generator)
