"""Level traversals of hierarchical sequence VAEs: one row of molecules per latent level.

:func:`level_traversal` draws one shared latent sample from the prior and, for each level
``l``, redraws only that level (through the model's ``resample_level``) ``per_row`` times,
keeping the rest of the shared draw. Decoding row ``l`` shows what level ``l`` controls
(Zhao, Song & Ermon 2017, Fig. 4): for :class:`~ric.vae.vlae.VLAE` only ``z_l`` changes
along a row; for :class:`~ric.vae.hvae.HVAE` ``z_l`` is redrawn from ``p(z_l | z_{l+1})``
and the levels below it are redrawn conditionally, since they depend on it.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ric.vae.base import SequenceVAE

__all__ = ["level_traversal"]


@torch.no_grad()
def level_traversal(
    model: SequenceVAE, levels: int, per_row: int, *, generator: torch.Generator | None
) -> list[list[Tensor]]:
    """Latent grids for a traversal of the first ``levels`` levels.

    Args:
        model: a model with ``prior_sample`` and ``resample_level(z, level, generator)``.
        levels: number of rows (levels ``0..levels-1``, 0-based; at most the model's groups).
        per_row: samples per row.
        generator: random generator for the shared draw and the redraws.

    Returns:
        ``rows[l]``, a latent list ``[z_1, ..., z_L]`` whose groups are ``[per_row, latent]``:
        column ``j`` is the shared draw with level ``l`` (and, for models whose lower levels
        depend on it, the levels below) redrawn. ``model.decode(rows[l])`` gives row ``l``.

    Raises:
        ValueError: ``levels`` or ``per_row`` is below 1, ``levels`` exceeds the model's
            groups, or the model cannot redraw single levels.
    """
    if not hasattr(model, "resample_level"):
        raise ValueError(f"{type(model).__name__} cannot redraw single latent levels")
    if per_row < 1:
        raise ValueError(f"per_row must be at least 1, got {per_row}")
    shared = model.prior_sample(1, generator)
    if not 1 <= levels <= len(shared):
        raise ValueError(f"levels must be between 1 and the model's {len(shared)} groups, got {levels}")
    base = [t.expand(per_row, -1).clone() for t in shared]
    return [model.resample_level(base, level, generator) for level in range(levels)]
