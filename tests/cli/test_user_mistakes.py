"""Ordinary user mistakes: nothing is lost, nothing is silent, every error is one clear line.

Each test reproduces a mistake from a newcomer run of the command line (issue 14) and
checks what the user should get: inputs and earlier outputs untouched, options that do
not apply refused, and an error naming the file, line or value instead of a traceback.
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rdkit import Chem

from ric.cli.main import main
from ric.data import bundled_dir
from ric.moves import make_move_set, move_set_to_dict
from ric.nn.model import ModelConfig, ReconstructionModel
from ric.runtime.checkpoint import save_checkpoint

DATA = bundled_dir()  # package data: ric/data/bundled
PREVIOUS = "previous content\n"


def _lines(path: Path, n: int, dst: Path) -> Path:
    with open(path) as fh:
        dst.write_text("".join(next(fh) for _ in range(n)))
    return dst


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mistakes")
    return {
        "train": _lines(DATA / "zinc_train.smi", 80, tmp / "train.smi"),
        "valid": _lines(DATA / "zinc_valid.smi", 30, tmp / "valid.smi"),
        "vocab": DATA / "zinc_vocab.txt",
        "tmp": tmp,
    }


@pytest.fixture(scope="module")
def tiny_checkpoint(files, vocab):
    """An untrained tiny chain model whose run records the 80 training molecules."""
    from ric.files import record_inputs

    move_set = make_move_set("fragment", vocab=vocab)
    torch.manual_seed(0)
    model = ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=16, depth=1))
    path = files["tmp"] / "tiny.pt"
    save_checkpoint(path, {
        "model_config": model.config.to_dict(), "move_set": move_set_to_dict(move_set),
        "corruption": {"steps_mean": 3.0}, "model_state": model.state_dict(), "step": 0,
        "data_files": record_inputs(data=files["train"]),
    })
    return path


def _train(args: list[str]) -> int:
    return main(["train", "--hidden", "16", "--depth", "1", "--workers", "0", "--valid-examples", "20",
                 "--batch-size", "8", *args])


@pytest.fixture(scope="module")
def vae_run(files):
    out = files["tmp"] / "vae"
    assert main(["train", "--model", "vae", "--data", str(files["train"]), "--out", str(out), "--max-steps", "2",
                 "--hidden", "16", "--embedding", "8", "--latent", "4", "--batch-size", "8",
                 "--valid-examples", "10"]) == 0
    return out


# ----------------------------------------------------------------------------- 1. ric corrupt


def test_corrupt_missing_input_leaves_existing_output(files, tmp_path, capsys):
    out = tmp_path / "p.csv"
    out.write_text(PREVIOUS)
    assert main(["corrupt", str(tmp_path / "nope.smi"), "--vocab", str(files["vocab"]), "-o", str(out)]) == 2
    assert "nope.smi" in capsys.readouterr().err
    assert out.read_text() == PREVIOUS


def test_corrupt_refuses_to_write_over_its_input(files, tmp_path, capsys):
    data = tmp_path / "x.smi"
    data.write_text(files["train"].read_text())
    before = data.read_text()
    assert main(["corrupt", str(data), "--vocab", str(files["vocab"]), "-o", str(data)]) == 2
    assert "input" in capsys.readouterr().err
    assert data.read_text() == before


def test_corrupt_counts_skips_once_and_consistently(files, tmp_path, capsys):
    data = tmp_path / "mixed.smi"
    data.write_text("CCO\nnot_a_smiles\nC1CC\nc1ccccc1\n")
    assert main(["corrupt", str(data), "--move-set", "atom", "-o", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "read 2 of 4 records; skipped 2" in out and "none skipped" not in out


# ----------------------------------------------------------------------------- 2. ric generate


@pytest.mark.parametrize("mistake", [
    ["--scaffold", "C1CC["],
    ["--init", "EMPTY"],
    ["--max-atoms", "1"],
])
def test_generate_failure_keeps_existing_output(tiny_checkpoint, tmp_path, capsys, mistake):
    out = tmp_path / "x.smi"
    out.write_text(PREVIOUS)
    (tmp_path / "empty.smi").write_text("")
    args = [str(tmp_path / "empty.smi") if a == "EMPTY" else a for a in mistake]
    code = main(["generate", "--checkpoint", str(tiny_checkpoint), "-n", "5", "-o", str(out), *args])
    assert code == 2
    assert out.read_text() == PREVIOUS
    assert not (tmp_path / "x.smi.partial").exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err


@pytest.mark.parametrize("option, value", [
    ("--batch-size", "0"), ("--temperature", "0"), ("--temperature", "nan"), ("--temperature", "inf"),
    ("-n", "-3"), ("--thin", "0"), ("--max-atoms", "0"),
])
def test_bad_numbers_are_refused_at_parse_time_naming_the_value(tmp_path, capsys, option, value):
    out = tmp_path / "x.smi"
    out.write_text(PREVIOUS)
    with pytest.raises(SystemExit) as exc:
        main(["generate", "-n", "5", "-o", str(out), option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert option in err and value in err and "ChainConfig" not in err
    assert out.read_text() == PREVIOUS


def test_argument_errors_come_before_the_heavy_imports(tmp_path):
    """With torch and RDKit made unimportable, a bad argument is still reported cleanly."""
    code = ("import sys; sys.modules['torch'] = None; sys.modules['rdkit'] = None\n"
            "from ric.cli.main import main\n"
            f"sys.exit(main(['generate', '-n', '5', '-o', {str(tmp_path / 'x.smi')!r}, '--temperature', 'nan']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 2 and "--temperature" in res.stderr and "Traceback" not in res.stderr


def test_max_atoms_holds_for_every_sample(tiny_checkpoint, files, tmp_path):
    out = tmp_path / "capped.smi"
    assert main(["generate", "--checkpoint", str(tiny_checkpoint), "-n", "24", "--batch-size", "8",
                 "--max-reconstruction-steps", "3", "--max-atoms", "22", "--seed", "3", "-o", str(out)]) == 0
    sizes = [Chem.MolFromSmiles(line).GetNumAtoms() for line in out.read_text().split()]
    assert len(sizes) == 24 and max(sizes) <= 22


def test_sampler_option_with_a_chain_checkpoint_is_an_error(tiny_checkpoint, tmp_path, capsys):
    code = main(["generate", "--checkpoint", str(tiny_checkpoint), "-n", "5", "--sampler", "gibbs",
                 "-o", str(tmp_path / "x.smi")])
    assert code == 2 and "--sampler" in capsys.readouterr().err
    assert not (tmp_path / "x.smi").exists()


def test_draw_with_no_samples_is_a_clean_error(tiny_checkpoint, tmp_path, capsys):
    code = main(["generate", "--checkpoint", str(tiny_checkpoint), "-n", "0", "-o", str(tmp_path / "x.smi"),
                 "--draw", str(tmp_path / "g.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--draw" in err and "Traceback" not in err


def test_generate_names_the_starting_molecules_of_the_run(tiny_checkpoint, files, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the run's data is found by its recorded absolute path
    assert main(["generate", "--checkpoint", str(tiny_checkpoint), "-n", "3", "--max-reconstruction-steps", "2",
                 "-o", "x.smi"]) == 0
    assert f"starting molecules: {files['train'].resolve()}" in capsys.readouterr().err


def test_generate_with_missing_run_data_asks_for_init(vocab, tmp_path, capsys):
    move_set = make_move_set("fragment", vocab=vocab)
    model = ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=8, depth=1))
    ckpt = tmp_path / "old.pt"
    save_checkpoint(ckpt, {"model_config": model.config.to_dict(), "move_set": move_set_to_dict(move_set),
                           "model_state": model.state_dict(), "train_config": {"data": "gone/my.smi"}})
    assert main(["generate", "--checkpoint", str(ckpt), "-n", "3", "-o", str(tmp_path / "x.smi")]) == 2
    err = capsys.readouterr().err
    assert "gone/my.smi" in err and "--init" in err


def test_vae_generate_reports_the_valid_fraction(vae_run, tmp_path, capsys):
    out = tmp_path / "v.smi"
    assert main(["generate", "--checkpoint", str(vae_run / "checkpoint.pt"), "-n", "20", "-o", str(out)]) == 0
    valid = sum(Chem.MolFromSmiles(s) is not None and bool(s) for s in out.read_text().splitlines())
    assert f"{valid} of them valid molecules ({valid / 20:.1%})" in capsys.readouterr().out


def test_chain_options_with_a_vae_checkpoint_are_an_error(vae_run, tmp_path, capsys):
    code = main(["generate", "--checkpoint", str(vae_run / "checkpoint.pt"), "-n", "5", "--max-atoms", "20",
                 "-o", str(tmp_path / "x.smi")])
    assert code == 2 and "--max-atoms" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 3., 5.-7. ric train


def test_train_refuses_an_existing_run_without_resume_or_overwrite(files, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["--data", str(files["train"]), "--valid", str(files["valid"]), "--vocab", str(files["vocab"]),
            "--out", str(run), "--max-steps", "0"]
    assert _train(base) == 0
    before = (run / "checkpoint.pt").read_bytes()
    assert _train([*base, "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "--overwrite" in err
    assert (run / "checkpoint.pt").read_bytes() == before
    assert _train([*base, "--seed", "5", "--overwrite"]) == 0
    assert json.loads((run / "config.json").read_text())["seed"] == 5


def test_init_weights_takes_size_and_vocabulary_from_the_checkpoint(files, tiny_checkpoint, tmp_path, capsys):
    base = ["train", "--data", str(files["train"]), "--valid", str(files["valid"]), "--workers", "0",
            "--valid-examples", "20", "--batch-size", "8", "--max-steps", "1", "--init-weights", str(tiny_checkpoint)]
    for extra in (["--vocab", str(files["vocab"])], ["--hidden", "32"], ["--depth", "3"]):
        assert main([*base, *extra, "--out", str(tmp_path / "bad")]) == 2
        assert "come from" in capsys.readouterr().err
        assert not (tmp_path / "bad").exists()
    assert main([*base, "--out", str(tmp_path / "missing"), "--lr-final", "1e-4"]) == 2
    assert "--decay-steps" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "ft"), "--decay-steps", "200", "--lr-final", "1e-4",
                 "--max-unusable", "1"]) == 0
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert (config["hidden"], config["depth"], config["decay_steps"]) == (16, 1, 200)
    assert main(["train", "--model", "vae", "--data", str(files["train"]), "--out", str(tmp_path / "v"),
                 "--init-weights", str(tiny_checkpoint)]) == 2
    assert "--init-weights" in capsys.readouterr().err


def test_run_resumes_from_another_directory(files, tmp_path, monkeypatch):
    monkeypatch.chdir(files["train"].parent)
    run = tmp_path / "rel"
    assert _train(["--data", files["train"].name, "--valid", files["valid"].name, "--vocab",
                   str(files["vocab"]), "--out", str(run), "--max-steps", "2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert Path(config["data"]).is_absolute() and Path(config["valid"]).is_absolute()
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--resume", str(run.resolve()), "--max-steps", "3"]) == 0


def test_resume_refuses_changed_data(files, tmp_path, capsys):
    data = tmp_path / "d.smi"
    data.write_text(files["train"].read_text())
    run = tmp_path / "run"
    assert _train(["--data", str(data), "--vocab", str(files["vocab"]), "--out", str(run), "--max-steps", "1"]) == 0
    data.write_text(files["valid"].read_text())
    assert main(["train", "--resume", str(run), "--max-steps", "2"]) == 2
    assert "has changed" in capsys.readouterr().err


def test_options_that_do_not_apply_are_errors(files, vae_run, tmp_path, capsys):
    assert main(["train", "--resume", str(vae_run), "--model", "hvae"]) == 2
    assert "holds a vae run" in capsys.readouterr().err
    assert main(["train", "--resume", str(vae_run), "--hidden", "64"]) == 2
    assert "--hidden" in capsys.readouterr().err
    assert main(["train", "--data", str(files["train"]), "--out", str(tmp_path / "r"), "--latent", "8"]) == 2
    assert "--latent" in capsys.readouterr().err


def test_resumed_run_with_nothing_left_says_so(files, tmp_path, capsys):
    run = tmp_path / "done"
    assert _train(["--data", str(files["train"]), "--vocab", str(files["vocab"]), "--out", str(run),
                   "--max-steps", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run)]) == 0
    captured = capsys.readouterr()
    assert "nothing to do" in captured.err and "--max-steps" in captured.err
    assert "0 this time" in captured.out


def test_vocabulary_that_does_not_fit_the_data_is_refused_in_one_line(files, tmp_path, capsys):
    small_vocab = tmp_path / "small.txt"
    assert main(["vocab", str(_lines(DATA / "zinc_test.smi", 3, tmp_path / "three.smi")), "-o", str(small_vocab)]) == 0
    capsys.readouterr()
    args = ["--data", str(files["train"]), "--vocab", str(small_vocab), "--out", str(tmp_path / "r"), "--max-steps", "0"]
    assert _train(args) == 2
    err = capsys.readouterr().err
    assert "ric vocab" in err and "--max-unusable" in err
    assert err.count("skipped (not usable") <= 5  # a few examples and a summary, not a line per molecule
    assert _train([*args, "--max-unusable", "1"]) == 0


# ----------------------------------------------------------------------------- 9. clear messages


def test_undecodable_and_bad_gzip_files_are_named(tmp_path, capsys):
    bad = tmp_path / "latin.smi"
    bad.write_bytes(b"CCO\nc1ccccc1\nCC\xe9\n")
    assert main(["vocab", str(bad), "-o", str(tmp_path / "v.txt")]) == 2
    assert "latin.smi:3: not UTF-8" in capsys.readouterr().err
    fake = tmp_path / "fake.smi.gz"
    fake.write_text("CCO\n")
    assert main(["vocab", str(fake), "-o", str(tmp_path / "v.txt")]) == 2
    assert "fake.smi.gz: not a gzip file" in capsys.readouterr().err
    cut = tmp_path / "cut.smi.gz"
    cut.write_bytes(gzip.compress((DATA / "zinc_test.smi").read_bytes())[:3000])
    assert main(["vocab", str(cut), "-o", str(tmp_path / "v.txt")]) == 2
    assert "cut.smi.gz: the gzip file ends early" in capsys.readouterr().err


def test_directory_and_missing_column_messages(tmp_path, capsys):
    folder = tmp_path / "folder.smi"
    folder.mkdir()
    assert main(["vocab", str(folder), "-o", str(tmp_path / "v.txt")]) == 2
    assert "is a directory" in capsys.readouterr().err
    table = tmp_path / "t.csv"
    table.write_text("smi,id\nCCO,1\n")
    assert main(["vocab", str(table), "-o", str(tmp_path / "v.txt")]) == 2
    err = capsys.readouterr().err
    assert "no SMILES column" in err and "no a " not in err


def test_vocab_of_an_empty_file_is_an_error(tmp_path, capsys):
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    assert main(["vocab", str(empty), "-o", str(tmp_path / "v.txt")]) == 2
    assert "no usable molecule" in capsys.readouterr().err
    assert not (tmp_path / "v.txt").exists()


def test_foreign_pickle_is_refused_without_unsafe_advice(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    torch.save({"x": csv.excel()}, bad)  # a pickled Python object
    assert main(["generate", "--checkpoint", str(bad), "-n", "3", "-o", str(tmp_path / "x.smi")]) == 2
    err = capsys.readouterr().err
    assert "not a ric checkpoint" in err and "weights_only" not in err


def test_new_files_get_the_usual_mode(files, tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["vocab", str(files["train"]), "-o", str(tmp_path / "v.txt")]) == 0
        assert main(["corrupt", str(files["train"]), "--move-set", "atom", "-o", str(tmp_path / "c.csv")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "v.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "c.csv").stat().st_mode & 0o777 == 0o644


def test_moved_run_resumes_with_its_data_at_a_new_place(files, tmp_path, capsys):
    """--data on resume may point at the run's data in a new place, only with the same content."""
    data = tmp_path / "here" / "d.smi"
    data.parent.mkdir()
    data.write_text(files["train"].read_text())
    run = tmp_path / "run"
    assert _train(["--data", str(data), "--vocab", str(files["vocab"]), "--out", str(run), "--max-steps", "1"]) == 0
    moved = tmp_path / "there" / "d.smi"
    moved.parent.mkdir()
    data.rename(moved)
    assert main(["train", "--resume", str(run), "--max-steps", "2"]) == 2
    assert "no longer exists" in capsys.readouterr().err
    other = tmp_path / "other.smi"
    other.write_text(files["valid"].read_text())
    assert main(["train", "--resume", str(run), "--max-steps", "2", "--data", str(other)]) == 2
    assert "not the file the run" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--max-steps", "2", "--data", str(moved)]) == 0
    assert json.loads((run / "config.json").read_text())["data"] == str(moved.resolve())


def test_quiet_hides_progress_bars(tiny_checkpoint, tmp_path, capsys):
    assert main(["-q", "generate", "--checkpoint", str(tiny_checkpoint), "-n", "3", "--max-reconstruction-steps", "2",
                 "-o", str(tmp_path / "x.smi")]) == 0
    assert "generating" not in capsys.readouterr().err
