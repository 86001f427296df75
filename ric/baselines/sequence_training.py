"""The training loop of the learned baselines: the sequence VAEs, the CharRNN and GraphRNN.

:func:`train_sequence_model` trains any family of autoregressive or latent-variable
sequence models described by a :class:`ModelFamily` (:data:`ric.vae.training.VAE_FAMILY`,
:data:`ric.baselines.training.CHARRNN_FAMILY`,
:data:`ric.baselines.graphrnn.GRAPHRNN_MODEL_FAMILY`); :func:`load_model_checkpoint` loads a
trained model of a family back. A family's data come from its ``load_data`` (by default
:func:`load_token_data`: SMILES or SELFIES token sequences).

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
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ric.runtime.checkpoint import CHECKPOINT_NAME, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ric.runtime.cpu_clock import CpuClock
from ric.vae.tokens import PAD, TokenVocabulary, UnknownTokenError

__all__ = [
    "ModelFamily",
    "TrainingData",
    "SequenceTrainResult",
    "train_sequence_model",
    "load_model_checkpoint",
    "load_token_data",
    "hold_out",
    "read_smiles",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingData:
    """A run's data, as a family's ``load_data`` gives them to :func:`train_sequence_model`.

    Attributes:
        train: the training examples (``len(train)`` of them, taken by position).
        valid: the validation examples (a sequence; sliced into batches).
        model_config: the model's config (plain data; stored as ``payload[family.config_key]``).
        batch: ``batch(idx, epoch) -> (x, logs)``: the model's input for the training examples
            at positions ``idx`` (int64 array) in ``epoch``, on the run's device, and scalars
            to log besides the model's (e.g. ``{}``).
        collate: ``collate(valid[i:j])``: the model's input for validation examples.
        payload: more checkpoint entries (e.g. the token vocabulary; default none).
    """

    train: Sequence[Any]
    valid: Sequence[Any]
    model_config: Any
    batch: Callable[[np.ndarray, int], tuple[Any, dict[str, Any]]]
    collate: Callable[[Any], Any]
    payload: dict[str, Any] = field(default_factory=dict)


def _model_losses(model: Any, x: Any, step: int) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    return model.training_losses(x, step)


def load_token_data(config: Any, payload: dict | None, device: torch.device) -> "TrainingData":
    """The token sequences of a run on SMILES (``ModelFamily.load_data`` of the VAEs and the CharRNN).

    The vocabulary is built from ``config.data`` (``config.tokens``: ``"smiles"`` or
    ``"selfies"``), or taken from the checkpoint ``payload`` when resuming; molecules it
    cannot encode are skipped with a warning. Validation molecules: ``config.valid`` (the
    first ``config.valid_examples``), else :func:`hold_out`. The model's config is
    ``config.model_config(tokens)``; batches are ``[B, T]`` token ids cut to their longest
    sequence.
    """
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
        x_train, x_valid = hold_out(x_train, config, "molecules")

    def collate(rows: np.ndarray) -> torch.Tensor:
        return _trim(torch.from_numpy(rows).to(device))

    return TrainingData(
        train=x_train, valid=x_valid, model_config=config.model_config(tokens),
        batch=lambda idx, epoch: (collate(x_train[idx]), {}), collate=collate, payload={"tokens": tokens.to_dict()},
    )  # fmt: skip


@dataclass(frozen=True)
class ModelFamily:
    """What :func:`train_sequence_model` and :func:`load_model_checkpoint` need to know about a
    family of models.

    Attributes:
        name: ``payload["model_family"]`` of the family's checkpoints.
        config_key: payload key of the model config (plain data).
        train_config: class of the run's settings, stored as ``payload["train_config"]``: a
            frozen :class:`~ric.config.PlainDataConfig` with the fields the loop reads (data,
            out, model, valid, epochs, max_steps, time_budget, batch_size, lr, seed,
            clip_norm, the cadences, valid_examples, device) and those ``load_data`` reads
            (for token data: tokens, and ``model_config(tokens)``).
        build: model config -> model: an ``nn.Module`` with ``parameter_groups()`` (the
            contract of :class:`~ric.vae.base.SequenceVAE`).
        train_columns: logged training scalars with a ``metrics.csv`` column of their own (the
            others go to ``extra``, as JSON).
        valid_columns: names of the validation terms (columns ``valid_<name>``).
        validate: ``validate(model, x) -> {name: [B]}``: the per-example validation terms of a
            batch ``x`` (from ``TrainingData.collate``; called in eval mode without
            gradients), averaged over the validation examples.
        title: the family's name in messages (default ``name``).
        model_config: class of the model config, for loading (``from_dict``).
        load_data: ``load_data(config, payload, device) -> TrainingData``: the run's data
            (``payload``: the checkpoint when resuming, else ``None``; default
            :func:`load_token_data`).
        losses: ``losses(model, x, step) -> ({group: loss}, {name: scalar})``: the losses of a
            training batch, by parameter group, and scalars to log (default:
            ``model.training_losses(x, step)``, the contract of
            :class:`~ric.vae.base.SequenceVAE`).
        min_valid_batch: validation batches hold ``max(batch_size, min_valid_batch)`` examples
            (default 1).
        loss_format: format of the loss on the progress bar (default ``".2f"``).
    """

    name: str
    config_key: str
    train_config: type
    build: Callable[[Any], torch.nn.Module]
    train_columns: tuple[str, ...]
    valid_columns: tuple[str, ...]
    validate: Callable[[Any, Any], dict[str, torch.Tensor]]
    title: str = ""
    model_config: type | None = None
    load_data: Callable[[Any, dict | None, torch.device], TrainingData] = load_token_data
    losses: Callable[[Any, Any, int], tuple[dict[str, torch.Tensor], dict[str, float]]] = _model_losses
    min_valid_batch: int = 1
    loss_format: str = ".2f"

    @property
    def columns(self) -> tuple[str, ...]:
        """The ``metrics.csv`` header."""
        valid = tuple(f"valid_{name}" for name in self.valid_columns)
        return ("step", "epoch", "seconds", *self.train_columns, *valid, "extra")


def read_smiles(path: str | os.PathLike) -> list[str]:
    """SMILES of a molecule file as written (unparsable records are skipped with a warning)."""
    from ric.molecules.io import read_smiles_records

    return [r.smiles for r in read_smiles_records(path)]


def hold_out(train: Any, config: Any, what: str) -> tuple[Any, Any]:
    """``(train, valid)`` for a run without validation data: ``valid`` is 5 % of ``train`` (at
    least 1, at most ``config.valid_examples``), drawn with ``config.seed``; ``train`` keeps
    the others in their order. ``train``: an array or a list; ``what``: the examples' name
    in the log."""
    order = np.random.default_rng(config.seed).permutation(len(train))
    n_valid = max(1, min(config.valid_examples, len(train) // 20))

    def take(positions: np.ndarray) -> Any:
        return train[positions] if isinstance(train, np.ndarray) else [train[i] for i in positions]

    logger.info("no --valid given: holding out %d training %s for validation", n_valid, what)
    return take(np.sort(order[n_valid:])), take(order[:n_valid])


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
    family: ModelFamily, model: Any, data: TrainingData, device: torch.device, batch_size: int
) -> dict[str, float]:
    """Means of the family's validation terms (e.g. ELBO and KL) on the validation set, drawn
    from a fixed side stream of random numbers so that validating never shifts the training
    run's random numbers (resume stays exact however often it validates)."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        return _validate_inner(family, model, data, batch_size)


def _validate_inner(family: ModelFamily, model: Any, data: TrainingData, batch_size: int) -> dict[str, float]:
    model.eval()
    sums = dict.fromkeys(family.valid_columns, 0.0)
    n = 0
    for start in range(0, len(data.valid), batch_size):
        chunk = data.valid[start : start + batch_size]
        for name, value in family.validate(model, data.collate(chunk)).items():
            sums[name] += float(value.sum())
        n += len(chunk)
    model.train()
    return {name: total / max(n, 1) for name, total in sums.items()}


def _describe(valid: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3f}" for name, value in valid.items())


def _resolve_device(spec: Any) -> torch.device:
    from ric.runtime.device import resolve_device

    return spec if isinstance(spec, torch.device) else resolve_device(spec)


def load_model_checkpoint(path: str | os.PathLike, family: ModelFamily, device: Any = "cpu",
                          payload: dict | None = None) -> tuple[torch.nn.Module, dict]:
    """A trained model of ``family`` (in eval mode) and its checkpoint payload.

    Args:
        path: a checkpoint written by ``ric train --model ...``.
        family: the model family it should hold.
        device: a torch device or spec (``"auto"``, ``"cpu"``, ``"cuda:N"``; default ``"cpu"``).
        payload: the checkpoint's contents when already loaded (default: read ``path``).

    Raises:
        ric.runtime.checkpoint.CheckpointError: unreadable file.
        ValueError: the checkpoint does not hold a model of ``family``.
    """
    payload = load_checkpoint(path) if payload is None else payload
    if payload.get("model_family") != family.name:
        held = payload.get("model_family", "chain")
        raise ValueError(f"{path} is not a {family.title or family.name} checkpoint (it holds a {held} model)")
    model = family.build(family.model_config.from_dict(payload[family.config_key]))
    model.load_state_dict(payload["model_state"])
    return model.to(_resolve_device(device)).eval(), payload


@dataclass
class SequenceTrainResult:
    """Outcome of :func:`train_sequence_model`: ``valid`` holds the final validation means
    (``{name: value}`` for the family's ``valid_columns``)."""

    step: int
    checkpoint: Path | None
    valid: dict[str, float]
    seconds: float
    cpu_seconds: float = 0.0


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
    epochs: int | None = None,
) -> SequenceTrainResult:
    """Train a model of ``family``, or continue an interrupted run.

    Args:
        family: the kind of model (:data:`~ric.vae.training.VAE_FAMILY`, the CharRNN's, ...).
        config: the run's settings, a ``family.train_config`` (ignored when resuming;
            default ``None``: resume).
        resume: a run directory holding ``checkpoint.pt`` (default ``None``: a new run).
        max_steps: overrides the (stored) ``max_steps`` (default ``None``: keep it).
        epochs: overrides the (stored) ``epochs`` (default ``None``: keep it), e.g. to continue
            a run that ended at its epoch limit before its time budget.
        time_budget: overrides the (stored) ``time_budget``, in CPU seconds of the whole run
            (a resumed run counts the seconds already spent; default ``None``: keep it). The
            clock starts when the data are loaded and the model is built.
        progress: tqdm progress bar (default ``False``).
        overwrite: start a new run in ``config.out`` even if it holds one (default
            ``False``: that raises :class:`FileExistsError`).
        relocate: when resuming, new paths of the run's ``data`` / ``valid`` files with the
            recorded content (see :func:`ric.training.loop.train`; default ``None``).

    A new run records its data files by absolute path and SHA-256; resuming checks them
    (see :func:`ric.training.loop.train`). A non-finite loss raises
    :class:`FloatingPointError` naming the step.
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
    if epochs is not None:
        config = replace(config, epochs=epochs)
    if time_budget is not None:
        config = replace(config, time_budget=time_budget)
    out = Path(resume if resume is not None else config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = _resolve_device(config.device)
    torch.manual_seed(config.seed)

    data = family.load_data(config, payload, device)
    model_config = data.model_config
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
                **data.payload,
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

        per_epoch = math.ceil(len(data.train) / config.batch_size)
        bar = tqdm(total=limit or per_epoch * config.epochs, initial=step, unit="step", desc=f"train {config.model}")
    valid: dict[str, float] = {}
    valid_batch = max(config.batch_size, family.min_valid_batch)
    model.train()
    started = time.perf_counter() - seconds
    clock = CpuClock(offset=float(payload.get("cpu_seconds", 0.0) if payload else 0.0))
    stop = False
    first_step = step
    try:
        while epoch < config.epochs and not stop:
            order = np.random.default_rng([config.seed, epoch]).permutation(len(data.train))
            while position < len(order):
                if (limit is not None and step >= limit) or (
                    config.time_budget is not None and clock.seconds() >= config.time_budget
                ):
                    stop = True
                    break
                idx = order[position : position + config.batch_size]
                x, batch_logs = data.batch(idx, epoch)
                losses, logs = family.losses(model, x, step)
                if not all(torch.isfinite(v) for v in losses.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {logs}")
                logs = {**logs, **batch_logs}
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
                    bar.set_postfix(loss=format(logs.get("loss", float("nan")), family.loss_format))
                row = None
                if step % config.log_every == 0:
                    row = {"step": step, "epoch": epoch, "seconds": round(seconds, 2),
                           **{k: logs.get(k) for k in family.train_columns},
                           "extra": json.dumps({k: v for k, v in logs.items() if k not in family.train_columns})}  # fmt: skip
                if step % config.valid_every == 0:
                    valid = _validate(family, model, data, device, valid_batch)
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
        valid = _validate(family, model, data, device, valid_batch)
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
