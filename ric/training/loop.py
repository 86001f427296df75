"""The training loop behind ``ric train``: maximum likelihood of reverse moves.

One process, or several under ``torchrun`` (``torch.distributed``: gloo on CPU, NCCL on
GPU; each process reads its shard of every epoch; only rank 0 logs, validates and
writes checkpoints). Interrupted runs continue from ``run_dir/checkpoint.pt`` with
:func:`train` ``(resume=...)``; the data order, the corruption of every example and the
optimiser state are all restored, so a resumed run computes the same steps as an
uninterrupted one with the same seed.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.moves.registry import domain_of, move_set_from_dict, move_set_to_dict
from ric.moves.encoding import KIND_STOP
from ric.nn.data import collate, make_example
from ric.nn.model import ModelConfig, ReconstructionModel
from ric.runtime.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ric.runtime.cpu_clock import CpuClock
from ric.runtime.device import resolve_device
from ric.runtime.gc_tuning import tune_gc
from ric.training.config import TrainConfig
from ric.training.dataset import CorruptionDataset, EpochSampler

__all__ = ["train", "TrainResult", "evaluate", "CHECKPOINT_NAME", "METRICS_NAME"]

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.csv"
METRIC_COLUMNS = [
    "step", "epoch", "split", "loss", "top1", "stop_fraction", "lr", "examples_per_s", "elapsed_s", "cpu_s",
]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        step: optimiser steps done in total.
        model: the trained model (unwrapped from DDP), on its device.
        valid_loss, valid_top1, valid_majority: last validation figures (``None`` if none ran);
            ``valid_majority`` is the top-1 accuracy of always answering stop, the most
            frequent label.
        checkpoint: path of the final checkpoint (rank 0) or ``None``.
        steps_done: optimiser steps done by this call (0 when a resumed run had nothing left).
        stopped_by: what ended training: ``"max_steps"``, ``"epochs"`` or ``"time_budget"``.
    """

    step: int
    model: ReconstructionModel
    valid_loss: float | None
    valid_top1: float | None
    valid_majority: float | None
    checkpoint: Path | None
    steps_done: int = 0
    stopped_by: str = "epochs"


def _init_data_worker(worker_id: int) -> None:
    """DataLoader worker start-up: the worker is ours and runs corruption, featurisation and
    move encoding (many short-lived objects), so the collector is tuned for that."""
    tune_gc()


def _distributed() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment (``(0, 1, 0)`` alone)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


@torch.no_grad()
def evaluate(model: ReconstructionModel, batches: list[Any], device: torch.device) -> tuple[float, float]:
    """Mean negative log-likelihood and top-1 accuracy of the label move over ``batches``."""
    model.eval()
    total_nll, total_hit, count = 0.0, 0.0, 0
    for batch in batches:
        batch = batch.to(device)
        scores = model(batch)
        total_nll += float(scores.nll(batch.target).sum())
        total_hit += float(scores.top1(batch.target).sum())
        count += batch.num_graphs
    model.train()
    return total_nll / max(count, 1), total_hit / max(count, 1)


def _subset(states: Any, index: np.ndarray) -> Any:
    """The states at ``index`` (a domain's packed store keeps its own ``subset``)."""
    return states.subset(index) if hasattr(states, "subset") else [states[i] for i in index.tolist()]


def _validation_batches(graphs, move_set, corruption, seed: int, limit: int, batch_size: int) -> tuple[list, float]:
    """Fixed corrupted validation examples (same for every validation and on resume)."""
    items = []
    stops = 0
    for k in range(limit):
        index = k % len(graphs)
        ex = corrupt(move_set, graphs[index], example_rng(seed, 1_000_000 + k // len(graphs), index), corruption)
        items.append(make_example(move_set, ex.corrupted, ex.reverse_move))
        stops += ex.steps == 0
    batches = [collate(items[k : k + batch_size]) for k in range(0, len(items), batch_size)]
    return batches, stops / max(len(items), 1)


def _load_init_weights(path: str) -> dict[str, Any]:
    """The parts of a chain checkpoint that start a fine-tuning run; clear errors otherwise."""
    payload = load_checkpoint(path)
    missing = [k for k in ("model_config", "move_set", "model_state") if k not in payload]
    if missing or payload.get("model_family", "chain") != "chain":
        raise ValueError(f"{path} is not a chain checkpoint of ric train (no {', '.join(missing) or 'chain model'}); "
                         "--init-weights needs one")
    return payload


class _MetricsLog:
    """Appends rows to ``metrics.csv`` as they happen (rank 0 only)."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        rows = []
        if resume_step is not None and path.exists():
            with open(path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        self.fh = open(path, "w", newline="", buffering=1)
        self.writer = csv.DictWriter(self.fh, fieldnames=METRIC_COLUMNS)
        self.writer.writeheader()
        for r in rows:  # keep what was logged up to the checkpoint, drop what came after
            self.writer.writerow(r)

    def write(self, **row: Any) -> None:
        self.writer.writerow({k: row.get(k, "") for k in METRIC_COLUMNS})

    def close(self) -> None:
        self.fh.close()


class _LabelScores(torch.nn.Module):
    """Wraps the model so a (DDP-wrapped) forward returns plain tensors: NLL and top-1 hits ``[B]``."""

    def __init__(self, model: ReconstructionModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.model(batch)
        return scores.nll(batch.target), scores.top1(batch.target)


def _lr_lambda(warmup: int, decay_steps: int | None = None, final_ratio: float = 1.0):
    """Learning-rate factor of a step: linear warm-up, then constant or a half cosine down
    to ``final_ratio`` at ``decay_steps`` (and constant after it)."""

    def factor(step: int) -> float:
        if decay_steps is None or step < warmup:
            return min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
        t = min(1.0, (step - warmup) / (decay_steps - warmup))
        return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

    return factor


def train(config: TrainConfig | None = None, *, resume: str | os.PathLike | None = None,
          max_steps: int | None = None, time_budget: float | None = None, epochs: int | None = None,
          progress: bool = False, overwrite: bool = False,
          relocate: dict[str, str | None] | None = None) -> TrainResult:
    """Train a reconstruction model, or continue an interrupted run.

    A new run records its input files by absolute path and SHA-256 (checkpoint key
    ``data_files``); resuming checks that they are still there and unchanged, so a run
    can be continued from any directory and never silently on other data.

    Args:
        config: the run's settings (ignored when resuming, except as noted).
        resume: a run directory holding ``checkpoint.pt`` to continue from; its stored
            configuration is used.
        max_steps: overrides ``max_steps`` of the (stored) configuration.
        epochs: overrides ``epochs`` of the (stored) configuration (default ``None``: keep it).
        time_budget: overrides ``time_budget`` of the (stored) configuration: CPU seconds of
            the whole run, so a resumed run counts the seconds already spent.
        progress: show a tqdm progress bar (rank 0).
        overwrite: start a new run in ``config.out`` even if it holds one (default
            ``False``: that raises :class:`FileExistsError`).
        relocate: when resuming, new paths of the run's ``data`` / ``valid`` files (e.g.
            after moving the run to another machine); each must hold the content the run
            recorded (SHA-256). Default: the recorded paths.

    Returns:
        A :class:`TrainResult`.
    """
    from ric.files import check_recorded_inputs, check_run_dir, record_inputs, recorded_path, relocate_inputs

    rank, world, local_rank = _distributed()
    checkpoint = None
    if resume is not None:
        checkpoint = load_checkpoint(Path(resume) / CHECKPOINT_NAME)
        if checkpoint.get("model_family", "chain") != "chain":
            raise ValueError(f"{resume} holds a {checkpoint['model_family']} run, not a chain-model run")
        config = TrainConfig.from_dict(checkpoint["train_config"])
        if "data_files" in checkpoint:
            checkpoint["data_files"] = relocate_inputs(checkpoint["data_files"], relocate or {}, resume)
            check_recorded_inputs(checkpoint["data_files"], resume)
            config = config.replace(**{k: v["path"] for k, v in checkpoint["data_files"].items() if k != "vocab"})
        else:  # older runs recorded the paths as typed, and no hashes to check new paths against
            given = {k: v for k, v in (relocate or {}).items() if v is not None}
            if given:
                logger.warning("%s records no checksums of its data: %s used as given, unchecked", resume,
                               ", ".join(f"{k} {v}" for k, v in given.items()))
                config = config.replace(**given)
            config = config.replace(data=recorded_path(config.data, resume, "training data"),
                                    valid=recorded_path(config.valid, resume, "validation data"))
        data_files = checkpoint.get("data_files", {})
    elif config is None:
        raise ValueError("train() needs a config or a run directory to resume")
    else:
        check_run_dir(config.out, overwrite)
        absolute = {k: str(Path(getattr(config, k)).resolve()) for k in ("data", "valid", "vocab", "out", "init_weights")
                    if getattr(config, k) is not None}
        config = config.replace(**absolute)
        data_files = record_inputs(data=config.data, valid=config.valid, vocab=config.vocab)
    if max_steps is not None:
        config = config.replace(max_steps=max_steps)
    if epochs is not None:
        config = config.replace(epochs=epochs)
    if time_budget is not None:
        config = config.replace(time_budget=time_budget)
    out = Path(config.out if resume is None else resume)

    device = resolve_device(config.device)
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # Leave the cores to the corruption workers: oversubscribing a small CPU with
        # torch threads slows training several-fold.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - config.workers))
    if world > 1:
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device(f"cuda:{local_rank}")
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    is_main = rank == 0

    # --- move set, data ------------------------------------------------------
    init = None
    if checkpoint is None and config.init_weights:
        init = _load_init_weights(config.init_weights)
        sizes = ModelConfig.from_dict(init["model_config"])
        config = config.replace(move_set=init["move_set"]["name"], hidden=sizes.hidden, depth=sizes.depth)
        logger.info("starting from the weights of %s (%s move set, hidden %d, depth %d)", config.init_weights,
                    config.move_set, sizes.hidden, sizes.depth)
    if checkpoint is not None:
        move_set = move_set_from_dict(checkpoint["move_set"])
    elif init is not None:
        move_set = move_set_from_dict(init["move_set"])
        if config.vocab:
            given = domain_of(move_set).build_move_set(move_set.name, vocab=config.vocab)
            if move_set_to_dict(given) != init["move_set"]:
                raise ValueError(f"{config.vocab} is not the vocabulary of {config.init_weights}; leave --vocab out "
                                 "to use the checkpoint's")
    else:
        move_set = domain_of(config.move_set).build_move_set(
            config.move_set, data=config.data, vocab=config.vocab, max_unusable=config.max_unusable)
    domain = domain_of(move_set)
    corruption = CorruptionConfig(steps_mean=config.steps_mean)
    graphs = domain.load_states(config.data, move_set, max_unusable=config.max_unusable)
    if config.valid:
        valid_graphs = domain.load_states(config.valid, move_set, max_unusable=config.max_unusable)
    else:
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(graphs))
        n_valid = max(1, min(2000, len(graphs) // 20))
        valid_graphs = _subset(graphs, order[:n_valid])
        graphs = _subset(graphs, np.sort(order[n_valid:])) if len(order) > n_valid else valid_graphs
        logger.info("no --valid given: holding out %d training states for validation", n_valid)

    dataset = CorruptionDataset(graphs, move_set, corruption, config.seed)
    sampler = EpochSampler(len(dataset), config.seed, rank, world)
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=config.workers,
        persistent_workers=config.workers > 0,
        pin_memory=device.type == "cuda",
        worker_init_fn=_init_data_worker,
    )

    # --- model, optimiser ----------------------------------------------------
    torch.manual_seed(config.seed)
    model_config = (
        ModelConfig.from_dict(checkpoint["model_config"])
        if checkpoint is not None
        else ModelConfig.for_move_set(move_set, hidden=config.hidden, depth=config.depth,
                                   set_hidden=config.set_hidden)
    )
    if init is not None:
        model_config = ModelConfig.from_dict(init["model_config"])
    model = ReconstructionModel(model_config).to(device)
    if init is not None:
        model.load_state_dict(init["model_state"])
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    final_ratio = (config.lr_final if config.lr_final is not None else config.lr / 10) / config.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(config.warmup_steps, config.decay_steps, final_ratio))
    step, epoch, batch_in_epoch = 0, 0, 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model_state"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        scheduler.load_state_dict(checkpoint["scheduler_state"])
        step, epoch, batch_in_epoch = checkpoint["step"], checkpoint["epoch"], checkpoint["batch_in_epoch"]
        set_rng_state(checkpoint["rng"])
        logger.info("resuming %s at step %d (epoch %d, batch %d)", out, step, epoch, batch_in_epoch)
    trained: torch.nn.Module = _LabelScores(model)
    if world > 1:
        # Not every head sees candidates in every batch (e.g. no set moves in the atom
        # move set), so unused parameters must be allowed.
        trained = torch.nn.parallel.DistributedDataParallel(
            trained, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True
        )

    valid_batches, valid_majority = [], None
    metrics = None
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        valid_batches, valid_majority = _validation_batches(
            valid_graphs, move_set, corruption, config.seed, config.valid_examples, config.batch_size
        )
        metrics = _MetricsLog(out / METRICS_NAME, step if checkpoint is not None else None)

    limit = config.max_steps if config.max_steps is not None else math.inf
    steps_per_epoch = -(-sampler.shard_size() // config.batch_size)
    total = min(limit, config.epochs * steps_per_epoch)
    bar = None
    if progress and is_main:
        from tqdm import tqdm

        bar = tqdm(total=None if math.isinf(total) else int(total), initial=step, unit="step", desc="training")

    def save() -> Path:
        payload = {
            "model_config": model_config.to_dict(),
            "move_set": move_set_to_dict(move_set),
            "corruption": corruption.to_dict(),
            "train_config": config.to_dict(),
            "model_state": model.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict(),
            "step": step,
            "epoch": epoch,
            "batch_in_epoch": batch_in_epoch,
            "rng": rng_state(),
            "cpu_seconds": clock.seconds(),
            "metrics": dict(last_valid),
            "data_files": data_files,
        }
        path = out / CHECKPOINT_NAME
        save_checkpoint(path, payload)
        return path

    def validate() -> None:
        loss, top1 = evaluate(model, valid_batches, device)
        last_valid.update(valid_loss=loss, valid_top1=top1, valid_majority=valid_majority, valid_step=step)
        metrics.write(step=step, epoch=epoch, split="valid", loss=f"{loss:.5f}", top1=f"{top1:.4f}",
                      stop_fraction=f"{valid_majority:.4f}", elapsed_s=f"{time.time() - start:.1f}",
                      cpu_s=f"{clock.seconds():.1f}")
        logger.info("step %d: valid loss %.4f, top-1 %.3f (stop-only baseline %.3f)", step, loss, top1, valid_majority)

    def log_train_row() -> None:
        """One ``train`` row of metrics.csv for the steps since the last row."""
        metrics.write(
            step=step, epoch=epoch, split="train", loss=f"{window_loss / window_n:.5f}",
            top1=f"{window_hit / window_n:.4f}", stop_fraction=f"{window_stop / window_n:.4f}",
            lr=f"{scheduler.get_last_lr()[0]:.3g}",
            examples_per_s=f"{window_n * world / max(time.time() - window_t, 1e-9):.1f}",
            elapsed_s=f"{time.time() - start:.1f}", cpu_s=f"{clock.seconds():.1f}",
        )

    last_valid: dict[str, float] = {}
    if checkpoint is not None and is_main:
        # Remember when the run last validated, so that resuming a finished run does not
        # validate (and log) the same step twice.
        last_valid.update(checkpoint.get("metrics") or {})
    start = time.time()
    clock = CpuClock(offset=float(checkpoint.get("cpu_seconds", 0.0)) if checkpoint is not None else 0.0)
    budget = config.time_budget if config.time_budget is not None else math.inf
    first_step = step
    out_of_time = False
    window_loss, window_hit, window_n, window_stop, window_t = 0.0, 0.0, 0, 0, time.time()
    last_path = None
    model.train()
    while step < limit and epoch < config.epochs and not out_of_time:
        sampler.set_epoch(epoch, skip=batch_in_epoch * config.batch_size)
        for batch in loader:
            if budget < math.inf and clock.seconds() >= budget:
                out_of_time = True
                logger.info("CPU budget of %.0f s spent at step %d", budget, step)
                break
            batch = batch.to(device)
            nll, hits = trained(batch)
            loss = nll.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            batch_in_epoch += 1
            with torch.no_grad():
                window_loss += float(nll.sum())
                window_hit += float(hits.sum())
                window_n += int(batch.y.size(0))
                window_stop += int((batch.y[:, 0] == KIND_STOP).sum())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{window_loss / max(window_n, 1):.3f}",
                                mol_s=f"{window_n * world / max(time.time() - window_t, 1e-9):.0f}")
            if is_main and step % config.log_every == 0:
                log_train_row()
                window_loss, window_hit, window_n, window_stop, window_t = 0.0, 0.0, 0, 0, time.time()
            if is_main and step % config.valid_every == 0:
                validate()
            if is_main and step % config.checkpoint_every == 0:
                last_path = save()
            if step >= limit:
                break
        else:
            epoch += 1
            batch_in_epoch = 0
    if bar is not None:
        bar.close()
    stopped_by = "time_budget" if out_of_time else "max_steps" if step >= limit else "epochs"
    if is_main and window_n:  # the steps since the last row, e.g. when the budget ran out mid-window
        log_train_row()
    if step == first_step and checkpoint is not None and is_main:
        reason = {
            "time_budget": f"its CPU budget of {budget:.0f} s is spent ({clock.seconds():.0f} s used); "
                           f"give a larger --time-budget to continue",
            "max_steps": f"it has reached --max-steps {config.max_steps}; give a larger --max-steps to continue",
            "epochs": f"it has done all {config.epochs} epochs",
        }[stopped_by]
        logger.warning("%s: nothing to do at step %d: %s", out, step, reason)
    if is_main:
        if last_valid.get("valid_step") != step:
            validate()
        last_path = save()
        metrics.close()
        logger.info("checkpoint %s (step %d, %.0f CPU s)", last_path, step, clock.seconds())
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return TrainResult(
        step=step,
        model=model,
        valid_loss=last_valid.get("valid_loss"),
        valid_top1=last_valid.get("valid_top1"),
        valid_majority=last_valid.get("valid_majority"),
        checkpoint=last_path,
        steps_done=step - first_step,
        stopped_by=stopped_by,
    )
