import logging
import math

import fcd as fcd_pkg
import numpy as np
import pytest
import torch
from rdkit import Chem

from ric.metrics.fcd import (
    CHEMNET_DIM,
    GaussianStats,
    chemnet_activations,
    chemnet_stats,
    fcd,
    frechet_distance,
    load_chemnet,
)

ALKANES_ALCOHOLS = ["C" * k for k in range(2, 40)] + ["C" * k + "O" for k in range(2, 40)]


def _stats(mean, cov, n=10):
    return GaussianStats(mean=np.asarray(mean, float), cov=np.asarray(cov, float), n=n)


def _random_spd(rng, d):
    m = rng.normal(size=(d, d))
    return m @ m.T + 0.1 * np.eye(d)


def test_frechet_distance_closed_forms():
    # 1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2 = 3^2 + (2 - 3)^2
    a, b = _stats([1.0], [[4.0]]), _stats([-2.0], [[9.0]])
    assert frechet_distance(a, b) == pytest.approx(10.0)
    # diagonal: sum_i (mu_ai - mu_bi)^2 + (sigma_ai - sigma_bi)^2 = (1 + 0 + 4) + (1 + 0 + 4)
    a = _stats([0.0, 1.0, 2.0], np.diag([1.0, 4.0, 9.0]))
    b = _stats([1.0, 1.0, 0.0], np.diag([4.0, 4.0, 1.0]))
    assert frechet_distance(a, b) == pytest.approx(10.0)
    assert frechet_distance(b, a) == pytest.approx(10.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")  # the singular case below
def test_frechet_distance_full_covariances():
    rng = np.random.default_rng(0)
    a = _stats(rng.normal(size=6), _random_spd(rng, 6))
    b = _stats(rng.normal(size=6), _random_spd(rng, 6))
    # Tr((S_a S_b)^(1/2)) = sum of square roots of the (real, positive) eigenvalues of S_a S_b
    tr_sqrt = np.sqrt(np.linalg.eigvals(a.cov @ b.cov).real).sum()
    expected = np.sum((a.mean - b.mean) ** 2) + np.trace(a.cov) + np.trace(b.cov) - 2 * tr_sqrt
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # a singular covariance (rank 1) still gives a finite, correct value
    v = np.array([[1.0], [2.0], [0.0]])
    c, d = _stats([0, 0, 0], v @ v.T), _stats([0, 0, 0], np.diag([1.0, 1.0, 1.0]))
    assert frechet_distance(c, d) == pytest.approx(5.0 + 3.0 - 2 * math.sqrt(5.0), abs=1e-5)
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(a, _stats([0.0], [[1.0]]))


def test_activations_shape_deterministic_and_batch_invariant(zinc_smiles):
    smiles = zinc_smiles[:64]
    acts = chemnet_activations(smiles, batch_size=64)
    assert acts.shape == (64, CHEMNET_DIM) == (64, 512)
    assert acts.dtype == np.float32 and np.isfinite(acts).all()
    assert acts.std(axis=0).max() > 1e-3  # molecules get different activations
    np.testing.assert_array_equal(acts, chemnet_activations(smiles, batch_size=64))
    np.testing.assert_allclose(chemnet_activations(smiles, batch_size=7), acts, atol=1e-5)
    # each molecule is encoded on its own: alone it gives the same row
    np.testing.assert_allclose(chemnet_activations([smiles[5]])[0], acts[5], atol=1e-5)
    assert chemnet_activations([]).shape == (0, 512)
    model = load_chemnet("cpu")
    assert model is load_chemnet(torch.device("cpu")) and not model.training


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside the fcd package
def test_activations_match_fcd_package(zinc_smiles):
    # includes symbols outside ChemNet's vocabulary (Se, Na, %10, 9) and a dot
    smiles = zinc_smiles[:40] + ["C[Se]C", "[Na+].[Cl-]", "C1CC%10CCCCCCCC1", "C9CCCCC9"]
    theirs = fcd_pkg.get_predictions(fcd_pkg.load_ref_model(), smiles, n_jobs=0, device="cpu")
    np.testing.assert_allclose(chemnet_activations(smiles, batch_size=16), theirs, atol=1e-6)


def test_unknown_symbols_and_overlong_smiles(caplog):
    acts = chemnet_activations(["C[Se]C", "C[SX]C", "C[Te]C"])
    # 'e' is not in the vocabulary: it is ChemNet's unknown token X, like a literal X
    np.testing.assert_array_equal(acts[0], acts[1])
    assert not np.allclose(acts[0], acts[2], atol=1e-4)  # [Te] -> [XX] differs
    with caplog.at_level(logging.WARNING, logger="ric.metrics.fcd"):
        long = chemnet_activations(["C" * 500, "C" * 349, "C" * 348])
    assert "truncated" in caplog.text and "1 of 3" in caplog.text
    np.testing.assert_array_equal(long[0], long[1])  # truncated to 349 tokens
    assert not np.allclose(long[1], long[2], atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside the fcd package
def test_fcd_matches_fcd_package(zinc_smiles):
    generated, reference = zinc_smiles[300:400], zinc_smiles[400:500]
    ours = fcd(generated, reference)
    canonical = [[Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in part] for part in (generated, reference)]
    theirs = fcd_pkg.get_fcd(canonical[0], canonical[1], device="cpu")
    assert ours.fcd == pytest.approx(theirs, rel=1e-5)
    assert (ours.n_generated, ours.n_reference) == (100, 100)
    assert ours.score == pytest.approx(math.exp(-0.2 * ours.fcd))


def test_fcd_of_a_set_with_itself_is_zero_after_canonicalisation(zinc_smiles):
    smiles = zinc_smiles[:100]
    reference = chemnet_stats(smiles)
    randomised = [
        Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(s), 1, randomSeed=i)[0] for i, s in enumerate(smiles)
    ]
    assert sum(r != s for r, s in zip(randomised, smiles)) > 50
    same = fcd(randomised, reference)
    assert same.fcd < 1e-3  # typical values here are > 10 (see the next test)
    assert same.score == pytest.approx(1.0, abs=1e-3)
    raw = fcd(randomised, reference, canonicalise=False)  # ChemNet reads strings, not molecules
    assert raw.fcd > 1.0


def test_fcd_separates_zinc_halves_from_alkanes(zinc_smiles):
    reference = chemnet_stats(zinc_smiles[:150])
    close = fcd(zinc_smiles[150:300], reference)
    far = fcd(ALKANES_ALCOHOLS, reference)
    assert 0 < 3 * close.fcd < far.fcd
    assert 0 < far.score < close.score < 1
    for result in (close, far):
        assert result.score == pytest.approx(math.exp(-0.2 * result.fcd), rel=1e-12)
    assert (close.n_generated, close.n_reference, far.n_generated) == (150, 150, len(ALKANES_ALCOHOLS))


def test_gaussian_stats_state_dict_roundtrip(tmp_path, zinc_smiles):
    stats = chemnet_stats(zinc_smiles[500:560])
    other = chemnet_stats(zinc_smiles[560:600])
    state = stats.state_dict()
    assert set(state) == {"mean", "cov", "n"} and all(isinstance(v, np.ndarray) for v in state.values())
    path = tmp_path / "reference_fcd.npz"
    np.savez(path, **state)
    with np.load(path) as data:
        loaded = GaussianStats.from_state_dict(data)
    assert loaded.n == 60 and loaded.mean.shape == (512,) and loaded.cov.shape == (512, 512)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.cov, stats.cov)
    assert frechet_distance(loaded, other) == frechet_distance(stats, other)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="C1CC"):
        fcd(["CCO", "C1CC"], ["CCO", "CCN"])
    with pytest.raises(ValueError, match="at least 2"):
        fcd(["CCO"], ["CCO", "CCN"])
    with pytest.raises(ValueError):
        GaussianStats.from_activations(np.zeros((1, 512)))
    with pytest.raises(ValueError):
        chemnet_activations(["CCO"], batch_size=0)

