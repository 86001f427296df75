"""Diagnostics of a trained reconstruction model and its Markov chain on held-out molecules.

What ``ric evaluate`` reports for a chain checkpoint (one dataclass per part):

1. :class:`MoveLikelihood`: negative log-likelihood and top-1 accuracy of the label move of
   seeded corrupted examples, drawn exactly as in training (:func:`ric.corruption.corrupt`;
   ``k ~ Uniform{0..N}``, label the inverse of the last step, or stop for ``k = 0``), next
   to the **stop-only baseline**: ``p(stop) = q``, the stop frequency of the training
   examples, with the remaining ``1 - q`` spread uniformly over the legal moves, whose
   top-1 accuracy is the fraction of stop labels (what training's validation logs as
   its stop-only baseline). ``q = P(k = 0) = E[1 / (N + 1)]`` for ``N ~ Geometric(p) - 1``
   with ``p = 1 / (1 + steps_mean)``, i.e. ``q = p ln(1/p) / (1 - p)`` (0.358 for the
   default mean of 5; walks that end early because no edit is legal are ignored).
2. :class:`StopCalibration`: on the same examples, mean predicted ``p(stop)`` against
   the observed stop rate by corruption depth ``k`` (``k = 0`` is a clean molecule, whose
   label is stop), and a reliability table (predicted ``p(stop)`` in equal-width bins
   against the observed stop frequency), with the expected calibration error and the
   Brier score.
3. :class:`Recovery`: for each depth ``k``, ``k`` corruption steps are all applied to a
   held-out molecule, and the network reconstructs, by sampling at temperature 1 and by
   greedy argmax, each until it draws stop or reaches a cap; exact recovery is the
   fraction whose result has the original's canonical key (``move_set.key``). Also the
   fraction whose reconstruction passed through the original at some point, the mean
   number of moves, the fraction that hit the cap, and the mean ``p(stop)`` on the
   corrupted state.
4. :class:`AtomChange`: mean (signed and absolute) change in heavy atoms per chain
   transition, over the chains of part 5.
5. :class:`Stationarity`: many chains (:class:`~ric.sampling.chain.ChainSampler`, one
   batch) start from held-out molecules; after ``t`` transitions, for each requested
   ``t``, the chains' states are scored against the held-out set with the GuacaMol
   KL-divergence score (:mod:`ric.metrics.distribution`) and the FCD
   (:mod:`ric.metrics.fcd`). The same scores of the starting states are given for
   reference (:attr:`Stationarity.start`): with few chains, the FCD of any small set to
   the held-out set is large, so compare the curve with that start value, not with 0.

Every random draw is seeded: the corrupted example ``j`` of part 1 uses
``example_rng(seed, EXAMPLE_EPOCH + j // n, j % n)`` (``n`` molecules), the corruption
and sampled reconstruction of molecule ``i`` at depth ``k`` use
``example_rng(seed, RECOVERY_EPOCH + k, i)``, and the chains use
:meth:`ChainSampler.run`'s seeding with ``seed``. Results do not depend on batch sizes.
"""
from __future__ import annotations

import logging
import math
import time
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.moves.protocol import STOP
from ric.sampling.chain import chain_starts

__all__ = [
    "EXAMPLE_EPOCH",
    "RECOVERY_EPOCH",
    "training_stop_frequency",
    "ExampleScores",
    "score_examples",
    "MoveLikelihood",
    "DepthRow",
    "ReliabilityBin",
    "StopCalibration",
    "ReconstructionStats",
    "RecoveryRow",
    "Recovery",
    "recovery",
    "AtomChange",
    "StationarityPoint",
    "Stationarity",
    "ReferenceSet",
    "run_chains",
    "ChainDiagnostics",
    "evaluate_chain",
    "plot_diagnostics",
]

logger = logging.getLogger(__name__)

#: Epoch offset of part 1's examples in :func:`~ric.corruption.example_rng` (training uses
#: epochs from 0 and its validation from 1,000,000, so these examples are neither).
EXAMPLE_EPOCH = 2_000_000
#: Epoch offset of the recovery experiment: depth ``k`` uses epoch ``RECOVERY_EPOCH + k``.
RECOVERY_EPOCH = 3_000_000


def training_stop_frequency(steps_mean: float) -> float:
    """The fraction of training examples labelled stop: ``P(k = 0) = E[1 / (N + 1)]``.

    ``N ~ Geometric(p) - 1`` on ``{0, 1, ...}`` with ``p = 1 / (1 + steps_mean)`` and
    ``k ~ Uniform{0..N}``, so ``P(k = 0) = sum_n p (1 - p)^n / (n + 1) = p ln(1/p) / (1 - p)``.
    """
    if steps_mean <= 0:
        return 1.0
    p = 1.0 / (1.0 + steps_mean)
    return p * math.log(1.0 / p) / (1.0 - p)


def _mean(values: Any) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if values.size else None


def _progress(total: int, desc: str, unit: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=False)


# ============================================================================ 1-2. examples


@dataclass
class ExampleScores:
    """Per-example results of :func:`score_examples` (arrays of length ``n``).

    Attributes:
        depth: corruption steps taken ``k`` (0: the clean molecule, labelled stop).
        is_stop: whether the label is stop.
        nll: negative log-likelihood of the label (nats).
        hit: whether the label is the highest-scoring move (ties: first in flat order).
        p_stop: predicted probability of stop.
        num_moves: legal moves of the corrupted state (stop excluded).
    """

    depth: np.ndarray
    is_stop: np.ndarray
    nll: np.ndarray
    hit: np.ndarray
    p_stop: np.ndarray
    num_moves: np.ndarray

    def __len__(self) -> int:
        return int(self.depth.size)


@torch.no_grad()
def score_examples(
    model: torch.nn.Module,
    move_set: Any,
    graphs: Sequence[Any],
    n_examples: int,
    *,
    steps_mean: float = 5.0,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = False,
) -> ExampleScores:
    """Score the label moves of ``n_examples`` seeded corrupted examples of ``graphs``.

    Example ``j`` corrupts ``graphs[j % len(graphs)]`` with
    ``example_rng(seed, EXAMPLE_EPOCH + j // len(graphs), j % len(graphs))``, exactly as a
    training example (:func:`ric.corruption.corrupt`), and is scored as training's
    validation does (:func:`ric.nn.data.make_example`, :func:`~ric.nn.data.collate`,
    ``scores.nll`` / ``scores.top1``).
    """
    from ric.nn.data import collate, make_example

    if not graphs:
        raise ValueError("no molecules to corrupt")
    model.eval()
    device = next(model.parameters()).device
    config = CorruptionConfig(steps_mean)
    n = len(graphs)
    cols: dict[str, list] = {k: [] for k in ("depth", "is_stop", "nll", "hit", "p_stop", "num_moves")}
    bar = _progress(n_examples, "reverse moves", "ex", progress)
    try:
        for start in range(0, n_examples, batch_size):
            items = []
            for j in range(start, min(start + batch_size, n_examples)):
                ex = corrupt(move_set, graphs[j % n], example_rng(seed, EXAMPLE_EPOCH + j // n, j % n), config)
                encoding = move_set.encode_moves(ex.corrupted)
                items.append(make_example(move_set, ex.corrupted, ex.reverse_move, encoding=encoding))
                cols["depth"].append(ex.steps)
                cols["is_stop"].append(ex.steps == 0)
                cols["num_moves"].append(encoding.num_moves)
            batch = collate(items).to(device)
            scores = model(batch)
            cols["nll"] += scores.nll(batch.target).double().cpu().tolist()
            cols["hit"] += scores.top1(batch.target).cpu().tolist()
            cols["p_stop"] += torch.exp(scores.stop - scores.log_normalizer()).double().cpu().tolist()
            bar.update(len(items))
    finally:
        bar.close()
    dtypes = {"depth": np.int64, "is_stop": bool, "hit": bool, "num_moves": np.int64}
    return ExampleScores(**{k: np.asarray(v, dtype=dtypes.get(k, np.float64)) for k, v in cols.items()})


@dataclass
class LabelGroup:
    """NLL and top-1 accuracy over the examples of one label kind."""

    n: int
    nll: float | None
    top1: float | None


@dataclass
class MoveLikelihood:
    """Part 1: the label move's likelihood on seeded corrupted examples.

    Attributes:
        n: examples.
        nll: mean negative log-likelihood of the label (nats per example).
        top1: fraction of examples whose label is the model's highest-scoring move.
        stop_fraction: fraction of examples labelled stop (observed).
        baseline_stop_probability: ``q``, the training stop frequency
            (:func:`training_stop_frequency`).
        baseline_nll: mean NLL of the stop-only baseline (``p(stop) = q``, the rest spread
            uniformly over the legal moves).
        baseline_top1: its top-1 accuracy (always stop): the fraction labelled stop.
        stop_labels, move_labels: the figures over the stop-labelled and the
            move-labelled examples separately.
    """

    n: int
    nll: float
    top1: float
    stop_fraction: float
    baseline_stop_probability: float
    baseline_nll: float
    baseline_top1: float
    stop_labels: LabelGroup
    move_labels: LabelGroup

    @classmethod
    def from_scores(cls, scores: ExampleScores, stop_probability: float) -> "MoveLikelihood":
        if not len(scores):
            raise ValueError("no examples")
        q = min(max(stop_probability, 1e-12), 1.0 - 1e-12)
        baseline = np.where(
            scores.is_stop, -math.log(q), -math.log(1.0 - q) + np.log(np.maximum(scores.num_moves, 1))
        )

        def group(mask: np.ndarray) -> LabelGroup:
            return LabelGroup(int(mask.sum()), _mean(scores.nll[mask]), _mean(scores.hit[mask]))

        return cls(
            n=len(scores),
            nll=float(scores.nll.mean()),
            top1=float(scores.hit.mean()),
            stop_fraction=float(scores.is_stop.mean()),
            baseline_stop_probability=float(stop_probability),
            baseline_nll=float(baseline.mean()),
            baseline_top1=float(scores.is_stop.mean()),
            stop_labels=group(scores.is_stop),
            move_labels=group(~scores.is_stop),
        )


@dataclass
class DepthRow:
    """Stop calibration at one corruption depth ``k``."""

    k: int
    n: int
    mean_p_stop: float
    stop_rate: float
    nll: float
    top1: float


@dataclass
class ReliabilityBin:
    """Examples whose predicted ``p(stop)`` lies in ``[lo, hi)`` (the last bin includes 1)."""

    lo: float
    hi: float
    n: int
    mean_p_stop: float | None
    stop_rate: float | None


@dataclass
class StopCalibration:
    """Part 2: predicted ``p(stop)`` against how often stop is the label.

    Attributes:
        by_depth: one row per corruption depth present among the examples.
        reliability: equal-width bins of predicted ``p(stop)``.
        ece: expected calibration error, ``sum_b n_b / n |mean p(stop)_b - stop rate_b|``.
        brier: mean squared error of ``p(stop)`` against the stop label.
        mean_p_stop, stop_rate: over all examples.
    """

    by_depth: list[DepthRow]
    reliability: list[ReliabilityBin]
    ece: float
    brier: float
    mean_p_stop: float
    stop_rate: float

    @classmethod
    def from_scores(cls, scores: ExampleScores, bins: int = 10) -> "StopCalibration":
        if not len(scores):
            raise ValueError("no examples")
        p, y = scores.p_stop, scores.is_stop.astype(np.float64)
        by_depth = []
        for k in np.unique(scores.depth).tolist():
            m = scores.depth == k
            by_depth.append(DepthRow(int(k), int(m.sum()), float(p[m].mean()), float(y[m].mean()),
                                     float(scores.nll[m].mean()), float(scores.hit[m].mean())))
        which = np.minimum((p * bins).astype(np.int64), bins - 1)
        table, ece = [], 0.0
        for b in range(bins):
            m = which == b
            count = int(m.sum())
            mean_p, rate = _mean(p[m]), _mean(y[m])
            if count:
                ece += count / len(p) * abs(mean_p - rate)
            table.append(ReliabilityBin(b / bins, (b + 1) / bins, count, mean_p, rate))
        return cls(by_depth, table, float(ece), float(np.mean((p - y) ** 2)), float(p.mean()), float(y.mean()))


# ============================================================================ 3. recovery


@dataclass
class ReconstructionStats:
    """How one reconstruction mode did at one depth.

    Attributes:
        exact: fraction whose result has the original's key.
        passed_through: fraction that visited the original at some point (the corrupted
            state included), whether or not they stopped there.
        mean_moves: mean number of moves made before stop or the cap.
        capped: fraction that reached the cap without drawing stop.
    """

    exact: float
    passed_through: float
    mean_moves: float
    capped: float


@dataclass
class RecoveryRow:
    """Exact recovery after ``k`` corruption steps.

    Attributes:
        k: corruption steps applied.
        n: molecules whose corruption took all ``k`` steps (the others are left out).
        short_walks: molecules left out because no edit was legal before ``k`` steps.
        unchanged: fraction whose corrupted state equals the original (e.g. a fragment
            added and deleted again); stopping at once recovers these.
        mean_p_stop: mean predicted ``p(stop)`` on the corrupted states.
        sampled: reconstruction by sampling at temperature 1.
        greedy: reconstruction by greedy argmax.

    The fractions are ``None`` when ``n`` is 0.
    """

    k: int
    n: int
    short_walks: int
    unchanged: float | None
    mean_p_stop: float | None
    sampled: ReconstructionStats | None
    greedy: ReconstructionStats | None


@dataclass
class Recovery:
    """Part 3: exact recovery by corruption depth (``cap``: most reconstruction moves)."""

    cap: int
    rows: list[RecoveryRow]


@dataclass
class _Trace:
    state: Any
    target: str
    rng: np.random.Generator | None
    moves: int = 0
    passed: bool = False
    capped: bool = False
    p_stop: float = float("nan")
    done: bool = False


def _choose(move_set: Any, state: Any, encoding: Any, logits: np.ndarray, rng: np.random.Generator | None,
            max_redraws: int) -> tuple[Any, Any]:
    """Pick a move from flat logits ``[stop, atom..., pair..., set...]``: greedy argmax when
    ``rng`` is None, else a Gumbel-max draw at temperature 1. A move whose result RDKit
    rejects is masked and another picked, up to ``max_redraws`` times, as the chain does.
    Returns ``(move, new state)``, ``(STOP, None)`` for stop or when nothing is left."""
    logits = np.array(logits, dtype=np.float64)
    for _ in range(max_redraws + 1):
        noisy = logits if rng is None else logits + rng.gumbel(size=logits.shape[0])
        flat = int(np.argmax(noisy))
        if flat == 0 or not np.isfinite(logits[flat]):
            return STOP, None
        move = move_set.move_at(state, encoding, *encoding.kind_row(flat))
        new = move_set.apply(state, move)
        if new.sanitizes() and new.is_connected():
            return move, new
        logits[flat] = -np.inf
    return STOP, None


def _reconstruct(scorer: Any, move_set: Any, traces: list[_Trace], cap: int, batch_size: int,
                 max_redraws: int, bar: Any) -> None:
    """Run every trace until stop or ``cap`` moves, in batches of active traces."""
    for t in traces:
        t.passed = move_set.key(t.state) == t.target
    while True:
        active = [t for t in traces if not t.done]
        if not active:
            return
        for start in range(0, len(active), batch_size):
            chunk = active[start : start + batch_size]
            encodings = [move_set.encode_moves(t.state) for t in chunk]
            all_logits = scorer([move_set.featurise(t.state) for t in chunk], encodings)
            for t, enc, logits in zip(chunk, encodings, all_logits):
                if t.moves == 0:
                    top = float(np.max(logits))
                    t.p_stop = float(math.exp(logits[0] - top) / np.exp(logits - top).sum())
                move, new = _choose(move_set, t.state, enc, logits, t.rng, max_redraws)
                if new is None:
                    t.done = True
                else:
                    t.state, t.moves = new, t.moves + 1
                    t.passed = t.passed or move_set.key(new) == t.target
                    if t.moves >= cap:
                        t.done = t.capped = True
                if t.done:
                    bar.update(1)


def _stats(move_set: Any, traces: list[_Trace]) -> ReconstructionStats | None:
    if not traces:
        return None
    return ReconstructionStats(
        exact=float(np.mean([move_set.key(t.state) == t.target for t in traces])),
        passed_through=float(np.mean([t.passed for t in traces])),
        mean_moves=float(np.mean([t.moves for t in traces])),
        capped=float(np.mean([t.capped for t in traces])),
    )


def recovery(
    model_or_scorer: Any,
    move_set: Any,
    graphs: Sequence[Any],
    depths: Sequence[int] = tuple(range(1, 9)),
    *,
    cap: int = 20,
    seed: int = 0,
    batch_size: int = 64,
    max_redraws: int = 10,
    progress: bool = False,
) -> Recovery:
    """Part 3: corrupt each molecule by exactly ``k`` steps and reconstruct it.

    Molecule ``i`` at depth ``k`` takes ``k`` draws of the corruption step distribution
    with ``example_rng(seed, RECOVERY_EPOCH + k, i)``; the sampled reconstruction goes on
    drawing from that generator; the greedy one needs none.

    Args:
        model_or_scorer: a :class:`~ric.nn.model.ReconstructionModel`, or a scorer as
            :class:`~ric.sampling.chain.ChainSampler` takes.
        move_set: its move set.
        graphs: the clean molecules.
        depths: the ``k`` to try (default 1..8).
        cap: most moves per reconstruction (default 20).
        seed, batch_size, max_redraws, progress: as the names say (``max_redraws``: moves
            picked again when RDKit rejects a result, as :class:`ChainConfig`).
    """
    scorer = _as_scorer(model_or_scorer)
    if cap < 1:
        raise ValueError(f"cap must be >= 1, got {cap}")
    rows = []
    bar = _progress(2 * len(graphs) * len(depths), "recovery", "rec", progress)
    try:
        for k in depths:
            sampled, greedy, short, unchanged = [], [], 0, []
            for i, graph in enumerate(graphs):
                rng = example_rng(seed, RECOVERY_EPOCH + k, i)
                state, taken = graph, 0
                for _ in range(k):
                    move = move_set.sample_corruption_move(state, rng)
                    if move is None:
                        break
                    state, taken = move_set.apply(state, move), taken + 1
                if taken < k:
                    short += 1
                    bar.update(2)
                    continue
                target = move_set.key(graph)
                unchanged.append(move_set.key(state) == target)
                sampled.append(_Trace(state, target, rng))
                greedy.append(_Trace(state, target, None))
            _reconstruct(scorer, move_set, sampled + greedy, cap, batch_size, max_redraws, bar)
            rows.append(RecoveryRow(
                k=int(k), n=len(sampled), short_walks=short, unchanged=_mean(unchanged),
                mean_p_stop=_mean([t.p_stop for t in sampled]),
                sampled=_stats(move_set, sampled), greedy=_stats(move_set, greedy),
            ))  # fmt: skip
            if short:
                logger.info("recovery k=%d: %d molecules left out (no legal edit before %d steps)", k, short, k)
    finally:
        bar.close()
    return Recovery(cap, rows)


def _as_scorer(model_or_scorer: Any) -> Any:
    if isinstance(model_or_scorer, torch.nn.Module):
        from ric.sampling.chain import NetworkScorer

        return NetworkScorer(model_or_scorer)
    return model_or_scorer


# ============================================================================ 4-5. chains


@dataclass
class AtomChange:
    """Part 4: heavy-atom change per chain transition.

    Attributes:
        transitions: chain transitions measured (chains times transitions).
        mean_delta: mean signed change in heavy atoms per transition.
        mean_abs_delta: mean absolute change.
        changed_fraction: fraction of transitions that changed the state.
        ended: fraction of reconstructions that ended by ``stop``, ``revisit`` or ``cap``.
    """

    transitions: int
    mean_delta: float
    mean_abs_delta: float
    changed_fraction: float
    ended: dict[str, float]


@dataclass
class StationarityPoint:
    """The chains' states after ``transitions`` transitions, against the held-out set.

    Attributes:
        transitions: ``t`` (0: the starting states).
        n_states: chains.
        n_unique: distinct valid states (the KL score uses these).
        kl_score: GuacaMol KL-divergence score (1 is a perfect match); ``None`` with
            fewer than 2 distinct states.
        fcd: Fréchet ChemNet Distance (lower is better); ``None`` with fewer than 2 states.
        fcd_score: ``exp(-0.2 fcd)``.
        mean_heavy_atoms: mean heavy atoms per state.
        same_as_start: fraction of chains whose state is their starting molecule.
        heavy_atom_quantiles: the 10th, 50th and 90th percentiles and the maximum of the
            states' heavy atoms: a drift of every chain moves the median, a few runaway
            chains only the upper end.
    """

    transitions: int
    n_states: int
    n_unique: int
    kl_score: float | None
    fcd: float | None
    fcd_score: float | None
    mean_heavy_atoms: float
    same_as_start: float
    heavy_atom_quantiles: dict[str, float] = field(default_factory=dict)


@dataclass
class Stationarity:
    """Part 5: KL score and FCD of the chains' states against the held-out set.

    Attributes:
        chains: chains run (in one batch).
        n_reference: held-out molecules in the reference (distinct valid for KL; all for FCD).
        start: the starting states' point (``transitions = 0``).
        curve: one point per requested transition count, in increasing order.
    """

    chains: int
    n_reference: int
    start: StationarityPoint
    curve: list[StationarityPoint]


@dataclass
class ReferenceSet:
    """KL descriptors and ChemNet statistics of the held-out molecules, computed once."""

    smiles: list[str]
    kl: dict[str, np.ndarray]
    fcd: Any

    @classmethod
    def compute(cls, smiles: Sequence[str], device: Any = "cpu") -> "ReferenceSet":
        from ric.metrics.distribution import kl_descriptors
        from ric.metrics.fcd import chemnet_stats

        smiles = list(smiles)
        return cls(smiles, kl_descriptors(_distinct_mols(smiles)), chemnet_stats(smiles, device=device))


def _distinct_mols(smiles: Sequence[str]) -> list[Any]:
    """Distinct valid molecules (stereo-free canonical), as the KL score takes them."""
    from rdkit import Chem

    from ric.metrics.distribution import canonical_or_none

    unique = sorted({c for c in map(canonical_or_none, smiles) if c is not None})
    return [Chem.MolFromSmiles(s) for s in unique]


def _heavy_atoms(smiles: str) -> int:
    from rdkit import Chem

    from ric.molecules.rdkit_utils import quiet_rdkit

    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles)
    return mol.GetNumHeavyAtoms() if mol is not None else 0


def _point(t: int, states: Sequence[str], starts: Sequence[str], reference: ReferenceSet,
           device: Any) -> StationarityPoint:
    from ric.metrics.distribution import kl_descriptors, kl_divergence_from_descriptors
    from ric.metrics.fcd import chemnet_stats, frechet_distance

    mols = _distinct_mols(states)
    kl = fcd = None
    if len(mols) >= 2 and len(reference.kl["MolWt"]) >= 2:
        kl = kl_divergence_from_descriptors(kl_descriptors(mols), reference.kl).score
    if len(states) >= 2:
        fcd = frechet_distance(chemnet_stats(states, device=device), reference.fcd)
    sizes = [_heavy_atoms(s) for s in states]
    return StationarityPoint(
        transitions=int(t), n_states=len(states), n_unique=len(mols), kl_score=kl, fcd=fcd,
        fcd_score=None if fcd is None else math.exp(-0.2 * fcd),
        mean_heavy_atoms=float(np.mean(sizes)),
        same_as_start=float(np.mean([a == b for a, b in zip(states, starts)])),
        heavy_atom_quantiles={"p10": float(np.percentile(sizes, 10)), "p50": float(np.percentile(sizes, 50)),
                              "p90": float(np.percentile(sizes, 90)), "max": float(np.max(sizes))},
    )  # fmt: skip


def run_chains(
    model_or_scorer: Any,
    move_set: Any,
    starts: Sequence[Any],
    reference: ReferenceSet,
    *,
    chains: int = 64,
    transitions: Sequence[int] = (1, 10, 100),
    config: Any = None,
    seed: int = 0,
    device: Any = "cpu",
    progress: bool = False,
    processes: int = 1,
) -> tuple[AtomChange, Stationarity]:
    """Parts 4 and 5: run ``chains`` chains from ``starts`` up to ``max(transitions)``.

    Args:
        model_or_scorer: the network (or a scorer, as :class:`ChainSampler` takes).
        move_set: its move set.
        starts: starting molecules (graphs); chain ``c`` starts from
            ``starts[chain_starts(len(starts), chains, seed)[c]]``.
        reference: the held-out set's statistics.
        chains: chains run together in one batch (at least 1).
        transitions: transition counts to score (each >= 1).
        config: :class:`~ric.sampling.chain.ChainConfig` (default ``ChainConfig()``).
        seed: the chains' seed.
        device: where ChemNet runs.
        progress: tqdm bars.
        processes: worker processes the chains are split over (default 1; see
            :meth:`~ric.sampling.chain.ChainSampler.run`).
    """
    from ric.sampling.chain import ChainConfig, ChainSampler

    checkpoints = sorted({int(t) for t in transitions})
    if not checkpoints or checkpoints[0] < 1:
        raise ValueError(f"transition counts must be >= 1, got {list(transitions)}")
    if chains < 1:
        raise ValueError(f"chains must be >= 1, got {chains}")
    config = config or ChainConfig()
    last_t = checkpoints[-1]
    start_smiles = [starts[i].smiles() for i in chain_starts(len(starts), chains, seed)]
    sampler = ChainSampler(move_set, _as_scorer(model_or_scorer), list(starts), config)
    atoms = [_heavy_atoms(s) for s in start_smiles]
    current = list(start_smiles)
    states: dict[int, list[str | None]] = {t: [None] * chains for t in checkpoints}
    deltas, changed, ended, finished = [], 0, {"stop": 0, "revisit": 0, "cap": 0}, 0
    bar = _progress(chains * last_t, "chains", "transition", progress)
    try:
        for sample in sampler.run(chains, seed, processes=processes):
            c, t = sample.chain, sample.transition
            if t > last_t:
                continue
            n_atoms = _heavy_atoms(sample.smiles)
            deltas.append(n_atoms - atoms[c])
            changed += sample.smiles != current[c]
            atoms[c], current[c] = n_atoms, sample.smiles
            ended[sample.ended] = ended.get(sample.ended, 0) + 1
            if t in states:
                states[t][c] = sample.smiles
            bar.update(1)
            if t == last_t:
                finished += 1
                if finished == chains:
                    break
    finally:
        bar.close()
    d = np.asarray(deltas, dtype=np.float64)
    change = AtomChange(len(d), float(d.mean()), float(np.abs(d).mean()), changed / len(d),
                        {k: v / len(d) for k, v in ended.items()})
    points = []
    bar = _progress(len(checkpoints) + 1, "KL/FCD", "point", progress)
    try:
        start_point = _point(0, start_smiles, start_smiles, reference, device)
        bar.update(1)
        for t in checkpoints:
            points.append(_point(t, [s for s in states[t] if s is not None], start_smiles, reference, device))
            bar.update(1)
    finally:
        bar.close()
    return change, Stationarity(chains, len(reference.smiles), start_point, points)


# ============================================================================ all parts


@dataclass
class ChainDiagnostics:
    """Everything :func:`evaluate_chain` measured; parts not run are ``None``.

    Attributes:
        model: ``"chain"``.
        move_set: the move set's name.
        n: held-out molecules used.
        seed: the seed.
        steps_mean: mean corruption length of the model's training.
        likelihood, calibration, recovery, atom_change, stationarity: the five parts.
        seconds: wall time of each part.
    """

    model: str
    move_set: str
    n: int
    seed: int
    steps_mean: float
    likelihood: MoveLikelihood | None = None
    calibration: StopCalibration | None = None
    recovery: Recovery | None = None
    atom_change: AtomChange | None = None
    stationarity: Stationarity | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON: NaN becomes ``None``."""
        return _json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChainDiagnostics":
        """Inverse of :meth:`as_dict` (``None`` where a float was NaN stays ``None``)."""
        return _build(cls, data)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _build(tp: Any, value: Any) -> Any:
    """``value`` (plain data) as type ``tp``: dataclasses, ``list[T]``, ``dict[str, T]``, ``T | None``."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], value)
    if origin is list:
        return [_build(typing.get_args(tp)[0], v) for v in value]
    if origin is dict:
        return {k: _build(typing.get_args(tp)[1], v) for k, v in value.items()}
    if is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in fields(tp) if f.name in value})
    if tp is float:
        return float(value)
    return value


def evaluate_chain(
    model: torch.nn.Module,
    move_set: Any,
    graphs: Sequence[Any],
    *,
    steps_mean: float = 5.0,
    examples: int = 1000,
    depths: Sequence[int] = tuple(range(1, 9)),
    recovery_molecules: int = 100,
    recovery_cap: int = 20,
    chains: int = 64,
    transitions: Sequence[int] = (1, 10, 100),
    chain_config: Any = None,
    seed: int = 0,
    batch_size: int = 64,
    device: Any = "cpu",
    progress: bool = False,
    processes: int = 1,
) -> ChainDiagnostics:
    """All five diagnostics of a chain model on held-out molecules.

    Args:
        model: the trained network.
        move_set: its move set.
        graphs: held-out molecules (standardised graphs the move set can use); the
            reference set of part 5 and the source of every example.
        steps_mean: the corruption's mean length in training (from the checkpoint).
        examples: corrupted examples for parts 1-2 (0 skips them; they cycle over ``graphs``).
        depths: corruption depths of part 3 (empty skips it).
        recovery_molecules: the first this many of ``graphs`` are used in part 3.
        recovery_cap: most reconstruction moves in part 3.
        chains: chains of parts 4-5 (0 skips them); they start from the first ``chains`` of
            ``graphs`` in the order ``np.random.default_rng([seed, 5]).permutation`` (all of
            them, cycled, when there are fewer).
        transitions: transition counts scored in part 5.
        chain_config: :class:`~ric.sampling.chain.ChainConfig` of the chains (default: the
            defaults with ``steps_mean``).
        seed: fixes every draw.
        batch_size: states per network call in parts 1-3.
        device: where ChemNet runs.
        progress: tqdm bars.
        processes: worker processes of the chains of parts 4-5 (default 1).
    """
    from ric.sampling.chain import ChainConfig

    if not graphs:
        raise ValueError("no held-out molecules")
    result = ChainDiagnostics("chain", move_set.name, len(graphs), seed, float(steps_mean))
    if examples > 0:
        t0 = time.perf_counter()
        scores = score_examples(model, move_set, graphs, examples, steps_mean=steps_mean, seed=seed,
                                batch_size=batch_size, progress=progress)
        result.likelihood = MoveLikelihood.from_scores(scores, training_stop_frequency(steps_mean))
        result.calibration = StopCalibration.from_scores(scores)
        result.seconds["likelihood_calibration"] = time.perf_counter() - t0
        logger.info("reverse moves: NLL %.3f (stop-only %.3f), top-1 %.3f (stop-only %.3f) on %d examples",
                    result.likelihood.nll, result.likelihood.baseline_nll, result.likelihood.top1,
                    result.likelihood.baseline_top1, examples)
    if depths and recovery_molecules > 0:
        t0 = time.perf_counter()
        result.recovery = recovery(model, move_set, list(graphs[:recovery_molecules]), depths, cap=recovery_cap,
                                   seed=seed, batch_size=batch_size, progress=progress)
        result.seconds["recovery"] = time.perf_counter() - t0
        logger.info("exact recovery (sampled/greedy) by k: %s", ", ".join(
            f"{r.k}: {r.sampled.exact:.2f}/{r.greedy.exact:.2f}" for r in result.recovery.rows))
    if chains > 0:
        t0 = time.perf_counter()
        reference = ReferenceSet.compute([g.smiles() for g in graphs], device=device)
        order = np.random.default_rng([seed, 5]).permutation(len(graphs))[:chains]
        starts = [graphs[i] for i in order]
        config = chain_config or ChainConfig(steps_mean=steps_mean)
        result.atom_change, result.stationarity = run_chains(
            model, move_set, starts, reference, chains=chains, transitions=transitions, config=config, seed=seed,
            device=device, progress=progress, processes=processes)  # fmt: skip
        result.seconds["chains"] = time.perf_counter() - t0
        logger.info("stationarity (t: KL score, FCD): start %s; %s",
                    _fmt_point(result.stationarity.start),
                    "; ".join(f"{p.transitions}: {_fmt_point(p)}" for p in result.stationarity.curve))
    return result


def _fmt_point(p: StationarityPoint) -> str:
    kl = "-" if p.kl_score is None else f"{p.kl_score:.3f}"
    fcd = "-" if p.fcd is None else f"{p.fcd:.2f}"
    return f"{kl}, {fcd}"


# ============================================================================ plot


def plot_diagnostics(result: ChainDiagnostics, path: str | Path) -> Path:
    """Draw the reliability diagram, ``p(stop)`` by depth, recovery by ``k`` and the
    stationarity curve into one PNG at ``path`` (written atomically; matplotlib, Agg)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ric.files import atomic_write

    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    ax = axes[0]
    if result.calibration is not None:
        cal = result.calibration
        full = [b for b in cal.reliability if b.n]
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="perfect calibration")
        ax.plot([b.mean_p_stop for b in full], [b.stop_rate for b in full], "o-", label="model")
        for b in full:
            ax.annotate(str(b.n), (b.mean_p_stop, b.stop_rate), fontsize=7, xytext=(3, -9),
                        textcoords="offset points")
        ax.set_title(f"stop reliability (ECE {cal.ece:.3f})")
        ax.legend(loc="upper left", fontsize=8)
    _frame(ax, "predicted p(stop)", "observed stop frequency", result.calibration is None, "parts 1-2 skipped")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)

    ax = axes[1]
    if result.calibration is not None:
        rows = result.calibration.by_depth
        ks = [r.k for r in rows]
        ax.bar(ks, [r.mean_p_stop for r in rows], color="C0", alpha=0.7, label="mean predicted p(stop)")
        ax.plot(ks, [r.stop_rate for r in rows], "k_", ms=14, mew=2, label="observed stop rate")
        ax.set_title("p(stop) by corruption depth k")
        ax.legend(fontsize=8)
    _frame(ax, "corruption steps k", "p(stop)", result.calibration is None, "parts 1-2 skipped")

    ax = axes[2]
    if result.recovery is not None and result.recovery.rows:
        rows = result.recovery.rows
        ks = [r.k for r in rows]
        ax.plot(ks, [r.sampled.exact for r in rows], "o-", label="sampled (T = 1)")
        ax.plot(ks, [r.greedy.exact for r in rows], "s-", label="greedy")
        ax.plot(ks, [r.sampled.passed_through for r in rows], "o:", color="C0", alpha=0.6,
                label="sampled: passed through")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"exact recovery (cap {result.recovery.cap} moves)")
        ax.legend(fontsize=8)
    _frame(ax, "corruption steps k", "fraction recovered", result.recovery is None, "part 3 skipped")

    ax = axes[3]
    if result.stationarity is not None:
        st = result.stationarity
        ts = [p.transitions for p in st.curve]
        ax.plot(ts, [p.kl_score for p in st.curve], "o-", color="C2", label="KL score (left)")
        if st.start.kl_score is not None:
            ax.axhline(st.start.kl_score, color="C2", ls=":", lw=1, label="KL score of the starts")
        ax.set_ylim(0, 1.02)
        right = ax.twinx()
        right.plot(ts, [p.fcd for p in st.curve], "s-", color="C3", label="FCD (right)")
        if st.start.fcd is not None:
            right.axhline(st.start.fcd, color="C3", ls=":", lw=1, label="FCD of the starts")
        right.set_ylabel("FCD (lower is better)")
        right.set_ylim(bottom=0)
        if len(ts) > 1:
            ax.set_xscale("log")
        ax.set_xticks(ts, [str(t) for t in ts])
        ax.minorticks_off()
        ax.set_title(f"{st.chains} chains against {st.n_reference} held-out molecules")
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower right")
    _frame(ax, "transitions", "KL score (1 = matches held-out)", result.stationarity is None, "part 5 skipped")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buffer.getvalue()), binary=True)


def _frame(ax: Any, xlabel: str, ylabel: str, skipped: bool, note: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if skipped:
        ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes, color="0.4")
