"""``benchmarks/published_side_by_side.py``: ric's timing helpers work, and without the
published code the script says how to get it (this test is never skipped)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "published_side_by_side.py"
CLONE = "git clone https://github.com/PrincetonLIPS/reversible-inductive-construction"


@pytest.fixture(scope="module")
def sbs():
    spec = importlib.util.spec_from_file_location("published_side_by_side", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_imposed_length_answers_the_two_length_draws_then_delegates(sbs):
    for inner in (np.random.default_rng(0), np.random.RandomState(0)):
        rng = sbs.ImposedLength(inner, planned=7, k=3)
        assert rng.geometric(1 / 6) == 8  # N + 1: both sides subtract one
        draw = rng.integers if hasattr(inner, "integers") else rng.randint
        assert draw(8) == 3
        assert 0 <= draw(5) < 5  # later draws come from the real generator
        assert 0 <= rng.uniform() < 1


def test_draw_lengths_matches_the_corruption_distribution(sbs):
    lengths = sbs.draw_lengths(4000, seed=0)
    planned = np.array([n for n, _ in lengths])
    assert all(0 <= k <= n for n, k in lengths)
    assert abs(planned.mean() - 5.0) < 0.4
    assert sbs.draw_lengths(3, seed=0, fixed=5) == [(5, 5)] * 3


def test_ric_timing_runs_on_three_molecules(sbs, zinc_smiles):
    smiles = zinc_smiles[:3]
    move_set, graphs, unusable = sbs.ric_setup(smiles, train=None)
    assert not unusable
    lengths = sbs.draw_lengths(3, seed=0, fixed=2)
    for from_smiles in (None, smiles):
        t = sbs.time_ric(move_set, graphs, lengths, smiles=from_smiles)
        assert t.examples == 3 and t.steps == 6
        assert t.steps_per_s > 0 and t.examples_per_s > 0
        assert not t.failures and t.cut_short == 0


def _run(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "RIC_PUBLISHED"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


def test_without_the_published_code_the_script_says_how_to_get_it(tmp_path):
    for args in ([], ["--published", str(tmp_path / "nowhere")]):
        out = _run(args)
        assert out.returncode == 2, out.stderr
        assert CLONE in out.stderr
        assert "--published" in out.stderr
        assert "Traceback" not in out.stderr


def _published_root() -> Path | None:
    for candidate in (os.environ.get("RIC_PUBLISHED"), "/tmp/genric"):
        if candidate and (Path(candidate) / "code" / "genric" / "molecule_edit.py").is_file():
            return Path(candidate)
    return None


@pytest.mark.skipif(_published_root() is None, reason="published code absent (see benchmarks/published_side_by_side.py)")
def test_published_timing_runs_on_two_molecules(sbs):  # pragma: no cover - needs the published code
    root = _published_root()
    saved_modules, saved_path = dict(sys.modules), list(sys.path)
    try:  # the shims (stub six, pkg_resources, genric) must not leak into other tests
        module = sbs.import_published(root)
        dataset = sbs.published_setup(module, root / "data" / "zinc" / "test.txt")
        t = sbs.time_published(module, dataset, [0, 1], sbs.draw_lengths(2, seed=0, fixed=1))
    finally:
        for name in set(sys.modules) - set(saved_modules):
            del sys.modules[name]
        sys.path[:] = saved_path
    assert t.examples == 2 and t.steps + t.cut_short + sum(t.failures.values()) >= 2
