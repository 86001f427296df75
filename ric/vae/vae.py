"""``vae``: the plain sequence VAE (Bowman et al. 2016; Gómez-Bombarelli et al. 2018 for SMILES).

Bidirectional GRU encoder -> ``q(z|x) = N(mu(x), diag sigma^2(x))`` -> GRU decoder with
``z`` as its initial state and as an input at every step; prior ``N(0, I)``; analytic KL.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ric.vae.base import GRUEncoder, Inference, SequenceVAE, VAEConfig, gaussian_kl, gaussian_log_prob, reparameterise

__all__ = ["VAE"]


class VAE(SequenceVAE):
    """Single-group Gaussian VAE (``config.groups`` is ignored: one group of ``latent``).

    Shapes: ``x [B, T]`` -> ``z = [[B, latent]]``.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config, context_dim=config.latent)
        self.encoder = GRUEncoder(self.embedding, config.hidden)
        self.to_posterior = nn.Linear(2 * config.hidden, 2 * config.latent)

    def posterior_params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of ``q(z|x)``, each ``[B, latent]``."""
        mu, logvar = self.to_posterior(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        mu, logvar = self.posterior_params(x)
        return self.local_posterior({"mu": mu, "logvar": logvar}, generator)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        device = self.output.weight.device
        return [torch.randn(n, self.config.latent, generator=generator, device=device)]

    def local_parameters(self, x: Tensor) -> dict[str, Tensor]:
        with torch.no_grad():
            mu, logvar = self.posterior_params(x)
        return {"mu": mu.clone().requires_grad_(True), "logvar": logvar.clone().requires_grad_(True)}

    def local_posterior(self, params: dict[str, Tensor], generator: torch.Generator | None = None) -> Inference:
        mu, logvar = params["mu"], params["logvar"]
        z = reparameterise(mu, logvar, generator)
        log_p = gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        return Inference([z], {"z": gaussian_kl(mu, logvar)}, gaussian_log_prob(z, mu, logvar), log_p)

    def local_elbo(
        self, x: Tensor, params: dict[str, Tensor], samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        mu, logvar = params["mu"], params["logvar"]
        total = 0.0
        for _ in range(samples):
            z = reparameterise(mu, logvar, generator)
            total = total + self.log_likelihood([z], x)
        return total / samples - gaussian_kl(mu, logvar)
