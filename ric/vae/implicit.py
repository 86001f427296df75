"""``lfvi`` and ``dim``: implicit sequence models trained with a ratio estimator.

Tran, Ranganath, Blei (2017), "Hierarchical Implicit Models and Likelihood-Free
Variational Inference". Both models have an *implicit* encoder ``z = g(x, eps)`` (noise
concatenated with the GRU encoding of ``x`` at every layer of an MLP): ``q(z|x)`` can be
sampled and reparameterised but has no density, so the KL terms of the ELBO are replaced by
a classifier-based log density-ratio estimate (:class:`RatioEstimator`), trained with the
logistic loss in its own parameter group ``"ratio"``.

* :class:`LFVI`: explicit prior ``N(0, I)`` and the base GRU decoder ``p(x|z)``. The ratio
  ``T(x, z) ~ log q(z|x) - log p(z)`` separates ``(x, z ~ q(z|x))`` from ``(x, z ~ p(z))``
  and the ELBO is *estimated* as ``E_q[log p(x|z) - T(x, z)]``.
* :class:`DIM`: deep implicit model, noise injected at every layer of the prior
  ``z = f(eps_0, eps_1, ...)`` and of the decoder context ``c = h(z, eps'_0, eps'_1, ...)``
  (the GRU then decodes from ``c``). The ratio is the joint one of the paper,
  ``T(x, z) ~ log q(x, z) - log p(x, z)`` with ``q(x, z) = data(x) q(z|x)``, trained on data
  pairs against pairs ``(x, z)`` ancestrally sampled from the model.

Neither model has tractable ``log q(z|x)``, so every ELBO/KL they report is a
ratio-estimated quantity, and :meth:`iwae` does **not** compute an importance-weighted bound
over ``q``: it returns :meth:`log_marginal_estimate`, a Monte-Carlo estimate of ``log p(x)``
through an explicit proposal (see each class).
"""
from __future__ import annotations

import abc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ric.vae.base import (
    ElboOutput,
    GRUEncoder,
    Inference,
    SequenceVAE,
    VAEConfig,
    gaussian_log_prob,
)
from ric.vae.tokens import BOS, PAD

__all__ = ["DIM", "LFVI", "ImplicitSequenceVAE", "NoisyMLP", "RatioEstimator"]


def _scalar(t: Tensor) -> float:
    return float(t.detach())


class RatioEstimator(nn.Module):
    """MLP logit ``T(inputs)`` for classifier-based log density-ratio estimation.

    Trained with :meth:`logistic_loss` on samples of ``q`` (positives) against samples of
    ``p`` (negatives) in equal numbers, the optimum is ``T = log q - log p``.

    Args:
        in_dim: size of the concatenated inputs.
        hidden: hidden width.
        layers: hidden layers (default 2).

    Shapes: ``forward(a [B, d_a], b [B, d_b], ...)`` -> ``[B]`` (inputs concatenated on the
    last dimension).
    """

    def __init__(self, in_dim: int, hidden: int, layers: int = 2) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        d = in_dim
        for _ in range(layers):
            mods += [nn.Linear(d, hidden), nn.ELU()]
            d = hidden
        mods.append(nn.Linear(d, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, *inputs: Tensor, frozen: bool = False) -> Tensor:
        """Logits ``[B]``; ``frozen=True`` evaluates with detached weights, so the result is
        differentiable in the inputs but gives no gradient to the estimator's parameters."""
        h = torch.cat(inputs, dim=-1)
        if frozen:
            params = {name: p.detach() for name, p in self.net.named_parameters()}
            return torch.func.functional_call(self.net, params, (h,)).squeeze(-1)
        return self.net(h).squeeze(-1)

    @staticmethod
    def logistic_loss(positive_logits: Tensor, negative_logits: Tensor) -> Tensor:
        """``E_q[softplus(-T)] + E_p[softplus(T)]`` (each class averaged separately, so the
        optimum is ``log q - log p`` whatever the two sample counts)."""
        return F.softplus(-positive_logits).mean() + F.softplus(negative_logits).mean()

    @staticmethod
    def accuracy(positive_logits: Tensor, negative_logits: Tensor) -> float:
        """Balanced classification accuracy of the logits (for logging)."""
        return 0.5 * (float((positive_logits > 0).float().mean()) + float((negative_logits < 0).float().mean()))


class NoisyMLP(nn.Module):
    """MLP with fresh Gaussian noise concatenated to the input of every layer.

    ``h_0 = input``; ``h_{l+1} = act(W_l [h_l, eps_l])`` with ``eps_l ~ N(0, I_noise)``; no
    activation after the last layer. With ``in_dim = 0`` the first noise draw is the input
    (an implicit distribution from noise alone).

    Shapes: ``forward(h [B, in_dim])`` -> ``[B, out_dim]``.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, noise: int, layers: int = 2) -> None:
        super().__init__()
        if layers < 1 or noise < 1:
            raise ValueError("NoisyMLP needs at least one layer and a positive noise size")
        self.in_dim, self.noise = in_dim, noise
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a + noise, b) for a, b in pairwise(dims))

    def draw_noise(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """One noise tensor ``[n, noise]`` per layer."""
        w = self.layers[0].weight
        return [
            torch.randn(n, self.noise, generator=generator, device=w.device, dtype=w.dtype) for _ in self.layers
        ]

    def forward(self, h: Tensor, generator: torch.Generator | None = None, noise: list[Tensor] | None = None) -> Tensor:
        if noise is None:
            noise = self.draw_noise(h.size(0), generator)
        last = len(self.layers) - 1
        for i, (layer, eps) in enumerate(zip(self.layers, noise, strict=True)):
            h = layer(torch.cat([h, eps], dim=1))
            if i < last:
                h = F.elu(h)
        return h


class ImplicitSequenceVAE(SequenceVAE):
    """Shared parts of :class:`LFVI` and :class:`DIM`: the implicit encoder and the ratio
    estimator ``T(x, z)`` with its own token embedding and GRU encoder (so the ``"ratio"``
    group is disjoint from the model; its ``x`` features are learnt for discrimination and
    do not move with the model's encoder).

    Config options: ``noise_layers`` (layers of the noisy MLPs, default 2), ``ratio_hidden``
    (default ``hidden``), ``ratio_layers`` (default 2).
    """

    has_density = False

    def __init__(self, config: VAEConfig, context_dim: int | None = None) -> None:
        super().__init__(config, context_dim=context_dim)
        c, o = config, config.options
        self.noise_layers = int(o.get("noise_layers", 2))
        self.encoder = GRUEncoder(self.embedding, c.hidden)
        self.posterior_net = NoisyMLP(2 * c.hidden, c.hidden, c.latent, c.noise, self.noise_layers)
        rh = int(o.get("ratio_hidden", c.hidden))
        self.ratio_encoder = GRUEncoder(nn.Embedding(c.vocab_size, c.embedding, padding_idx=PAD), rh)
        self.ratio = RatioEstimator(2 * rh + c.latent, rh, int(o.get("ratio_layers", 2)))

    @property
    def _device(self) -> torch.device:
        return self.output.weight.device

    # ------------------------------------------------------------------ encoder / ratio
    def posterior_sample(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``z = g(x, eps) ~ q(z|x)`` ``[B, latent]`` (reparameterised, no density)."""
        return self.posterior_net(self.encoder(x), generator)

    def ratio_features(self, x: Tensor) -> Tensor:
        """The ratio estimator's encoding of ``x`` ``[B, 2 * ratio_hidden]``."""
        return self.ratio_encoder(x)

    def ratio_logits(self, x: Tensor, z: Tensor, frozen: bool = False) -> Tensor:
        """``T(x, z)`` ``[B]``; ``frozen=True`` gives no gradient to the ``"ratio"`` group."""
        feats = self.ratio_features(x)
        return self.ratio(feats.detach() if frozen else feats, z, frozen=frozen)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """``{"model": encoder + prior + decoder, "ratio": ratio estimator (with its encoder)}``."""
        ratio = list(self.ratio_encoder.parameters()) + list(self.ratio.parameters())
        ids = {id(p) for p in ratio}
        return {"model": [p for p in self.parameters() if id(p) not in ids], "ratio": ratio}

    @torch.no_grad()
    def encode(self, x: Tensor, generator: torch.Generator | None = None) -> list[Tensor]:
        """A draw ``z ~ q(z|x)`` (without the ratio evaluation of :meth:`infer`)."""
        return [self.posterior_sample(x, generator)]

    # ------------------------------------------------------------------ log p(x)
    @abc.abstractmethod
    def log_marginal_estimate(self, x: Tensor, k: int, chunk: int = 64, generator: torch.Generator | None = None) -> Tensor:
        """Monte-Carlo estimate of ``log p(x)`` ``[B]`` through an explicit proposal."""

    @torch.no_grad()
    def iwae(self, x: Tensor, k: int, chunk: int = 64) -> Tensor:
        """``log p(x)`` estimate ``[B]``: :meth:`log_marginal_estimate` with ``k`` samples.

        The posterior is implicit, so this is *not* the importance-weighted bound over
        ``q(z|x)`` of the explicit models: it is an importance-sampling / Monte-Carlo
        estimate through an explicit proposal (see :meth:`log_marginal_estimate`); like the
        IWAE bound it is a stochastic lower bound of ``log p(x)`` in expectation (Jensen).
        """
        return self.log_marginal_estimate(x, k, chunk=chunk)

    @staticmethod
    def _mean_exp(log_w: list[Tensor], k: int) -> Tensor:
        return torch.logsumexp(torch.cat(log_w, dim=1), dim=1) - math.log(k)


class LFVI(ImplicitSequenceVAE):
    """Implicit encoder, explicit ``N(0, I)`` prior, GRU decoder (one latent group).

    Objectives (``T`` is the ratio estimator):

    * ``"ratio"``: ``E[softplus(-T(x, sg(z_q)))] + E[softplus(T(x, z_p))]`` with
      ``z_q ~ q(z|x)``, ``z_p ~ N(0, I)``, the same data ``x`` in both classes; at the optimum
      ``T(x, z) = log q(z|x) - log p(z)``.
    * ``"model"``: ``-mean(log p(x|z_q) - beta * T(x, z_q))`` (with the config's KL warm-up
      ``beta`` and free bits applied to the batch mean of ``T``; both default to the plain
      negative ELBO estimate). ``T`` is evaluated with frozen weights: the gradient reaches
      the encoder through ``z_q`` (``d T / d z``) but not the ratio estimator.

    :meth:`infer` returns ``kl = {"z": T(x, z)}`` (the estimated KL of the draw) and
    ``log_q = log_prior = None``; :meth:`elbo` is the ratio-estimated ELBO.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config, context_dim=config.latent)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        return [torch.randn(n, self.config.latent, generator=generator, device=self._device)]

    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        z = self.posterior_sample(x, generator)
        return Inference([z], {"z": self.ratio_logits(x, z)}, None, None)

    def _model_terms(self, x: Tensor, beta: float, free_bits: float) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(z_q, ratio features of x, log p(x|z_q), frozen T(x, z_q), "model" loss)``."""
        z = self.posterior_sample(x)
        ll = self.log_likelihood([z], x, self.config.word_dropout if self.training else 0.0)
        feats = self.ratio_features(x)
        t = self.ratio(feats.detach(), z, frozen=True)
        loss = -ll.mean() + beta * torch.clamp(t.mean(), min=free_bits)
        return z, feats, ll, t, loss

    def elbo(self, x: Tensor, beta: float = 1.0, free_bits: float = 0.0) -> ElboOutput:
        """Ratio-estimated ELBO ``log p(x|z) - T(x, z)`` ``[B]`` and the ``"model"`` loss."""
        _, _, ll, t, loss = self._model_terms(x, beta, free_bits)
        return ElboOutput(ll - t, ll, {"z": t}, loss)

    def training_losses(self, x: Tensor, step: int) -> tuple[dict[str, Tensor], dict[str, float]]:
        c = self.config
        z, feats, ll, t, loss = self._model_terms(x, c.kl_weight(step), c.free_bits)
        z_p = torch.randn(z.shape, device=z.device, dtype=z.dtype)
        pos, neg = self.ratio(feats, z.detach()), self.ratio(feats, z_p)
        ratio_loss = RatioEstimator.logistic_loss(pos, neg)
        logs = {
            "loss": _scalar(loss),
            "elbo": _scalar((ll - t).mean()),
            "kl": _scalar(t.mean()),
            "kl_z": _scalar(t.mean()),
            "ratio_loss": _scalar(ratio_loss),
            "ratio_accuracy": RatioEstimator.accuracy(pos, neg),
        }
        return {"model": loss, "ratio": ratio_loss}, logs

    @torch.no_grad()
    def log_marginal_estimate(
        self,
        x: Tensor,
        k: int,
        chunk: int = 64,
        generator: torch.Generator | None = None,
        proposal: str = "mixture",
        fit_samples: int | None = None,
    ) -> Tensor:
        """Importance-sampling estimate ``log (1/K) sum_k p(x|z_k) p(z_k) / r(z_k|x)`` ``[B]``.

        The proposal ``r`` is explicit (the implicit ``q`` has no density to weight with) and
        the weights use the explicit prior density ``p(z) = N(0, I)``:

        * ``"fitted"``: a diagonal Gaussian ``N(mu(x), diag s^2(x))`` fitted per example to
          ``fit_samples`` encoder draws (default ``config.options["fit_samples"]`` or 32;
          moment matching, variance floor ``1e-4``). Badly low when the implicit ``q`` is
          much narrower than the true posterior (it misses posterior mass).
        * ``"mixture"`` (default): the defensive mixture ``0.5 p(z) + 0.5 fitted`` (weights
          ``p/r <= 2``, so never far worse than ``"prior"``; Hesterberg 1995).
        * ``"prior"``: ``r = p(z)``, i.e. ``log (1/K) sum_k p(x|z_k)``.

        Unbiased for ``p(x)``, so a stochastic lower bound of ``log p(x)`` in expectation.
        Draws come from ``generator`` when given (encoder noise, then proposal draws).
        """
        if proposal not in ("fitted", "mixture", "prior"):
            raise ValueError(f"unknown proposal {proposal!r}: use mixture, fitted or prior")
        b, d = x.size(0), self.config.latent
        mu = torch.zeros(b, d, device=x.device)
        logvar = torch.zeros(b, d, device=x.device)
        if proposal != "prior":
            m = int(fit_samples or self.config.options.get("fit_samples", 32))
            zs = self.posterior_sample(x.repeat_interleave(m, dim=0), generator).view(b, m, d)
            mu = zs.mean(1)
            logvar = zs.var(1, unbiased=m > 1).clamp(min=1e-4).log()
        log_w = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            mu_r, lv_r = mu.repeat_interleave(n, dim=0), logvar.repeat_interleave(n, dim=0)
            eps = torch.randn(mu_r.shape, generator=generator, device=x.device)
            z = mu_r + (0.5 * lv_r).exp() * eps
            if proposal == "mixture":
                from_prior = torch.rand(z.size(0), 1, generator=generator, device=x.device) < 0.5
                z = torch.where(from_prior, eps, z)
            w = self.log_likelihood([z], x.repeat_interleave(n, dim=0))
            if proposal != "prior":
                log_p = gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
                log_r = gaussian_log_prob(z, mu_r, lv_r)
                if proposal == "mixture":
                    log_r = torch.logaddexp(log_p, log_r) - math.log(2.0)
                w = w + log_p - log_r
            log_w.append(w.view(b, n))
        return self._mean_exp(log_w, k)


class DIM(ImplicitSequenceVAE):
    """Deep implicit model: implicit prior, noisy decoder context, implicit encoder.

    Generative process: ``z = f(eps_0, ..., eps_L)`` (:class:`NoisyMLP` from noise alone),
    ``c = h(z, eps'_0, ..., eps'_L)`` (:class:`NoisyMLP`), ``x ~ GRU(c)``. Neither ``p(z)``
    nor ``p(x|z) = E_eps' p(x|z, eps')`` has a density; ``p(x|z, eps')`` is explicit.

    The ratio estimator is the joint one of LFVI: ``T(x, z) ~ log q(x, z) - log p(x, z)``
    with ``q(x, z) = data(x) q(z|x)``, trained on data pairs ``(x, z_q ~ q(z|x))`` against
    model pairs ``(x_m ~ p(x|z_m), z_m ~ p(z))``, ``x_m`` ancestrally decoded under
    ``no_grad``. The ELBO is ``E_q[log p(x, z) - log q(z|x)] = -E_q[r(x, z)] + log data(x)``,
    so the objective is ``min E_q[r]`` = ``KL(q(x, z) || p(x, z))``. Its gradients:

    * encoder ``phi``: ``d/dphi E_q[T(x, z_q)]`` through ``z_q`` with ``T`` frozen (the
      ``log q`` score term has zero mean);
    * decoder ``theta_d`` (context MLP + GRU): ``-E_q[d log p(x|z)]``, which ``T`` cannot
      give (it depends on ``theta`` only implicitly); computed as
      ``-d/dtheta_d E_q[log p(x|sg(z_q), eps')]`` with one decoder-noise draw (the gradient
      of the Jensen bound ``E_eps' log p(x|z, eps') <= log p(x|z)``);
    * prior ``theta_p``: ``-E_q[d log p(z)] = -d/dtheta_p E_{p(x,z)}[exp r]`` with ``exp r``
      held fixed (path derivative through ``z_m = f(eps)``, plus the score
      ``d/dz log p(x_m|z_m, eps'_m)`` of the discrete decode, :meth:`decode_log_prob`);
      with self-normalised weights ``w = softmax(T(x_m, z_m))`` the surrogate is
      ``-sum_m w_m d/dz[T + log p(x_m|z, eps'_m)] . z_m``.

    Losses: ``"model"`` = ``mean T(x, z_q) - mean log p(x|sg(z_q), eps') + prior surrogate``
    (KL warm-up and free bits do not apply: ``T`` is not a KL here); ``"ratio"`` = the
    logistic loss. Cost: each training step also decodes ``config.options["model_samples"]``
    (default: the batch size) sequences autoregressively (``max_length`` sequential GRU
    steps, no grad) and runs the ratio encoder and a teacher-forced decoder pass on them,
    roughly 2-3x an LFVI step.

    Reported ELBO/KL are ratio estimates that need the constant ``log data(x)``: with
    ``config.options["data_size"] = N`` (empirical ``data(x) = 1/N``) ``elbo = -T - log N``
    and ``kl = T + log p(x|z, eps') + log N``; without it the ``log N`` terms are left out
    (``elbo`` then overstates by ``log N``).

    Config options (besides the shared ones): ``prior_layers`` (default ``noise_layers``),
    ``model_samples``, ``data_size``.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config, context_dim=config.latent)
        c = config
        layers = int(c.options.get("prior_layers", self.noise_layers))
        self.prior_net = NoisyMLP(0, c.hidden, c.latent, c.noise, layers)
        self.context_net = NoisyMLP(c.latent, c.hidden, self.context_dim, c.noise, self.noise_layers)
        size = c.options.get("data_size")
        self.log_data_mass = -math.log(float(size)) if size else 0.0
        self._noise_source: tuple[torch.Generator | None, list[Tensor] | None] = (None, None)

    # ------------------------------------------------------------------ generative model
    def prior_sample(
        self, n: int, generator: torch.Generator | None = None, noise: list[Tensor] | None = None
    ) -> list[Tensor]:
        """``z = f(eps)`` ``[[n, latent]]`` from the implicit prior (differentiable in ``f``)."""
        w = self.prior_net.layers[0].weight
        return [self.prior_net(w.new_zeros(n, 0), generator, noise)]

    @contextmanager
    def decoder_noise(
        self, generator: torch.Generator | None = None, noise: list[Tensor] | None = None
    ) -> Iterator[None]:
        """Within the block, :meth:`context` (also when called by the base class's
        ``decoder_logits``/``decode``) draws its noise from ``generator`` or uses ``noise``."""
        previous = self._noise_source
        self._noise_source = (generator, noise)
        try:
            yield
        finally:
            self._noise_source = previous

    def context(
        self, z: list[Tensor], generator: torch.Generator | None = None, noise: list[Tensor] | None = None
    ) -> Tensor:
        """``c = h(z, eps')`` with fresh noise at every layer (see :meth:`decoder_noise`)."""
        if generator is None and noise is None:
            generator, noise = self._noise_source
        return self.context_net(torch.cat(z, dim=1), generator, noise)

    @torch.no_grad()
    def decode(
        self,
        z: list[Tensor],
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """As the base class; the decoder noise comes from ``generator`` when one is given."""
        if generator is None:
            return super().decode(z, temperature=temperature, greedy=greedy)
        with self.decoder_noise(generator):
            return super().decode(z, temperature=temperature, greedy=greedy, generator=generator)

    def decode_log_prob(self, z: list[Tensor], x: Tensor) -> Tensor:
        """``log`` probability ``[B]`` of sequences ``x [B, max_length]`` produced by
        :meth:`decode` (temperature 1, not greedy) from ``z``: the teacher-forced
        log-likelihood under decode's sampling distribution (PAD and BOS excluded from the
        softmax, the EOS forced at the last position not scored)."""
        logits = self.decoder_logits(z, x)
        banned = torch.zeros(logits.size(-1), dtype=torch.bool, device=x.device)
        banned[PAD] = banned[BOS] = True
        logp = torch.log_softmax(logits.masked_fill(banned, -torch.inf), dim=-1)
        target = x[:, 1:]
        scored = target != PAD
        if x.size(1) >= self.config.max_length:
            scored[:, self.config.max_length - 2 :] = False
        picked = logp.gather(2, target.unsqueeze(2)).squeeze(2)
        return torch.where(scored, picked, torch.zeros_like(picked)).sum(1)

    # ------------------------------------------------------------------ inference
    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """``z ~ q(z|x)`` with ``kl = {"z": T(x, z) + log p(x|z, eps') + log data(x)}`` (the
        ratio-estimated KL; see the class docstring for the constant)."""
        z = self.posterior_sample(x, generator)
        with self.decoder_noise(generator):
            ll = self.log_likelihood([z], x)
        return Inference([z], {"z": self.ratio_logits(x, z) + ll - self.log_data_mass}, None, None)

    def _model_terms(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(z_q, ratio features of x, log p(x|sg(z_q), eps'), frozen T(x, z_q))``."""
        z = self.posterior_sample(x)
        ll = self.log_likelihood([z.detach()], x, self.config.word_dropout if self.training else 0.0)
        feats = self.ratio_features(x)
        t = self.ratio(feats.detach(), z, frozen=True)
        return z, feats, ll, t

    def elbo(self, x: Tensor, beta: float = 1.0, free_bits: float = 0.0) -> ElboOutput:
        """Ratio-estimated ELBO ``-T(x, z) + log data(x)`` ``[B]`` and the data part of the
        ``"model"`` loss (without the prior surrogate; ``beta``/``free_bits`` unused)."""
        _, _, ll, t = self._model_terms(x)
        loss = t.mean() - ll.mean()
        return ElboOutput(-t + self.log_data_mass, ll, {"z": t + ll - self.log_data_mass}, loss)

    def training_losses(self, x: Tensor, step: int) -> tuple[dict[str, Tensor], dict[str, float]]:
        z_q, feats, ll, t = self._model_terms(x)
        m = int(self.config.options.get("model_samples", x.size(0)))
        eps_prior = self.prior_net.draw_noise(m)
        eps_dec = self.context_net.draw_noise(m)
        z_m = self.prior_sample(m, noise=eps_prior)[0]
        with torch.no_grad(), self.decoder_noise(noise=eps_dec):
            x_m = self.decode([z_m.detach()])
        feats_m = self.ratio_features(x_m)
        pos, neg = self.ratio(feats, z_q.detach()), self.ratio(feats_m, z_m.detach())
        ratio_loss = RatioEstimator.logistic_loss(pos, neg)

        prior_loss = z_m.new_zeros(())
        if torch.is_grad_enabled():
            z_leaf = z_m.detach().requires_grad_(True)
            t_m = self.ratio(feats_m.detach(), z_leaf, frozen=True)
            # x_m was sampled with eps_dec: score of the discrete decode given the same noise
            with self.decoder_noise(noise=eps_dec):
                lp_m = self.decode_log_prob([z_leaf], x_m)
            w = torch.softmax(t_m.detach(), dim=0)
            (grad_z,) = torch.autograd.grad((w * (t_m + lp_m)).sum(), z_leaf)
            prior_loss = -(grad_z.detach() * z_m).sum()

        loss = t.mean() - ll.mean() + prior_loss
        elbo = -t + self.log_data_mass
        logs = {
            "loss": _scalar(loss),
            "elbo": _scalar(elbo.mean()),
            "kl": _scalar((ll - elbo).mean()),
            "kl_z": _scalar((ll - elbo).mean()),
            "log_likelihood": _scalar(ll.mean()),
            "ratio_loss": _scalar(ratio_loss),
            "ratio_accuracy": RatioEstimator.accuracy(pos, neg),
        }
        return {"model": loss, "ratio": ratio_loss}, logs

    # ------------------------------------------------------------------ log p(x)
    @torch.no_grad()
    def log_marginal_estimate(self, x: Tensor, k: int, chunk: int = 64, generator: torch.Generator | None = None) -> Tensor:
        """Simple Monte-Carlo estimate ``log (1/K) sum_k p(x|z_k, eps'_k)`` ``[B]``.

        ``z_k`` from the implicit prior (the only explicit proposal available: ``p(z)`` has
        no density to importance-weight with), one decoder-noise draw ``eps'_k`` per ``z_k``;
        ``p(x|z, eps')`` is the explicit GRU likelihood. Unbiased for ``p(x)`` (stochastic
        lower bound of ``log p(x)`` in expectation), high variance when the posterior is
        narrow compared with the prior.
        """
        b = x.size(0)
        log_w = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            z = self.prior_sample(b * n, generator)
            with self.decoder_noise(generator):
                w = self.log_likelihood(z, x.repeat_interleave(n, dim=0))
            log_w.append(w.view(b, n))
        return self._mean_exp(log_w, k)
