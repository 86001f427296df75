import math

import numpy as np
import pytest

from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.molecules.fragment import FragmentMoveSet
from ric.moves.protocol import STOP


@pytest.fixture(scope="module")
def move_set(vocab):
    return FragmentMoveSet(vocab)


def _signature(move_set, ex):
    return ex.corrupted.kekule_smiles(), ex.steps, move_set.format_move(ex.reverse_move)


def test_same_seed_same_examples_in_any_order(move_set, zinc_graphs):
    def draw(seed, g, i):
        return _signature(move_set, corrupt(move_set, g, example_rng(seed, 2, i)))

    forward = [draw(11, g, i) for i, g in enumerate(zinc_graphs[:60])]
    backward = [draw(11, g, i) for i, g in reversed(list(enumerate(zinc_graphs[:60])))]
    assert forward == backward[::-1]
    other = [draw(12, g, i) for i, g in enumerate(zinc_graphs[:60])]
    assert other != forward


def test_step_distribution_matches_paper(move_set, zinc_graphs):
    """N ~ Geometric(1/6) - 1 (mean 5), k ~ U{0..N}: P(stop) = ln 6 / 5 ≈ 0.358."""
    planned, stops, n = [], 0, 3000
    for i in range(n):
        g = zinc_graphs[i % len(zinc_graphs)]
        ex = corrupt(move_set, g, example_rng(0, 0, i))
        planned.append(ex.planned_steps)
        assert 0 <= ex.steps <= ex.planned_steps
        assert (ex.reverse_move is STOP) == (ex.steps == 0)
        stops += ex.steps == 0
    assert abs(np.mean(planned) - 5.0) < 0.35
    assert abs(stops / n - math.log(6) / 5) < 0.03


def test_label_is_legal_and_reconstructs(move_set, zinc_graphs):
    for i, g in enumerate(zinc_graphs[:200]):
        ex = corrupt(move_set, g, example_rng(4, 1, i), CorruptionConfig(steps_mean=3))
        if ex.steps == 0:
            assert ex.corrupted.smiles() == g.smiles()
            continue
        assert move_set.is_legal(ex.corrupted, ex.reverse_move)
        if ex.steps == 1:
            assert move_set.apply(ex.corrupted, ex.reverse_move).smiles() == g.smiles()


def test_config_round_trip_and_validation():
    cfg = CorruptionConfig(steps_mean=2.5)
    assert CorruptionConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        CorruptionConfig(steps_mean=-1)
