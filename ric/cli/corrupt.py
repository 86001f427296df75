"""``ric corrupt``: draw corrupted training examples, optionally verifying every step."""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_float, positive_int


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
    p.add_argument("--steps-mean", type=positive_float, default=5.0, help="mean corruption length (default 5)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--per-molecule", type=positive_int, default=1, help="examples per molecule (epochs; default 1)")
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
    import io
    import logging

    from ric.cli.main import CommandError
    from ric.files import PartialOutput, input_file, output_file

    # Every check on arguments and files comes before the first output byte (and before
    # the slow imports).
    input_file(args.input)
    if args.vocab:
        input_file(args.vocab, "vocabulary")
    output_file(args.output, inputs=[args.input, args.vocab])
    if args.output.lower().endswith(".gz"):
        raise CommandError(f"{args.output}: this command writes plain text; name the output without .gz")
    if args.vocab and args.move_set != "fragment":
        raise CommandError(f"--vocab applies to the fragment move set, not to --move-set {args.move_set}")

    from tqdm import tqdm

    from ric.molecules.graph import MolGraph
    from ric.molecules.io import ReadStats, read_molecules
    from ric.corruption import CheckReport, CorruptionConfig, corrupt, example_rng
    from ric.moves import make_move_set

    log = logging.getLogger("ric.cli.corrupt")
    stats = ReadStats()
    records = read_molecules(args.input, strict=args.strict, stats=stats)  # checks the file type and header
    if args.move_set == "fragment":
        from ric.molecules.vocab import Vocabulary

        if args.vocab:
            vocab = Vocabulary.load(args.vocab)
        else:
            log.warning("no --vocab given: building the fragment vocabulary from %s", args.input)
            vocab = Vocabulary.build(g for _, _, g in read_molecules(args.input, stats=ReadStats(max_warnings=0)))
        move_set = make_move_set("fragment", vocab=vocab)
    else:
        move_set = make_move_set("atom")

    config = CorruptionConfig(steps_mean=args.steps_mean)
    report = CheckReport() if args.check else None
    rows = 0
    stops = 0
    header = io.StringIO()
    csv.writer(header).writerow(["smiles", "corrupted", "steps", "reverse_move"])
    with PartialOutput(args.output, header=header.getvalue(), newline="") as out:
        writer = csv.writer(out)
        for record, canonical, graph in tqdm(records, desc="corrupting", unit="mol", disable=None):
            problem = move_set.check_state(graph)
            if problem is not None:
                if args.strict:
                    raise CommandError(f"{args.input}:{record.line}: not usable with the {move_set.name} move set: "
                                       f"{record.smiles}: {problem}")
                stats.add_unusable(f"not usable with the {move_set.name} move set", record, problem)
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
        if rows == 0:
            raise CommandError(f"{stats.summary()}: no example to write ({args.output} left as it was)")
    print(f"wrote {rows} examples to {args.output} ({stops / max(rows, 1):.1%} stop labels); {stats.summary()}")
    if report is not None:
        for failure in report.failures[:20]:
            print(f"FAILED: {failure}")
        print(report.summary())
        return 1 if report.num_failures else 0
    return 0
