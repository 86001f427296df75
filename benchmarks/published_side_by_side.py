"""Side-by-side corruption timing: the published implementation against ``ric``.

Times, in one process pinned to one CPU core with one torch/OpenMP thread, the
published pure-Python corruption (``CorruptionDataset.get_data`` of Seff et al.'s
``genric`` package) and ``ric``'s fragment move set (:func:`ric.corruption.corrupt`) on
the same molecules (by default the first 200 of the published ZINC test file), with
the same trajectory lengths on both sides:

* "distribution": per example, ``N ~ Geometric(1/(1+E)) - 1`` with ``E = 5`` and a
  prefix length ``k ~ Uniform{0..N}`` (the paper's corruption distribution, which both
  implementations draw); the ``(N, k)`` pairs are drawn once per round and imposed on
  both sides, so both apply exactly the same number of steps to the same molecules;
* "five-step": every example is a full trajectory of ``k = 5`` steps.

Rates are steps applied per second and examples (trajectories) per second; the two
implementations alternate within each round (the order flips every round) and the
tables give medians over rounds, with the load average, because the machine may be
shared. Each example runs under ``try``; exceptions are counted per side and by type.
The published code swallows ``ValueError`` inside a trajectory (``ignore_errors=True``,
its default) and returns the last state reached: such trajectories are counted as
"cut short", not as failures.

The published code is not part of ``ric``. Get it with::

    git clone https://github.com/PrincetonLIPS/reversible-inductive-construction /tmp/genric

(its ZINC test file ``data/zinc/test.txt`` is small and stored in git; the large files
are not needed) and pass its root with ``--published``. It runs under a current
Python/RDKit with run-time shims only (no file of it is edited): ``six`` and
``pkg_resources`` are stubbed (imported, ``six`` unused; ``pkg_resources.resource_stream``
reads its packaged vocabulary), and the package ``genric.corruption_dataset`` is
registered without running its ``__init__``, which imports the Laman-graph modules
(Cython compiled at import, IPython).

Usage::

    python benchmarks/published_side_by_side.py --published /tmp/genric --molecules 200 --rounds 3
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import io
import os
import platform
import statistics
import sys
import time
import types
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

GET_PUBLISHED = (
    "The published implementation is not here. Get it with\n"
    "    git clone https://github.com/PrincetonLIPS/reversible-inductive-construction /tmp/genric\n"
    "(only code/genric and data/zinc/test.txt are needed; git-lfs files are not) and pass its root:\n"
    "    python benchmarks/published_side_by_side.py --published /tmp/genric"
)
STEPS_MEAN = 5.0


def missing_published(root: str | os.PathLike | None) -> str | None:
    """Why ``root`` is not a usable copy of the published code (with how to get one), or None."""
    if root is None:
        return "No --published path given.\n" + GET_PUBLISHED
    root = Path(root)
    for rel in ("code/genric/molecule_edit.py", "code/genric/corruption_dataset/_dataset.py", "data/zinc/test.txt"):
        if not (root / rel).is_file():
            return f"{root / rel} not found.\n" + GET_PUBLISHED
    return None


def pin_one_core(core: int | None = None) -> int | None:
    """Pin this process to one CPU core (the first allowed one by default) and use one torch thread."""
    chosen = None
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        chosen = core if core is not None and core in allowed else allowed[0]
        os.sched_setaffinity(0, {chosen})
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency of ric
        pass
    return chosen


def draw_lengths(n: int, seed: int, steps_mean: float = STEPS_MEAN, fixed: int | None = None) -> list[tuple[int, int]]:
    """``(N, k)`` per example: ``N ~ Geometric(1/(1+E)) - 1``, ``k ~ Uniform{0..N}``; or ``(fixed, fixed)``."""
    if fixed is not None:
        return [(fixed, fixed)] * n
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        planned = int(rng.geometric(1.0 / (1.0 + steps_mean))) - 1
        out.append((planned, int(rng.integers(planned + 1))))
    return out


class ImposedLength:
    """A random generator whose first length draws return the imposed ``(N, k)``.

    Both implementations draw ``N`` with ``geometric`` and then ``k`` with one integer
    draw (``randint`` for numpy's legacy ``RandomState``, ``integers`` for ``Generator``);
    those two calls are answered from ``(N, k)``, every other call goes to ``inner``.
    """

    def __init__(self, inner, planned: int, k: int) -> None:
        self._inner = inner
        self._planned = planned
        self._k = k
        self._geometric_done = False
        self._k_done = False

    def geometric(self, *args, **kwargs):
        if not self._geometric_done:
            self._geometric_done = True
            return self._planned + 1
        return self._inner.geometric(*args, **kwargs)

    def _int(self, name, *args, **kwargs):
        if self._geometric_done and not self._k_done:
            self._k_done = True
            return self._k
        return getattr(self._inner, name)(*args, **kwargs)

    def randint(self, *args, **kwargs):
        return self._int("randint", *args, **kwargs)

    def integers(self, *args, **kwargs):
        return self._int("integers", *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@dataclass
class Timing:
    """One timed pass over the molecules."""

    examples: int = 0
    steps: int = 0
    seconds: float = 0.0
    failures: Counter = field(default_factory=Counter)  # exception type -> trajectories
    failed_molecules: set = field(default_factory=set)
    cut_short: int = 0  # trajectories ended early without an exception

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


# --------------------------------------------------------------------------- ric side


def ric_setup(smiles: list[str], train: str = "bundled"):
    """``ric``'s fragment move set and the prepared graphs of ``smiles``.

    The vocabulary is built from the bundled training split plus ``smiles`` themselves
    (the published 780-cluster vocabulary was likewise built from all of ZINC, test
    split included), so every molecule's clusters are representable. Returns
    ``(move_set, graphs, unusable)`` where ``graphs[i]`` is None for molecules ``ric``
    rejects and ``unusable`` maps their index to the reason.
    """
    from ric.molecules.standardise import standardise
    from ric.data import load
    from ric.moves import make_move_set
    from ric.molecules.vocab import Vocabulary

    graphs, unusable = [], {}
    for i, s in enumerate(smiles):
        try:
            graphs.append(standardise(s)[1])
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            graphs.append(None)
            unusable[i] = f"{type(exc).__name__}: {exc}"
    train_graphs = []
    if train:
        for s in load(train, "train"):
            try:
                train_graphs.append(standardise(s)[1])
            except Exception:  # noqa: BLE001 - the bundled split is standardised already
                pass
    vocab = Vocabulary.build(train_graphs + [g for g in graphs if g is not None])
    move_set = make_move_set("fragment", vocab=vocab)
    for i, g in enumerate(graphs):
        if g is not None:
            problem = move_set.check_state(g)
            if problem is not None:
                unusable[i] = str(problem)
                graphs[i] = None
    return move_set, graphs, unusable


def time_ric(move_set, graphs, lengths, seed: int = 0, smiles: list[str] | None = None) -> Timing:
    """Corrupt each prepared graph with ``ric`` (``k`` steps as imposed by ``lengths``).

    With ``smiles`` given, each example starts from its SMILES (parse and standardise
    included in the time), as the published ``get_data`` does.
    """
    from ric.molecules.standardise import standardise
    from ric.corruption import CorruptionConfig, corrupt, example_rng

    config = CorruptionConfig(steps_mean=STEPS_MEAN)
    t = Timing()
    start = time.perf_counter()
    for i, (g, (planned, k)) in enumerate(zip(graphs, lengths)):
        if g is None:
            continue
        t.examples += 1
        try:
            state = standardise(smiles[i])[1] if smiles is not None else g
            ex = corrupt(move_set, state, ImposedLength(example_rng(seed, 0, i), planned, k), config)
            t.steps += ex.steps
            if ex.steps < k:
                t.cut_short += 1
        except Exception as exc:  # noqa: BLE001 - counted
            t.failures[type(exc).__name__] += 1
            t.failed_molecules.add(i)
    t.seconds = time.perf_counter() - start
    return t


# --------------------------------------------------------------------- published side


def import_published(root: str | os.PathLike):
    """Import the published corruption with run-time shims; returns its ``_dataset`` module.

    Shims (nothing on disk is changed): a stub ``six`` (imported by its ``data_utils``,
    unused); a stub ``pkg_resources`` whose ``resource_stream`` opens a file next to a
    package (setuptools no longer ships it); ``genric.corruption_dataset`` registered as
    a bare package so that its ``__init__`` (which imports the Laman-graph code, Cython
    compiled at import, and IPython) does not run. RDKit logging is switched off.
    """
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    code = str(Path(root) / "code")
    if code not in sys.path:
        sys.path.insert(0, code)
    if "six" not in sys.modules:
        sys.modules["six"] = types.ModuleType("six")
    try:
        importlib.import_module("pkg_resources")
    except ImportError:
        stub = types.ModuleType("pkg_resources")

        def resource_stream(package, resource):
            base = Path(sys.modules[package].__file__).parent
            return io.BytesIO((base / resource).read_bytes())

        stub.resource_stream = resource_stream
        sys.modules["pkg_resources"] = stub
    genric = importlib.import_module("genric")
    name = "genric.corruption_dataset"
    if name not in sys.modules:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(Path(genric.__file__).parent / "corruption_dataset")]
        sys.modules[name] = pkg
    return importlib.import_module(name + "._dataset")


class _StepCounter:
    """Counts the published edit functions' successful calls (steps applied)."""

    def __init__(self, me) -> None:
        self.count = 0
        self._me = me
        self._orig = {n: getattr(me, n) for n in ("delete_random_leaf", "insert_random_node")}
        for n, fn in self._orig.items():
            setattr(me, n, self._wrap(fn))

    def _wrap(self, fn):
        def counted(*args, **kwargs):
            out = fn(*args, **kwargs)
            self.count += 1
            return out

        return counted

    def restore(self) -> None:
        for n, fn in self._orig.items():
            setattr(self._me, n, fn)


def published_setup(dataset_module, test_file: str | os.PathLike):
    """The published ``CorruptionDataset`` over ``test_file`` (its defaults: E = 5, ignore_errors)."""
    return dataset_module.CorruptionDataset(str(test_file), expected_corruption_steps=STEPS_MEAN)


def time_published(dataset_module, dataset, indices, lengths, seed: int = 0) -> Timing:
    """Corrupt molecules ``indices`` of ``dataset`` with the published ``get_data``."""
    counter = _StepCounter(dataset_module.me)
    t = Timing()
    try:
        start = time.perf_counter()
        for i, (planned, k) in zip(indices, lengths):
            t.examples += 1
            before = counter.count
            try:
                dataset.get_data(i, ImposedLength(np.random.RandomState(seed * 100003 + i), planned, k))
                if counter.count - before < k:
                    t.cut_short += 1
            except Exception as exc:  # noqa: BLE001 - counted
                t.failures[type(exc).__name__] += 1
                t.failed_molecules.add(i)
        t.seconds = time.perf_counter() - start
    finally:
        counter.restore()
    t.steps = counter.count
    return t


# ------------------------------------------------------------------------- sampling


def published_random_sampler(root: str | os.PathLike, seed: int = 0):
    """The published ``GibbsSampler`` around a randomly initialised network (its checkpoint
    ``models/molecule_model_5_step.pth`` is a git-lfs file that is not in the repository).

    Extra run-time shims for the sampler's imports: ``collections.Iterable``/``Sequence``/
    ``Mapping`` (moved to ``collections.abc`` in Python 3.10) and no-op
    ``torch.autograd._push_range``/``_pop_range`` (removed from torch). Without the
    compiled extensions it uses its own pure-Python/torch fallbacks.
    """
    import collections
    import collections.abc

    import torch

    for name in ("Iterable", "Sequence", "Mapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if not hasattr(torch.autograd, "_push_range"):
        torch.autograd._push_range = lambda name: None
        torch.autograd._pop_range = lambda: None
    import_published(root)
    chain = importlib.import_module("genric.deploy.chain")
    jn = importlib.import_module("genric.molecule_models.joint_network")
    ar = importlib.import_module("genric.molecule_models.action_representation")
    encoder = ar.VocabInsertEncoder(canonical=True)
    config = jn.JointClassificationNetworkConfiguration(
        encoder.get_num_atom_insert_locations(), encoder.num_insert_bond_locations, hidden_size=384)
    torch.manual_seed(seed)
    model = jn.JointClassificationNetwork(1, config).eval()
    return chain.GibbsSampler(model, int(STEPS_MEAN), encoder, torch.device("cpu"))


def time_published_chain(sampler, init_smiles: str, transitions: int, seed: int = 1) -> dict:
    """Run one published chain for ``transitions`` transitions (its own ``run_chain``)."""
    import contextlib

    import torch

    calls = {"steps": 0, "step_s": 0.0}
    original = sampler._reconstruct_single_step

    def counted(x):
        start = time.perf_counter()
        try:
            return original(x)
        finally:
            calls["steps"] += 1
            calls["step_s"] += time.perf_counter() - start

    sampler._reconstruct_single_step = counted
    try:
        with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            start = time.perf_counter()
            result = sampler.run_chain(init_smiles=init_smiles, num_transitions=transitions, seed=seed)
            seconds = time.perf_counter() - start
    finally:
        del sampler._reconstruct_single_step
        torch.autograd.set_grad_enabled(True)  # run_chain switches autograd off globally
    return {
        "transitions": len(result.x) - 1,
        "seconds": seconds,
        "molecules_per_s": (len(result.x) - 1) / seconds,
        "network_steps": calls["steps"],
        "ms_per_network_step": 1e3 * calls["step_s"] / max(1, calls["steps"]),
        "attempts_per_transition": statistics.mean(result.transition_attempts),
    }


def time_ric_chain(batch_size: int, n: int, seed: int = 0) -> dict:
    """``ric``'s chain with the bundled checkpoint on the CPU: valid molecules per second."""
    from ric.sampling.generator import DEFAULT_CHECKPOINT, ChainGenerator

    gen = ChainGenerator.from_checkpoint(DEFAULT_CHECKPOINT, device="cpu", batch_size=batch_size)
    start = time.perf_counter()
    valid = sum(bool(s.smiles) for s in gen.sample(n, seed=seed))
    seconds = time.perf_counter() - start
    return {"molecules": valid, "seconds": seconds, "molecules_per_s": valid / seconds}


# ----------------------------------------------------------------------------- report


def _fmt_failures(ts: list[Timing]) -> str:
    total = Counter()
    mols: set = set()
    for t in ts:
        total.update(t.failures)
        mols |= t.failed_molecules
    n = sum(t.examples for t in ts)
    if not total:
        return f"0 of {n}"
    kinds = ", ".join(f"{k} {v}" for k, v in total.most_common())
    return f"{sum(total.values())} of {n} ({len(mols)} molecules; {kinds})"


def _row(label: str, ts: list[Timing]) -> str:
    sps = [t.steps_per_s for t in ts]
    eps = [t.examples_per_s for t in ts]
    steps = sum(t.steps for t in ts) / max(1, sum(t.examples for t in ts))
    return (f"| {label} | {statistics.median(sps):,.1f} | {min(sps):,.1f}-{max(sps):,.1f} | "
            f"{statistics.median(eps):,.1f} | {steps:.2f} | {_fmt_failures(ts)} | "
            f"{sum(t.cut_short for t in ts)} |")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", default=os.environ.get("RIC_PUBLISHED"),
                        help="root of a copy of PrincetonLIPS/reversible-inductive-construction "
                             "(default: $RIC_PUBLISHED)")
    parser.add_argument("--molecules", type=int, default=200, help="first N molecules of its ZINC test file")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure (default 3)")
    parser.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: first allowed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-five-step", action="store_true", help="skip the fixed five-step trajectories")
    parser.add_argument("--chain-transitions", type=int, default=10,
                        help="transitions of the published chain (random network; 0 skips sampling)")
    parser.add_argument("--ric-chain-n", type=int, nargs=2, default=[100, 500], metavar=("N1", "NBEST"),
                        help="molecules per ric chain run at batch 1 and at the best batch")
    parser.add_argument("--best-batch", type=int, default=64, help="ric's best batch size (benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)

    problem = missing_published(args.published)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    core = pin_one_core(args.core)
    load_start = os.getloadavg()
    root = Path(args.published)
    test_file = root / "data" / "zinc" / "test.txt"
    with open(test_file) as fh:
        smiles = [line.split()[0] for line in fh if line.strip()][: args.molecules]

    dataset_module = import_published(root)
    dataset = published_setup(dataset_module, test_file)
    move_set, graphs, unusable = ric_setup(smiles)
    indices = list(range(len(smiles)))

    import rdkit
    import torch

    import ric

    modes = [("distribution", None)] + ([] if args.no_five_step else [("five-step", 5)])
    results: dict[tuple[str, str], list[Timing]] = {}
    wall = time.perf_counter()
    # First pass, cold caches: the published Vocabulary memoises its legality checks per
    # atom/bond type, ric memoises fusion-table rows and cluster analyses. Reported apart.
    cold_lengths = draw_lengths(len(smiles), seed=args.seed * 1000 + 999)
    cold = {"published": time_published(dataset_module, dataset, indices, cold_lengths, seed=999),
            "ric": time_ric(move_set, graphs, cold_lengths, seed=999)}
    for side, t in cold.items():
        print(f"# first pass (cold caches) {side}: {t.steps_per_s:,.1f} steps/s, {t.examples_per_s:,.1f} examples/s",
              file=sys.stderr, flush=True)
    for mode, fixed in modes:
        for r in range(args.rounds):
            lengths = draw_lengths(len(smiles), seed=args.seed * 1000 + r, fixed=fixed)
            order = ["published", "ric", "ric-smiles"] if r % 2 == 0 else ["ric-smiles", "ric", "published"]
            for side in order:
                if side == "published":
                    t = time_published(dataset_module, dataset, indices, lengths, seed=r)
                elif side == "ric":
                    t = time_ric(move_set, graphs, lengths, seed=r)
                else:
                    t = time_ric(move_set, graphs, lengths, seed=r, smiles=smiles)
                results.setdefault((mode, side), []).append(t)
                print(f"# {mode} round {r + 1} {side}: {t.steps_per_s:,.1f} steps/s, "
                      f"{t.examples_per_s:,.1f} examples/s, {sum(t.failures.values())} failures",
                      file=sys.stderr, flush=True)
    chains: dict[str, list[dict]] = {}
    if args.chain_transitions > 0:
        sampler = published_random_sampler(root, seed=args.seed)
        plan = [("ric", 1), ("ric", args.best_batch), ("published", 1), ("ric", 1), ("ric", args.best_batch)]
        for r, (side, b) in enumerate(plan):
            if side == "published":
                out = time_published_chain(sampler, smiles[0], args.chain_transitions, seed=args.seed + 1)
            else:
                out = time_ric_chain(b, args.ric_chain_n[0] if b == 1 else args.ric_chain_n[1], seed=r)
            chains.setdefault(f"{side} batch {b}", []).append(out)
            print(f"# chain {side} batch {b}: {out['molecules_per_s']:.2f} valid molecules/s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - wall
    load_end = os.getloadavg()

    print(f"date {datetime.datetime.now().isoformat(timespec='minutes')}, {_cpu()}, pinned to core {core}, "
          f"torch threads {torch.get_num_threads()}, Python {platform.python_version()}, RDKit {rdkit.__version__}, "
          f"ric {ric.__version__}, {wall:.0f} s of timing")
    print(f"load average (1/5/15 min) at start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}")
    print(f"molecules: first {len(smiles)} of {test_file.relative_to(root)}; ric vocabulary {len(move_set.vocab) if hasattr(move_set, 'vocab') else '?'} "
          f"fragments; published vocabulary {len(dataset.vocab)}; molecules ric rejects: {len(unusable)}")
    for i, why in sorted(unusable.items()):
        print(f"  ric rejects molecule {i}: {why}")
    argv_text = " ".join(sys.argv[1:]) if argv is None else " ".join(argv)
    print(f"command: python benchmarks/published_side_by_side.py {argv_text}")
    print()
    labels = {
        "published": "published `get_data`",
        "ric": "ric fragment, prepared graphs",
        "ric-smiles": "ric fragment, from SMILES",
    }
    print(f"| trajectories | implementation | steps/s (median of {args.rounds}) | range | examples/s (median) | "
          "mean steps/example | failures (trajectories) | cut short |")
    print("|---|---|---|---|---|---|---|---|")
    for side in ("published", "ric"):
        print("| distribution, first pass (cold caches) " + _row(labels[side], [cold[side]]))
    for mode, _ in modes:
        for side in ("published", "ric", "ric-smiles"):
            print(f"| {mode} " + _row(labels[side], results[(mode, side)]))
    for mode, _ in modes:
        pub = statistics.median(t.steps_per_s for t in results[(mode, "published")])
        ours = statistics.median(t.steps_per_s for t in results[(mode, "ric")])
        ours_s = statistics.median(t.steps_per_s for t in results[(mode, "ric-smiles")])
        pub_e = statistics.median(t.examples_per_s for t in results[(mode, "published")])
        ours_e = statistics.median(t.examples_per_s for t in results[(mode, "ric")])
        print(f"\n{mode}: ric / published = {ours / pub:,.0f}x per step "
              f"({ours_s / pub:,.0f}x from SMILES), {ours_e / pub_e:,.0f}x per example")
    if chains:
        print()
        print("| chain | network | valid molecules/s (median) | runs | ms per network step | attempts per transition |")
        print("|---|---|---|---|---|---|")
        for key, outs in chains.items():
            rates = [o["molecules_per_s"] for o in outs]
            if key.startswith("published"):
                o = outs[0]
                print(f"| published `run_chain`, batch 1, {o['transitions']} transitions | random init (hidden 384) | "
                      f"{statistics.median(rates):.2f} | {', '.join(f'{x:.2f}' for x in rates)} | "
                      f"{o['ms_per_network_step']:.0f} | {o['attempts_per_transition']:.1f} |")
            else:
                print(f"| ric `ChainGenerator`, {key.removeprefix('ric ')} | bundled checkpoint | {statistics.median(rates):.1f} | "
                      f"{', '.join(f'{x:.1f}' for x in rates)} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
