"""The batched Markov chain: validity, reproducibility, constraints, CLI output."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from rdkit import Chem

from ric.moves import make_move_set, move_set_to_dict
from ric.nn.model import ModelConfig, ReconstructionModel
from ric.sampling.chain import ChainConfig
from ric.sampling.generator import ChainGenerator, Generator
from ric.runtime.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def fragment_set(vocab):
    return make_move_set("fragment", vocab=vocab)


@pytest.fixture(scope="module")
def tiny_model(fragment_set):
    torch.manual_seed(0)
    return ReconstructionModel(ModelConfig.for_move_set(fragment_set, hidden=16, depth=1)).eval()


# An untrained network rarely draws stop, so keep reconstructions short and molecules bounded.
FAST = ChainConfig(steps_mean=3.0, max_reconstruction_steps=4, max_atoms=45)


def _generator(move_set, model, starts, **kw):
    kw.setdefault("config", FAST)
    return ChainGenerator(move_set, model, starts, **kw)


def _valid_connected(smiles):
    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and mol.GetNumAtoms() > 0 and len(Chem.GetMolFrags(mol)) == 1


@pytest.mark.parametrize("use_model", [True, False])
def test_samples_are_valid_and_reproducible(fragment_set, tiny_model, zinc_smiles, use_model):
    model = tiny_model if use_model else None
    gen = _generator(fragment_set, model, zinc_smiles[:50], batch_size=8, seed=3)
    assert isinstance(gen, Generator)
    samples = list(gen.sample(40))
    assert len(samples) == 40
    assert all(_valid_connected(s.smiles) for s in samples)
    assert all(s.reconstruction_steps <= gen.config.max_reconstruction_steps for s in samples)
    assert {s.ended for s in samples} <= {"stop", "revisit", "cap"}
    again = _generator(fragment_set, model, zinc_smiles[:50], batch_size=8, seed=3).generate(40)
    assert again == [s.smiles for s in samples]
    other = _generator(fragment_set, model, zinc_smiles[:50], batch_size=8, seed=4).generate(40)
    assert other != again


def _pair_moves_only(features, encodings):
    """A scorer drawing uniformly among pair moves only (never stop): with the atom move
    set, bond-order edits that often come back to a visited state."""
    import numpy as np

    out = []
    for e in encodings:
        logits = np.full(1 + e.num_moves, -np.inf)
        logits[1 + e.num_atom_moves : 1 + e.num_atom_moves + e.num_pair_moves] = 0.0
        out.append(logits)
    return out


def test_revisits_end_reconstructions_only_when_asked(zinc_graphs):
    """Bond-order edits only (atom move set, stop never drawn) come back to visited states
    often; with stop_on_revisit off a revisit never ends a reconstruction, which then runs
    to the cap."""
    from ric.sampling.chain import ChainSampler

    move_set = make_move_set("atom")

    def run(stop_on_revisit):
        config = ChainConfig(steps_mean=2.0, max_reconstruction_steps=12, stop_on_revisit=stop_on_revisit)
        sampler = ChainSampler(move_set, _pair_moves_only, list(zinc_graphs[:10]), config)
        samples = sampler.run(8, seed=1)
        return [next(samples) for _ in range(60)]

    ended = [s.ended for s in run(True)]
    assert "revisit" in ended
    samples = run(False)
    assert {s.ended for s in samples} == {"cap"}
    assert all(s.reconstruction_steps == 12 for s in samples)


class _QuickKeyAs:
    """A move set whose ``quick_key`` is replaced (everything else delegated)."""

    def __init__(self, move_set, quick_key):
        self._move_set, self.quick_key = move_set, quick_key

    def __getattr__(self, name):
        return getattr(self._move_set, name)


@pytest.mark.parametrize("quick", ["key", "constant"])
def test_revisit_check_through_quick_keys_equals_comparing_keys(zinc_graphs, quick):
    """The sampler compares keys only where quick keys collide: the same samples and
    endings as with the key itself as quick key, or with every quick key colliding."""
    from ric.sampling.chain import ChainSampler

    move_set = make_move_set("atom")

    def run(ms):
        config = ChainConfig(steps_mean=2.0, max_reconstruction_steps=12)
        samples = ChainSampler(ms, _pair_moves_only, list(zinc_graphs[:10]), config).run(8, seed=1)
        return [(s.text, s.ended, s.reconstruction_steps) for s in (next(samples) for _ in range(60))]

    reference = run(_QuickKeyAs(move_set, move_set.key if quick == "key" else (lambda state: 0)))
    assert "revisit" in {ended for _, ended, _ in reference}
    assert run(move_set) == reference


def test_chain_moves_away_from_its_start(fragment_set, zinc_smiles):
    gen = _generator(fragment_set, None, zinc_smiles[:20], batch_size=4, seed=0)
    smiles = gen.generate(30)
    assert len(set(smiles) - set(zinc_smiles)) >= 3


def test_atom_move_set_chain(tiny_model, zinc_smiles):
    atom_set = make_move_set("atom")
    torch.manual_seed(1)
    model = ReconstructionModel(ModelConfig.for_move_set(atom_set, hidden=16, depth=1)).eval()
    smiles = _generator(atom_set, model, zinc_smiles[:20], batch_size=4, seed=1).generate(20)
    assert all(_valid_connected(s) for s in smiles)


@pytest.mark.parametrize("scaffold", ["c1ccccc1", "C(=O)N", "[#7]"])
def test_scaffold_is_kept_in_every_sample(fragment_set, tiny_model, zinc_smiles, scaffold):
    pattern = Chem.MolFromSmarts(scaffold)
    gen = _generator(fragment_set, tiny_model, zinc_smiles[:200], batch_size=8, seed=2, scaffold=scaffold,
                     config=ChainConfig(steps_mean=6.0, max_reconstruction_steps=4, max_atoms=45))
    samples = list(gen.sample(40))
    assert all(Chem.MolFromSmiles(s.smiles).HasSubstructMatch(pattern) for s in samples)
    assert sum(s.corruption_steps for s in samples) > 40  # the chain really edits around it


def test_scaffold_as_only_start(fragment_set, tiny_model):
    gen = _generator(fragment_set, None, ["CCO"], batch_size=4, seed=0, scaffold="c1ccc2ccccc2c1")
    pattern = Chem.MolFromSmiles("c1ccc2ccccc2c1")
    assert all(Chem.MolFromSmiles(s).HasSubstructMatch(pattern) for s in gen.generate(20))
    with pytest.raises(ValueError, match="scaffold"):
        _generator(fragment_set, None, ["CCO"], scaffold="not[a(smarts").generate(1)


def test_size_cap(fragment_set, zinc_smiles):
    small = [s for s in zinc_smiles if Chem.MolFromSmiles(s).GetNumAtoms() <= 20][:30]
    gen = _generator(fragment_set, None, small, batch_size=8, seed=5, config=ChainConfig(steps_mean=3.0, max_reconstruction_steps=4, max_atoms=20))
    samples = list(gen.sample(40))
    assert all(Chem.MolFromSmiles(s.smiles).GetNumAtoms() <= 20 for s in samples)
    assert any(s.rejected for s in samples)


def _write_checkpoint(path, move_set, model):
    save_checkpoint(path, {
        "model_config": model.config.to_dict(),
        "move_set": move_set_to_dict(move_set),
        "corruption": {"steps_mean": 5.0},
        "model_state": model.state_dict(),
        "step": 0,
    })


def test_generate_cli_is_reproducible_and_writes_stats(tmp_path, fragment_set, tiny_model, zinc_smiles):
    from ric.cli.main import main

    ckpt = tmp_path / "tiny.pt"
    _write_checkpoint(ckpt, fragment_set, tiny_model)
    init = tmp_path / "init.smi"
    init.write_text("\n".join(zinc_smiles[:40]) + "\n")
    for name in ("a", "b"):
        assert main(["generate", "--checkpoint", str(ckpt), "--init", str(init), "-n", "25", "--seed", "9",
                     "--batch-size", "8", "--with-stats", "--max-reconstruction-steps", "4", "--max-atoms", "45", "-o", str(tmp_path / f"{name}.smi")]) == 0
    a = (tmp_path / "a.smi").read_text().splitlines()
    assert a == (tmp_path / "b.smi").read_text().splitlines()
    assert a[0].startswith("# smiles\tchain")
    rows = [line.split("\t") for line in a[1:]]
    assert len(rows) == 25 and all(len(r) == 8 and _valid_connected(r[0]) for r in rows)
    assert main(["generate", "--checkpoint", str(ckpt), "--init", str(init), "-n", "12", "--uniform", "--max-reconstruction-steps", "4", "--max-atoms", "45",
                 "--draw", str(tmp_path / "grid.png"), "-o", str(tmp_path / "u.smi")]) == 0
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_interrupted_generate_keeps_whole_lines(tmp_path, fragment_set, tiny_model, zinc_smiles):
    """kill -9 leaves the previous output untouched and whole lines in OUT.partial."""
    ckpt = tmp_path / "tiny.pt"
    _write_checkpoint(ckpt, fragment_set, tiny_model)
    init = tmp_path / "init.smi"
    init.write_text("\n".join(zinc_smiles[:40]) + "\n")
    final = tmp_path / "out.smi"
    final.write_text("CCO previous result\n")
    out = tmp_path / "out.smi.partial"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ric", "generate", "--checkpoint", str(ckpt), "--init", str(init),
         "-n", "100000", "--batch-size", "4", "--max-reconstruction-steps", "4", "--max-atoms", "45", "-o", str(final)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if out.exists() and out.read_text().count("\n") >= 10:
                break
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    text = out.read_text()
    lines = text.splitlines()
    assert len(lines) >= 10
    complete = lines if text.endswith("\n") else lines[:-1]
    assert all(_valid_connected(s) for s in complete)
    assert final.read_text() == "CCO previous result\n"


def test_bundled_checkpoint_loads_and_generates(tmp_path):
    """The committed default model matches the code and the bundled vocabulary."""
    from ric.data import bundled_dir
    from ric.molecules.vocab import Vocabulary
    from ric.sampling.generator import DEFAULT_CHECKPOINT, load_model
    from ric.runtime.checkpoint import load_checkpoint, slim_checkpoint

    model, move_set, payload = load_model(DEFAULT_CHECKPOINT, "cpu")
    root = bundled_dir()
    assert move_set.vocab.hash == Vocabulary.load(root / "zinc_vocab.txt").hash
    assert payload["inference_only"] and "optimizer_state" not in payload
    gen = ChainGenerator.from_checkpoint(device="cpu", batch_size=4, seed=0, init=root / "zinc_valid.smi")
    smiles = gen.generate(8)
    assert len(smiles) == 8 and all(_valid_connected(s) for s in smiles)
    slim_checkpoint(DEFAULT_CHECKPOINT, tmp_path / "copy.pt")
    assert load_checkpoint(tmp_path / "copy.pt")["step"] == payload["step"]


def test_pruned_gumbel_argmax_equals_the_full_computation():
    import numpy as np

    from ric.sampling.logits import gumbel as _gumbel, gumbel_argmax as _gumbel_argmax

    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 400))
        logits = rng.normal(0, [0.1, 3.0, 30.0][trial % 3], n)
        if trial % 4 == 0:
            logits[rng.random(n) < 0.5] = -np.inf
        if trial % 7 == 0:
            logits[:] = np.round(logits)  # many ties
        u = rng.random(n)
        if trial % 11 == 0:
            u[rng.integers(n)] = 0.0
        assert _gumbel_argmax(logits, u) == int(np.argmax(logits + _gumbel(u)))
    assert _gumbel_argmax(np.full(5, -np.inf), rng.random(5)) == 0


@pytest.mark.parametrize("use_model", [False, True])
def test_worker_processes_give_the_single_process_samples_in_order(fragment_set, tiny_model, zinc_smiles, use_model):
    model = tiny_model if use_model else None
    one = list(_generator(fragment_set, model, zinc_smiles[:50], batch_size=5, seed=2, processes=1).sample(30))
    for processes in (2, 3):
        many = list(_generator(fragment_set, model, zinc_smiles[:50], batch_size=5, seed=2, processes=processes).sample(30))
        # Same texts and statistics in the same order (by step, then chain).
        assert [(s.text, s.stats_row()) for s in many] == [(s.text, s.stats_row()) for s in one]


def test_worker_processes_end_with_the_iterator(fragment_set, zinc_smiles):
    import multiprocessing

    gen = _generator(fragment_set, None, zinc_smiles[:20], batch_size=4, seed=0, processes=2)
    it = gen.sample(1000)
    next(it)
    assert len(multiprocessing.active_children()) == 2
    it.close()
    assert multiprocessing.active_children() == []


class _FailingScorer:
    def __call__(self, features, encodings):
        raise RuntimeError("scorer broke on purpose")


def test_a_failing_worker_raises_in_the_parent_with_its_error(fragment_set, zinc_graphs):
    from ric.sampling.chain import ChainSampler

    sampler = ChainSampler(fragment_set, _FailingScorer(), zinc_graphs[:4], FAST)
    with pytest.raises(RuntimeError, match="scorer broke on purpose"):
        next(sampler.run(4, seed=0, processes=2))


def test_chain_config_precedence_options_then_recorded_then_training():
    from ric.sampling.generator import chain_config

    payload = {"corruption": {"steps_mean": 5.0}, "sampler": {"steps_mean": 2.0, "thin": 6}}
    assert chain_config(payload).steps_mean == 2.0 and chain_config(payload).thin == 6
    assert chain_config(payload, thin=1, burn_in=3) == ChainConfig(steps_mean=2.0, thin=1, burn_in=3)
    assert chain_config({"corruption": {"steps_mean": 3.0}}) == ChainConfig(steps_mean=3.0)
    with pytest.raises(TypeError, match="batch_size"):
        chain_config(payload, batch_size=4)


def test_unparsable_starting_lines_are_skipped(tmp_path, fragment_set, tiny_model, zinc_smiles):
    from ric.molecules.domain import MOLECULES

    path = tmp_path / "starts.smi"
    path.write_text("\n".join(["C1CC", "not_a_smiles", *zinc_smiles[:5]]) + "\n")
    texts = MOLECULES.read_texts(path)
    assert texts[:2] == ["C1CC", "not_a_smiles"] and len(texts) == 7  # read as written, not parsed
    samples = _generator(fragment_set, tiny_model, texts, batch_size=4, seed=0, processes=1).generate(8)
    assert len(samples) == 8 and all(_valid_connected(s) for s in samples)


def test_recorded_sampler_settings_set_the_number_of_chains(tmp_path, fragment_set, tiny_model, zinc_smiles):
    from ric.cli.main import main
    from ric.runtime.checkpoint import load_checkpoint

    ckpt = tmp_path / "tiny.pt"
    _write_checkpoint(ckpt, fragment_set, tiny_model)
    payload = load_checkpoint(ckpt)
    payload["sampler"] = {"batch_size": 3, "thin": 2, "max_reconstruction_steps": 4, "max_atoms": 45}
    save_checkpoint(ckpt, payload)
    gen = ChainGenerator.from_checkpoint(ckpt, init=zinc_smiles[:40], device="cpu")
    assert gen.batch_size == 3 and gen.config.thin == 2
    assert ChainGenerator.from_checkpoint(ckpt, init=zinc_smiles[:40], device="cpu", batch_size=5).batch_size == 5
    init = tmp_path / "init.smi"
    init.write_text("\n".join(zinc_smiles[:40]) + "\n")
    out = tmp_path / "out.smi"
    assert main(["generate", "--checkpoint", str(ckpt), "--init", str(init), "-n", "9", "--with-stats", "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert sorted({int(r[1]) for r in rows}) == [0, 1, 2]  # three chains
    assert all(int(r[2]) % 2 == 0 for r in rows)  # every second transition


def test_ric_generate_keeps_the_recorded_temperature_unless_given(tmp_path, fragment_set, tiny_model, zinc_smiles):
    from ric.cli.generate import _chain_generator
    from ric.cli.main import build_parser
    from ric.runtime.checkpoint import load_checkpoint

    ckpt = tmp_path / "tiny.pt"
    _write_checkpoint(ckpt, fragment_set, tiny_model)
    payload = load_checkpoint(ckpt)
    payload["sampler"] = {"temperature": 0.5, "thin": 2}
    save_checkpoint(ckpt, payload)
    init = tmp_path / "init.smi"
    init.write_text("\n".join(zinc_smiles[:20]) + "\n")
    base = ["generate", "--checkpoint", str(ckpt), "--init", str(init), "-n", "1", "-o", str(tmp_path / "o.smi")]
    for extra, expected in (([], 0.5), (["--temperature", "0.8"], 0.8)):
        args = build_parser().parse_args(base + extra)
        gen = _chain_generator(args, load_checkpoint(ckpt))
        assert gen.config.temperature == expected and gen.config.thin == 2
