"""``nvae``: an NVAE-style deep hierarchical VAE (Vahdat & Kautz 2020) for token sequences.

"NVAE: A Deep Hierarchical Variational Autoencoder" (NeurIPS 2020) adapted to 1-D SMILES
token sequences and the shared GRU decoder of :class:`~ric.vae.base.SequenceVAE`.

Architecture
------------
* **Bottom-up tower** (encoder only): token embeddings ``[B, E, T]`` -> a width-3 stem
  convolution to ``C = config.hidden`` channels -> ``L = config.groups`` stages of
  ``options["cells_per_group"]`` (default 1) residual cells over positions. Stage ``l``
  (0 = nearest the data) ends in a pooled feature ``e_l = [masked mean; masked max]``
  ``[B, 2C]``. Padding positions are zeroed after every layer and excluded from pooling.
* **Residual cells** (:class:`ConvCell`, NVAE's generative cell in 1-D):
  ``BN -> 1x1 conv (C -> expansion*C) -> BN -> Swish -> depthwise conv (kernel, default 5)
  -> BN -> Swish -> 1x1 conv (-> C) -> BN -> squeeze-and-excitation``, output
  ``x + 0.1 * cell(x)`` (NVAE's residual scaling).
* **Latent groups** are global vectors ``z_l [B, latent]`` (the base decoder's contract),
  listed bottom-first ``z = [z_1 (nearest the data), ..., z_L (top)]``, KL keys
  ``"z1".."zL"``.
* **Top-down path**, shared by inference and generation: a state ``s [B, C]`` starts from a
  learned constant and walks from ``z_L`` down to ``z_1``; after each group
  ``s <- cell_l(s + W_l z_l)`` with :class:`VectorCell` (the residual cell on a vector:
  BN -> linear -> BN -> Swish -> linear -> BN -> SE, ``x + 0.1 * cell(x)``).
  Prior ``p(z_L) = N(0, I)``, ``p(z_l | z_{>l}) = N(mu_p(s), sigma_p^2(s))``.
  Posterior (residual normal) ``q(z_l | z_{>l}, x) = N(mu_p + dmu, sigma_p^2 * dsigma^2)``
  with ``(dmu, log dsigma^2)`` from ``[s; e_l]``. Its KL to the prior is closed form
  (:func:`residual_normal_kl`)::

      KL = 1/2 sum_i [dmu_i^2 / sigma_p,i^2 + dsigma_i^2 - log dsigma_i^2 - 1]

  evaluated at the sampled ``z_{>l}`` (an unbiased estimate of the hierarchical KL, as in
  NVAE). ``log_q``/``log_prior`` are the joint densities of the draw (sums over groups).
* The decoder context is ``[s_final; z_1; ...; z_L]`` (``context_dim = C + L * latent``):
  :meth:`NVAE.context` re-runs the top-down path with the given ``z``.

Training
--------
* **Spectral regularisation**: for every ``Conv1d`` of the model and every ``Linear`` of the
  top-down cells (squeeze-and-excitation layers excepted) the largest singular value of
  the weight reshaped to ``[out, in * kernel]`` is estimated by power iteration
  (:func:`power_iteration_sigma`) with persistent ``sr_u``/``sr_v`` buffers on the layer
  (20 iterations at construction, then ``options["spectral_iterations"]``, default 1, per
  loss evaluation; the buffers move only in training mode). :meth:`NVAE.extra_loss` adds
  ``lambda * sum sigma`` with ``lambda = options["spectral_weight"]`` (default 0.1; 0
  disables it).
* **KL warm-up and balancing**: :meth:`NVAE.training_losses` weights the KL by the config's
  warm-up ``beta``; while ``beta < 1`` (and ``options["kl_balance"]``, default true) the
  groups are weighted by NVAE's balancing coefficients (:func:`kl_balance_coefficients`)
  ``gamma_l = (kappa_l / alpha_l) / mean_j(kappa_j / alpha_j)``, ``kappa_l = |batch-mean
  KL_l| + 0.01`` (detached), ``alpha_l`` proportional to the group's size (all groups have
  ``latent`` units here, so ``gamma_l = kappa_l / mean(kappa)``): groups with more KL get
  more weight, preventing posterior collapse of the others; ``mean(gamma) = 1``. After the
  warm-up the plain sum is used. Free bits apply per group before the weighting.
* **NaN guards**: prior log-variances and ``log dsigma^2`` are soft-clamped to
  ``(-8, 8)`` with ``8 tanh(v / 8)`` (NVAE's soft clamp), and :meth:`NVAE.training_losses`
  raises :class:`FloatingPointError` naming the reconstruction term, every group KL and the
  spectral term when the loss is not finite (nothing is skipped silently).

Local parameters: not provided. ``q(z_l | z_{>l}, x)`` depends on the sampled upper
groups through the top-down path, so there is no fixed per-example parameter set of the
same family to optimise; :meth:`NVAE.local_parameters` raises ``NotImplementedError``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ric.vae.base import Inference, SequenceVAE, VAEConfig, gaussian_log_prob, reparameterise
from ric.vae.tokens import PAD

__all__ = [
    "NVAE",
    "ConvCell",
    "VectorCell",
    "SqueezeExcite",
    "residual_normal_kl",
    "kl_balance_coefficients",
    "power_iteration_sigma",
    "soft_clamp",
]

#: Bound of the soft clamp on log-variances.
LOGVAR_BOUND = 8.0
#: Power iterations run on the initial weights.
INITIAL_POWER_ITERATIONS = 20


def soft_clamp(x: Tensor, bound: float) -> Tensor:
    """``bound * tanh(x / bound)``: smooth, identity near 0, limited to ``(-bound, bound)``."""
    return bound * torch.tanh(x / bound)


def residual_normal_kl(delta_mu: Tensor, delta_logvar: Tensor, logvar_p: Tensor) -> Tensor:
    """``KL(N(mu_p + dmu, sigma_p^2 dsigma^2) || N(mu_p, sigma_p^2))`` summed over the last dimension.

    ``1/2 sum [dmu^2 / sigma_p^2 + dsigma^2 - log dsigma^2 - 1]``; ``mu_p`` cancels.
    """
    return 0.5 * (delta_mu.pow(2) * torch.exp(-logvar_p) + delta_logvar.exp() - delta_logvar - 1).sum(-1)


def kl_balance_coefficients(kl_means: Tensor, alpha: Tensor | None = None, eps: float = 0.01) -> Tensor:
    """NVAE's KL balancing coefficients ``[L]`` for group KLs ``kl_means [L]`` (batch means).

    ``gamma_l = (kappa_l / alpha_l) / mean_j(kappa_j / alpha_j)`` with ``kappa = |KL| + eps``;
    ``alpha`` (default all equal) is proportional to the groups' sizes. Detached; mean 1.
    """
    kappa = kl_means.detach().abs() + eps
    if alpha is not None:
        kappa = kappa / alpha.to(kappa)
    return kappa / kappa.mean()


def power_iteration_sigma(weight: Tensor, u: Tensor, iterations: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """Largest singular value of ``weight [m, n]`` by power iteration from ``u [m]``.

    Runs ``iterations`` (at least 1) rounds of ``v <- W^T u / |.|``, ``u <- W v / |.|`` without
    gradient, then returns ``(sigma, u, v)`` with ``sigma = u^T W v`` differentiable in
    ``weight`` (gradient ``u v^T``) and the updated unit vectors (detached; ``u`` is not
    modified in place).
    """
    if weight.dim() != 2:
        raise ValueError(f"power iteration needs a matrix, got shape {tuple(weight.shape)}")
    with torch.no_grad():
        w = weight.detach()
        v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
        u = F.normalize(w @ v, dim=0, eps=1e-12)
        for _ in range(max(iterations, 1) - 1):
            v = F.normalize(w.t() @ u, dim=0, eps=1e-12)
            u = F.normalize(w @ v, dim=0, eps=1e-12)
    sigma = torch.dot(u, weight @ v)
    return sigma, u, v


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x [B, C, T]`` over unmasked positions (``mask [B, 1, T]``) -> ``[B, C]``."""
    return (x * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)


class _BatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` that normalises a single-row vector batch with its running statistics in
    training mode (a batch of one vector has no batch variance), e.g. ``prior_sample(1)``."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.dim() == 2 and x.size(0) == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: channels gated by ``sigmoid(W2 relu(W1 pool(x)))``.

    Shapes: ``x [B, C, T]`` (pooled over unmasked positions) or ``[B, C]``.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        inner = max(channels // reduction, 4)
        self.fc1 = nn.Linear(channels, inner)
        self.fc2 = nn.Linear(inner, channels)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.dim() == 3:
            pooled = _masked_mean(x, mask) if mask is not None else x.mean(-1)
            return x * torch.sigmoid(self.fc2(F.relu(self.fc1(pooled)))).unsqueeze(-1)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x))))


class ConvCell(nn.Module):
    """Residual cell over positions with a depthwise-separable convolution (see the module docstring).

    Shapes: ``x [B, C, T]``, ``mask [B, 1, T]`` (1 at tokens) -> ``[B, C, T]``.
    """

    def __init__(self, channels: int, expansion: int = 2, kernel: int = 5) -> None:
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"the depthwise kernel must be odd, got {kernel}")
        inner = expansion * channels
        self.bn0 = _BatchNorm(channels)
        self.expand = nn.Conv1d(channels, inner, 1, bias=False)
        self.bn1 = _BatchNorm(inner)
        self.depthwise = nn.Conv1d(inner, inner, kernel, padding=kernel // 2, groups=inner, bias=False)
        self.bn2 = _BatchNorm(inner)
        self.project = nn.Conv1d(inner, channels, 1, bias=False)
        self.bn3 = _BatchNorm(channels)
        self.se = SqueezeExcite(channels)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        y = F.silu(self.bn1(self.expand(self.bn0(x)))) * mask
        y = F.silu(self.bn2(self.depthwise(y))) * mask
        y = self.se(self.bn3(self.project(y)) * mask, mask)
        return (x + 0.1 * y) * mask


class VectorCell(nn.Module):
    """The residual cell on a vector state (top-down path). Shapes: ``[B, C] -> [B, C]``."""

    def __init__(self, channels: int, expansion: int = 2) -> None:
        super().__init__()
        inner = expansion * channels
        self.bn0 = _BatchNorm(channels)
        self.fc1 = nn.Linear(channels, inner)
        self.bn1 = _BatchNorm(inner)
        self.fc2 = nn.Linear(inner, channels)
        self.bn2 = _BatchNorm(channels)
        self.se = SqueezeExcite(channels)

    def forward(self, x: Tensor) -> Tensor:
        y = F.silu(self.bn1(self.fc1(self.bn0(x))))
        y = self.se(self.bn2(self.fc2(y)))
        return x + 0.1 * y


class NVAE(SequenceVAE):
    """NVAE-style hierarchical VAE with ``L = config.groups >= 2`` global latent groups.

    Modules: ``stem``, ``bottom_up[l]`` (cells of stage ``l``), ``top_state`` (learned initial
    top-down state), ``prior_heads[l]`` (``p(z[l] | z[l+1:])`` for ``l < L - 1``),
    ``posterior_heads[l]`` (``dmu, log dsigma^2`` of ``z[l]``), ``z_proj[l]`` and
    ``top_down[l]`` (state update after ``z[l]``); 0-based lists, ``z[0]`` nearest the data.

    Shapes: ``x [B, T]`` -> ``z = [z_1, ..., z_L]``, each ``[B, latent]``; decoder context
    ``[B, hidden + L * latent]``.

    Raises:
        ValueError: ``config.groups < 2``.
    """

    def __init__(self, config: VAEConfig) -> None:
        if config.groups < 2:
            raise ValueError(f"nvae needs config.groups >= 2 latent groups, got {config.groups}")
        c = config
        width = c.hidden
        super().__init__(config, context_dim=width + c.groups * c.latent)
        opts = c.options or {}
        self.levels = c.groups
        expansion = int(opts.get("expansion", 2))
        kernel = int(opts.get("kernel", 5))
        cells = int(opts.get("cells_per_group", 1))
        self.spectral_weight = float(opts.get("spectral_weight", 0.1))
        self.spectral_iterations = int(opts.get("spectral_iterations", 1))
        self.kl_balance = bool(opts.get("kl_balance", True))

        self.stem = nn.Conv1d(c.embedding, width, 3, padding=1)
        self.bottom_up = nn.ModuleList(
            nn.ModuleList(ConvCell(width, expansion, kernel) for _ in range(cells)) for _ in range(c.groups)
        )
        self.top_state = nn.Parameter(torch.zeros(width))
        self.prior_heads = nn.ModuleList(nn.Linear(width, 2 * c.latent) for _ in range(c.groups - 1))
        self.posterior_heads = nn.ModuleList(nn.Linear(3 * width, 2 * c.latent) for _ in range(c.groups))
        self.z_proj = nn.ModuleList(nn.Linear(c.latent, width) for _ in range(c.groups))
        self.top_down = nn.ModuleList(VectorCell(width, expansion) for _ in range(c.groups))

        self._spectral_names = [
            name
            for name, m in self.named_modules()
            if isinstance(m, nn.Conv1d)
            or (isinstance(m, nn.Linear) and name.startswith("top_down.") and ".se." not in name)
        ]
        for m in self.spectral_layers():
            rows, cols = m.weight.shape[0], m.weight[0].numel()
            m.register_buffer("sr_u", F.normalize(torch.randn(rows), dim=0))
            m.register_buffer("sr_v", F.normalize(torch.randn(cols), dim=0))
        with torch.no_grad():
            self.spectral_loss(iterations=INITIAL_POWER_ITERATIONS, update=True)

    # ------------------------------------------------------------------ networks
    def bottom_up_features(self, x: Tensor) -> list[Tensor]:
        """Pooled features ``e_l = [masked mean; masked max]`` ``[B, 2 * hidden]`` of each stage (bottom first)."""
        mask = (x != PAD).unsqueeze(1).to(self.top_state.dtype)
        h = self.stem(self.embedding(x).transpose(1, 2)) * mask
        feats = []
        for stage in self.bottom_up:
            for cell in stage:
                h = cell(h, mask)
            peak = h.masked_fill(mask == 0, float("-inf")).amax(-1)
            feats.append(torch.cat([_masked_mean(h, mask), peak], dim=1))
        return feats

    def _top_down(
        self,
        n: int,
        enc: list[Tensor] | None = None,
        fixed: list[Tensor | None] | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[list[Tensor], Tensor, list[tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]]]:
        """Walk the top-down path from ``z_L`` to ``z_1``.

        Each group is drawn from the residual posterior when ``enc`` (bottom-up features) is
        given, else taken from ``fixed[l]`` when that is not ``None``, else drawn from the prior.

        Returns:
            ``z`` (bottom first), the final state ``[n, hidden]`` and per group
            ``(mu_p, logvar_p, (dmu, dlogvar) or None)``.
        """
        d = self.config.latent
        s = self.top_state.expand(n, -1)
        z: list[Tensor] = [s] * self.levels
        stats: list = [None] * self.levels
        for level in range(self.levels - 1, -1, -1):
            if level == self.levels - 1:
                mu_p = s.new_zeros(n, d)
                logvar_p = s.new_zeros(n, d)
            else:
                mu_p, logvar_p = self.prior_heads[level](s).chunk(2, dim=1)
                logvar_p = soft_clamp(logvar_p, LOGVAR_BOUND)
            residual = None
            if enc is not None:
                d_mu, d_logvar = self.posterior_heads[level](torch.cat([s, enc[level]], dim=1)).chunk(2, dim=1)
                residual = (d_mu, soft_clamp(d_logvar, LOGVAR_BOUND))
                zl = reparameterise(mu_p + d_mu, logvar_p + residual[1], generator)
            elif fixed is not None and fixed[level] is not None:
                zl = fixed[level]
            else:
                zl = reparameterise(mu_p, logvar_p, generator)
            z[level] = zl
            stats[level] = (mu_p, logvar_p, residual)
            s = self.top_down[level](s + self.z_proj[level](zl))
        return z, s, stats

    def context(self, z: list[Tensor]) -> Tensor:
        """``[s_final; z_1; ...; z_L]``: the top-down path re-run with the given groups."""
        if len(z) != self.levels:
            raise ValueError(f"nvae needs {self.levels} latent groups, got {len(z)}")
        _, s, _ = self._top_down(z[0].size(0), fixed=list(z))
        return torch.cat([s, *z], dim=1)

    # ------------------------------------------------------------------ inference
    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """Groups drawn top-down from the residual posteriors; closed-form KL per group at the drawn upper groups."""
        z, _, stats = self._top_down(x.size(0), enc=self.bottom_up_features(x), generator=generator)
        kl, log_q, log_p = {}, 0.0, 0.0
        for level, (zl, (mu_p, logvar_p, (d_mu, d_logvar))) in enumerate(zip(z, stats, strict=True)):
            kl[f"z{level + 1}"] = residual_normal_kl(d_mu, d_logvar, logvar_p)
            log_q = log_q + gaussian_log_prob(zl, mu_p + d_mu, logvar_p + d_logvar)
            log_p = log_p + gaussian_log_prob(zl, mu_p, logvar_p)
        return Inference(z, kl, log_q, log_p)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Ancestral draws ``z_L ~ N(0, I)``, then ``z_l ~ p(z_l | z_{>l})`` down to ``z_1``."""
        return self._top_down(n, generator=generator)[0]

    def resample_level(self, z: list[Tensor], level: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """A new latent list with ``z[level]`` redrawn from ``p(z[level] | z[level+1:])`` and every
        group below it redrawn ancestrally; the groups above are kept (0-based ``level``).

        Raises:
            ValueError: ``level`` is outside ``0..L-1`` or ``z`` does not have ``L`` groups.
        """
        if len(z) != self.levels or not 0 <= level < self.levels:
            raise ValueError(f"resample_level: need {self.levels} groups and 0 <= level < {self.levels}")
        fixed: list[Tensor | None] = [None] * (level + 1) + [t.clone() for t in z[level + 1 :]]
        return self._top_down(z[0].size(0), fixed=fixed, generator=generator)[0]

    def local_parameters(self, x: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError(
            "nvae has no local variational parameters: q(z_l | z_>l, x) depends on the sampled upper "
            "groups through the top-down path, so no fixed per-example parameters span its family"
        )

    # ------------------------------------------------------------------ training
    def spectral_layers(self) -> list[nn.Module]:
        """The layers under spectral regularisation (every ``Conv1d``; top-down ``Linear`` layers but SE)."""
        modules = dict(self.named_modules())
        return [modules[name] for name in self._spectral_names]

    def spectral_loss(self, iterations: int | None = None, update: bool | None = None) -> Tensor:
        """``sum`` of the estimated largest singular values of the regularised weights.

        Args:
            iterations: power iterations (default ``options["spectral_iterations"]``).
            update: store the new ``sr_u``/``sr_v`` (default: in training mode).
        """
        iterations = self.spectral_iterations if iterations is None else iterations
        update = self.training if update is None else update
        total = self.top_state.new_zeros(())
        for m in self.spectral_layers():
            sigma, u, v = power_iteration_sigma(m.weight.flatten(1), m.sr_u, iterations)
            if update:
                m.sr_u.copy_(u)
                m.sr_v.copy_(v)
            total = total + sigma
        return total

    def extra_loss(self, inference: Inference, x: Tensor) -> Tensor | float:
        """Spectral regularisation ``spectral_weight * sum sigma`` (0 when the weight is 0)."""
        if self.spectral_weight == 0:
            return 0.0
        return self.spectral_weight * self.spectral_loss()

    def training_losses(self, x: Tensor, step: int) -> tuple[dict[str, Tensor], dict[str, float]]:
        """ELBO loss with KL warm-up, KL balancing during the warm-up, free bits and spectral regularisation.

        Raises:
            FloatingPointError: the loss is not finite (the message names every term).
        """
        c = self.config
        beta = c.kl_weight(step)
        inf = self.infer(x)
        ll = self.log_likelihood(inf.z, x, c.word_dropout if self.training else 0.0)
        names = list(inf.kl)
        kl_means = torch.stack([inf.kl[name].mean() for name in names])
        penalised = kl_means.clamp(min=c.free_bits)
        if self.kl_balance and beta < 1.0:
            gamma = kl_balance_coefficients(kl_means)
        else:
            gamma = torch.ones_like(kl_means)
        spectral = self.extra_loss(inf, x)
        loss = -ll.mean() + beta * (gamma * penalised).sum() + spectral
        kl_values = kl_means.detach().tolist()
        spectral_value = float(spectral.detach()) if isinstance(spectral, Tensor) else float(spectral)
        ll_mean = float(ll.detach().mean())
        if not bool(torch.isfinite(loss.detach())):
            kls = ", ".join(f"{name} {v:.4g}" for name, v in zip(names, kl_values, strict=True))
            raise FloatingPointError(
                f"nvae: non-finite loss at step {step}: reconstruction {ll_mean:.4g}, group KLs [{kls}], "
                f"spectral {spectral_value:.4g}; lower the learning rate or lengthen the KL warm-up"
            )
        logs = {
            "loss": float(loss.detach()),
            "elbo": ll_mean - sum(kl_values),
            "kl": sum(kl_values),
            "spectral": spectral_value,
        }
        logs.update({f"kl_{name}": v for name, v in zip(names, kl_values, strict=True)})
        logs.update({f"kl_coeff_{name}": g for name, g in zip(names, gamma.tolist(), strict=True)})
        return {"model": loss}, logs
