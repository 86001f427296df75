"""Corruption throughput and legal-move enumeration time on one CPU core.

Measures, for each move set, on molecules of the bundled training set:

* corrupted training examples per second (mean 5 steps, reverse-move labels included),
  from prepared graphs (as DataLoader workers see them) and from raw SMILES
  (standardisation included);
* legal-move enumeration time per molecule (full list of move objects).

Each figure is the median over ``--repeats`` runs. Pins itself to one core when the OS
allows. Prints a Markdown block to paste into ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/corruption_speed.py --molecules 2000 --repeats 5
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import numpy as np
import rdkit

import ric
from ric.molecules.standardise import standardise
from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.data import load
from ric.moves import make_move_set
from ric.molecules.vocab import Vocabulary


def _median_rate(fn, count: int, repeats: int) -> tuple[float, list[float]]:
    rates = []
    for r in range(repeats):
        start = time.perf_counter()
        fn(r)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--molecules", type=int, default=2000, help="molecules per run (default 2000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--enum-molecules", type=int, default=300, help="molecules for enumeration timing")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    train = load("bundled", "train")
    smiles = train[: args.molecules]
    graphs = [standardise(s)[1] for s in smiles]
    vocab = Vocabulary.build(standardise(s)[1] for s in train)
    config = CorruptionConfig(steps_mean=5.0)
    lines = []
    for name in ("fragment", "atom"):
        move_set = make_move_set(name, vocab=vocab)
        usable = [(s, g) for s, g in zip(smiles, graphs) if move_set.check_state(g) is None]
        steps = []

        def run_graphs(r: int) -> None:
            for i, (_, g) in enumerate(usable):
                ex = corrupt(move_set, g, example_rng(r, 0, i), config)
                steps.append(ex.steps)

        def run_smiles(r: int) -> None:
            for i, (s, _) in enumerate(usable):
                corrupt(move_set, standardise(s)[1], example_rng(r, 0, i), config)

        rate_graphs, all_graphs = _median_rate(run_graphs, len(usable), args.repeats)
        rate_smiles, _ = _median_rate(run_smiles, len(usable), args.repeats)
        enum_ms = []
        enum_counts = []
        for g in graphs[: args.enum_molecules]:
            if move_set.check_state(g) is not None:
                continue
            fresh = make_move_set(name, vocab=vocab)  # no cached analysis
            start = time.perf_counter()
            moves = fresh.legal_moves(g)
            enum_ms.append((time.perf_counter() - start) * 1e3)
            enum_counts.append(len(moves))
        lines.append(
            f"| {name} | {len(usable)} | {rate_graphs:,.0f} | {min(all_graphs):,.0f}-{max(all_graphs):,.0f} | "
            f"{rate_smiles:,.0f} | {np.mean(steps):.2f} | {statistics.median(enum_ms):.2f} | "
            f"{statistics.median(enum_counts):,.0f} |"
        )
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"date {datetime.date.today()}, ric {ric.__version__}, RDKit {rdkit.__version__}, "
          f"Python {platform.python_version()}, {cpu}, 1 core, vocabulary {len(vocab)} fragments")
    print(f"command: python benchmarks/corruption_speed.py --molecules {args.molecules} --repeats {args.repeats}")
    print()
    print("| move set | molecules | examples/s (median) | range | examples/s from SMILES | mean steps k | "
          "enumeration ms/molecule (median) | legal moves/molecule (median) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
