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
  family optimised per example with Adam, starting from the encoder's output, until it
  stops improving; see :func:`inference_gaps`), and ``log p(x)`` from the better of IWAE
  through ``q`` and through ``q*``; amortization gap ``L[q*] - L[q]``, approximation gap
  ``log p(x) - L[q*]``. Models without local variational parameters report ``None``
  with the reason.

Cost. Almost all the time goes into running the GRU decoder over a molecule, once per
posterior draw: ``elbo_samples + K`` runs per molecule, plus, per gap example, about
``12`` per Adam step of the ``q*`` search (4 draws, forward and backward), one per step
for its selection draws, and ``K`` for the IWAE through ``q*``. The encoder runs once
per molecule: for models with local variational parameters (``vae``, ``hvae``, ``vlae``,
``iaf``) every draw, the ``K`` importance samples included, comes from the posterior
those parameters define, which is the encoder's ``q(z|x)`` itself
(:meth:`~ric.vae.base.SequenceVAE.local_parameters`); the others run their encoder per
draw. Molecules are processed in order of length, so a batch carries little padding.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ric.vae.base import Inference
from ric.vae.tokens import PAD, TokenVocabulary, UnknownTokenError

__all__ = ["EvaluationResult", "evaluate_vae", "inference_gaps", "encodable_molecules"]

logger = logging.getLogger(__name__)

#: Rows (molecules times posterior draws) sent through the decoder at once.
_ROWS = 512


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


def _trim(x: Tensor) -> Tensor:
    """Drop the all-padding columns at the end of a batch (``[B, T] -> [B, T']``)."""
    return x[:, : max(1, int((x != PAD).sum(1).max()))]


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="mol", disable=not enabled)


def encodable_molecules(
    tokens: TokenVocabulary,
    smiles: Sequence[str],
    *,
    source: str = "molecules",
    lines: Sequence[int] | None = None,
    max_warnings: int = 5,
) -> list[int]:
    """Indices of the molecules of ``smiles`` that the model's tokens can encode.

    Each molecule skipped (a token outside the vocabulary, or longer than the model's
    maximum length) is logged as a warning naming ``source`` and its line, for the first
    ``max_warnings``; when more are skipped, one more warning gives the count and the
    first line numbers.

    Args:
        tokens: the model's token vocabulary.
        smiles: the molecules.
        source: how messages name where they come from, e.g. the file (default ``"molecules"``).
        lines: the line of each molecule in ``source`` (default ``None``: 1-based positions).
        max_warnings: skipped molecules warned about one by one (default 5).

    Returns:
        The indices of the usable molecules, in order.
    """
    kept, skipped = [], []
    for i, s in enumerate(smiles):
        line = lines[i] if lines is not None else i + 1
        try:
            tokens.encode(s)
        except (UnknownTokenError, ValueError) as exc:
            skipped.append(line)
            if len(skipped) <= max_warnings:
                logger.warning("%s:%d: skipped (cannot be tokenised for this model): %s", source, line, exc)
            continue
        kept.append(i)
    if len(skipped) > max_warnings:
        first = ", ".join(str(line) for line in skipped[:10])
        logger.warning(
            "%s: %d of %d molecules skipped: their tokens or length are outside the model's (lines %s%s)",
            source, len(skipped), len(smiles), first, ", ..." if len(skipped) > 10 else "",
        )  # fmt: skip
    return kept


class _Posterior:
    """Draws from the encoder's ``q(z|x)`` for a batch ``x [B, T]``.

    With local variational parameters the encoder runs once here and every draw comes
    from :meth:`~ric.vae.base.SequenceVAE.local_posterior` (the same distribution as
    ``infer``; IAF keeps its shared flow weights); otherwise each draw runs ``infer``.
    """

    def __init__(self, model: Any, x: Tensor) -> None:
        self.model, self.x = model, x
        self.params: dict[str, Tensor] | None = None
        if model.has_density:
            try:
                params = model.local_parameters(x)
            except NotImplementedError:
                params = None
            if params is not None:
                self.params = {k: v.detach() for k, v in params.items() if not k.startswith("flow.")}

    def draw(self, m: int) -> tuple[Inference, Tensor]:
        """``m`` draws per molecule: the inference (rows molecule-major, ``[B * m]``) and the
        repeated molecules ``[B * m, T]``."""
        xr = self.x.repeat_interleave(m, dim=0)
        if self.params is None:
            return self.model.infer(xr), xr
        return self.model.local_posterior({k: v.repeat_interleave(m, dim=0) for k, v in self.params.items()}), xr

    def iwae(self, k: int) -> Tensor:
        """Importance-weighted bound ``[B]`` with ``k`` samples through ``q(z|x)``."""
        chunk = max(1, min(k, _ROWS // self.x.size(0)))
        if self.params is None:
            return self.model.iwae(self.x, k, chunk=chunk)
        return self.model.local_iwae(self.x, self.params, k, chunk=chunk)


def _draw_counts(total: int, batch: int) -> list[int]:
    """Split ``total`` draws per molecule into calls of at most ``_ROWS`` rows for ``batch`` molecules."""
    per_call = max(1, _ROWS // batch)
    return [min(per_call, total - start) for start in range(0, total, per_call)]


@torch.no_grad()
def _molecule_stats(post: _Posterior, samples: int, unit_samples: int, stats: dict) -> Tensor:
    """Add one batch's ELBO, KL and posterior-mean sums to ``stats``; return its ELBO ``[B]``."""
    model, x = post.model, post.x
    b = x.size(0)
    elbo = torch.zeros(b, device=x.device)
    for m in _draw_counts(samples, b):
        inf, xr = post.draw(m)
        kl = sum(inf.kl.values())
        elbo += (model.log_likelihood(inf.z, xr) - kl).view(b, m).sum(1) / samples
        for name, v in inf.kl.items():
            stats["kl"][name] = stats["kl"].get(name, 0.0) + float(v.double().sum()) / samples
    z_sum = z_sq = None
    for m in _draw_counts(unit_samples, b):
        z = [t.view(b, m, -1) for t in post.draw(m)[0].z]
        s, q = [t.sum(1) for t in z], [(t * t).sum(1) for t in z]
        z_sum = s if z_sum is None else [a + t for a, t in zip(z_sum, s)]
        z_sq = q if z_sq is None else [a + t for a, t in zip(z_sq, q)]
    for g in range(len(z_sum)):
        stats["sums"].setdefault(g, []).append(z_sum[g].double().cpu().numpy())
        stats["squares"].setdefault(g, []).append(z_sq[g].double().cpu().numpy())
    return elbo


def _units(stats: dict, unit_samples: int) -> tuple[dict[str, int], dict[str, int]]:
    """Active units and dimensions per group from the posterior-mean sums."""
    active, dims = {}, {}
    for g in stats["sums"]:
        total, total_sq = np.concatenate(stats["sums"][g]), np.concatenate(stats["squares"][g])
        mean = total / unit_samples
        within = (total_sq - unit_samples * mean**2) / max(unit_samples - 1, 1)  # per-molecule sample variance
        between = mean.var(axis=0) - (within.mean(axis=0) / unit_samples if unit_samples > 1 else 0.0)
        active[f"z{g + 1}"] = int((between > 0.01).sum()) if len(mean) > 1 else 0
        dims[f"z{g + 1}"] = int(mean.shape[1])
    return active, dims


def _length_batches(x: np.ndarray, size: int) -> list[np.ndarray]:
    """Row indices of ``x`` in batches of at most ``size``, grouped by sequence length."""
    order = np.argsort((x != PAD).sum(1), kind="stable")
    return [order[start : start + size] for start in range(0, len(order), size)]


@torch.no_grad()
def _elbo_and_units(
    model: Any, x: np.ndarray, samples: int, batch_size: int, device: torch.device, unit_samples: int = 100
) -> tuple[float, dict[str, float], dict[str, int], dict[str, int]]:
    """Mean ELBO and KL per group over ``samples`` draws, and active units from ``unit_samples``
    posterior draws per molecule (the estimate's own sampling variance is subtracted, and
    enough draws keep its noise well below the 0.01 threshold).

    Args:
        model: the VAE.
        x: int64 ``[n, max_length]`` padded molecules.
        samples: posterior draws per ELBO.
        batch_size: molecules per batch.
        device: where the model is.
        unit_samples: posterior draws per molecule for the active units (default 100).

    Returns:
        ``(elbo, kl, active_units, latent_dims)``.
    """
    stats: dict = {"kl": {}, "sums": {}, "squares": {}}
    total = 0.0
    for idx in _length_batches(x, batch_size):
        post = _Posterior(model, _trim(torch.from_numpy(x[idx]).to(device)))
        total += float(_molecule_stats(post, samples, unit_samples, stats).double().sum())
    active, dims = _units(stats, unit_samples)
    return total / len(x), {k: v / len(x) for k, v in stats["kl"].items()}, active, dims


def inference_gaps(
    model: Any,
    x: Tensor,
    *,
    steps: int = 200,
    lr: float = 1e-2,
    flow_lr: float = 1e-3,
    step_samples: int = 4,
    samples: int = 20,
    select_every: int = 20,
    tol: float = 0.05,
    patience: int = 2,
    iwae_k: int = 1000,
    log_px_q: Tensor | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, float]:
    """Amortization and approximation gaps (Cremer et al. 2018) averaged over ``x``.

    ``q*`` is searched per example with Adam from the encoder's output: the Gaussian
    parameters (and IAF's context) at ``lr``, per-example copies of IAF's flow weights at
    the smaller ``flow_lr`` (they are shared, finely tuned weights; at the Gaussian rate
    the search diverges). Every ``select_every`` steps each example's current parameters
    are scored with a held-out set of posterior draws (seed ``seed + 1``, the same draws
    at every check), and each example keeps the best parameters seen, the encoder's own
    included. An example's search stops when its best held-out score has improved by less
    than ``tol`` nats at ``patience`` checks in a row (converged, or diverging), or after
    ``steps`` steps; the steps go on for the others only. ``L[q]`` and ``L[q*]`` are then
    both scored with the same draws (seed ``seed``), which the search never saw, so the
    amortization gap is not inflated by selecting on noise and is negative only through
    Monte-Carlo error.

    ``log p(x)`` is estimated per molecule by the larger of two importance-weighted
    bounds with ``iwae_k`` samples: one with the encoder's posterior as proposal, one with
    ``q*`` (Cremer et al. use the better proposal for the same reason: with a poor
    encoder, IWAE through it can stay below ``L[q*]`` and make the approximation gap look
    negative). Both are lower bounds on ``log p(x)`` in expectation, so the approximation
    gap is, up to Monte-Carlo error, a lower bound too.

    Args:
        model: a VAE with :meth:`~ric.vae.base.SequenceVAE.local_parameters`.
        x: long ``[B, T]`` molecules.
        steps: most Adam steps optimising the local posterior per example (default 200).
        lr: Adam learning rate of the posterior's own parameters (default 0.01).
        flow_lr: Adam learning rate of per-example flow weights (``iaf``; default 0.001).
        step_samples: posterior draws per optimisation step (default 4).
        samples: posterior draws per ELBO evaluation (default 20).
        select_every: steps between selections of the best parameters (default 20).
        tol: an example converges when a check improves its best score by less than this
            many nats (default 0.05; 0 runs every example for all ``steps``).
        patience: checks in a row below ``tol`` that stop an example (default 2).
        iwae_k: importance samples for ``log p(x)`` (default 1000).
        log_px_q: the IWAE bound through the encoder's posterior ``[B]`` with ``iwae_k``
            samples, if already computed (default ``None``: computed here).
        seed: seeds the evaluation draws (default 0).
        progress: show a progress bar of the examples done (default ``False``).

    Returns:
        ``elbo_q``, ``elbo_q_star``, ``log_px`` (the per-molecule larger bound, averaged),
        ``log_px_iwae_q``, ``log_px_iwae_q_star`` (each bound averaged), ``amortization_gap``,
        ``approximation_gap``, ``search_steps`` (mean Adam steps per example) and
        ``converged`` (fraction of the examples stopped before ``steps``).
    """
    model.eval()
    params = model.local_parameters(x)
    batch = x.size(0)
    if any(v.size(0) != batch for v in params.values()):
        raise ValueError("local_parameters must have the molecules on their first dimension")
    if log_px_q is not None and tuple(log_px_q.shape) != (batch,):
        raise ValueError(f"log_px_q must have shape [{batch}], got {tuple(log_px_q.shape)}")

    def score(p: dict[str, Tensor], draw_seed: int) -> Tensor:
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
    names = [k for k in params if not k.startswith("flow.")] + [k for k in params if k.startswith("flow.")]
    active = torch.ones(batch, dtype=torch.bool, device=x.device)
    stale = torch.zeros(batch, dtype=torch.long, device=x.device)
    steps_run = torch.zeros(batch, dtype=torch.long, device=x.device)
    log_px_q_star = torch.empty(batch, device=x.device)
    bar = _progress_bar(batch, "gaps", progress)

    def finish(done: Tensor) -> None:
        """IWAE through the final ``q*`` of the examples ``done`` (bool ``[B]``), a few at a time."""
        rows = done.nonzero().squeeze(1)
        per_call = 8 if flow else 32  # per-example flow weights are repeated for every sample
        for start in range(0, len(rows), per_call):
            r = rows[start : start + per_call]
            chunk = max(1, min(iwae_k, _ROWS // len(r)))
            log_px_q_star[r] = model.local_iwae(_trim(x[r]), {k: v[r] for k, v in best.items()}, iwae_k, chunk=chunk)
            bar.update(len(r))

    try:
        for step in range(1, steps + 1):
            rows = active.nonzero().squeeze(1)
            if len(rows) == batch:
                loss = -model.local_elbo(x, params, samples=step_samples).sum()
            else:
                sub = {k: params[k][rows] for k in names}
                loss = -model.local_elbo(_trim(x[rows]), sub, samples=step_samples).sum()
            grads = torch.autograd.grad(loss, leaves)
            for p, g in zip(leaves, grads):
                p.grad = g
            opt.step()
            steps_run[rows] += 1
            if step % select_every == 0 or step == steps:
                current = score(params, seed + 1)  # the whole batch: the same draws as every check
                better = active & (current > best_score)
                gain = torch.where(better, current - best_score, torch.zeros_like(current))
                best_score = torch.where(better, current, best_score)
                for k, v in params.items():
                    best[k][better] = v.detach()[better]
                stale = torch.where(active & (gain < tol), stale + 1, torch.zeros_like(stale))
                done = active & (stale >= patience) if step < steps else active.clone()
                if bool(done.any()):
                    finish(done)
                    active &= ~done
                bar.set_postfix(step=step, searching=int(active.sum()))
                if not bool(active.any()):
                    break
        if bool(active.any()):  # steps == 0
            finish(active)
    finally:
        bar.close()
    converged = float((steps_run < steps).double().mean()) if steps > 0 else 0.0
    logger.debug("q* search: %.1f steps per example on average, %.0f%% converged early",
                 float(steps_run.double().mean()), 100 * converged)  # fmt: skip
    elbo_q_star = score(best, seed)
    if log_px_q is None:
        log_px_q = model.iwae(x, iwae_k)
    log_px_q = log_px_q.to(x.device)
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
        "search_steps": float(steps_run.double().mean()),
        "converged": converged,
    }


def evaluate_vae(
    model: Any,
    tokens: TokenVocabulary,
    smiles: Sequence[str],
    *,
    iwae_k: int = 1000,
    elbo_samples: int = 10,
    gap_examples: int = 20,
    gap_steps: int = 200,
    batch_size: int = 32,
    seed: int = 0,
    source: str = "molecules",
    lines: Sequence[int] | None = None,
    progress: bool = False,
) -> EvaluationResult:
    """Evaluate a trained VAE on ``smiles`` (see the module docstring).

    Molecules whose tokens or length fall outside the model's vocabulary are skipped with
    a warning (:func:`encodable_molecules`) and counted (``skipped``).

    Args:
        model: a trained VAE (:func:`ric.vae.training.load_vae`).
        tokens: its token vocabulary.
        smiles: the molecules.
        iwae_k: importance samples per molecule for ``log p(x)`` (default 1000).
        elbo_samples: posterior draws per molecule for the ELBO (default 10).
        gap_examples: molecules (the first usable ones) in the inference-gap analysis
            (default 20; 0 skips it).
        gap_steps: most Adam steps of each example's ``q*`` search (default 200; it stops
            earlier once converged, see :func:`inference_gaps`).
        batch_size: molecules per batch (default 32).
        seed: seeds the posterior draws (default 0).
        source: how warnings name where ``smiles`` come from (default ``"molecules"``).
        lines: the line of each molecule in ``source`` (default: 1-based positions).
        progress: show progress bars of the molecules done per stage (default ``False``).

    Raises:
        ValueError: no molecule can be encoded with the model's tokens, or an argument is
            out of range.
    """
    if iwae_k < 1 or elbo_samples < 1 or batch_size < 1 or gap_examples < 0 or gap_steps < 0:
        raise ValueError("iwae_k, elbo_samples and batch_size must be >= 1, gap_examples and gap_steps >= 0")
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    kept = [smiles[i] for i in encodable_molecules(tokens, smiles, source=source, lines=lines)]
    if not kept:
        raise ValueError(f"{source}: none of the {len(smiles)} molecules can be encoded with the model's tokens")
    x = tokens.encode_batch(kept)
    model.eval()
    unit_samples = 100
    stats: dict = {"kl": {}, "sums": {}, "squares": {}}
    elbo_sum = 0.0
    log_px_rows = torch.empty(len(kept), dtype=torch.float64)
    bar = _progress_bar(len(kept), "ELBO/IWAE", progress)
    try:
        for idx in _length_batches(x, batch_size):
            post = _Posterior(model, _trim(torch.from_numpy(x[idx]).to(device)))
            elbo_sum += float(_molecule_stats(post, elbo_samples, unit_samples, stats).double().sum())
            log_px_rows[torch.from_numpy(idx)] = post.iwae(iwae_k).double().cpu()
            bar.update(len(idx))
    finally:
        bar.close()
    active, dims = _units(stats, unit_samples)
    result = EvaluationResult(
        model=model.config.model, n=len(kept), skipped=len(smiles) - len(kept), elbo=elbo_sum / len(kept),
        elbo_is_estimate=not model.has_density, iwae_k=iwae_k, log_px=float(log_px_rows.mean()),
        kl={k: v / len(kept) for k, v in stats["kl"].items()}, active_units=active, latent_dims=dims,
    )  # fmt: skip
    if not model.has_density:
        result.notes.append("ELBO uses the ratio estimator's KL; log p(x) is estimated through an explicit proposal")
    if gap_examples > 0:
        xg = _trim(torch.from_numpy(x[:gap_examples]).to(device))
        try:
            result.gaps = inference_gaps(
                model, xg, steps=gap_steps, iwae_k=iwae_k, log_px_q=log_px_rows[:gap_examples].float().to(device),
                seed=seed, progress=progress,
            )  # fmt: skip
        except NotImplementedError as exc:
            result.gaps_note = str(exc)
    return result
