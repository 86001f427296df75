"""``ric benchmark``: score generators with the GuacaMol and MOSES metrics and write a report."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="score generators (GuacaMol + MOSES metrics, FCD) and write a report",
        description="Generate n molecules from each generator, score them all against the same reference "
        "(drawn at random with a recorded seed; statistics cached on disk) and write results.json, "
        "results.md, property plots and molecule grids to --out.",
    )
    p.add_argument(
        "--generator",
        action="append",
        default=[],
        metavar="NAME",
        help="ric, corruption-only, training-set or package.module:factory (repeatable; "
        "default: ric unless --samples is given)",
    )
    p.add_argument("--checkpoint", help="checkpoint of ric/corruption-only (default: the bundled model)")
    p.add_argument("--samples", action="append", default=[], metavar="FILE", help="a SMILES file scored as one more generator (repeatable)")
    p.add_argument("--train", help="training SMILES: novelty, training-set baseline, chain starts (default: the bundled ZINC training set)")
    p.add_argument("--reference", help="SMILES file the reference is drawn from (default: --train)")
    p.add_argument("-n", "--num", type=int, default=10000, help="samples per generator (default 10000)")
    p.add_argument("--n-reference", type=int, default=10000, help="reference molecules (default 10000)")
    p.add_argument("--fast", action="store_true", help="quick look: n = n-reference = 1000")
    p.add_argument("--seed", type=int, default=0, help="seed of the generators (default 0)")
    p.add_argument("--reference-seed", type=int, default=0, help="seed of the reference draw (default 0)")
    p.add_argument("-o", "--out", required=True, help="report directory")
    p.add_argument("--cache-dir", help="reference statistics cache (default $RIC_CACHE_DIR or ~/.cache/ric/reference)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the reference cache")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--workers", type=int, default=1, help="processes scoring generators in parallel (default 1)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import sys
    import time
    from pathlib import Path

    from ric.benchmark.generators import GeneratorSpec
    from ric.benchmark.reference import load_reference
    from ric.benchmark.report import provenance, write_report
    from ric.benchmark.suite import run_benchmark
    from ric.chem.io import read_smiles_records
    from ric.cli.main import CommandError
    from ric.training.loop import resolve_device

    log = logging.getLogger("ric.cli.benchmark")
    n, n_reference = (1000, 1000) if args.fast else (args.num, args.n_reference)
    if n < 1 or n_reference < 2:
        raise CommandError("-n must be >= 1 and --n-reference >= 2")
    if args.workers < 1:
        raise CommandError("--workers must be >= 1")
    if args.train is None:
        from ric.data import path_of

        args.train = str(path_of("bundled", "train"))
    for path in [args.train, args.reference, *args.samples]:
        if path is not None and not Path(path).is_file():
            raise CommandError(f"{path}: no such file")
    specs = [GeneratorSpec.parse(g, args.checkpoint) for g in args.generator]
    if not specs and not args.samples:
        specs = [GeneratorSpec.parse("ric", args.checkpoint)]
    used = set()
    for path in args.samples:
        name = Path(path).stem
        while name in used or name in args.generator:
            name += "_"
        used.add(name)
        specs.append(GeneratorSpec(name, "samples", path))

    started = time.perf_counter()
    train = [r.smiles for r in read_smiles_records(args.train)]
    reference_smiles = train if args.reference is None else [r.smiles for r in read_smiles_records(args.reference)]
    device = resolve_device(args.device)
    reference = load_reference(
        reference_smiles,
        n=n_reference,
        seed=args.reference_seed,
        source=args.reference or args.train,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        device=device,
        progress=not args.quiet,
    )
    results = run_benchmark(
        specs,
        train=train,
        reference=reference,
        n=n,
        seed=args.seed,
        out_dir=args.out,
        device=device,
        workers=args.workers,
        progress=not args.quiet,
    )
    settings = {
        "n": n,
        "n_reference": n_reference,
        "seed": args.seed,
        "reference_seed": args.reference_seed,
        "train": args.train,
        "reference": args.reference or args.train,
        "checkpoint": args.checkpoint,
        "device": str(device),
        "workers": args.workers,
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    write_report(args.out, results, reference, settings, provenance(["ric", *sys.argv[1:]]))
    for r in results:
        log.info(
            "%s: validity %.3f, uniqueness %.3f, novelty %.3f, KL %.3f, FCD %.3f",
            r.name, r.validity, r.uniqueness, r.novelty, r.kl_divergence, r.fcd,
        )  # fmt: skip
    print(f"wrote {Path(args.out) / 'results.json'} and results.md ({len(results)} generators)")
    return 0
