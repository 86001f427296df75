"""Training examples per second of ``ric train``, side by side with an earlier release.

Each round runs ``ric train`` once per (version, workers) setting, in turn, on the same
data with the same model (bundled configuration unless overridden), for ``--steps``
steps; a version is this checkout or a git revision checked out in a temporary
worktree. The rate of a run is measured from its ``metrics.csv`` between the first
logged row and the last (start-up and the first window excluded):
``(steps × batch) / elapsed``. Reported: the median over rounds per setting, with the
range, and CPU-seconds per example.

    python benchmarks/training_speed.py --baseline 3f8c9cc --workers 1 2 --steps 300 --rounds 3
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _worktree(rev: str, where: Path) -> Path:
    path = where / f"ric-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev],
                   check=True, capture_output=True)
    return path


def _run(tree: Path, workers: int, args: argparse.Namespace, out: Path, cache: Path) -> dict[str, float]:
    data = ROOT / "data"  # the same files for every version
    cmd = [
        sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); from ric.cli.main import main; main()",
        str(tree), "train", "--data", str(data / "zinc_train.smi"), "--valid", str(data / "zinc_valid.smi"),
        "--vocab", str(data / "zinc_vocab.txt"), "--out", str(out), "--max-steps", str(args.steps),
        "--batch-size", str(args.batch_size), "--workers", str(workers), "--log-every", str(args.log_every),
        "--valid-every", "1000000", "--checkpoint-every", "1000000", "--valid-examples", "64", "--seed", "0",
        "--steps-mean", str(args.steps_mean),
    ]
    env = dict(os.environ, RIC_CACHE_DIR=str(cache), PYTHONWARNINGS="ignore")
    env.pop("OMP_NUM_THREADS", None)
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out / "metrics.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train"]
    first, last = rows[0], rows[-1]
    steps = int(last["step"]) - int(first["step"])
    elapsed = float(last["elapsed_s"]) - float(first["elapsed_s"])
    cpu = float(last["cpu_s"]) - float(first["cpu_s"]) if last.get("cpu_s") else float("nan")
    examples = steps * args.batch_size
    return {"rate": examples / elapsed, "cpu_ms": 1e3 * cpu / examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="append", default=[], help="git revision to compare (repeatable)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--baseline-workers", type=int, nargs="+", help="workers for the baselines (default --workers)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-mean", type=float, default=5.0, help="mean corruption length (default 5, the bundled model's)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        versions = [("this checkout", ROOT, args.workers)]
        for rev in args.baseline:
            versions.append((rev, _worktree(rev, tmp), args.baseline_workers or args.workers))
        try:
            results: dict[tuple[str, int], list[dict[str, float]]] = {}
            count = 0
            for r in range(args.rounds):
                order = versions if r % 2 == 0 else versions[::-1]
                for name, tree, worker_list in order:
                    for w in worker_list:
                        count += 1
                        out = tmp / f"run-{count}"
                        got = _run(tree, w, args, out, tmp / "cache")
                        results.setdefault((name, w), []).append(got)
                        print(f"round {r + 1}: {name}, {w} workers: {got['rate']:.0f} examples/s, "
                              f"{got['cpu_ms']:.2f} CPU-ms/example, load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            for rev in args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / f"ric-{rev}")],
                               capture_output=True)
    print("\n| version | workers | examples/s (median) | range | CPU-ms per example (median) |\n|---|---|---|---|---|")
    for (name, w), runs in results.items():
        rates = [x["rate"] for x in runs]
        cpu = statistics.median(x["cpu_ms"] for x in runs)
        print(f"| {name} | {w} | {statistics.median(rates):.0f} | {min(rates):.0f}-{max(rates):.0f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
