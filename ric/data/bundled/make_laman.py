"""Make the bundled Laman graphs: ric/data/bundled/laman_<regime>_{train,valid,test}.g6.

Steps:

1. draw graphs ``0, 1, 2, ...`` of the regime under the seed with
   :func:`ric.laman.data.make_graph` (each from its own ``SeedSequence([seed, regime, index])``);
2. keep the first graph of each isomorphism class (:func:`ric.laman.graph.canonical_key`,
   an exact canonical form), until ``train + valid + test`` distinct graphs are kept, so the
   splits share no graph up to isomorphism;
3. cut the kept graphs, in order, into ``train``, ``valid`` and ``test``;
4. write one graph6 line per graph (no header) and the "Laman graphs" section of this
   folder's README.md (replaced if present, appended otherwise) with the command, counts
   and sha256 checksums.

Usage (from the repository root)::

    python ric/data/bundled/make_laman.py [--regime low] [--seed 0] [--train 10000]
                                          [--valid 1000] [--test 1000] [--out-dir ric/data/bundled]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]  # ric/data/bundled -> the repository root
if str(REPO) not in sys.path:  # allow running from a source checkout without installing
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from ric.laman.data import REGIME_P, REGIMES, make_graph, make_splits  # noqa: E402
from ric.laman.graph import write_graph6  # noqa: E402
from ric.laman.pebble import is_laman  # noqa: E402

BEGIN, END = "<!-- laman graphs: written by make_laman.py -->", "<!-- end of laman graphs -->"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def readme_section(regime: str, seed: int, command: str, files: dict, drawn: int, stats: dict) -> str:
    lo, hi = REGIME_P[regime]
    rows = "\n".join(
        f"| `{name}` | {split} | {count:,} | {nmin}–{nmax} (mean {nmean:.1f}) | `{digest}` |"
        for split, (name, count, nmin, nmax, nmean, digest) in files.items()
    )
    total = sum(v[1] for v in files.values())
    return f"""{BEGIN}
# Bundled data: Laman graphs (regime {regime})

Random Laman graphs (minimally rigid plane graphs: ``2n - 3`` edges, every ``k >= 2`` nodes
spanning at most ``2k - 3``), made as in Seff et al. 2019 (arXiv 1907.08268), for the
``laman`` move set (`ric.laman`). Read them with `ric.laman.read_graph6(path)`.

| file | split | graphs | nodes | sha256 |
|------|-------|--------|-------|--------|
{rows}

Each file has one graph6 string per line (nauty's format, no `>>graph6<<` header), `\\n`
line endings. Every graph is Laman (checked by the pebble game when the files were
written) and no two graphs in the three files are isomorphic.

## How the files were made

```
{command}
```

(`ric/data/bundled/make_laman.py`, run from the repository root; `data/` is a link to this folder.)

1. Graph `i` is grown from a triangle by `ric.laman.data.make_graph("{regime}", {seed}, i)`, whose
   generator is `np.random.default_rng(np.random.SeedSequence([{seed}, {REGIMES.index(regime)}, i]))`:
   `p ~ U({lo}, {hi})`, `n = max(4, round(Normal(30, 5)))` nodes, each node after the triangle
   added by Henneberg I (a uniform pair of distinct nodes) with probability `p`, else by
   Henneberg II (a uniform edge and a uniform third node). Nodes are numbered in
   construction order. Henneberg I made {stats['hi_fraction']:.3f} of all added nodes.
2. Graphs `0, 1, 2, ...` were drawn and the first of each isomorphism class kept (exact
   canonical form `ric.laman.graph.canonical_key`) until {total:,} distinct graphs were kept:
   {drawn:,} drawn, {drawn - total:,} isomorphic repeat(s) dropped.
3. In order, the first {files['train'][1]:,} kept graphs form `train`, the next
   {files['valid'][1]:,} `valid` and the last {files['test'][1]:,} `test`. Seed: **{seed}**.

The same graphs (without the deduplication) come from
`ric laman-data --regime {regime} -n N --seed {seed} -o FILE.g6`.
{END}
"""


def update_readme(path: Path, section: str) -> None:
    """Replace the Laman section of ``path`` (between the markers), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regime", choices=REGIMES, default="low", help="regime (default low)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--train", type=int, default=10_000, help="train size (default 10000)")
    parser.add_argument("--valid", type=int, default=1_000, help="valid size (default 1000)")
    parser.add_argument("--test", type=int, default=1_000, help="test size (default 1000)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="output folder (default: this script's folder)")
    args = parser.parse_args(argv)

    start = time.time()
    sizes = {"train": args.train, "valid": args.valid, "test": args.test}
    splits, drawn = make_splits(sizes.values(), args.regime, args.seed, sizes.keys())
    counts = [0, 0]
    for i in range(drawn):  # Henneberg I / II tally over every drawn graph
        make_graph(args.regime, args.seed, i, counts)
    print(f"drew {drawn:,} graphs, kept {sum(sizes.values()):,} distinct ones in {time.time() - start:.0f} s")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, graphs in splits.items():
        bad = [i for i, g in enumerate(graphs) if not is_laman(g.n, g.edges)]
        if bad:
            raise SystemExit(f"graph {bad[0]} of {split} is not Laman: a bug in ric.laman")
        name = f"laman_{args.regime}_{split}.g6"
        path = args.out_dir / name
        write_graph6(path, graphs)
        nodes = np.array([g.n for g in graphs])
        files[split] = (name, len(graphs), int(nodes.min()), int(nodes.max()), float(nodes.mean()), sha256_of(path))
        print(f"wrote {path} ({len(graphs):,} graphs, sha256 {files[split][-1]})")

    parts = ["python ric/data/bundled/make_laman.py", f"--regime {args.regime}", f"--seed {args.seed}"]
    parts += [f"--{split} {size}" for split, size in sizes.items()]
    stats = {"hi_fraction": counts[0] / max(1, sum(counts))}
    update_readme(args.out_dir / "README.md",
                  readme_section(args.regime, args.seed, " ".join(parts), files, drawn, stats))
    print(f"updated {args.out_dir / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
