"""``ric vocab``: build a fragment vocabulary from a molecule file."""
from __future__ import annotations

import argparse

from ric.cli.main import positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vocab",
        help="build a fragment vocabulary from a SMILES/CSV/SDF file",
        description="Decompose every molecule into junction-tree clusters (ring systems, "
        "non-ring bonds) and write the fragments, one per line, with their counts.",
    )
    p.add_argument("input", help="molecules (.smi, .csv, .sdf, optionally .gz)")
    p.add_argument("-o", "--output", required=True, help="vocabulary file to write")
    p.add_argument("--min-count", type=positive_int, default=1, help="keep fragments seen at least this often (default 1)")
    p.add_argument("--strict", action="store_true", help="stop at the first unusable molecule")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ric.files import input_file, output_file

    input_file(args.input)
    output_file(args.output, inputs=[args.input])

    from tqdm import tqdm

    from ric.molecules.io import ReadStats, read_molecules
    from ric.cli.main import CommandError
    from ric.molecules.vocab import Vocabulary

    stats = ReadStats()
    graphs = (g for _, _, g in read_molecules(args.input, strict=args.strict, stats=stats))
    vocab = Vocabulary.build(tqdm(graphs, desc="molecules", unit="mol", disable=None), min_count=args.min_count)
    if len(vocab) == 0:
        reason = "no usable molecule" if stats.read == 0 else f"no fragment seen at least {args.min_count} times"
        raise CommandError(f"{stats.summary()}: {reason}, so no vocabulary was written")
    vocab.save(args.output)
    rings = sum(f.is_ring for f in vocab.fragments)
    print(stats.summary())
    print(
        f"wrote {args.output}: {len(vocab)} fragments ({rings} ring systems, {len(vocab) - rings} bonds), "
        f"{vocab.num_atom_slots} atom slots, {vocab.num_bond_slots} bond slots, sha256 {vocab.hash[:12]}"
    )
    return 0
