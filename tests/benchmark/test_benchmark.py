"""Reference draws and their cache, the generator baselines, the suite and ``ric benchmark``."""
import json

import numpy as np
import pytest

from ric.benchmark import reference as reference_module
from ric.benchmark.generators import GeneratorSpec, SamplesFile, TrainingSetGenerator, make_generator
from ric.benchmark.reference import ReferenceStats, draw_reference, load_reference
from ric.benchmark.suite import RESULT_KEYS, score_samples
from ric.cli.main import main
from ric.metrics.distribution import canonical_or_none


@pytest.fixture(scope="module")
def reference(zinc_smiles, tmp_path_factory):
    return load_reference(zinc_smiles[:300], n=200, seed=1, source="zinc", cache_dir=tmp_path_factory.mktemp("cache"))


def test_draw_is_seeded_random_distinct_and_valid(zinc_smiles):
    pool = ["C1CC", "", "OCC", "CCO"] + zinc_smiles[:100]
    a, b, c = draw_reference(pool, 50, seed=3), draw_reference(pool, 50, seed=3), draw_reference(pool, 50, seed=4)
    assert a == b and a != c
    assert len(set(a)) == 50 and all(canonical_or_none(s) == s for s in a)
    # a random draw, not the first rows of the file
    assert a != [canonical_or_none(s) for s in zinc_smiles[:50]]
    everything = draw_reference(pool, 1000, seed=0)
    assert len(everything) == 101  # 100 ZINC molecules + ethanol once; invalid strings dropped


def test_reference_cache_round_trips_and_is_reused(zinc_smiles, tmp_path, monkeypatch):
    first = load_reference(zinc_smiles[:120], n=60, seed=0, source="x.smi", cache_dir=tmp_path)
    files = list(tmp_path.glob("x-seed0-n60-*.npz"))
    assert len(files) == 1

    def fail(*args, **kwargs):
        raise AssertionError("statistics recomputed despite the cache")

    monkeypatch.setattr(ReferenceStats, "compute", fail)
    second = load_reference(zinc_smiles[:120], n=60, seed=0, source="x.smi", cache_dir=tmp_path)
    assert second.smiles == first.smiles
    for k in first.kl:
        np.testing.assert_array_equal(second.kl[k], first.kl[k])
    np.testing.assert_array_equal(second.fcd.cov, first.fcd.cov)
    np.testing.assert_array_equal(second.moses.fingerprints, first.moses.fingerprints)
    assert second.moses.scaffold_counts == first.moses.scaffold_counts
    # another seed is another reference: computed, not read from the first file
    with pytest.raises(AssertionError, match="recomputed"):
        load_reference(zinc_smiles[:120], n=60, seed=1, source="x.smi", cache_dir=tmp_path)


def test_score_counts_invalid_duplicates_and_known_molecules(reference, zinc_smiles):
    train = {canonical_or_none(s) for s in zinc_smiles[:20]}
    generated = zinc_smiles[:10] + zinc_smiles[400:430] + zinc_smiles[400:410] + ["C1CC", "", "not a smiles"]
    r = score_samples(generated, reference, train)
    assert r.n_generated == 53 and r.n_valid == 50 and r.n_unique == 40
    assert r.validity == pytest.approx(50 / 53)
    assert r.uniqueness == pytest.approx(40 / 50)
    assert r.novelty == pytest.approx(30 / 40)
    assert r.valid == pytest.approx(50 / 53)
    assert 0 < r.kl_divergence <= 1 and r.fcd > 0 and r.fcd_score == pytest.approx(np.exp(-0.2 * r.fcd))
    assert set(RESULT_KEYS) <= set(r.as_dict())


def test_reference_against_itself_is_a_perfect_match(reference):
    r = score_samples(reference.smiles, reference, set(reference.smiles))
    assert r.kl_divergence == pytest.approx(1.0, abs=1e-6)
    assert r.fcd == pytest.approx(0.0, abs=1e-3)
    assert r.novelty == 0.0 and r.snn == pytest.approx(1.0) and r.frag == pytest.approx(1.0)


def test_training_set_generator_and_samples_file(tmp_path, zinc_smiles):
    gen = TrainingSetGenerator(zinc_smiles[:50], seed=2)
    a = gen.generate(40)
    assert a == gen.generate(40) and len(set(a)) == 40 and set(a) <= set(zinc_smiles[:50])
    assert len(gen.generate(80)) == 80  # beyond the set: with replacement
    path = tmp_path / "s.smi"
    path.write_text("SMILES\nCCO name1\n\nC1CC\nc1ccccc1\n")
    assert SamplesFile(path).generate(10) == ["CCO", "C1CC", "c1ccccc1"]
    with pytest.raises(FileNotFoundError):
        SamplesFile(tmp_path / "missing.smi")


def test_importable_generator(tmp_path, monkeypatch, zinc_smiles):
    (tmp_path / "my_generators.py").write_text(
        "class Fixed:\n    def generate(self, n):\n        return ['CCO'] * n\n\ndef factory():\n    return Fixed()\n"
        "def broken():\n    return object()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = make_generator(GeneratorSpec.parse("my_generators:factory"), train=zinc_smiles, seed=0)
    assert gen.generate(3) == ["CCO"] * 3
    with pytest.raises(ValueError, match="no generate"):
        make_generator(GeneratorSpec.parse("my_generators:broken"), train=zinc_smiles, seed=0)
    with pytest.raises(ValueError, match="cannot import"):
        make_generator(GeneratorSpec.parse("no_such_module_xyz:f"), train=zinc_smiles, seed=0)
    with pytest.raises(ValueError, match="unknown generator"):
        GeneratorSpec.parse("lstm")


def test_cli_scores_a_samples_file_and_writes_the_report(tmp_path, zinc_smiles, capsys):
    train = tmp_path / "train.smi"
    train.write_text("\n".join(zinc_smiles[:300]) + "\n")
    samples = tmp_path / "samples.smi"
    samples.write_text("\n".join(zinc_smiles[300:360] + zinc_smiles[:5] + ["C1CC"]) + "\n")
    out = tmp_path / "report"
    argv = ["-q", "benchmark", "--samples", str(samples), "--train", str(train), "--n-reference", "150",
            "-o", str(out), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(argv) == 0
    payload = json.loads((out / "results.json").read_text())
    (entry,) = payload["generators"]
    assert set(RESULT_KEYS) <= set(entry)
    assert entry["n_generated"] == 66 and entry["n_reference"] == 150
    assert entry["validity"] == pytest.approx(65 / 66)
    assert entry["novelty"] == pytest.approx(60 / 65)
    assert payload["reference"] == {"source": str(train), "seed": 0, "n": 150}
    assert payload["provenance"]["rdkit"] and "stereo" in payload["provenance"]["stereo_policy"]
    md = (out / "results.md").read_text()
    assert "published, not rerun" in md and "samples" in md
    for name in ("properties.png", "grid_samples.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1


def test_cli_rejects_missing_files(tmp_path, capsys):
    assert main(["benchmark", "--samples", str(tmp_path / "nope.smi"), "-o", str(tmp_path / "r")]) == 2
    assert "nope.smi" in capsys.readouterr().err


def test_cache_file_name_records_seed_n_and_rdkit(tmp_path):
    import rdkit

    path = reference_module._cache_file(tmp_path, ["CCO", "CC"], "data/zinc_train.smi", 7)
    assert path.name.startswith(f"zinc_train-seed7-n2-rdkit{rdkit.__version__}-v")


def _lines(name):
    from ric.data import bundled_dir

    return [line.split()[0] for line in (bundled_dir() / name).read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    """The bundled training split and a 1,000-molecule reference from the held-out test split."""
    train = _lines("zinc_train.smi")
    ref = load_reference(_lines("zinc_test.smi"), n=1000, seed=0, source="zinc_test", use_cache=False)
    return train, ref, {canonical_or_none(s) for s in train}


def test_training_set_baseline_beats_corruption_only(held_out):
    from ric.sampling.generator import DEFAULT_CHECKPOINT

    train, ref, known = held_out
    resample = score_samples(TrainingSetGenerator(train).generate(1000), ref, known)
    assert resample.kl_divergence > 0.98 and resample.novelty == 0.0
    spec = GeneratorSpec.parse("corruption-only", str(DEFAULT_CHECKPOINT))
    chain = make_generator(spec, train=train, seed=0, device="cpu")
    ablation = score_samples(chain.generate(300), ref, known)
    assert ablation.validity == 1.0
    assert ablation.kl_divergence < resample.kl_divergence - 0.2
    assert ablation.fcd > 3 * resample.fcd


@pytest.mark.slow
def test_training_set_baseline_at_full_size():
    """GuacaMol's sanity check at its sizes: 10,000 resampled training molecules against
    the 5,000-molecule held-out split score KL > 0.98 and FCD score > 0.9."""
    train = _lines("zinc_train.smi")
    ref = load_reference(_lines("zinc_test.smi"), n=5000, seed=0, source="zinc_test", use_cache=False)
    r = score_samples(TrainingSetGenerator(train).generate(10000), ref, set())
    assert r.kl_divergence > 0.98 and r.fcd_score > 0.9


def test_parallel_scoring_equals_serial(reference, zinc_smiles, tmp_path):
    from ric.benchmark.suite import run_benchmark

    specs = []
    for k, chunk in enumerate((zinc_smiles[300:360], zinc_smiles[360:400] + ["C1CC"])):
        path = tmp_path / f"s{k}.smi"
        path.write_text("\n".join(chunk) + "\n")
        specs.append(GeneratorSpec(f"s{k}", "samples", str(path)))
    kwargs = dict(train=zinc_smiles[:50], reference=reference, n=100, seed=0, out_dir=tmp_path, device="cpu")
    serial = [r.as_dict() for r in run_benchmark(specs, workers=1, **kwargs)]
    parallel = [r.as_dict() for r in run_benchmark(specs, workers=2, **kwargs)]
    for a, b in zip(serial, parallel):
        a.pop("seconds"), b.pop("seconds")
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], float):
                assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), key
            else:
                assert a[key] == b[key], key
