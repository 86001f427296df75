import csv
import re
import subprocess
import sys

import pytest

from ric.molecules.graph import MolGraph
from ric.cli.main import main
from ric.molecules.fragment import FragmentMoveSet
from ric.molecules.vocab import Vocabulary

GOOD = ["CC(=O)Nc1ccc(O)cc1", "c1ccc2ccccc2c1", "CCN(CC)CC", "O=C(O)c1ccccc1O", "C1CC2CCC1C2"]


@pytest.fixture()
def smi(tmp_path):
    path = tmp_path / "in.smi"
    path.write_text("\n".join([GOOD[0], GOOD[1], "C1CC", GOOD[2], "CC.[Na+]", GOOD[3], GOOD[4]]) + "\n")
    return path


def test_help_is_light():
    code = "import sys; from ric.cli.main import build_parser; build_parser().format_help(); " \
           "print(sorted(m for m in ('torch', 'rdkit', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    res = subprocess.run([sys.executable, "-m", "ric", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "vocab" in res.stdout and "corrupt" in res.stdout


def test_vocab_skips_bad_lines_with_line_numbers(smi, tmp_path, capsys):
    out = tmp_path / "vocab.txt"
    assert main(["vocab", str(smi), "-o", str(out)]) == 0
    vocab = Vocabulary.load(out)
    assert any(f.is_ring for f in vocab.fragments)
    text = capsys.readouterr().err
    assert "in.smi:3" in text and "C1CC" in text
    assert "in.smi:5" in text


def test_vocab_strict_fails_naming_line(smi, tmp_path, capsys):
    assert main(["vocab", str(smi), "-o", str(tmp_path / "v.txt"), "--strict"]) == 2
    assert "in.smi:3" in capsys.readouterr().err


@pytest.mark.parametrize("move_set", ["fragment", "atom"])
def test_corrupt_check_writes_consistent_rows(smi, tmp_path, capsys, move_set):
    vocab_path = tmp_path / "vocab.txt"
    main(["vocab", str(smi), "-o", str(vocab_path)])
    out = tmp_path / "ex.csv"
    args = ["corrupt", str(smi), "--move-set", move_set, "--check", "--seed", "3", "--per-molecule", "20", "-o", str(out)]
    if move_set == "fragment":
        args += ["--vocab", str(vocab_path)]
    assert main(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"checked (\d+) steps, (\d+) failures", last)
    assert m and int(m.group(1)) > 50 and m.group(2) == "0"
    rows = list(csv.DictReader(open(out)))
    assert len(rows) == 5 * 20
    assert set(rows[0]) == {"smiles", "corrupted", "steps", "reverse_move"}
    if move_set == "fragment":
        ms = FragmentMoveSet(Vocabulary.load(vocab_path))
    else:
        from ric.molecules.atom import AtomMoveSet

        ms = AtomMoveSet()
    for row in rows:
        state = MolGraph.from_kekule_smiles(row["corrupted"])
        move = ms.parse_move(row["reverse_move"])
        if row["steps"] == "0":
            assert row["reverse_move"] == "stop" and state.smiles() == row["smiles"]
        else:
            assert ms.is_legal(state, move)
            if row["steps"] == "1":
                assert ms.apply(state, move).smiles() == row["smiles"]


def test_corrupt_is_reproducible(smi, tmp_path):
    for name in ("a", "b"):
        assert main(["corrupt", str(smi), "--seed", "7", "--per-molecule", "5", "-o", str(tmp_path / f"{name}.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_corrupt_skips_fragment_outside_vocabulary(tmp_path, capsys):
    train = tmp_path / "train.smi"
    train.write_text("CCO\nCCN\n")
    main(["vocab", str(train), "-o", str(tmp_path / "v.txt")])
    test = tmp_path / "test.smi"
    test.write_text("CCO\nc1ccccc1O\n")
    assert main(["corrupt", str(test), "--vocab", str(tmp_path / "v.txt"), "-o", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert "test.smi:2" in err and "C1=CC=CC=C1" in err
    assert len(list(csv.DictReader(open(tmp_path / "o.csv")))) == 1


def test_check_failures_give_nonzero_exit(smi, tmp_path, capsys, monkeypatch):
    real_inverse = FragmentMoveSet.inverse

    def broken_inverse(self, state, move):
        inv = real_inverse(self, state, move)
        return inv if not hasattr(inv, "atom") else type(inv)(0, inv.fragment, inv.slot)

    monkeypatch.setattr(FragmentMoveSet, "inverse", broken_inverse)
    code = main(["corrupt", str(smi), "--check", "--per-molecule", "30", "-o", str(tmp_path / "o.csv")])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"checked (\d+) steps, (\d+) failures", last)
    assert m and int(m.group(2)) > 0
    assert code == 1
