"""The Henneberg move set: legality against brute force, inverses, corruption, encoding."""
from __future__ import annotations

import pickle
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from laman_brute import brute_laman

from ric.corruption import CheckReport, corrupt, example_rng
from ric.laman.graph import LamanGraph, to_graph6
from ric.laman.moves import (
    HennebergI,
    HennebergII,
    HennebergMoveSet,
    InverseI,
    InverseII,
)
from ric.laman.pebble import is_laman
from ric.moves.encoding import KIND_SET, KIND_STOP
from ric.moves.protocol import STOP, IllegalMoveError, MoveSet

TRIANGLE = LamanGraph(3, [(0, 1), (0, 2), (1, 2)])


def _remove_node(g: LamanGraph, v: int, extra=()) -> tuple[int, list]:
    """``G - v`` (+ extra edges) with the protocol's numbering: nodes above v shift down."""
    edges = [(a, b) for a, b in g.edges.tolist() if v not in (a, b)] + list(extra)
    return g.n - 1, [(a - (a > v), b - (b > v)) for a, b in edges]


def _brute_legal(g: LamanGraph) -> set:
    """Every candidate move whose result is Laman, by subset counting."""
    n = g.n
    legal = set()
    for a, b in combinations(range(n), 2):
        if brute_laman(n + 1, g.edges.tolist() + [(a, n), (b, n)]):
            legal.add(HennebergI(a, b))
    for a, b in g.edges.tolist():
        for c in range(n):
            if c in (a, b):
                continue
            rest = [e for e in g.edges.tolist() if e != [a, b]]
            if brute_laman(n + 1, rest + [(a, n), (b, n), (c, n)]):
                legal.add(HennebergII(a, b, c))
    if n > 3:
        for v in range(n):
            if brute_laman(*_remove_node(g, v)):
                legal.add(InverseI(v))
            nbrs = sorted(g.neighbors[v])
            for a, b in combinations(nbrs, 2):
                if not g.has_edge(a, b) and brute_laman(*_remove_node(g, v, [(a, b)])):
                    legal.add(InverseII(v, a, b))
    return legal


def _moved_to_end(g: LamanGraph, v: int) -> LamanGraph:
    """``g`` with node ``v`` renumbered last (what undoing the deletion of ``v`` gives)."""
    new_index = [i - (i > v) for i in range(g.n)]
    new_index[v] = g.n - 1
    return g.relabel(new_index)


# ---------------------------------------------------------------------- legality

def test_protocol_members(move_set):
    assert isinstance(move_set, MoveSet)
    assert move_set.name == "laman" and move_set.domain == "laman"
    assert move_set.num_set_roles == 6 and move_set.num_atom_classes == 0 and move_set.num_pair_classes == 0
    assert move_set.pair_feature_dim == 0 and move_set.pairs_directed is False
    assert move_set.to_dict() == {"name": "laman"}
    assert isinstance(HennebergMoveSet.from_dict({"name": "laman"}), HennebergMoveSet)
    with pytest.raises(ValueError):
        HennebergMoveSet.from_dict({"name": "fragment"})
    from ric.moves.registry import move_set_from_dict, move_set_to_dict

    assert isinstance(move_set_from_dict(move_set_to_dict(move_set)), HennebergMoveSet)
    copy = pickle.loads(pickle.dumps(move_set))  # as DataLoader workers get it: no cached states
    assert isinstance(copy, HennebergMoveSet) and len(copy._cache) == 0
    assert copy.legal_moves(TRIANGLE) == move_set.legal_moves(TRIANGLE)


def test_legal_moves_match_brute_force(move_set, small_laman):
    for g in small_laman:
        moves = move_set.legal_moves(g)
        assert len(moves) == len(set(moves))
        assert set(moves) == _brute_legal(g), to_graph6(g)
        assert all(move_set.is_legal(g, m) for m in moves)
        # counts: every pair, every edge with every third node
        n, m = g.n, len(g.edges)
        assert sum(isinstance(x, HennebergI) for x in moves) == n * (n - 1) // 2
        assert sum(isinstance(x, HennebergII) for x in moves) == m * (n - 2)
        if n > 3:
            assert any(isinstance(x, (InverseI, InverseII)) for x in moves)


def test_is_legal_rejects_illegal_candidates(move_set, small_laman):
    for g in small_laman[:20]:
        legal = set(move_set.legal_moves(g))
        n = g.n
        candidates = [InverseI(v) for v in range(n)]
        candidates += [InverseII(v, a, b) for v in range(n) for a, b in combinations(range(n), 2)]
        candidates += [HennebergII(a, b, c) for a, b in combinations(range(n), 2) for c in range(n)]
        candidates += [HennebergI(1, 0), HennebergI(0, n), InverseI(n), HennebergII(0, 1, 0)]
        for move in candidates:
            assert move_set.is_legal(g, move) == (move in legal), move
            if move not in legal:
                with pytest.raises(IllegalMoveError):
                    move_set.apply(g, move)


def test_triangle_allows_only_insertions(move_set):
    moves = move_set.legal_moves(TRIANGLE)
    assert moves and all(isinstance(m, (HennebergI, HennebergII)) for m in moves)
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert isinstance(move_set.sample_corruption_move(TRIANGLE, rng), (HennebergI, HennebergII))
    assert move_set.check_state(LamanGraph(2, [(0, 1)])) is not None
    assert not move_set.is_valid(LamanGraph(2, [(0, 1)]))


# ---------------------------------------------------------------------- apply and inverse

def _check_round_trip(move_set, g, move):
    h = move_set.apply(g, move)
    assert move_set.is_valid(h) and move_set.check_state(h) is None
    inv = move_set.inverse(g, move)
    assert move_set.is_legal(h, inv)
    back = move_set.apply(h, inv)
    assert move_set.key(back) == move_set.key(g)
    if isinstance(move, (InverseI, InverseII)):
        assert back == _moved_to_end(g, move.v)
        assert move_set.removed_nodes(g, move) == (move.v,)
    else:
        assert back == g
        assert move_set.removed_nodes(g, move) == ()
    # the inverse of the inverse is the move again (up to the renumbering of deletions)
    again = move_set.inverse(h, inv)
    if not isinstance(move, (InverseI, InverseII)):
        assert again == move
    return h


def test_every_legal_move_round_trips_on_small_graphs(move_set, small_laman):
    for g in small_laman:
        for move in move_set.legal_moves(g):
            h = _check_round_trip(move_set, g, move)
            assert brute_laman(h.n, h.edges.tolist())


def test_every_legal_move_round_trips_on_bundled_graphs(move_set, bundled_train):
    for g in bundled_train[:2]:
        for move in move_set.legal_moves(g):
            _check_round_trip(move_set, g, move)


def test_inverse_ii_names_the_new_edge_and_the_third_neighbour(move_set):
    # node 3 joined to 0, 1, 2 after removing 0-1: undoing it must re-add 0-1, not another pair
    g = move_set.apply(TRIANGLE, HennebergII(0, 1, 2))
    assert g.edges.tolist() == [[0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert move_set.inverse(TRIANGLE, HennebergII(0, 1, 2)) == InverseII(3, 0, 1)
    assert move_set.inverse(g, InverseII(3, 0, 1)) == HennebergII(0, 1, 2)
    assert move_set.apply(g, InverseII(3, 0, 1)) == TRIANGLE


def test_random_walks_stay_laman(move_set, bundled_train):
    rng = np.random.default_rng(0)
    for g in bundled_train[:5]:
        state = g
        move_set._orientation(g)  # from here on every result inherits its orientation
        sizes = []
        for _ in range(200):
            move = move_set.sample_corruption_move(state, rng)
            nxt = move_set.apply(state, move)
            assert is_laman(nxt.n, nxt.edges) and move_set.check_state(nxt) is None
            # the orientation carried along the move is a valid game state of the new graph
            out = move_set._analyse(nxt).orient
            assert out is not None and all(len(h) <= 2 for h in out)
            assert sorted(tuple(sorted((u, w))) for u in range(nxt.n) for w in out[u]) == \
                sorted(map(tuple, nxt.edges.tolist()))
            # so are the neighbour sets carried along, and the legal moves built on them
            info = move_set._analyse(nxt)
            assert info.adj == [set(x) for x in nxt.neighbors]
            if len(sizes) % 40 == 0:
                fresh = LamanGraph(nxt.n, nxt.edges)
                assert move_set.legal_moves(nxt) == HennebergMoveSet().legal_moves(fresh)
            inv = move_set.inverse(state, move)
            assert move_set.key(move_set.apply(nxt, inv)) == move_set.key(state)
            state = nxt
            sizes.append(state.n)
        assert min(sizes) >= 3


def test_corrupt_with_checks(move_set, bundled_train):
    report = CheckReport()
    for i, g in enumerate(bundled_train[:200]):
        ex = corrupt(move_set, g, example_rng(0, 0, i), check=report)
        assert move_set.is_valid(ex.corrupted)
        if ex.steps == 0:
            assert ex.reverse_move is STOP
    assert report.steps > 0 and report.num_failures == 0, report.failures[:3]


# ---------------------------------------------------------------------- corruption distribution

def test_deletions_are_uniform_and_steps_balanced(move_set, small_laman):
    g = next(g for g in small_laman if g.n >= 7 and any(isinstance(m, InverseII) for m in move_set.legal_moves(g)))
    deletions = [m for m in move_set.legal_moves(g) if isinstance(m, (InverseI, InverseII))]
    rng = np.random.default_rng(1)
    draws = 20000
    counts = Counter(move_set._sample_deletion(g, rng) for _ in range(draws))
    assert set(counts) == set(deletions)
    expected = draws / len(deletions)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 3 * len(deletions) + 30  # loose; a biased sampler is far above
    kinds = Counter(type(move_set.sample_corruption_move(g, rng)).__name__ for _ in range(8000))
    deleted = kinds["InverseI"] + kinds["InverseII"]
    assert abs(deleted / 8000 - 0.5) < 0.03
    assert abs(kinds["HennebergI"] / (8000 - deleted) - 0.5) < 0.04


def test_walk_does_not_drift(move_set, bundled_train):
    rng = np.random.default_rng(2)
    changes = []
    for g in bundled_train[:20]:
        state = g
        for _ in range(50):
            nxt = move_set.apply(state, move_set.sample_corruption_move(state, rng))
            changes.append(nxt.n - state.n)
            state = nxt
    assert abs(np.mean(changes)) < 0.1


# ---------------------------------------------------------------------- network view

_ROLES = {HennebergI: (0, 0), HennebergII: (1, 1, 2), InverseI: (3,), InverseII: (4, 5, 5)}


def _members(move):
    fields = {"HennebergI": ("a", "b"), "HennebergII": ("a", "b", "c"), "InverseI": ("v",),
              "InverseII": ("v", "a", "b")}[type(move).__name__]
    return sorted(zip((getattr(move, f) for f in fields), _ROLES[type(move)]))


def test_encoding_lists_every_legal_move_with_roles(move_set, small_laman, bundled_train):
    for g in small_laman[::3] + bundled_train[:3]:
        moves = move_set.legal_moves(g)
        enc = move_set.encode_moves(g)
        assert enc.num_sets == len(moves) == enc.num_moves
        assert enc.atom_blocks.shape == (0, 3) and enc.pair_blocks.shape == (0, 3)
        assert enc.pairs.shape == (0, 2) and enc.pair_features.shape == (0, 0) and enc.lists == {}
        assert enc.set_members.dtype == np.int64 and enc.set_roles.dtype == np.int64
        assert len(enc.set_roles) == len(enc.set_members)
        assert (np.diff(enc.set_members[:, 0]) >= 0).all()
        by_row: dict[int, list] = {}
        for (row, node), role in zip(enc.set_members.tolist(), enc.set_roles.tolist()):
            by_row.setdefault(row, []).append((node, role))
        for row, move in enumerate(moves):
            assert sorted(by_row[row]) == _members(move), (row, move)
            assert move_set.locate(g, enc, move) == (KIND_SET, row)
            assert move_set.move_at(g, enc, KIND_SET, row) == move
        assert move_set.locate(g, enc, STOP) == (KIND_STOP, 0)
        assert move_set.move_at(g, enc, KIND_STOP, 0) is STOP
        with pytest.raises(KeyError):
            move_set.locate(g, enc, HennebergI(0, g.n))
        with pytest.raises(IndexError):
            move_set.move_at(g, enc, KIND_SET, enc.num_sets)


def test_roles_tell_apart_moves_over_the_same_nodes(move_set):
    # K4 minus the edge 2-3: edges 0-1, 0-2 and 1-2 all exist, so HII over {0, 1, 2} comes in
    # three versions that differ only in which node is the third one
    g = LamanGraph(4, [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)])
    enc = move_set.encode_moves(g)
    encoded = []
    for move in (HennebergII(0, 1, 2), HennebergII(0, 2, 1), HennebergII(1, 2, 0)):
        _, row = move_set.locate(g, enc, move)
        hit = enc.set_members[:, 0] == row
        encoded.append(tuple(sorted(zip(enc.set_members[hit, 1].tolist(), enc.set_roles[hit].tolist()))))
        assert sorted(enc.set_members[hit, 1].tolist()) == [0, 1, 2]
    assert len(set(encoded)) == 3


def test_featurise(move_set, bundled_train):
    g = bundled_train[0]
    x, edge_index, edge_attr = move_set.featurise(g)
    m = len(g.edges)
    assert x.shape == (g.n, move_set.node_feature_dim) and x.dtype == np.float32
    assert edge_index.shape == (2, 2 * m) and edge_index.dtype == np.int64
    assert edge_attr.shape == (2 * m, move_set.edge_feature_dim) and edge_attr.dtype == np.float32
    assert (edge_attr == 1).all()
    directed = set(map(tuple, edge_index.T.tolist()))
    assert all((b, a) in directed for a, b in directed) and len(directed) == 2 * m
    assert (x[:, :16].argmax(1) == np.minimum(g.degrees, 15)).all()
    assert np.allclose(x[:, -1], g.n / 30)


def test_forbidden_mask_matches_preserves(move_set, small_laman, bundled_train):
    rng = np.random.default_rng(3)
    for g in small_laman[::4] + bundled_train[:2]:
        moves = move_set.legal_moves(g)
        enc = move_set.encode_moves(g)
        for _ in range(3):
            protected = frozenset(rng.choice(g.n, size=int(rng.integers(0, g.n + 1)), replace=False).tolist())
            mask = move_set.forbidden_mask(g, enc, protected)
            assert mask.shape == (1 + enc.num_moves,) and not mask[0]
            expected = [not move_set.preserves(g, m, protected) for m in moves]
            assert mask[1:].tolist() == expected
    g = small_laman[1]
    assert not move_set.preserves(g, HennebergII(0, 1, 2), frozenset({0, 1}))
    assert move_set.preserves(g, HennebergII(0, 1, 2), frozenset({0, 2}))
    assert not move_set.preserves(g, InverseI(3), frozenset({3}))


def test_relabel_move(move_set, small_laman):
    rng = np.random.default_rng(4)
    for g in small_laman[::3]:
        perm = rng.permutation(g.n).tolist()
        h = g.relabel(perm)
        for move in move_set.legal_moves(g):
            moved = move_set.relabel_move(move, perm)
            assert move_set.is_legal(h, moved)
            if isinstance(move, (HennebergI, HennebergII)):
                assert move_set.apply(h, moved) == move_set.apply(g, move).relabel(perm + [g.n])
            else:
                assert move_set.key(move_set.apply(h, moved)) == move_set.key(move_set.apply(g, move))
    assert move_set.relabel_move(STOP, [0]) is STOP


# ---------------------------------------------------------------------- text forms

def test_move_text_round_trip(move_set, small_laman):
    for g in small_laman[:10]:
        for move in move_set.legal_moves(g):
            assert move_set.parse_move(move_set.format_move(move)) == move
    assert move_set.format_move(HennebergII(3, 7, 12)) == "HII 3 7 12"
    assert move_set.format_move(InverseII(5, 2, 9)) == "DII 5 2 9"
    assert move_set.parse_move("  STOP ") is STOP
    assert move_set.parse_move("hi 3 7") == HennebergI(3, 7)
    for bad in ("HI 3", "HI 7 3", "DX 1", "HII 1 2", "DI -1", "HI a b", ""):
        with pytest.raises(ValueError):
            move_set.parse_move(bad)


def test_state_text_round_trip(move_set, bundled_train):
    for g in bundled_train[:20]:
        text = move_set.format_state(g)
        assert move_set.parse_state(text) == g
    with pytest.raises(ValueError, match="not graph6"):
        move_set.parse_state("C^x")
    with pytest.raises(ValueError, match="not a Laman state"):
        move_set.parse_state("C~")  # K4
    with pytest.raises(ValueError, match="at least 3"):
        move_set.parse_state("A_")  # one edge
