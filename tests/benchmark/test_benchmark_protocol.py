"""``ric benchmark``: honest unique@k labels, logging through tqdm, file modes, the MOSES
protocol (Test and TestSF) and clear errors."""
import gzip
import json
import logging
import os
import stat

import pytest

from ric.benchmark.reference import load_reference
from ric.benchmark.suite import RESULT_KEYS, score_samples
from ric.cli.main import main
from ric.metrics.distribution import canonical_or_none
from ric.metrics.moses import unique_at


@pytest.fixture(scope="module")
def small_reference(zinc_smiles, tmp_path_factory):
    return load_reference(zinc_smiles[:120], n=80, seed=2, source="zinc", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def scored(small_reference, zinc_smiles):
    """60 generated molecules: far fewer than 1,000 valid ones."""
    return score_samples(zinc_smiles[200:260], small_reference, set())


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------ 1. unique@k labels


def test_unique_at_k_is_not_computed_on_fewer_than_k(caplog):
    canonical = ["CCO", "CCO", "CCN"]
    assert unique_at(canonical, 1000) == pytest.approx(2 / 3)  # MOSES's own behaviour, kept by default
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="ric.metrics.moses"):
        assert unique_at(canonical, 1000, partial=False) != unique_at(canonical, 1000, partial=False)  # NaN
    assert not any(r.levelno >= logging.WARNING for r in caplog.records)
    assert unique_at(canonical, 3, partial=False) == pytest.approx(2 / 3)


def test_report_never_labels_a_short_sample_unique_at_10k(scored, small_reference, tmp_path, caplog):
    from ric.benchmark.report import write_report

    entry = scored.as_dict()
    assert entry["n_valid"] == 60
    assert entry["unique_at_1k"] is None and entry["unique_at_10k"] is None
    assert set(RESULT_KEYS) <= set(entry)
    payload = write_report(tmp_path, [scored], small_reference, {"train": "t.smi"}, {
        "ric": "x", "rdkit": "x", "torch": "x", "fcd": "x", "date": "d", "command": "ric benchmark",
        "stereo_policy": "p"})  # fmt: skip
    assert payload["generators"][0]["unique_at_10k"] is None
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["generators"][0]["unique_at_10k"] is None
    md = (tmp_path / "results.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| Unique@10k"))
    assert "n/a (60 valid < 10,000)" in row
    assert "Unique@10k needs 10,000 valid molecules" in md


# ---------------------------------------------------------- 2. logging through tqdm


def _fake_heavy_work(monkeypatch):
    """Replace the reference, scoring and report by a step that logs inside a progress bar."""
    import ric.benchmark.reference as reference_module
    import ric.benchmark.report as report_module
    import ric.benchmark.suite as suite_module

    def fake_run_benchmark(specs, **kwargs):
        import sys

        from tqdm import tqdm

        bar = tqdm(total=3, desc="scoring fake", file=sys.stderr)
        logging.getLogger("ric.benchmark.suite").warning("a warning while the bar is open")
        bar.update(3)
        bar.close()
        return []

    from types import SimpleNamespace

    fake_reference = SimpleNamespace(n=2, source="fake", seed=0, smiles=["CC", "CCO"])
    monkeypatch.setattr(reference_module, "load_reference", lambda *a, **k: fake_reference)
    monkeypatch.setattr(suite_module, "run_benchmark", fake_run_benchmark)
    monkeypatch.setattr(report_module, "write_report", lambda *a, **k: {})
    monkeypatch.setattr(report_module, "provenance", lambda *a, **k: {})


def test_log_records_do_not_run_into_the_progress_bar(monkeypatch, tmp_path, capsys, zinc_smiles):
    _fake_heavy_work(monkeypatch)
    train = tmp_path / "train.smi"
    train.write_text("\n".join(zinc_smiles[:20]) + "\n")
    samples = tmp_path / "s.smi"
    samples.write_text("CCO\n")
    assert main(["benchmark", "--samples", str(samples), "--train", str(train), "-o", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    at = err.index("WARNING ric.benchmark.suite: a warning while the bar is open")
    assert "scoring fake" in err[:at]  # the bar was drawn first ...
    assert at == 0 or err[at - 1] in "\r\n", repr(err[max(0, at - 60) : at + 10])  # ... and cleared before the record
    assert logging.getLogger("ric").handlers[0].__class__.__name__ == "StreamHandler"  # restored afterwards


# ------------------------------------------------------------------- 3. file modes


def test_report_and_cache_files_are_readable_by_others(scored, small_reference, tmp_path, umask_022, zinc_smiles):
    from ric.benchmark.report import write_report

    out = tmp_path / "report"
    write_report(out, [scored], small_reference, {"train": "t.smi"})
    written = sorted(p.name for p in out.iterdir())
    assert written == ["grid_samples.png", "properties.png", "results.json", "results.md"]
    for name in written:
        assert _mode(out / name) == 0o644, name
    assert not list(out.glob(".*"))  # no temporary left
    os.chmod(out / "results.md", 0o640)  # a replaced file keeps its mode
    write_report(out, [scored], small_reference, {"train": "t.smi"})
    assert _mode(out / "results.md") == 0o640
    cache = tmp_path / "cache"
    load_reference(zinc_smiles[:8], n=5, seed=0, source="tiny.smi", cache_dir=cache)
    (npz,) = cache.glob("tiny-*.npz")
    assert _mode(npz) == 0o644


def test_samples_files_are_complete_or_marked_partial(tmp_path, monkeypatch, umask_022, zinc_smiles):
    from ric.benchmark.generators import GeneratorSpec
    from ric.benchmark.suite import _generate

    smiles, path, _ = _generate(GeneratorSpec.parse("training-set"), 7, zinc_smiles[:20], 0, "cpu", tmp_path, False)
    assert path == tmp_path / "samples" / "training-set.smi"
    assert path.read_text().split() == smiles and len(smiles) == 7
    assert _mode(path) == 0o644 and not path.with_name(path.name + ".partial").exists()

    (tmp_path / "failing_gen.py").write_text(
        "class G:\n    def generate(self, n):\n        yield 'CCO'\n        raise RuntimeError('generator broke')\n"
        "def factory():\n    return G()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="broke"):
        _generate(GeneratorSpec.parse("failing_gen:factory"), 5, zinc_smiles[:20], 0, "cpu", tmp_path, False)
    assert not (tmp_path / "samples" / "failing_gen_factory.smi").exists()
    assert not any(p.name.startswith("failing") and p.suffix == ".smi" for p in (tmp_path / "samples").iterdir())


# --------------------------------------------------------------- 4. MOSES protocol


def _fake_molsets(root, zinc_smiles):
    """A ``moses`` package holding only data files, like the molsets wheel (small splits)."""
    data = root / "moses" / "dataset" / "data"
    data.mkdir(parents=True)
    (root / "moses" / "__init__.py").write_text("raise ImportError('importing moses must not be needed')\n")
    splits = {"train": zinc_smiles[:150], "test": zinc_smiles[150:200], "test_scaffolds": zinc_smiles[200:250]}
    for split, smiles in splits.items():
        with gzip.open(data / f"{split}.csv.gz", "wt") as fh:
            fh.write("SMILES\n" + "\n".join(smiles) + "\n")
    return splits


def test_moses_splits_are_read_from_the_molsets_data_files(tmp_path, monkeypatch, zinc_smiles):
    from ric.benchmark import moses_data

    splits = _fake_molsets(tmp_path, zinc_smiles)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert moses_data.moses_data_dir() == tmp_path / "moses" / "dataset" / "data"
    for split, smiles in splits.items():
        assert moses_data.read_split(split) == smiles
    with pytest.raises(ValueError, match="unknown MOSES split"):
        moses_data.read_split("valid")


def test_reference_moses_without_molsets_says_what_to_install(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moses" else real(name, *a))
    samples = tmp_path / "s.smi"
    samples.write_text("CCO\n")
    assert main(["benchmark", "--reference", "moses", "--samples", str(samples), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "ric benchmark: error:" in err and "pip install --no-deps molsets" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow  # about 30 s on two shared cores: two references, ChemNet, plots
def test_moses_protocol_scores_against_test_and_testsf(tmp_path, monkeypatch, zinc_smiles):
    splits = _fake_molsets(tmp_path, zinc_smiles)
    monkeypatch.syspath_prepend(str(tmp_path))
    samples = tmp_path / "gen.smi"
    generated = zinc_smiles[140:150] + zinc_smiles[300:330]  # 10 of them in the (fake) MOSES train
    samples.write_text("\n".join(generated) + "\n")
    out = tmp_path / "report"
    argv = ["-q", "benchmark", "--reference", "moses", "--samples", str(samples), "-o", str(out),
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["protocol"] == "moses"
    assert payload["settings"]["train"] == "moses:train"
    assert [(r["label"], r["source"], r["n"], r["of"]) for r in payload["references"]] == [
        ("Test", "moses:test", 50, 50),
        ("TestSF", "moses:test_scaffolds", 50, 50),
    ]
    (entry,) = payload["generators"]
    assert set(RESULT_KEYS) <= set(entry)
    assert entry["novelty"] == pytest.approx(30 / 40)
    row = entry["moses"]
    assert list(row) == ["valid", "unique@1000", "unique@10000", "FCD/Test", "FCD/TestSF", "SNN/Test", "SNN/TestSF",
                         "Frag/Test", "Frag/TestSF", "Scaf/Test", "Scaf/TestSF", "IntDiv", "IntDiv2", "Filters",
                         "Novelty"]  # fmt: skip
    assert row["FCD/Test"] == entry["fcd"] and row["SNN/Test"] == entry["snn"]
    assert row["FCD/TestSF"] == entry["by_reference"]["TestSF"]["fcd"] != row["FCD/Test"]
    assert row["SNN/TestSF"] != row["SNN/Test"] and row["unique@10000"] is None
    # TestSF really is the second split: scoring that split against itself gives SNN 1
    sf = load_reference(splits["test_scaffolds"], n=50, seed=0, source="moses:test_scaffolds",
                        cache_dir=tmp_path / "cache")  # fmt: skip
    assert {canonical_or_none(s) for s in splits["test_scaffolds"]} == set(sf.smiles)
    md = (out / "results.md").read_text()
    assert "## MOSES protocol" in md and "| FCD/TestSF |" in md and "| Scaf/TestSF |" in md
    assert len(list((tmp_path / "cache").glob("moses_test-*.npz"))) == 1
    assert len(list((tmp_path / "cache").glob("moses_test_scaffolds-*.npz"))) == 1


# ------------------------------------------------------------------------ 5. errors


@pytest.mark.parametrize("case", ["out-is-a-file", "out-under-a-file", "empty-samples", "binary-samples",
                                  "samples-is-a-directory", "cache-dir-is-a-file"])  # fmt: skip
def test_bad_arguments_fail_early_with_a_message(case, tmp_path, capsys):
    samples = tmp_path / "s.smi"
    samples.write_text("CCO\nCCN\n")
    report = tmp_path / "report"
    extra = []
    if case == "out-is-a-file":
        report.write_text("keep me\n")
        expected = "is an existing file"
    elif case == "out-under-a-file":
        report.write_text("keep me\n")
        report = report / "sub"
        expected = "is a file"
    elif case == "empty-samples":
        samples.write_text("SMILES\n\n")
        expected = "holds no SMILES"
    elif case == "binary-samples":
        samples.write_bytes(b"\xff\xfe\x00CC\n")
        expected = "is not UTF-8 text"
    elif case == "samples-is-a-directory":
        samples = tmp_path / "dir.smi"
        samples.mkdir()
        expected = "is a directory"
    else:
        (tmp_path / "cache").write_text("")
        extra = ["--cache-dir", str(tmp_path / "cache")]
        expected = "is a file"
    assert main(["benchmark", "--samples", str(samples), "-o", str(report), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ric benchmark: error: ") and expected in err and "Traceback" not in err
    assert (str(samples) in err) or (str(report) in err) or ("cache" in err)
    if case.startswith("out"):
        assert (tmp_path / "report").read_text() == "keep me\n"
