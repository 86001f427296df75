"""Slim a run's checkpoint into the bundled default model, with repository-relative paths.

    python benchmarks/make_bundled_model.py RUN/checkpoint.pt ric/checkpoints/zinc_fragment.pt "NOTE"

NOTE replaces the run's ``init_weights`` path (machine-specific) with a description of
where the starting weights came from.
"""
import json
import sys

from ric.runtime.checkpoint import load_checkpoint, save_checkpoint, slim_checkpoint

src, dst, init_note = sys.argv[1], sys.argv[2], sys.argv[3]
slim_checkpoint(src, dst)
payload = load_checkpoint(dst)
rel = {"data": "ric/data/bundled/zinc_train.smi", "valid": "ric/data/bundled/zinc_valid.smi",
       "vocab": "ric/data/bundled/zinc_vocab.txt"}
config = payload["train_config"]
for key, path in rel.items():
    if config.get(key):
        config[key] = path
config["out"] = "runs/zinc_fragment_ft"
config["init_weights"] = init_note
for key, record in (payload.get("data_files") or {}).items():
    record["path"] = rel[key]
save_checkpoint(dst, payload)
print(json.dumps(config, indent=2))
print(payload.get("data_files"))
