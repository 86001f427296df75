import random

import pytest

from ric.molecules.canon import canonical_form
from ric.molecules.standardise import standardise


def _labelled(smiles):
    g = standardise(smiles)[1]
    return [g.atom_type(a) for a in range(g.num_atoms)], list(g.bonds)


def _permuted(labels, bonds, rng):
    n = len(labels)
    perm = list(range(n))
    rng.shuffle(perm)  # old i -> new perm[i]
    new_labels = [None] * n
    for i in range(n):
        new_labels[perm[i]] = labels[i]
    return new_labels, [(perm[i], perm[j], o) for i, j, o in bonds]


@pytest.mark.parametrize(
    "smiles", ["C1=CC=CC=C1", "c1ccc2ccccc2c1", "C12C3C4C1C5C2C3C45", "O=[N+]([O-])c1ccccc1", "CC(C)(C)CO"]
)
def test_certificate_invariant_under_permutation(smiles):
    labels, bonds = _labelled(smiles)
    ref = canonical_form(labels, bonds).certificate
    rng = random.Random(1)
    for _ in range(10):
        assert canonical_form(*_permuted(labels, bonds, rng)).certificate == ref


def test_certificate_separates_isomers():
    ortho = canonical_form(*_labelled("Cc1ccccc1C")).certificate
    meta = canonical_form(*_labelled("Cc1cccc(C)c1")).certificate
    para = canonical_form(*_labelled("Cc1ccc(C)cc1")).certificate
    assert len({ortho, meta, para}) == 3
    # Same graph, different bond order or charge: different certificates.
    assert canonical_form([(6, 0), (8, 0)], [(0, 1, 1)]).certificate != canonical_form(
        [(6, 0), (8, 0)], [(0, 1, 2)]
    ).certificate
    assert canonical_form([(7, 0), (8, 0)], [(0, 1, 1)]).certificate != canonical_form(
        [(7, 1), (8, 0)], [(0, 1, 1)]
    ).certificate


@pytest.mark.parametrize(
    "labels,bonds,size",
    [
        ([(6, 0)] * 6, [(i, (i + 1) % 6, 1) for i in range(6)], 12),  # cyclohexane: D6
        ([(6, 0)] * 6, [(i, (i + 1) % 6, 1 + (i % 2)) for i in range(6)], 6),  # Kekulé benzene: D3
        ([(6, 0), (8, 0)], [(0, 1, 2)], 1),
        ([(6, 0), (6, 0)], [(0, 1, 1)], 2),
    ],
)
def test_automorphism_group_size(labels, bonds, size):
    form = canonical_form(labels, bonds)
    assert len(form.automorphisms) == size
    edge_set = {(min(i, j), max(i, j), o) for i, j, o in bonds}
    for p in form.automorphisms:
        assert all(labels[p[i]] == labels[i] for i in range(len(labels)))
        assert {(min(p[i], p[j]), max(p[i], p[j]), o) for i, j, o in bonds} == edge_set


def test_cubane_automorphisms():
    labels, bonds = _labelled("C12C3C4C1C5C2C3C45")
    assert len(canonical_form(labels, bonds).automorphisms) == 48
