"""The fixed corruption distribution c(x̃, s | x) of reversible inductive construction.

A training example is drawn from a clean state ``x`` as in the paper:

1. the trajectory length ``N ~ Geometric(p) - 1`` on ``{0, 1, ...}`` with
   ``p = 1 / (1 + steps_mean)``, so ``E[N] = steps_mean`` (default 5);
2. a prefix length ``k ~ Uniform{0, ..., N}``;
3. ``k`` steps of the move set's corruption step distribution
   (:meth:`~ric.moves.protocol.MoveSet.sample_corruption_move`) are applied;
4. the example is the state after ``k`` steps, labelled with the inverse of the k-th
   step (the move that reconstructs the previous state), or :data:`~ric.moves.protocol.STOP`
   when ``k = 0``. If no edit is legal the walk ends early and ``k`` is the number of
   steps taken.

Maximising the likelihood of these labels is a stochastic estimate of the paper's
objective. All randomness comes from a generator seeded by ``(seed, epoch, index)``
(:func:`example_rng`), so examples do not depend on worker count or order.
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ric.moves.protocol import STOP, MoveSet

__all__ = [
    "CorruptionConfig",
    "CorruptedExample",
    "CheckReport",
    "example_rng",
    "corrupt",
]

logger = logging.getLogger(__name__)

State = TypeVar("State")


@dataclass(frozen=True)
class CorruptionConfig:
    """Settings of the corruption distribution.

    Attributes:
        steps_mean: mean of the geometric trajectory length ``N`` (default 5.0, the paper's).
    """

    steps_mean: float = 5.0

    def __post_init__(self) -> None:
        if not self.steps_mean >= 0:
            raise ValueError(f"steps_mean must be >= 0, got {self.steps_mean}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CorruptionConfig":
        return cls(**data)


@dataclass
class CorruptedExample(Generic[State]):
    """One draw from the corruption distribution.

    Attributes:
        original: the clean state ``x``.
        corrupted: the state ``x̃`` after ``steps`` corruption steps.
        steps: ``k``, the number of steps applied.
        planned_steps: ``N``, the drawn trajectory length (``k <= N``).
        reverse_move: the label: inverse of the last step, or ``STOP`` when ``k = 0``.
    """

    original: State
    corrupted: State
    steps: int
    planned_steps: int
    reverse_move: Any


@dataclass
class CheckReport:
    """Tally of per-step verification (see :func:`corrupt` with ``check``).

    Attributes:
        steps: number of steps verified.
        failures: one message per failed step.
    """

    steps: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def num_failures(self) -> int:
        return len(self.failures)

    def summary(self) -> str:
        return f"checked {self.steps} steps, {self.num_failures} failures"


def example_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The random generator of example ``index`` in ``epoch`` under ``seed``.

    Args:
        seed, epoch, index: non-negative integers.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))


def _check_step(move_set: MoveSet, before, move, after, report: CheckReport) -> None:
    report.steps += 1
    label = move_set.format_move(move)
    try:
        problem = None
        if not move_set.is_valid(after):
            problem = f"result is not valid ({move_set.check_state(after) or 'fails is_valid'})"
        else:
            inv = move_set.inverse(before, move)
            if not move_set.is_legal(after, inv):
                problem = f"inverse {move_set.format_move(inv)} is not legal in the result"
            elif move_set.key(move_set.apply(after, inv)) != move_set.key(before):
                problem = f"inverse {move_set.format_move(inv)} does not restore the state"
    except Exception as exc:  # a check must report, never crash the run
        problem = f"raised {type(exc).__name__}: {exc} ({traceback.format_exc(limit=3).strip()})"
    if problem is not None:
        report.failures.append(f"{move_set.key(before)} --{label}--> {problem}")


def corrupt(
    move_set: MoveSet,
    state: State,
    rng: np.random.Generator,
    config: CorruptionConfig = CorruptionConfig(),
    check: CheckReport | None = None,
) -> CorruptedExample:
    """Draw one training example from the corruption distribution.

    Args:
        move_set: the move set whose corruption step distribution is used.
        state: the clean state ``x``.
        rng: source of randomness (use :func:`example_rng` for reproducible examples).
        config: corruption settings (default ``CorruptionConfig()``: mean 5 steps).
        check: if given, every step is verified (the result passes the move set's
            ``is_valid``, the inverse is legal in it and restores the previous state) and
            tallied here.

    Returns:
        A :class:`CorruptedExample`.
    """
    planned = int(rng.geometric(1.0 / (1.0 + config.steps_mean))) - 1
    k = int(rng.integers(planned + 1))
    current = state
    previous = None
    last_move = None
    taken = 0
    for _ in range(k):
        move = move_set.sample_corruption_move(current, rng)
        if move is None:
            break
        nxt = move_set.apply(current, move)
        if check is not None:
            _check_step(move_set, current, move, nxt, check)
        previous, last_move, current = current, move, nxt
        taken += 1
    label: Any = STOP if taken == 0 else move_set.inverse(previous, last_move)
    return CorruptedExample(state, current, taken, planned, label)
