"""Sampling throughput of the chain generator and where the time goes.

For each batch size, generates ``--n`` samples with a chain checkpoint (default: the
bundled molecule model; a Laman checkpoint works the same) on the CPU, and reports
samples per second (median of ``--repeats`` runs; every chain sample is valid by
construction) and the share of time spent in each stage of a chain step. Peak memory
(max RSS) of a separate run of ``--memory-n`` samples is reported per size.

Usage::

    python benchmarks/sampling_speed.py --batch-sizes 1 64 256 --processes 1 2 --n 500 --repeats 3

With ``--processes``, each batch size is also run with the chains split over that many
worker processes (``ChainGenerator(processes=...)``); the stage shares are measured in
this process, so only the single-process rows have them. A release without worker
processes runs the single-process rows only.
"""
from __future__ import annotations

import argparse
import datetime
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import rdkit
import torch

import ric
from ric.sampling import chain as chain_module
from ric.sampling.generator import DEFAULT_CHECKPOINT, ChainGenerator


def _instrument(timers: dict, move_set_class: type) -> None:
    """Wrap the stages of a chain step with wall-clock accumulators."""

    def wrap(owner, name, label):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timers[label] += time.perf_counter() - start

        setattr(owner, name, timed)

    wrap(chain_module.ChainSampler, "_corrupt", "corruption")
    wrap(move_set_class, "featurise", "featurise")
    wrap(move_set_class, "encode_moves", "move encoding")
    wrap(chain_module.NetworkScorer, "__call__", "network (collate + forward)")
    if hasattr(chain_module.NetworkScorer, "score"):  # the sampler's path since the two-level draws
        wrap(chain_module.NetworkScorer, "score", "network (collate + forward)")
    wrap(chain_module.ChainSampler, "_draw", "draw + apply + validity check")
    wrap(move_set_class, "key", "state key (revisit check)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--n", type=int, default=500, help="molecules per timed run (default 500)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1], help="worker processes (default 1)")
    parser.add_argument("--memory-n", type=int, nargs="*", default=[], help="also measure peak RSS for these n")
    parser.add_argument("--steps-mean", type=float, help="mean corruption length (default: the checkpoint's)")
    parser.add_argument("--thin", type=int, help="transitions per sample (default: the checkpoint's)")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    chain = {k: v for k, v in (("steps_mean", args.steps_mean), ("thin", args.thin)) if v is not None}

    if args.child:  # peak-memory child: generate n with batch b, print max RSS in MiB
        n, b = args.child
        gen = ChainGenerator.from_checkpoint(args.checkpoint, device="cpu", batch_size=b, **chain)
        if hasattr(gen, "processes"):
            gen.processes = 1
        unique = set()
        for s in gen.sample(n):
            unique.add(s.text)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return

    try:  # what the command line does at start-up (ric.cli.main); a release without it keeps the defaults
        from ric.runtime.gc_tuning import tune_gc
        tune_gc(freeze=False)
    except ImportError:
        pass
    timers: dict = defaultdict(float)
    _instrument(timers, type(ChainGenerator.from_checkpoint(args.checkpoint, device="cpu").move_set))
    print(f"date {datetime.date.today()}, ric {ric.__version__}, RDKit {rdkit.__version__}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads, {platform.processor() or platform.machine()}")
    print(f"command: python benchmarks/sampling_speed.py --batch-sizes {' '.join(map(str, args.batch_sizes))} "
          f"--processes {' '.join(map(str, args.processes))} --n {args.n} --repeats {args.repeats}"
          + "".join(f" --{k.replace('_', '-')} {v}" for k, v in chain.items()))
    stages = ("corruption", "featurise", "move encoding", "network (collate + forward)",
              "draw + apply + validity check", "state key (revisit check)")
    print("\n| batch size | processes | samples/s (median) | runs | " + " | ".join(
        ["corruption", "featurise", "encoding", "network", "draw+apply", "key"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for b in args.batch_sizes:
        for processes in args.processes:
            gen = ChainGenerator.from_checkpoint(args.checkpoint, device="cpu", batch_size=b, **chain)
            if not hasattr(gen, "processes"):  # a release without worker processes
                if processes != 1:
                    continue
            else:
                gen.processes = processes
            rates = []
            timers.clear()
            total = 0.0
            for r in range(args.repeats):
                start = time.perf_counter()
                texts = [s.text for s in gen.sample(args.n, seed=r)]
                elapsed = time.perf_counter() - start
                total += elapsed
                rates.append(len(texts) / elapsed)
            # encoding runs inside no other timed stage; the draw's validity check is part of draw + apply
            shares = [f"{100 * timers[k] / total:.0f}%" if processes == 1 or b == 1 else "-" for k in stages]
            print(f"| {b} | {processes} | {statistics.median(rates):.1f} | {', '.join(f'{x:.1f}' for x in rates)} | "
                  + " | ".join(shares) + " |", flush=True)
    for n in args.memory_n:
        for b in args.batch_sizes[-1:]:
            extra = [f"--{k.replace('_', '-')}={v}" for k, v in chain.items()]
            out = subprocess.run([sys.executable, __file__, "--checkpoint", args.checkpoint, *extra, "--child", str(n), str(b)],
                                 capture_output=True, text=True, check=True)
            print(f"peak RSS generating {n} samples (batch {b}): {float(out.stdout.strip()):.0f} MiB")


if __name__ == "__main__":
    main()
