"""Two-level candidate logits: the same values and the same distribution as the flat ones."""
import numpy as np
import pytest
import torch

from ric.moves import make_move_set
from ric.nn.model import ModelConfig, ReconstructionModel
from ric.sampling.chain import NetworkScorer
from ric.sampling.logits import FlatLogits, gumbel_argmax


@pytest.fixture(scope="module", params=["fragment", "atom"])
def move_set(request, vocab):
    return make_move_set(request.param, vocab=vocab) if request.param == "fragment" else make_move_set("atom")


@pytest.fixture(scope="module")
def scorer(move_set):
    torch.manual_seed(0)
    # An untrained network's logits are nearly flat; scale the last layers so that the
    # draws below have a distribution worth testing.
    model = ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=16, depth=1)).eval()
    with torch.no_grad():
        for head in (model.atom_head, model.pair_head):
            if head is not None:
                head[-1].weight.mul_(20.0)
    return NetworkScorer(model)


@pytest.fixture(scope="module")
def states(move_set, zinc_graphs):
    rng = np.random.default_rng(0)
    out = []
    for s in zinc_graphs[:12]:
        for _ in range(int(rng.integers(0, 4))):
            move = move_set.sample_corruption_move(s, rng)
            s = move_set.apply(s, move)
        out.append(s)
    return out


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_two_level_logits_hold_the_flat_logits(move_set, scorer, states, temperature):
    features = [move_set.featurise(s) for s in states]
    encodings = [move_set.encode_moves(s) for s in states]
    flat = scorer(features, encodings)
    blocks = scorer.score(features, encodings, temperature)
    assert len(blocks) == len(states)
    for b, f, e in zip(blocks, flat, encodings):
        assert b.size == f.shape[0] == 1 + e.num_moves
        np.testing.assert_allclose(b.flat(), f / temperature, rtol=1e-5, atol=1e-5)
        # entries in flat order: stop first, then each entry's first candidate after the last's
        e = b._e
        firsts = e.first[e.bounds[b._b] : e.bounds[b._b + 1]]
        assert firsts[0] == 0 and (np.diff(firsts) > 0).all()


def test_two_level_draws_follow_the_flat_softmax(move_set, scorer, states):
    """Draw frequencies of every candidate against softmax(flat): a chi-square statistic
    over the candidates with expected count >= 5 (the rest pooled), at a fixed seed."""
    state = states[3]
    features, encodings = [move_set.featurise(state)], [move_set.encode_moves(state)]
    temperature = 0.8
    logits = scorer.score(features, encodings, temperature)[0]
    p = np.exp(logits.flat() - logits.flat().max())
    p /= p.sum()
    n = 40_000
    rng = np.random.default_rng(1)
    counts = np.bincount([logits.draw(rng) for _ in range(n)], minlength=p.size)
    expected = n * p
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    wanted = np.append(expected[big], expected[~big].sum())
    keep = wanted > 0
    chi2 = float((((observed - wanted) ** 2)[keep] / wanted[keep]).sum())
    dof = int(keep.sum()) - 1
    assert dof >= 5, "the test needs a spread distribution"
    # mean dof, sd sqrt(2 dof): 6 sd is far beyond chance and far below what a wrong
    # level (e.g. drawing blocks uniformly) gives.
    assert chi2 < dof + 6 * np.sqrt(2 * dof), (chi2, dof)
    assert counts.sum() == n


def test_flat_logits_draw_as_before():
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    values = np.random.default_rng(0).normal(size=300)
    values[::7] = -np.inf
    draws = [FlatLogits(values).draw(rng_a) for _ in range(50)]
    assert draws == [gumbel_argmax(values, rng_b.random(300)) for _ in range(50)]
    assert FlatLogits(np.full(4, -np.inf)).draw(rng_a) == -1


def test_flat_copy_is_independent(move_set, scorer, states):
    features, encodings = [move_set.featurise(states[0])], [move_set.encode_moves(states[0])]
    logits = scorer.score(features, encodings)[0]
    first = logits.flat()
    first[:] = -np.inf
    assert np.isfinite(logits.flat()).all()
