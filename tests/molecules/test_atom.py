"""Property tests of the vocabulary-free atom move set on hand-picked and ZINC molecules."""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import pickle
import random

import mol_ga
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from rdkit import Chem
from hypothesis import strategies as st

from ric.molecules.graph import MolGraph
from ric.molecules.rdkit_utils import quiet_rdkit
from ric.molecules.standardise import MoleculeError, standardise
from ric.corruption import CheckReport, CorruptionConfig, corrupt, example_rng
from ric.molecules.atom import (
    DEFAULT_ATOM_TYPES,
    AddAtom,
    AtomMoveSet,
    AtomMoveSetConfig,
    ChangeBond,
    CloseRing,
    DeleteAtom,
    OpenRing,
)
from ric.moves.protocol import STOP, IllegalMoveError, MoveSet

HARD = [
    "C1CC2CCC1C2",  # norbornane (bridged)
    "C1CCC2(CC1)CCCC2",  # spiro
    "c1ccc2ccccc2c1",  # fused aromatic
    "C1CCCCCCCCCCC1",  # 12-membered macrocycle (rings above max_ring_size)
    "C[N+](C)(C)C",
    "O=[N+]([O-])c1ccccc1",  # nitro
    "CS(=O)(=O)N",  # hypervalent S
    "O=P(O)(O)O",  # hypervalent P
    "c1ccncc1",
    "c1cc[nH]c1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    "c1ccsc1",  # thiophene
    "N#Cc1ccc(C#N)cc1",
    "CC#N",
    "C12C3C4C1C5C2C3C45",  # cubane
    "OC1C2CC3CC1CC(C2)C3",  # adamantane
    "C1CC1",
    "C[S-]",
    "[O-]c1ccccc1",
    "C[n+]1ccccc1",
    "F",  # single atom
    "CC",
    "C#C",
    "O=C1CCCCCCCCCCN1",  # 12-membered lactam
    "C1=CC2=CC=C1C=C2",  # strained bridged Kekulé ring system
    "CCCCCCCCCC",  # chain: ring closures up to and beyond max_ring_size
    "OCCOCCOCCO",
    "C1CCCCCCC1",  # 8-membered ring: can open
    "C1CCCCCCCC1",  # 9-membered ring: cannot open
    "C1CCC2(C1)CCCCCCCC2",  # spiro 5 + 10
]


def _zinc_smiles(k: int = 200) -> list[str]:
    path = os.path.join(os.path.dirname(mol_ga.__file__), "data", "zinc250k.smiles")
    with open(path) as handle:
        lines = [line.split()[0] for line in handle if line.strip()]
    return random.Random(0).sample(lines, k)


MOVE_SET = AtomMoveSet()


def _graphs(smiles_list: list[str]) -> list[MolGraph]:
    out = []
    for smi in smiles_list:
        try:
            _, g = standardise(smi)
        except MoleculeError:
            continue
        if MOVE_SET.check_state(g) is None:
            out.append(g)
    return out


@pytest.fixture(scope="module")
def hard_graphs() -> list[MolGraph]:
    graphs = _graphs(HARD)
    assert len(graphs) == len(HARD)
    return graphs


@pytest.fixture(scope="module")
def zinc_graphs() -> list[MolGraph]:
    graphs = _graphs(_zinc_smiles())
    assert len(graphs) >= 195
    return graphs


# ---------------------------------------------------------------------- brute force
def _nx_graph(g: MolGraph) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from(range(g.num_atoms))
    G.add_edges_from((i, j) for i, j, _ in g.bonds)
    return G


_NO_CLEANUP = Chem.SanitizeFlags.SANITIZE_ALL ^ Chem.SanitizeFlags.SANITIZE_CLEANUP


def _valid(h: MolGraph) -> bool:
    """Connected and accepted by RDKit sanitisation *as written*.

    RDKit's clean-up step rewrites some over-valent atoms (e.g. ``O=N1=CC=CC=C1``
    becomes the charge-separated N-oxide) instead of rejecting them; such a graph is
    not a valid Kekulé state, so the oracle sanitises without clean-up.
    """
    if not h.is_connected():
        return False
    mol = h.to_rdkit(sanitize=False)
    try:
        with quiet_rdkit():
            Chem.SanitizeMol(mol, sanitizeOps=_NO_CLEANUP)
    except Exception:  # RDKit raises several exception types
        return False
    return True


def brute_force(ms: AtomMoveSet, g: MolGraph) -> tuple[set, set]:
    """(legal moves, every candidate tried), legality decided by building each result
    with ``MolGraph.edit``, RDKit sanitisation, connectivity and the stated
    ring-size / order / reversibility rules, with distances from networkx."""
    cfg = ms.config
    n = g.num_atoms
    G = _nx_graph(g)
    legal: set = set()
    tried: set = set()

    def consider(move, ok):
        tried.add(move)
        if ok():
            legal.add(move)

    for a in range(n):
        for z, c in list(cfg.atom_types) + [(34, 0), (8, 1)]:  # two types outside the default alphabet
            for o in (1, 2, 3):
                consider(
                    AddAtom(a, z, c, o),
                    lambda: (z, c) in cfg.atom_types
                    and o in cfg.bond_orders
                    and _valid(g.edit(add_atoms=[(z, c)], add_bonds=[(a, n, o)])),
                )
        # every atom deletion; the inverse re-adds one atom with one bond, so it must be
        # a degree-one atom whose type and bond order AddAtom allows.
        def deletable(a=a):
            if n < 2 or not _valid(g.edit(remove_atoms=[a])) or G.degree[a] != 1:
                return False
            nb = next(iter(G[a]))
            return g.atom_type(a) in cfg.atom_types and g.bond_orders[(a, nb)] in cfg.bond_orders

        consider(DeleteAtom(a), deletable)
    for b in range(n):
        for e in range(b + 1, n):
            if G.has_edge(b, e):
                continue
            d = nx.shortest_path_length(G, b, e)
            for o in (1, 2, 3):
                consider(
                    CloseRing(b, e, o),
                    lambda: o in cfg.ring_bond_orders
                    and d + 1 <= cfg.max_ring_size
                    and _valid(g.edit(add_bonds=[(b, e, o)])),
                )
    for b, e, o in g.bonds:
        H = G.copy()
        H.remove_edge(b, e)
        in_ring = nx.has_path(H, b, e)
        consider(
            OpenRing(b, e),
            lambda: o in cfg.ring_bond_orders
            and in_ring
            and nx.shortest_path_length(H, b, e) + 1 <= cfg.max_ring_size
            and _valid(g.edit(remove_bonds=[(b, e)])),
        )
        top = cfg.max_ring_bond_order if in_ring else 3
        for new in (o - 1, o + 1):
            if not 1 <= new <= 3:
                continue
            raise_ok = new > o and new <= top
            lower_ok = new < o and o <= top
            consider(
                ChangeBond(b, e, new),
                lambda: (raise_ok or lower_ok) and _valid(g.edit(set_bond_orders=[(b, e, new)])),
            )
    return legal, tried


def _assert_matches_brute_force(ms: AtomMoveSet, g: MolGraph) -> int:
    legal, tried = brute_force(ms, g)
    moves = ms.legal_moves(g)
    assert len(moves) == len(set(moves)), f"duplicates in {g.kekule_smiles()}"
    got = set(moves)
    assert got == legal, (
        f"{g.kekule_smiles()}: missing {sorted(map(ms.format_move, legal - got))[:10]}, "
        f"extra {sorted(map(ms.format_move, got - legal))[:10]}"
    )
    for m in tried:
        assert ms.is_legal(g, m) == (m in legal), f"is_legal({ms.format_move(m)}) in {g.kekule_smiles()}"
    return len(legal)


def _walk_states(ms: AtomMoveSet, g: MolGraph, steps: int, seed: int) -> list[MolGraph]:
    rng = np.random.default_rng(seed)
    states = [g]
    for _ in range(steps):
        m = ms.sample_corruption_move(states[-1], rng)
        if m is None:
            break
        states.append(ms.apply(states[-1], m))
    return states


def test_legal_moves_equal_brute_force_on_hard_cases(hard_graphs):
    total = sum(_assert_matches_brute_force(MOVE_SET, g) for g in hard_graphs)
    assert total > 1000


def test_legal_moves_equal_brute_force_on_small_zinc_and_walk_states(zinc_graphs):
    small = sorted(zinc_graphs, key=lambda g: g.num_atoms)[:8]
    states = []
    for i, g in enumerate(small):
        states.extend(_walk_states(MOVE_SET, g, 6, seed=i)[::3])
    for g in states:
        _assert_matches_brute_force(MOVE_SET, g)


NON_DEFAULT = [
    AtomMoveSetConfig(
        atom_types=((6, 0), (7, 0), (8, 0), (7, 1), (8, -1)),
        bond_orders=(1, 2),
        ring_bond_orders=(1,),
        max_ring_size=6,
        max_ring_bond_order=1,
    ),
    AtomMoveSetConfig(ring_bond_orders=(1, 2, 3), max_ring_size=4, max_ring_bond_order=3),
    AtomMoveSetConfig(atom_types=((6, 0),), bond_orders=(2,), ring_bond_orders=(2,), max_ring_size=12),
]


@pytest.mark.parametrize("config", NON_DEFAULT, ids=["restricted", "small-rings-triple", "carbon-only"])
def test_legal_moves_equal_brute_force_with_other_configs(config, hard_graphs):
    ms = AtomMoveSet(config)
    picks = ["C1CC2CCC1C2", "O=[N+]([O-])c1ccccc1", "C1CCCCCCCCCCC1", "N#Cc1ccc(C#N)cc1", "CC#N", "C1CC1", "CC"]
    graphs = [g for g in hard_graphs if g.smiles() in {standardise(s)[0] for s in picks}]
    assert len(graphs) == len(picks)
    for g in graphs:
        _assert_matches_brute_force(ms, g)
        for h in _walk_states(ms, g, 8, seed=3)[1:]:
            _assert_matches_brute_force(ms, h)


# ---------------------------------------------------------------------- walks / inverses
def _check_walk(ms: AtomMoveSet, g: MolGraph, steps: int, rng: np.random.Generator) -> int:
    state = g
    done = 0
    for _ in range(steps):
        move = ms.sample_corruption_move(state, rng)
        if move is None:
            break
        assert ms.is_legal(state, move)
        nxt = ms.apply(state, move)
        assert nxt.sanitizes(), f"{ms.format_move(move)} on {state.kekule_smiles()}"
        assert nxt.is_connected()
        assert ms.check_state(nxt) is None
        inv = ms.inverse(state, move)
        assert ms.is_legal(nxt, inv), f"inverse of {ms.format_move(move)} on {state.kekule_smiles()}"
        assert ms.apply(nxt, inv).smiles() == state.smiles()
        state = nxt
        done += 1
    return done


def test_corruption_walks_on_hard_cases(hard_graphs):
    rng = np.random.default_rng(0)
    steps = sum(_check_walk(MOVE_SET, g, 12, rng) for _ in range(5) for g in hard_graphs)
    assert steps >= 1400


def test_corruption_walks_on_zinc(zinc_graphs):
    rng = np.random.default_rng(1)
    steps = sum(_check_walk(MOVE_SET, g, 12, rng) for g in zinc_graphs)
    assert steps >= 2300


def test_corruption_engine_check_reports_no_failures(zinc_graphs, hard_graphs):
    report = CheckReport()
    config = CorruptionConfig(steps_mean=8.0)
    for i, g in enumerate(zinc_graphs[:60] + hard_graphs):
        ex = corrupt(MOVE_SET, g, example_rng(5, 0, i), config, check=report)
        assert ex.reverse_move is STOP or MOVE_SET.is_legal(ex.corrupted, ex.reverse_move)
    assert report.steps > 200
    assert report.failures == []


def test_every_legal_move_is_valid_and_inverts(zinc_graphs, hard_graphs):
    rng = np.random.default_rng(2)
    checked = 0
    for g in hard_graphs + zinc_graphs[:5]:
        key = g.smiles()
        moves = MOVE_SET.legal_moves(g)
        for idx in rng.permutation(len(moves))[:120]:
            m = moves[idx]
            h = MOVE_SET.apply(g, m)
            assert h.sanitizes() and h.is_connected()
            inv = MOVE_SET.inverse(g, m)
            assert MOVE_SET.is_legal(h, inv)
            assert MOVE_SET.apply(h, inv).smiles() == key
            checked += 1
    assert checked > 2000


def test_inverse_indices():
    _, g = standardise("CC(=O)OC")
    deletions = [m for m in MOVE_SET.legal_moves(g) if isinstance(m, DeleteAtom)]
    assert deletions
    for m in deletions:
        inv = MOVE_SET.inverse(g, m)
        nb = g.neighbors[m.atom][0]
        assert isinstance(inv, AddAtom)
        assert inv.atom == (nb - 1 if nb > m.atom else nb)
        assert (inv.atomic_num, inv.charge) == g.atom_type(m.atom)
        assert inv.order == g.bond_orders[(m.atom, nb)]
    add = AddAtom(1, 7, 0, 3) if g.free_valences[1] >= 3 else AddAtom(0, 7, 0, 3)
    assert MOVE_SET.inverse(g, add) == DeleteAtom(g.num_atoms)
    h = MOVE_SET.apply(g, add)
    assert h.atom_type(g.num_atoms) == (7, 0)


def test_relabel_matches_permuted_state(zinc_graphs, hard_graphs):
    rng = np.random.default_rng(3)
    for g in zinc_graphs[:15] + hard_graphs:
        order = [int(x) for x in rng.permutation(g.num_atoms)]
        new_index = [0] * g.num_atoms
        for k, old in enumerate(order):
            new_index[old] = k
        pg = g.permute(order)
        moves = MOVE_SET.legal_moves(g)
        relabelled = {MOVE_SET.relabel_move(m, new_index) for m in moves}
        assert relabelled == set(MOVE_SET.legal_moves(pg))
        for idx in rng.permutation(len(moves))[:15]:
            m = moves[idx]
            pm = MOVE_SET.relabel_move(m, new_index)
            assert MOVE_SET.apply(pg, pm).smiles() == MOVE_SET.apply(g, m).smiles()
    assert MOVE_SET.relabel_move(STOP, [0]) is STOP


def test_legal_moves_do_not_depend_on_atom_order(zinc_graphs):
    rng = np.random.default_rng(4)
    for g in zinc_graphs[:5]:
        h = g.permute([int(x) for x in rng.permutation(g.num_atoms)])
        assert h.smiles() == g.smiles()

        def results(x):
            return collections.Counter(MOVE_SET.apply(x, m).smiles() for m in MOVE_SET.legal_moves(x))

        assert results(g) == results(h)


# ---------------------------------------------------------------------- corruption distribution
def _expected_distribution(ms: AtomMoveSet, g: MolGraph) -> dict:
    moves = ms.legal_moves(g)
    kinds = collections.defaultdict(list)
    for m in moves:
        if isinstance(m, ChangeBond):
            kind = "raise" if m.order > g.bond_orders[(m.begin, m.end)] else "lower"
        else:
            kind = type(m).__name__
        kinds[kind].append(m)
    removal = [k for k in ("DeleteAtom", "OpenRing", "lower") if kinds[k]]
    addition = [k for k in ("AddAtom", "CloseRing", "raise") if kinds[k]]
    sides = [s for s in (removal, addition) if s]
    probs = {}
    for side in sides:
        for kind in side:
            for m in kinds[kind]:
                probs[m] = 1 / len(sides) / len(side) / len(kinds[kind])
    return probs


@pytest.mark.parametrize("smiles", ["CC(=O)OC", "C1CC2CCC1C2", "O=[N+]([O-])c1ccccc1"])
def test_corruption_step_distribution(smiles):
    _, g = standardise(smiles)
    probs = _expected_distribution(MOVE_SET, g)
    assert abs(sum(probs.values()) - 1) < 1e-9
    rng = np.random.default_rng(7)
    draws = 20000
    counts = collections.Counter(MOVE_SET.sample_corruption_move(g, rng) for _ in range(draws))
    assert set(counts) <= set(probs)
    # aggregate by kind to keep the statistics tight
    by_kind_expected = collections.Counter()
    by_kind_seen = collections.Counter()
    for m, p in probs.items():
        raising = isinstance(m, ChangeBond) and m.order > g.bond_orders[(m.begin, m.end)]
        k = (type(m).__name__, raising)
        by_kind_expected[k] += p
        by_kind_seen[k] += counts[m] / draws
    for k, p in by_kind_expected.items():
        assert abs(by_kind_seen[k] - p) < 4 * np.sqrt(p * (1 - p) / draws) + 1e-3, k
    # individual moves: every expected move with non-negligible probability shows up
    for m, p in probs.items():
        if p * draws > 30:
            assert counts[m] > 0


def test_sample_returns_none_without_legal_moves():
    ms = AtomMoveSet(AtomMoveSetConfig(atom_types=((6, 0),)))
    g = MolGraph([9, 9], [0, 0], [(0, 1, 1)])  # F-F: saturated, F outside the alphabet
    assert ms.legal_moves(g) == []
    assert ms.sample_corruption_move(g, np.random.default_rng(0)) is None


def test_single_atom_only_grows():
    _, g = standardise("C")
    moves = MOVE_SET.legal_moves(g)
    assert moves and all(isinstance(m, AddAtom) for m in moves)
    assert DeleteAtom(0) not in moves and not MOVE_SET.is_legal(g, DeleteAtom(0))


# ---------------------------------------------------------------------- rule spot checks
def test_ring_rules():
    _, macro = standardise("C1CCCCCCCCCCC1")
    assert not any(isinstance(m, OpenRing) for m in MOVE_SET.legal_moves(macro))
    _, hexane = standardise("CCCCCCCC")  # octane: atoms 0..7 in a chain
    assert MOVE_SET.is_legal(hexane, CloseRing(0, 7, 1))  # 8-membered ring
    assert MOVE_SET.is_legal(hexane, CloseRing(0, 2, 2))  # 3-membered ring
    assert not MOVE_SET.is_legal(hexane, CloseRing(0, 1, 1))  # already bonded
    assert not MOVE_SET.is_legal(hexane, CloseRing(0, 7, 3))  # order not a ring order
    assert not MOVE_SET.is_legal(hexane, CloseRing(7, 0, 1))  # begin must be < end
    _, nonane = standardise("CCCCCCCCC")
    assert not MOVE_SET.is_legal(nonane, CloseRing(0, 8, 1))  # 9-membered ring
    _, benzene = standardise("c1ccccc1")
    changes = [m for m in MOVE_SET.legal_moves(benzene) if isinstance(m, ChangeBond)]
    assert changes and all(m.order <= 2 for m in changes)  # no ring triple bonds
    _, acetylene = standardise("CC#CC")
    assert any(isinstance(m, ChangeBond) and m.order == 2 for m in MOVE_SET.legal_moves(acetylene))


def test_illegal_moves_raise(hard_graphs):
    _, g = standardise("CC(=O)OC")
    bad = [
        AddAtom(99, 6, 0, 1),
        AddAtom(2, 6, 0, 1),  # carbonyl O is saturated
        AddAtom(0, 34, 0, 1),  # Se is not in the alphabet
        AddAtom(0, 9, 0, 2),  # F cannot take a double bond
        DeleteAtom(1),  # degree 3
        DeleteAtom(-1),
        CloseRing(0, 1, 1),
        OpenRing(0, 1),  # not a ring bond
        ChangeBond(1, 2, 3),  # O would be over-full
        ChangeBond(0, 1, 3),  # jump by two
        ChangeBond(0, 1, 0),
        ChangeBond(0, 4, 2),  # no such bond
        "not a move",
    ]
    for m in bad:
        assert not MOVE_SET.is_legal(g, m)
        with pytest.raises(IllegalMoveError) as info:
            MOVE_SET.apply(g, m)
        assert g.kekule_smiles() in str(info.value)
        if not isinstance(m, str):
            assert MOVE_SET.format_move(m) in str(info.value)
        with pytest.raises(IllegalMoveError):
            MOVE_SET.inverse(g, m)


def test_every_legal_move_gives_a_valid_state(zinc_graphs):
    """No legal move raises, and each result is a valid state of the right size."""
    change = {AddAtom: 1, DeleteAtom: -1}
    for g in zinc_graphs[:40]:
        for m in MOVE_SET.legal_moves(g):
            after = MOVE_SET.apply(g, m)
            assert MOVE_SET.is_valid(after) and MOVE_SET.check_state(after) is None, MOVE_SET.format_move(m)
            assert MOVE_SET.size(after) == MOVE_SET.size(g) + change.get(type(m), 0)
            assert MOVE_SET.removed_nodes(g, m) == ((m.atom,) if isinstance(m, DeleteAtom) else ())


# ---------------------------------------------------------------------- text, config, protocol
def test_format_parse_round_trip(zinc_graphs, hard_graphs):
    seen_kinds = set()
    for g in hard_graphs + zinc_graphs[:20]:
        for m in MOVE_SET.legal_moves(g):
            text = MOVE_SET.format_move(m)
            assert MOVE_SET.parse_move(text) == m
            seen_kinds.add(type(m))
    assert seen_kinds == {AddAtom, DeleteAtom, CloseRing, OpenRing, ChangeBond}
    assert MOVE_SET.format_move(STOP) == "stop"
    assert MOVE_SET.parse_move("stop") is STOP
    examples = {
        "add_atom(3,C,+0,1)": AddAtom(3, 6, 0, 1),
        "add_atom(0,N,+1,2)": AddAtom(0, 7, 1, 2),
        "add_atom(5,O,-1,1)": AddAtom(5, 8, -1, 1),
        "add_atom(1,Cl,+0,1)": AddAtom(1, 17, 0, 1),
        "delete_atom(7)": DeleteAtom(7),
        "close_ring(2,9,1)": CloseRing(2, 9, 1),
        "open_ring(2,9)": OpenRing(2, 9),
        "change_bond(1,2,2)": ChangeBond(1, 2, 2),
    }
    for text, move in examples.items():
        assert MOVE_SET.format_move(move) == text
        assert MOVE_SET.parse_move(text) == move


@given(
    st.one_of(
        st.builds(
            AddAtom,
            st.integers(0, 500),
            st.sampled_from([z for z, _ in DEFAULT_ATOM_TYPES] + [5, 34]),
            st.integers(-1, 1),
            st.integers(1, 3),
        ),
        st.builds(DeleteAtom, st.integers(0, 500)),
        st.tuples(st.integers(0, 500), st.integers(1, 50), st.integers(1, 3)).map(
            lambda t: CloseRing(t[0], t[0] + t[1], t[2])
        ),
        st.tuples(st.integers(0, 500), st.integers(1, 50)).map(lambda t: OpenRing(t[0], t[0] + t[1])),
        st.tuples(st.integers(0, 500), st.integers(1, 50), st.integers(1, 3)).map(
            lambda t: ChangeBond(t[0], t[0] + t[1], t[2])
        ),
    )
)
@settings(max_examples=200, deadline=None)
def test_format_parse_round_trip_property(move):
    assert MOVE_SET.parse_move(MOVE_SET.format_move(move)) == move


@pytest.mark.parametrize(
    "text",
    [
        "",
        "foo",
        "add_atom(3,C,+0)",
        "add_atom(3,Xx,+0,1)",
        "add_atom(3,c,+0,1)",
        "add_atom(a,C,+0,1)",
        "delete_atom()",
        "delete_atom(1.5)",
        "close_ring(9,2,1)",
        "close_ring(2,2,1)",
        "open_ring(2)",
        "change_bond(1,2,2,2)",
        "fuse_atom(1,2,3)",
        "delete_atom(7",
    ],
)
def test_parse_errors_name_the_text(text):
    with pytest.raises(ValueError) as info:
        MOVE_SET.parse_move(text)
    assert repr(text) in str(info.value)


def test_config_round_trip_and_validation():
    for cfg in [AtomMoveSetConfig(), *NON_DEFAULT]:
        data = json.loads(json.dumps(cfg.to_dict()))
        assert AtomMoveSetConfig.from_dict(data) == cfg
    assert AtomMoveSetConfig().atom_types == DEFAULT_ATOM_TYPES
    assert len(DEFAULT_ATOM_TYPES) == 14
    assert AtomMoveSetConfig.from_dict({}) == AtomMoveSetConfig()
    for bad in [
        {"atom_types": []},
        {"atom_types": [[6, 0], [6, 0]]},
        {"bond_orders": [4]},
        {"ring_bond_orders": []},
        {"max_ring_size": 2},
        {"max_ring_bond_order": 0},
        {"colour": "blue"},
    ]:
        with pytest.raises(ValueError):
            AtomMoveSetConfig.from_dict(bad)


def test_check_state():
    _, se = standardise("C[Se]C")
    assert MOVE_SET.check_state(se) == "atom 1 (Se+0) is not in the atom alphabet"
    _, ok = standardise("CCO")
    assert MOVE_SET.check_state(ok) is None
    assert MOVE_SET.check_state(MolGraph([6, 6], [0, 0], [])) == "the molecule is disconnected"
    assert "valence" in MOVE_SET.check_state(MolGraph([8, 6, 6, 6], [0, 0, 0, 0], [(0, 1, 1), (0, 2, 1), (0, 3, 1)]))


def test_protocol_and_value_semantics():
    assert isinstance(MOVE_SET, MoveSet)
    assert MOVE_SET.name == "atom"
    _, g = standardise("CCO")
    assert MOVE_SET.key(g) == g.smiles() == "CCO"
    moves = MOVE_SET.legal_moves(g)
    assert pickle.loads(pickle.dumps(moves)) == moves
    assert len({hash(m) for m in moves}) == len(moves)
    with pytest.raises(dataclasses.FrozenInstanceError):
        moves[0].atom = 3  # frozen


@pytest.mark.slow
def test_long_walks_and_exhaustive_moves_on_more_zinc():
    graphs = _graphs(_zinc_smiles(2000))
    rng = np.random.default_rng(11)
    steps = sum(_check_walk(MOVE_SET, g, 30, rng) for g in graphs)
    assert steps > 50000
    for g in graphs[:100]:
        key = g.smiles()
        for m in MOVE_SET.legal_moves(g):
            h = MOVE_SET.apply(g, m)
            assert h.sanitizes() and h.is_connected()
            inv = MOVE_SET.inverse(g, m)
            assert MOVE_SET.is_legal(h, inv) and MOVE_SET.apply(h, inv).smiles() == key
    for g in sorted(graphs, key=lambda x: x.num_atoms)[:60]:
        _assert_matches_brute_force(MOVE_SET, g)
