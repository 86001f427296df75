"""Laman corruption throughput, move-encoding time and canonical-form time on one CPU core.

Measures, on graphs of the bundled ``laman_low_train.g6`` (about 30 nodes):

* corrupted training examples per second with the corruption distribution of
  :mod:`ric.corruption` (mean 5 steps, reverse-move labels included):
  ``corrupt(move_set, graph, example_rng(seed, 0, i))``, on *cold* graphs (freshly parsed,
  so every graph's pebble-game orientation is computed in the run, as in a first epoch)
  and on *warm* graphs (the same objects again, as in later epochs of a DataLoader worker);
* :meth:`~ric.laman.moves.HennebergMoveSet.encode_moves` time per state, on the clean
  graphs (cold) and on corrupted states as training sees them;
* :func:`~ric.laman.graph.canonical_key` time per graph.

Each figure is the median over ``--repeats`` runs. Pins itself to one core when the OS
allows. Prints a Markdown table.

Usage::

    python benchmarks/laman_speed.py --graphs 2000 --repeats 5
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import ric
from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.laman.graph import canonical_key, read_graph6
from ric.laman.moves import HennebergMoveSet
from ric.package_data import resource_path


def _median(fn, repeats: int) -> float:
    """Median seconds of ``fn(r)`` over ``repeats`` runs."""
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        fn(r)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graphs", type=int, default=2000, help="graphs per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--encode-graphs", type=int, default=300, help="states for encoding timing (default 300)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    path = resource_path("data", "bundled", "laman_low_train.g6")
    move_set = HennebergMoveSet()
    config = CorruptionConfig(steps_mean=5.0)
    fresh = [read_graph6(path)[: args.graphs] for _ in range(args.repeats)]
    warm = read_graph6(path)[: args.graphs]
    steps: list[int] = []

    def cold_run(r: int) -> None:
        for i, g in enumerate(fresh[r]):
            steps.append(corrupt(move_set, g, example_rng(r, 0, i), config).steps)

    def warm_run(r: int) -> None:
        for i, g in enumerate(warm):
            corrupt(move_set, g, example_rng(r, 0, i), config)

    cold = args.graphs / _median(cold_run, args.repeats)
    warm_run(args.repeats)  # fill the caches once (another seed than the timed runs)
    hot = args.graphs / _median(warm_run, args.repeats)

    k = args.encode_graphs
    clean_sets = [read_graph6(path)[:k] for _ in range(args.repeats)]
    enc_clean = _median(lambda r: [move_set.encode_moves(g) for g in clean_sets[r]], args.repeats) / k
    corrupted = [[corrupt(move_set, g, example_rng(100 + r, 0, i), config).corrupted for i, g in enumerate(warm[:k])]
                 for r in range(args.repeats)]
    enc_corrupt = _median(lambda r: [move_set.encode_moves(g) for g in corrupted[r]], args.repeats) / k
    sizes = [move_set.encode_moves(g).num_sets for g in warm[:k]]
    key_time = _median(lambda r: [canonical_key(g) for g in warm], args.repeats) / len(warm)
    nodes = np.array([g.n for g in warm])

    print(f"ric {ric.__version__}, Python {platform.python_version()}, {platform.processor() or platform.machine()}, "
          f"one core; {args.graphs} graphs of laman_low_train.g6 ({nodes.mean():.1f} nodes on average), "
          f"median of {args.repeats} runs; mean corruption steps {np.mean(steps):.2f}")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| corruption, cold graphs (examples/s) | {cold:,.0f} |")
    print(f"| corruption, warm graphs (examples/s) | {hot:,.0f} |")
    print(f"| encode_moves, clean graph, cold (ms/state) | {enc_clean * 1e3:.3f} |")
    print(f"| encode_moves, corrupted state (ms/state) | {enc_corrupt * 1e3:.3f} |")
    print(f"| legal moves per clean graph (mean) | {np.mean(sizes):,.0f} |")
    print(f"| canonical_key (ms/graph) | {key_time * 1e3:.3f} |")


if __name__ == "__main__":
    main()
