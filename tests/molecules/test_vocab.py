import pytest

from ric.molecules.standardise import standardise
from ric.molecules.vocab import UnknownFragmentError, Vocabulary, decompose


def _clusters(smiles):
    g = standardise(smiles)[1]
    return g, decompose(g)


def test_decompose_kinds():
    _, cl = _clusters("c1ccc2ccccc2c1CC")
    rings = [c for c in cl if c.is_ring]
    assert len(rings) == 2 and all(len(c.atoms) == 6 for c in rings)
    assert len(set(rings[0].atoms) & set(rings[1].atoms)) == 2
    assert sum(not c.is_ring for c in cl) == 2
    # Bridged rings (sharing more than two atoms) merge into one cluster.
    _, cl = _clusters("C1CC2CCC1C2")
    assert [len(c.atoms) for c in cl if c.is_ring] == [7]
    # Cubane's faces share at most one bond each, so they stay six 4-ring clusters.
    _, cl = _clusters("C12C3C4C1C5C2C3C45")
    assert [len(c.atoms) for c in cl if c.is_ring] == [4] * 6
    # Spiro rings stay separate and share one atom.
    _, cl = _clusters("C1CC2(CC1)CCCC2")
    rings = [c for c in cl if c.is_ring]
    assert len(rings) == 2 and len(set(rings[0].atoms) & set(rings[1].atoms)) == 1
    # A single atom is its own cluster.
    _, cl = _clusters("F")
    assert len(cl) == 1 and cl[0].atoms == (0,)


def test_vocab_slots_follow_symmetry():
    g = standardise("c1ccccc1")[1]
    vocab = Vocabulary.build([g])
    (benzene,) = vocab.fragments
    assert benzene.is_ring
    assert len(benzene.atom_slot_rep) == 1  # all six atoms equivalent
    # Kekulé benzene: single and double bonds differ, each symmetric under reversal.
    assert len(benzene.bond_slot_rep) == 2 and all(benzene.bond_slot_symmetric)
    vocab = Vocabulary.build([standardise("CC(=O)O")[1]])
    kinds = sorted((f.smiles, len(f.atom_slot_rep)) for f in vocab.fragments)
    assert len(kinds) == 3  # C-C, C=O, C-O
    assert all(k == 2 for _, k in kinds if "C" in _ and "O" in _)


def test_vocab_save_load_round_trip(tmp_path, zinc_graphs):
    vocab = Vocabulary.build(zinc_graphs[:200])
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.hash == vocab.hash
    assert [f.smiles for f in loaded.fragments] == [f.smiles for f in vocab.fragments]
    assert loaded.num_atom_slots == vocab.num_atom_slots
    assert loaded.num_bond_slots == vocab.num_bond_slots
    for g in zinc_graphs[:200]:
        loaded.check_molecule(g)


def test_unknown_fragment_error_names_fragment():
    vocab = Vocabulary.build([standardise("CCO")[1]])
    with pytest.raises(UnknownFragmentError) as err:
        vocab.check_molecule(standardise("c1ccccc1O")[1])
    assert "C1=CC=CC=C1" in str(err.value) and err.value.reason == "unknown_fragment"
    assert not isinstance(err.value, KeyError)


def test_vocab_load_reports_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# header\nCC\tbond\t3\nC1CC\tring\n")
    with pytest.raises(ValueError, match=r"bad.txt:3"):
        Vocabulary.load(path)
    path.write_text("CC\tbond\nCC\tbond\n")
    with pytest.raises(ValueError, match="twice"):
        Vocabulary.load(path)
