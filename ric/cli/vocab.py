"""``ric vocab``: build a fragment vocabulary from a molecule file."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vocab",
        help="build a fragment vocabulary from a SMILES/CSV/SDF file",
        description="Decompose every molecule into junction-tree clusters (ring systems, "
        "non-ring bonds) and write the fragments, one per line, with their counts.",
    )
    p.add_argument("input", help="molecules (.smi, .csv, .sdf, optionally .gz)")
    p.add_argument("-o", "--output", required=True, help="vocabulary file to write")
    p.add_argument("--min-count", type=int, default=1, help="keep fragments seen at least this often (default 1)")
    p.add_argument("--strict", action="store_true", help="stop at the first unusable molecule")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from tqdm import tqdm

    from ric.chem.io import ReadStats, read_molecules
    from ric.moves.vocab import Vocabulary

    log = logging.getLogger("ric.cli.vocab")
    stats = ReadStats()
    graphs = (g for _, _, g in read_molecules(args.input, strict=args.strict, stats=stats))
    vocab = Vocabulary.build(tqdm(graphs, desc="molecules", unit="mol", disable=None), min_count=args.min_count)
    vocab.save(args.output)
    rings = sum(f.is_ring for f in vocab.fragments)
    log.info("%s", stats.summary())
    print(
        f"wrote {args.output}: {len(vocab)} fragments ({rings} ring systems, {len(vocab) - rings} bonds), "
        f"{vocab.num_atom_slots} atom slots, {vocab.num_bond_slots} bond slots, sha256 {vocab.hash[:12]}"
    )
    return 0
