"""``ric corrupt``: draw corrupted training examples, optionally verifying every step."""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_float, positive_int
from ric.moves.registry import move_set_names


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corrupt",
        help="write corrupted examples (state, corrupted, steps, reverse_move) to CSV",
        description="Apply the fixed corruption distribution to every molecule (or graph). The CSV has one row "
        "per example: the clean state (canonical SMILES, or graph6), the corrupted state as a Kekulé SMILES "
        "(or graph6) whose node order is the one reverse_move refers to, the number of steps k, and the move "
        "that undoes the last step ('stop' when k = 0).",
    )
    p.add_argument("input", help="molecules (.smi, .csv, .sdf, optionally .gz) or, with --move-set laman, "
                   "Laman graphs (.g6)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    p.add_argument("--move-set", choices=move_set_names(), default="fragment", help="default: fragment")
    p.add_argument("--vocab", help="fragment vocabulary (ric vocab); default: built from the input")
    p.add_argument("--steps-mean", type=positive_float, default=5.0, help="mean corruption length (default 5)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")
    p.add_argument("--per-molecule", type=positive_int, default=1, help="examples per molecule (epochs; default 1)")
    p.add_argument(
        "--check",
        action="store_true",
        help="verify every step (the result is valid, the inverse is legal in it and restores the state); "
        "exit status 1 if any fails",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first unusable record")
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
    log = logging.getLogger("ric.cli.corrupt")
    if args.move_set == "fragment" and not args.vocab:
        log.warning("no --vocab given: building the fragment vocabulary from %s", args.input)

    from tqdm import tqdm

    from ric.corruption import CheckReport, CorruptionConfig, corrupt, example_rng
    from ric.moves.registry import domain_of

    domain = domain_of(args.move_set)
    try:
        move_set = domain.build_move_set(args.move_set, data=args.input, vocab=args.vocab)
        records, summary = domain.records(args.input, move_set, strict=args.strict)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    config = CorruptionConfig(steps_mean=args.steps_mean)
    report = CheckReport() if args.check else None
    rows = 0
    stops = 0
    header = io.StringIO()
    csv.writer(header).writerow(["smiles" if domain.name == "molecules" else domain.state_format,
                                 "corrupted", "steps", "reverse_move"])
    with PartialOutput(args.output, header=header.getvalue(), newline="") as out:
        writer = csv.writer(out)
        try:
            for line, clean, state in tqdm(records, desc="corrupting", unit=domain.unit, disable=None):
                for epoch in range(args.per_molecule):
                    ex = corrupt(move_set, state, example_rng(args.seed, epoch, line), config, report)
                    text, new_index = domain.labelled_text(ex.corrupted)
                    label = move_set.relabel_move(ex.reverse_move, new_index)
                    if report is not None and ex.steps and not move_set.is_legal(domain.parse_labelled(text), label):
                        report.failures.append(f"{args.input}:{line}: written label is not legal in {text}")
                    writer.writerow([clean, text, ex.steps, move_set.format_move(label)])
                    rows += 1
                    stops += ex.steps == 0
        except ValueError as exc:  # strict: the first unusable record
            raise CommandError(str(exc)) from None
        if rows == 0:
            raise CommandError(f"{summary()}: no example to write ({args.output} left as it was)")
    stats_summary = summary()
    print(f"wrote {rows} examples to {args.output} ({stops / max(rows, 1):.1%} stop labels); {stats_summary}")
    if report is not None:
        for failure in report.failures[:20]:
            print(f"FAILED: {failure}")
        print(report.summary())
        return 1 if report.num_failures else 0
    return 0
