"""``vlae``: the Variational Ladder Autoencoder (Zhao, Song & Ermon 2017).

Instead of a Markov chain of latent levels, every level has its own independent prior
``p(z_l) = N(0, I)`` and the hierarchy lives in the networks:

* encoder ``h_0 = GRU(x)`` (bidirectional, final states), ``h_l = g_l(h_{l-1})`` and
  ``q(z_l | x) = N(mu_l(h_l), diag sigma_l^2(h_l))`` for ``l = 1..L``, so higher levels
  see ``x`` through more layers;
* decoder ``z~_L = f_L(z_L)``, ``z~_l = u_l([z~_{l+1}; v_l(z_l)])`` (concatenation), and the
  GRU decoder is conditioned on ``z~_1`` (``context_dim = hidden``). ``z_L`` goes through
  ``f_L`` and every ``u_l`` below it, ``z_1`` only through ``v_1`` and ``u_1``: deeper levels
  pass through deeper (more expressive) networks, which is how the ladder separates the
  features of different abstraction.

The posterior factorises over levels and the priors are fixed, so each level's KL is the
analytic ``KL(q(z_l|x) || N(0, I))``; ``log_q`` and ``log_prior`` are the joint densities of
the draw (sums over levels) for ``iwae``. The local variational parameters of the
inference-gap analysis are every level's ``(mu, logvar)``.
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

__all__ = ["VLAE"]

LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ELU(), nn.Linear(hidden, n_out), nn.ELU())


class VLAE(SequenceVAE):
    """Variational ladder autoencoder with ``L = config.groups`` levels of ``latent`` units.

    Modules: ``encoder`` (``h_0``), ``ladder_up[l]`` (``g_{l+1}``), ``to_posterior[l]``
    (``mu, logvar`` of ``z[l]``), ``top`` (``f_L``), ``lateral[l]`` (``v_{l+1}``) and
    ``combine[l]`` (``u_{l+1}``) for the ``L - 1`` lower levels (0-based lists).

    Shapes: ``x [B, T]`` -> ``z = [z_1, ..., z_L]``, each ``[B, latent]``; decoder context
    ``[B, hidden]``.

    Raises:
        ValueError: ``config.groups < 2``.
    """

    def __init__(self, config: VAEConfig) -> None:
        if config.groups < 2:
            raise ValueError(f"vlae needs config.groups >= 2 latent levels, got {config.groups}")
        c = config
        width = c.hidden
        super().__init__(config, context_dim=width)
        self.levels = c.groups
        self.encoder = GRUEncoder(self.embedding, c.hidden)
        self.ladder_up = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * c.hidden if level == 0 else c.hidden, c.hidden), nn.ELU())
            for level in range(c.groups)
        )
        self.to_posterior = nn.ModuleList(nn.Linear(c.hidden, 2 * c.latent) for _ in range(c.groups))
        self.top = _mlp(c.latent, width, width)
        self.lateral = nn.ModuleList(nn.Linear(c.latent, width) for _ in range(c.groups - 1))
        self.combine = nn.ModuleList(_mlp(2 * width, width, width) for _ in range(c.groups - 1))

    def posterior_params(self, x: Tensor) -> list[tuple[Tensor, Tensor]]:
        """``(mu, logvar)`` of ``q(z_l | x)`` per level, each ``[B, latent]``."""
        h = self.encoder(x)
        params = []
        for g, head in zip(self.ladder_up, self.to_posterior, strict=True):
            h = g(h)
            mu, logvar = head(h).chunk(2, dim=1)
            params.append((mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)))
        return params

    def context(self, z: list[Tensor]) -> Tensor:
        """``z~_1`` of the generative ladder: ``z~_L = f_L(z_L)``, ``z~_l = u_l([z~_{l+1}; v_l(z_l)])``."""
        h = self.top(z[-1])
        for level in range(self.levels - 2, -1, -1):
            h = self.combine[level](torch.cat([h, self.lateral[level](z[level])], dim=1))
        return h

    def _draw(self, params: list[tuple[Tensor, Tensor]], generator: torch.Generator | None) -> Inference:
        z, kl, log_q, log_p = [], {}, 0.0, 0.0
        for level, (mu, logvar) in enumerate(params):
            zl = reparameterise(mu, logvar, generator)
            z.append(zl)
            kl[f"z{level + 1}"] = gaussian_kl(mu, logvar)
            log_q = log_q + gaussian_log_prob(zl, mu, logvar)
            log_p = log_p + gaussian_log_prob(zl, torch.zeros_like(zl), torch.zeros_like(zl))
        return Inference(z, kl, log_q, log_p)

    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """``z_l ~ q(z_l | x)`` for ``l = 1..L`` (drawn in that order); analytic KL per level."""
        return self._draw(self.posterior_params(x), generator)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """``L`` independent ``N(0, I)`` groups ``[n, latent]``."""
        device = self.output.weight.device
        return [torch.randn(n, self.config.latent, generator=generator, device=device) for _ in range(self.levels)]

    def resample_level(self, z: list[Tensor], level: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """A new latent list with ``z[level]`` (0-based) redrawn from ``N(0, I)`` and the others kept.

        Raises:
            ValueError: ``level`` is outside ``0..L-1`` or ``z`` does not have ``L`` groups.
        """
        if len(z) != self.levels or not 0 <= level < self.levels:
            raise ValueError(f"resample_level: need {self.levels} groups and 0 <= level < {self.levels}")
        out = [t.clone() for t in z]
        out[level] = torch.randn(z[level].shape, generator=generator, device=z[level].device, dtype=z[level].dtype)
        return out

    # ------------------------------------------------------------------ inference gaps
    def local_parameters(self, x: Tensor) -> dict[str, Tensor]:
        """``{"mu_z1", "logvar_z1", ..., "mu_zL", "logvar_zL"}``: every level's ``q(z_l|x)`` as detached leaves."""
        with torch.no_grad():
            params = self.posterior_params(x)
        out = {}
        for level, (mu, logvar) in enumerate(params):
            out[f"mu_z{level + 1}"] = mu.clone().requires_grad_(True)
            out[f"logvar_z{level + 1}"] = logvar.clone().requires_grad_(True)
        return out

    def local_posterior(self, params: dict[str, Tensor], generator: torch.Generator | None = None) -> Inference:
        return self._draw([(params[f"mu_z{k}"], params[f"logvar_z{k}"]) for k in range(1, self.levels + 1)], generator)

    def local_elbo(
        self, x: Tensor, params: dict[str, Tensor], samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """ELBO ``[B]`` under the per-level Gaussians ``params`` (noise drawn in :meth:`infer`'s order)."""
        levels = [(params[f"mu_z{k}"], params[f"logvar_z{k}"]) for k in range(1, self.levels + 1)]
        total = 0.0
        for _ in range(samples):
            inf = self._draw(levels, generator)
            total = total + self.log_likelihood(inf.z, x)
        return total / samples - sum(gaussian_kl(mu, logvar) for mu, logvar in levels)
