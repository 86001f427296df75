"""``iaf``: a sequence VAE with an Inverse Autoregressive Flow posterior (Kingma et al. 2016).

"Improved Variational Inference with Inverse Autoregressive Flow" (NeurIPS 2016), with the
numerically stable (LSTM-style) update of its Algorithm 1:

* the bidirectional GRU encoder emits ``(mu, log sigma^2)`` and a context vector ``h``;
  ``z_0 = mu + sigma * eps`` and ``log q_0 = log N(z_0; mu, sigma^2)``;
* ``T = config.flow_steps`` steps, each a MADE-style autoregressive network
  (:class:`IAFStep`: masked linear layers over ``z``, ``h`` entering the first hidden layer
  unmasked, ELU activations) giving ``[m, s] = AR(z, h)``; with the gate
  ``sigma_t = sigmoid(s + b)``::

      z <- sigma_t * z + (1 - sigma_t) * m,      log q <- log q - sum_i log sigma_t,i

  ``m_i`` and ``s_i`` depend on ``z_{<i}`` only, so each step's Jacobian ``dz'/dz`` is lower
  triangular with diagonal ``sigma_t`` and ``log |det| = sum log sigma_t``; the density of
  ``z_T`` is ``log q(z_T|x) = log q_0(z_0) - sum_t sum_i log sigma_t,i``;
* the variable order is reversed before every step after the first (``z.flip(-1)``), so
  the composed flow is not triangular in any single order (a reversal has ``|det| = 1``).

Gate offset and initialisation
------------------------------
``b = config.options.get("iaf_gate_bias", 2.0)`` is a fixed offset added to ``s`` (the
"+1 or +2" of Kingma et al.), and the output layer of every step is initialised with
weights scaled by 0.1 and zero bias, so at initialisation ``s ~ 0``, ``m ~ 0`` and
``sigma_t ~ sigmoid(b)`` (0.88 for the default: every step updates ``z`` only slightly;
``z_T ~ sigmoid(b)^T z_0``). A large offset (e.g. 8) makes the initial flow the identity
to within ``1e-3``. Other options: ``flow_hidden`` (hidden units per MADE layer, default
``2 * latent``), ``flow_layers`` (hidden layers, default 1), ``flow_context`` (size of
``h``, default ``latent``).

Prior ``N(0, I)``; ``kl["z"]`` is the single-sample Monte Carlo estimate
``log q(z_T|x) - log p(z_T)`` at the reparameterised draw (unbiased; a single draw can be
negative). ``log_q`` and ``log_prior`` are those two densities (for ``iwae``).

Local parameters (inference gaps)
---------------------------------
In the inference-gap analysis (Cremer, Li & Duvenaud 2018) ``q*`` is the best posterior of
the *same family* found per example. The IAF family is "Gaussian base followed by a
``T``-step IAF", so :meth:`IAFVAE.local_parameters` returns, for every example, its own
detached leaves of everything the posterior depends on:

* ``mu``, ``logvar`` ``[B, latent]`` and ``h`` ``[B, flow_context]`` (the encoder's
  outputs), and
* by default (``per_example_flow=True``) a per-example copy of every flow weight, keys
  ``"flow.{t}.{name}"`` with shape ``[B, *weight.shape]`` (initialised from the shared,
  amortised flow networks). The masks stay fixed, so each copy is still an IAF.

With ``per_example_flow=False`` only ``(mu, logvar, h)`` are local and the flow networks
keep the model's shared weights (``q*`` is then restricted to the amortised flow).
The per-example copies cost ``B * (flow parameters)`` floats (about 33k per example at
latent 32 with the defaults). :meth:`IAFVAE.local_elbo` uses the same estimator and the
same order of noise as :meth:`IAFVAE.infer`, so at the encoder's own parameters it
reproduces the model's ELBO draw for draw.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ric.vae.base import GRUEncoder, Inference, SequenceVAE, VAEConfig, gaussian_log_prob, reparameterise

__all__ = ["IAFVAE", "IAFStep"]

LOGVAR_MIN, LOGVAR_MAX = -12.0, 8.0


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None = None) -> Tensor:
    """``x W^T + b`` with an optional mask on ``W``; ``W [out, in]`` shared or ``[B, out, in]`` per row of ``x``."""
    if mask is not None:
        weight = weight * mask
    out = x @ weight.t() if weight.dim() == 2 else torch.einsum("boi,bi->bo", weight, x)
    return out if bias is None else out + bias


class IAFStep(nn.Module):
    """One IAF step: a MADE network ``[m, s] = AR(z, h)`` and the gated update.

    Degrees: input ``z_i`` has degree ``i`` (1-based), hidden unit ``k`` degree
    ``k mod latent`` (0..latent-1; degree-0 units see only ``h``), outputs ``m_j, s_j`` degree
    ``j``. A hidden unit sees ``z_i`` iff its degree is ``>= i``, an output ``j`` sees a hidden
    unit iff ``j >`` its degree, so ``m_j, s_j`` depend on ``z_{<j}`` (and ``h``) only.

    Parameters (names used by the per-example copies): ``in_z.weight/bias`` (masked),
    ``in_h.weight`` (unmasked context input), ``hidden.{i}.weight/bias`` (masked) and
    ``out.weight/bias`` (masked; rows ``[m; s]``).

    Args:
        latent: size of ``z``.
        context: size of ``h``.
        hidden: hidden units per layer.
        layers: hidden layers (>= 1).
        gate_bias: fixed offset ``b`` of ``sigma = sigmoid(s + b)``.
    """

    def __init__(self, latent: int, context: int, hidden: int, layers: int = 1, gate_bias: float = 2.0) -> None:
        super().__init__()
        if layers < 1 or hidden < 1:
            raise ValueError(f"IAF step needs at least one hidden layer of at least one unit, got {layers} x {hidden}")
        self.latent = latent
        self.gate_bias = float(gate_bias)
        deg_in = torch.arange(1, latent + 1)
        deg_hidden = torch.arange(hidden) % latent
        self.in_z = nn.Linear(latent, hidden)
        self.in_h = nn.Linear(context, hidden, bias=False)
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.out = nn.Linear(hidden, 2 * latent)
        self.register_buffer("mask_in", (deg_hidden[:, None] >= deg_in[None, :]).float())
        self.register_buffer("mask_hidden", (deg_hidden[:, None] >= deg_hidden[None, :]).float())
        self.register_buffer("mask_out", (deg_in[:, None] > deg_hidden[None, :]).float().repeat(2, 1))
        with torch.no_grad():
            self.out.weight.mul_(0.1)
            self.out.bias.zero_()

    def autoregressive(self, z: Tensor, h: Tensor, params: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """``(m, s)`` each ``[B, latent]`` (``s`` before the gate offset); ``params`` overrides the weights."""
        p = params if params is not None else dict(self.named_parameters())
        a = _linear(z, p["in_z.weight"], p["in_z.bias"], self.mask_in) + _linear(h, p["in_h.weight"], None)
        a = F.elu(a)
        for i in range(len(self.hidden)):
            a = F.elu(_linear(a, p[f"hidden.{i}.weight"], p[f"hidden.{i}.bias"], self.mask_hidden))
        m, s = _linear(a, p["out.weight"], p["out.bias"], self.mask_out).chunk(2, dim=-1)
        return m, s

    def forward(self, z: Tensor, h: Tensor, params: dict[str, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """``(z', sum_i log sigma_i)``: ``z' = sigma * z + (1 - sigma) * m``; ``z [B, latent]``, ``h [B, context]``."""
        m, s = self.autoregressive(z, h, params)
        gate = s + self.gate_bias
        sigma = torch.sigmoid(gate)
        z = sigma * z + torch.sigmoid(-gate) * m
        return z, F.logsigmoid(gate).sum(-1)


class IAFVAE(SequenceVAE):
    """Sequence VAE with an IAF posterior (``config.groups`` is ignored: one group of ``latent``).

    Modules: ``encoder`` (bidirectional GRU), ``to_posterior`` (``mu, logvar, h``) and
    ``steps`` (``config.flow_steps`` :class:`IAFStep`); the decoder context is ``z_T``.

    Shapes: ``x [B, T]`` -> ``z = [z_T]`` with ``z_T [B, latent]``.
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config, context_dim=config.latent)
        c = config
        opts = c.options or {}
        if c.flow_steps < 0:
            raise ValueError(f"iaf needs flow_steps >= 0, got {c.flow_steps}")
        self.flow_context = int(opts.get("flow_context", c.latent))
        hidden = int(opts.get("flow_hidden", 2 * c.latent))
        layers = int(opts.get("flow_layers", 1))
        gate_bias = float(opts.get("iaf_gate_bias", 2.0))
        self.encoder = GRUEncoder(self.embedding, c.hidden)
        self.to_posterior = nn.Linear(2 * c.hidden, 2 * c.latent + self.flow_context)
        self.steps = nn.ModuleList(
            IAFStep(c.latent, self.flow_context, hidden, layers, gate_bias) for _ in range(c.flow_steps)
        )

    # ------------------------------------------------------------------ posterior
    def posterior_params(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(mu, logvar, h)`` of the base Gaussian and the flow context: ``[B, latent]``, ``[B, latent]``, ``[B, flow_context]``."""
        out = self.to_posterior(self.encoder(x))
        d = self.config.latent
        mu, logvar, h = out[:, :d], out[:, d : 2 * d], out[:, 2 * d :]
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX), h

    def flow(
        self, z0: Tensor, h: Tensor, params: list[dict[str, Tensor]] | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(z_T, sum_t sum_i log sigma_t,i)`` for ``z0 [B, latent]``, ``h [B, flow_context]``.

        ``log |det dz_T/dz_0| = sum log sigma`` (the order reversals have ``|det| = 1``), so
        ``log q(z_T) = log q_0(z_0) - sum log sigma``. ``params[t]`` (optional) overrides step
        ``t``'s weights (shared ``[...]`` or per-example ``[B, ...]`` tensors).
        """
        z = z0
        total = z0.new_zeros(z0.shape[:-1])
        for t, step in enumerate(self.steps):
            if t > 0:
                z = z.flip(-1)
            z, log_sigma = step(z, h, None if params is None else params[t])
            total = total + log_sigma
        return z, total

    def _draw(
        self,
        mu: Tensor,
        logvar: Tensor,
        h: Tensor,
        generator: torch.Generator | None,
        params: list[dict[str, Tensor]] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(z_T, log q(z_T|x), log p(z_T))`` of one reparameterised draw."""
        z0 = reparameterise(mu, logvar, generator)
        log_q0 = gaussian_log_prob(z0, mu, logvar)
        z, log_det = self.flow(z0, h, params)
        log_p = gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        return z, log_q0 - log_det, log_p

    def infer(self, x: Tensor, generator: torch.Generator | None = None) -> Inference:
        """``z_T`` through the flow; ``kl["z"] = log q(z_T|x) - log p(z_T)`` (single-sample estimate)."""
        mu, logvar, h = self.posterior_params(x)
        return self.local_posterior({"mu": mu, "logvar": logvar, "h": h}, generator)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        device = self.output.weight.device
        return [torch.randn(n, self.config.latent, generator=generator, device=device)]

    # ------------------------------------------------------------------ inference gaps
    def local_parameters(self, x: Tensor, per_example_flow: bool = True) -> dict[str, Tensor]:
        """Per-example leaves of ``q(z|x)``, initialised from the encoder (see the module docstring).

        Keys ``mu``, ``logvar`` ``[B, latent]``, ``h`` ``[B, flow_context]`` and, with
        ``per_example_flow``, ``"flow.{t}.{name}"`` ``[B, *shape]`` for every weight of step ``t``.
        """
        with torch.no_grad():
            mu, logvar, h = self.posterior_params(x)
        params = {"mu": mu, "logvar": logvar, "h": h}
        if per_example_flow:
            b = x.size(0)
            for t, step in enumerate(self.steps):
                for name, p in step.named_parameters():
                    params[f"flow.{t}.{name}"] = p.detach().unsqueeze(0).expand(b, *p.shape)
        return {k: v.clone().requires_grad_(True) for k, v in params.items()}

    def _flow_params(self, params: dict[str, Tensor]) -> list[dict[str, Tensor]] | None:
        """Per-step flow weights: the per-example copies in ``params``, else the shared ones."""
        if not any(k.startswith("flow.") for k in params):
            return None
        out = []
        for t, step in enumerate(self.steps):
            own = dict(step.named_parameters())
            out.append({name: params.get(f"flow.{t}.{name}", own[name]) for name in own})
        return out

    def local_posterior(self, params: dict[str, Tensor], generator: torch.Generator | None = None) -> Inference:
        z, log_q, log_p = self._draw(params["mu"], params["logvar"], params["h"], generator, self._flow_params(params))
        return Inference([z], {"z": log_q - log_p}, log_q, log_p)

    def local_elbo(
        self, x: Tensor, params: dict[str, Tensor], samples: int = 1, generator: torch.Generator | None = None
    ) -> Tensor:
        """ELBO ``[B]`` under the local posterior ``params`` (``samples`` draws averaged).

        Flow weights missing from ``params`` are the model's shared ones.
        """
        flow_params = self._flow_params(params)
        total = 0.0
        for _ in range(samples):
            z, log_q, log_p = self._draw(params["mu"], params["logvar"], params["h"], generator, flow_params)
            total = total + self.log_likelihood([z], x) - (log_q - log_p)
        return total / samples
