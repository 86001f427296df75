"""End-to-end tests of ric.training: learning, kill -9 and resume, DDP, devices, checkpoints.

Everything runs on the CPU with one torch thread per process (``torch.set_num_threads(1)``
in-process, ``OMP_NUM_THREADS=1`` in subprocesses): on a small shared machine the default
intra-op thread pool is many times slower, and one thread also makes runs bitwise
reproducible.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ric.nn.model import ModelConfig, ReconstructionModel
from ric.runtime.checkpoint import CheckpointError, load_checkpoint
from ric.training.config import TrainConfig
from ric.training.dataset import EpochSampler
from ric.data import bundled_dir
from ric.training.loop import CHECKPOINT_NAME, METRICS_NAME, train

ROOT = Path(__file__).resolve().parents[2]
DATA = bundled_dir()  # package data: ric/data/bundled
VOCAB = str(DATA / "zinc_vocab.txt")

#: Environment of ``ric`` subprocesses: one intra-op thread, the package importable.
SUB_ENV = {
    **os.environ,
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
}


# --------------------------------------------------------------------------- helpers


def _head(src: Path, dst: Path, n: int) -> str:
    """Write the first ``n`` lines of ``src`` to ``dst``; returns ``str(dst)``."""
    with open(src) as fh:
        lines = [next(fh) for _ in range(n)]
    dst.write_text("".join(lines))
    return str(dst)


@contextlib.contextmanager
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture()
def one_thread():
    with _one_thread():
        yield


def _metrics(run: Path) -> list[dict[str, str]]:
    with open(run / METRICS_NAME, newline="") as fh:
        return list(csv.DictReader(fh))


def _digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _ric_train(log: Path, *args: str, **popen) -> subprocess.Popen:
    """Start ``ric train ARGS`` with stdout and stderr (tqdm included) going to ``log``."""
    with open(log, "w") as fh:
        return subprocess.Popen([sys.executable, "-m", "ric", "-q", "train", *args], env=SUB_ENV, cwd=ROOT,
                                stdout=fh, stderr=subprocess.STDOUT, **popen)


def _finish(proc: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- 1. learning

#: Fragment-learning settings. ``steps_mean=8`` keeps the stop-only baseline low (about
#: 0.25-0.3) so that beating it needs correct reverse moves, not just stop detection.
FRAGMENT = {
    "move_set": "fragment", "vocab": VOCAB, "hidden": 64, "depth": 2, "batch_size": 32, "lr": 3e-3,
    "warmup_steps": 10, "steps_mean": 8.0, "valid_examples": 400, "workers": 0, "device": "cpu",
    "log_every": 20, "valid_every": 100, "checkpoint_every": 100,
}


def _learning_run(tmp: Path, seed: int, steps: int, n_train: int = 1000, **settings):
    """(untrained, trained) :class:`TrainResult` of a fragment run and its config."""
    train_smi = _head(DATA / "zinc_train.smi", tmp / "train.smi", n_train)
    valid_smi = _head(DATA / "zinc_valid.smi", tmp / "valid.smi", 300)
    config = TrainConfig(data=train_smi, valid=valid_smi, out=str(tmp / "untrained"), seed=seed, max_steps=0,
                         **{**FRAGMENT, **settings})
    with _one_thread():
        untrained = train(config)
        trained = train(config.replace(out=str(tmp / "run"), max_steps=steps))
    return untrained, trained, config


@pytest.fixture(scope="module")
def fragment_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fragment")
    untrained, trained, config = _learning_run(tmp, seed=0, steps=200)
    return tmp, untrained, trained, config


def _assert_learned(untrained, trained, loss_ratio: float, margin: float) -> None:
    assert trained.valid_majority == untrained.valid_majority  # the same validation examples
    assert 0.1 < trained.valid_majority < 0.6
    assert trained.valid_loss < loss_ratio * untrained.valid_loss, (untrained.valid_loss, trained.valid_loss)
    assert trained.valid_top1 > trained.valid_majority + margin, (trained.valid_top1, trained.valid_majority)


def test_max_steps_zero_writes_checkpoint_and_validation(fragment_run):
    tmp, untrained, _, _ = fragment_run
    run = tmp / "untrained"
    assert untrained.step == 0
    assert untrained.checkpoint == run / CHECKPOINT_NAME and untrained.checkpoint.is_file()
    assert load_checkpoint(untrained.checkpoint)["step"] == 0
    rows = _metrics(run)
    assert [(r["step"], r["split"]) for r in rows] == [("0", "valid")]
    assert float(rows[0]["loss"]) == pytest.approx(untrained.valid_loss, abs=1e-4)
    # An untrained model spreads its probability over thousands of legal moves.
    assert untrained.valid_loss > 5.0


def test_fragment_training_learns(fragment_run):
    tmp, untrained, trained, _ = fragment_run
    assert trained.step == 200
    _assert_learned(untrained, trained, loss_ratio=0.7, margin=0.1)
    valid = [r for r in _metrics(tmp / "run") if r["split"] == "valid"]
    assert [int(r["step"]) for r in valid] == [100, 200]
    train_rows = [r for r in _metrics(tmp / "run") if r["split"] == "train"]
    assert [int(r["step"]) for r in train_rows] == list(range(20, 201, 20))
    # The returned model is the one that was checkpointed.
    state = load_checkpoint(trained.checkpoint)["model_state"]
    assert all(torch.equal(v, state[k]) for k, v in trained.model.state_dict().items())


def test_init_weights_starts_from_a_checkpoint_network(fragment_run, tmp_path):
    """A fine-tuning run starts from the trained network: at step 0 it validates exactly as
    the trained run did on the same examples, and the vocabulary/size come from the checkpoint."""
    tmp, _, trained, config = fragment_run
    finetune = config.replace(out=str(tmp_path / "ft"), max_steps=0, init_weights=str(trained.checkpoint),
                              vocab=None, hidden=8, depth=1)
    with _one_thread():
        result = train(finetune)
    assert result.valid_loss == pytest.approx(trained.valid_loss, abs=1e-5)
    saved = load_checkpoint(result.checkpoint)
    assert saved["model_config"] == load_checkpoint(trained.checkpoint)["model_config"]
    assert saved["train_config"]["init_weights"] == str(trained.checkpoint.resolve())
    with pytest.raises(ValueError, match="is not a ric checkpoint"):
        bogus = tmp_path / "bogus.pt"
        torch.save({"step": 1}, bogus)
        train(finetune.replace(out=str(tmp_path / "ft2"), init_weights=str(bogus)))


def test_cosine_decay_schedule():
    from ric.training.loop import _lr_lambda

    constant = _lr_lambda(10)
    assert [constant(s) for s in (0, 4, 9, 10, 10_000)] == [0.1, 0.5, 1.0, 1.0, 1.0]
    decay = _lr_lambda(10, 110, 0.1)
    assert [decay(s) for s in (0, 9)] == [0.1, 1.0]
    assert decay(10) == pytest.approx(1.0)
    assert decay(60) == pytest.approx(0.55)
    assert decay(110) == pytest.approx(0.1) and decay(5000) == pytest.approx(0.1)
    assert all(decay(s) >= decay(s + 1) for s in range(10, 120))
    with pytest.raises(ValueError, match="lr_final needs decay_steps"):
        TrainConfig(data="x.smi", out="run", lr_final=1e-4)
    with pytest.raises(ValueError, match="decay_steps must be larger"):
        TrainConfig(data="x.smi", out="run", decay_steps=50)


def test_resuming_a_finished_run_logs_nothing_twice(fragment_run, tmp_path):
    tmp, untrained, _, _ = fragment_run
    run = tmp_path / "untrained"
    shutil.copytree(tmp / "untrained", run)
    before = (run / METRICS_NAME).read_text()
    with _one_thread():
        again = train(resume=run)
    assert again.step == 0
    assert (run / METRICS_NAME).read_text() == before  # no second validation row for step 0
    assert (again.valid_loss, again.valid_top1, again.valid_majority) == (
        untrained.valid_loss, untrained.valid_top1, untrained.valid_majority)


def test_time_budget_stops_on_cpu_seconds_and_resumes(fragment_run, tmp_path):
    """--time-budget stops a run with a corruption worker after that much CPU time (the
    worker's share is counted by CpuClock, tested in test_cpu_clock.py), and a resumed run
    carries the spent seconds on."""
    tmp, _, _, config = fragment_run
    budget = 4.0
    config = config.replace(out=str(tmp_path / "budget"), max_steps=None, epochs=1000, workers=1,
                            time_budget=budget, valid_every=10_000)
    with _one_thread():
        result = train(config)
    spent = load_checkpoint(result.checkpoint)["cpu_seconds"]
    assert 0 < result.step < 1000
    assert budget <= spent < budget + 5.0, spent
    rows = [r for r in _metrics(tmp_path / "budget") if r["split"] == "train"]
    # However few steps the budget allowed (a loaded machine does fewer than --log-every),
    # the steps since the last row are logged when the budget stops the run.
    assert rows and int(rows[-1]["step"]) == result.step
    cpu = [float(r["cpu_s"]) for r in rows]
    assert cpu == sorted(cpu) and cpu[-1] <= spent
    # Resuming under the same budget does no more steps; a larger budget continues from
    # the seconds already spent, not from zero.
    with _one_thread():
        same = train(resume=tmp_path / "budget")
        assert same.step == result.step
        more = train(resume=tmp_path / "budget", max_steps=same.step + 5, time_budget=1e6)
    assert more.step == same.step + 5
    assert load_checkpoint(more.checkpoint)["cpu_seconds"] > spent


def test_time_budget_must_be_positive():
    with pytest.raises(ValueError, match="time_budget"):
        TrainConfig(data="x.smi", out="run", time_budget=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_fragment_training_learns_longer(tmp_path, seed):
    untrained, trained, _ = _learning_run(tmp_path, seed=seed, steps=500, n_train=2000, valid_every=250)
    _assert_learned(untrained, trained, loss_ratio=0.5, margin=0.15)


def test_atom_training_reduces_loss(tmp_path, one_thread):
    train_smi = _head(DATA / "zinc_train.smi", tmp_path / "train.smi", 300)
    valid_smi = _head(DATA / "zinc_valid.smi", tmp_path / "valid.smi", 100)
    config = TrainConfig(data=train_smi, valid=valid_smi, out=str(tmp_path / "untrained"), move_set="atom",
                         hidden=32, depth=2, batch_size=16, lr=3e-3, warmup_steps=5, max_steps=0, workers=0,
                         valid_examples=200, device="cpu")
    untrained = train(config)
    trained = train(config.replace(out=str(tmp_path / "run"), max_steps=60))
    assert trained.valid_loss < 0.7 * untrained.valid_loss, (untrained.valid_loss, trained.valid_loss)


# --------------------------------------------------------------------------- 2. kill -9 and resume


def _train_and_kill(log: Path, args: list[str], run: Path, at_least: int) -> dict:
    """Run ``ric train ARGS``, SIGKILL it once its checkpoint reaches ``at_least`` steps.

    Returns the checkpoint left behind.
    """
    proc = _ric_train(log, *args, start_new_session=True)
    ckpt = run / CHECKPOINT_NAME
    deadline = time.time() + 180
    step = -1
    try:
        while step < at_least:
            assert proc.poll() is None, "training ended before it could be killed:\n" + log.read_text()[-3000:]
            assert time.time() < deadline, f"no checkpoint at step >= {at_least} within 180 s"
            if ckpt.exists():
                # Checkpoints are written atomically: whatever is there loads.
                step = torch.load(ckpt, weights_only=True, map_location="cpu")["step"]
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its DataLoader worker
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return load_checkpoint(ckpt)


def test_kill_and_resume_matches_uninterrupted_run(tmp_path):
    # 200 training molecules (all covered by the bundled vocabulary) in batches of 20: 10
    # steps per epoch. The first kill comes at the checkpoint of step 10 (normally), exactly
    # at the end of epoch 0; the resumed run is killed again 5 steps later, mid-epoch.
    train_smi = _head(DATA / "zinc_train.smi", tmp_path / "train.smi", 200)
    valid_smi = _head(DATA / "zinc_valid.smi", tmp_path / "valid.smi", 40)
    max_steps = 40
    common = [
        "--data", train_smi, "--valid", valid_smi, "--vocab", VOCAB, "--hidden", "32", "--depth", "2",
        "--batch-size", "20", "--max-steps", str(max_steps), "--checkpoint-every", "5", "--log-every", "3",
        "--valid-every", "15", "--valid-examples", "40", "--workers", "1", "--seed", "3", "--device", "cpu",
    ]
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    first = _train_and_kill(tmp_path / "killed1.log", [*common, "--out", str(killed)], killed, 10)
    second = _train_and_kill(tmp_path / "killed2.log", ["--resume", str(killed)], killed, first["step"] + 5)
    assert 10 <= first["step"] < second["step"] < max_steps
    for ck in (first, second):
        assert ck["epoch"] * 10 + ck["batch_in_epoch"] == ck["step"]
    _finish(_ric_train(tmp_path / "resumed.log", "--resume", str(killed)), tmp_path / "resumed.log")
    _finish(_ric_train(tmp_path / "whole.log", *common, "--out", str(whole)), tmp_path / "whole.log")

    a, b = load_checkpoint(killed / CHECKPOINT_NAME), load_checkpoint(whole / CHECKPOINT_NAME)
    assert a["step"] == b["step"] == max_steps
    assert a["model_state"].keys() == b["model_state"].keys()
    for name, tensor in b["model_state"].items():
        assert torch.equal(a["model_state"][name], tensor), name
    for key, state in b["optimizer_state"]["state"].items():
        assert _digest(a["optimizer_state"]["state"][key]) == _digest(state), key
    assert a["scheduler_state"] == b["scheduler_state"]

    rows = _metrics(killed)
    for split in ("train", "valid"):
        steps = [int(r["step"]) for r in rows if r["split"] == split]
        assert steps == sorted(set(steps)), (split, steps)  # strictly increasing: no duplicates
    reference = _metrics(whole)
    assert [(r["step"], r["split"]) for r in rows] == [(r["step"], r["split"]) for r in reference]
    # The validation figures do not depend on the interruption either.
    assert [r["loss"] for r in rows if r["split"] == "valid"] == [r["loss"] for r in reference if r["split"] == "valid"]


# --------------------------------------------------------------------------- 3. distributed

_DIST_WORKER = """
import hashlib, json, os, sys
import torch
import torch.distributed as dist
torch.set_num_threads(1)
from ric.training.config import TrainConfig
from ric.training.loop import train

config = TrainConfig.from_dict(json.loads(sys.argv[1]))
rank = int(os.environ["RANK"])
result = train(config.replace(out=config.out + f"_rank{rank}" if rank else config.out))
state = result.model.state_dict()
h = hashlib.sha256()
for name in sorted(state):
    h.update(name.encode())
    h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
with open(sys.argv[2] + f".rank{rank}", "w") as fh:
    json.dump({"digest": h.hexdigest(), "step": result.step, "checkpoint": str(result.checkpoint)}, fh)
assert dist.is_initialized() and dist.get_world_size() == 2
dist.destroy_process_group()
"""


def test_two_process_gloo_training_stays_in_sync(tmp_path):
    train_smi = _head(DATA / "zinc_train.smi", tmp_path / "train.smi", 64)
    valid_smi = _head(DATA / "zinc_valid.smi", tmp_path / "valid.smi", 20)
    run = tmp_path / "run"
    config = TrainConfig(data=train_smi, valid=valid_smi, out=str(run), vocab=VOCAB, hidden=32, depth=2,
                         batch_size=8, lr=3e-3, warmup_steps=1, max_steps=6, workers=0, log_every=2,
                         valid_examples=20, device="cpu", seed=5)
    script = tmp_path / "worker.py"
    script.write_text(_DIST_WORKER)
    out = tmp_path / "result"
    port = _free_port()
    procs = []
    for rank in range(2):
        env = {**SUB_ENV, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
               "WORLD_SIZE": "2", "LOCAL_RANK": str(rank)}
        with open(tmp_path / f"rank{rank}.log", "w") as log:
            procs.append(subprocess.Popen([sys.executable, str(script), json.dumps(config.to_dict()), str(out)],
                                          env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT))
    try:
        for p in procs:
            p.wait(timeout=240)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                p.wait()
    logs = "\n".join((tmp_path / f"rank{rank}.log").read_text()[-2000:] for rank in range(2))
    assert [p.returncode for p in procs] == [0, 0], logs

    r0, r1 = (json.loads(Path(f"{out}.rank{r}").read_text()) for r in range(2))
    assert r0["step"] == r1["step"] == 6
    assert r0["digest"] == r1["digest"]  # gradients were averaged: both replicas are identical
    assert r0["checkpoint"] == str(run / CHECKPOINT_NAME) and r1["checkpoint"] == "None"
    # Only rank 0 writes: rank 1's run directory was never created.
    assert not (tmp_path / "run_rank1").exists()
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json", "metrics.csv"]
    rows = _metrics(run)
    assert [(r["step"], r["split"]) for r in rows] == [("2", "train"), ("4", "train"), ("6", "train"), ("6", "valid")]

    ckpt = load_checkpoint(run / CHECKPOINT_NAME)
    assert _digest(ckpt["model_state"]) == r0["digest"]
    torch.manual_seed(config.seed)  # train() seeds the initialisation with the run's seed
    initial = ReconstructionModel(ModelConfig.from_dict(ckpt["model_config"])).state_dict()
    assert _digest(initial) != r0["digest"]
    changed = [k for k in initial if not torch.equal(initial[k], ckpt["model_state"][k])]
    assert len(changed) > len(initial) // 2


@pytest.mark.parametrize("size,world", [(11, 2), (10, 2), (10, 3), (5, 4)])
def test_epoch_sampler_shards_are_disjoint_and_cover(size, world):
    shards = []
    for rank in range(world):
        sampler = EpochSampler(size, seed=7, rank=rank, world_size=world)
        sampler.set_epoch(2)
        items = list(sampler)
        assert all(epoch == 2 for epoch, _ in items)
        assert len(items) == len(sampler) == sampler.shard_size()
        shards.append([index for _, index in items])
    assert len({len(s) for s in shards}) == 1  # equal length, as DDP needs
    flat = [i for s in shards for i in s]
    assert set(flat) == set(range(size))  # the union covers the dataset
    assert len(flat) - size == sampler.shard_size() * world - size  # only the padding repeats
    if world * sampler.shard_size() == size:
        assert len(set(flat)) == len(flat)
    for a in range(world):
        for b in range(a + 1, world):
            overlap = set(shards[a]) & set(shards[b])
            assert len(overlap) <= sampler.shard_size() * world - size


def test_epoch_sampler_order_depends_on_epoch_and_skip_resumes():
    sampler = EpochSampler(50, seed=1, rank=1, world_size=2)
    sampler.set_epoch(0)
    epoch0 = [i for _, i in sampler]
    sampler.set_epoch(1)
    epoch1 = [i for _, i in sampler]
    assert epoch0 != epoch1 and sorted(epoch0) != sorted(range(50))
    sampler.set_epoch(0, skip=7)
    assert len(sampler) == 18 and [i for _, i in sampler] == epoch0[7:]
    assert [i for _, i in EpochSampler(50, seed=1, rank=1, world_size=2)] == epoch0  # seeded


# --------------------------------------------------------------------------- 4. devices


def test_cli_device_cuda_without_cuda_is_a_clean_error(tmp_path, monkeypatch, capsys):
    from ric.cli.main import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    smi = _head(DATA / "zinc_train.smi", tmp_path / "train.smi", 5)
    code = main(["train", "--data", smi, "--out", str(tmp_path / "run"), "--device", "cuda", "--vocab", VOCAB])
    assert code == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "Traceback" not in err


def test_no_unconditional_cuda_calls():
    offenders = []
    for path in sorted((ROOT / "ric").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.cuda\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_trained_model_lives_on_cpu(fragment_run):
    _, _, trained, config = fragment_run
    assert config.device == "cpu"
    assert {p.device for p in trained.model.parameters()} == {torch.device("cpu")}


# --------------------------------------------------------------------------- 5. checkpoint contents


def test_checkpoint_contents(fragment_run):
    tmp, _, trained, config = fragment_run
    path = tmp / "run" / CHECKPOINT_NAME
    ck = torch.load(path, weights_only=True, map_location="cpu")
    expected = {"format_version", "ric_version", "rdkit_version", "model_config", "move_set", "model_state",
                "optimizer_state", "scheduler_state", "rng", "step"}
    assert expected <= set(ck), expected - set(ck)
    assert ck["step"] == 200
    import rdkit

    import ric

    assert ck["ric_version"] == ric.__version__ and ck["rdkit_version"] == rdkit.__version__
    assert ModelConfig.from_dict(ck["model_config"]) == trained.model.config
    assert ck["model_config"]["hidden"] == config.hidden and ck["model_config"]["depth"] == config.depth
    from ric.molecules.vocab import Vocabulary

    vocab = Vocabulary.load(VOCAB)
    assert ck["move_set"]["name"] == "fragment"
    assert ck["move_set"]["vocab"] == vocab.to_lines() and ck["move_set"]["vocab_hash"] == vocab.hash
    assert set(ck["model_state"]) == set(trained.model.state_dict())
    assert ck["optimizer_state"]["state"] and ck["scheduler_state"]["last_epoch"] == 200
    assert {"python", "numpy", "torch"} <= set(ck["rng"])
    assert TrainConfig.from_dict(ck["train_config"]) == config.replace(out=str(tmp / "run"), max_steps=200)

    assert load_checkpoint(path, expected_vocab_hash=vocab.hash)["step"] == 200
    with pytest.raises(CheckpointError, match="vocabulary mismatch") as info:
        load_checkpoint(path, expected_vocab_hash="0" * 64)
    assert str(path) in str(info.value)


def test_truncated_checkpoint_resume_is_a_clean_error(fragment_run, tmp_path):
    tmp, _, _, _ = fragment_run
    run = tmp_path / "run"
    run.mkdir()
    data = (tmp / "untrained" / CHECKPOINT_NAME).read_bytes()
    (run / CHECKPOINT_NAME).write_bytes(data[: len(data) // 2])
    proc = subprocess.run([sys.executable, "-m", "ric", "train", "--resume", str(run)], env=SUB_ENV, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert str(run / CHECKPOINT_NAME) in proc.stderr and "truncated" in proc.stderr
    assert "Traceback" not in proc.stderr
