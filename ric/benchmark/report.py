"""Benchmark reports: ``results.json``, ``results.md``, property plots and molecule grids.

Files written to the output directory:

* ``results.json``: provenance (versions, command, date, stereo policy, reference source,
  seed and size) and one object per generator with every metric (NaN as ``null``);
* ``results.md``: the generators side by side, then the published MOSES rows, clearly
  labelled as published and not rerun;
* ``properties.png``: logP, QED, SA, molecular weight and ring-count distributions of
  each generator against the reference (matplotlib, Agg backend);
* ``grid_<generator>.png``: the first distinct valid molecules of each generator.

Every file is written to a temporary name and renamed, so a report is never half-written.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ric.benchmark.reference import ReferenceStats
from ric.benchmark.suite import GeneratorResult

__all__ = ["provenance", "write_report", "STEREO_POLICY"]

logger = logging.getLogger(__name__)

STEREO_POLICY = (
    "GuacaMol metrics and the reference: canonical SMILES with stereochemistry removed; "
    "FCD and MOSES metrics: RDKit canonical SMILES of the generated strings as written "
    "(stereo kept, as in their published code)"
)

#: Rows of the markdown table: (result key, label, format).
_TABLE = (
    ("validity", "Validity (GuacaMol)", "{:.3f}"),
    ("uniqueness", "Uniqueness", "{:.3f}"),
    ("novelty", "Novelty", "{:.3f}"),
    ("kl_divergence", "KL-divergence score", "{:.3f}"),
    ("fcd", "FCD (lower is better)", "{:.3f}"),
    ("fcd_score", "FCD score exp(-0.2 FCD)", "{:.3f}"),
    ("unique_at_1k", "Unique@1k (MOSES)", "{:.3f}"),
    ("unique_at_10k", "Unique@10k", "{:.3f}"),
    ("int_div1", "IntDiv1", "{:.3f}"),
    ("int_div2", "IntDiv2", "{:.3f}"),
    ("snn", "SNN", "{:.3f}"),
    ("frag", "Frag", "{:.3f}"),
    ("scaf", "Scaf", "{:.3f}"),
    ("filters", "Filters", "{:.3f}"),
    ("wasserstein.logP", "W1 logP", "{:.3f}"),
    ("wasserstein.SA", "W1 SA", "{:.3f}"),
    ("wasserstein.QED", "W1 QED", "{:.4f}"),
    ("wasserstein.weight", "W1 mol. weight", "{:.2f}"),
    ("n_generated", "n generated", "{:d}"),
    ("n_valid", "n valid", "{:d}"),
    ("n_unique", "n distinct valid", "{:d}"),
    ("n_reference", "n reference", "{:d}"),
)


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Versions, platform, date and command line of this run."""
    import rdkit
    import torch

    import ric

    try:
        from importlib.metadata import version

        fcd_version = version("fcd")
    except Exception:  # metadata missing in odd installs: record that rather than fail
        fcd_version = "unknown"
    return {
        "ric": ric.__version__,
        "rdkit": rdkit.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "fcd": fcd_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(argv if argv is not None else sys.argv),
        "stereo_policy": STEREO_POLICY,
    }


def _atomic_write(path: Path, write: Any, binary: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _value(result: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        result = result.get(part) if isinstance(result, dict) else None
    return result


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _markdown(payload: dict[str, Any]) -> str:
    gens = payload["generators"]
    ref = payload["reference"]
    prov = payload["provenance"]
    lines = [
        "# ric benchmark",
        "",
        f"Reference: {ref['n']} molecules drawn with seed {ref['seed']} from `{ref['source']}`; "
        f"novelty against `{payload['settings']['train']}`. "
        f"ric {prov['ric']}, RDKit {prov['rdkit']}, torch {prov['torch']}, fcd {prov['fcd']}; {prov['date']}.",
        "",
        f"Command: `{prov['command']}`",
        "",
        "| metric | " + " | ".join(g["name"] for g in gens) + " |",
        "|---" * (len(gens) + 1) + "|",
    ]
    for key, label, fmt in _TABLE:
        lines.append(f"| {label} | " + " | ".join(_cell(_value(g, key), fmt) for g in gens) + " |")
    lines.append(
        "| time: generation / GuacaMol / FCD / MOSES (s) | "
        + " | ".join(
            " / ".join(f"{g['seconds'].get(k, 0.0):.1f}" for k in ("generation", "guacamol", "fcd", "moses"))
            for g in gens
        )
        + " |"
    )
    lines += ["", f"Stereo policy: {prov['stereo_policy']}.", ""]
    from ric.benchmark.published import GUACAMOL_ROWS, MOSES_ROWS

    for title, rows, keys in (
        ("GuacaMol", GUACAMOL_ROWS, ("validity", "uniqueness", "novelty", "kl_divergence", "fcd_score")),
        (
            "MOSES",
            MOSES_ROWS,
            ("validity", "unique_at_1k", "unique_at_10k", "fcd", "snn", "frag", "scaf", "int_div1", "int_div2",
             "filters", "novelty"),
        ),
    ):
        if not rows:
            continue
        lines += [
            f"## Published {title} results (published, not rerun by ric)",
            "",
            "Copied from the publication for context only: other code, other RDKit, other data "
            "(MOSES: its own train/test split of ZINC Clean Leads, FCD/SNN/Frag/Scaf against its Test set). "
            f"Source: {rows[0].source}.",
            "",
            "| model | " + " | ".join(keys) + " |",
            "|---" * (len(keys) + 1) + "|",
        ]
        for row in rows:
            lines.append(f"| {row.model} | " + " | ".join(_cell(row.metrics.get(k), "{}") for k in keys) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _plot(results: Sequence[GeneratorResult], reference: ReferenceStats, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref_props = dict(reference.moses.properties)
    ref_props["rings"] = reference.rings
    panels = (("logP", "logP"), ("QED", "QED"), ("SA", "SA score"), ("weight", "molecular weight"), ("rings", "rings"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (key, label) in zip(axes, panels):
        ref = np.asarray(ref_props[key], dtype=float)
        series = [("reference", ref)] + [(r.name, np.asarray(r.plot_data.get(key, []), dtype=float)) for r in results]
        values = np.concatenate([s for _, s in series if len(s)])
        if key == "rings":
            bins = np.arange(-0.5, values.max() + 1.5, 1.0)
        else:
            bins = np.linspace(np.percentile(values, 0.5), np.percentile(values, 99.5), 40)
        for name, data in series:
            if len(data):
                ax.hist(data, bins=bins, density=True, histtype="step", linewidth=2 if name == "reference" else 1.3,
                        color="black" if name == "reference" else None, label=name)
        ax.set_xlabel(label)
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    _atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110), binary=True)
    plt.close(fig)


def _grid(result: GeneratorResult, path: Path) -> None:
    from rdkit import Chem
    from rdkit.Chem import Draw

    mols = [Chem.MolFromSmiles(s) for s in result.examples]
    if not mols:
        logger.warning("%s: no valid molecule to draw", result.name)
        return
    image = Draw.MolsToGridImage(mols, molsPerRow=6, subImgSize=(250, 200))
    _atomic_write(path, lambda fh: image.save(fh, format="PNG"), binary=True)


def write_report(
    out_dir: str | os.PathLike,
    results: Sequence[GeneratorResult],
    reference: ReferenceStats,
    settings: dict[str, Any],
    prov: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``results.json``, ``results.md``, ``properties.png`` and one grid per generator.

    Args:
        out_dir: the report directory (created).
        results: one result per generator.
        reference: the reference they were scored on.
        settings: run settings to record (n, seed, train path, ...).
        prov: provenance (default :func:`provenance`).

    Returns:
        the JSON payload.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "provenance": prov if prov is not None else provenance(),
        "settings": settings,
        "reference": {"source": reference.source, "seed": reference.seed, "n": reference.n},
        "generators": [r.as_dict() for r in results],
    }
    _atomic_write(out / "results.json", lambda fh: json.dump(payload, fh, indent=2, allow_nan=False))
    _atomic_write(out / "results.md", lambda fh: fh.write(_markdown(payload)))
    _plot(results, reference, out / "properties.png")
    from ric.benchmark.suite import file_stem

    for result in results:
        _grid(result, out / f"grid_{file_stem(result.name)}.png")
    logger.info("report written to %s", out)
    return payload
