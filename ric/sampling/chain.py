"""The reversible-inductive-construction Markov chain, many chains per batch.

One transition of a chain from its state ``x``: draw a corruption ``x̃`` from the fixed
corruption distribution (all ``N`` steps of a trajectory, ``N ~ Geometric - 1``), then
reconstruct by drawing moves from the learned distribution ``p_θ(move | state)`` until it
draws stop, returns to a state already visited in this reconstruction (unless
``stop_on_revisit`` is off), or reaches the cap on reconstruction steps. The resulting state is the chain's next state and, after
burn-in and thinning, a sample. Every state is valid: moves come from the move set's
legal moves, and each result is also checked with the move set's ``is_valid`` (RDKit
sanitisation for molecules); a drawn move whose result fails it is masked and another
move drawn (counted in :attr:`Sample.redraws`). The sampler knows no domain: it works
through the move-set protocol (:mod:`ric.moves.protocol`).

Many chains advance together: each reconstruction step featurises the states of all
chains that are reconstructing (CPU), runs one batched network forward, and draws one
move per chain with Gumbel noise from that chain's own random generator, so the
samples depend only on the seed, the checkpoint and the number of chains.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from ric.moves.encoding import MoveEncoding
from ric.moves.protocol import Stop
from ric.nn.data import collate_states
from ric.sampling.logits import FlatLogits, block_logits
from ric.runtime.gc_tuning import tune_gc

__all__ = ["ChainConfig", "Sample", "ChainSampler", "NetworkScorer", "UniformScorer", "chain_starts"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainConfig:
    """Settings of the Markov chain.

    Attributes:
        steps_mean: mean corruption length per transition (default 5, the training value).
        burn_in: transitions per chain discarded before the first sample (default 0).
        thin: keep every ``thin``-th transition after burn-in (default 1).
        max_reconstruction_steps: cap on moves per reconstruction (default 40).
        max_atoms: reject transitions whose result has more nodes (heavy atoms, graph
            vertices; default: no cap).
        temperature: divides the network's logits (default 1.0).
        max_redraws: moves drawn again per step when a result fails the move set's
            ``is_valid`` (default 10).
        match_corruption: also cap each reconstruction at the number of corruption moves
            of its transition (at least 1); default ``False``. Used by the corruption-only
            baseline, whose uniformly random moves almost never draw stop.
        stop_on_revisit: end a reconstruction when it returns to a state it has already
            visited (default ``True``, as the published sampler); ``False`` ends it only on
            stop or the cap.
    """

    steps_mean: float = 5.0
    burn_in: int = 0
    thin: int = 1
    max_reconstruction_steps: int = 40
    max_atoms: int | None = None
    temperature: float = 1.0
    max_redraws: int = 10
    match_corruption: bool = False
    stop_on_revisit: bool = True

    def __post_init__(self) -> None:
        import math

        checks = [
            ("steps_mean", math.isfinite(self.steps_mean) and self.steps_mean > 0, "a finite number > 0"),
            ("burn_in", self.burn_in >= 0, ">= 0"),
            ("thin", self.thin >= 1, ">= 1"),
            ("max_reconstruction_steps", self.max_reconstruction_steps >= 1, ">= 1"),
            ("max_atoms", self.max_atoms is None or self.max_atoms >= 1, ">= 1"),
            ("temperature", math.isfinite(self.temperature) and self.temperature > 0, "a finite number > 0"),
            ("max_redraws", self.max_redraws >= 0, ">= 0"),
        ]
        for name, ok, wanted in checks:
            if not ok:
                raise ValueError(f"chain setting {name} must be {wanted}, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Sample:
    """One sample and the statistics of the transition that produced it.

    Attributes:
        text: the chain's new state in its domain's text form (canonical SMILES, graph6).
        chain: chain number.
        transition: transition number within the chain (1-based).
        corruption_steps: corruption moves applied in this transition.
        reconstruction_steps: moves drawn from the network before it stopped.
        ended: why reconstruction ended: ``"stop"``, ``"revisit"`` or ``"cap"``.
        rejected: the result broke the size cap, so the chain kept its previous state.
        redraws: drawn moves whose result failed the validity check (each replaced by another draw).
    """

    text: str
    chain: int
    transition: int
    corruption_steps: int
    reconstruction_steps: int
    ended: str
    rejected: bool
    redraws: int

    STATS = ("chain", "transition", "corruption_steps", "reconstruction_steps", "ended", "rejected", "redraws")

    @property
    def smiles(self) -> str:
        """:attr:`text` (the name molecule users know it by)."""
        return self.text

    def stats_row(self) -> list[str]:
        return [str(getattr(self, k)) for k in self.STATS]


class NetworkScorer:
    """Scores candidates with a trained :class:`~ric.nn.model.ReconstructionModel`.

    Args:
        model: the network (put in eval mode).
        device: where to run it (default: the model's device).
    """

    def __init__(self, model: torch.nn.Module, device: torch.device | None = None) -> None:
        self.model = model.eval()
        self.device = device if device is not None else next(model.parameters()).device

    @torch.no_grad()
    def __call__(self, features: Sequence[tuple], encodings: Sequence[MoveEncoding]) -> list[np.ndarray]:
        """Logits per molecule, each flat ``[stop, atom..., pair..., set...]`` (float64).

        Args:
            features: per state, the move set's ``featurise`` output.
            encodings: per molecule, its legal moves.
        """
        batch = collate_states(features, encodings).to(self.device)
        scores = self.model(batch)
        logits = scores.logits.double().cpu().numpy()
        starts = scores.starts.cpu().numpy()
        counts = np.stack(
            [
                np.ones(len(encodings), dtype=np.int64),
                batch.num_atom_moves.cpu().numpy(),
                batch.num_pair_moves.cpu().numpy(),
                batch.num_sets.cpu().numpy(),
            ]
        )
        return [
            np.concatenate([logits[starts[k, b] : starts[k, b] + counts[k, b]] for k in range(4)])
            for b in range(len(encodings))
        ]

    @torch.no_grad()
    def score(self, features: Sequence[tuple], encodings: Sequence[MoveEncoding],
              temperature: float = 1.0) -> list[Any]:
        """Logits per state in the two-level form the sampler draws from
        (:class:`~ric.sampling.logits.BlockLogits`, divided by ``temperature``): the same
        distribution as :meth:`__call__`'s flat arrays, without building them.

        Args:
            features: per state, the move set's ``featurise`` output.
            encodings: per state, its legal moves.
            temperature: divides every logit (default 1.0).
        """
        batch = collate_states(features, encodings).to(self.device)
        return block_logits(self.model(batch), temperature)


class UniformScorer:
    """Uniformly random legal moves (stop included): the corruption-only ablation."""

    def __call__(self, features: Sequence[tuple], encodings: Sequence[MoveEncoding]) -> list[np.ndarray]:
        return [np.zeros(1 + e.num_moves, dtype=np.float64) for e in encodings]


@dataclass
class _Chain:
    index: int
    rng: np.random.Generator
    state: Any
    protected: frozenset[int]
    transitions: int = 0
    working: Any = None
    working_protected: frozenset[int] = frozenset()
    visited: dict[Any, list[Any]] = field(default_factory=dict)  # quick key -> states
    corruption_steps: int = 0
    reconstruction_steps: int = 0
    redraws: int = 0


def _shift_after_deletion(protected: frozenset[int], removed: Sequence[int]) -> frozenset[int]:
    removed = sorted(removed)
    return frozenset(a - sum(1 for r in removed if r < a) for a in protected)


def chain_starts(num_starts: int, chains: int, seed: int) -> list[int]:
    """Index of each chain's starting molecule among ``num_starts`` in :meth:`ChainSampler.run`
    ``(chains, seed)``: a seeded permutation of the starts, repeated when there are more chains."""
    order = np.random.default_rng(seed).permutation(num_starts)
    return [int(order[c % num_starts]) for c in range(chains)]


class ChainSampler:
    """Batched Markov chains of corruption and learned reconstruction.

    Args:
        move_set: the move set the network was trained with.
        scorer: :class:`NetworkScorer` or :class:`UniformScorer`, or any callable
            ``scorer(features, encodings) -> list of flat logit arrays`` (one per state,
            ordered ``[stop, atom..., pair..., set...]``).
        initial: starting states (e.g. standardised molecules); chain ``c`` starts from a
            seeded random choice among them.
        config: chain settings.
        protected: per starting molecule, atoms that must stay in every state (e.g. a
            scaffold match); default none.
    """

    def __init__(
        self,
        move_set: Any,
        scorer: Any,
        initial: Sequence[Any],
        config: ChainConfig = ChainConfig(),
        protected: Sequence[frozenset[int]] | None = None,
    ) -> None:
        if not initial:
            raise ValueError("the chain needs at least one starting molecule")
        self.move_set = move_set
        self.scorer = scorer
        self.initial = list(initial)
        self.protected = list(protected) if protected is not None else [frozenset()] * len(self.initial)
        self.config = config

    # ------------------------------------------------------------------ corruption
    def _corrupt(self, chain: _Chain) -> None:
        cfg = self.config
        ms = self.move_set
        planned = int(chain.rng.geometric(1.0 / (1.0 + cfg.steps_mean))) - 1
        state, protected = chain.state, chain.protected
        taken = 0
        for _ in range(planned):
            move = None
            for _try in range(20):  # redraw moves that would break the protected atoms
                candidate = ms.sample_corruption_move(state, chain.rng)
                if candidate is None or ms.preserves(state, candidate, protected):
                    move = candidate
                    break
            if move is None:
                break
            new = ms.apply(state, move)
            protected = _shift_after_deletion(protected, ms.removed_nodes(state, move))
            state = new
            taken += 1
        chain.working, chain.working_protected = state, protected
        chain.corruption_steps = taken
        chain.reconstruction_steps = 0
        chain.redraws = 0
        chain.visited = {}
        self._revisits(chain, state)

    # ------------------------------------------------------------------ one step
    def _score(self, features: list, encodings: list) -> list[Any]:
        """Each state's logits at the chain's temperature: the scorer's two-level form when
        it has one (``scorer.score``), else its flat arrays (:class:`FlatLogits`)."""
        temperature = self.config.temperature
        if hasattr(self.scorer, "score"):
            return self.scorer.score(features, encodings, temperature)
        flat = self.scorer(features, encodings)
        return [FlatLogits(a / temperature if temperature != 1.0 else a) for a in flat]

    def _draw(self, chain: _Chain, logits: Any, encoding: Any) -> tuple[Any, Any]:
        """Draw a move (Gumbel-max with the chain's generator); returns (move, new state or None for stop).

        The first draw uses ``logits.draw``; masking (protected atoms, a drawn move whose
        result fails ``is_valid``) switches to the flat array with those entries at ``-inf``.
        """
        ms = self.move_set
        state = chain.working
        masked = None
        if chain.working_protected:
            masked = logits.flat()
            masked[ms.forbidden_mask(state, encoding, chain.working_protected)] = -np.inf
        for _ in range(self.config.max_redraws + 1):
            flat = (logits if masked is None else FlatLogits(masked)).draw(chain.rng)
            if flat < 0:
                return None, None
            if flat == 0:
                return Stop(), None
            move = ms.move_at(state, encoding, *encoding.kind_row(flat))
            new = ms.apply(state, move)
            if ms.is_valid(new):
                return move, new
            chain.redraws += 1
            if masked is None:
                masked = logits.flat()
            masked[flat] = -np.inf
        return None, None

    def _finish(self, chain: _Chain, ended: str) -> Sample | None:
        cfg = self.config
        result = chain.working
        rejected = cfg.max_atoms is not None and self.move_set.size(result) > cfg.max_atoms
        if not rejected:
            chain.state, chain.protected = result, chain.working_protected
        chain.transitions += 1
        chain.working = None
        t = chain.transitions - cfg.burn_in
        if t <= 0 or t % cfg.thin:
            return None
        return Sample(
            text=self.move_set.format_state(chain.state),
            chain=chain.index,
            transition=chain.transitions,
            corruption_steps=chain.corruption_steps,
            reconstruction_steps=chain.reconstruction_steps,
            ended=ended,
            rejected=rejected,
            redraws=chain.redraws,
        )

    def _revisits(self, chain: _Chain, state: Any) -> bool:
        """Record ``state`` as visited by the chain's current reconstruction; True when an
        equal state (equal move-set ``key``) was visited before. Keys, which can be costly (a
        canonical SMILES), are computed only for states whose cheap ``quick_key`` collides
        with a visited one's: the same answer as comparing every key."""
        ms = self.move_set
        same = chain.visited.setdefault(ms.quick_key(state), [])
        if same:
            key = ms.key(state)
            if any(ms.key(other) == key for other in same):
                return True
        same.append(state)
        return False

    def _cap(self, chain: _Chain) -> int:
        cap = self.config.max_reconstruction_steps
        return min(cap, max(1, chain.corruption_steps)) if self.config.match_corruption else cap

    # ------------------------------------------------------------------ public
    def run(self, num_chains: int, seed: int = 0, processes: int = 1) -> Iterator[Sample]:
        """Run ``num_chains`` chains together forever, yielding samples as they complete.

        Args:
            num_chains: chains advanced in one batch.
            seed: fixes every draw: chain ``c`` uses the generator of ``(seed, c)``.
            processes: split the chains over this many worker processes (default 1: run
                them here). The samples come in the same order either way (by step, then
                chain); their states agree up to the last bits of the network's float
                arithmetic, which depend on how the chains are batched (as they do on the
                number of torch threads), so a seed fixes the output for a given
                ``processes``.
        """
        if num_chains < 1:
            raise ValueError(f"num_chains must be >= 1, got {num_chains}")
        processes = max(1, min(int(processes), num_chains))
        if processes == 1:
            for samples in self._steps(range(num_chains), num_chains, seed):
                yield from samples
        else:
            yield from _run_parallel(self, num_chains, seed, processes)

    def _steps(self, chain_ids: Sequence[int], num_chains: int, seed: int) -> Iterator[list[Sample]]:
        """Advance the chains ``chain_ids`` of a run of ``num_chains`` by one reconstruction
        step at a time, forever; yields each step's finished samples (often none), in
        chain order."""
        starts = chain_starts(len(self.initial), num_chains, seed)
        chains = [
            _Chain(c, np.random.default_rng([seed, c]), self.initial[starts[c]], self.protected[starts[c]])
            for c in chain_ids
        ]
        while True:
            for chain in chains:
                if chain.working is None:
                    self._corrupt(chain)
            encodings = [self.move_set.encode_moves(ch.working) for ch in chains]
            features = [self.move_set.featurise(ch.working) for ch in chains]
            all_logits = self._score(features, encodings)
            finished = []
            for chain, logits, enc in zip(chains, all_logits, encodings):
                move, new = self._draw(chain, logits, enc)
                ended = None
                if new is None:
                    ended = "stop"
                else:
                    chain.working_protected = _shift_after_deletion(
                        chain.working_protected, self.move_set.removed_nodes(chain.working, move)
                    )
                    chain.working = new
                    chain.reconstruction_steps += 1
                    if self.config.stop_on_revisit and self._revisits(chain, new):
                        ended = "revisit"
                    elif chain.reconstruction_steps >= self._cap(chain):
                        ended = "cap"
                if ended is not None:
                    sample = self._finish(chain, ended)
                    if sample is not None:
                        finished.append(sample)
            yield finished


# ---------------------------------------------------------------------- worker processes
class _WorkerFailed:
    """What a worker sends instead of a step's samples when it fails."""

    def __init__(self, message: str) -> None:
        self.message = message


def _worker(sampler: ChainSampler, chain_ids: range, num_chains: int, seed: int, threads: int, queue: Any) -> None:
    """Body of a worker process: run its chains, one queue message (a list of samples) per step."""
    import traceback

    try:
        torch.set_num_threads(threads)
        tune_gc()  # this process is ours: keep the collector off the chains' short-lived objects
        for samples in sampler._steps(chain_ids, num_chains, seed):
            queue.put(samples)
    except KeyboardInterrupt:
        pass
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        queue.put(_WorkerFailed(traceback.format_exc()))


def _start_method(sampler: ChainSampler) -> str:
    """``fork`` where the platform has it and the network runs on the CPU (nothing is
    pickled, start-up is instant); ``spawn`` otherwise (CUDA cannot be forked)."""
    import multiprocessing

    model = getattr(sampler.scorer, "model", None)
    on_cpu = model is None or all(p.device.type == "cpu" for p in model.parameters())
    return "fork" if on_cpu and "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _run_parallel(sampler: ChainSampler, num_chains: int, seed: int, processes: int) -> Iterator[Sample]:
    """:meth:`ChainSampler.run` with the chains split into ``processes`` contiguous blocks,
    one worker process each. The parent takes one message per step from every worker in
    turn, so samples come in the single-process order (step, then chain)."""
    import multiprocessing
    import os
    import queue as queue_module

    ctx = multiprocessing.get_context(_start_method(sampler))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    # A forked child must not start OpenMP threads (GNU OpenMP is not fork-safe once the parent
    # has used its pool); more processes, not threads, use more cores then.
    threads = 1 if ctx.get_start_method() == "fork" else max(1, cores // processes)
    bounds = np.linspace(0, num_chains, processes + 1).round().astype(int)
    queues = [ctx.Queue(maxsize=64) for _ in range(processes)]
    workers = [
        ctx.Process(
            target=_worker,
            args=(sampler, range(int(lo), int(hi)), num_chains, seed, threads, q),
            daemon=True,
            name=f"ric-chains-{i}",
        )
        for i, (lo, hi, q) in enumerate(zip(bounds[:-1], bounds[1:], queues))
    ]
    logger.debug("chains in %d worker processes (%s, %d torch thread(s) each)", processes, ctx.get_start_method(), threads)
    try:
        for w in workers:
            w.start()
        while True:
            for w, q in zip(workers, queues):
                while True:
                    try:
                        message = q.get(timeout=1.0)
                        break
                    except queue_module.Empty:
                        if not w.is_alive():
                            raise RuntimeError(
                                f"chain worker process {w.name} ended unexpectedly (exit code {w.exitcode})"
                            ) from None
                if isinstance(message, _WorkerFailed):
                    raise RuntimeError(f"chain worker process {w.name} failed:\n{message.message}")
                yield from message
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join()
        for q in queues:
            q.cancel_join_thread()
            q.close()
