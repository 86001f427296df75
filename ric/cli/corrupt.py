"""``ric corrupt``: draw corrupted training examples, optionally verifying every step."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corrupt",
        help="write corrupted examples (smiles, corrupted, steps, reverse_move) to CSV",
        description="Apply the fixed corruption distribution to every molecule. The CSV has one row per "
        "example: the clean canonical SMILES, the corrupted state as a Kekulé SMILES (atom order is the "
        "one reverse_move refers to), the number of steps k, and the move that undoes the last step "
        "('stop' when k = 0).",
    )
    p.add_argument("input", help="molecules (.smi, .csv, .sdf, optionally .gz)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    p.add_argument("--move-set", choices=("fragment", "atom"), default="fragment", help="default: fragment")
    p.add_argument("--vocab", help="fragment vocabulary (ric vocab); default: built from the input")
    p.add_argument("--steps-mean", type=float, default=5.0, help="mean corruption length (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--per-molecule", type=int, default=1, help="examples per molecule (epochs; default 1)")
    p.add_argument(
        "--check",
        action="store_true",
        help="verify every step (sanitises, connected, inverse restores the state); "
        "exit status 1 if any fails",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first unusable molecule")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import csv
    import logging
    from tqdm import tqdm

    from ric.chem.graph import MolGraph
    from ric.chem.io import ReadStats, read_molecules
    from ric.cli.main import CommandError
    from ric.corruption import CheckReport, CorruptionConfig, corrupt, example_rng
    from ric.moves import make_move_set

    log = logging.getLogger("ric.cli.corrupt")
    if args.per_molecule < 1:
        raise CommandError("--per-molecule must be at least 1")
    stats = ReadStats()
    if args.move_set == "fragment":
        from ric.moves.vocab import Vocabulary

        if args.vocab:
            vocab = Vocabulary.load(args.vocab)
        else:
            log.warning("no --vocab given: building the fragment vocabulary from %s", args.input)
            vocab = Vocabulary.build(g for _, _, g in read_molecules(args.input, stats=ReadStats()))
        move_set = make_move_set("fragment", vocab=vocab)
    else:
        if args.vocab:
            log.warning("--vocab is ignored by the atom move set")
        move_set = make_move_set("atom")

    config = CorruptionConfig(steps_mean=args.steps_mean)
    report = CheckReport() if args.check else None
    skipped = 0
    rows = 0
    stops = 0
    with open(args.output, "w", newline="", buffering=1) as fh:
        writer = csv.writer(fh)
        writer.writerow(["smiles", "corrupted", "steps", "reverse_move"])
        records = read_molecules(args.input, strict=args.strict, stats=stats)
        for record, canonical, graph in tqdm(records, desc="corrupting", unit="mol", disable=None):
            problem = move_set.check_state(graph)
            if problem is not None:
                message = f"{args.input}:{record.line}: skipped {record.smiles}: {problem}"
                if args.strict:
                    raise CommandError(message)
                log.warning("%s", message)
                skipped += 1
                continue
            for epoch in range(args.per_molecule):
                ex = corrupt(move_set, graph, example_rng(args.seed, epoch, record.line), config, report)
                smiles, order = ex.corrupted.kekule_smiles_with_order()
                new_index = [0] * len(order)
                for k, old in enumerate(order):
                    new_index[old] = k
                label = move_set.relabel_move(ex.reverse_move, new_index)
                if report is not None and ex.steps:
                    parsed = MolGraph.from_kekule_smiles(smiles)
                    if not move_set.is_legal(parsed, label):
                        report.failures.append(f"{args.input}:{record.line}: written label is not legal in {smiles}")
                writer.writerow([canonical, smiles, ex.steps, move_set.format_move(label)])
                rows += 1
                stops += ex.steps == 0
    log.info("%s", stats.summary())
    print(
        f"wrote {rows} examples to {args.output} ({stops / max(rows, 1):.1%} stop labels); "
        f"skipped {skipped} molecules not usable with the {move_set.name} move set"
    )
    if report is not None:
        for failure in report.failures[:20]:
            print(f"FAILED: {failure}")
        print(report.summary())
        return 1 if report.num_failures else 0
    return 0
