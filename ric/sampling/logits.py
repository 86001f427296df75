"""One state's candidate logits as the sampler draws from them.

A sampler step draws one move per state from ``softmax(logits / T)`` over the state's
legal candidates ``[stop, atom..., pair..., set...]`` (:mod:`ric.moves.encoding`). With
a vocabulary of fragments a molecule has thousands of candidates (about 12,600 per
ZINC molecule with the bundled vocabulary), almost all of them atom and pair
candidates that come in blocks (one atom or ring bond, one class list). Two forms:

* :class:`FlatLogits`: the flat array; a draw is one Gumbel-max over every entry.
* :class:`BlockLogits`: two levels, built for a whole batch by :func:`block_logits`
  straight from the network's per-class-list tables: one *entry* per stop, set candidate
  and block, whose logit is the block's log-sum-exp; a draw picks an entry
  (Gumbel-max), then a position inside the block (Gumbel-max over its row). Since
  ``P(block) P(position | block) = exp(lse_block) / Z * exp(l) / exp(lse_block)``, this
  is exactly a draw from the flat softmax, but it never builds the flat array (nor its
  random numbers) unless a drawn move must be masked.

Both hold logits already divided by the temperature. :meth:`draw` returns the flat index
of the drawn candidate (``0`` is stop), or ``-1`` when no candidate has a finite logit;
:meth:`flat` returns a fresh float64 copy of the flat array, for masking.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["FlatLogits", "BlockLogits", "block_logits", "gumbel", "gumbel_argmax"]


def gumbel(u: np.ndarray) -> np.ndarray:
    """Standard Gumbel noise from uniforms ``u`` (elementwise)."""
    return -np.log(-np.log(np.clip(u, 1e-300, 1.0)) + 1e-300)


def gumbel_argmax(logits: np.ndarray, u: np.ndarray) -> int:
    """``argmax(logits + gumbel(u))`` (first on ties), computing the noise only where it can win.

    The noise is increasing in ``u``, so no entry beats the best logit's total unless its
    logit plus the largest noise does; only those few entries get their noise computed.
    The result is the same index as the full computation (``0`` when no logit is finite).
    """
    best = int(np.argmax(logits))
    if not np.isfinite(logits[best]):
        return 0
    bound = logits[best] + gumbel(u[best : best + 1])[0]
    ceiling = gumbel(np.array([u.max()]))[0]
    contenders = np.flatnonzero(logits + ceiling >= bound)
    totals = logits[contenders] + gumbel(u[contenders])
    return int(contenders[int(np.argmax(totals))])


class FlatLogits:
    """One state's logits as a flat float64 array ``[C]`` (divided by the temperature).

    A draw uses ``C`` uniforms from the generator, in candidate order.
    """

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    @property
    def size(self) -> int:
        return int(self.values.shape[0])

    def flat(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)

    def draw(self, rng: np.random.Generator) -> int:
        k = gumbel_argmax(self.values, rng.random(self.values.shape[0]))
        return k if np.isfinite(self.values[k]) else -1


class _Entries:
    """The two-level logits of a batch (see :func:`block_logits`)."""

    __slots__ = ("value", "first", "count", "table", "row", "bounds", "sizes", "tables")

    def __init__(self, value, first, count, table, row, bounds, sizes, tables) -> None:
        self.value, self.first, self.count, self.table, self.row = value, first, count, table, row
        self.bounds, self.sizes, self.tables = bounds, sizes, tables


class BlockLogits:
    """One state of a batch's two-level logits (see the module docstring).

    A draw uses one uniform per entry (stop, sets, blocks; in flat order of their first
    candidates), then, when a block is drawn, one per candidate of that block.
    """

    __slots__ = ("_e", "_b")

    def __init__(self, entries: _Entries, b: int) -> None:
        self._e, self._b = entries, b

    @property
    def size(self) -> int:
        return int(self._e.sizes[self._b])

    def draw(self, rng: np.random.Generator) -> int:
        e = self._e
        lo, hi = int(e.bounds[self._b]), int(e.bounds[self._b + 1])
        values = e.value[lo:hi]
        k = gumbel_argmax(values, rng.random(hi - lo))
        if not np.isfinite(values[k]):
            return -1
        j = lo + k
        t = int(e.table[j])
        if t < 0:
            return int(e.first[j])
        row = e.tables[t][int(e.row[j]), : int(e.count[j])].astype(np.float64)
        return int(e.first[j]) + gumbel_argmax(row, rng.random(row.shape[0]))

    def flat(self) -> np.ndarray:
        e = self._e
        out = np.empty(self.size, dtype=np.float64)
        for j in range(int(e.bounds[self._b]), int(e.bounds[self._b + 1])):
            t, first = int(e.table[j]), int(e.first[j])
            if t < 0:
                out[first] = e.value[j]
            else:
                count = int(e.count[j])
                out[first : first + count] = e.tables[t][int(e.row[j]), :count]
        return out


def block_logits(scores: Any, temperature: float = 1.0) -> list[BlockLogits]:
    """Two-level logits of every state of a batch, from the network's output.

    Args:
        scores: a :class:`~ric.nn.model.CandidateScores` (computed without gradients).
        temperature: divides every logit (default 1.0).

    Returns:
        one :class:`BlockLogits` per state, in batch order.
    """
    scale = 1.0 / float(temperature)
    counts = scores.counts.cpu().numpy()  # [4, B]: stop, atom, pair and set candidates per state
    num_graphs = counts.shape[1]
    starts = np.cumsum(counts, axis=1) - counts  # first candidate of each state among the batch's of a kind
    b = np.arange(num_graphs, dtype=np.int64)
    kinds = ((1, scores.atom), (2, scores.pair))
    groups = {k: s.blocks.groups.cpu().numpy() for k, s in kinds}
    graphs = {k: s.blocks.graph.cpu().numpy() for k, s in kinds}
    # Entries of each state, in flat order: stop, its atom blocks, its pair blocks, its sets.
    per_state = np.stack([np.ones(num_graphs, dtype=np.int64)]
                         + [np.bincount(graphs[k], minlength=num_graphs) for k, _ in kinds] + [counts[3]])
    bounds = np.concatenate([[0], np.cumsum(per_state.sum(axis=0))])
    kind_start = bounds[:-1] + np.cumsum(per_state, axis=0) - per_state  # [4, B]: first entry of each kind
    total = int(bounds[-1])
    value = np.empty(total, dtype=np.float64)
    first = np.empty(total, dtype=np.int64)
    count = np.ones(total, dtype=np.int64)
    table = np.full(total, -1, dtype=np.int64)
    row = np.full(total, -1, dtype=np.int64)

    value[kind_start[0]] = (scores.stop.float() * scale).cpu().numpy()
    first[kind_start[0]] = 0
    tables: list[np.ndarray] = []
    base = 1 + np.zeros(num_graphs, dtype=np.int64)  # flat index of each state's first candidate of the kind
    for kind, block_scores in kinds:
        g = groups[kind]
        if len(g):
            blocks = block_scores.blocks
            group_tables = [t.float() * scale if scale != 1.0 else t.float() for t in block_scores.tables]
            lse = torch.cat([torch.logsumexp(t, dim=1) for t in group_tables])
            graph = graphs[kind]
            offset = blocks.offset.cpu().numpy()
            # Blocks are stored by class list; their rank within their state in flat order
            # follows from sorting them by flat offset (which is state-major).
            by_offset = np.argsort(offset, kind="stable")
            rank = np.empty_like(by_offset)
            rank[by_offset] = np.arange(len(by_offset)) - (np.cumsum(per_state[kind]) - per_state[kind])[graph[by_offset]]
            dest = kind_start[kind][graph] + rank
            size = g[:, 1] - g[:, 0]
            value[dest] = lse.cpu().numpy()
            first[dest] = base[graph] + offset - starts[kind][graph]
            count[dest] = blocks.count.cpu().numpy()
            table[dest] = np.repeat(np.arange(len(tables), len(tables) + len(g), dtype=np.int64), size)
            row[dest] = np.arange(int(size.sum()), dtype=np.int64) - np.repeat(g[:, 0], size)
            tables.extend(t.detach().cpu().numpy() for t in group_tables)
        base = base + counts[kind]
    num_sets = counts[3]
    if num_sets.sum():
        set_graph = np.repeat(b, num_sets)
        within = np.arange(int(num_sets.sum()), dtype=np.int64) - np.repeat(starts[3], num_sets)
        dest = kind_start[3][set_graph] + within
        value[dest] = (scores.sets.float() * scale).cpu().numpy()
        first[dest] = base[set_graph] + within
    entries = _Entries(value, first, count, table, row, bounds, counts.sum(axis=0), tables)
    return [BlockLogits(entries, k) for k in range(num_graphs)]
