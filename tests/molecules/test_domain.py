"""State-level members shared by the molecule move sets."""
from ric.molecules.domain import MoleculeStates
from ric.molecules.graph import MolGraph


def test_quick_key_ignores_numbering_and_kekule_form_but_not_the_graph():
    states = MoleculeStates()
    ring = [(k, (k + 1) % 6) for k in range(6)]
    one = MolGraph([6] * 6 + [8], [0] * 7, [(i, j, 2 if k % 2 else 1) for k, (i, j) in enumerate(ring)] + [(0, 6, 1)])
    other = MolGraph([6] * 6 + [8], [0] * 7, [(i, j, 1 if k % 2 else 2) for k, (i, j) in enumerate(ring)] + [(0, 6, 1)])
    renumbered = one.permute([6, 3, 4, 5, 0, 1, 2])
    assert one.smiles() == other.smiles() == renumbered.smiles() == "Oc1ccccc1"
    assert states.quick_key(one) == states.quick_key(other) == states.quick_key(renumbered)
    # the O moved to another ring atom: same molecule, same quick key; an N instead: different
    meta = MolGraph([6] * 6 + [8], [0] * 7, [(i, j, 2 if k % 2 else 1) for k, (i, j) in enumerate(ring)] + [(2, 6, 1)])
    assert states.quick_key(meta) == states.quick_key(one)
    amine = MolGraph([6] * 6 + [7], [0] * 7, [(i, j, 2 if k % 2 else 1) for k, (i, j) in enumerate(ring)] + [(0, 6, 1)])
    assert states.quick_key(amine) != states.quick_key(one)
