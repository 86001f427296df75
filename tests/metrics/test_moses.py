import logging
import math
from collections import Counter

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem

from ric.molecules.rdkit_utils import quiet_rdkit
from ric.metrics.moses import (
    ALLOWED_ATOMS,
    MosesReference,
    cosine_similarity,
    filter_patterns,
    filters,
    fragment_counts,
    fragments,
    internal_diversity,
    molecular_properties,
    morgan_fingerprints,
    moses_metrics,
    murcko_scaffold,
    nearest_neighbour_similarity_to,
    passes_filters,
    sa_score,
    scaffold_counts,
    unique_at,
    wasserstein_distances,
)

ERYTHROMYCIN = (
    "CC[C@@H]1[C@@]([C@@H]([C@H](C(=O)[C@@H](C[C@@]([C@@H]([C@H]([C@@H]([C@H](C(=O)O1)C)"
    "O[C@H]2C[C@@]([C@H]([C@@H](O2)C)O)(C)OC)C)O[C@H]3[C@@H]([C@H](C[C@H](O3)C)N(C)C)O)(C)O)C)C)O)(C)O"
)


def _mols(smiles):
    return [Chem.MolFromSmiles(s) for s in smiles]


def _rdkit_fps(mols):
    """MOSES's fingerprints: the legacy Morgan bit vector, radius 2, 1024 bits."""
    with quiet_rdkit():  # deprecation warning of the legacy call
        return [AllChem.GetMorganFingerprintAsBitVect(m, 2, nBits=1024) for m in mols]


def test_fingerprints_equal_legacy_morgan_bit_vectors(zinc_smiles):
    mols = _mols(zinc_smiles[:30])
    ours = morgan_fingerprints(mols)
    assert ours.shape == (30, 1024) and ours.dtype == bool
    for row, fp in zip(ours, _rdkit_fps(mols)):
        assert set(np.flatnonzero(row)) == set(fp.GetOnBits())


def test_internal_diversity_of_identical_molecules_is_zero():
    fps = morgan_fingerprints(_mols(["CC(=O)Nc1ccc(O)cc1"] * 5))
    assert internal_diversity(fps, p=1) == pytest.approx(0.0, abs=1e-12)
    assert internal_diversity(fps, p=2) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p", [1, 2])
def test_internal_diversity_matches_brute_force_moses_formula(zinc_smiles, p):
    smiles = zinc_smiles[:40] + zinc_smiles[:3]  # duplicates count as separate molecules
    mols = _mols(smiles)
    rdkit_fps = _rdkit_fps(mols)
    # MOSES code: 1 - mean_x (mean_y T(x, y)^p)^(1/p), y over all molecules including x
    per_molecule = [np.mean(np.array(DataStructs.BulkTanimotoSimilarity(fp, rdkit_fps)) ** p) ** (1 / p) for fp in rdkit_fps]
    expected = 1 - np.mean(per_molecule)
    fps = morgan_fingerprints(mols)
    for block in (1, 7, 16, 1024):
        assert internal_diversity(fps, p=p, block=block) == pytest.approx(expected, abs=1e-12)
    if p == 2:
        # the paper's formula puts the power outside the double mean: a different number
        sims = np.array([DataStructs.BulkTanimotoSimilarity(fp, rdkit_fps) for fp in rdkit_fps])
        paper = 1 - np.mean(sims**2) ** 0.5
        assert abs(paper - expected) > 1e-4


def test_snn_matches_brute_force_and_is_one_against_itself(zinc_smiles):
    gen_mols, ref_mols = _mols(zinc_smiles[:30]), _mols(zinc_smiles[100:150])
    gen_rd, ref_rd = _rdkit_fps(gen_mols), _rdkit_fps(ref_mols)
    expected = np.mean([max(DataStructs.BulkTanimotoSimilarity(fp, ref_rd)) for fp in gen_rd])
    gen, ref = morgan_fingerprints(gen_mols), morgan_fingerprints(ref_mols)
    for block in (1, 8, 1024):
        assert nearest_neighbour_similarity_to(gen, ref, block=block) == pytest.approx(expected, abs=1e-12)
    assert expected < 0.9
    assert nearest_neighbour_similarity_to(gen, gen, block=7) == pytest.approx(1.0)
    assert math.isnan(nearest_neighbour_similarity_to(gen[:0], ref))


def test_cosine_similarity_of_hand_made_counters():
    a, b = Counter({"x": 1, "y": 2}), Counter({"y": 2, "z": 3})
    assert cosine_similarity(a, b) == pytest.approx(4 / math.sqrt(5 * 13))
    assert cosine_similarity(b, a) == pytest.approx(4 / math.sqrt(5 * 13))
    assert cosine_similarity(a, Counter({"z": 7})) == 0.0
    assert cosine_similarity(a, Counter({"x": 2, "y": 4})) == pytest.approx(1.0)
    assert math.isnan(cosine_similarity(a, Counter()))


def test_fragments_and_scaffolds_as_moses(zinc_smiles):
    assert sorted(fragments(Chem.MolFromSmiles("CCc1ccccc1"))) == ["[16*]c1ccccc1", "[8*]CC"]
    assert fragments(Chem.MolFromSmiles("CCCO")) == ["CCCO"]  # no BRICS bond: one fragment
    side_chain = Chem.MolFromSmiles("CCc1ccccc1")
    assert murcko_scaffold(side_chain, min_rings=1) == "c1ccccc1"
    assert murcko_scaffold(side_chain) is None  # MOSES drops scaffolds with < 2 rings
    assert murcko_scaffold(Chem.MolFromSmiles("CCCO"), min_rings=0) is None  # acyclic: empty
    two_rings = "CCOc1ccc(Cc2ccncc2)cc1"
    assert murcko_scaffold(Chem.MolFromSmiles(two_rings)) == "c1ccc(Cc2ccncc2)cc1"
    counts = scaffold_counts(_mols(["CCc1ccccc1", "CCCO", two_rings, "Nc1ccc(Cc2ccncc2)cc1"]))
    assert counts == Counter({"c1ccc(Cc2ccncc2)cc1": 2})

    mols = _mols(zinc_smiles[:80])
    assert cosine_similarity(fragment_counts(mols), fragment_counts(mols)) == pytest.approx(1.0)
    assert cosine_similarity(scaffold_counts(mols), scaffold_counts(mols)) == pytest.approx(1.0)
    half = cosine_similarity(fragment_counts(mols[:40]), fragment_counts(mols[40:]))
    assert 0 < half < 1


def test_filter_pattern_counts():
    patterns = filter_patterns()
    assert Counter(s for s, _, _ in patterns) == Counter({"mcf": 22, "pains": 480})
    assert all(Chem.MolFromSmarts(smarts) is not None for _, _, smarts in patterns)


def _matching_sets(smiles):
    with_h = Chem.AddHs(Chem.MolFromSmiles(smiles))
    return {s for s, _, smarts in filter_patterns() if with_h.HasSubstructMatch(Chem.MolFromSmarts(smarts))}


def test_filters_rules():
    def passes(smiles):
        return passes_filters(Chem.MolFromSmiles(smiles))

    assert passes("CC(=O)Nc1ccc(O)cc1")  # paracetamol
    assert passes("CN(C)Cc1ccccc1") and not passes("C[N+](C)(C)Cc1ccccc1")  # charge
    assert passes("C1CCCCCC1") and not passes("C1CCCCCCC1")  # rings of 8 or more atoms fail
    assert passes("Brc1ccccc1") and not passes("Ic1ccccc1") and not passes("CCP(C)C")  # atoms
    assert "I" not in ALLOWED_ATOMS and "Br" in ALLOWED_ATOMS
    assert not passes_filters(None)
    for smiles in ("C1CCCCCCC1", "Ic1ccccc1", "C[N+](C)(C)Cc1ccccc1"):
        assert _matching_sets(smiles) == set()  # those fail on the rule, not on a pattern
    # a benzylidene rhodanine: neutral, allowed atoms, small rings, fails only on PAINS
    rhodanine = "O=C1NC(=S)SC1=Cc1ccccc1"
    mol = Chem.MolFromSmiles(rhodanine)
    assert all(a.GetFormalCharge() == 0 and a.GetSymbol() in ALLOWED_ATOMS for a in mol.GetAtoms())
    assert max(len(r) for r in mol.GetRingInfo().AtomRings()) < 8
    assert _matching_sets(rhodanine) == {"pains"}
    assert not passes(rhodanine)
    assert filters(_mols(["CC(=O)Nc1ccc(O)cc1", rhodanine, "Ic1ccccc1", "C1CCCCCC1"])) == pytest.approx(0.5)


def test_filters_equal_explicit_pattern_loop(zinc_smiles, hard_smiles):
    queries = [Chem.MolFromSmarts(smarts) for _, _, smarts in filter_patterns()]
    flagged = 0
    for smiles in zinc_smiles[:50] + hard_smiles:
        mol = Chem.MolFromSmiles(smiles)
        with_h = Chem.AddHs(mol)
        expected = (
            not any(len(r) >= 8 for r in mol.GetRingInfo().AtomRings())
            and all(a.GetFormalCharge() == 0 and a.GetSymbol() in ALLOWED_ATOMS for a in mol.GetAtoms())
            and not any(with_h.HasSubstructMatch(q) for q in queries)
        )
        flagged += not expected
        assert passes_filters(mol) == expected, smiles
    assert flagged > 5


def test_properties_and_wasserstein(zinc_smiles):
    mols = _mols(zinc_smiles[:60])
    props = molecular_properties(mols)
    assert set(props) == {"logP", "SA", "QED", "weight"}
    assert all(v.shape == (60,) for v in props.values())
    assert np.all((props["SA"] >= 1) & (props["SA"] <= 10))
    assert np.all((props["QED"] > 0) & (props["QED"] < 1))
    assert sa_score(Chem.MolFromSmiles("c1ccccc1")) < 2
    assert sa_score(Chem.MolFromSmiles(ERYTHROMYCIN)) > 5
    assert props["weight"][0] == pytest.approx(Chem.Descriptors.MolWt(mols[0]))

    same = wasserstein_distances(props, props)
    assert same == {name: 0.0 for name in props}
    shifted = wasserstein_distances({k: v + 1.5 for k, v in props.items()}, props)
    assert shifted == pytest.approx({name: 1.5 for name in props})
    other = wasserstein_distances(molecular_properties(_mols(zinc_smiles[60:120])), props)
    assert all(v > 0 for v in other.values())


def test_unique_at_k(caplog):
    smiles = ["A", "B", "A", "C", "B", "A"]
    assert unique_at(smiles, 2) == 1.0
    assert unique_at(smiles, 3) == pytest.approx(2 / 3)
    with caplog.at_level(logging.WARNING, logger="ric.metrics.moses"):
        assert unique_at(smiles, 10) == pytest.approx(3 / 6)
    assert "unique@10" in caplog.text
    assert math.isnan(unique_at([], 5))


def test_reference_state_dict_round_trip(zinc_smiles, tmp_path):
    reference = MosesReference.from_smiles(zinc_smiles[:80])
    np.savez(tmp_path / "ref.npz", **reference.state_dict())
    with np.load(tmp_path / "ref.npz") as loaded:
        assert all(loaded[k].dtype != object for k in loaded.files)
        restored = MosesReference.from_state_dict(loaded)
    assert np.array_equal(restored.fingerprints, reference.fingerprints)
    assert restored.fragment_counts == reference.fragment_counts
    assert restored.scaffold_counts == reference.scaffold_counts
    assert restored.n_molecules == reference.n_molecules == 80
    for name, values in reference.properties.items():
        assert np.array_equal(restored.properties[name], values)
    generated = zinc_smiles[200:240]
    assert moses_metrics(generated, restored).as_dict() == moses_metrics(generated, reference).as_dict()


def test_moses_metrics_counts_invalid_and_keeps_stereo(zinc_smiles):
    reference = MosesReference.from_smiles(zinc_smiles[:40])
    generated = ["CCO", "C1CC", "", "OCC", "C[C@H](N)O", "CC(N)O", "c1ccccc1"]
    result = moses_metrics(generated, reference, training=["C(C)O", "C1=CC=CC=C1"])
    assert result.n_generated == 7 and result.n_valid == 5
    assert result.valid == pytest.approx(5 / 7)
    # OCC = CCO; stereo is kept (isomeric canonical SMILES), so 4 distinct of 5
    assert result.unique_at_1k == pytest.approx(4 / 5) == result.unique_at_10k
    assert result.novelty == pytest.approx(2 / 4)
    # IntDiv and Filters see the 5 valid molecules, duplicates included
    fps = morgan_fingerprints(_mols(["CCO", "CCO", "C[C@H](N)O", "CC(N)O", "c1ccccc1"]))
    assert result.int_div1 == pytest.approx(internal_diversity(fps, p=1))
    assert result.int_div2 == pytest.approx(internal_diversity(fps, p=2))
    assert math.isnan(result.scaf)  # no generated scaffold with two rings
    assert set(result.wasserstein) == {"logP", "SA", "QED", "weight"}
    assert moses_metrics(["C1CC", ""], reference).n_valid == 0


def test_moses_metrics_on_zinc_and_with_mols(zinc_smiles):
    reference = MosesReference.from_smiles(zinc_smiles[:100])
    generated = zinc_smiles[300:360] + ["not a smiles"]
    result = moses_metrics(generated, reference, training=zinc_smiles[300:315])
    assert result.valid == pytest.approx(60 / 61) and result.novelty == pytest.approx(45 / 60)
    assert 0.8 < result.int_div2 < result.int_div1 < 0.95  # power mean >= mean: IntDiv2 <= IntDiv
    assert 0.2 < result.snn < 0.6 and 0.5 < result.frag < 1 and 0 <= result.scaf < 1
    mols = [None if s == "not a smiles" else Chem.MolFromSmiles(s) for s in generated]
    assert moses_metrics(generated, reference, mols=mols).snn == pytest.approx(result.snn)
    # dominated by one repeated molecule: less diverse
    repeated = moses_metrics(generated[:20] + [generated[0]] * 40, reference)
    assert repeated.int_div1 < result.int_div1 - 0.2
    assert repeated.unique_at_1k == pytest.approx(20 / 60)
    itself = moses_metrics(zinc_smiles[:100], reference)
    assert itself.snn == pytest.approx(1.0) and itself.frag == pytest.approx(1.0) and itself.scaf == pytest.approx(1.0)
    assert itself.wasserstein == pytest.approx({"logP": 0.0, "SA": 0.0, "QED": 0.0, "weight": 0.0}, abs=1e-12)
    flat = result.as_dict()
    assert flat["wasserstein_QED"] == result.wasserstein["QED"] and flat["n_valid"] == 60
    assert result.as_moses_dict()["IntDiv2"] == result.int_div2
