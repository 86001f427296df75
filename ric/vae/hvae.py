"""``hvae``: the Markov hierarchical VAE criticised by Zhao, Song & Ermon (2017).

"Learning Hierarchical Features from Generative Models" (ICML 2017) analyses the
hierarchical VAE with a *Markov* chain of latent levels ``z_1, ..., z_L`` (``z_1`` nearest
the data):

* generative model ``p(z_L) = N(0, I)``, ``p(z_l | z_{l+1}) = N(mu_l(z_{l+1}),
  diag sigma_l^2(z_{l+1}))`` (a small MLP per level) and ``p(x | z_1)``: the GRU decoder is
  conditioned on ``z_1`` only;
* bottom-up Markov posterior ``q(z_1 | x)`` from the bidirectional GRU encoder of ``x`` and
  ``q(z_{l+1} | z_l)`` from an MLP of ``z_l`` alone: the upper posteriors never see ``x``.

Their point is that, with a sufficiently expressive ``p(x | z_1)``, the upper levels can be
ignored (everything representable is representable by ``z_1``); this model is kept as the
baseline for that claim, next to :class:`~ric.vae.vlae.VLAE`.

KL per level
------------
The ELBO is ``E_q[log p(x|z_1)] - E_q[log q(z_{1:L}|x) - log p(z_{1:L})]`` and the second
expectation splits over levels. For a level ``l < L`` the term ``log q(z_l | z_{l-1}) -
log p(z_l | z_{l+1})`` (``z_0 = x``) involves the prior conditional on ``z_{l+1}``, which is
drawn *after* ``z_l`` from ``q(z_{l+1} | z_l)`` and so depends on it: it is not a KL between
two Gaussians over ``z_l``, and a closed form evaluated at the sampled ``z_{l+1}`` would be
biased. These levels therefore use the single-sample Monte Carlo estimate
``log q(z_l | .) - log p(z_l | z_{l+1})`` at the reparameterised draw (unbiased; it can be
negative for a single draw). For the top level the prior ``N(0, I)`` depends on nothing,
so conditionally on the drawn ``z_{L-1}``::

    E_{q(z_L|z_{L-1})}[log q(z_L|z_{L-1}) - log N(z_L; 0, I)] = KL(q(z_L|z_{L-1}) || N(0, I))

and the analytic Gaussian KL at the sampled ``z_{L-1}`` is an unbiased, lower-variance
(Rao-Blackwellised) estimate of that term. The per-level terms sum to an unbiased estimate
of ``KL(q(z|x) || p(z))``; ``log_q`` and ``log_prior`` of :class:`~ric.vae.base.Inference`
are the exact joint densities of the draw (as the importance weights of ``iwae`` need), so
``log_q - log_prior`` equals the summed KL terms in expectation, not draw by draw.

Local parameters
----------------
For the inference-gap analysis (:meth:`HVAE.local_parameters`) the per-example variational
parameters are the ``(mu, logvar)`` of ``q(z_1 | x)``: they are the only part of the
posterior computed from ``x``. The upper conditionals ``q(z_{l+1} | z_l)`` are networks
shared by all examples and stay fixed, so the optimised ``q*`` lies in the family "free
Gaussian ``q(z_1)`` followed by the model's own upper chain".
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ric.vae.base import (
    GRUEncoder,
    Inference,
    SequenceVAE,
    VAEConfig,
    gaussian_kl,
    gaussian_log_prob,
    reparameterise,
)

__all__ = ["HVAE"]

LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0


class _GaussianMLP(nn.Module):
    """``(mu, logvar)`` of a diagonal Gaussian from an input vector (one hidden ELU layer)."""

    def __init__(self, n_in: int, hidden: int, n_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ELU(), nn.Linear(hidden, 2 * n_out))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.net(h).chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


def _check_groups(config: VAEConfig, name: str) -> None:
    if config.groups < 2:
        raise ValueError(f"{name} needs config.groups >= 2 latent levels, got {config.groups}")


class HVAE(SequenceVAE):
    """Markov hierarchical VAE with ``L = config.groups`` levels of ``latent`` units each.

    Modules: ``encoder`` + ``to_posterior`` (``q(z_1|x)``), ``up[l]`` (``q(z_{l+2}|z_{l+1})``,
    0-based ``up[l]`` maps ``z[l]`` to the parameters of ``z[l+1]``) and ``down[l]``
    (``p(z[l] | z[l+1])``). The decoder context is ``z_1`` (``context_dim = latent``).

    Shapes: ``x [B, T]`` -> ``z = [z_1, ..., z_L]``, each ``[B, latent]``.

    Raises:
        ValueError: ``config.groups < 2``.
    """

    def __init__(self, config: VAEConfig) -> None:
        _check_groups(config, "hvae")
        super().__init__(config, context_dim=config.latent)
        c = config
        self.levels = c.groups
        self.encoder = GRUEncoder(self.embedding, c.hidden)
        self.to_posterior = nn.Linear(2 * c.hidden, 2 * c.latent)
        self.up = nn.ModuleList(_GaussianMLP(c.latent, c.hidden, c.latent) for _ in range(c.groups - 1))
        self.down = nn.ModuleList(_GaussianMLP(c.latent, c.hidden, c.latent) for _ in range(c.groups - 1))

    # ------------------------------------------------------------------ distributions
    def context(self, z: list[Tensor]) -> Tensor:
        """The decoder sees ``z_1`` only: ``p(x | z_1)``."""
        return z[0]

    def posterior_params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of ``q(z_1 | x)``, each ``[B, latent]``."""
        mu, logvar = self.to_posterior(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def upper_posterior_params(self, z_below: Tensor, level: int) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of ``q(z[level] | z[level - 1])`` (0-based ``level >= 1``): a function of ``z_below`` only."""
        return self.up[level - 1](z_below)

    def prior_params(self, z_above: Tensor, level: int) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of ``p(z[level] | z[level + 1])`` for a 0-based ``level < L - 1`` (the top is ``N(0, I)``)."""
        return self.down[level](z_above)

    # ------------------------------------------------------------------ inference
    def _posterior_draw(self, mu1: Tensor, logvar1: Tensor, generator: torch.Generator | None) -> Inference:
        """Draw ``z_1 ~ N(mu1, logvar1)`` then ``z_2..z_L`` from the shared upper chain; score it."""
        z = [reparameterise(mu1, logvar1, generator)]
        log_q = [gaussian_log_prob(z[0], mu1, logvar1)]
        mu_q, logvar_q = mu1, logvar1
        for level in range(1, self.levels):
            mu_q, logvar_q = self.upper_posterior_params(z[-1], level)
            z.append(reparameterise(mu_q, logvar_q, generator))
            log_q.append(gaussian_log_prob(z[-1], mu_q, logvar_q))
        # (mu_q, logvar_q) now parameterise q(z_L | z_{L-1}).
        log_p = []
        for level in range(self.levels - 1):
            mu_p, logvar_p = self.prior_params(z[level + 1], level)
            log_p.append(gaussian_log_prob(z[level], mu_p, logvar_p))
        top = z[-1]
        log_p.append(gaussian_log_prob(top, torch.zeros_like(top), torch.zeros_like(top)))
        kl = {f"z{level + 1}": log_q[level] - log_p[level] for level in range(self.levels - 1)}
        kl[f"z{self.levels}"] = gaussian_kl(mu_q, logvar_q)  # analytic given z_{L-1}: see module docstring
        return Inference(z, kl, torch.stack(log_q).sum(0), torch.stack(log_p).sum(0))

    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """``z_1 ~ q(z_1|x)``, then ``z_{l+1} ~ q(z_{l+1}|z_l)``; per-level KL as in the module docstring."""
        mu, logvar = self.posterior_params(x)
        return self._posterior_draw(mu, logvar, generator)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Ancestral draws: ``z_L ~ N(0, I)``, then ``z_l ~ p(z_l | z_{l+1})`` down to ``z_1``."""
        device = self.output.weight.device
        top = torch.randn(n, self.config.latent, generator=generator, device=device)
        return self._resample_below([top], generator)

    def _resample_below(self, upper: list[Tensor], generator: torch.Generator | None) -> list[Tensor]:
        """Complete ``upper = [z_{k+1}, ..., z_L]`` (0-based ``z[k..]``) downwards with prior draws."""
        z = list(upper)
        for level in range(self.levels - len(z) - 1, -1, -1):
            mu, logvar = self.prior_params(z[0], level)
            z.insert(0, reparameterise(mu, logvar, generator))
        return z

    def resample_level(self, z: list[Tensor], level: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """A new latent list with ``z[level]`` redrawn from ``p(z[level] | z[level + 1])`` (``N(0, I)`` at the
        top) and every level below it redrawn ancestrally; the levels above are kept (0-based ``level``).

        Raises:
            ValueError: ``level`` is outside ``0..L-1`` or ``z`` does not have ``L`` groups.
        """
        if len(z) != self.levels or not 0 <= level < self.levels:
            raise ValueError(f"resample_level: need {self.levels} groups and 0 <= level < {self.levels}")
        above = [t.clone() for t in z[level + 1:]]
        if above:
            mu, logvar = self.prior_params(above[0], level)
            new = reparameterise(mu, logvar, generator)
        else:
            new = torch.randn(z[level].shape, generator=generator, device=z[level].device, dtype=z[level].dtype)
        return self._resample_below([new] + above, generator)

    # ------------------------------------------------------------------ inference gaps
    def local_parameters(self, x: Tensor) -> dict[str, Tensor]:
        """``{"mu", "logvar"}`` of ``q(z_1 | x)`` as detached leaves (the upper chain is shared and fixed)."""
        with torch.no_grad():
            mu, logvar = self.posterior_params(x)
        return {"mu": mu.clone().requires_grad_(True), "logvar": logvar.clone().requires_grad_(True)}

    def local_posterior(self, params: dict[str, Tensor], generator: torch.Generator | None = None) -> Inference:
        return self._posterior_draw(params["mu"], params["logvar"], generator)

    def local_elbo(
        self, x: Tensor, params: dict[str, Tensor], samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """ELBO ``[B]`` with ``q(z_1) = N(mu, logvar)`` from ``params`` and the model's upper chain.

        Each of the ``samples`` draws uses the same estimator (and the same order of noise) as
        :meth:`infer`, so at the encoder's own parameters it reproduces the model's ELBO.
        """
        total = 0.0
        for _ in range(samples):
            inf = self._posterior_draw(params["mu"], params["logvar"], generator)
            total = total + self.log_likelihood(inf.z, x) - sum(inf.kl.values())
        return total / samples
