"""``ric evaluate``: ELBO, IWAE, KL per group, active units and inference gaps of a VAE."""
from __future__ import annotations

import argparse

from ric.cli.main import nonnegative_int, positive_int

# The defaults of ric.vae.evaluate.evaluate_vae (a test keeps them equal). Nearly all the time goes
# into decoder runs: (ELBO_SAMPLES + IWAE_K) per molecule, and per gap example about 13 per search
# step (most examples stop near 200) plus IWAE_K. For a default-size vae (hidden 256, latent 32) on
# one CPU core that is about 0.4 s per molecule and 1 s per gap example: 50 molecules in about 45 s.
IWAE_K = 1000
ELBO_SAMPLES = 10
GAP_EXAMPLES = 20
GAP_STEPS = 200


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="likelihood bounds and inference-gap analysis of a trained VAE",
        description="Evaluate a VAE checkpoint (ric train --model ...) on held-out molecules: ELBO, "
        "IWAE with K samples, KL per latent group, active units, and the amortization/approximation "
        "gaps of Cremer et al. (2018). Prints the JSON and, with -o, writes it (before any --traversal "
        "is drawn). Nearly all the time is spent decoding: about (--elbo-samples + K) decoder runs per "
        "molecule, plus about 13 per q* search step and K more per gap example. With the defaults, "
        "50 molecules take about 45 s for a default-size vae (hidden 256, latent 32) on one CPU core.",
    )
    p.add_argument("--checkpoint", required=True, help="VAE checkpoint (ric train --model vae|hvae|vlae|iaf|...)")
    p.add_argument("--data", required=True, help="held-out molecules (.smi/.csv/.sdf)")
    p.add_argument("-k", "--iwae-k", type=positive_int, default=IWAE_K, metavar="K",
                   help=f"importance samples per molecule for log p(x) (default {IWAE_K}: K decoder runs per "
                   "molecule, about 0.4 s per molecule for a default-size vae on one CPU core)")
    p.add_argument("--elbo-samples", type=positive_int, default=ELBO_SAMPLES, metavar="N",
                   help=f"posterior draws per molecule for the ELBO (default {ELBO_SAMPLES}; one decoder run each)")
    p.add_argument("--max-molecules", type=positive_int, metavar="N",
                   help="evaluate only the first N molecules of --data")
    p.add_argument("--gap-examples", type=nonnegative_int, default=GAP_EXAMPLES, metavar="N",
                   help=f"molecules in the gap analysis (default {GAP_EXAMPLES}; 0 skips it). Each costs about "
                   "13 decoder runs per search step plus K: about 1 s per molecule with the defaults")
    p.add_argument("--gap-steps", type=nonnegative_int, default=GAP_STEPS, metavar="N",
                   help=f"most Adam steps of the per-molecule q* search (default {GAP_STEPS}); a molecule's search "
                   "stops earlier once 2 checks in a row (every 20 steps) improve it by less than 0.05 nats")
    p.add_argument("--traversal", metavar="PNG", help="hvae/vlae: grid of samples varying one level per row")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="default 0")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="torch CPU threads (default 1: the batches are small, and more threads mostly wait on "
                   "each other, many times slower when other work shares the cores)")
    p.add_argument("-o", "--output", metavar="JSON", help="write the JSON here too (atomically)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import itertools
    import json
    import logging

    import torch
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ric.chem.io import ReadStats, read_smiles_records
    from ric.cli.main import CommandError
    from ric.files import atomic_write, input_file, output_file
    from ric.training.checkpoint import load_checkpoint
    from ric.vae.evaluate import evaluate_vae
    from ric.vae.training import MODEL_FAMILY, load_vae

    log = logging.getLogger("ric.evaluate")
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
    if family != MODEL_FAMILY:
        raise CommandError(
            f"{checkpoint} is not a VAE checkpoint: it holds a {family} model; ric evaluate needs one written by "
            "ric train --model vae|hvae|vlae|iaf|nvae|lfvi|dim (score a chain model with ric benchmark)"
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


def _draw_traversal(model, tokens, path, seed: int, per_row: int = 6) -> list[list[str]]:
    """Draw one row per latent level (that level redrawn, the others fixed) to the PNG ``path``
    (written atomically); returns the SMILES rows."""
    import torch
    from rdkit import Chem
    from rdkit.Chem import Draw

    from ric.chem.rdkit_utils import quiet_rdkit
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
