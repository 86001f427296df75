"""``ric evaluate``: ELBO, IWAE, KL per group, active units and inference gaps of a VAE."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="likelihood bounds and inference-gap analysis of a trained VAE",
        description="Evaluate a VAE checkpoint (ric train --model ...) on held-out molecules: ELBO, "
        "IWAE with K samples, KL per latent group, active units, and the amortization/approximation "
        "gaps of Cremer et al. (2018). Prints and writes JSON.",
    )
    p.add_argument("--checkpoint", required=True, help="VAE checkpoint")
    p.add_argument("--data", required=True, help="held-out molecules (.smi/.csv/.sdf)")
    p.add_argument("-k", "--iwae-k", type=int, default=1000, help="importance samples (default 1000)")
    p.add_argument("--elbo-samples", type=int, default=10, help="posterior draws per ELBO (default 10)")
    p.add_argument("--max-molecules", type=int, help="evaluate only the first N molecules")
    p.add_argument("--gap-examples", type=int, default=100, help="molecules in the gap analysis (default 100; 0 skips)")
    p.add_argument("--gap-steps", type=int, default=200, help="Adam steps optimising q* (default 200)")
    p.add_argument("--traversal", metavar="PNG", help="hvae/vlae: grid of samples varying one level per row")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("-o", "--output", help="write the JSON here too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    import tempfile
    from pathlib import Path

    from ric.cli.main import CommandError
    from ric.vae.evaluate import evaluate_vae
    from ric.vae.training import load_vae, read_smiles

    if args.iwae_k < 1 or args.elbo_samples < 1:
        raise CommandError("-k and --elbo-samples must be >= 1")
    model, tokens, _ = load_vae(args.checkpoint, args.device)
    smiles = read_smiles(args.data)
    if args.max_molecules:
        smiles = smiles[: args.max_molecules]
    result = evaluate_vae(
        model, tokens, smiles, iwae_k=args.iwae_k, elbo_samples=args.elbo_samples,
        gap_examples=args.gap_examples, gap_steps=args.gap_steps, seed=args.seed,
    )  # fmt: skip
    payload = {"checkpoint": str(args.checkpoint), "data": str(args.data), **result.as_dict()}
    if args.traversal:
        payload["traversal"] = _draw_traversal(model, tokens, args.traversal, args.seed)
    text = json.dumps(payload, indent=2)
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        os.replace(tmp, out)
    print(text)
    return 0


def _draw_traversal(model, tokens, path: str, seed: int, per_row: int = 6) -> list[list[str]]:
    """Draw one row per latent level (that level redrawn, the others fixed); returns the SMILES rows."""
    import torch
    from rdkit import Chem
    from rdkit.Chem import Draw

    from ric.chem.rdkit_utils import quiet_rdkit
    from ric.cli.main import CommandError
    from ric.vae.traversal import level_traversal

    if not hasattr(model, "resample_level"):
        raise CommandError(f"--traversal needs a hierarchical model (hvae or vlae), not {model.config.model}")
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
    image.save(path)
    return smiles_rows
