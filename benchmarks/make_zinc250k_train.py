"""ZINC250k without the bundled validation and test molecules: a training file for larger runs.

Repeats the standardisation, deduplication and seeded draw of
``ric/data/bundled/make_subset.py`` (same seed and split sizes), checks that the draw gives
exactly the bundled ``zinc_{train,valid,test}.smi`` (so the RDKit version agrees), and
writes every molecule of the pool except the bundled validation and test ones, in pool
order: the bundled training molecules and all the rest of ZINC250k. A model trained on
it is scored on the bundled test split like the bundled models, with no overlap.

Usage::

    python benchmarks/make_zinc250k_train.py -o ~/ric-data/zinc250k_train.smi [--jobs 2]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ric" / "data" / "bundled"))

import make_subset  # noqa: E402

import ric.data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    start = time.time()
    smiles = ric.data.load("zinc250k")
    pool, rejected, _, duplicates = make_subset.standardise_all(smiles, args.jobs)
    print(f"{len(smiles):,} SMILES standardised in {time.time() - start:.0f} s: {sum(rejected.values())} rejected, "
          f"{duplicates} duplicates, pool {len(pool):,}")
    sizes = {"train": 20_000, "valid": 2_000, "test": 5_000}
    indices = random.Random(make_subset.DEFAULT_SEED).sample(range(len(pool)), sum(sizes.values()))
    offset, held_out = 0, set()
    for split, size in sizes.items():
        chosen = [pool[i] for i in indices[offset : offset + size]]
        bundled = ric.data.load("bundled", split)
        if chosen != bundled:
            sys.exit(f"the draw does not reproduce the bundled {split} split (another RDKit version?): not written")
        if split != "train":
            held_out.update(indices[offset : offset + size])
        offset += size
    kept = [s for i, s in enumerate(pool) if i not in held_out]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(args.output.name + ".partial")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(s + "\n" for s in kept)
    tmp.replace(args.output)
    print(f"wrote {args.output}: {len(kept):,} molecules (pool {len(pool):,} minus {len(held_out):,} bundled "
          f"validation and test molecules), sha256 {make_subset.sha256_of(args.output)}")


if __name__ == "__main__":
    main()
