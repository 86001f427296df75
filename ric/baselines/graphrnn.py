"""``graphrnn``: GraphRNN (You et al. 2018), the autoregressive graph baseline of the Laman benchmark.

A graph is turned into a sequence by a node ordering, and the sequence is modelled one node
at a time: node ``t`` contributes its *adjacency vector*, its edges to the nodes placed
before it. As in the paper:

* **Ordering.** A breadth-first search from a uniformly random root, neighbours visited in
  a random order (:func:`bfs_order`; the paper relabels the nodes at random and follows
  networkx's adjacency order, which is the same thing). A new ordering is drawn every time
  a graph is seen in training, from a generator seeded by ``(seed, epoch, index)``.
* **Truncation.** In a BFS ordering every edge joins nodes at most the BFS *bandwidth* apart,
  so node ``t``'s vector only holds its edges to the ``M`` nodes before it:
  ``S[t, k] = 1`` iff node ``t`` is joined to node ``t - 1 - k`` (``k = 0 .. M-1``, the
  nearest first). ``M`` is the largest bandwidth over a sample of random BFS orderings of
  the training graphs (:func:`max_bandwidth`, 20,000 orderings by default, as the paper's
  ``calc_max_prev_node``), and is stored in the model's config. An edge further apart
  than ``M`` in some later ordering is dropped from that sequence, as the paper's
  ``encode_adj`` does (training logs how many).
* **Sequence.** Inputs ``[SOS, S_1, ..., S_{n-1}]`` (SOS all ones), targets
  ``[S_1, ..., S_{n-1}, EOS]`` (EOS all zeros). In a BFS ordering of a connected graph
  every node after the root has an edge to an earlier node (its BFS parent), so the first
  all-zero vector is an unambiguous end of the graph. Slots ``k >= t`` of node ``t``'s
  vector name no node: they are left out of the loss and never drawn (the paper keeps
  them as zeros the model must learn; leaving them out only removes certain outcomes).
* **Model.** A graph-level GRU (input: the previous vector through a linear layer and a
  ReLU) whose output at step ``t`` parameterises node ``t``'s vector, either

  - ``edge_model="rnn"``, the full GraphRNN: an edge-level GRU over the slots, nearest
    first, each edge drawn given the previous ones (its first layer's initial state is an
    MLP of the graph-level output, the other layers start at zero; its inputs are the
    previous edge through ``Linear(1, edge_embedding)`` and a ReLU); or
  - ``edge_model="mlp"``, GraphRNN-S: an MLP giving independent Bernoulli logits per slot.

  The default is the full model, although it is the slower: on the bundled Laman graphs
  (about 30 nodes, ``M = 26``) a training step of 64 graphs takes about 0.14 CPU seconds
  against 0.07 for GraphRNN-S, and sampling about 1.5 ms per graph against 0.3. At an
  equal budget of 150 CPU seconds (seed 0, the defaults below) it still reached the lower
  validation NLL (117.6 against 120.5 nats per graph, at half the steps) and far better
  samples (300 drawn: 5.3 % Laman against 1.0 %, 34.5 nodes on average against 9.7; the
  data have 30). Independent Bernoulli edges cannot make "at least one edge" likely
  without making several likely, so GraphRNN-S draws the all-zero end vector after a few
  nodes; an edge-level GRU can also learn how many edges a node takes (a Henneberg step
  adds 2 or 3), which is what makes a graph Laman.
* **Initialisation** as the paper's code: GRU weights Xavier-uniform, GRU biases 0.25,
  linear weights Xavier-uniform with the ReLU gain (with torch's default initialisation
  the full model stalled near 134 nats per graph in the same 150 CPU seconds).

Training maximises the teacher-forced log-likelihood; ``nll`` is ``-log p(S_pi(G))`` of the
sequence under the drawn ordering (nats per graph; an upper bound on ``-log p(G)``, the
ordering being a latent variable). Validation orderings are fixed per graph, so
``valid_nll`` is comparable across steps.

Sampling is autoregressive from SOS until an all-zero vector (EOS) or ``max_nodes`` nodes
(then the sample is *truncated*); each sample draws its edges with uniforms from
``numpy.random.default_rng([seed, index])``, so a seed fixes every sample whatever the batch
size. Samples are reported as generated (no largest connected component is taken). Every
sample is connected (a node without an earlier neighbour would be the end vector), but a
sample can still fail to be Laman.

Differences from the paper, for a CPU budget and the conventions of ``ric train``: 3
graph-level GRU layers (paper 4), 2 edge-level layers (paper 4), batches of 64 (paper 32),
Adam at a constant 1e-3 (paper 3e-3, times 0.3 at epochs 400 and 1000), gradient clipping
at norm 10, and training stops at ``time_budget`` CPU seconds.

The training run (:func:`train_graphrnn`, ``ric train --model graphrnn``) goes through the
loop of the CharRNN and the VAEs (:func:`ric.baselines.sequence_training.train_sequence_model`,
with :data:`GRAPHRNN_MODEL_FAMILY`) and so has their conventions: a frozen config stored as
plain data, atomic checkpoints (:func:`ric.runtime.checkpoint.save_checkpoint`) with
``model_family = "graphrnn"``, ``metrics.csv`` written as it goes (columns ``loss``, the BCE
per adjacency slot, ``nll`` and ``valid_nll`` per graph; ``extra`` holds ``dropped_edges``),
batches ordered by ``(seed, epoch)``, ``--resume`` continuing bit-for-bit, a CPU-seconds
budget (:class:`ric.runtime.cpu_clock.CpuClock`).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ric.baselines.generator import GeneratedSample, SequenceGenerator
from ric.baselines.sequence_training import (
    ModelFamily,
    TrainingData,
    hold_out,
    load_model_checkpoint,
    train_sequence_model,
)
from ric.config import PlainDataConfig
from ric.laman.graph import LamanGraph, to_graph6

__all__ = [
    "GRAPHRNN_FAMILY",
    "GRAPHRNN_MODEL_FAMILY",
    "EDGE_MODELS",
    "bfs_order",
    "bandwidth",
    "max_bandwidth",
    "encode_graph",
    "decode_graph",
    "sequence_batch",
    "GraphRNNConfig",
    "GraphRNN",
    "GraphRNNTrainConfig",
    "GraphRNNTrainResult",
    "train_graphrnn",
    "load_graphrnn",
    "read_graphs",
    "GraphRNNSample",
    "GraphRNNGenerator",
]

logger = logging.getLogger(__name__)

#: ``payload["model_family"]`` of GraphRNN checkpoints.
GRAPHRNN_FAMILY = "graphrnn"
#: ``"rnn"``: the full GraphRNN (edge-level GRU); ``"mlp"``: GraphRNN-S.
EDGE_MODELS = ("rnn", "mlp")


def _check_edge_model(edge_model: str) -> None:
    if edge_model not in EDGE_MODELS:
        raise ValueError(f"edge_model {edge_model!r}: choose one of {', '.join(EDGE_MODELS)}")

# Streams of the run's random numbers, ``np.random.default_rng([seed, stream, ...])``.
_TRAIN_ORDER = 1  # [seed, 1, epoch, index]: the BFS ordering of a training graph in an epoch
_VALID_ORDER = 2  # [seed, 2, index]: the fixed BFS ordering of a validation graph
_BANDWIDTH = 3  # [seed, 3]: the orderings that set M


# ---------------------------------------------------------------------- orderings and sequences


def bfs_order(graph: LamanGraph, rng: np.random.Generator) -> np.ndarray:
    """A random BFS ordering of ``graph``'s nodes: int64 ``[n]``, ``order[t]`` is the node placed ``t``-th.

    The root is uniform; the neighbours of each node are queued in the order of a uniformly
    random ranking of all nodes (GraphRNN's random relabelling). A disconnected graph is
    continued from its unvisited node of lowest rank (GraphRNN's sequences then hold an
    all-zero vector before the end, which is why training uses connected graphs only).

    Args:
        graph: the graph (any simple graph).
        rng: the random generator (two draws: the ranking and the root).
    """
    n = graph.n
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank = rng.permutation(n).tolist()
    root = int(rng.integers(n))
    neighbors = graph.neighbors
    seen = [False] * n
    seen[root] = True
    order = [root]
    head = 0
    while len(order) < n:
        if head == len(order):  # another component
            nxt = min((v for v in range(n) if not seen[v]), key=rank.__getitem__)
            seen[nxt] = True
            order.append(nxt)
        v = order[head]
        head += 1
        new = sorted((u for u in neighbors[v] if not seen[u]), key=rank.__getitem__)
        for u in new:
            seen[u] = True
        order.extend(new)
    return np.asarray(order, dtype=np.int64)


def _positions(order: np.ndarray) -> np.ndarray:
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    return pos


def bandwidth(graph: LamanGraph, order: np.ndarray) -> int:
    """The largest distance ``|pos(u) - pos(v)|`` of an edge in ``order`` (0 without edges)."""
    if not graph.num_edges:
        return 0
    e = _positions(order)[graph.edges]
    return int(np.abs(e[:, 0] - e[:, 1]).max())


def max_bandwidth(graphs: Sequence[LamanGraph], samples: int = 20000, seed: int = 0) -> int:
    """``M``: the largest BFS bandwidth over ``samples`` random (graph, BFS ordering) draws.

    As GraphRNN's ``calc_max_prev_node``: graphs drawn uniformly with replacement, each with
    a fresh random ordering (:func:`bfs_order`). At least 1.

    Args:
        graphs: the training graphs.
        samples: draws (default 20,000, as the paper).
        seed: seeds ``np.random.default_rng([seed, 3])`` (default 0).
    """
    rng = np.random.default_rng([seed, _BANDWIDTH])
    best = 1
    for i in rng.integers(len(graphs), size=samples).tolist():
        best = max(best, bandwidth(graphs[i], bfs_order(graphs[i], rng)))
    return best


def encode_graph(graph: LamanGraph, order: np.ndarray, max_prev: int) -> tuple[np.ndarray, int]:
    """Adjacency vectors of ``graph`` in ``order``, truncated to ``max_prev`` previous nodes.

    Args:
        graph: a graph with ``n >= 1`` nodes.
        order: a permutation of its nodes (``order[t]``: the node placed ``t``-th).
        max_prev: ``M``, the slots of a vector.

    Returns:
        ``(S, dropped)``: uint8 ``S [n-1, M]``, row ``t-1`` the vector of the node placed
        ``t``-th, ``S[t-1, k] = 1`` iff it is joined to the node placed ``t-1-k``-th; and the
        number of edges more than ``M`` apart, left out.
    """
    n = graph.n
    rows = np.zeros((max(n - 1, 0), max_prev), dtype=np.uint8)
    if not graph.num_edges:
        return rows, 0
    e = _positions(order)[graph.edges]
    lo, hi = e.min(1), e.max(1)
    gap = hi - lo
    keep = gap <= max_prev
    rows[hi[keep] - 1, gap[keep] - 1] = 1
    return rows, int((~keep).sum())


def decode_graph(rows: np.ndarray) -> LamanGraph:
    """The graph of adjacency vectors ``rows [n-1, M]`` (:func:`encode_graph`'s layout): ``n``
    nodes numbered in sequence order; slots naming no node (``k >= t``) are ignored."""
    rows = np.asarray(rows)
    t, k = np.nonzero(rows)
    lo = t - k
    keep = lo >= 0
    return LamanGraph(len(rows) + 1, np.stack([lo[keep], t[keep] + 1], axis=1))


def sequence_batch(sequences: Sequence[np.ndarray], max_prev: int) -> tuple[Tensor, Tensor, Tensor]:
    """Teacher-forcing tensors of a batch of encoded graphs, padded to the longest.

    Args:
        sequences: ``S [n_b - 1, M]`` of each graph (:func:`encode_graph`).
        max_prev: ``M``.

    Returns:
        ``(x, y, mask)``, each ``[B, T, M]`` with ``T = max n_b``: inputs ``x`` (float, SOS of
        ones at ``t = 0``, then ``S_1 .. S_{n-1}``), targets ``y`` (float, ``S_1 .. S_{n-1}``
        then the all-zero EOS at ``t = n_b - 1``) and ``mask`` (bool: ``t < n_b`` and slot
        ``k < min(t + 1, M)``, the slots that name a node).
    """
    lengths = np.array([len(s) + 1 for s in sequences], dtype=np.int64)
    B, T, M = len(sequences), int(lengths.max(initial=1)), max_prev
    x = np.zeros((B, T, M), dtype=np.float32)
    y = np.zeros((B, T, M), dtype=np.float32)
    x[:, 0] = 1.0
    for b, s in enumerate(sequences):
        x[b, 1 : len(s) + 1] = s
        y[b, : len(s)] = s
    steps = np.arange(T)
    mask = (steps[None, :, None] < lengths[:, None, None]) & (
        np.arange(M)[None, None, :] < np.minimum(steps + 1, M)[None, :, None]
    )
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)


# ---------------------------------------------------------------------- the model


@dataclass(frozen=True)
class GraphRNNConfig(PlainDataConfig):
    """Settings of a GraphRNN (stored in its checkpoint as plain data).

    Attributes:
        max_prev: ``M``, slots of an adjacency vector (from the training data, :func:`max_bandwidth`).
        max_nodes: most nodes of a sample (default of sampling: the largest training graph).
        edge_model: ``"rnn"`` (default, the full GraphRNN) or ``"mlp"`` (GraphRNN-S).
        embedding: width of the embedded adjacency vector and of the output MLPs (default 64).
        hidden: graph-level GRU hidden size (default 128, as the paper).
        layers: graph-level GRU layers (default 3; paper 4).
        edge_embedding: width of the embedded previous edge and of the edge output MLP (default 8).
        edge_hidden: edge-level GRU hidden size (default 16, as the paper).
        edge_layers: edge-level GRU layers (default 2; paper 4).
    """

    max_prev: int = 0
    max_nodes: int = 0
    edge_model: str = "rnn"
    embedding: int = 64
    hidden: int = 128
    layers: int = 3
    edge_embedding: int = 8
    edge_hidden: int = 16
    edge_layers: int = 2

    def __post_init__(self) -> None:
        if self.max_prev < 1 or self.max_nodes < 1:
            raise ValueError("max_prev and max_nodes must come from the training graphs")
        _check_edge_model(self.edge_model)
        sizes = (self.embedding, self.hidden, self.layers, self.edge_embedding, self.edge_hidden, self.edge_layers)
        if min(sizes) < 1:
            raise ValueError(f"invalid GraphRNN settings: {self}")


#: The :class:`GraphRNNConfig` fields that a training run sets (``max_prev`` and
#: ``max_nodes`` come from the training graphs).
_ARCHITECTURE = ("edge_model", "embedding", "hidden", "layers", "edge_embedding", "edge_hidden", "edge_layers")

GRUState = Tensor


class GraphRNN(nn.Module):
    """Graph-level GRU over adjacency vectors, with an edge-level GRU or an MLP per vector.

    Args:
        config: the model's :class:`GraphRNNConfig`.

    Shapes: adjacency vectors ``[B, T, M]`` (``M = config.max_prev``); the graph-level state
    is ``[layers, B, hidden]``; edge logits ``[N, M]`` for ``N`` vectors.
    """

    def __init__(self, config: GraphRNNConfig) -> None:
        super().__init__()
        self.config = c = config
        self.input = nn.Linear(c.max_prev, c.embedding)
        self.rnn = nn.GRU(c.embedding, c.hidden, num_layers=c.layers, batch_first=True)
        if c.edge_model == "mlp":
            self.head = nn.Sequential(nn.Linear(c.hidden, c.embedding), nn.ReLU(), nn.Linear(c.embedding, c.max_prev))
        else:
            self.edge_init = nn.Sequential(
                nn.Linear(c.hidden, c.embedding), nn.ReLU(), nn.Linear(c.embedding, c.edge_hidden)
            )
            self.edge_input = nn.Linear(1, c.edge_embedding)
            self.edge_rnn = nn.GRU(c.edge_embedding, c.edge_hidden, num_layers=c.edge_layers, batch_first=True)
            self.edge_output = nn.Sequential(
                nn.Linear(c.edge_hidden, c.edge_embedding), nn.ReLU(), nn.Linear(c.edge_embedding, 1)
            )
        self._init_weights()

    def _init_weights(self) -> None:
        """GraphRNN's initialisation: GRU weights Xavier-uniform (gain 1), GRU biases 0.25,
        linear weights Xavier-uniform with the ReLU gain (linear biases as torch's default)."""
        for module in self.modules():
            if isinstance(module, nn.GRU):
                for name, param in module.named_parameters():
                    if "bias" in name:
                        nn.init.constant_(param, 0.25)
                    else:
                        nn.init.xavier_uniform_(param, gain=nn.init.calculate_gain("sigmoid"))
            elif isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain("relu"))

    @property
    def device(self) -> torch.device:
        return self.input.weight.device

    def graph_states(self, x: Tensor, state: GRUState | None = None) -> tuple[Tensor, GRUState]:
        """Graph-level outputs ``[B, T, hidden]`` for input vectors ``x [B, T, M]``, and the final
        state (``state``: the state before ``x``, default zeros)."""
        return self.rnn(torch.relu(self.input(x)), state)

    def _edge_state(self, h: Tensor) -> Tensor:
        """Initial edge-level state ``[edge_layers, N, edge_hidden]`` of graph outputs ``h [N, hidden]``."""
        first = self.edge_init(h).unsqueeze(0)
        rest = first.new_zeros(self.config.edge_layers - 1, h.size(0), self.config.edge_hidden)
        return torch.cat([first, rest], 0).contiguous()

    def edge_logits(self, h: Tensor, y: Tensor) -> Tensor:
        """Teacher-forced logits ``[N, M]`` of the vectors ``y [N, M]`` given graph outputs ``h [N, hidden]``."""
        if self.config.edge_model == "mlp":
            return self.head(h)
        prev = torch.cat([torch.ones_like(y[:, :1]), y[:, :-1]], 1).unsqueeze(2)  # [N, M, 1]: SOS, then y
        out, _ = self.edge_rnn(torch.relu(self.edge_input(prev)), self._edge_state(h))
        return self.edge_output(out).squeeze(2)

    def log_likelihood(self, x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        """``log p(S)`` per sequence ``[B]`` (teacher forcing), for :func:`sequence_batch`'s
        ``x, y, mask [B, T, M]``; only the masked-in slots count."""
        h, _ = self.graph_states(x)
        rows = mask.any(2)  # [B, T]: positions inside each sequence
        logits = self.edge_logits(h[rows], y[rows])
        bce = nn.functional.binary_cross_entropy_with_logits(logits, y[rows], reduction="none")
        per_row = -(bce * mask[rows]).sum(1)
        graph = torch.arange(x.size(0), device=x.device).unsqueeze(1).expand_as(rows)[rows]
        return torch.zeros(x.size(0), device=x.device, dtype=per_row.dtype).index_add_(0, graph, per_row)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One optimiser for every parameter (the training loop's contract, as the CharRNN's)."""
        return {"model": list(self.parameters())}

    def training_losses(self, x: Tensor, y: Tensor, mask: Tensor) -> tuple[Tensor, dict[str, float]]:
        """The loss of a batch (BCE per masked-in slot, averaged over the batch's slots, as the
        paper averages over adjacency entries) and scalars to log (``loss``; ``nll``: ``-log p(S)``
        per graph, nats)."""
        ll = self.log_likelihood(x, y, mask)
        loss = -ll.sum() / mask.sum().clamp(min=1)
        return loss, {"loss": float(loss.detach()), "nll": float(-ll.detach().mean())}

    @torch.no_grad()
    def sample(self, uniforms: Tensor, *, temperature: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
        """Draw graphs autoregressively; edge ``(t, k)`` is present iff ``uniforms[b, t, k] < p``.

        Args:
            uniforms: ``[B, max_nodes, M]`` uniforms on ``[0, 1)``, one row per step; step ``t``
                draws the vector of the node placed ``t + 1``-th, so at most ``max_nodes``
                nodes are drawn (the last step only tells whether the sample would go on).
            temperature: the edge logits are divided by it (default 1).

        Returns:
            ``(S, nodes, truncated)``: bool ``S [B, max_nodes - 1, M]`` (the vectors, zero
            after each sample's end), int64 ``nodes [B]`` and bool ``truncated [B]`` (no EOS
            drawn within ``max_nodes`` nodes).
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, not {temperature}")
        B, steps, M = uniforms.shape
        if M != self.config.max_prev or steps < 1:
            raise ValueError(f"uniforms [B, max_nodes, {self.config.max_prev}] expected, got {tuple(uniforms.shape)}")
        dev = self.device
        uniforms = uniforms.to(dev)
        rows = torch.zeros(B, steps - 1, M, dtype=torch.bool, device=dev)
        nodes = torch.ones(B, dtype=torch.long, device=dev)
        alive = torch.ones(B, dtype=torch.bool, device=dev)
        x = torch.ones(B, 1, M, device=dev)
        state = None
        for t in range(steps):
            h, state = self.graph_states(x, state)
            h = h[:, 0]
            valid = min(t + 1, M)
            u = uniforms[:, t]
            if self.config.edge_model == "mlp":
                p = torch.sigmoid(self.head(h) / temperature)
                y = u < p
                y[:, valid:] = False
            else:
                y = torch.zeros(B, M, dtype=torch.bool, device=dev)
                edge_state = self._edge_state(h)
                prev = torch.ones(B, 1, 1, device=dev)
                for k in range(valid):
                    out, edge_state = self.edge_rnn(torch.relu(self.edge_input(prev)), edge_state)
                    p = torch.sigmoid(self.edge_output(out[:, 0]).squeeze(1) / temperature)
                    y[:, k] = u[:, k] < p
                    prev = y[:, k].float().view(B, 1, 1)
            alive &= y.any(1)
            if t == steps - 1 or not bool(alive.any()):
                break
            rows[:, t] = y & alive.unsqueeze(1)
            nodes += alive.long()
            x = y.float().unsqueeze(1)
        return rows, nodes, alive


# ---------------------------------------------------------------------- data


def _connected(graph: LamanGraph) -> bool:
    if graph.n == 0:
        return False
    seen, stack = {0}, [0]
    neighbors = graph.neighbors
    while stack:
        for u in neighbors[stack.pop()]:
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return len(seen) == graph.n


def read_graphs(path: str | os.PathLike) -> list[LamanGraph]:
    """The connected graphs of a graph6 file (GraphRNN's sequences need connected graphs).

    Malformed lines and disconnected or empty graphs are skipped with a warning (the
    graphs need not be Laman).

    Raises:
        ValueError: no usable graph in the file.
    """
    from ric.laman.domain import LAMAN

    graphs = LAMAN.load_states(path)
    kept = [g for g in graphs if _connected(g)]
    if len(kept) < len(graphs):
        logger.warning("%s: %d disconnected or empty graphs skipped", path, len(graphs) - len(kept))
    if not kept:
        raise ValueError(f"{path}: no connected graph to train on")
    return kept


def _encode_fixed(graphs: Sequence[LamanGraph], max_prev: int, seed: int) -> tuple[list[np.ndarray], int]:
    """Sequences of ``graphs`` in their fixed validation orderings (``[seed, 2, index]``) and the edges dropped."""
    out, dropped = [], 0
    for i, g in enumerate(graphs):
        rows, d = encode_graph(g, bfs_order(g, np.random.default_rng([seed, _VALID_ORDER, i])), max_prev)
        out.append(rows)
        dropped += d
    return out, dropped


# ---------------------------------------------------------------------- training


@dataclass(frozen=True)
class GraphRNNTrainConfig(PlainDataConfig):
    """Settings of a GraphRNN training run (see ``ric train --help``).

    Attributes:
        data, out: training graphs (graph6) and run directory.
        model: always ``"graphrnn"``.
        valid: validation graphs (default ``None``: 5 % of ``data``, at most ``valid_examples``, held out).
        epochs: default 3000 (the paper's; a ``time_budget`` normally stops the run first).
        max_steps, time_budget: stop after that many steps / CPU seconds (default no limit).
        batch_size: graphs per step (default 64; paper 32).
        lr: Adam learning rate (default 1e-3; paper 3e-3 with steps down).
        seed: fixes the initialisation, the batch order and the orderings (default 0).
        edge_model, embedding, hidden, layers, edge_embedding, edge_hidden, edge_layers: the
            model (:class:`GraphRNNConfig`; defaults ``"rnn"``, 64, 128, 3, 8, 16, 2).
        bandwidth_samples: random orderings that set ``M`` (default 20,000, as the paper).
        clip_norm: gradient-norm clip (default 10, as the CharRNN).
        log_every, valid_every, checkpoint_every: cadences in steps (default 20, 500, 200).
        valid_examples: most validation graphs (default 1000).
        device: ``"auto"`` (default), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    """

    data: str
    out: str
    model: str = GRAPHRNN_FAMILY
    valid: str | None = None
    epochs: int = 3000
    max_steps: int | None = None
    time_budget: float | None = None
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    # the model (defaults: GraphRNNConfig's)
    edge_model: str = GraphRNNConfig.edge_model
    embedding: int = GraphRNNConfig.embedding
    hidden: int = GraphRNNConfig.hidden
    layers: int = GraphRNNConfig.layers
    edge_embedding: int = GraphRNNConfig.edge_embedding
    edge_hidden: int = GraphRNNConfig.edge_hidden
    edge_layers: int = GraphRNNConfig.edge_layers
    bandwidth_samples: int = 20000
    clip_norm: float = 10.0
    log_every: int = 20
    valid_every: int = 500
    checkpoint_every: int = 200
    valid_examples: int = 1000
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.model != GRAPHRNN_FAMILY:
            raise ValueError(f"a GraphRNN run has model {GRAPHRNN_FAMILY!r}, not {self.model!r}")
        _check_edge_model(self.edge_model)

    def model_config(self, max_prev: int, max_nodes: int) -> GraphRNNConfig:
        """The model's config for ``M = max_prev`` and ``max_nodes`` (from the training graphs)."""
        return GraphRNNConfig(max_prev=max_prev, max_nodes=max_nodes, **{k: getattr(self, k) for k in _ARCHITECTURE})


@dataclass
class GraphRNNTrainResult:
    """Outcome of :func:`train_graphrnn`: ``valid_nll`` is ``-log p(S)`` per validation graph (nats)."""

    step: int
    checkpoint: Path | None
    valid_nll: float | None
    seconds: float
    cpu_seconds: float = 0.0


def _batches(sequences: Sequence[np.ndarray], max_prev: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`sequence_batch` on ``device``."""
    x, y, mask = sequence_batch(sequences, max_prev)
    return x.to(device), y.to(device), mask.to(device)


def _load_data(config: GraphRNNTrainConfig, payload: dict | None, device: torch.device) -> TrainingData:
    """The graphs of a run (``load_data`` of :data:`GRAPHRNN_MODEL_FAMILY`).

    The training graphs are encoded in a new BFS ordering for each batch
    (``[seed, 1, epoch, index]``; ``dropped_edges`` logged), the validation graphs once, in
    their fixed orderings. ``M`` and ``max_nodes`` come from the training graphs (or the
    checkpoint ``payload`` when resuming).
    """
    train = read_graphs(config.data)
    if config.valid:
        valid = read_graphs(config.valid)[: config.valid_examples]
    else:
        train, valid = hold_out(train, config, "graphs")
    if payload is not None:
        model_config = GraphRNNConfig.from_dict(payload["graphrnn_config"])
    else:
        started_m = time.perf_counter()
        max_prev = max_bandwidth(train, config.bandwidth_samples, config.seed)
        model_config = config.model_config(max_prev, max(g.n for g in train))
        logger.info("%d training graphs, up to %d nodes; M = %d (largest BFS bandwidth of %d orderings, %.1f s)",
                    len(train), model_config.max_nodes, max_prev, config.bandwidth_samples,
                    time.perf_counter() - started_m)  # fmt: skip
    M = model_config.max_prev
    valid_seqs, dropped = _encode_fixed(valid, M, config.seed)
    if dropped:
        logger.warning("%d validation edges are more than M = %d apart in their BFS orderings and left out", dropped, M)

    def batch(idx: np.ndarray, epoch: int) -> tuple[tuple[Tensor, Tensor, Tensor], dict[str, int]]:
        seqs, dropped = [], 0
        for i in idx.tolist():
            rng = np.random.default_rng([config.seed, _TRAIN_ORDER, epoch, i])
            rows, d = encode_graph(train[i], bfs_order(train[i], rng), M)
            seqs.append(rows)
            dropped += d
        return _batches(seqs, M, device), {"dropped_edges": dropped}

    return TrainingData(train=train, valid=valid_seqs, model_config=model_config, batch=batch,
                        collate=lambda seqs: _batches(seqs, M, device))  # fmt: skip


def _losses(
    model: GraphRNN, batch: tuple[Tensor, Tensor, Tensor], step: int
) -> tuple[dict[str, Tensor], dict[str, float]]:
    loss, logs = model.training_losses(*batch)
    return {"model": loss}, logs


def _terms(model: GraphRNN, batch: tuple[Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
    """``nll``: ``-log p(S)`` per validation graph (no randomness is used)."""
    return {"nll": -model.log_likelihood(*batch)}


#: GraphRNN for :func:`~ric.baselines.sequence_training.train_sequence_model` and
#: :func:`~ric.baselines.sequence_training.load_model_checkpoint` (its checkpoints' name:
#: :data:`GRAPHRNN_FAMILY`). Validation batches hold at least 256 graphs.
GRAPHRNN_MODEL_FAMILY = ModelFamily(
    name=GRAPHRNN_FAMILY, config_key="graphrnn_config", train_config=GraphRNNTrainConfig, build=GraphRNN,
    train_columns=("loss", "nll"), valid_columns=("nll",), validate=_terms, title="GraphRNN",
    model_config=GraphRNNConfig, load_data=_load_data, losses=_losses, min_valid_batch=256, loss_format=".3f",
)  # fmt: skip


def train_graphrnn(
    config: GraphRNNTrainConfig | None = None,
    *,
    resume: str | os.PathLike | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    progress: bool = False,
    overwrite: bool = False,
    relocate: dict[str, str | None] | None = None,
    epochs: int | None = None,
) -> GraphRNNTrainResult:
    """Train a GraphRNN, or continue an interrupted run
    (:func:`~ric.baselines.sequence_training.train_sequence_model` with
    :data:`GRAPHRNN_MODEL_FAMILY`; the arguments are documented there). ``M`` and
    ``max_nodes`` are computed from ``config.data`` (and stored in the checkpoint) before
    the CPU clock of ``time_budget`` starts."""
    result = train_sequence_model(GRAPHRNN_MODEL_FAMILY, config, resume=resume, max_steps=max_steps,
                                  time_budget=time_budget, progress=progress, overwrite=overwrite, relocate=relocate, epochs=epochs)
    return GraphRNNTrainResult(result.step, result.checkpoint, result.valid["nll"], result.seconds, result.cpu_seconds)


def load_graphrnn(path: str | os.PathLike, device: Any = "cpu",
                  payload: dict | None = None) -> tuple[GraphRNN, dict]:
    """A trained GraphRNN (in eval mode) and its checkpoint payload:
    :func:`~ric.baselines.sequence_training.load_model_checkpoint` with
    :data:`GRAPHRNN_MODEL_FAMILY` (arguments and errors documented there; ``path``: a
    checkpoint written by ``ric train --model graphrnn``)."""
    return load_model_checkpoint(path, GRAPHRNN_MODEL_FAMILY, device, payload)


# ---------------------------------------------------------------------- generator


@dataclass
class GraphRNNSample(GeneratedSample):
    """One sample: ``graph6`` text as generated, its ``index`` in the stream, its ``nodes`` and
    ``edges``, and whether it was ``truncated`` at the node cap (no EOS drawn)."""

    graph6: str
    index: int
    nodes: int
    edges: int
    truncated: bool

    TEXT = "graph6"
    STATS = ("index", "nodes", "edges", "truncated")


class GraphRNNGenerator(SequenceGenerator):
    """A trained GraphRNN as a generator of graphs (graph6 text).

    Sample ``i`` of a stream draws its edges with uniforms from
    ``np.random.default_rng([seed, i])``, so a seed fixes the samples and they do not depend
    on ``batch_size`` (up to floating-point ties).

    Args:
        model: the GraphRNN (put in eval mode).
        seed: default seed (default 0).
        batch_size: graphs drawn together (default 256).
        temperature: the edge logits are divided by it (default 1).
        max_nodes: most nodes of a sample (default ``None``: the model's, i.e. the largest
            training graph).

    :meth:`from_checkpoint` reads a checkpoint written by ``ric train --model graphrnn``
    (options: ``seed``, ``batch_size``, ``temperature``, ``max_nodes``).
    """

    family = GRAPHRNN_MODEL_FAMILY
    unit = "graph"
    #: The domain of the samples (the generate command's validity check).
    domain = "laman"

    def __init__(
        self,
        model: GraphRNN,
        *,
        seed: int = 0,
        batch_size: int = 256,
        temperature: float = 1.0,
        max_nodes: int | None = None,
    ) -> None:
        super().__init__(model, seed=seed, batch_size=batch_size, temperature=temperature)
        if max_nodes is not None and max_nodes < 1:
            raise ValueError(f"max_nodes {max_nodes}: a graph has at least one node")
        self.max_nodes = max_nodes or model.config.max_nodes

    def _uniforms(self, seed: int, start: int, count: int) -> Tensor:
        """``[count, max_nodes, M]`` float32 uniforms of samples ``start .. start+count-1``."""
        shape = (self.max_nodes, self.model.config.max_prev)
        draws = [np.random.default_rng([seed, i]).random(shape, dtype=np.float32) for i in range(start, start + count)]
        return torch.from_numpy(np.stack(draws))

    def _draw(self, n: int, seed: int, batch_size: int) -> Iterator[GraphRNNSample]:
        produced = 0
        while produced < n:
            count = min(batch_size, n - produced)
            uniforms = self._uniforms(seed, produced, count)
            rows, nodes, truncated = self.model.sample(uniforms, temperature=self.temperature)
            rows, nodes, truncated = rows.cpu().numpy(), nodes.cpu().tolist(), truncated.cpu().tolist()
            for b in range(count):
                graph = decode_graph(rows[b, : nodes[b] - 1])
                yield GraphRNNSample(to_graph6(graph), produced, graph.n, graph.num_edges, bool(truncated[b]))
                produced += 1
