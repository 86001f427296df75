"""The reconstruction network p_θ(move | x̃) of reversible inductive construction.

A stack of :class:`~ric.nn.layers.BondMessagePassing` layers embeds the atoms; a
molecule embedding is the projection of mean ⊕ max pooling. Four heads score the legal
moves of each molecule (:mod:`ric.moves.encoding`):

* stop: ``MLP(g)`` -> one logit per molecule;
* atom candidates: ``MLP([h_i, g]) -> [N, num_atom_classes]``, gathered at ``(atom, class)``;
* pair candidates: ``MLP([h_i, h_j, pair_attr, g]) -> [P, num_pair_classes]``, gathered at
  ``(pair, class)``; symmetrised over ``(i, j)``/``(j, i)`` when pairs are unordered;
* set candidates: ``MLP([Σ_members h, g])`` -> one logit per set.

Illegal moves are never scored: only the encoded legal candidates get logits, and one
log-softmax per molecule runs over exactly those (plus stop).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_max_pool, global_mean_pool

from ric.chem.featurise import ATOM_DIM, BOND_DIM
from ric.nn.heads import segment_argmax, segment_log_softmax
from ric.nn.layers import BondMessagePassing, mlp

__all__ = ["ModelConfig", "ReconstructionModel", "CandidateScores"]


@dataclass(frozen=True)
class ModelConfig:
    """Network settings (defaults suit a CPU).

    Attributes:
        num_atom_classes: classes of atom candidates (from the move set).
        num_pair_classes: classes of pair candidates (from the move set).
        pair_feature_dim: size of pair features (from the move set).
        pairs_directed: whether pair candidates are ordered (from the move set).
        hidden: hidden size (default 128).
        depth: message-passing layers (default 4).
        atom_dim, bond_dim: input feature sizes (default: :mod:`ric.chem.featurise`).
    """

    num_atom_classes: int
    num_pair_classes: int
    pair_feature_dim: int
    pairs_directed: bool
    hidden: int = 128
    depth: int = 4
    atom_dim: int = ATOM_DIM
    bond_dim: int = BOND_DIM

    @classmethod
    def for_move_set(cls, move_set: Any, **sizes: Any) -> "ModelConfig":
        """A config whose heads fit ``move_set``; ``sizes`` override hidden/depth."""
        return cls(
            num_atom_classes=move_set.num_atom_classes,
            num_pair_classes=move_set.num_pair_classes,
            pair_feature_dim=move_set.pair_feature_dim,
            pairs_directed=move_set.pairs_directed,
            **sizes,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**data)


@dataclass
class CandidateScores:
    """Logits of every candidate in a batch.

    Attributes:
        logits: ``[C]``, ordered ``[stops (B), atom candidates, pair candidates, set candidates]``.
        segment: ``[C]`` molecule of each candidate.
        num_graphs: ``B``.
        starts: ``[4, B]`` index in ``logits`` of each molecule's first candidate of each
            kind (stop, atom, pair, set), so candidate ``row`` of kind ``k`` of molecule
            ``b`` is ``logits[starts[k, b] + row]``.
    """

    logits: Tensor
    segment: Tensor
    num_graphs: int
    starts: Tensor

    def log_probs(self) -> Tensor:
        """``[C]`` log-probabilities, normalised per molecule over its legal moves."""
        return segment_log_softmax(self.logits, self.segment, self.num_graphs)

    def index_of(self, kind_row: Tensor) -> Tensor:
        """Indices into ``logits`` of one ``(kind, row)`` per molecule (``[B, 2]`` -> ``[B]``)."""
        b = torch.arange(self.num_graphs, device=kind_row.device)
        return self.starts[kind_row[:, 0], b] + kind_row[:, 1]

    def nll(self, target: Tensor) -> Tensor:
        """``[B]`` negative log-likelihood of the target ``(kind, row)`` per molecule."""
        return -self.log_probs()[self.index_of(target)]

    def top1(self, target: Tensor) -> Tensor:
        """``[B]`` bool: the target is the highest-scoring candidate of its molecule."""
        return segment_argmax(self.logits, self.segment, self.num_graphs) == self.index_of(target)


def _take(table: Tensor, rows_cols: Tensor) -> Tensor:
    """``table[r, c]`` for each row ``(r, c)`` of ``rows_cols`` ``[M, 2]`` -> ``[M]``.

    Flat ``index_select``: its backward is one ``index_add_``, several times faster on a
    CPU than the sorting ``index_put_`` behind two-tensor advanced indexing.
    """
    flat = rows_cols[:, 0] * table.size(1) + rows_cols[:, 1]
    return table.reshape(-1).index_select(0, flat)


class ReconstructionModel(nn.Module):
    """Scores the legal moves of a batch of :class:`~ric.nn.data.MoveData`.

    Args:
        config: a :class:`ModelConfig`.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.atom_in = nn.Linear(config.atom_dim, h)
        self.layers = nn.ModuleList(BondMessagePassing(h, config.bond_dim) for _ in range(config.depth))
        self.graph_out = nn.Linear(2 * h, h)
        self.stop_head = mlp([h, h, 1])
        self.atom_head = mlp([2 * h, h, config.num_atom_classes])
        self.pair_head = mlp([3 * h + config.pair_feature_dim, h, config.num_pair_classes])
        self.set_head = mlp([2 * h, h, 1])

    def embed(self, batch: Any) -> tuple[Tensor, Tensor]:
        """Atom embeddings ``[N, H]`` and molecule embeddings ``[B, H]``."""
        h = self.atom_in(batch.x)
        for layer in self.layers:
            h = layer(h, batch.edge_index, batch.edge_attr)
        pooled = torch.cat([global_mean_pool(h, batch.batch), global_max_pool(h, batch.batch)], dim=1)
        return h, self.graph_out(pooled)

    def forward(self, batch: Any) -> CandidateScores:
        """Logits of every legal move (and stop) of every molecule in ``batch``."""
        h, g = self.embed(batch)
        num_graphs = g.size(0)
        node_graph = batch.batch
        device = h.device

        stop_logits = self.stop_head(g).squeeze(-1)

        atom_moves = batch.atom_moves
        atom_table = self.atom_head(torch.cat([h, g[node_graph]], dim=1))
        atom_logits = _take(atom_table, atom_moves)
        atom_graph = node_graph[atom_moves[:, 0]]

        pairs, pair_moves = batch.pairs, batch.pair_moves
        if pairs.numel():
            i, j = pairs[:, 0], pairs[:, 1]
            context = torch.cat([batch.pair_attr, g[node_graph[i]]], dim=1)
            hidden = self.pair_head[:-1](torch.cat([h[i], h[j], context], dim=1))
            if not self.config.pairs_directed:
                # The head's last layer is linear, so averaging its outputs over the two orders
                # equals applying it once to the average of the hidden layers: one wide
                # [P, num_pair_classes] product instead of two.
                hidden = 0.5 * (hidden + self.pair_head[:-1](torch.cat([h[j], h[i], context], dim=1)))
            pair_table = self.pair_head[-1](hidden)
            pair_logits = _take(pair_table, pair_moves)
            pair_graph = node_graph[i][pair_moves[:, 0]]
        else:
            pair_logits = h.new_zeros(0)
            pair_graph = node_graph.new_zeros(0)

        num_sets_total = int(batch.num_sets.sum())
        members = batch.set_members
        if num_sets_total:
            pooled = h.new_zeros(num_sets_total, h.size(1)).index_add_(0, members[:, 0], h[members[:, 1]])
            set_graph = torch.repeat_interleave(torch.arange(num_graphs, device=device), batch.num_sets)
            set_logits = self.set_head(torch.cat([pooled, g[set_graph]], dim=1)).squeeze(-1)
        else:
            set_logits = h.new_zeros(0)
            set_graph = node_graph.new_zeros(0)

        logits = torch.cat([stop_logits, atom_logits, pair_logits, set_logits])
        segment = torch.cat([torch.arange(num_graphs, device=device), atom_graph, pair_graph, set_graph])
        counts = [torch.ones_like(batch.num_sets), batch.num_atom_moves, batch.num_pair_moves, batch.num_sets]
        starts = []
        base = 0
        for c in counts:
            starts.append(base + torch.cumsum(c, 0) - c)
            base += int(c.sum())
        return CandidateScores(logits, segment, num_graphs, torch.stack(starts))
