"""The default model and the bundled data are package data of ``ric`` (issue 16).

They are found with :mod:`importlib.resources` inside whatever copy of ``ric`` is
imported, never through the source tree, and the wheel ships them.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import ric
import ric.data
from ric.package_data import default_checkpoint

PACKAGE = Path(ric.__file__).resolve().parent
REPO = PACKAGE.parent
BUNDLED = {"train": ("zinc_train.smi", 20_000), "valid": ("zinc_valid.smi", 2_000), "test": ("zinc_test.smi", 5_000)}
#: Files every wheel and sdist must hold (paths inside the ``ric`` package).
PACKAGE_DATA = [
    "checkpoints/zinc_fragment.pt",
    "checkpoints/zinc_fragment_config.json",
    "checkpoints/README.md",
    "data/bundled/zinc_train.smi",
    "data/bundled/zinc_valid.smi",
    "data/bundled/zinc_test.smi",
    "data/bundled/zinc_vocab.txt",
    "data/bundled/README.md",
    "metrics/data/moses_filters.csv",
    "package_data.py",
]


def _inside(path: Path, directory: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(directory).resolve())


def test_default_checkpoint_and_bundled_data_are_package_data():
    package = Path(str(importlib.resources.files("ric")))
    assert package.resolve() == PACKAGE
    model = default_checkpoint()
    assert model.is_file() and _inside(model, package)
    assert model.resolve() == (package / "checkpoints" / "zinc_fragment.pt").resolve()
    assert _inside(ric.data.bundled_dir(), package)
    for split, (name, _) in BUNDLED.items():
        path = ric.data.path_of("bundled", split)
        assert path.name == name and path.is_file() and _inside(path, package)
    assert len(ric.data.load("bundled", "train")) == BUNDLED["train"][1]
    assert "bundled" in ric.data.available(installed_only=True)


def test_generator_uses_the_package_checkpoint():
    from ric.sampling.generator import DEFAULT_CHECKPOINT

    assert DEFAULT_CHECKPOINT == default_checkpoint()


def test_a_copy_of_the_package_finds_its_own_files(tmp_path):
    """A copy of ``ric`` alone (no repository around it) finds the model and data inside itself."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "ric", ignore=shutil.ignore_patterns("__pycache__"))
    empty = tmp_path / "empty"
    empty.mkdir()
    code = (
        "import ric, ric.data\n"
        "from ric.package_data import default_checkpoint\n"
        "print(ric.__file__)\n"
        "print(default_checkpoint())\n"
        "print(ric.data.path_of('bundled', 'test'))\n"
        "print(len(ric.data.load('bundled', 'valid')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], cwd=empty, env=env, capture_output=True, text=True, check=True)
    init, model, test, n_valid = out.stdout.split("\n")[:4]
    assert _inside(Path(init), site / "ric"), "the copy was not the package imported"
    assert _inside(Path(model), site / "ric") and Path(model).name == "zinc_fragment.pt"
    assert _inside(Path(test), site / "ric") and int(n_valid) == BUNDLED["valid"][1]
    version = subprocess.run([sys.executable, "-m", "ric", "--version"], cwd=empty, env=env,
                             capture_output=True, text=True, check=True).stdout
    assert f"ric {ric.__version__}" in version
    assert f"default model: {site / 'ric' / 'checkpoints' / 'zinc_fragment.pt'} (package data of ric)" in version


def test_version_names_the_default_model(capsys):
    from ric.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ric {ric.__version__} ({PACKAGE})\n")
    assert f"default model: {default_checkpoint()} (package data of ric)" in out


def test_generate_logs_the_checkpoint(tmp_path, capsys):
    from ric.cli.main import main

    out = tmp_path / "x.smi"
    assert main(["generate", "-n", "2", "--batch-size", "2", "--device", "cpu", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 2
    err = capsys.readouterr().err
    assert f"INFO ric.sampling.generator: checkpoint: {default_checkpoint().resolve()} (the bundled default model" in err


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_wheel_and_sdist_ship_the_model_and_data(tmp_path):
    """``python -m build`` makes a small wheel and an sdist that hold the model and the data,
    and the installed wheel finds them from an empty directory."""
    pytest.importorskip("build", reason="pip install build (it is in the test extra)")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], check=True,
                   capture_output=True, text=True)
    (wheel,) = dist.glob("ric-*.whl")
    (sdist,) = dist.glob("ric-*.tar.gz")
    assert wheel.stat().st_size < 6_000_000, f"the wheel is {wheel.stat().st_size:,} bytes"

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for rel in PACKAGE_DATA:
            assert f"ric/{rel}" in names, f"{rel} missing from {wheel.name}"
            assert _sha256(zf.read(f"ric/{rel}")) == _sha256((PACKAGE / rel).read_bytes())
        dist_info = f"ric-{ric.__version__}.dist-info"
        assert f"{dist_info}/licenses/LICENSE" in names
        assert "ric = ric.cli.main:main" in zf.read(f"{dist_info}/entry_points.txt").decode()
        assert not any(n.startswith(("tests/", "checkpoints/", "data/", "benchmarks/")) for n in names)
    with tarfile.open(sdist) as tf:
        members = set(tf.getnames())
    top = f"ric-{ric.__version__}"
    for rel in PACKAGE_DATA:
        assert f"{top}/ric/{rel}" in members, f"{rel} missing from {sdist.name}"

    # Installed on its own (dependencies from this environment), from an empty directory.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = ("import ric, ric.data\nfrom ric.sampling.generator import DEFAULT_CHECKPOINT\n"
            "print(ric.__file__); print(DEFAULT_CHECKPOINT); print(len(ric.data.load('bundled')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=empty, env={**os.environ, "PYTHONPATH": str(site)},
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert _inside(Path(out[0]), site / "ric") and _inside(Path(out[1]), site / "ric")
    assert Path(out[1]).is_file() and int(out[2]) == BUNDLED["train"][1]
