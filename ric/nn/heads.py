"""Segment operations for one softmax per molecule over a batch of candidates.

Candidates of all molecules are concatenated; ``segment[c]`` is the molecule of
candidate ``c``. Everything is computed with native scatter/index operations over the
whole batch, never a Python loop over molecules.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["segment_max", "segment_logsumexp", "segment_log_softmax", "segment_argmax"]


def segment_max(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Maximum of ``values`` ``[C]`` per segment -> ``[num_segments]`` (``-inf`` for empty ones)."""
    out = values.new_full((num_segments,), float("-inf"))
    return out.scatter_reduce(0, segment, values, reduce="amax", include_self=True)


def segment_logsumexp(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """``log Σ exp(values)`` per segment -> ``[num_segments]``; stable for large logits."""
    peak = segment_max(values, segment, num_segments).detach()
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    total = values.new_zeros(num_segments).index_add_(0, segment, torch.exp(values - peak[segment]))
    return torch.log(total) + peak


def segment_log_softmax(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Log-softmax of ``values`` ``[C]`` within each segment -> ``[C]``."""
    return values - segment_logsumexp(values, segment, num_segments)[segment]


def segment_argmax(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Index (into ``values``) of the largest value of each segment -> ``[num_segments]``.

    Ties go to the lowest index; empty segments give ``-1``.
    """
    peak = segment_max(values, segment, num_segments)
    is_peak = values == peak[segment]
    positions = torch.arange(values.numel(), device=values.device)
    big = torch.full_like(positions, values.numel())
    candidates = torch.where(is_peak, positions, big)
    out = big.new_full((num_segments,), values.numel()).scatter_reduce(0, segment, candidates, reduce="amin")
    return torch.where(out == values.numel(), torch.full_like(out, -1), out)

