"""Tests of ric.runtime.checkpoint: format, validation, errors, atomicity, RNG state."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import ric
from ric.runtime.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

ROOT = Path(__file__).resolve().parents[2]


def _trained_payload() -> dict:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = model(torch.randn(5, 4)).pow(2).sum()
    loss.backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": {"train": {"lr": 1e-3, "batch_size": 32, "amp": False, "tags": ["a", "b"]},
                   "model": {"hidden": 64, "dropout": None}},
        "move_set": {"kind": "fragment", "vocab_hash": "abcdef0123456789" * 4},
        "step": 7,
        "epoch": 1,
        "rng": rng_state(),
    }


def _assert_same(a, b) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor)
        assert a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_round_trip_plain_torch_load(tmp_path):
    payload = _trained_payload()
    path = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint(path, payload)
    assert "format_version" not in payload  # payload itself untouched

    raw = torch.load(path, weights_only=True, map_location="cpu")
    for key, value in payload.items():
        _assert_same(value, raw[key])
    assert raw["format_version"] == FORMAT_VERSION
    assert raw["ric_version"] == ric.__version__
    assert raw["torch_version"] == str(torch.__version__)
    assert isinstance(raw["rdkit_version"], str)
    assert raw["saved_at"].endswith("+00:00")

    loaded = load_checkpoint(path, expected_vocab_hash=payload["move_set"]["vocab_hash"])
    _assert_same(raw, loaded)

    # The state dicts restore into fresh objects.
    model = torch.nn.Linear(4, 3)
    model.load_state_dict(loaded["model"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    optimizer.load_state_dict(loaded["optimizer"])
    assert not list(tmp_path.joinpath("run").glob(".checkpoint.*.tmp"))


@pytest.mark.parametrize(
    "bad, where",
    [
        (np.int64(3), "optimizer.state.0.step: numpy.int64"),
        (np.float64(3.0), "optimizer.state.0.step: numpy.float64"),
    ],
)
def test_save_rejects_numpy_scalar(tmp_path, bad, where):
    payload = _trained_payload()
    payload["optimizer"]["state"][0]["step"] = bad
    with pytest.raises(TypeError, match=where.replace(".", r"\.")):
        save_checkpoint(tmp_path / "checkpoint.pt", payload)
    assert not list(tmp_path.iterdir())


class _Custom:
    pass


def test_save_rejects_custom_object(tmp_path):
    payload = {"config": {"layers": [1, 2, _Custom()]}}
    with pytest.raises(TypeError) as info:
        save_checkpoint(tmp_path / "checkpoint.pt", payload)
    assert "config.layers.2" in str(info.value)
    assert "_Custom" in str(info.value)
    with pytest.raises(TypeError, match="config"):
        save_checkpoint(tmp_path / "checkpoint.pt", {"config": {(1, 2): 3, "x": {_Custom(): 1}}})
    with pytest.raises(TypeError, match="must be a dict"):
        save_checkpoint(tmp_path / "checkpoint.pt", [1, 2])  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_missing_file(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="does not exist") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_truncated_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _trained_payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"\x00garbage\xff" * 100, b"PK\x03\x04not a zip"])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="truncated or corrupted") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_not_a_ric_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": {}}, path)
    with pytest.raises(CheckpointError, match="format_version") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    torch.save([1, 2], path)
    with pytest.raises(CheckpointError, match="not a ric checkpoint"):
        load_checkpoint(path)


def test_future_format_version(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save({"format_version": FORMAT_VERSION + 1, "ric_version": "9.9.9"}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "upgrade" in message and "9.9.9" in message and str(path) in message


def test_vocab_mismatch(tmp_path):
    path = tmp_path / "checkpoint.pt"
    payload = _trained_payload()
    save_checkpoint(path, payload)
    stored = payload["move_set"]["vocab_hash"]
    other = "0123456789fedcba" * 4
    with pytest.raises(CheckpointError, match="vocabulary") as info:
        load_checkpoint(path, expected_vocab_hash=other)
    message = str(info.value)
    assert stored[:12] in message and other[:12] in message and str(path) in message

    no_vocab = tmp_path / "novocab.pt"
    save_checkpoint(no_vocab, {"step": 1})
    with pytest.raises(CheckpointError, match="vocab_hash"):
        load_checkpoint(no_vocab, expected_vocab_hash=other)
    assert load_checkpoint(no_vocab)["step"] == 1


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1, "weights": torch.arange(1000.0)})
    before = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04partial data")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2, "weights": torch.zeros(1000)})
    monkeypatch.undo()

    assert path.read_bytes() == before
    loaded = load_checkpoint(path)
    assert loaded["step"] == 1 and torch.equal(loaded["weights"], torch.arange(1000.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_sigkill_mid_write_never_truncates(tmp_path):
    path = tmp_path / "checkpoint.pt"
    script = textwrap.dedent(
        f"""
        import sys, torch
        from ric.runtime.checkpoint import save_checkpoint
        path = {str(path)!r}
        i = 0
        while True:
            save_checkpoint(path, {{"i": i, "w": torch.full((5_000_000,), float(i))}})
            if i == 0:
                print("saved", flush=True)
            i += 1
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"saved", "child failed before its first save"
        time.sleep(0.3 + random.random() * 0.4)  # child start + first save took ~1.5 s
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    loaded = load_checkpoint(path)
    assert loaded["w"].shape == (5_000_000,)
    assert torch.all(loaded["w"] == float(loaded["i"]))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "checkpoint.pt"]
    assert all(n.startswith(".checkpoint.") and n.endswith(".tmp") for n in leftovers)


def test_rng_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    random.gauss(0, 1)  # leaves a cached gauss_next
    np.random.standard_normal()  # leaves a cached gauss in numpy's state
    state = rng_state()
    expected = (
        [random.random() for _ in range(3)] + [random.gauss(0, 1)],
        np.random.rand(3).tolist() + [float(np.random.standard_normal())],
        torch.rand(3).tolist(),
    )

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"rng": state})
    restored = torch.load(path, weights_only=True, map_location="cpu")["rng"]

    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    set_rng_state(restored)
    again = (
        [random.random() for _ in range(3)] + [random.gauss(0, 1)],
        np.random.rand(3).tolist() + [float(np.random.standard_normal())],
        torch.rand(3).tolist(),
    )
    assert again == expected
