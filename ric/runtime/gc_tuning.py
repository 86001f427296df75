"""Garbage-collector settings for the per-state Python work of corruption and sampling.

Every corruption or reconstruction step builds thousands of short-lived tuples and small
objects (graphs, clusters, candidate lists). They are freed by reference counting, but
each allocation also counts towards CPython's cyclic collector, which then walks every
tracked object of its generations: with a vocabulary, a model and a dataset loaded, those
walks cost more than the work itself (a cluster decomposition of a ZINC molecule took
about twice as long with the default thresholds as with the collector off). :func:`tune_gc` raises the
young-generation threshold and moves the objects that exist now (imports, vocabulary,
model, data) out of the collector's view.

The library calls it only in processes it owns (the sampler's worker processes and the
training data workers) and the command line calls it at start-up; an application that runs
the chains in its own process may call it once after loading (it changes the process's
collector settings).
"""
from __future__ import annotations

import gc

__all__ = ["tune_gc"]

#: Young-generation threshold set by :func:`tune_gc` (CPython's default is 700).
YOUNG_THRESHOLD = 20_000


def tune_gc(freeze: bool = True, threshold: int = YOUNG_THRESHOLD) -> None:
    """Make the cyclic garbage collector cheap for many short-lived objects.

    Args:
        freeze: move every object tracked now into the permanent generation (``gc.freeze``),
            so later collections no longer walk them (default ``True``). Cyclic garbage
            among them is never collected, so call it after loading, not in a loop.
        threshold: allocations between young collections (default
            :data:`YOUNG_THRESHOLD`); a lower current value is raised to it, the older
            generations' thresholds are set to 20 (CPython: 10).
    """
    if freeze:
        gc.freeze()
    young, _, _ = gc.get_threshold()
    gc.set_threshold(max(young, int(threshold)), 20, 20)
