"""The move-set contract, checked on every registered move set with real states.

Each move set is exercised on states from its domain's data (ZINC molecules, bundled Laman
graphs) and on states one corruption walk away from them, so that the checks see both
clean and corrupted states. Move-set specific behaviour (brute-force enumeration against
chemistry or rigidity) lives in the domain's own tests.
"""
from __future__ import annotations

import numpy as np
import pytest

from ric.corruption import corrupt, example_rng
from ric.moves import make_move_set
from ric.moves.encoding import KIND_STOP
from ric.moves.protocol import STOP, MoveSet
from ric.moves.registry import domain_of, move_set_from_dict, move_set_names, move_set_to_dict

STATES = 12


def _states(name: str, vocab, zinc_graphs) -> tuple[object, list]:
    if name == "fragment":
        move_set = make_move_set("fragment", vocab=vocab)
        clean = zinc_graphs[:STATES]
    elif name == "atom":
        move_set = make_move_set("atom")
        clean = zinc_graphs[STATES : 2 * STATES]
    else:
        from ric.data import path_of

        move_set = make_move_set(name)
        texts = domain_of(move_set).read_texts(path_of("laman_low", "train"))[:STATES]
        clean = [move_set.parse_state(t) for t in texts]
    corrupted = [corrupt(move_set, s, example_rng(7, 0, i)).corrupted for i, s in enumerate(clean)]
    return move_set, clean + corrupted


@pytest.fixture(scope="module", params=move_set_names())
def case(request, vocab, zinc_graphs):
    return _states(request.param, vocab, zinc_graphs)


def test_every_registered_move_set_is_tested():
    assert {"fragment", "atom", "laman"} <= set(move_set_names())


def test_protocol_members(case):
    move_set, _ = case
    assert isinstance(move_set, MoveSet)
    assert domain_of(move_set).name == move_set.domain
    assert move_set_to_dict(move_from := move_set_from_dict(move_set_to_dict(move_set))) == move_set_to_dict(move_set)
    assert move_from.name == move_set.name


def test_legal_moves_apply_invert_and_stay_valid(case):
    move_set, states = case
    for state in states:
        assert move_set.is_valid(state) and move_set.check_state(state) is None
        key = move_set.key(state)
        moves = move_set.legal_moves(state)
        assert len(set(moves)) == len(moves)
        for move in moves[:: max(1, len(moves) // 40)]:  # about 40 moves per state
            assert move_set.is_legal(state, move)
            after = move_set.apply(state, move)
            assert move_set.is_valid(after), move_set.format_move(move)
            removed = move_set.removed_nodes(state, move)
            assert all(0 <= v < move_set.size(state) for v in removed)
            assert move_set.size(after) >= move_set.size(state) - len(removed)
            inverse = move_set.inverse(state, move)
            assert move_set.is_legal(after, inverse)
            back = move_set.apply(after, inverse)
            assert move_set.key(back) == key
            assert move_set.quick_key(back) == move_set.quick_key(state)  # renumbered, same object
            assert move_set.parse_move(move_set.format_move(move)) == move


def test_network_view_matches_the_legal_moves(case):
    move_set, states = case
    for state in states:
        x, edge_index, edge_attr = move_set.featurise(state)
        assert x.shape == (move_set.size(state), move_set.node_feature_dim) and x.dtype == np.float32
        assert edge_index.shape[0] == 2 and edge_attr.shape == (edge_index.shape[1], move_set.edge_feature_dim)
        enc = move_set.encode_moves(state)
        legal = move_set.legal_moves(state)
        assert enc.num_moves == len(legal)
        assert np.all((enc.roles >= 0) & (enc.roles < move_set.num_set_roles))
        decoded = [move_set.move_at(state, enc, *enc.kind_row(flat)) for flat in range(1, 1 + enc.num_moves)]
        assert set(decoded) == set(legal)
        for flat, move in enumerate(decoded, start=1):
            assert move_set.locate(state, enc, move) == enc.kind_row(flat)
        assert move_set.locate(state, enc, STOP) == (KIND_STOP, 0)


def test_protected_nodes_mask_matches_preserves(case):
    move_set, states = case
    for i, state in enumerate(states):
        protected = frozenset(np.random.default_rng(i).choice(move_set.size(state), size=2, replace=False).tolist())
        enc = move_set.encode_moves(state)
        mask = move_set.forbidden_mask(state, enc, protected)
        assert mask.shape == (1 + enc.num_moves,) and not mask[0]
        for flat in range(1, 1 + enc.num_moves):
            move = move_set.move_at(state, enc, *enc.kind_row(flat))
            assert mask[flat] == (not move_set.preserves(state, move, protected)), move_set.format_move(move)


def test_states_round_trip_through_text(case):
    move_set, states = case
    for state in states:
        assert move_set.key(move_set.parse_state(move_set.format_state(state))) == move_set.key(state)


def test_corruption_steps_are_legal(case):
    move_set, states = case
    rng = np.random.default_rng(0)
    for state in states:
        for _ in range(5):
            move = move_set.sample_corruption_move(state, rng)
            assert move is not None and move_set.is_legal(state, move)
            state = move_set.apply(state, move)
