import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from ric.metrics.distribution import (
    kl_divergence_score,
    nearest_neighbour_similarity,
    novelty,
    uniqueness,
    validity,
)


def test_validity_uniqueness_novelty_definitions():
    smiles = ["CCO", "OCC", "C[C@H](N)O", "CC(N)O", "C1CC", "", "c1ccccc1"]
    assert validity(smiles) == pytest.approx(5 / 7)
    # OCC = CCO; stereo is stripped, so C[C@H](N)O = CC(N)O: 3 distinct of 5 valid
    assert uniqueness(smiles) == pytest.approx(3 / 5)
    assert novelty(smiles, ["OCC", "C1=CC=CC=C1"]) == pytest.approx(1 / 3)


def test_nearest_neighbour_similarity_matches_rdkit(zinc_smiles):
    mols = [Chem.MolFromSmiles(s) for s in zinc_smiles[:60]]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=4096)
    fps = [gen.GetFingerprint(m) for m in mols]
    arr = np.stack([gen.GetFingerprintAsNumPy(m).astype(bool) for m in mols])
    ours = nearest_neighbour_similarity(arr, block=7)
    for i, fp in enumerate(fps):
        sims = DataStructs.BulkTanimotoSimilarity(fp, fps[:i] + fps[i + 1 :])
        assert ours[i] == pytest.approx(max(sims), abs=1e-6)


def test_kl_score_rewards_matching_distributions(zinc_smiles):
    reference, same = zinc_smiles[:300], zinc_smiles[300:600]
    alkanes = ["C" * k for k in range(2, 40)] + ["C" * k + "O" for k in range(2, 40)]
    close = kl_divergence_score(same, reference)
    far = kl_divergence_score(alkanes, reference)
    assert 0 <= far.score < 0.5 < close.score <= 1
    assert set(close.kl) == {
        "BertzCT", "MolLogP", "MolWt", "TPSA", "internal_similarity", "NumHAcceptors", "NumHDonors",
        "NumRotatableBonds", "NumAliphaticRings", "NumAromaticRings",
    }
    assert np.isfinite(far.score)
    with pytest.raises(ValueError, match="at least two"):
        kl_divergence_score(["CCO"], reference)
