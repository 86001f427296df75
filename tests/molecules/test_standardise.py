import pytest
from rdkit import Chem

from ric.molecules.graph import MolGraph, max_valence
from ric.molecules.standardise import MoleculeError, canonical_smiles, standardise


def test_stereo_removed_and_canonical():
    canonical, graph = standardise("C[C@@H](O)/C=C/C")
    assert "@" not in canonical and "/" not in canonical
    assert canonical == Chem.MolToSmiles(Chem.MolFromSmiles("CC(O)C=CC"))
    assert graph.smiles() == canonical
    # The internal form is Kekulé: no aromatic bonds, orders 1-3 only.
    _, benzene = standardise("c1ccccc1")
    assert sorted(o for _, _, o in benzene.bonds) == [1, 1, 1, 2, 2, 2]


def test_same_molecule_written_differently_gives_same_graph():
    a = standardise("OCc1ccccc1")[1]
    b = standardise("c1ccc(CO)cc1")[1]
    assert a == b


@pytest.mark.parametrize(
    "smiles,reason",
    [
        ("C1CC", "unparsable"),
        ("not a smiles", "unparsable"),
        ("", "empty"),
        ("CC.Cl", "disconnected"),
        ("C[Sn](C)(C)C", "unsupported_element"),
        ("[O-2]", "unsupported_charge"),
        ("C[CH2]", "radical"),
        ("[13CH4]", "isotope"),
    ],
)
def test_rejections_name_the_reason(smiles, reason):
    with pytest.raises(MoleculeError) as err:
        standardise(smiles)
    assert err.value.reason == reason
    assert err.value.smiles == smiles


def test_max_valence_matches_rdkit():
    assert max_valence(6, 0) == 4
    assert max_valence(7, 0) == 3
    assert max_valence(7, 1) == 4
    assert max_valence(8, -1) == 1
    assert max_valence(16, 0) == 6
    assert max_valence(15, 0) == 5
    assert max_valence(9, 0) == 1


def test_kekule_smiles_round_trip_keeps_bond_orders():
    _, g = standardise("Cc1ccc2[nH]ccc2c1")
    smiles, order = g.kekule_smiles_with_order()
    parsed = MolGraph.from_kekule_smiles(smiles)
    assert parsed == g.permute(order)
    assert parsed.smiles() == g.smiles()


def test_edit_and_connectivity():
    _, g = standardise("CCO")
    h = g.edit(add_atoms=[(7, 0)], add_bonds=[(0, 3, 1)])
    assert h.smiles() == canonical_smiles("NCCO")
    assert h.is_connected()
    assert not g.edit(remove_atoms=[1]).is_connected()
    assert g.edit(remove_atoms=[2]).smiles() == "CC"


def test_sanitizes_rejects_graphs_rdkit_would_rewrite():
    # Five-valent neutral N: RDKit's clean-up would turn it into an N-oxide; ric rejects it.
    g = MolGraph([8, 7, 6, 6, 6, 6, 6], [0] * 7, [(0, 1, 2), (1, 2, 2), (2, 3, 1), (3, 4, 2), (4, 5, 1), (5, 6, 2), (6, 1, 1)])
    assert not g.sanitizes()
    with pytest.raises(ValueError, match="RDKit rejects"):
        g.smiles()
