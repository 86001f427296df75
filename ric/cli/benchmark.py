"""``ric benchmark``: score generators with the GuacaMol and MOSES metrics and write a report."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="score generators (GuacaMol + MOSES metrics, FCD; graph metrics for Laman graphs) and write a report",
        description="Generate n molecules from each generator, score them all against the same reference "
        "(drawn at random with a recorded seed; statistics cached on disk) and write results.json, "
        "results.md, property plots and molecule grids to --out. For Laman graphs (--domain laman, or a .g6 "
        "--train, or a Laman checkpoint) the metrics are validity, uniqueness and novelty up to isomorphism, "
        "node counts, degree and clustering MMD and the DoD KS statistic, against the test split.",
    )
    p.add_argument("--domain", choices=("molecules", "laman"),
                   help="what the generators make (default: from --train, --reference or --checkpoint; molecules)")
    p.add_argument(
        "--generator",
        action="append",
        default=[],
        metavar="NAME",
        help="ric, corruption-only, training-set or package.module:factory; for graphs also erdos-renyi or a "
        "checkpoint.pt (repeatable; default: ric unless --samples is given)",
    )
    p.add_argument("--checkpoint", help="checkpoint of ric/corruption-only (default: the bundled model); a VAE or "
                   "CharRNN checkpoint makes ric that model, named after its run directory")
    p.add_argument("--samples", action="append", default=[], metavar="FILE", help="a SMILES file scored as one more generator (repeatable)")
    p.add_argument(
        "--train",
        help="training SMILES: novelty, training-set baseline, chain starts (default: the bundled ZINC training "
        "set; MOSES train with --reference moses)",
    )
    p.add_argument(
        "--reference",
        metavar="FILE|moses",
        help="SMILES file the reference is drawn from (default: --train); 'moses' scores every generator "
        "against both MOSES Test and TestSF (all of each unless --n-reference or --fast; novelty against "
        "MOSES train unless --train) and adds a MOSES-style table; the splits come from the molsets "
        "package (pip install --no-deps molsets); write ./moses for a file of that name",
    )
    p.add_argument("-n", "--num", type=int, help="samples per generator (default 10000 molecules, 1000 graphs)")
    p.add_argument(
        "--n-reference",
        type=int,
        help="reference molecules (default 10000; with --reference moses, all of each test set)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="quick look: n = n-reference = 1000 (unique@10k is then not reported)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generators (default 0)")
    p.add_argument("--reference-seed", type=int, default=0, help="seed of the reference draw (default 0)")
    p.add_argument("-o", "--out", required=True, help="report directory")
    p.add_argument("--cache-dir", help="reference statistics cache (default $RIC_CACHE_DIR or ~/.cache/ric/reference)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the reference cache")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--workers", type=int, default=1, help="processes scoring generators in parallel (default 1)")
    p.set_defaults(run=run)


def _check_out_dir(out: str) -> None:
    """Refuse a report directory that cannot be one, before any work is done."""
    import os
    from pathlib import Path

    from ric.cli.main import CommandError

    path = Path(out)
    if path.exists() and not path.is_dir():
        raise CommandError(f"-o {path} is an existing file, not a directory: give a directory for the report")
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:  # the nearest existing ancestor
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise CommandError(f"-o {path}: {existing} is a file, not a directory")
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"-o {path}: {existing} is not writable")


def _check_samples(path: str) -> None:
    """A samples file must be readable text holding at least one SMILES."""
    from ric.benchmark.generators import SamplesFile
    from ric.cli.main import CommandError
    from ric.files import input_file

    input_file(path, "samples file")
    try:
        smiles = SamplesFile(path).read()
    except UnicodeDecodeError as exc:
        raise CommandError(f"samples file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (OSError, EOFError) as exc:
        raise CommandError(f"cannot read samples file {path}: {exc}") from exc
    if not smiles:
        raise CommandError(f"samples file {path} holds no SMILES")


def run(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from ric.cli.main import CommandError
    from ric.files import input_file

    log = logging.getLogger("ric.cli.benchmark")
    if _domain(args) == "laman":
        return _run_graphs(args, log)
    moses = args.reference == "moses"
    n = 1000 if args.fast else args.num if args.num is not None else 10000
    n_reference = 1000 if args.fast else args.n_reference if args.n_reference is not None else None if moses else 10000
    if n < 1 or (n_reference is not None and n_reference < 2):
        raise CommandError("-n must be >= 1 and --n-reference >= 2")
    if args.workers < 1:
        raise CommandError("--workers must be >= 1")
    _check_out_dir(args.out)
    if args.cache_dir is not None and Path(args.cache_dir).exists() and not Path(args.cache_dir).is_dir():
        raise CommandError(f"--cache-dir {args.cache_dir} is a file, not a directory")
    if moses:
        from ric.benchmark.moses_data import moses_data_dir

        moses_data_dir()  # fails now, with what to install, rather than after minutes of work
    if args.train is None and not moses:
        from ric.data import path_of

        args.train = str(path_of("bundled", "train"))
    for path, what in ((args.train, "--train file"), (None if moses else args.reference, "--reference file")):
        if path is not None:
            input_file(path, what)
    for path in args.samples:
        _check_samples(path)
    if args.fast:
        log.info("--fast: %d molecules per generator, %d reference molecules; unique@10k is not reported", n, n_reference)

    from ric.benchmark.generators import GeneratorSpec

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

    results, payload = _benchmark(args, specs, n, n_reference, moses, log)  # logs through tqdm (ric.cli.main)
    for r in results:
        log.info(
            "%s: validity %.3f, uniqueness %.3f, novelty %.3f, KL %.3f, FCD %.3f",
            r.name, r.validity, r.uniqueness, r.novelty, r.kl_divergence, r.fcd,
        )  # fmt: skip
    print(f"wrote {Path(args.out) / 'results.json'} and results.md ({len(results)} generators)")
    return 0


def _domain(args: argparse.Namespace) -> str:
    """``--domain``, else inferred: a ``.g6`` data file or a Laman checkpoint means graphs."""
    if args.domain:
        return args.domain
    for path in (args.train, args.reference, *args.samples):
        if path and str(path).lower().endswith(".g6"):
            return "laman"
    if args.checkpoint:
        from ric.cli.main import CommandError
        from ric.files import input_file
        from ric.runtime.checkpoint import load_checkpoint

        input_file(args.checkpoint, "checkpoint")
        payload = load_checkpoint(args.checkpoint)
        if payload.get("model_family") == "graphrnn":
            return "laman"
        if payload.get("model_family", "chain") == "chain":
            from ric.moves.registry import move_set_entry

            try:
                return move_set_entry(payload["move_set"]["name"]).domain
            except (KeyError, ValueError) as exc:
                raise CommandError(f"{args.checkpoint}: unreadable move set ({exc})") from None
    return "molecules"


def _run_graphs(args: argparse.Namespace, log) -> int:
    """The Laman-graph benchmark (:mod:`ric.benchmark.graphs`)."""
    import sys
    from pathlib import Path

    from ric.benchmark.graphs import GraphGeneratorSpec, run_graph_benchmark
    from ric.benchmark.report import provenance
    from ric.cli.main import CommandError
    from ric.data import path_of
    from ric.files import input_file
    from ric.laman.domain import LAMAN

    if args.reference == "moses":
        raise CommandError("--reference moses is a molecule benchmark; give a .g6 reference for graphs")
    n = 1000 if args.fast or args.num is None else args.num
    if n < 1:
        raise CommandError("-n must be >= 1")
    _check_out_dir(args.out)
    train = args.train or str(path_of("laman_low", "train"))
    reference = args.reference or str(path_of("laman_low", "test"))
    for path, what in ((train, "--train file"), (reference, "--reference file"), *((p, "samples file") for p in args.samples)):
        input_file(path, what)
    try:
        specs = [GraphGeneratorSpec.parse(g, args.checkpoint) for g in args.generator]
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not specs and not args.samples:
        specs = [GraphGeneratorSpec.parse("ric", args.checkpoint)]
    specs += [GraphGeneratorSpec(Path(p).stem, "samples", p) for p in args.samples]
    train_texts, reference_texts = LAMAN.read_texts(train), LAMAN.read_texts(reference)
    if args.n_reference is not None:
        reference_texts = reference_texts[: args.n_reference]
    settings = {"n": n, "n_reference": len(reference_texts), "seed": args.seed, "train": train,
                "reference": reference, "checkpoint": args.checkpoint}
    try:
        payload = run_graph_benchmark(specs, train_texts=train_texts, reference_texts=reference_texts, n=n,
                                      seed=args.seed, out_dir=args.out, device=args.device,
                                      progress=not args.quiet, settings=settings,
                                      provenance=provenance(["ric", *sys.argv[1:]]))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    for r in payload["results"]:
        log.info("%s: validity %.3f, uniqueness %.3f, DoD KS %s", r["name"], r["validity"]["fraction"],
                 r["uniqueness"]["fraction"], r["dod"]["ks"])
    print(f"wrote {Path(args.out) / 'results.json'} and results.md ({len(payload['results'])} generators)")
    return 0


def _benchmark(args: argparse.Namespace, specs: list, n: int, n_reference: int | None, moses: bool, log) -> tuple:
    """The slow part of :func:`run`: references, generation, scoring and the report."""
    import sys
    import time

    from ric.benchmark.reference import load_reference, load_training_set
    from ric.benchmark.report import provenance, write_report
    from ric.benchmark.suite import run_benchmark
    from ric.molecules.io import read_smiles_records
    from ric.runtime.device import resolve_device

    started = time.perf_counter()
    device = resolve_device(args.device)
    common = dict(cache_dir=args.cache_dir, use_cache=not args.no_cache, device=device, progress=not args.quiet)
    if moses:
        from ric.benchmark.moses_data import REFERENCE_SPLITS, read_split

        if args.train is None:
            train, train_source = read_split("train"), "moses:train"
        else:
            train, train_source = [r.smiles for r in read_smiles_records(args.train)], args.train
        references, described = {}, []
        for split, label in REFERENCE_SPLITS.items():
            smiles = read_split(split)
            size = len(smiles) if n_reference is None else n_reference
            log.info("MOSES %s (%s): %d of %d molecules", label, split, min(size, len(smiles)), len(smiles))
            references[label] = load_reference(smiles, n=size, seed=args.reference_seed, source=f"moses:{split}", **common)
            ref = references[label]
            described.append({"label": label, "source": ref.source, "seed": ref.seed, "n": ref.n, "of": len(smiles)})
            del smiles
        reference = references.pop("Test")
        also = references
        reference_source = "moses"
    else:
        train_source = args.train
        train = [r.smiles for r in read_smiles_records(args.train)]
        reference_smiles = train if args.reference is None else [r.smiles for r in read_smiles_records(args.reference)]
        reference = load_reference(
            reference_smiles, n=n_reference, seed=args.reference_seed, source=args.reference or args.train, **common
        )
        also, described, reference_source = {}, [], args.reference or args.train
    training = load_training_set(train, source=train_source, cache_dir=args.cache_dir, use_cache=not args.no_cache)
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
        also=also,
        training=training,
    )
    settings = {
        "n": n,
        "n_reference": reference.n,
        "seed": args.seed,
        "reference_seed": args.reference_seed,
        "train": train_source,
        "reference": reference_source,
        "checkpoint": args.checkpoint,
        "device": str(device),
        "workers": args.workers,
        "fast": bool(args.fast),
        "wall_seconds": round(time.perf_counter() - started, 2),
    }
    payload = write_report(
        args.out,
        results,
        reference,
        settings,
        provenance(["ric", *sys.argv[1:]]),
        protocol="moses" if moses else None,
        references=described,
    )
    return results, payload
