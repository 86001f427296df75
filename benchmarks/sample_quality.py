"""Sample quality of the chain with a trained network vs. the corruption-only chain.

Generates ``--n`` molecules with (a) the checkpoint's network and (b) the same chain
with uniformly random legal moves (the corruption-only ablation), and scores both, plus
a resample of the training set as the upper bound, against ``--n-reference`` training
molecules drawn with ``--seed``: GuacaMol validity, uniqueness, novelty and
KL-divergence score (:mod:`ric.metrics.distribution`).

Usage::

    python benchmarks/sample_quality.py --n 1000 --n-reference 5000
"""
from __future__ import annotations

import argparse
import datetime
import random
import time

import ric
from ric.data import load
from ric.metrics.distribution import kl_divergence_score, novelty, uniqueness, validity
from ric.sampling.generator import DEFAULT_CHECKPOINT, ChainGenerator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n-reference", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-atoms", type=int, default=None, help="size cap for both chains")
    parser.add_argument("--max-reconstruction-steps", type=int, default=40, help="cap for both chains (default 40)")
    args = parser.parse_args()

    train = load("bundled", "train")
    rng = random.Random(args.seed)
    reference = rng.sample(train, args.n_reference)
    resample = rng.sample(train, args.n)
    rows = [("training-set resample", resample, 0.0)]
    for name, uniform in (("ric chain (network)", False), ("corruption-only chain", True)):
        gen = ChainGenerator.from_checkpoint(args.checkpoint, device="cpu", uniform=uniform,
                                             batch_size=args.batch_size, seed=args.seed, max_atoms=args.max_atoms,
                                             max_reconstruction_steps=args.max_reconstruction_steps)
        start = time.perf_counter()
        smiles = gen.generate(args.n)
        rows.append((name, smiles, time.perf_counter() - start))
    print(f"date {datetime.date.today()}, ric {ric.__version__}; checkpoint {args.checkpoint}")
    print(f"command: python benchmarks/sample_quality.py --n {args.n} --n-reference {args.n_reference} "
          f"--seed {args.seed} --batch-size {args.batch_size} --max-reconstruction-steps {args.max_reconstruction_steps}"
          + (f" --max-atoms {args.max_atoms}" if args.max_atoms else ""))
    print("\n| generator | n | validity | uniqueness | novelty | KL-divergence score | mean heavy atoms | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    from rdkit import Chem

    for name, smiles, seconds in rows:
        kl = kl_divergence_score(smiles, reference)
        atoms = sum(Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles) / len(smiles)
        print(f"| {name} | {len(smiles)} | {validity(smiles):.3f} | {uniqueness(smiles):.3f} | "
              f"{novelty(smiles, train):.3f} | {kl.score:.3f} | {atoms:.1f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
