"""Score generated molecules with the GuacaMol and MOSES distribution-learning metrics.

:func:`score_samples` scores one list of generated SMILES against a
:class:`~ric.benchmark.reference.ReferenceStats` and returns a :class:`GeneratorResult`;
:func:`run_benchmark` generates from several generators (writing each sample to disk as
it is produced) and scores them all on the same reference.

Which molecules each metric sees (the published definitions):

* GuacaMol: validity on all ``n`` strings; uniqueness on the valid ones; novelty and the
  KL-divergence score on the distinct valid ones (canonical SMILES, stereo removed);
  FCD on the valid ones (RDKit canonical SMILES) against the reference's ChemNet statistics.
* MOSES: valid, unique@k, IntDiv, SNN, Frag, Scaf, Filters and the Wasserstein distances
  on the valid molecules with duplicates (:mod:`ric.metrics.moses`). Unlike MOSES's code,
  unique@k is left NaN (``null`` in ``results.json``) when fewer than ``k`` molecules are
  valid, so that no figure labelled unique@10k is computed on 1,000 molecules.

Several references (the MOSES protocol scores against Test and TestSF) share one pass
over the generated molecules: ``score_samples(..., also={"TestSF": stats})`` adds the
reference-dependent metrics (FCD, KL, SNN, Frag, Scaf, Wasserstein) against each further
reference under :attr:`GeneratorResult.by_reference`.
"""
from __future__ import annotations

import logging
import math
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ric.files import json_safe

from ric.benchmark.generators import GeneratorSpec, iterate_samples, make_generator
from ric.benchmark.reference import ReferenceStats
from ric.molecules.rdkit_utils import quiet_rdkit
from ric.metrics.distribution import canonical_or_none

__all__ = ["GeneratorResult", "score_samples", "run_benchmark", "RESULT_KEYS", "REFERENCE_KEYS"]

logger = logging.getLogger(__name__)

#: Keys every generator's entry in ``results.json`` carries.
RESULT_KEYS = (
    "validity", "uniqueness", "novelty", "kl_divergence", "fcd", "fcd_score",
    "int_div1", "int_div2", "snn", "frag", "scaf", "filters", "n_generated", "n_reference",
)  # fmt: skip

#: The metrics that depend on the reference (the keys of each ``by_reference`` entry).
REFERENCE_KEYS = ("fcd", "fcd_score", "kl_divergence", "snn", "frag", "scaf", "wasserstein", "n_reference")


@dataclass
class GeneratorResult:
    """All metrics of one generator.

    Attributes:
        name, kind: the generator (kind: ``ric``, ``corruption-only``, ``training-set``,
            ``samples`` or ``import``).
        validity, uniqueness, novelty, kl_divergence, fcd, fcd_score: GuacaMol.
        kl_terms: KL divergence of each of the ten terms.
        valid, unique_at_1k, unique_at_10k, int_div1, int_div2, snn, frag, scaf, filters,
            wasserstein: MOSES (``wasserstein``: logP, SA, QED, weight). ``unique_at_1k``
            and ``unique_at_10k`` are NaN when fewer than 1,000 (10,000) molecules are valid.
        n_generated, n_valid, n_unique, n_reference: set sizes.
        seconds: wall time of generation and of each metric group.
        by_reference: the :data:`REFERENCE_KEYS` metrics against each further reference,
            by its label (empty unless ``score_samples`` got ``also``).
        samples_file: where the generated SMILES were written.
        plot_data: per-molecule properties of the valid molecules (for the report's
            plots; not serialised).
    """

    name: str
    kind: str
    validity: float
    uniqueness: float
    novelty: float
    kl_divergence: float
    fcd: float
    fcd_score: float
    valid: float
    unique_at_1k: float
    unique_at_10k: float
    int_div1: float
    int_div2: float
    snn: float
    frag: float
    scaf: float
    filters: float
    n_generated: int
    n_valid: int
    n_unique: int
    n_reference: int
    kl_terms: dict[str, float] = field(default_factory=dict)
    wasserstein: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    by_reference: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples_file: str | None = None
    plot_data: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    examples: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``); without the plot arrays."""
        out = asdict(self)
        out.pop("plot_data")
        out.pop("examples")
        return json_safe(out)


def score_samples(
    smiles: Sequence[str],
    reference: ReferenceStats,
    training: set[str],
    *,
    name: str = "samples",
    kind: str = "samples",
    device: Any = "cpu",
    progress: bool = False,
    also: Mapping[str, ReferenceStats] | None = None,
) -> GeneratorResult:
    """Score generated SMILES against a reference (and optionally further references).

    Args:
        smiles: the generated strings, in generation order (invalid ones included).
        reference: reference statistics (:func:`~ric.benchmark.reference.load_reference`).
        training: canonical SMILES (stereo removed) of the training set, for novelty.
        name, kind: labels of the generator (default ``"samples"``).
        device: where ChemNet runs (default ``"cpu"``).
        progress: progress bars (default ``False``).
        also: further references by label (default none), e.g. ``{"TestSF": stats}``; the
            :data:`REFERENCE_KEYS` metrics against each go to ``by_reference[label]``,
            computed from the same parse, descriptors, fingerprints and ChemNet activations.
    """
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    from ric.metrics.distribution import kl_descriptors, kl_divergence_from_descriptors
    from ric.metrics.fcd import chemnet_stats, frechet_distance
    from ric.metrics.moses import moses_metrics

    seconds: dict[str, float] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=3, desc=f"scoring {name}", unit="stage", bar_format="{desc}: {n}/{total} stages{postfix}")
        bar.set_postfix_str("GuacaMol")
    start = time.perf_counter()
    # Parse every string once; derive both canonical forms from that parse: stereo kept
    # (what FCD and MOSES use) and stereo removed (GuacaMol's validity/uniqueness/novelty/KL).
    with quiet_rdkit():
        parsed = [Chem.MolFromSmiles(s) if s else None for s in smiles]
    isomeric: list[str] = []  # RDKit canonical SMILES of the GuacaMol-valid molecules
    valid: list[str] = []  # the same, stereo removed
    flat_mols: dict[str, Chem.Mol] = {}
    for mol in parsed:
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        isomeric.append(Chem.MolToSmiles(mol))
        flat = Chem.Mol(mol)
        Chem.RemoveStereochemistry(flat)
        key = Chem.MolToSmiles(flat)
        valid.append(key)
        flat_mols.setdefault(key, flat)
    unique = list(flat_mols)
    n = len(smiles)
    nan = float("nan")
    validity = len(valid) / n if n else nan
    uniqueness = len(unique) / len(valid) if valid else nan
    novelty = len(set(unique) - training) / len(unique) if unique else nan
    unique_mols = list(flat_mols.values())
    also = dict(also or {})
    by_reference: dict[str, dict[str, Any]] = {label: {"n_reference": ref.n} for label, ref in also.items()}
    kl_terms: dict[str, float] = {}
    kl_score = nan
    if len(unique_mols) >= 2:
        descriptors = kl_descriptors(unique_mols)
        kl = kl_divergence_from_descriptors(descriptors, reference.kl)
        kl_score, kl_terms = kl.score, kl.kl
        for label, ref in also.items():
            by_reference[label]["kl_divergence"] = kl_divergence_from_descriptors(descriptors, ref.kl).score
    else:
        logger.warning("%s: fewer than two distinct valid molecules; no KL-divergence score", name)
    seconds["guacamol"] = time.perf_counter() - start
    if bar is not None:
        bar.update(1)
        bar.set_postfix_str("FCD")

    start = time.perf_counter()
    fcd_value = fcd_score = nan
    if len(isomeric) >= 2:  # already RDKit-canonical: no second canonicalisation
        generated_stats = chemnet_stats(isomeric, canonicalise=False, device=device, progress=progress)
        fcd_value = frechet_distance(generated_stats, reference.fcd)
        fcd_score = math.exp(-0.2 * fcd_value)
        for label, ref in also.items():
            distance = frechet_distance(generated_stats, ref.fcd)
            by_reference[label].update(fcd=distance, fcd_score=math.exp(-0.2 * distance))
    seconds["fcd"] = time.perf_counter() - start
    if bar is not None:
        bar.update(1)
        bar.set_postfix_str("MOSES")

    start = time.perf_counter()
    moses = moses_metrics(list(smiles), reference.moses, mols=parsed, partial_unique=False)
    if also:
        from ric.metrics.moses import (
            cosine_similarity,
            fragment_counts,
            morgan_fingerprints,
            nearest_neighbour_similarity_to,
            scaffold_counts,
            wasserstein_distances,
        )

        metric_mols = [m for m in parsed if m is not None]  # the molecules moses_metrics scores
        fps = morgan_fingerprints(metric_mols)
        frags, scafs = fragment_counts(metric_mols), scaffold_counts(metric_mols)
        for label, ref in also.items():
            by_reference[label].update(
                snn=nearest_neighbour_similarity_to(fps, ref.moses.fingerprints),
                frag=cosine_similarity(ref.moses.fragment_counts, frags),
                scaf=cosine_similarity(ref.moses.scaffold_counts, scafs),
                wasserstein=dict(wasserstein_distances(moses.properties, ref.moses.properties)),
            )
    seconds["moses"] = time.perf_counter() - start
    if bar is not None:
        bar.update(1)
        bar.close()

    plot_data = dict(moses.properties)
    plot_data["rings"] = np.array([rdMolDescriptors.CalcNumRings(m) for m in unique_mols], dtype=np.float64)
    return GeneratorResult(
        name=name,
        kind=kind,
        validity=validity,
        uniqueness=uniqueness,
        novelty=novelty,
        kl_divergence=kl_score,
        fcd=fcd_value,
        fcd_score=fcd_score,
        valid=moses.valid,
        unique_at_1k=moses.unique_at_1k,
        unique_at_10k=moses.unique_at_10k,
        int_div1=moses.int_div1,
        int_div2=moses.int_div2,
        snn=moses.snn,
        frag=moses.frag,
        scaf=moses.scaf,
        filters=moses.filters,
        n_generated=n,
        n_valid=len(valid),
        n_unique=len(unique),
        n_reference=reference.n,
        kl_terms=kl_terms,
        wasserstein=dict(moses.wasserstein),
        seconds=seconds,
        by_reference=by_reference,
        plot_data=plot_data,
        examples=unique[:24],
    )


def file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "generator"


def _generate(spec: GeneratorSpec, n: int, train: Sequence[str], seed: int, device: Any, out: Path, progress: bool):
    """Generate ``n`` samples, writing each line as it is produced; returns (smiles, path, seconds).

    The lines go to ``samples/<name>.smi.partial``, renamed to ``samples/<name>.smi`` once
    all ``n`` are written: an interrupted run never leaves a truncated file under the final name.
    """
    from ric.files import PartialOutput

    start = time.perf_counter()
    generator = make_generator(spec, train=train, seed=seed, device=device)
    path = out / "samples" / f"{file_stem(spec.name)}.smi"
    path.parent.mkdir(parents=True, exist_ok=True)
    smiles = []
    with PartialOutput(path) as fh:
        for s in iterate_samples(generator, n, seed=seed, progress=progress):
            smiles.append(s)
            fh.write(s + "\n")
    logger.info("%s: %d samples in %.1f s -> %s", spec.name, len(smiles), time.perf_counter() - start, path)
    return smiles, path, time.perf_counter() - start


def _score_job(args: tuple) -> GeneratorResult:
    smiles, reference, training, name, kind, device, threads, also = args
    if threads:
        import torch

        torch.set_num_threads(threads)
    return score_samples(smiles, reference, training, name=name, kind=kind, device=device, also=also)


def run_benchmark(
    specs: Sequence[GeneratorSpec],
    *,
    train: Sequence[str],
    reference: ReferenceStats,
    n: int,
    seed: int,
    out_dir: str | os.PathLike,
    device: Any = "cpu",
    workers: int = 1,
    progress: bool = False,
    also: Mapping[str, ReferenceStats] | None = None,
    training: set[str] | None = None,
) -> list[GeneratorResult]:
    """Generate from every generator and score them all on ``reference``.

    Generation runs one generator at a time (each may use the GPU or all cores); with
    ``workers > 1`` the scoring of different generators runs in that many processes.

    Args:
        specs: the generators.
        train: training SMILES (novelty, the training-set baseline, chain starts).
        reference: reference statistics.
        n: samples per generator.
        seed: seed of every generator.
        out_dir: samples are written to ``out_dir/samples/<name>.smi``.
        device: where networks run (``"auto"``, ``"cpu"``, ``"cuda:N"``).
        workers: processes for scoring (default 1).
        progress: progress bars (default ``False``).
        also: further references by label, scored from the same samples (default none;
            see :func:`score_samples`).
        training: the canonical SMILES (stereo removed) of ``train`` for novelty, if
            already known (default: computed from ``train``).

    Raises:
        ValueError: a samples file holds no SMILES.

    Returns:
        one :class:`GeneratorResult` per spec, in order.
    """
    from ric.runtime.device import resolve_device

    out = Path(out_dir)
    dev = resolve_device(device) if isinstance(device, str) else device
    if training is None:
        training = {c for c in map(canonical_or_none, train) if c is not None}
    generated = []
    for spec in specs:
        if spec.kind == "samples":
            from ric.benchmark.generators import SamplesFile

            start = time.perf_counter()
            smiles = SamplesFile(spec.target).generate(n)
            if not smiles:
                raise ValueError(f"samples file {spec.target} holds no SMILES")
            generated.append((spec, smiles, spec.target, time.perf_counter() - start))
        else:
            smiles, path, secs = _generate(spec, n, train, seed, dev, out, progress)
            generated.append((spec, smiles, str(path), secs))

    fcd_device = str(dev)
    if workers > 1 and len(generated) > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        jobs = [
            (s, reference, training, spec.name, spec.kind, fcd_device, threads, also) for spec, s, _, _ in generated
        ]
        import multiprocessing

        # spawn, not fork: forking a process whose torch/OpenMP threads have run can hang
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            results = list(pool.map(_score_job, jobs))
    else:
        results = []
        for spec, smiles, _, _ in generated:
            logger.info("scoring %s (%d samples)", spec.name, len(smiles))
            results.append(
                score_samples(
                    smiles, reference, training, name=spec.name, kind=spec.kind, device=dev, progress=progress, also=also
                )
            )
    for result, (_, _, path, secs) in zip(results, generated):
        result.samples_file = path
        result.seconds["generation"] = secs
    return results
