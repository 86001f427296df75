"""Property tests of the fragment move set on real and hand-picked hard molecules."""
from collections import Counter

import numpy as np
import pytest
from rdkit import Chem

from ric.molecules.standardise import standardise
from ric.corruption import CheckReport, CorruptionConfig, corrupt, example_rng
from ric.molecules.fragment import DeleteLeaf, FragmentMoveSet, FuseAtom, FuseBond
from ric.moves.protocol import STOP, IllegalMoveError
from ric.molecules.vocab import decompose


@pytest.fixture(scope="module")
def move_set(vocab):
    return FragmentMoveSet(vocab)


def _walk_check(move_set, graphs, seed, steps_mean=5.0, repeats=1):
    report = CheckReport()
    config = CorruptionConfig(steps_mean=steps_mean)
    for r in range(repeats):
        for i, g in enumerate(graphs):
            corrupt(move_set, g, example_rng(seed, r, i), config, check=report)
    return report


def test_corruption_walks_on_hard_cases_never_fail(move_set, hard_graphs):
    report = _walk_check(move_set, hard_graphs, seed=0, steps_mean=12.0, repeats=40)
    assert report.steps > 2000
    assert report.failures == []


def test_corruption_walks_on_zinc_never_fail(move_set, zinc_graphs):
    report = _walk_check(move_set, zinc_graphs, seed=1, steps_mean=8.0, repeats=2)
    assert report.steps > 3000
    assert report.failures == []


def test_every_legal_move_is_valid_and_inverts(move_set, hard_graphs):
    small = [g for g in hard_graphs if g.num_atoms <= 12]
    checked = 0
    for g in small:
        key = g.smiles()
        moves = move_set.legal_moves(g)
        assert len(moves) == len(set(moves)), "duplicate moves"
        rng = np.random.default_rng(0)
        for idx in rng.permutation(len(moves))[:150]:
            m = moves[idx]
            h = move_set.apply(g, m)
            assert h.sanitizes() and h.is_connected()
            inv = move_set.inverse(g, m)
            assert move_set.is_legal(h, inv)
            assert move_set.apply(h, inv).smiles() == key
            checked += 1
    assert checked > 500


def _brute_force_insertions(vocab, g):
    """Results of every fusion RDKit accepts, found without the attachment tables."""
    results = set()
    n = g.num_atoms
    mol = g.to_rdkit()
    ring_bonds = {
        (min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
        for b in mol.GetBonds()
        if b.IsInRing()
    }
    for frag in vocab.fragments:
        for u in range(frag.num_atoms):
            for a in range(n):
                if frag.labels[u] != g.atom_type(a) or (frag.is_ring and n < 2):
                    continue
                mapping = {u: a}
                new = [lab for k, lab in enumerate(frag.labels) if k != u]
                for k in range(frag.num_atoms):
                    if k != u:
                        mapping[k] = n + len(mapping) - 1
                h = g.edit(add_atoms=new, add_bonds=[(mapping[i], mapping[j], o) for i, j, o in frag.bonds])
                if h.sanitizes():
                    results.add(h.smiles())
        if not frag.is_ring:
            continue
        orders = frag.bond_order_of
        for i, j, _ in frag.bonds:
            for u, v in ((i, j), (j, i)):
                for a, b in ring_bonds:
                    if g.bond_orders[(a, b)] != orders[(u, v)]:
                        continue
                    if frag.labels[u] != g.atom_type(a) or frag.labels[v] != g.atom_type(b):
                        continue
                    mapping = {u: a, v: b}
                    new = []
                    for k in range(frag.num_atoms):
                        if k not in mapping:
                            mapping[k] = n + len(new)
                            new.append(frag.labels[k])
                    bonds = [(mapping[x], mapping[y], o) for x, y, o in frag.bonds if {x, y} != {u, v}]
                    h = g.edit(add_atoms=new, add_bonds=bonds)
                    if h.sanitizes():
                        results.add(h.smiles())
    return results


@pytest.mark.parametrize(
    "smiles", ["c1ccccc1", "CC(=O)N", "C1CC2CCC1C2", "c1ccsc1", "O=[N+]([O-])C", "CS(C)=O", "C1CC1C", "N"]
)
def test_insertions_equal_brute_force(vocab, move_set, smiles):
    g = standardise(smiles)[1]
    moves = [m for m in move_set.legal_moves(g) if not isinstance(m, DeleteLeaf)]
    assert len(moves) == len(set(moves))
    enumerated = {move_set.apply(g, m).smiles() for m in moves}
    assert enumerated == _brute_force_insertions(vocab, g)


@pytest.mark.parametrize("smiles", ["c1ccc2ccccc2c1CC(=O)O", "C1CC2(CC1)CCCC2", "CC1CC2CCC1C2", "Oc1ccccc1C1CC1"])
def test_deletions_equal_brute_force(move_set, smiles):
    """A cluster is deletable iff removing its unshared atoms leaves a connected molecule
    that a legal fusion turns back into the original."""
    g = standardise(smiles)[1]
    key = g.smiles()
    candidates = {(i,) for i, d in enumerate(g.degrees) if d == 1}
    clusters = decompose(g)
    for c in clusters:
        if c.is_ring:
            shared = {a for a in c.atoms if sum(a in d.atoms for d in clusters) > 1}
            removed = tuple(a for a in c.atoms if a not in shared)
            if removed and shared:
                candidates.add(removed)
    expected = set()
    for atoms in candidates:
        h = g.edit(remove_atoms=atoms)
        if not h.is_connected():
            continue
        fusions = [m for m in move_set.legal_moves(h) if not isinstance(m, DeleteLeaf)]
        if any(move_set.apply(h, m).smiles() == key for m in fusions):
            expected.add(atoms)
    assert set(m.atoms for m in move_set.deletion_moves(g)) == expected


def test_illegal_moves_raise(move_set, vocab):
    g = standardise("CC(=O)O")[1]
    with pytest.raises(IllegalMoveError, match="not legal"):
        move_set.apply(g, DeleteLeaf((1,)))  # not a leaf
    ring = next(f.index for f in vocab.fragments if f.is_ring)
    with pytest.raises(IllegalMoveError):
        move_set.apply(g, FuseBond(0, 1, ring, 0))  # not a ring bond
    with pytest.raises(IllegalMoveError):
        move_set.apply(g, FuseAtom(0, len(vocab) + 5, 0))
    single = standardise("C")[1]
    carbon_ring_slot = next(
        (f.index, s) for f in vocab.fragments if f.is_ring for s, k in enumerate(f.atom_slot_rep) if f.labels[k] == (6, 0)
    )
    assert not move_set.is_legal(single, FuseAtom(0, *carbon_ring_slot))


def test_format_parse_round_trip(move_set, zinc_graphs):
    g = zinc_graphs[0]
    moves = move_set.legal_moves(g)
    for m in moves[:: max(1, len(moves) // 200)] + [STOP]:
        assert move_set.parse_move(move_set.format_move(m)) == m
    with pytest.raises(ValueError, match="not a fragment move"):
        move_set.parse_move("explode")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        move_set.parse_move("fuse_atom(atom=0,fragment=99999,slot=0)")


def test_relabel_matches_permuted_state(move_set, zinc_graphs):
    rng = np.random.default_rng(3)
    for g in zinc_graphs[:20]:
        order = list(rng.permutation(g.num_atoms))
        new_index = [0] * g.num_atoms
        for k, old in enumerate(order):
            new_index[old] = k
        pg = g.permute(order)
        moves = move_set.legal_moves(g)
        for idx in rng.permutation(len(moves))[:20]:
            m = moves[idx]
            pm = move_set.relabel_move(m, new_index)
            assert move_set.is_legal(pg, pm)
            assert move_set.apply(pg, pm).smiles() == move_set.apply(g, m).smiles()


def test_legal_moves_do_not_depend_on_atom_order(move_set, zinc_graphs):
    for g in zinc_graphs[:3]:
        order = list(np.random.default_rng(5).permutation(g.num_atoms))
        a = sorted(move_set.apply(g, m).smiles() for m in move_set.legal_moves(g))
        b = sorted(move_set.apply(g.permute(order), m).smiles() for m in move_set.legal_moves(g.permute(order)))
        assert a == b


def test_states_stay_inside_vocabulary(move_set, zinc_graphs):
    """Corrupted states decompose into vocabulary fragments, so every label is expressible."""
    for i, g in enumerate(zinc_graphs[:150]):
        ex = corrupt(move_set, g, example_rng(9, 0, i), CorruptionConfig(steps_mean=8))
        assert move_set.check_state(ex.corrupted) is None
        Chem.SanitizeMol(ex.corrupted.to_rdkit())


@pytest.mark.slow
def test_corruption_walks_on_all_bundled_training_data(vocab):
    """Every bundled training molecule, corrupted with per-step checks (slow: ~20k molecules)."""
    from ric.data import load
    from ric.molecules.vocab import Vocabulary

    graphs = [standardise(s)[1] for s in load("bundled", "train")]
    move_set = FragmentMoveSet(Vocabulary.build(graphs))
    report = _walk_check(move_set, graphs, seed=2, steps_mean=5.0)
    assert report.steps > 20000
    assert report.failures == []


def test_rings_carried_along_moves_equal_a_fresh_perception(vocab, zinc_graphs):
    """Every move derives the new state's rings from its parent's and the fragment's instead of
    asking RDKit again; as a set they must be exactly RDKit's, and the clusters, leaves and
    legal moves built on them exactly those of the same molecule read afresh."""
    from ric.molecules.graph import MolGraph
    from ric.molecules.vocab import decompose

    move_set = FragmentMoveSet(vocab)
    fresh_set = FragmentMoveSet(vocab)
    rng = np.random.default_rng(5)
    carried = Counter()
    for graph in zinc_graphs[:200]:
        state = graph
        for _ in range(15):
            state.rings
            move = move_set.sample_corruption_move(state, rng)
            if move is None:
                break
            new = move_set.apply(state, move)
            assert new.known_rings() is not None
            fresh = MolGraph(new.atomic_nums, new.charges, new.bonds)
            assert {frozenset(r) for r in new.rings} == {frozenset(r) for r in fresh.rings}
            assert len(new.rings) == len(fresh.rings)
            assert decompose(new) == decompose(fresh)
            assert move_set.legal_moves(new) == fresh_set.legal_moves(fresh)
            carried[type(move).__name__, getattr(vocab[move.fragment], "is_ring", None) if hasattr(move, "fragment") else None] += 1
            state = new
    assert carried[("FuseBond", True)] > 50 and carried[("FuseAtom", True)] > 50 and carried[("DeleteLeaf", None)] > 500


def test_is_valid_rejects_rings_that_differ_from_rdkit(vocab):
    """A state whose carried rings are not RDKit's is invalid, and the check says why."""
    from ric.molecules.graph import MolGraph

    move_set = FragmentMoveSet(vocab)
    benzene = MolGraph.from_kekule_smiles("C1=CC=CC=C1")
    assert move_set.is_valid(benzene) and move_set.check_state(benzene) is None
    wrong = benzene.edit(rings=[(0, 1, 2)])  # a triangle that is not there
    assert wrong.known_rings() == ((0, 1, 2),)
    assert not move_set.is_valid(wrong)
    assert "differ from RDKit" in move_set.check_state(wrong)
    right = benzene.edit(rings=[(5, 4, 3, 2, 1, 0)])  # the same ring, another order
    assert move_set.is_valid(right)
