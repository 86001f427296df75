"""``ric generate``: sample molecules from a trained checkpoint with the Markov chain."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate molecules with the corrupt/reconstruct Markov chain",
        description="Run batched Markov chains (corruption, then learned reconstruction) and write one "
        "SMILES per line as samples are produced. Without --checkpoint the bundled default model is used.",
    )
    p.add_argument("-n", "--num", type=int, required=True, help="number of molecules")
    p.add_argument("-o", "--output", required=True, help="output .smi file")
    p.add_argument("--checkpoint", help="ric train checkpoint (default: the bundled zinc_fragment.pt)")
    p.add_argument("--init", help="starting molecules (default: the model's training set)")
    p.add_argument("--scaffold", help="SMARTS/SMILES kept intact in every sample")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=int, default=64, help="chains run together (default 64)")
    p.add_argument("--burn-in", type=int, default=0, help="transitions discarded per chain (default 0)")
    p.add_argument("--thin", type=int, default=1, help="keep every k-th transition (default 1)")
    p.add_argument("--max-atoms", type=int, help="reject transitions producing more heavy atoms")
    p.add_argument("--max-reconstruction-steps", type=int, default=40, help="cap per transition (default 40)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1)")
    p.add_argument("--uniform", action="store_true", help="uniformly random legal moves instead of the network")
    p.add_argument("--sampler", choices=("ancestral", "gibbs"), default="ancestral",
                   help="VAE checkpoints: ancestral (default) or the encoder-decoder Gibbs chain from --init")
    p.add_argument("--with-stats", action="store_true", help="add tab-separated chain statistics to each line")
    p.add_argument("--draw", metavar="PNG", help="also draw the first 24 samples as a grid image")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from ric.cli.main import CommandError
    from ric.sampling.chain import Sample

    log = logging.getLogger("ric.cli.generate")
    if args.num < 0:
        raise CommandError("-n must be >= 0")
    stats_names = Sample.STATS
    if args.checkpoint and _is_vae(args.checkpoint):
        from ric.vae.generator import VAEGenerator, VAESample

        if args.scaffold or args.uniform:
            raise CommandError("--scaffold and --uniform apply to chain checkpoints, not to VAEs")
        generator = VAEGenerator.from_checkpoint(
            args.checkpoint, device=args.device, init=args.init, sampler=args.sampler, seed=args.seed,
            batch_size=args.batch_size, temperature=args.temperature,
        )  # fmt: skip
        stats_names = VAESample.STATS
    else:
        generator = _chain_generator(args)
    first = []
    redraws = rejected = 0
    with open(args.output, "w", buffering=1) as fh:
        if args.with_stats:
            fh.write("# smiles\t" + "\t".join(stats_names) + "\n")
        for sample in generator.sample(args.num, progress=True):
            line = sample.smiles
            if args.with_stats:
                line += "\t" + "\t".join(sample.stats_row())
            fh.write(line + "\n")
            redraws += getattr(sample, "redraws", 0)
            rejected += getattr(sample, "rejected", 0)
            if len(first) < 24:
                first.append(sample.smiles)
    log.info("moves redrawn after RDKit rejected them: %d; transitions rejected by --max-atoms: %d", redraws, rejected)
    if args.draw:
        from rdkit import Chem
        from rdkit.Chem import Draw

        from ric.chem.rdkit_utils import quiet_rdkit

        with quiet_rdkit():
            mols = [Chem.MolFromSmiles(s) for s in first]
        image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(250, 200))
        image.save(args.draw)
    print(f"wrote {args.num} molecules to {args.output}")
    return 0


def _is_vae(path: str) -> bool:
    from ric.training.checkpoint import load_checkpoint

    return load_checkpoint(path).get("model_family") == "vae"


def _chain_generator(args: argparse.Namespace):
    from ric.sampling.generator import ChainGenerator

    return ChainGenerator.from_checkpoint(
        args.checkpoint,
        init=args.init,
        device=args.device,
        uniform=args.uniform,
        batch_size=args.batch_size,
        seed=args.seed,
        scaffold=args.scaffold,
        burn_in=args.burn_in,
        thin=args.thin,
        max_atoms=args.max_atoms,
        max_reconstruction_steps=args.max_reconstruction_steps,
        temperature=args.temperature,
    )
