"""The GraphRNN baseline: BFS orderings, sequences, likelihood, sampling, training, checkpoints and the CLI."""
import csv
import itertools

import networkx as nx
import numpy as np
import pytest
import torch

from ric.baselines.graphrnn import (
    GraphRNN,
    GraphRNNConfig,
    GraphRNNGenerator,
    GraphRNNTrainConfig,
    bandwidth,
    bfs_order,
    decode_graph,
    encode_graph,
    load_graphrnn,
    max_bandwidth,
    sequence_batch,
    train_graphrnn,
)
from ric.cli.main import main
from ric.data import bundled_dir
from ric.laman.graph import LamanGraph, canonical_key, from_graph6
from ric.runtime.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def laman_graphs() -> list[LamanGraph]:
    """The first 50 bundled Laman training graphs (11 to 54 nodes)."""
    with open(bundled_dir() / "laman_low_train.g6") as fh:
        return [from_graph6(line) for line in itertools.islice(fh, 50)]


@pytest.fixture(scope="module")
def graph_files(tmp_path_factory, laman_graphs):
    root = tmp_path_factory.mktemp("graphrnn_data")
    train, valid = root / "train.g6", root / "valid.g6"
    with open(bundled_dir() / "laman_low_train.g6") as fh:
        lines = list(itertools.islice(fh, 60))
    train.write_text("".join(lines[:50]))
    valid.write_text("".join(lines[50:]))
    return {"train": train, "valid": valid}


# ---------------------------------------------------------------------- orderings and sequences


def test_bfs_orderings_are_random_bfs_permutations_that_fit_in_m(laman_graphs):
    M = max_bandwidth(laman_graphs, samples=4000, seed=0)
    assert 1 <= M < max(g.n for g in laman_graphs)
    seen_roots, seen_orders = set(), set()
    for i, g in enumerate(laman_graphs[:20]):
        nxg = g.to_networkx()
        for j in range(5):
            order = bfs_order(g, np.random.default_rng([7, i, j]))
            assert sorted(order.tolist()) == list(range(g.n))
            depth = nx.single_source_shortest_path_length(nxg, int(order[0]))
            assert all(depth[int(a)] <= depth[int(b)] for a, b in zip(order, order[1:]))  # breadth first
            rows, dropped = encode_graph(g, order, M)
            assert dropped == 0 and bandwidth(g, order) <= M
            assert rows.shape == (g.n - 1, M) and bool(rows.any(1).all())  # every node has an earlier neighbour
            assert int(rows.sum()) == g.num_edges
            seen_roots.add((i, int(order[0])))
            seen_orders.add((i, tuple(order.tolist())))
        again = bfs_order(g, np.random.default_rng([7, i, 0]))
        assert np.array_equal(again, bfs_order(g, np.random.default_rng([7, i, 0])))
    assert len(seen_roots) > 40 and len(seen_orders) > 90  # random roots and neighbour orders


def test_edges_further_apart_than_m_are_dropped_and_counted(laman_graphs):
    g = laman_graphs[0]
    order = bfs_order(g, np.random.default_rng(0))
    width = bandwidth(g, order)
    assert encode_graph(g, order, width)[1] == 0
    rows, dropped = encode_graph(g, order, width - 1)
    assert dropped > 0 and int(rows.sum()) == g.num_edges - dropped


def test_a_triangle_and_a_path_encode_as_in_the_paper():
    triangle = LamanGraph(3, [(0, 1), (1, 2), (0, 2)])
    rows, _ = encode_graph(triangle, np.array([0, 1, 2]), 2)
    assert rows.tolist() == [[1, 0], [1, 1]]  # node t's slot k names node t-1-k
    path = LamanGraph(4, [(0, 1), (1, 2), (2, 3)])
    rows, _ = encode_graph(path, np.array([1, 0, 2, 3]), 3)
    assert rows.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0]]
    assert decode_graph(rows) == LamanGraph(4, [(0, 1), (0, 2), (2, 3)])


def test_encoding_then_decoding_gives_the_relabelled_graph(laman_graphs):
    for i, g in enumerate(laman_graphs):
        order = bfs_order(g, np.random.default_rng(i))
        rows, dropped = encode_graph(g, order, g.n)
        back = decode_graph(rows)
        assert dropped == 0 and back == g.relabel(np.argsort(order)) and canonical_key(back) == canonical_key(g)


def test_sequence_batch_holds_sos_the_vectors_eos_and_the_slots_that_name_nodes():
    seqs = [np.array([[1, 0], [1, 1]], dtype=np.uint8), np.array([[1, 0]], dtype=np.uint8)]
    x, y, mask = sequence_batch(seqs, 2)
    assert x.shape == y.shape == mask.shape == (2, 3, 2)
    assert x[0].tolist() == [[1, 1], [1, 0], [1, 1]] and y[0].tolist() == [[1, 0], [1, 1], [0, 0]]
    assert x[1, :2].tolist() == [[1, 1], [1, 0]] and y[1].tolist() == [[1, 0], [0, 0], [0, 0]]
    assert mask[0].tolist() == [[True, False], [True, True], [True, True]]
    assert mask[1].tolist() == [[True, False], [True, True], [False, False]]


# ---------------------------------------------------------------------- model


def _model(edge_model: str = "rnn", M: int = 4, max_nodes: int = 8) -> GraphRNN:
    torch.manual_seed(0)
    config = GraphRNNConfig(max_prev=M, max_nodes=max_nodes, edge_model=edge_model, embedding=8, hidden=16, layers=2,
                            edge_embedding=4, edge_hidden=8, edge_layers=2)  # fmt: skip
    return GraphRNN(config).eval()


@torch.no_grad()
def _stepwise_log_likelihood(model: GraphRNN, rows: np.ndarray) -> float:
    """``log p`` of one sequence computed one node and one edge at a time, as the sampler runs."""
    M = model.config.max_prev
    targets = [torch.tensor(r, dtype=torch.float32) for r in rows] + [torch.zeros(M)]
    x, state, total = torch.ones(1, 1, M), None, 0.0
    for t, y in enumerate(targets):
        h, state = model.graph_states(x, state)
        valid = min(t + 1, M)
        if model.config.edge_model == "mlp":
            p = torch.sigmoid(model.head(h[:, 0]))[0]
        else:
            edge_state, prev, p = model._edge_state(h[:, 0]), torch.ones(1, 1, 1), torch.zeros(M)
            for k in range(valid):
                out, edge_state = model.edge_rnn(torch.relu(model.edge_input(prev)), edge_state)
                p[k] = torch.sigmoid(model.edge_output(out[:, 0]))[0, 0]
                prev = y[k].view(1, 1, 1)
        total += float(torch.where(y[:valid] > 0, p[:valid], 1 - p[:valid]).log().sum())
        x = y.view(1, 1, M)
    return total


@pytest.mark.parametrize("edge_model", ["rnn", "mlp"])
def test_teacher_forced_likelihood_is_the_step_by_step_one(edge_model):
    model = _model(edge_model)
    graphs = [LamanGraph(3, [(0, 1), (1, 2), (0, 2)]), LamanGraph(5, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (1, 3)])]
    seqs = [encode_graph(g, np.arange(g.n), 4)[0] for g in graphs]
    x, y, mask = sequence_batch(seqs, 4)
    ll = model.log_likelihood(x, y, mask).detach()
    for i, rows in enumerate(seqs):
        assert float(ll[i]) == pytest.approx(_stepwise_log_likelihood(model, rows), abs=1e-4)
    loss, logs = model.training_losses(x, y, mask)
    assert float(loss.detach()) == pytest.approx(-float(ll.sum()) / int(mask.sum()), rel=1e-5)
    assert logs["nll"] == pytest.approx(-float(ll.mean()), rel=1e-5)


@pytest.mark.parametrize("edge_model", ["rnn", "mlp"])
def test_sampling_stops_at_the_first_empty_vector_or_the_node_cap(edge_model):
    model = _model(edge_model, M=3, max_nodes=6)
    last = model.head[-1] if edge_model == "mlp" else model.edge_output[-1]
    u = torch.rand(4, 6, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-50.0)  # never an edge: EOS at once
        rows, nodes, truncated = model.sample(u)
        assert nodes.tolist() == [1] * 4 and not truncated.any() and not rows.any()
        last.bias.fill_(50.0)  # every slot that names a node: cut at max_nodes
        rows, nodes, truncated = model.sample(u)
    assert nodes.tolist() == [6] * 4 and truncated.all()
    graph = decode_graph(rows[0].numpy())
    assert graph.n == 6 and graph.num_edges == 1 + 2 + 3 + 3 + 3  # each node joined to its M predecessors


def test_the_sampler_follows_its_uniforms_edge_by_edge():
    """Uniforms of 0 (always below p) and just under 1 (never below an untrained p) spell out a graph."""
    model = _model("rnn", M=4, max_nodes=8)
    g = LamanGraph(5, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (1, 3)])
    rows, _ = encode_graph(g, np.arange(5), 4)
    u = torch.full((1, 8, 4), 1 - 1e-7)
    u[0, : len(rows)][torch.from_numpy(rows) > 0] = 0.0
    out, nodes, truncated = model.sample(u)
    assert nodes.tolist() == [5] and not truncated.any() and decode_graph(out[0, :4].numpy()) == g


# ---------------------------------------------------------------------- training, checkpoints, generation


def _config(root, files, **kw) -> GraphRNNTrainConfig:
    base = dict(data=str(files["train"]), valid=str(files["valid"]), out=str(root / "run"), batch_size=10,
                embedding=8, hidden=16, layers=1, edge_embedding=4, edge_hidden=8, edge_layers=1, max_steps=6,
                log_every=1, valid_every=3, checkpoint_every=3, bandwidth_samples=500, device="cpu")  # fmt: skip
    base.update(kw)
    return GraphRNNTrainConfig(**base)


def _rows(run) -> list[dict]:
    return list(csv.DictReader((run / "metrics.csv").read_text().splitlines()))


def test_training_lowers_the_loss_and_writes_a_checkpoint_that_loads(tmp_path, graph_files, laman_graphs):
    result = train_graphrnn(_config(tmp_path, graph_files, max_steps=20, lr=2e-2))
    rows = _rows(tmp_path / "run")
    assert list(rows[0]) == ["step", "epoch", "seconds", "loss", "nll", "valid_nll", "extra"]
    losses = [float(r["loss"]) for r in rows if r["loss"]]
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:3]) - 0.05
    valid = [float(r["valid_nll"]) for r in rows if r["valid_nll"]]
    assert valid[-1] < valid[0] and result.valid_nll == pytest.approx(valid[-1], abs=1e-3)
    payload = torch.load(result.checkpoint, weights_only=True)
    assert payload["model_family"] == "graphrnn" and result.step == payload["step"] == 20
    config = payload["graphrnn_config"]
    assert config["max_prev"] == max_bandwidth(laman_graphs, 500, 0)
    assert config["max_nodes"] == max(g.n for g in laman_graphs)
    model, _ = load_graphrnn(result.checkpoint)
    assert not model.training and all(torch.equal(v, payload["model_state"][k]) for k, v in model.state_dict().items())
    with pytest.raises(FileExistsError):
        train_graphrnn(_config(tmp_path, graph_files))


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path, graph_files):
    full = train_graphrnn(_config(tmp_path / "a", graph_files))
    train_graphrnn(_config(tmp_path / "b", graph_files, max_steps=3))
    resumed = train_graphrnn(resume=tmp_path / "b" / "run", max_steps=6)
    assert full.step == resumed.step == 6 and full.valid_nll == resumed.valid_nll
    a = load_checkpoint(full.checkpoint)["model_state"]
    b = load_checkpoint(resumed.checkpoint)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    logged = [[(r["step"], r["loss"], r["nll"]) for r in _rows(root / "run") if r["loss"]]
              for root in (tmp_path / "a", tmp_path / "b")]
    assert logged[0] == logged[1] and len(logged[0]) == 6


def test_generation_is_fixed_by_the_seed_and_gives_graph6(tmp_path, graph_files):
    ckpt = train_graphrnn(_config(tmp_path, graph_files, max_steps=3)).checkpoint
    one = GraphRNNGenerator.from_checkpoint(ckpt, device="cpu", seed=3, batch_size=4)
    two = GraphRNNGenerator.from_checkpoint(ckpt, device="cpu", seed=3, batch_size=7)
    assert one.domain == "laman" and not hasattr(one, "move_set")
    samples = list(one.sample(10))
    texts = [s.text for s in samples]
    # per-sample randomness: the batch size does not matter
    assert two.generate(10) == texts and one.generate(5) == texts[:5]
    assert GraphRNNGenerator.from_checkpoint(ckpt, device="cpu", seed=4).generate(10) != texts
    for s in samples:
        g = from_graph6(s.text)
        assert (g.n, g.num_edges) == (s.nodes, s.edges) and len(s.stats_row()) == len(s.STATS)
        assert 1 <= g.n <= one.max_nodes and (g.n == 1 or nx.is_connected(g.to_networkx()))
    with pytest.raises(ValueError, match="not a GraphRNN checkpoint"):
        load_graphrnn(ckpt, payload={"model_family": "charrnn"})


# ---------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, graph_files):
    root = tmp_path_factory.mktemp("graphrnn_cli")
    argv = ["-q", "train", "--model", "graphrnn", "--data", str(graph_files["train"]), "--valid",
            str(graph_files["valid"]), "--out", str(root / "run"), "--time-budget", "30", "--max-steps", "4",
            "--hidden", "16", "--layers", "1", "--edge-hidden", "8", "--batch-size", "8", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    return {"root": root, "run": root / "run", "checkpoint": root / "run" / "checkpoint.pt"}


def test_cli_train_resume_and_generate(cli_run, tmp_path, capsys):
    payload = load_checkpoint(cli_run["checkpoint"])
    assert payload["train_config"]["epochs"] == 3000 and payload["train_config"]["time_budget"] == 30
    assert (payload["graphrnn_config"]["edge_model"], payload["graphrnn_config"]["edge_hidden"]) == ("rnn", 8)
    capsys.readouterr()
    assert main(["-q", "train", "--resume", str(cli_run["run"]), "--max-steps", "5"]) == 0
    assert "step 5" in capsys.readouterr().out
    out = tmp_path / "out.g6"
    argv = ["-q", "generate", "--checkpoint", str(cli_run["checkpoint"]), "-n", "5", "-o", str(out), "--device", "cpu"]
    assert main(argv) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 5 and all(from_graph6(line).n >= 1 for line in lines)
    printed = capsys.readouterr().out
    assert "wrote 5 samples" in printed and "valid Laman graphs" in printed
    assert main(argv + ["--with-stats"]) == 0
    header, *stats = out.read_text().splitlines()
    assert header == "# graph6\tindex\tnodes\tedges\ttruncated" and [s.split("\t")[0] for s in stats] == lines


@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "graphrnn", "--dropout", "0.1"], ["--dropout", "CharRNN", "--model graphrnn"]),
    (["train", "--model", "graphrnn", "--tokens", "selfies"], ["--tokens", "sequence-model", "--model graphrnn"]),
    (["train", "--model", "charrnn", "--edge-model", "mlp"], ["--edge-model", "GraphRNN", "--model charrnn"]),
    (["train", "--edge-hidden", "8"], ["--edge-hidden", "GraphRNN", "--model chain"]),
    (["train", "--resume", "RUN", "--edge-model", "mlp"], ["--edge-model", "resumed run"]),
    (["train", "--resume", "RUN", "--model", "charrnn"], ["holds a graphrnn run"]),
    (["generate", "--checkpoint", "CKPT", "-n", "2", "-o", "OUT", "--scaffold", "c1ccccc1"], ["--scaffold", "GraphRNN"]),
    (["generate", "--checkpoint", "CKPT", "-n", "2", "-o", "OUT", "--sampler", "gibbs"], ["--sampler gibbs", "GraphRNN"]),
])  # fmt: skip
def test_options_that_do_not_apply_give_one_line_errors(cli_run, graph_files, tmp_path, capsys, argv, expected):
    names = {"RUN": cli_run["run"], "CKPT": cli_run["checkpoint"], "OUT": tmp_path / "o.g6"}
    argv = [str(names.get(a, a)) for a in argv]
    if argv[0] == "train" and "--resume" not in argv:
        argv += ["--data", str(graph_files["train"]), "--out", str(tmp_path / "new")]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err and all(e in err for e in expected), err
    assert not (tmp_path / "new").exists() and not (tmp_path / "o.g6").exists()
