"""``ric generate``: sample molecules (or Laman graphs) from a trained checkpoint."""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_float, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate molecules (or Laman graphs) with the corrupt/reconstruct Markov chain",
        description="Run batched Markov chains (corruption, then learned reconstruction) and write one "
        "sample per line (SMILES for molecules, graph6 for Laman graphs) as samples are produced, to "
        "OUT.partial, renamed to OUT when all are written (an interrupted run leaves OUT as it was). "
        "Without --checkpoint the bundled default model is used.",
    )
    p.add_argument("-n", "--num", type=nonnegative_int, required=True, help="number of samples")
    p.add_argument("-o", "--output", required=True, help="output file (.smi for molecules, .g6 for graphs)")
    p.add_argument("--checkpoint", help="ric train checkpoint (default: the bundled zinc_fragment.pt)")
    p.add_argument("--init", help="starting states (default: the model's training set)")
    p.add_argument("--scaffold", help="SMARTS/SMILES kept intact in every sample")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="default 0")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=positive_int,
                   help="chains (or VAE samples) run together (default: the chain checkpoint's recorded sampler "
                   "setting, else 64)")
    chain = p.add_argument_group("chain checkpoints")
    chain.add_argument("--burn-in", type=nonnegative_int, help="transitions discarded per chain (default 0, or the checkpoint's recorded setting)")
    chain.add_argument("--thin", type=positive_int, help="keep every k-th transition (default 1, or the checkpoint's recorded sampler setting)")
    chain.add_argument("--max-atoms", type=positive_int,
                       help="size cap (an explicit filter, off by default): chains start only from molecules "
                       "with at most this many heavy atoms and reject transitions that exceed it, so every "
                       "sample respects it")
    chain.add_argument("--max-reconstruction-steps", type=positive_int, help="cap per transition (default 40)")
    chain.add_argument("--steps-mean", type=positive_float,
                       help="mean corruption length per transition (default: the checkpoint's recorded sampler "
                       "setting, else its training value)")
    chain.add_argument("--revisit", choices=("stop", "continue"),
                       help="when a reconstruction returns to a state it visited: stop there (default, as the "
                       "published sampler) or continue until the network draws stop or the cap")
    chain.add_argument("--processes", type=positive_int,
                       help="worker processes the chains are split over (default 2 on the CPU, 1 on a GPU); "
                       "the samples of a seed are fixed for a given number of processes")
    chain.add_argument("--uniform", action="store_true", help="uniformly random legal moves instead of the network")
    p.add_argument("--temperature", type=positive_float, default=None,
                   help="softmax temperature (default: the checkpoint's recorded sampler setting, else 1)")
    p.add_argument("--sampler", choices=("ancestral", "gibbs"),
                   help="VAE checkpoints only: ancestral (default) or the encoder-decoder Gibbs chain from --init")
    p.add_argument("--with-stats", action="store_true", help="add tab-separated chain statistics to each line")
    p.add_argument("--draw", metavar="PNG", help="also draw the first 24 valid samples as a grid image")
    p.set_defaults(run=run)


_CHAIN_ONLY = ("scaffold", "uniform", "burn_in", "thin", "max_atoms", "max_reconstruction_steps", "revisit", "steps_mean",
               "processes")


def _temperature(args: argparse.Namespace) -> float:
    """``--temperature`` for the sequence models (VAE family, CharRNN): 1 when not given."""
    return 1.0 if args.temperature is None else args.temperature


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def run(args: argparse.Namespace) -> int:
    import logging
    import os

    from ric.cli.main import CommandError
    from ric.files import PartialOutput, input_file, output_file

    # Arguments and files first: nothing is written, and nothing slow imported, before they pass.
    if args.checkpoint:
        if os.path.isdir(args.checkpoint) and os.path.isfile(os.path.join(args.checkpoint, "checkpoint.pt")):
            args.checkpoint = os.path.join(args.checkpoint, "checkpoint.pt")  # a run directory names its checkpoint
        input_file(args.checkpoint, "checkpoint")
    if args.init:
        input_file(args.init, "starting molecules (--init)")
    inputs = [args.checkpoint, args.init]
    output_file(args.output, inputs=inputs)
    if args.output.lower().endswith(".gz"):
        raise CommandError(f"{args.output}: this command writes plain text; name the output without .gz")
    if args.draw:
        if args.num == 0:
            raise CommandError("--draw with -n 0: there is nothing to draw")
        output_file(args.draw, inputs=[*inputs, args.output], what="--draw image")
        if args.draw == args.output:
            raise CommandError("--draw and -o name the same file")

    from ric.runtime.checkpoint import load_checkpoint
    from ric.sampling.chain import Sample
    from ric.sampling.generator import DEFAULT_CHECKPOINT

    log = logging.getLogger("ric.cli.generate")
    stats_names = Sample.STATS
    payload = load_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT)  # read once, handed to the generator
    family = payload.get("model_family", "chain")
    if family in ("charrnn", "graphrnn"):  # autoregressive baselines: no chain, no starting states
        if family == "charrnn":
            from ric.baselines.generator import CharRNNGenerator as generator_class
            from ric.baselines.generator import CharRNNSample as sample_class
            name, how = "CharRNN", "token by token from its start token"
        else:
            from ric.baselines.graphrnn import GraphRNNGenerator as generator_class
            from ric.baselines.graphrnn import GraphRNNSample as sample_class
            name, how = "GraphRNN", "node by node from its start vector"
        given = [_flag(k) for k in (*_CHAIN_ONLY, "init") if getattr(args, k) not in (None, False)]
        given += ["--sampler gibbs"] if args.sampler == "gibbs" else []
        if given:
            raise CommandError(f"{', '.join(given)}: chain or VAE options; {args.checkpoint} is a {name} checkpoint, "
                               f"sampled {how}")
        generator = generator_class.from_checkpoint(
            args.checkpoint, device=args.device, seed=args.seed, batch_size=args.batch_size or 64,
            temperature=_temperature(args), payload=payload,
        )  # fmt: skip
        log.info("checkpoint: %s (a %s)", os.path.abspath(args.checkpoint), name)
        stats_names = sample_class.STATS
    elif family == "vae":
        from ric.vae.generator import VAEGenerator, VAESample

        given = [_flag(k) for k in _CHAIN_ONLY if getattr(args, k) not in (None, False)]
        if given:
            raise CommandError(f"{', '.join(given)}: chain options; {args.checkpoint} is a VAE checkpoint")
        if args.init and args.sampler != "gibbs":
            raise CommandError("--init gives the starting molecules of --sampler gibbs; the ancestral sampler has none")
        generator = VAEGenerator.from_checkpoint(
            args.checkpoint, device=args.device, init=args.init, sampler=args.sampler or "ancestral",
            seed=args.seed, batch_size=args.batch_size or 64, temperature=_temperature(args), payload=payload,
        )  # fmt: skip
        log.info("checkpoint: %s (a VAE-family model)", os.path.abspath(args.checkpoint))
        stats_names = VAESample.STATS
    else:
        if args.sampler is not None:
            raise CommandError(f"--sampler applies to VAE checkpoints; {args.checkpoint or 'the bundled model'} "
                               "is a chain model, sampled by its Markov chain (see --burn-in, --thin)")
        generator = _chain_generator(args, payload)
    # Start the sampler before the output is opened, so that a bad --scaffold or --init
    # fails here (sample() sets up eagerly).
    from ric.moves.registry import domain_of, get_domain

    # A chain generates its move set's domain; the baselines name theirs (SMILES when they do not).
    if hasattr(generator, "move_set"):
        domain = domain_of(generator.move_set)
    else:
        domain = get_domain(getattr(generator, "domain", "molecules"))
    samples = generator.sample(args.num, progress=not getattr(args, "quiet", False))
    first, valid = [], 0
    redraws = rejected = 0
    header = f"# {domain.state_format.lower()}\t" + "\t".join(stats_names) + "\n" if args.with_stats else ""
    with PartialOutput(args.output, header=header) as out:
        for sample in samples:
            line = sample.text
            if args.with_stats:
                line += "\t" + "\t".join(sample.stats_row())
            out.write(line + "\n")
            redraws += getattr(sample, "redraws", 0)
            rejected += getattr(sample, "rejected", 0)
            if domain.is_valid_text(sample.text):  # an independent check of each sample
                valid += 1
                if len(first) < 24:
                    first.append(sample.text)
    if hasattr(generator, "move_set"):
        log.info("moves redrawn after the validity check rejected them: %d; transitions rejected by --max-atoms: %d",
                 redraws, rejected)
    share = f" ({valid / args.num:.1%})" if args.num else ""
    print(f"wrote {args.num} samples to {args.output}; {valid} of them valid {domain.noun}{share}")
    if args.draw:
        if not first:
            log.warning("no valid sample: %s not drawn", args.draw)
            return 0
        domain.draw_grid(first, args.draw)
    return 0


def _chain_generator(args: argparse.Namespace, payload: dict):
    from ric.sampling.generator import ChainGenerator

    options = {k: getattr(args, k) for k in ("burn_in", "thin", "max_reconstruction_steps", "steps_mean", "batch_size",
                                             "temperature") if getattr(args, k) is not None}
    if args.revisit is not None:
        options["stop_on_revisit"] = args.revisit == "stop"
    return ChainGenerator.from_checkpoint(
        args.checkpoint,
        init=args.init,
        device=args.device,
        uniform=args.uniform,
        seed=args.seed,
        scaffold=args.scaffold,
        processes=args.processes,
        max_atoms=args.max_atoms,
        payload=payload,
        **options,
    )
