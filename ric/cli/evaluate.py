"""``ric evaluate``: held-out diagnostics of a trained model.

* a VAE checkpoint (``ric train --model vae|hvae|...``): ELBO, IWAE, KL per group, active units
  and inference gaps (:mod:`ric.vae.evaluate`);
* a chain checkpoint (``ric train``, e.g. the bundled model): reverse-move NLL and top-1 against
  the stop-only baseline, stop calibration, exact recovery by corruption depth, heavy-atom change
  per transition and a stationarity curve (:mod:`ric.molecules.diagnostics`); the chains use the
  sampler settings recorded in the checkpoint (as ``ric generate``), every transition scored.

The options of one family given with a checkpoint of the other are refused in one line.
"""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_float, positive_int

# The defaults of ric.vae.evaluate.evaluate_vae (a test keeps them equal). Nearly all the time goes
# into decoder runs: (ELBO_SAMPLES + IWAE_K) per molecule, and per gap example about 13 per search
# step (most examples stop near 200) plus IWAE_K. For a default-size vae (hidden 256, latent 32) on
# one CPU core that is about 0.4 s per molecule and 1 s per gap example: 50 molecules in about 45 s.
IWAE_K = 1000
ELBO_SAMPLES = 10
GAP_EXAMPLES = 20
GAP_STEPS = 200

# The defaults of a chain checkpoint (ric.molecules.diagnostics.evaluate_chain; a test keeps them
# equal). Measured on one CPU core with the bundled model and data/zinc_test.smi (134 s in all): the
# 1,000 examples 2 s, the recovery 12 s, the chains about 15 ms per chain and transition (64 x 100:
# about 100 s) plus about 15 s for the reference's and each point's KL descriptors and ChemNet/FCD.
CHAIN_MOLECULES = 1000
CHAIN_EXAMPLES = 1000
MAX_DEPTH = 8
RECOVERY_MOLECULES = 100
RECOVERY_CAP = 20
CHAINS = 64
TRANSITIONS = (1, 10, 100)
BATCH_SIZE = 64

#: Options that only apply to one model family: dest -> flag.
VAE_OPTIONS = {"iwae_k": "--iwae-k", "elbo_samples": "--elbo-samples", "gap_examples": "--gap-examples",
               "gap_steps": "--gap-steps", "traversal": "--traversal"}
CHAIN_OPTIONS = {"examples": "--examples", "max_depth": "--max-depth", "recovery_molecules": "--recovery-molecules",
                 "recovery_cap": "--recovery-cap", "chains": "--chains", "transitions": "--transitions",
                 "batch_size": "--batch-size", "processes": "--processes", "temperature": "--temperature",
                 "steps_mean": "--steps-mean"}  # fmt: skip


class _Given(argparse.Action):
    """Store the value and remember that the option was given on the command line, so that an
    option of the other model family can be refused (its default alone is not a mistake)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        given = dict(getattr(namespace, "given_options", None) or {})
        given[self.dest] = option_string
        namespace.given_options = given


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="held-out diagnostics of a trained model (VAE likelihood bounds, or chain-model diagnostics)",
        description="Evaluate a checkpoint on held-out molecules. Prints the JSON and, with -o, writes it. "
        "A VAE checkpoint (ric train --model ...): ELBO, IWAE with K samples, KL per latent group, active "
        "units, and the amortization/approximation gaps of Cremer et al. (2018) (the JSON is written before "
        "any --traversal is drawn). Nearly all the time is spent decoding: about (--elbo-samples + K) decoder "
        "runs per molecule, plus about 13 per q* search step and K more per gap example. With the defaults, "
        "50 molecules take about 45 s for a default-size vae (hidden 256, latent 32) on one CPU core. "
        "A chain checkpoint (ric train, e.g. the bundled model): (1) NLL and top-1 accuracy of the reverse "
        "move on seeded corrupted examples, next to the stop-only baseline; (2) predicted p(stop) against the "
        "observed stop rate by corruption depth, and a reliability table; (3) exact recovery after k = 1..K "
        "corruption steps, sampled at temperature 1 and greedy; (4) heavy-atom change per chain transition; "
        "(5) KL score and FCD of chains started from held-out molecules after each --transitions count. "
        "With -o, a PNG of the plots is written next to the JSON (same name, .png). The defaults take a little "
        "over 2 minutes on one CPU core for the bundled model, nearly all of it in the chains.",
    )
    p.add_argument("--checkpoint", required=True,
                   help="a VAE checkpoint (ric train --model vae|hvae|vlae|iaf|...) or a chain checkpoint (ric train)")
    p.add_argument("--data", required=True, help="held-out molecules (.smi/.csv/.sdf)")
    p.add_argument("--max-molecules", type=positive_int, metavar="N",
                   help="use only the first N usable molecules of --data (default: all for a VAE; "
                   f"{CHAIN_MOLECULES} for a chain model, whose examples, recovery molecules, chain starts and "
                   "KL/FCD reference come from them)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="default 0; fixes every draw")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="torch CPU threads (default 1: the batches are small, and more threads mostly wait on "
                   "each other, many times slower when other work shares the cores)")
    p.add_argument("-o", "--output", metavar="JSON",
                   help="write the JSON here too (atomically); for a chain model also a PNG of the plots beside it")
    vae = p.add_argument_group("VAE checkpoints")
    vae.add_argument("-k", "--iwae-k", type=positive_int, default=IWAE_K, metavar="K", action=_Given,
                     help=f"importance samples per molecule for log p(x) (default {IWAE_K}: K decoder runs per "
                     "molecule, about 0.4 s per molecule for a default-size vae on one CPU core)")
    vae.add_argument("--elbo-samples", type=positive_int, default=ELBO_SAMPLES, metavar="N", action=_Given,
                     help=f"posterior draws per molecule for the ELBO (default {ELBO_SAMPLES}; one decoder run each)")
    vae.add_argument("--gap-examples", type=nonnegative_int, default=GAP_EXAMPLES, metavar="N", action=_Given,
                     help=f"molecules in the gap analysis (default {GAP_EXAMPLES}; 0 skips it). Each costs about "
                     "13 decoder runs per search step plus K: about 1 s per molecule with the defaults")
    vae.add_argument("--gap-steps", type=nonnegative_int, default=GAP_STEPS, metavar="N", action=_Given,
                     help=f"most Adam steps of the per-molecule q* search (default {GAP_STEPS}); a molecule's search "
                     "stops earlier once 2 checks in a row (every 20 steps) improve it by less than 0.05 nats")
    vae.add_argument("--traversal", metavar="PNG", action=_Given,
                     help="hvae/vlae: grid of samples varying one level per row")
    chain = p.add_argument_group("chain checkpoints")
    chain.add_argument("--examples", type=nonnegative_int, default=CHAIN_EXAMPLES, metavar="N", action=_Given,
                       help=f"corrupted examples for the reverse-move NLL/top-1 and the stop calibration (default "
                       f"{CHAIN_EXAMPLES}, about 2 ms each; 0 skips both)")
    chain.add_argument("--max-depth", type=nonnegative_int, default=MAX_DEPTH, metavar="K", action=_Given,
                       help=f"exact recovery after k = 1..K corruption steps (default {MAX_DEPTH}; 0 skips it)")
    chain.add_argument("--recovery-molecules", type=positive_int, default=RECOVERY_MOLECULES, metavar="N",
                       action=_Given, help=f"molecules per depth in the recovery (default {RECOVERY_MOLECULES}; "
                       "about 12 s with the defaults for the bundled model)")
    chain.add_argument("--recovery-cap", type=positive_int, default=RECOVERY_CAP, metavar="N", action=_Given,
                       help=f"most moves of one reconstruction in the recovery (default {RECOVERY_CAP})")
    chain.add_argument("--chains", type=nonnegative_int, default=CHAINS, metavar="N", action=_Given,
                       help=f"chains run in one batch for the heavy-atom change and the stationarity curve "
                       f"(default {CHAINS}; 0 skips both); about 15 ms per chain and transition for the bundled model")
    chain.add_argument("--transitions", type=positive_int, nargs="+", default=list(TRANSITIONS), metavar="T",
                       action=_Given, help="transition counts at which the chains' states are scored (default "
                       f"{' '.join(map(str, TRANSITIONS))}; the chains run to the largest: 1 10 100 1000 takes "
                       "about 16 min with 64 chains)")
    chain.add_argument("--temperature", type=positive_float, metavar="T", action=_Given,
                       help="softmax temperature of the chains (default: the sampler setting recorded in the "
                       "checkpoint, else 1), as ric generate --temperature")
    chain.add_argument("--steps-mean", type=positive_float, metavar="S", action=_Given,
                       help="mean corruption length per chain transition (default: the recorded sampler setting, "
                       "else the training's), as ric generate --steps-mean")
    chain.add_argument("--processes", type=positive_int, default=2, metavar="N", action=_Given,
                       help="worker processes the chains are split over (default 2)")
    chain.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE, metavar="N", action=_Given,
                       help=f"states per network call for the examples and the recovery (default {BATCH_SIZE})")
    p.set_defaults(run=run, given_options=None)


def run(args: argparse.Namespace) -> int:
    import logging

    import torch

    from ric.cli.main import CommandError
    from ric.files import input_file, output_file
    from ric.runtime.checkpoint import load_checkpoint
    from ric.vae.training import MODEL_FAMILY

    torch.set_num_threads(args.threads)
    # every argument and file is checked before anything is computed
    checkpoint = input_file(args.checkpoint, "checkpoint")
    data = input_file(args.data, "--data")
    out = output_file(args.output, inputs=[data, checkpoint], what="-o") if args.output else None
    png = None
    if args.traversal:
        png = output_file(args.traversal, inputs=[data, checkpoint, out], what="--traversal")
        if out is not None and png.resolve() == out.resolve():
            raise CommandError(f"--traversal and -o are the same file {png}")
    payload = load_checkpoint(checkpoint)
    family = payload.get("model_family", "chain")
    given = args.given_options or {}
    if family == "chain":
        missing = [k for k in ("model_config", "model_state", "move_set") if k not in payload]
        if missing:
            raise CommandError(
                f"{checkpoint} is not a complete chain-model checkpoint (it has no {', '.join(missing)}) and not a "
                "VAE checkpoint (one written by ric train --model vae|hvae|vlae|iaf|nvae|lfvi|dim)"
            )
        wrong = [flag for dest, flag in VAE_OPTIONS.items() if dest in given]
        if wrong:
            raise CommandError(f"{', '.join(wrong)}: VAE option{'s' if len(wrong) > 1 else ''}, but {checkpoint} "
                               f"holds a chain model (its options: {', '.join(CHAIN_OPTIONS.values())})")
        del payload
        return _run_chain(args, checkpoint, data, out, logging.getLogger("ric.evaluate"))
    wrong = [flag for dest, flag in CHAIN_OPTIONS.items() if dest in given]
    if wrong and family == MODEL_FAMILY:
        raise CommandError(f"{', '.join(wrong)}: chain-model option{'s' if len(wrong) > 1 else ''}, but "
                           f"{checkpoint} holds a VAE (its options: {', '.join(VAE_OPTIONS.values())})")
    return _run_vae(args, checkpoint, data, out, png, payload, family)


def _run_vae(args: argparse.Namespace, checkpoint, data, out, png, payload: dict, family: str) -> int:
    import itertools
    import json
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    from ric.molecules.io import ReadStats, read_smiles_records
    from ric.cli.main import CommandError
    from ric.files import atomic_write
    from ric.vae.evaluate import evaluate_vae
    from ric.vae.training import MODEL_FAMILY, load_vae

    log = logging.getLogger("ric.evaluate")
    if family != MODEL_FAMILY:
        raise CommandError(
            f"{checkpoint} is not a VAE checkpoint: it holds a {family} model; ric evaluate needs one written by "
            "ric train --model vae|hvae|vlae|iaf|nvae|lfvi|dim, or a chain checkpoint (score charrnn models "
            "with ric benchmark)"
        )
    del payload
    try:
        model, tokens, _ = load_vae(checkpoint, args.device)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CommandError(f"{checkpoint} is not a complete VAE checkpoint ({type(exc).__name__}: {exc})") from exc
    if png is not None and not hasattr(model, "resample_level"):
        raise CommandError(f"--traversal needs a hierarchical model (hvae or vlae), not {model.config.model}")

    stats = ReadStats()
    records = list(itertools.islice(read_smiles_records(data, stats=stats), args.max_molecules))
    if stats.total_skipped:
        log.warning("%s", stats.summary())
    if not records:
        raise CommandError(f"--data {data}: no molecule that RDKit can parse")
    with logging_redirect_tqdm(loggers=[logging.getLogger("ric")]):
        result = evaluate_vae(
            model, tokens, [r.smiles for r in records], iwae_k=args.iwae_k, elbo_samples=args.elbo_samples,
            gap_examples=args.gap_examples, gap_steps=args.gap_steps, seed=args.seed, source=str(data),
            lines=[r.line for r in records], progress=not args.quiet,
        )  # fmt: skip
    result_dict = result.as_dict()
    result_dict["skipped"] += stats.total_skipped  # unparsable records too
    report = {"checkpoint": str(args.checkpoint), "data": str(args.data), **result_dict}

    def write_json() -> None:
        if out is not None:
            text = json.dumps(report, indent=2) + "\n"
            atomic_write(out, lambda fh: fh.write(text))

    write_json()  # the results are safe before any plot is drawn
    failure = None
    if png is not None:
        try:
            report["traversal"] = _draw_traversal(model, tokens, png, args.seed)
            write_json()
        except Exception as exc:  # the computed results are kept whatever the plot does
            failure = exc
    print(json.dumps(report, indent=2))
    if out is not None:
        log.info("wrote %s", out)
    if failure is not None:
        kept = f"; the results are in {out}" if out is not None else "; the results are printed above"
        raise CommandError(f"--traversal {png}: {type(failure).__name__}: {failure}{kept}") from failure
    return 0


def _run_chain(args: argparse.Namespace, checkpoint, data, out, log) -> int:
    """``ric evaluate`` of a chain checkpoint: the five diagnostics of :mod:`ric.molecules.diagnostics`."""
    import json

    from ric.molecules.io import ReadStats, read_molecules
    from ric.cli.main import CommandError
    from ric.files import atomic_write, output_file
    from ric.molecules.diagnostics import evaluate_chain, plot_diagnostics
    from ric.sampling.generator import chain_config, load_model

    png = None
    if out is not None:
        png = out.with_suffix(".png")
        if png.resolve() == out.resolve():
            raise CommandError(f"-o {out}: the plots go to the same name with .png; give the JSON another suffix")
        png = output_file(png, inputs=[data, checkpoint], what="the plots of -o")
    try:
        model, move_set, payload = load_model(checkpoint, args.device)
    except (KeyError, TypeError, RuntimeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
        raise CommandError(f"{checkpoint} is not a complete chain-model checkpoint ({problem})") from exc
    steps_mean = float(payload.get("corruption", {}).get("steps_mean", 5.0))
    limit = args.max_molecules or CHAIN_MOLECULES
    stats, graphs, reason = ReadStats(), [], f"not usable with the {move_set.name} move set"
    for record, _, graph in read_molecules(data, stats=stats):
        problem = move_set.check_state(graph)
        if problem is not None:
            stats.add_unusable(reason, record, problem)
            continue
        graphs.append(graph)
        if len(graphs) >= limit:
            break
    if stats.total_skipped:
        log.warning("%s", stats.summary())
    if not graphs:
        raise CommandError(f"--data {data}: no molecule that the {move_set.name} move set of {checkpoint} can use")
    options = {k: getattr(args, k) for k in ("temperature", "steps_mean") if getattr(args, k) is not None}
    config = chain_config(payload, thin=1, burn_in=0, **options)
    log.info("%d held-out molecules from %s; model step %s, %s move set, mean corruption %.1f steps", len(graphs),
             data, payload.get("step", "?"), move_set.name, steps_mean)
    result = evaluate_chain(
        model, move_set, graphs, steps_mean=steps_mean, examples=args.examples,
        depths=range(1, args.max_depth + 1), recovery_molecules=args.recovery_molecules,
        recovery_cap=args.recovery_cap, chains=args.chains, transitions=args.transitions, seed=args.seed,
        batch_size=args.batch_size, device=str(next(model.parameters()).device), progress=not args.quiet,
        chain_config=config, processes=args.processes,
    )  # fmt: skip
    report = {"checkpoint": str(args.checkpoint), "data": str(args.data), "step": payload.get("step"),
              "skipped": stats.total_skipped, "chain_settings": config.to_dict(), **result.as_dict()}  # fmt: skip
    text = json.dumps(report, indent=2) + "\n"
    if out is not None:
        atomic_write(out, lambda fh: fh.write(text))  # the results are safe before the plot is drawn
    failure = None
    if png is not None:
        try:
            plot_diagnostics(result, png)
        except Exception as exc:  # the computed results are kept whatever the plot does
            failure = exc
    print(text, end="")
    if out is not None:
        log.info("wrote %s%s", out, "" if failure is not None else f" and {png}")
    if failure is not None:
        raise CommandError(f"plots {png}: {type(failure).__name__}: {failure}; the results are in {out}") from failure
    return 0


def _draw_traversal(model, tokens, path, seed: int, per_row: int = 6) -> list[list[str]]:
    """Draw one row per latent level (that level redrawn, the others fixed) to the PNG ``path``
    (written atomically); returns the SMILES rows."""
    import torch
    from rdkit import Chem
    from rdkit.Chem import Draw

    from ric.molecules.rdkit_utils import quiet_rdkit
    from ric.files import atomic_write
    from ric.vae.traversal import level_traversal

    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    rows = level_traversal(model, model.config.groups, per_row, generator=generator)
    smiles_rows, mols, legends = [], [], []
    for level, latents in enumerate(rows):  # latents: the groups, each [per_row, latent]
        row = [tokens.decode(ids) for ids in model.decode(latents, greedy=True).cpu().numpy()]
        smiles_rows.append(row)
        with quiet_rdkit():
            mols += [Chem.MolFromSmiles(s) or Chem.Mol() for s in row]
        legends += [f"level {level + 1}" if k == 0 else "" for k in range(len(row))]
    image = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=(220, 180), legends=legends)
    atomic_write(path, lambda fh: image.save(fh, format="PNG"), binary=True)
    return smiles_rows
