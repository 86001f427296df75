"""Sample quality of one chain checkpoint under several sampler settings.

For each setting ``STEPS_MEAN/THIN[/TEMPERATURE]`` (mean corruption length per transition,
thinning, and optionally the softmax temperature, default 1), runs ``ric generate -n N
--seed SEED --steps-mean STEPS_MEAN --thin THIN --temperature TEMPERATURE`` (wall time
recorded), then scores every sample file in one ``ric benchmark --samples ...`` run against
the same reference, and prints a table (uniqueness, novelty, KL score, FCD, molecular-weight
W1, generation seconds) that it also writes to ``OUT/sweep.md``.

Usage::

    python benchmarks/sampler_sweep.py --checkpoint CKPT --settings 2/1 2/3 2/6 5/1 2/10/0.8 \\
        -n 3000 --reference ric/data/bundled/zinc_test.smi --out REPORT_DIR [--batch-size 64]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def _setting(text: str) -> tuple[float, int, float]:
    try:
        parts = text.split("/")
        if len(parts) not in (2, 3):
            raise ValueError
        temperature = float(parts[2]) if len(parts) == 3 else 1.0
        if not temperature > 0:
            raise ValueError
        return float(parts[0]), int(parts[1]), temperature
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a setting is STEPS_MEAN/THIN[/TEMPERATURE], e.g. 2/6 or 2/10/0.8; got {text!r}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--settings", type=_setting, nargs="+", required=True, metavar="STEPS_MEAN/THIN[/T]")
    parser.add_argument("-n", type=int, default=3000, help="samples per setting (default 3000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64, help="chains (ric generate --batch-size; default 64)")
    parser.add_argument("--reference", required=True, help="held-out SMILES the reference is drawn from")
    parser.add_argument("--n-reference", type=int, default=5000)
    parser.add_argument("--train", help="training SMILES for novelty (default: ric benchmark's)")
    parser.add_argument("--init", help="starting molecules of the chains (ric generate --init; default: the checkpoint's)")
    parser.add_argument("--out", required=True, help="report directory")
    parser.add_argument("--cache-dir", help="reference statistics cache (ric benchmark --cache-dir)")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ric = [sys.executable, "-m", "ric", "-q"]
    files, seconds = [], {}
    for steps, thin, temperature in args.settings:
        name = f"steps{steps:g}_thin{thin}" + (f"_T{temperature:g}" if temperature != 1.0 else "")
        path = out / f"{name}.smi"
        start = time.perf_counter()
        subprocess.run(ric + ["generate", "-n", str(args.n), "-o", str(path), "--checkpoint", args.checkpoint,
                              "--seed", str(args.seed), "--steps-mean", f"{steps:g}", "--thin", str(thin),
                              "--temperature", f"{temperature:g}", "--batch-size", str(args.batch_size)] + (["--init", args.init] if args.init else []),
                       check=True)
        seconds[name] = time.perf_counter() - start
        files.append(path)
        print(f"{name}: {args.n} samples in {seconds[name]:.1f} s", flush=True)
    command = ric + ["benchmark", "-n", str(args.n), "--n-reference", str(args.n_reference),
                     "--reference", args.reference, "-o", str(out / "benchmark")]
    if args.train:
        command += ["--train", args.train]
    if args.cache_dir:
        command += ["--cache-dir", args.cache_dir]
    for path in files:
        command += ["--samples", str(path)]
    subprocess.run(command, check=True)
    results = json.loads((out / "benchmark" / "results.json").read_text())
    rows = ["| steps_mean / thin / temperature | uniqueness | novelty | KL score | FCD | MW W1 (Da) | generation (s) |",
            "|---|---|---|---|---|---|---|"]
    for g in results["generators"]:
        name = g["name"]
        steps, rest = name.removeprefix("steps").split("_thin")
        thin, _, temperature = rest.partition("_T")
        rows.append(f"| {steps} / {thin} / {temperature or 1} | {g['uniqueness']:.3f} | {g['novelty']:.3f} | {g['kl_divergence']:.3f} | "
                    f"{g['fcd']:.2f} | {g['wasserstein']['weight']:.1f} | {seconds.get(name, float('nan')):.0f} |")
    table = "\n".join(rows) + "\n"
    header = (f"checkpoint {args.checkpoint}, {args.n} samples per setting (seed {args.seed}, "
              f"{args.batch_size} chains), "
              f"reference {args.n_reference} of {args.reference}\n\n")
    (out / "sweep.md").write_text(header + table)
    print(header + table)


if __name__ == "__main__":
    main()
