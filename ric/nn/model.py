"""The reconstruction network p_θ(move | x̃) of reversible inductive construction.

A stack of :class:`~ric.nn.layers.BondMessagePassing` layers embeds the atoms; a
molecule embedding is the projection of mean ⊕ max pooling. Four heads score the legal
moves of each molecule (:mod:`ric.moves.encoding`):

* stop: ``MLP(g)`` -> one logit per molecule;
* atom candidates ``(atom i, class c)``: ``MLP([h_i, g])[c]``;
* pair candidates ``(pair (i, j), class c)``: ``MLP([h_i, h_j, pair_attr, g])[c]``,
  symmetrised over ``(i, j)``/``(j, i)`` when pairs are unordered;
* set candidates: ``MLP([Σ_{members of role 0} h, ..., Σ_{members of role R-1} h, g])``
  -> one logit per set (``R = num_set_roles``; molecules have one role).

Illegal moves are never scored: only the encoded legal candidates get logits, and one
softmax per molecule runs over exactly those (plus stop). Atom and pair candidates come
in blocks sharing a class list (:mod:`ric.moves.encoding`), so the heads' last layers
are applied per list, as one dense product over only that list's classes, instead of
producing full ``[atoms, num_atom_classes]`` / ``[pairs, num_pair_classes]`` tables; the
loss needs only each block's log-sum-exp and the target's logit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ric.moves.encoding import KIND_ATOM, KIND_PAIR, KIND_SET, KIND_STOP
from ric.nn.heads import segment_argmax, segment_log_softmax, segment_logsumexp
from ric.nn.layers import BondMessagePassing, mlp, scatter_max, scatter_mean

__all__ = ["ModelConfig", "ReconstructionModel", "CandidateScores", "BlockScores"]


@dataclass(frozen=True)
class ModelConfig:
    """Network settings (defaults suit a CPU).

    Attributes:
        num_atom_classes: classes of atom candidates (from the move set; 0: none).
        num_pair_classes: classes of pair candidates (from the move set; 0: none).
        pair_feature_dim: size of pair features (from the move set).
        pairs_directed: whether pair candidates are ordered (from the move set).
        atom_dim, bond_dim: node and edge feature sizes (the move set's
            ``node_feature_dim``, ``edge_feature_dim``).
        hidden: hidden size (default 128).
        depth: message-passing layers (default 4).
        num_set_roles: member roles of set candidates (from the move set; default 1).
        set_hidden: width of the set head's hidden layer (default ``None``: ``hidden``).
    """

    num_atom_classes: int
    num_pair_classes: int
    pair_feature_dim: int
    pairs_directed: bool
    atom_dim: int
    bond_dim: int
    hidden: int = 128
    depth: int = 4
    num_set_roles: int = 1
    set_hidden: int | None = None

    @classmethod
    def for_move_set(cls, move_set: Any, **sizes: Any) -> "ModelConfig":
        """A config whose heads fit ``move_set``; ``sizes`` override hidden/depth."""
        return cls(
            num_atom_classes=move_set.num_atom_classes,
            num_pair_classes=move_set.num_pair_classes,
            pair_feature_dim=move_set.pair_feature_dim,
            pairs_directed=move_set.pairs_directed,
            atom_dim=move_set.node_feature_dim,
            bond_dim=move_set.edge_feature_dim,
            num_set_roles=move_set.num_set_roles,
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


class BlockScores:
    """Logits of one kind of block candidates (atom or pair) of a batch.

    Args:
        hidden: ``[E, H]`` hidden vectors of the entities (atoms or pairs).
        last: the head's last linear layer (``H -> num_classes``; ``None`` for a move set
            without candidates of this kind).
        blocks: the batch's :class:`~ric.nn.data.CandidateBlocks` of this kind.

    :attr:`tables` (computed on first use) holds one ``[R_u, width_u]`` tensor per class
    list: row ``r`` scores the classes of block ``groups[u, 0] + r``, ``-inf`` beyond its
    ``count``; only these entries are computed, never the full ``[E, num_classes]`` table.
    Without gradients and for a small batch (a full table of at most
    :attr:`FULL_TABLE_MAX` entries), :meth:`flat` computes the full table instead, which
    costs less than one product per list there (same values).
    """

    #: Largest ``E * num_classes`` for which :meth:`flat` uses the full table (no gradients).
    FULL_TABLE_MAX = 262_144

    def __init__(self, hidden: Tensor, last: nn.Linear | None, blocks: Any) -> None:
        self.hidden, self.last, self.blocks = hidden, last, blocks
        self.group_rows = blocks.groups.tolist()
        self._tables: list[Tensor] | None = None

    @property
    def tables(self) -> list[Tensor]:
        if self._tables is None:
            self._tables = self._group_tables()
        return self._tables

    def _group_tables(self) -> list[Tensor]:
        blocks, last = self.blocks, self.last
        if not self.group_rows:
            return []
        # One gather and one split per operand: their backward passes are one scatter and
        # one concatenation, not one full-size gradient per group.
        rows = torch.split(self.hidden.index_select(0, blocks.entity), [hi - lo for lo, hi, *_ in self.group_rows])
        widths = [g[3] for g in self.group_rows]
        weights = torch.split(last.weight.index_select(0, blocks.classes), widths)
        biases = torch.split(last.bias.index_select(0, blocks.classes), widths)
        tables = []
        for (lo, hi, c0, width, full), r, w, b in zip(self.group_rows, rows, weights, biases):
            table = torch.addmm(b, r, w.t())
            if not full:
                beyond = torch.arange(width, device=table.device) >= blocks.count[lo:hi, None]
                table = table.masked_fill(beyond, float("-inf"))
            tables.append(table)
        return tables

    def logsumexp(self) -> Tensor:
        """``[R]`` log-sum-exp of each block's logits."""
        if not self.tables:
            return self.hidden.new_zeros(0)
        return torch.cat([torch.logsumexp(t, dim=1) for t in self.tables])

    def best(self) -> tuple[Tensor, Tensor]:
        """``[R]`` largest logit of each block and its position (first on ties)."""
        if not self.tables:
            return self.hidden.new_zeros(0), self.blocks.count.new_zeros(0)
        values, positions = zip(*(t.max(dim=1) for t in self.tables))
        return torch.cat(values), torch.cat(positions)

    def at(self, block: Tensor, position: Tensor) -> Tensor:
        """Logits of ``position`` in ``block`` (``[M]`` each), computed directly: ``[M]``."""
        cls = self.blocks.classes[self.blocks.class_start[block] + position]
        rows = self.hidden.index_select(0, self.blocks.entity[block])
        return (rows * self.last.weight.index_select(0, cls)).sum(1) + self.last.bias.index_select(0, cls)

    def flat(self, total: int) -> Tensor:
        """``[total]`` logits of every candidate in flat, molecule-major order."""
        out = self.hidden.new_zeros(total)
        if not self.group_rows:
            return out
        if not torch.is_grad_enabled() and self.hidden.size(0) * self.last.out_features <= self.FULL_TABLE_MAX:
            return self._flat_from_full_table(out)
        # One small product per class list (a few dozen in a batch): broadcasting the block
        # offsets is cheaper than gathering per-entry indices over the whole table.
        index, values = [], []
        for (lo, hi, _, width, full), table in zip(self.group_rows, self.tables):
            positions = self.blocks.offset[lo:hi, None] + torch.arange(width, device=table.device)
            if full:
                index.append(positions.reshape(-1))
                values.append(table.reshape(-1))
            else:
                keep = torch.arange(width, device=table.device) < self.blocks.count[lo:hi, None]
                index.append(positions[keep])
                values.append(table[keep])
        return out.index_copy(0, torch.cat(index), torch.cat(values))


    def _flat_from_full_table(self, out: Tensor) -> Tensor:
        """:meth:`flat` through the full ``[E, num_classes]`` table, gathered with vectorised
        indices (no loop over class lists)."""
        blocks = self.blocks
        table = self.last(self.hidden)
        block = torch.repeat_interleave(torch.arange(blocks.count.numel(), device=out.device), blocks.count)
        first = torch.cumsum(blocks.count, 0) - blocks.count
        within = torch.arange(block.numel(), device=out.device) - first[block]
        classes = blocks.classes[blocks.class_start[block] + within]
        # One flat gather: much cheaper than indexing the table with two index tensors.
        flat_index = blocks.entity[block] * table.size(1) + classes
        return out.index_copy(0, blocks.offset[block] + within, table.reshape(-1).index_select(0, flat_index))


class CandidateScores:
    """Logits of every candidate in a batch.

    Training needs only :meth:`nll` and :meth:`top1`, which work on per-block summaries;
    the flat view (:attr:`logits`, :attr:`segment`, :attr:`starts`, :meth:`log_probs`) is
    built on first use, for sampling and inspection.

    Attributes:
        stop: ``[B]`` stop logits.
        atom, pair: :class:`BlockScores` of the atom and pair candidates.
        sets: ``[S]`` set logits; ``set_graph`` ``[S]`` their molecules.
        num_graphs: ``B``.
    """

    def __init__(self, stop: Tensor, atom: BlockScores, pair: BlockScores, sets: Tensor, set_graph: Tensor,
                 counts: Tensor) -> None:
        self.stop, self.atom, self.pair, self.sets, self.set_graph = stop, atom, pair, sets, set_graph
        self.num_graphs = stop.size(0)
        self._counts = counts  # [4, B]: candidates of each kind per molecule
        self._flat: tuple[Tensor, Tensor] | None = None
        self._segment: Tensor | None = None

    @property
    def counts(self) -> Tensor:
        """``[4, B]`` candidates of each kind (stop, atom, pair, set) per molecule."""
        return self._counts

    # ------------------------------------------------------------- per molecule
    def _summary(self, values: list[Tensor]) -> tuple[Tensor, Tensor]:
        """One entry per stop, set and block: ``values`` concatenated, and their molecules."""
        b = torch.arange(self.num_graphs, device=self.stop.device)
        segment = torch.cat([b, self.set_graph, self.atom.blocks.graph, self.pair.blocks.graph])
        return torch.cat(values), segment

    def log_normalizer(self) -> Tensor:
        """``[B]`` log-sum-exp of each molecule's candidate logits (stop included)."""
        values, segment = self._summary([self.stop, self.sets, self.atom.logsumexp(), self.pair.logsumexp()])
        return segment_logsumexp(values, segment, self.num_graphs)

    def target_logits(self, target: Tensor) -> Tensor:
        """``[B]`` logits of the targets, ``target [B, 3]`` rows ``(kind, index, position)``."""
        kind, index, position = target.unbind(1)
        out = self.stop.new_zeros(self.num_graphs)
        for k, pick in ((KIND_STOP, lambda i, p: self.stop[i]), (KIND_SET, lambda i, p: self.sets[i]),
                        (KIND_ATOM, self.atom.at), (KIND_PAIR, self.pair.at)):
            rows = torch.nonzero(kind == k).squeeze(1)
            if rows.numel():
                out = out.index_copy(0, rows, pick(index[rows], position[rows]))
        return out

    def nll(self, target: Tensor) -> Tensor:
        """``[B]`` negative log-likelihood of the targets (:attr:`MoveBatch.target`)."""
        return self.log_normalizer() - self.target_logits(target)

    def top1(self, target: Tensor) -> Tensor:
        """``[B]`` bool: the target is the highest-scoring candidate of its molecule (ties go
        to the first candidate in flat order, as with :attr:`logits`)."""
        kind, index, position = target.unbind(1)
        values, positions, entry = [self.stop], [torch.zeros_like(self.stop, dtype=torch.long)], index.clone()
        base = self.num_graphs
        for k, scores in ((KIND_ATOM, self.atom), (KIND_PAIR, self.pair)):
            best, pos = scores.best()
            order = torch.argsort(scores.blocks.offset)  # blocks in flat order, so ties resolve alike
            rank = torch.empty_like(order)
            rank[order] = torch.arange(order.numel(), device=order.device)
            values.append(best[order])
            positions.append(pos[order])
            rows = torch.nonzero(kind == k).squeeze(1)
            if rows.numel():
                entry = entry.index_copy(0, rows, base + rank[index[rows]])
            base += order.numel()
        values.append(self.sets)
        positions.append(torch.zeros_like(self.sets, dtype=torch.long))
        entry = torch.where(kind == KIND_SET, base + index, entry)
        b = torch.arange(self.num_graphs, device=self.stop.device)
        segment = torch.cat([b, self.atom.blocks.graph[torch.argsort(self.atom.blocks.offset)],
                             self.pair.blocks.graph[torch.argsort(self.pair.blocks.offset)], self.set_graph])
        winner = segment_argmax(torch.cat(values), segment, self.num_graphs)
        in_block = (kind == KIND_ATOM) | (kind == KIND_PAIR)
        return (winner == entry) & (~in_block | (torch.cat(positions)[entry] == position))

    # ------------------------------------------------------------- flat view
    def _flat_view(self) -> tuple[Tensor, Tensor]:
        if self._flat is None:
            counts = self._counts
            logits = torch.cat([self.stop, self.atom.flat(int(counts[KIND_ATOM].sum())),
                                self.pair.flat(int(counts[KIND_PAIR].sum())), self.sets])
            starts, base = [], 0
            for c in counts:
                starts.append(base + torch.cumsum(c, 0) - c)
                base += int(c.sum())
            self._flat = (logits, torch.stack(starts))
        return self._flat

    @property
    def logits(self) -> Tensor:
        """``[C]`` every candidate's logit, ordered ``[stops (B), atom candidates, pair
        candidates, set candidates]``, each kind molecule by molecule."""
        return self._flat_view()[0]

    @property
    def segment(self) -> Tensor:
        """``[C]`` molecule of each entry of :attr:`logits` (built on first use: sampling needs
        only :attr:`logits` and :attr:`starts`)."""
        if self._segment is None:
            b = torch.arange(self.num_graphs, device=self.stop.device)
            self._segment = torch.cat([torch.repeat_interleave(b, c) for c in self._counts])
        return self._segment

    @property
    def starts(self) -> Tensor:
        """``[4, B]`` index in :attr:`logits` of each molecule's first candidate of each kind
        (stop, atom, pair, set): candidate ``row`` of kind ``k`` of molecule ``b`` is
        ``logits[starts[k, b] + row]``."""
        return self._flat_view()[1]

    def log_probs(self) -> Tensor:
        """``[C]`` log-probabilities of :attr:`logits`, normalised per molecule over its legal moves."""
        return segment_log_softmax(self.logits, self.segment, self.num_graphs)

    def index_of(self, kind_row: Tensor) -> Tensor:
        """Indices into :attr:`logits` of one ``(kind, row)`` per molecule (``[B, 2]`` -> ``[B]``)."""
        b = torch.arange(self.num_graphs, device=kind_row.device)
        return self.starts[kind_row[:, 0], b] + kind_row[:, 1]


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
        # Move sets without atom (pair) candidates have no atom (pair) head.
        self.atom_head = mlp([2 * h, h, config.num_atom_classes]) if config.num_atom_classes else None
        self.pair_head = (mlp([3 * h + config.pair_feature_dim, h, config.num_pair_classes])
                          if config.num_pair_classes else None)
        self.set_head = mlp([(config.num_set_roles + 1) * h, config.set_hidden or h, 1])

    def embed(self, batch: Any) -> tuple[Tensor, Tensor]:
        """Atom embeddings ``[N, H]`` and molecule embeddings ``[B, H]``."""
        h = self.atom_in(batch.x)
        for layer in self.layers:
            h = layer(h, batch.edge_index, batch.edge_attr)
        size = batch.num_graphs
        pooled = torch.cat([scatter_mean(h, batch.batch, size), scatter_max(h, batch.batch, size)], dim=1)
        return h, self.graph_out(pooled)

    def _role_set_logits(self, h: Tensor, g: Tensor, members: Tensor, roles: Tensor, set_graph: Tensor,
                         num_sets: int) -> Tensor:
        """Set logits with member roles: the set head's first layer applied to
        ``[Σ_{role 0} h, ..., Σ_{role R-1} h, g]`` without building that ``[S, (R + 1) H]``
        input: the layer is linear, so it is the sum over members of their node's
        projection for their role (``[N, R, H]``, computed once per node) plus the state's
        projection. Same function as the concatenation, far less memory when sets are many
        (Henneberg II: |E|(n - 2) sets per graph)."""
        first, rest = self.set_head[0], self.set_head[1:]
        hdim, r = h.size(1), self.config.num_set_roles
        weight = first.weight  # [H_out, (R + 1) H]
        node_proj = torch.einsum("nh,orh->nro", h, weight[:, : r * hdim].reshape(-1, r, hdim))  # [N, R, H_out]
        graph_proj = g @ weight[:, r * hdim :].t() + first.bias  # [B, H_out]
        sets, rows = members[:, 0], members[:, 1] * r + roles  # rows of node_proj viewed as [N * R, H_out]
        if sets.numel() > 1 and bool((sets[1:] < sets[:-1]).any()):  # embedding_bag sums contiguous bags
            order = torch.argsort(sets, stable=True)
            sets, rows = sets[order], rows[order]
        counts = torch.bincount(sets, minlength=num_sets)
        offsets = torch.cumsum(counts, 0) - counts  # first member of each set (sets are sorted)
        # One fused gather-and-sum per set: no [members, H_out] intermediate.
        pooled = F.embedding_bag(rows, node_proj.reshape(-1, node_proj.size(-1)), offsets, mode="sum")
        hidden = pooled.add_(graph_proj.index_select(0, set_graph))
        return rest(hidden).squeeze(-1)

    def forward(self, batch: Any) -> CandidateScores:
        """Logits of every legal move (and stop) of every molecule in ``batch`` (a
        :class:`~ric.nn.data.MoveBatch`)."""
        h, g = self.embed(batch)
        num_graphs = g.size(0)
        node_graph = batch.batch
        device = h.device

        stop_logits = self.stop_head(g).squeeze(-1)
        if self.atom_head is not None:
            atom = BlockScores(self.atom_head[:-1](torch.cat([h, g[node_graph]], dim=1)), self.atom_head[-1],
                               batch.atom_blocks)
        else:
            atom = BlockScores(h.new_zeros(0, self.config.hidden), None, batch.atom_blocks)

        pairs = batch.pairs
        if pairs.numel() and self.pair_head is not None:
            i, j = pairs[:, 0], pairs[:, 1]
            context = torch.cat([batch.pair_attr, g[node_graph[i]]], dim=1)
            hidden = self.pair_head[:-1](torch.cat([h[i], h[j], context], dim=1))
            if not self.config.pairs_directed:
                # The head's last layer is linear, so averaging its outputs over the two orders
                # equals applying it once to the average of the hidden layers.
                hidden = 0.5 * (hidden + self.pair_head[:-1](torch.cat([h[j], h[i], context], dim=1)))
        else:
            hidden = h.new_zeros(0, self.config.hidden)
        pair = BlockScores(hidden, self.pair_head[-1] if self.pair_head is not None else None, batch.pair_blocks)

        num_sets_total = int(batch.num_sets.sum())
        members = batch.set_members
        if num_sets_total:
            set_graph = torch.repeat_interleave(torch.arange(num_graphs, device=device), batch.num_sets)
            if self.config.num_set_roles == 1:
                pooled = h.new_zeros(num_sets_total, h.size(1)).index_add_(0, members[:, 0], h[members[:, 1]])
                set_logits = self.set_head(torch.cat([pooled, g[set_graph]], dim=1)).squeeze(-1)
            else:
                set_logits = self._role_set_logits(h, g, members, batch.set_roles, set_graph, num_sets_total)
        else:
            set_logits = h.new_zeros(0)
            set_graph = node_graph.new_zeros(0)
        counts = torch.stack([torch.ones_like(batch.num_sets), batch.num_atom_moves, batch.num_pair_moves,
                              batch.num_sets])
        return CandidateScores(stop_logits, atom, pair, set_logits, set_graph, counts)
