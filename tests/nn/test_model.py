"""Masking, joint softmax and batching of the reconstruction network."""
import numpy as np
import pytest
import torch

from ric.molecules.featurise import ATOM_DIM, BOND_DIM, ELEMENTS, featurise
from ric.corruption import corrupt, example_rng
from ric.moves import make_move_set
from ric.moves.encoding import KIND_ATOM, KIND_PAIR, KIND_SET, KIND_STOP
from ric.moves.protocol import STOP
from ric.nn.data import collate, make_example
from ric.nn.heads import segment_argmax, segment_log_softmax, segment_logsumexp
from ric.nn.model import ModelConfig, ReconstructionModel

KINDS = (KIND_STOP, KIND_ATOM, KIND_PAIR, KIND_SET)


@pytest.fixture(scope="module", params=["fragment", "atom"])
def setup(request, vocab, zinc_graphs):
    move_set = make_move_set(request.param, vocab=vocab if request.param == "fragment" else None)
    examples = []
    for i, g in enumerate(zinc_graphs[:40]):
        if move_set.check_state(g) is None:
            examples.append(corrupt(move_set, g, example_rng(5, 0, i)))
    torch.manual_seed(0)
    model = ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=32, depth=2)).eval()
    return move_set, examples, model


def _counts(example):
    enc = example.encoding
    return [1, enc.num_atom_moves, enc.num_pair_moves, enc.num_sets]


def _flat_rows(blocks):
    """Flat ``(entity, class)`` rows of a batch's CandidateBlocks, in flat candidate order."""
    total = int(blocks.count.sum())
    rows = torch.full((total, 2), -1, dtype=torch.long)
    for r in range(blocks.entity.numel()):
        start, n = int(blocks.offset[r]), int(blocks.count[r])
        first = int(blocks.class_start[r])
        rows[start : start + n, 0] = blocks.entity[r]
        rows[start : start + n, 1] = blocks.classes[first : first + n]
    return rows


def test_candidates_are_exactly_the_legal_moves(setup):
    move_set, examples, _ = setup
    for ex in examples[:10]:
        state = ex.corrupted
        enc = move_set.encode_moves(state)
        decoded = [move_set.move_at(state, enc, kind, row)
                   for kind, n in ((KIND_ATOM, len(enc.atom_moves)), (KIND_PAIR, len(enc.pair_moves)), (KIND_SET, enc.num_sets))
                   for row in range(n)]
        assert len(decoded) == len(set(decoded)) == enc.num_moves
        assert set(decoded) == set(move_set.legal_moves(state))
        for kind, row in [(KIND_ATOM, 0), (KIND_PAIR, 0), (KIND_SET, 0)]:
            if row < [0, len(enc.atom_moves), len(enc.pair_moves), enc.num_sets][kind]:
                assert move_set.locate(state, enc, move_set.move_at(state, enc, kind, row)) == (kind, row)


def test_label_is_always_a_candidate(setup, zinc_graphs):
    move_set, _, _ = setup
    seen = 0
    for i, g in enumerate(zinc_graphs[:150]):
        if move_set.check_state(g) is not None:
            continue
        ex = corrupt(move_set, g, example_rng(8, 1, i))
        kind, row = make_example(move_set, ex.corrupted, ex.reverse_move).label
        enc = move_set.encode_moves(ex.corrupted)
        assert move_set.move_at(ex.corrupted, enc, kind, row) == ex.reverse_move
        seen += ex.reverse_move is not STOP
    assert seen > 50


def test_joint_log_softmax_matches_per_molecule_reference(setup):
    move_set, examples, model = setup
    datas = [make_example(move_set, ex.corrupted, ex.reverse_move) for ex in examples[:12]]
    batch = collate(datas)
    with torch.no_grad():
        scores = model(batch)
        logp = scores.log_probs()
        # probabilities over the legal moves (and stop) of each molecule sum to one
        total = torch.zeros(scores.num_graphs).index_add_(0, scores.segment, logp.exp())
        assert torch.allclose(total, torch.ones_like(total), atol=1e-5)
        for b, data in enumerate(datas):
            one = collate([data])
            single = model(one)
            reference = torch.log_softmax(single.logits, dim=0)  # plain softmax over one molecule
            batched = torch.cat([
                logp[scores.starts[k, b] : scores.starts[k, b] + n] for k, n in zip(KINDS, _counts(data))
            ])
            assert batched.shape == reference.shape
            assert torch.allclose(batched, reference, atol=1e-5)
            nll = scores.nll(batch.target)[b]
            assert torch.allclose(nll, -reference[single.index_of(one.y)[0]], atol=1e-5)
            assert torch.allclose(single.nll(one.target)[0], nll, atol=1e-5)


def test_batching_offsets_point_at_the_right_atoms(setup):
    move_set, examples, _ = setup
    datas = [make_example(move_set, ex.corrupted, ex.reverse_move) for ex in examples[:6]]
    batch = collate(datas)
    atom_rows, pair_rows = _flat_rows(batch.atom_blocks), _flat_rows(batch.pair_blocks)
    node_start = atom_start = pair_start = pair_row_start = set_start = member_start = 0
    for b, data in enumerate(datas):
        enc = data.encoding
        n_a, n_p = enc.num_atom_moves, enc.num_pair_moves
        assert int(batch.num_atom_moves[b]) == n_a and int(batch.num_pair_moves[b]) == n_p
        rows = atom_rows[atom_start : atom_start + n_a]
        assert torch.equal(rows[:, 0] - node_start, torch.from_numpy(enc.atom_moves[:, 0]))
        assert torch.equal(rows[:, 1], torch.from_numpy(enc.atom_moves[:, 1]))
        prow = pair_rows[pair_start : pair_start + n_p]
        assert torch.equal(prow[:, 0] - pair_row_start, torch.from_numpy(enc.pair_moves[:, 0]))
        assert torch.equal(prow[:, 1], torch.from_numpy(enc.pair_moves[:, 1]))
        assert torch.equal(batch.pairs[pair_row_start : pair_row_start + len(enc.pairs)] - node_start,
                           torch.from_numpy(enc.pairs))
        k = len(enc.set_members)
        members = batch.set_members[member_start : member_start + k]
        assert torch.equal(members[:, 0] - set_start, torch.from_numpy(enc.set_members[:, 0]))
        assert torch.equal(members[:, 1] - node_start, torch.from_numpy(enc.set_members[:, 1]))
        node_start += data.features[0].shape[0]
        atom_start += n_a
        pair_start += n_p
        pair_row_start += len(enc.pairs)
        set_start += enc.num_sets
        member_start += k
    assert batch.y.tolist() == [list(d.label) for d in datas]


def test_block_scores_equal_the_flat_softmax(setup):
    """nll and top1 from the per-block path equal those of the materialised flat candidates,
    and a target that is its molecule's best candidate counts as a hit whatever its kind."""
    move_set, examples, model = setup
    datas = [make_example(move_set, ex.corrupted, ex.reverse_move) for ex in examples[:16]]
    batch = collate(datas)
    with torch.no_grad():
        scores = model(batch)
        flat = scores.log_probs()
        index = scores.index_of(batch.y)
        best = segment_argmax(scores.logits, scores.segment, scores.num_graphs)
        assert torch.allclose(scores.nll(batch.target), -flat[index], atol=1e-5)
        assert torch.equal(scores.top1(batch.target), best == index)
    for b, data in enumerate(datas):
        starts = scores.starts[:, b].tolist()
        kind = max(k for k in range(4) if starts[k] <= int(best[b]) and _counts(data)[k])
        data.label = (kind, int(best[b]) - starts[kind])
    rebatch = collate(datas)
    with torch.no_grad():
        assert bool(model(rebatch).top1(rebatch.target).all())


def test_a_batch_without_pair_or_set_candidates(setup):
    """Acyclic molecules alone: no ring-bond fusions (fragment) and possibly no deletions."""
    move_set, _, model = setup
    from ric.molecules.standardise import standardise

    for smiles in ["CCO", "C", "CC(=O)N"]:
        state = standardise(smiles)[1]
        if move_set.check_state(state) is not None:
            continue
        batch = collate([make_example(move_set, state, STOP)])
        with torch.no_grad():
            scores = model(batch)
            assert torch.allclose(scores.log_probs().exp().sum(), torch.tensor(1.0), atol=1e-5)
            assert scores.nll(batch.target).shape == (1,)
            assert scores.top1(batch.target).shape == (1,)


def test_unlabelled_and_labelled_examples_do_not_mix(setup):
    move_set, examples, _ = setup
    a = make_example(move_set, examples[0].corrupted, examples[0].reverse_move)
    b = make_example(move_set, examples[1].corrupted)
    with pytest.raises(ValueError, match="every example"):
        collate([a, b])
    with pytest.raises(ValueError, match="empty"):
        collate([])


def test_training_step_changes_only_through_legal_candidates(setup):
    """Gradients reach the atom head only through the classes of legal candidates."""
    move_set, examples, model = setup
    datas = [make_example(move_set, ex.corrupted, ex.reverse_move) for ex in examples[:8]]
    batch = collate(datas)
    model.zero_grad()
    model(batch).nll(batch.target).mean().backward()
    last = model.atom_head[-1]
    used = torch.zeros(model.config.num_atom_classes, dtype=torch.bool)
    used[_flat_rows(batch.atom_blocks)[:, 1]] = True
    grad_rows = last.weight.grad.abs().sum(1) > 0
    assert torch.equal(grad_rows & ~used, torch.zeros_like(used))
    assert grad_rows.any()


def test_segment_ops_against_loops():
    g = torch.Generator().manual_seed(0)
    values = torch.randn(50, generator=g, dtype=torch.float64) * 30
    segment = torch.randint(0, 6, (50,), generator=g)
    segment[0] = 5  # keep the last segment non-empty; segment 6 stays empty
    lse = segment_logsumexp(values, segment, 7)
    lsm = segment_log_softmax(values, segment, 7)
    arg = segment_argmax(values, segment, 7)
    for s in range(7):
        mask = segment == s
        if mask.any():
            assert torch.allclose(lse[s], torch.logsumexp(values[mask], 0))
            assert torch.allclose(lsm[mask], torch.log_softmax(values[mask], 0))
            assert values[arg[s]] == values[mask].max() and segment[arg[s]] == s
        else:
            assert arg[s] == -1
    assert torch.autograd.gradcheck(
        lambda v: segment_log_softmax(v, segment, 7), (values.clone().requires_grad_(),)
    )


def test_featurise_keeps_every_atom(zinc_graphs):
    for g in zinc_graphs[:30]:
        x, edge_index, edge_attr = featurise(g)
        assert x.shape == (g.num_atoms, ATOM_DIM)
        assert np.all(x[:, : len(ELEMENTS) + 1].sum(1) == 1)
        assert edge_index.shape == (2, 2 * g.num_bonds) and edge_attr.shape == (2 * g.num_bonds, BOND_DIM)
        assert np.all(edge_attr[:, :3].sum(1) == 1)
        assert set(map(tuple, edge_index.T.tolist())) == {(i, j) for i, j, _ in g.bonds} | {(j, i) for i, j, _ in g.bonds}


def test_model_config_round_trip(vocab):
    cfg = ModelConfig.for_move_set(make_move_set("fragment", vocab=vocab), hidden=16, depth=1)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.num_atom_classes == vocab.num_atom_slots and cfg.num_pair_classes == vocab.num_bond_slots
    with pytest.raises(ValueError, match="unknown model config"):
        ModelConfig.from_dict({**cfg.to_dict(), "dropout": 0.1})


def test_candidate_logits_equal_the_heads_applied_to_each_candidate(setup):
    """The fast paths (one product per class list, one product for both orders of unordered
    pairs) score every candidate as the head definitions say: atom ``MLP([h_i, g])[class]``; pair
    ``MLP([h_i, h_j, attr, g])[class]``, averaged over both orders when pairs are unordered."""
    move_set, examples, model = setup
    datas = [make_example(move_set, ex.corrupted, ex.reverse_move) for ex in examples[:6]]
    batch = collate(datas)
    with torch.no_grad():
        scores = model(batch)
        h, g = model.embed(batch)
        node_graph = batch.batch
        atoms = _flat_rows(batch.atom_blocks)
        pair_moves = _flat_rows(batch.pair_blocks)
        picked = torch.randperm(len(atoms), generator=torch.Generator().manual_seed(0))[:200]  # a sample keeps it fast
        expected_atom = torch.stack([model.atom_head(torch.cat([h[a], g[node_graph[a]]]))[c]
                                     for a, c in atoms[picked].tolist()])
        got_atom = scores.logits[scores.num_graphs + picked]
        assert torch.allclose(got_atom, expected_atom, atol=1e-5)
        if pair_moves.numel():
            picked = torch.randperm(len(pair_moves), generator=torch.Generator().manual_seed(1))[:200]
            expected_pair = []
            for row, c in pair_moves[picked].tolist():
                i, j = batch.pairs[row].tolist()
                context = torch.cat([batch.pair_attr[row], g[node_graph[i]]])
                forward = model.pair_head(torch.cat([h[i], h[j], context]))[c]
                if not model.config.pairs_directed:
                    forward = 0.5 * (forward + model.pair_head(torch.cat([h[j], h[i], context]))[c])
                expected_pair.append(forward)
            got_pair = scores.logits[scores.num_graphs + len(atoms) + picked]
            assert torch.allclose(got_pair, torch.stack(expected_pair), atol=1e-5)


def test_full_table_and_per_list_flat_views_agree(setup, monkeypatch):
    """Small batches without gradients build the flat view from the full table; it equals
    the per-list path (and the per-list path is what training differentiates)."""
    from ric.nn.model import BlockScores

    move_set, examples, model = setup
    for size in (1, 3):
        batch = collate([make_example(move_set, ex.corrupted) for ex in examples[:size]])
        with torch.no_grad():
            monkeypatch.setattr(BlockScores, "FULL_TABLE_MAX", 10**12)
            full = model(batch).logits
            monkeypatch.setattr(BlockScores, "FULL_TABLE_MAX", 0)
            per_list = model(batch).logits
        assert full.shape == per_list.shape
        assert torch.allclose(full, per_list, atol=1e-5)


def test_role_aware_set_head_equals_the_concatenated_input():
    """With several member roles the set head sums per-role node projections; that is the
    same function as its first layer applied to ``[Σ_role0 h, ..., Σ_roleR-1 h, g]``."""
    torch.manual_seed(0)
    cfg = ModelConfig(num_atom_classes=0, num_pair_classes=0, pair_feature_dim=0, pairs_directed=False,
                      atom_dim=4, bond_dim=1, hidden=8, depth=1, num_set_roles=3)
    model = ReconstructionModel(cfg)
    h, g = torch.randn(7, 8), torch.randn(2, 8)
    members = torch.tensor([[0, 0], [0, 1], [0, 2], [1, 1], [1, 0], [2, 5], [2, 6], [3, 4]])
    roles = torch.tensor([0, 0, 1, 2, 2, 0, 1, 1])
    set_graph = torch.tensor([0, 0, 1, 1])
    got = model._role_set_logits(h, g, members, roles, set_graph, 4)
    pooled = torch.zeros(4, 3, 8).index_put_((members[:, 0], roles), h[members[:, 1]], accumulate=True)
    want = model.set_head(torch.cat([pooled.reshape(4, 24), g[set_graph]], dim=1)).squeeze(-1)
    assert torch.allclose(got, want, atol=1e-5)
    # roles matter: the same members with two roles swapped score differently
    swapped = model._role_set_logits(h, g, members, torch.tensor([1, 1, 0, 2, 2, 0, 1, 1]), set_graph, 4)
    assert not torch.isclose(swapped[0], got[0])
    # members need not come sorted by set
    order = torch.tensor([7, 2, 5, 0, 3, 6, 1, 4])
    assert torch.allclose(model._role_set_logits(h, g, members[order], roles[order], set_graph, 4), got, atol=1e-5)
