"""Training of the sequence VAEs (``ric train --model vae|hvae|vlae|iaf|nvae|lfvi|dim``).

The loop, :func:`train_sequence_model`, serves any family of token-sequence models described
by a :class:`ModelFamily` (the VAEs here; the CharRNN of :mod:`ric.baselines.training` too).
Same conventions as the chain model's training: a frozen config stored as plain data in
the checkpoint, atomic checkpoints (:func:`ric.runtime.checkpoint.save_checkpoint`, loadable
with ``weights_only=True``), ``metrics.csv`` written as it goes, ``--resume`` continuing
bit-for-bit, batches ordered by ``(seed, epoch)``. Each parameter group of the model
(:meth:`~ric.vae.base.SequenceVAE.parameter_groups`) has its own Adam optimiser, stepped
on the loss of the same name with gradients w.r.t. that group only. A non-finite loss
stops training with an error naming the step and the logged terms (nothing is written
from a diverged model). ``time_budget`` stops after that many seconds of CPU time spent
in training by this process and any children (:class:`ric.runtime.cpu_clock.CpuClock`,
the clock the chain model's training uses too), so models can be compared at the same
CPU budget even on a shared machine.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ric.config import PlainDataConfig
from ric.runtime.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ric.runtime.cpu_clock import CpuClock
from ric.vae import build_model
from ric.vae.base import VAEConfig
from ric.vae.tokens import PAD, TokenVocabulary, UnknownTokenError

__all__ = [
    "VAETrainConfig",
    "VAETrainResult",
    "train_vae",
    "load_vae",
    "read_smiles",
    "MODEL_FAMILY",
    "ModelFamily",
    "SequenceTrainResult",
    "train_sequence_model",
    "VAE_FAMILY",
]

logger = logging.getLogger(__name__)

#: ``payload["model_family"]`` of VAE checkpoints (chain checkpoints have none or "chain").
MODEL_FAMILY = "vae"
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class VAETrainConfig(PlainDataConfig):
    """Settings of a VAE training run (see ``ric train --help``)."""

    data: str
    out: str
    model: str = "vae"
    valid: str | None = None
    tokens: str = "smiles"
    epochs: int = 10
    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    embedding: int = 64
    hidden: int = 256
    latent: int = 32
    groups: int = 1
    flow_steps: int = 4
    noise: int = 32
    word_dropout: float = 0.0
    kl_warmup_steps: int = 2000
    free_bits: float = 0.0
    clip_norm: float = 10.0
    log_every: int = 20
    valid_every: int = 500
    checkpoint_every: int = 200
    valid_examples: int = 1000
    device: str = "auto"
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def model_config(self, tokens: TokenVocabulary) -> VAEConfig:
        groups = self.groups if self.model in ("hvae", "vlae", "nvae") else 1
        if self.model in ("hvae", "vlae", "nvae") and self.groups < 2:
            groups = 3
        return VAEConfig(
            model=self.model, vocab_size=tokens.size, max_length=tokens.max_length, embedding=self.embedding,
            hidden=self.hidden, latent=self.latent, groups=groups, flow_steps=self.flow_steps, noise=self.noise,
            word_dropout=self.word_dropout, kl_warmup_steps=self.kl_warmup_steps, free_bits=self.free_bits,
            options=dict(self.options),
        )  # fmt: skip


@dataclass
class VAETrainResult:
    """Outcome of :func:`train_vae`."""

    step: int
    checkpoint: Path | None
    valid_elbo: float | None
    seconds: float
    cpu_seconds: float = 0.0


@dataclass
class SequenceTrainResult:
    """Outcome of :func:`train_sequence_model`: ``valid`` holds the final validation means
    (``{name: value}`` for the family's ``valid_columns``)."""

    step: int
    checkpoint: Path | None
    valid: dict[str, float]
    seconds: float
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class ModelFamily:
    """What :func:`train_sequence_model` needs to know about a family of token-sequence models.

    Attributes:
        name: ``payload["model_family"]`` of the family's checkpoints.
        config_key: payload key of the model config (plain data).
        train_config: class of the run's settings, stored as ``payload["train_config"]``: a
            frozen :class:`~ric.config.PlainDataConfig` with the fields of
            :class:`VAETrainConfig` that the loop reads (data, out, model, valid, tokens,
            epochs, max_steps, time_budget, batch_size, lr, seed, clip_norm, the cadences,
            valid_examples, device) and ``model_config(tokens)``.
        build: model config -> model: an ``nn.Module`` with ``parameter_groups()`` and
            ``training_losses(x, step)`` (the contract of :class:`~ric.vae.base.SequenceVAE`).
        train_columns: logged training scalars with a ``metrics.csv`` column of their own (the
            others go to ``extra``, as JSON).
        valid_columns: names of the validation terms (columns ``valid_<name>``).
        validate: ``validate(model, x) -> {name: [B]}``: the per-molecule validation terms of a
            batch ``x [B, T]`` (called in eval mode without gradients), averaged over the
            validation molecules.
    """

    name: str
    config_key: str
    train_config: type
    build: Callable[[Any], torch.nn.Module]
    train_columns: tuple[str, ...]
    valid_columns: tuple[str, ...]
    validate: Callable[[Any, torch.Tensor], dict[str, torch.Tensor]]

    @property
    def columns(self) -> tuple[str, ...]:
        """The ``metrics.csv`` header."""
        valid = tuple(f"valid_{name}" for name in self.valid_columns)
        return ("step", "epoch", "seconds", *self.train_columns, *valid, "extra")


def _vae_terms(model: Any, x: torch.Tensor) -> dict[str, torch.Tensor]:
    out = model.elbo(x)
    return {"elbo": out.elbo, "kl": sum(out.kl.values())}


#: The sequence VAEs (:data:`~ric.vae.base.MODEL_NAMES`).
VAE_FAMILY = ModelFamily(
    name=MODEL_FAMILY, config_key="vae_config", train_config=VAETrainConfig, build=build_model,
    train_columns=("loss", "elbo", "kl"), valid_columns=("elbo", "kl"), validate=_vae_terms,
)  # fmt: skip


def read_smiles(path: str | os.PathLike) -> list[str]:
    """SMILES of a molecule file as written (unparsable records are skipped with a warning)."""
    from ric.molecules.io import read_smiles_records

    return [r.smiles for r in read_smiles_records(path)]


def _encode_all(tokens: TokenVocabulary, smiles: list[str], source: str) -> np.ndarray:
    """int64 ``[n, max_length]`` ids of the encodable molecules (the others skipped with a warning)."""
    rows, skipped = [], 0
    for s in smiles:
        try:
            rows.append(tokens.encode(s))
        except (UnknownTokenError, ValueError) as exc:
            skipped += 1
            if skipped <= 5:
                logger.warning("%s: skipping %s", source, exc)
    if skipped:
        logger.warning("%s: %d molecules skipped (tokens or length outside the training data's)", source, skipped)
    out = np.full((len(rows), tokens.max_length), PAD, dtype=np.int64)
    for i, ids in enumerate(rows):
        out[i, : len(ids)] = ids
    return out


def _trim(x: torch.Tensor) -> torch.Tensor:
    """Drop all-padding columns at the end of a batch (``[B, T] -> [B, T']``)."""
    length = int((x != PAD).sum(1).max())
    return x[:, :length]


@torch.no_grad()
def _validate(
    family: ModelFamily, model: Any, x_valid: np.ndarray, device: torch.device, batch_size: int
) -> dict[str, float]:
    """Means of the family's validation terms (e.g. ELBO and KL) on the validation set, drawn
    from a fixed side stream of random numbers so that validating never shifts the training
    run's random numbers (resume stays exact however often it validates)."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        return _validate_inner(family, model, x_valid, device, batch_size)


def _validate_inner(
    family: ModelFamily, model: Any, x_valid: np.ndarray, device: torch.device, batch_size: int
) -> dict[str, float]:
    model.eval()
    sums = dict.fromkeys(family.valid_columns, 0.0)
    n = 0
    for start in range(0, len(x_valid), batch_size):
        x = _trim(torch.from_numpy(x_valid[start : start + batch_size]).to(device))
        for name, value in family.validate(model, x).items():
            sums[name] += float(value.sum())
        n += x.size(0)
    model.train()
    return {name: total / max(n, 1) for name, total in sums.items()}


def _describe(valid: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3f}" for name, value in valid.items())


def load_vae(path: str | os.PathLike, device: Any = "cpu", payload: dict | None = None) -> tuple[Any, TokenVocabulary, dict]:
    """A trained VAE, its token vocabulary and the checkpoint payload (model in eval mode).

    ``payload``: the checkpoint's contents when already loaded (default: read ``path``).

    Raises:
        ric.runtime.checkpoint.CheckpointError: unreadable file.
        ValueError: the checkpoint does not hold a VAE.
    """
    payload = load_checkpoint(path) if payload is None else payload
    if payload.get("model_family") != MODEL_FAMILY:
        raise ValueError(f"{path} is not a VAE checkpoint (it holds a {payload.get('model_family', 'chain')} model)")
    tokens = TokenVocabulary.from_dict(payload["tokens"])
    model = build_model(VAEConfig.from_dict(payload["vae_config"]))
    model.load_state_dict(payload["model_state"])
    dev = device if isinstance(device, torch.device) else _device(device)
    return model.to(dev).eval(), tokens, payload


def _device(spec: str) -> torch.device:
    from ric.runtime.device import resolve_device

    return resolve_device(spec)


def train_vae(
    config: VAETrainConfig | None = None,
    *,
    resume: str | os.PathLike | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    overwrite: bool = False,
    relocate: dict[str, str | None] | None = None,
) -> VAETrainResult:
    """Train a sequence VAE, or continue an interrupted run (:func:`train_sequence_model`
    with :data:`VAE_FAMILY`; the arguments are documented there)."""
    result = train_sequence_model(VAE_FAMILY, config, resume=resume, max_steps=max_steps, time_budget=time_budget,
                                  progress=progress, overwrite=overwrite, relocate=relocate)  # fmt: skip
    return VAETrainResult(result.step, result.checkpoint, result.valid["elbo"], result.seconds, result.cpu_seconds)


def train_sequence_model(
    family: ModelFamily,
    config: Any | None = None,
    *,
    resume: str | os.PathLike | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    overwrite: bool = False,
    relocate: dict[str, str | None] | None = None,
) -> SequenceTrainResult:
    """Train a model of ``family``, or continue an interrupted run.

    Args:
        family: the kind of model (:data:`VAE_FAMILY`, the CharRNN's, ...).
        config: the run's settings, a ``family.train_config`` (ignored when resuming).
        resume: a run directory holding ``checkpoint.pt``.
        max_steps: overrides the (stored) ``max_steps``.
        time_budget: overrides the (stored) ``time_budget``, in CPU seconds of the whole run
            (a resumed run counts the seconds already spent).
        progress: tqdm progress bar.
        overwrite: start a new run in ``config.out`` even if it holds one (default
            ``False``: that raises :class:`FileExistsError`).
        relocate: when resuming, new paths of the run's ``data`` / ``valid`` files with the
            recorded content (see :func:`ric.training.loop.train`).

    A new run records its data files by absolute path and SHA-256; resuming checks them
    (see :func:`ric.training.loop.train`).
    """
    from ric.files import check_recorded_inputs, check_run_dir, record_inputs, recorded_path, relocate_inputs

    payload = None
    if resume is not None:
        payload = load_checkpoint(Path(resume) / CHECKPOINT_NAME)
        if payload.get("model_family") != family.name:
            held = payload.get("model_family") or "chain-model"
            raise ValueError(f"{resume} holds a {held} run, not a {family.name} run: resume it without --model")
        config = family.train_config.from_dict(payload["train_config"])
        if "data_files" in payload:
            payload["data_files"] = relocate_inputs(payload["data_files"], relocate or {}, resume)
            check_recorded_inputs(payload["data_files"], resume)
            config = replace(config, **{k: v["path"] for k, v in payload["data_files"].items()})
        else:
            config = replace(config, data=recorded_path(config.data, resume, "training data"),
                             valid=recorded_path(config.valid, resume, "validation data"))
        data_files = payload.get("data_files", {})
    elif config is None:
        raise ValueError("training needs a config or a run directory to resume")
    else:
        check_run_dir(config.out, overwrite)
        config = replace(config, **{k: str(Path(getattr(config, k)).resolve()) for k in ("data", "valid", "out")
                                    if getattr(config, k) is not None})
        data_files = record_inputs(data=config.data, valid=config.valid)
    if max_steps is not None:
        config = replace(config, max_steps=max_steps)
    if time_budget is not None:
        config = replace(config, time_budget=time_budget)
    out = Path(resume if resume is not None else config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = _device(config.device)
    torch.manual_seed(config.seed)

    train_smiles = read_smiles(config.data)
    if payload is not None:
        tokens = TokenVocabulary.from_dict(payload["tokens"])
    else:
        tokens = TokenVocabulary.build(train_smiles, config.tokens)
        logger.info("%d %s tokens, sequences up to %d", tokens.size, tokens.kind, tokens.max_length)
    x_train = _encode_all(tokens, train_smiles, config.data)
    if config.valid:
        x_valid = _encode_all(tokens, read_smiles(config.valid), config.valid)[: config.valid_examples]
    else:
        order = np.random.default_rng(config.seed).permutation(len(x_train))
        n_valid = max(1, min(config.valid_examples, len(x_train) // 20))
        x_valid, x_train = x_train[order[:n_valid]], x_train[np.sort(order[n_valid:])]
        logger.info("no --valid given: holding out %d training molecules for validation", n_valid)

    model_config = config.model_config(tokens)
    model = family.build(model_config).to(device)
    groups = model.parameter_groups()
    optimizers = {name: torch.optim.Adam(params, lr=config.lr) for name, params in groups.items()}
    step, epoch, position, seconds = 0, 0, 0, 0.0
    if payload is not None:
        model.load_state_dict(payload["model_state"])
        for name, opt in optimizers.items():
            opt.load_state_dict(payload["optimizer_states"][name])
        step, epoch, position = int(payload["step"]), int(payload["epoch"]), int(payload["position"])
        seconds = float(payload["seconds"])
        set_rng_state(payload["rng"])
        logger.info("resuming %s at step %d", out, step)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))

    metrics_path = out / "metrics.csv"
    kept = []
    if payload is not None and metrics_path.exists():
        with open(metrics_path, newline="") as fh:
            kept = [r for r in csv.DictReader(fh) if int(r["step"]) <= step]
    metrics_fh = open(metrics_path, "w", newline="", buffering=1)
    writer = csv.DictWriter(metrics_fh, fieldnames=family.columns)
    writer.writeheader()
    for r in kept:
        writer.writerow(r)

    def checkpoint() -> Path:
        path = out / CHECKPOINT_NAME
        save_checkpoint(
            path,
            {
                "model_family": family.name,
                family.config_key: model_config.to_dict(),
                "tokens": tokens.to_dict(),
                "train_config": config.to_dict(),
                "model_state": model.state_dict(),
                "optimizer_states": {name: opt.state_dict() for name, opt in optimizers.items()},
                "step": step,
                "epoch": epoch,
                "position": position,
                "seconds": seconds,
                "cpu_seconds": clock.seconds(),
                "rng": rng_state(),
                "data_files": data_files,
            },
        )
        return path

    bar = None
    limit = config.max_steps
    if progress:
        from tqdm import tqdm

        per_epoch = math.ceil(len(x_train) / config.batch_size)
        bar = tqdm(total=limit or per_epoch * config.epochs, initial=step, unit="step", desc=f"train {config.model}")
    valid: dict[str, float] = {}
    model.train()
    started = time.perf_counter() - seconds
    clock = CpuClock(offset=float(payload.get("cpu_seconds", 0.0) if payload else 0.0))
    stop = False
    first_step = step
    try:
        while epoch < config.epochs and not stop:
            order = np.random.default_rng([config.seed, epoch]).permutation(len(x_train))
            while position < len(order):
                if (limit is not None and step >= limit) or (
                    config.time_budget is not None and clock.seconds() >= config.time_budget
                ):
                    stop = True
                    break
                idx = order[position : position + config.batch_size]
                x = _trim(torch.from_numpy(x_train[idx]).to(device))
                losses, logs = model.training_losses(x, step)
                if not all(torch.isfinite(v) for v in losses.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {logs}")
                names = list(losses)
                for k, name in enumerate(names):
                    params = [p for p in groups[name] if p.requires_grad]
                    grads = torch.autograd.grad(
                        losses[name], params, retain_graph=k < len(names) - 1, allow_unused=True
                    )
                    for p, g in zip(params, grads):
                        p.grad = g
                    torch.nn.utils.clip_grad_norm_(params, config.clip_norm)
                    optimizers[name].step()
                    for p in params:
                        p.grad = None
                step += 1
                position += len(idx)
                seconds = time.perf_counter() - started
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{logs.get('loss', float('nan')):.2f}")
                row = None
                if step % config.log_every == 0:
                    row = {"step": step, "epoch": epoch, "seconds": round(seconds, 2),
                           **{k: logs.get(k) for k in family.train_columns},
                           "extra": json.dumps({k: v for k, v in logs.items() if k not in family.train_columns})}  # fmt: skip
                if step % config.valid_every == 0:
                    valid = _validate(family, model, x_valid, device, config.batch_size)
                    row = row or {"step": step, "epoch": epoch, "seconds": round(seconds, 2)}
                    row.update({f"valid_{k}": round(v, 4) for k, v in valid.items()})
                    logger.info("step %d: validation %s", step, _describe(valid))
                if row is not None:
                    writer.writerow(row)
                if step % config.checkpoint_every == 0:
                    checkpoint()
            else:
                epoch += 1
                position = 0
        if step == first_step and payload is not None:
            if limit is not None and step >= limit:
                reason = f"it has reached --max-steps {limit}; give a larger --max-steps to continue"
            elif config.time_budget is not None and clock.seconds() >= config.time_budget:
                reason = (f"its CPU budget of {config.time_budget:.0f} s is spent ({clock.seconds():.0f} s used); "
                          "give a larger --time-budget to continue")
            else:
                reason = f"it has done all {config.epochs} epochs"
            logger.warning("%s: nothing to do at step %d: %s", out, step, reason)
        valid = _validate(family, model, x_valid, device, config.batch_size)
        writer.writerow({"step": step, "epoch": epoch, "seconds": round(seconds, 2),
                         **{f"valid_{k}": round(v, 4) for k, v in valid.items()}})  # fmt: skip
        path = checkpoint()
    finally:
        metrics_fh.close()
        if bar is not None:
            bar.close()
    logger.info(
        "step %d after %.0f s (%.0f s CPU): validation %s; checkpoint %s",
        step, seconds, clock.seconds(), _describe(valid), path,
    )  # fmt: skip
    return SequenceTrainResult(step, path, valid, seconds, clock.seconds())
