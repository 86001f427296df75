"""Slim a run's checkpoint into a bundled model, with repository-relative paths.

    python benchmarks/make_bundled_model.py RUN/checkpoint.pt ric/checkpoints/NAME.pt \
        --data ric/data/bundled/zinc_train.smi --valid ric/data/bundled/zinc_valid.smi \
        --vocab ric/data/bundled/zinc_vocab.txt --out runs/NAME [--init-note NOTE] \
        [--sampler steps_mean=2 thin=3]

The run's machine-specific paths become the given repository-relative ones (the data
files' SHA-256 are kept); ``--init-note`` replaces a fine-tuning run's ``init_weights`` path
with a description of where its starting weights came from; ``--sampler`` records the
chain settings the model is released and benchmarked with (``payload["sampler"]``, the
defaults of ``ric generate`` for this checkpoint; options given there still win).
"""
import argparse
import json

from ric.runtime.checkpoint import load_checkpoint, save_checkpoint, slim_checkpoint
from ric.sampling.chain import ChainConfig


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("src")
parser.add_argument("dst")
parser.add_argument("--data", required=True)
parser.add_argument("--valid")
parser.add_argument("--vocab")
parser.add_argument("--out", required=True, help="recorded run directory (repository-relative)")
parser.add_argument("--init-note", help="replaces train_config.init_weights")
parser.add_argument("--sampler", nargs="*", default=[], metavar="KEY=VALUE",
                    help="ChainConfig fields, and batch_size (the number of chains)")
args = parser.parse_args()

slim_checkpoint(args.src, args.dst)
payload = load_checkpoint(args.dst)
rel = {k: v for k, v in (("data", args.data), ("valid", args.valid), ("vocab", args.vocab)) if v}
config = payload["train_config"]
for key, path in rel.items():
    if config.get(key):
        config[key] = path
config["out"] = args.out
if args.init_note:
    config["init_weights"] = args.init_note
for key, record in (payload.get("data_files") or {}).items():
    record["path"] = rel[key]
if args.sampler:
    sampler = dict(item.split("=", 1) for item in args.sampler)
    sampler = {k: _value(v) for k, v in sampler.items()}
    # rejects unknown fields and bad values; batch_size is the number of chains
    ChainConfig(**{k: v for k, v in sampler.items() if k != "batch_size"})
    if "batch_size" in sampler and not (isinstance(sampler["batch_size"], int) and sampler["batch_size"] >= 1):
        raise SystemExit(f"--sampler batch_size must be a positive integer, got {sampler['batch_size']!r}")
    payload["sampler"] = sampler
save_checkpoint(args.dst, payload)
print(json.dumps(config, indent=2))
print(payload.get("data_files"), payload.get("sampler"))
