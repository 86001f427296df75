"""Likelihood and inference-gap evaluation of the sequence VAEs (``ric evaluate``).

For a set of held-out molecules:

* ELBO (mean over molecules of the ELBO averaged over ``elbo_samples`` posterior draws);
  for ``lfvi``/``dim`` the KL term comes from the ratio estimator, so their ELBO is an
  estimate (``elbo_is_estimate``);
* ``log p(x)`` by the importance-weighted bound with ``K`` samples (IWAE, Burda et al.
  2016); for the implicit models an estimate through an explicit proposal (their
  ``iwae`` documents which);
* KL per latent group, and active units per group (Burda et al.: a dimension is active
  when the variance over molecules of its posterior mean exceeds 0.01). The posterior
  mean is estimated by the average of 100 posterior draws, whose own sampling variance
  (the mean within-molecule variance divided by the number of draws) is subtracted, so
  a collapsed dimension is not counted as active because of sampling noise;
* the inference-suboptimality analysis of Cremer, Li, Duvenaud (2018) on the first
  ``gap_examples`` molecules: ``L[q]`` (the encoder's posterior), ``L[q*]`` (the same
  family optimised per example with Adam, starting from the encoder's output; see
  :func:`inference_gaps`), and ``log p(x)`` from the better of IWAE through ``q`` and
  through ``q*``; amortization gap ``L[q*] - L[q]``, approximation gap
  ``log p(x) - L[q*]``. Models without local variational parameters report ``None``
  with the reason.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ric.vae.tokens import PAD, TokenVocabulary, UnknownTokenError

__all__ = ["EvaluationResult", "evaluate_vae", "inference_gaps"]

logger = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """What :func:`evaluate_vae` measured (all log-likelihoods in nats per molecule)."""

    model: str
    n: int
    skipped: int
    elbo: float
    elbo_is_estimate: bool
    iwae_k: int
    log_px: float
    kl: dict[str, float]
    active_units: dict[str, int]
    latent_dims: dict[str, int]
    gaps: dict[str, float] | None = None
    gaps_note: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batches(x: np.ndarray, size: int, device: torch.device):
    for start in range(0, len(x), size):
        batch = torch.from_numpy(x[start : start + size]).to(device)
        yield batch[:, : int((batch != PAD).sum(1).max())]


@torch.no_grad()
def _elbo_and_units(
    model: Any, x: np.ndarray, samples: int, batch_size: int, device: torch.device, unit_samples: int = 100
):
    """Mean ELBO and KL per group over ``samples`` draws, and active units from ``unit_samples``
    posterior draws per molecule (encoder only; the estimate's own sampling variance is
    subtracted, and enough draws keep its noise well below the 0.01 threshold)."""
    elbo_sum, kl_sum, n = 0.0, {}, 0
    sums: dict[int, list[np.ndarray]] = {}
    squares: dict[int, list[np.ndarray]] = {}
    for xb in _batches(x, batch_size, device):
        acc = torch.zeros(xb.size(0), device=device)
        for _ in range(samples):
            inf = model.infer(xb)
            acc += model.log_likelihood(inf.z, xb) - sum(inf.kl.values())
            for name, v in inf.kl.items():
                kl_sum[name] = kl_sum.get(name, 0.0) + float(v.sum()) / samples
        elbo_sum += float((acc / samples).sum())
        z_sum = z_sq = None
        for _ in range(unit_samples):
            z = model.infer(xb).z
            if z_sum is None:
                z_sum, z_sq = [t.clone() for t in z], [t * t for t in z]
            else:
                z_sum = [a + t for a, t in zip(z_sum, z)]
                z_sq = [a + t * t for a, t in zip(z_sq, z)]
        for g in range(len(z_sum)):
            sums.setdefault(g, []).append(z_sum[g].cpu().numpy())
            squares.setdefault(g, []).append(z_sq[g].cpu().numpy())
        n += xb.size(0)
    active, dims = {}, {}
    for g in sums:
        total, total_sq = np.concatenate(sums[g]), np.concatenate(squares[g])
        mean = total / unit_samples
        within = (total_sq - unit_samples * mean**2) / max(unit_samples - 1, 1)  # per-molecule sample variance
        between = mean.var(axis=0) - (within.mean(axis=0) / unit_samples if unit_samples > 1 else 0.0)
        active[f"z{g + 1}"] = int((between > 0.01).sum()) if len(mean) > 1 else 0
        dims[f"z{g + 1}"] = int(mean.shape[1])
    return elbo_sum / n, {k: v / n for k, v in kl_sum.items()}, active, dims


def inference_gaps(
    model: Any,
    x: torch.Tensor,
    *,
    steps: int = 200,
    lr: float = 1e-2,
    flow_lr: float = 1e-3,
    step_samples: int = 4,
    samples: int = 20,
    select_every: int = 20,
    iwae_k: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """Amortization and approximation gaps (Cremer et al. 2018) averaged over ``x``.

    ``q*`` is searched per example with Adam from the encoder's output: the Gaussian
    parameters (and IAF's context) at ``lr``, per-example copies of IAF's flow weights at
    the smaller ``flow_lr`` (they are shared, finely tuned weights; at the Gaussian rate
    the search diverges). Every ``select_every`` steps each example's current parameters
    are scored with a held-out set of posterior draws (seed ``seed + 1``), and each
    example keeps the best parameters seen, the encoder's own included. ``L[q]`` and
    ``L[q*]`` are then both scored with the same draws (seed ``seed``), which the search
    never saw, so the amortization gap is not inflated by selecting on noise and is
    negative only through Monte-Carlo error.

    ``log p(x)`` is estimated per molecule by the larger of two importance-weighted
    bounds with ``iwae_k`` samples: one with the encoder's posterior as proposal, one with
    ``q*`` (Cremer et al. use the better proposal for the same reason: with a poor
    encoder, IWAE through it can stay below ``L[q*]`` and make the approximation gap look
    negative). Both are lower bounds on ``log p(x)`` in expectation, so the approximation
    gap is, up to Monte-Carlo error, a lower bound too.

    Args:
        model: a VAE with :meth:`~ric.vae.base.SequenceVAE.local_parameters`.
        x: long ``[B, T]`` molecules.
        steps: Adam steps optimising the local posterior per example (default 200).
        lr: Adam learning rate of the posterior's own parameters (default 0.01).
        flow_lr: Adam learning rate of per-example flow weights (``iaf``; default 0.001).
        step_samples: posterior draws per optimisation step (default 4).
        samples: posterior draws per ELBO evaluation (default 20).
        select_every: steps between selections of the best parameters (default 20).
        iwae_k: importance samples for ``log p(x)`` (default 1000).
        seed: seeds the evaluation draws.

    Returns:
        ``elbo_q``, ``elbo_q_star``, ``log_px`` (the per-molecule larger bound, averaged),
        ``log_px_iwae_q``, ``log_px_iwae_q_star`` (each bound averaged), ``amortization_gap``,
        ``approximation_gap``.
    """
    model.eval()
    params = model.local_parameters(x)
    batch = x.size(0)
    if any(v.size(0) != batch for v in params.values()):
        raise ValueError("local_parameters must have the molecules on their first dimension")

    def score(p: dict[str, torch.Tensor], draw_seed: int) -> torch.Tensor:
        g = torch.Generator(device=x.device).manual_seed(draw_seed)
        with torch.no_grad():
            return model.local_elbo(x, p, samples=samples, generator=g)

    elbo_q = score(params, seed)
    best = {k: v.detach().clone() for k, v in params.items()}
    best_score = score(params, seed + 1)
    flow = [v for k, v in params.items() if k.startswith("flow.")]
    own = [v for k, v in params.items() if not k.startswith("flow.")]
    opt = torch.optim.Adam([{"params": own, "lr": lr}] + ([{"params": flow, "lr": flow_lr}] if flow else []))
    leaves = own + flow
    for step in range(1, steps + 1):
        loss = -model.local_elbo(x, params, samples=step_samples).sum()
        grads = torch.autograd.grad(loss, leaves)
        for p, g in zip(leaves, grads):
            p.grad = g
        opt.step()
        if step % select_every == 0 or step == steps:
            current = score(params, seed + 1)
            better = current > best_score
            best_score = torch.where(better, current, best_score)
            for k, v in params.items():
                best[k][better] = v.detach()[better]
    elbo_q_star = score(best, seed)
    log_px_q = model.iwae(x, iwae_k)
    log_px_q_star = model.local_iwae(x, best, iwae_k)
    log_px = torch.maximum(log_px_q, log_px_q_star)
    mean_q, mean_q_star = float(elbo_q.double().mean()), float(elbo_q_star.double().mean())
    mean_log_px = float(log_px.double().mean())
    return {
        "elbo_q": mean_q,
        "elbo_q_star": mean_q_star,
        "log_px": mean_log_px,
        "log_px_iwae_q": float(log_px_q.double().mean()),
        "log_px_iwae_q_star": float(log_px_q_star.double().mean()),
        "amortization_gap": mean_q_star - mean_q,
        "approximation_gap": mean_log_px - mean_q_star,
    }


def evaluate_vae(
    model: Any,
    tokens: TokenVocabulary,
    smiles: Sequence[str],
    *,
    iwae_k: int = 1000,
    elbo_samples: int = 10,
    gap_examples: int = 100,
    gap_steps: int = 200,
    batch_size: int = 64,
    seed: int = 0,
) -> EvaluationResult:
    """Evaluate a trained VAE on ``smiles`` (see the module docstring).

    Molecules whose tokens or length fall outside the model's vocabulary are skipped and
    counted (``skipped``).
    """
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    kept = []
    for s in smiles:
        try:
            tokens.encode(s)
            kept.append(s)
        except (UnknownTokenError, ValueError):
            continue
    if not kept:
        raise ValueError("no molecule can be encoded with the model's tokens")
    x = tokens.encode_batch(kept)
    model.eval()
    elbo, kl, active, dims = _elbo_and_units(model, x, elbo_samples, batch_size, device)
    iwae_parts = []
    chunk_rows = max(1, batch_size // 8)
    for xb in _batches(x, chunk_rows, device):
        iwae_parts.append(model.iwae(xb, iwae_k).cpu())
    log_px = float(torch.cat(iwae_parts).mean())
    result = EvaluationResult(
        model=model.config.model, n=len(kept), skipped=len(smiles) - len(kept), elbo=elbo,
        elbo_is_estimate=not model.has_density, iwae_k=iwae_k, log_px=log_px, kl=kl,
        active_units=active, latent_dims=dims,
    )  # fmt: skip
    if not model.has_density:
        result.notes.append("ELBO uses the ratio estimator's KL; log p(x) is estimated through an explicit proposal")
    if gap_examples > 0:
        xg = torch.from_numpy(x[:gap_examples]).to(device)
        xg = xg[:, : int((xg != PAD).sum(1).max())]
        try:
            result.gaps = inference_gaps(model, xg, steps=gap_steps, iwae_k=iwae_k, seed=seed)
        except NotImplementedError as exc:
            result.gaps_note = str(exc)
    return result
