"""Chain diagnostics (ric.molecules.diagnostics) and ``ric evaluate`` with a chain checkpoint."""
import inspect
import json
import math

import numpy as np
import pytest
import torch

from ric.cli.main import build_parser, main
from ric.corruption import CorruptionConfig, corrupt, example_rng
from ric.moves import make_move_set, move_set_to_dict
from ric.nn.model import ModelConfig, ReconstructionModel
from ric.molecules import diagnostics as diag
from ric.sampling.chain import ChainConfig
from ric.runtime.checkpoint import save_checkpoint

# An untrained network rarely draws stop: keep reconstructions short and molecules bounded.
FAST = ChainConfig(steps_mean=2.0, max_reconstruction_steps=3, max_atoms=45)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs with one intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def fragment_set(vocab):
    return make_move_set("fragment", vocab=vocab)


@pytest.fixture(scope="module")
def graphs(zinc_graphs, fragment_set):
    usable = [g for g in zinc_graphs if fragment_set.check_state(g) is None and g.num_atoms <= 30]
    return usable[:6]


def _tiny(move_set, seed=0):
    torch.manual_seed(seed)
    return ReconstructionModel(ModelConfig.for_move_set(move_set, hidden=16, depth=1)).eval()


@pytest.fixture(scope="module")
def tiny_model(fragment_set):
    return _tiny(fragment_set)


@pytest.fixture(scope="module")
def stop_model(fragment_set):
    """Its stop logit is forced far above every other logit."""
    model = _tiny(fragment_set)
    with torch.no_grad():
        model.stop_head[-1].bias.fill_(60.0)
    return model


@pytest.fixture(scope="module")
def uniform_model(fragment_set):
    """Every logit is 0: uniform choice over the legal moves and stop."""
    model = _tiny(fragment_set)
    with torch.no_grad():
        for head in (model.stop_head, model.atom_head, model.pair_head, model.set_head):
            head[-1].weight.zero_()
            head[-1].bias.zero_()
    return model


# ---------------------------------------------------------------------- parts 1-2


def test_training_stop_frequency_is_that_of_the_corruption():
    class Walk:  # every step is legal and changes nothing: only N and k matter
        def sample_corruption_move(self, state, rng):
            return 0

        def apply(self, state, move):
            return state

        def inverse(self, state, move):
            return 0

    for mean in (5.0, 2.0):
        draws = [corrupt(Walk(), 0, example_rng(1, 0, i), CorruptionConfig(mean)).steps for i in range(20000)]
        assert np.mean(np.equal(draws, 0)) == pytest.approx(diag.training_stop_frequency(mean), abs=0.01)
    assert diag.training_stop_frequency(5.0) == pytest.approx(0.3584, abs=1e-4)
    assert diag.training_stop_frequency(0.0) == 1.0


def test_uniform_scorer_gives_the_analytic_nll_and_top1(uniform_model, fragment_set, graphs):
    scores = diag.score_examples(uniform_model, fragment_set, graphs, 40, steps_mean=3.0, seed=2)
    expected_nll = np.log1p(scores.num_moves)  # uniform over the legal moves and stop
    np.testing.assert_allclose(scores.nll, expected_nll, rtol=1e-5)
    np.testing.assert_allclose(scores.p_stop, 1.0 / (1.0 + scores.num_moves), rtol=1e-5)
    np.testing.assert_array_equal(scores.hit, scores.is_stop)  # all tied: the first candidate, stop, wins
    assert scores.is_stop.any() and not scores.is_stop.all()
    result = diag.MoveLikelihood.from_scores(scores, 0.3)
    assert result.nll == pytest.approx(expected_nll.mean(), rel=1e-5)
    assert result.top1 == result.baseline_top1 == result.stop_fraction == pytest.approx(scores.is_stop.mean())
    baseline = np.where(scores.is_stop, -math.log(0.3), -math.log(0.7) + np.log(scores.num_moves))
    assert result.baseline_nll == pytest.approx(baseline.mean())
    assert result.move_labels.top1 == 0.0 and result.stop_labels.top1 == 1.0
    assert result.stop_labels.n + result.move_labels.n == result.n == 40


def test_examples_are_those_of_training_and_independent_of_batch_size(tiny_model, fragment_set, graphs):
    a = diag.score_examples(tiny_model, fragment_set, graphs, 15, steps_mean=3.0, seed=4, batch_size=64)
    b = diag.score_examples(tiny_model, fragment_set, graphs, 15, steps_mean=3.0, seed=4, batch_size=4)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_allclose(a.nll, b.nll, rtol=1e-4, atol=1e-5)
    n = len(graphs)
    for j in (0, 7, 14):  # example j corrupts molecule j % n with example_rng(seed, EPOCH + j // n, j % n)
        rng = example_rng(4, diag.EXAMPLE_EPOCH + j // n, j % n)
        ex = corrupt(fragment_set, graphs[j % n], rng, CorruptionConfig(3.0))
        assert a.depth[j] == ex.steps
    c = diag.score_examples(tiny_model, fragment_set, graphs, 15, steps_mean=3.0, seed=5)
    assert not np.array_equal(a.nll, c.nll)


def test_forced_stop_predicts_stop_everywhere(stop_model, fragment_set, graphs):
    scores = diag.score_examples(stop_model, fragment_set, graphs, 30, steps_mean=3.0)
    assert scores.p_stop.min() > 0.999
    cal = diag.StopCalibration.from_scores(scores)
    assert [r.k for r in cal.by_depth] == sorted({int(k) for k in scores.depth})
    assert all(r.mean_p_stop > 0.999 for r in cal.by_depth)
    assert cal.by_depth[0].k == 0 and cal.by_depth[0].stop_rate == 1.0
    assert all(r.stop_rate == 0.0 for r in cal.by_depth[1:])
    top = cal.reliability[-1]
    assert top.n == len(scores) and sum(b.n for b in cal.reliability) == len(scores)
    assert top.stop_rate == pytest.approx(scores.is_stop.mean())
    assert cal.ece == pytest.approx(abs(scores.p_stop.mean() - scores.is_stop.mean()), abs=1e-6)
    likelihood = diag.MoveLikelihood.from_scores(scores, 0.35)
    assert likelihood.top1 == likelihood.baseline_top1  # always stop, like the baseline


def test_reliability_bins_cover_zero_to_one():
    depth = np.array([0, 1, 1, 2])
    scores = diag.ExampleScores(depth, depth == 0, np.ones(4), depth == 0, np.array([1.0, 0.0, 0.05, 0.55]),
                                np.array([3, 3, 3, 3]))
    cal = diag.StopCalibration.from_scores(scores, bins=10)
    assert [b.n for b in cal.reliability] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]  # p = 1 goes to the last bin
    assert cal.reliability[1].mean_p_stop is None
    assert cal.brier == pytest.approx((0 + 0 + 0.05**2 + 0.55**2) / 4)


def test_batches_without_pair_candidates_are_scored(tiny_model, fragment_set, graphs):
    """Batches of acyclic states alone (no pair candidates; one state per batch here) score as in
    a batch with other molecules."""
    from ric.molecules.standardise import standardise

    acyclic = standardise("CCOC(C)=O")[1]
    assert fragment_set.check_state(acyclic) is None and not len(fragment_set.encode_moves(acyclic).pair_blocks)
    molecules = [acyclic, *graphs[:2]]
    one = diag.score_examples(tiny_model, fragment_set, molecules, 6, steps_mean=1.0, seed=0, batch_size=1)
    together = diag.score_examples(tiny_model, fragment_set, molecules, 6, steps_mean=1.0, seed=0, batch_size=6)
    np.testing.assert_allclose(one.nll, together.nll, rtol=1e-4, atol=1e-5)
    alone = diag.recovery(tiny_model, fragment_set, [acyclic], [0, 1], cap=2, batch_size=1)
    a = diag.recovery(tiny_model, fragment_set, [acyclic, graphs[0]], [0, 1], cap=2, batch_size=1)
    b = diag.recovery(tiny_model, fragment_set, [acyclic, graphs[0]], [0, 1], cap=2, batch_size=64)
    assert alone.rows[0].n == 1 and a.rows[0].n == 2
    assert [(r.sampled, r.greedy) for r in a.rows] == [(r.sampled, r.greedy) for r in b.rows]


# ---------------------------------------------------------------------- part 3


def test_forced_stop_recovers_only_uncorrupted_molecules(stop_model, fragment_set, graphs):
    result = diag.recovery(stop_model, fragment_set, graphs, [0, 1, 2, 3], cap=5, seed=1)
    assert [r.k for r in result.rows] == [0, 1, 2, 3]
    zero = result.rows[0]
    assert zero.n == len(graphs) and zero.unchanged == 1.0
    assert zero.sampled.exact == zero.greedy.exact == 1.0
    for row in result.rows:
        assert row.mean_p_stop > 0.999
        for mode in (row.sampled, row.greedy):
            assert mode.mean_moves == 0.0 and mode.capped == 0.0
            assert mode.exact == row.unchanged  # stopping at once recovers only a walk that came back
    assert result.rows[1].unchanged == 0.0 and result.rows[1].sampled.exact == 0.0


def test_recovery_is_seeded_and_independent_of_batch_size(tiny_model, fragment_set, graphs):
    def run(**kw):
        return diag.recovery(tiny_model, fragment_set, graphs, [1, 2], cap=4, **kw)

    a = run(seed=3, batch_size=64)
    b = run(seed=3, batch_size=3)  # other batches: the logits differ by float rounding only
    for x, y in zip(a.rows, b.rows):
        assert (x.sampled, x.greedy, x.unchanged) == (y.sampled, y.greedy, y.unchanged)
        assert x.mean_p_stop == pytest.approx(y.mean_p_stop, rel=1e-4)
    assert all(r.greedy.mean_moves <= 4 and 0 <= r.sampled.capped <= 1 for r in a.rows)
    assert all(r.sampled.passed_through >= r.sampled.exact for r in a.rows)


def test_recovery_counts_and_the_exact_match(uniform_model, fragment_set, graphs):
    """With a cap of 1 move a reconstruction recovers the original exactly when its one move
    (or an immediate stop) lands there; the moves made and the cap reached are counted."""
    result = diag.recovery(uniform_model, fragment_set, graphs, [1], cap=1, seed=0)
    row = result.rows[0]
    assert row.n == len(graphs) and row.short_walks == 0
    for mode in (row.sampled, row.greedy):
        assert mode.mean_moves == pytest.approx(mode.capped)  # one move made = the cap reached
    assert row.greedy.mean_moves == 0.0  # all logits tied: greedy picks stop, the first candidate
    assert row.greedy.exact == 0.0


# ---------------------------------------------------------------------- parts 4-5


@pytest.fixture(scope="module")
def evaluated(tiny_model, fragment_set, graphs):
    return diag.evaluate_chain(
        tiny_model, fragment_set, graphs, steps_mean=2.0, examples=20, depths=[1, 2], recovery_molecules=3,
        recovery_cap=3, chains=4, transitions=[3, 1, 3], chain_config=FAST, seed=0,
    )  # fmt: skip


def test_stationarity_has_one_point_per_transition_count(evaluated, graphs):
    st = evaluated.stationarity
    assert [p.transitions for p in st.curve] == [1, 3]
    assert st.start.transitions == 0 and st.start.same_as_start == 1.0
    assert st.chains == 4 and st.n_reference == len(graphs)
    for p in [st.start, *st.curve]:
        assert p.n_states == 4 and 1 <= p.n_unique <= 4 and p.mean_heavy_atoms > 0
        assert p.fcd is not None and p.fcd >= 0 and p.fcd_score == pytest.approx(math.exp(-0.2 * p.fcd))
        assert p.kl_score is None or 0 < p.kl_score <= 1
        q = p.heavy_atom_quantiles
        assert 0 < q["p10"] <= q["p50"] <= q["p90"] <= q["max"] and q["p10"] <= p.mean_heavy_atoms <= q["max"]
    change = evaluated.atom_change
    assert change.transitions == 4 * 3
    assert change.mean_abs_delta >= abs(change.mean_delta)
    assert sum(change.ended.values()) == pytest.approx(1.0)


def test_chains_that_never_move_show_no_change(stop_model, fragment_set, graphs):
    """No corruption (mean ~0 steps) and an immediate stop: every state stays its chain's start,
    which checks that each chain is compared with its own starting molecule."""
    reference = diag.ReferenceSet.compute([g.smiles() for g in graphs])
    config = ChainConfig(steps_mean=1e-9, max_reconstruction_steps=3)
    change, st = diag.run_chains(stop_model, fragment_set, graphs[:5], reference, chains=5, transitions=[2],
                                 config=config, seed=7)  # fmt: skip
    assert change.transitions == 10 and change.mean_abs_delta == 0.0 and change.changed_fraction == 0.0
    assert change.ended["stop"] == 1.0
    assert st.curve[0].same_as_start == 1.0
    assert st.curve[0].fcd == pytest.approx(st.start.fcd) and st.curve[0].kl_score == pytest.approx(st.start.kl_score)


def test_json_round_trip_and_plot(evaluated, tmp_path):
    data = json.loads(json.dumps(evaluated.as_dict()))
    assert diag.ChainDiagnostics.from_dict(data) == evaluated
    assert set(data) >= {"likelihood", "calibration", "recovery", "atom_change", "stationarity", "seconds"}
    skipped = diag.ChainDiagnostics("chain", "fragment", 3, 0, 5.0)
    assert diag.ChainDiagnostics.from_dict(json.loads(json.dumps(skipped.as_dict()))) == skipped
    for result in (evaluated, skipped):
        png = diag.plot_diagnostics(result, tmp_path / "plots.png")
        assert png.read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_model, fragment_set, graphs):
    root = tmp_path_factory.mktemp("chain_evaluate")
    chain = root / "chain.pt"
    save_checkpoint(chain, {"model_config": tiny_model.config.to_dict(), "model_state": tiny_model.state_dict(),
                            "move_set": move_set_to_dict(fragment_set), "corruption": {"steps_mean": 2.0}, "step": 7})
    vae = root / "vae.pt"  # only its family matters: the options are checked before the model is loaded
    save_checkpoint(vae, {"model_family": "vae", "model_state": {"w": torch.zeros(1)}})
    data = root / "held_out.smi"
    data.write_text("\n".join(g.smiles() for g in graphs) + "\n")
    return {"chain": chain, "vae": vae, "data": data}


def test_cli_defaults_are_the_library_defaults():
    args = build_parser().parse_args(["evaluate", "--checkpoint", "c.pt", "--data", "d.smi"])
    library = inspect.signature(diag.evaluate_chain).parameters
    assert args.examples == library["examples"].default
    assert list(range(1, args.max_depth + 1)) == list(library["depths"].default)
    assert args.recovery_molecules == library["recovery_molecules"].default
    assert args.recovery_cap == library["recovery_cap"].default
    assert args.chains == library["chains"].default
    assert tuple(args.transitions) == tuple(library["transitions"].default)
    assert args.batch_size == library["batch_size"].default
    assert args.threads == 1 and args.given_options is None


def test_cli_writes_json_and_png(files, tmp_path, capsys):
    out = tmp_path / "diag.json"
    argv = ["evaluate", "--checkpoint", files["chain"], "--data", files["data"], "--examples", "12", "--max-depth",
            "2", "--recovery-molecules", "2", "--recovery-cap", "3", "--chains", "3", "--transitions", "1", "2",
            "--device", "cpu", "-o", out]  # fmt: skip
    assert main(list(map(str, argv))) == 0
    captured = capsys.readouterr()
    report = json.loads(out.read_text())
    assert json.loads(captured.out) == report
    assert report["model"] == "chain" and report["step"] == 7 and report["n"] == 6
    assert report["likelihood"]["n"] == 12 and [r["k"] for r in report["recovery"]["rows"]] == [1, 2]
    assert [p["transitions"] for p in report["stationarity"]["curve"]] == [1, 2]
    # the chains ran at the checkpoint's settings (its training corruption, temperature 1)
    assert report["chain_settings"]["steps_mean"] == 2.0 and report["chain_settings"]["temperature"] == 1.0
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "reverse moves" in captured.err and "recovery" in captured.err  # progress bars
    assert not list(tmp_path.glob(".*tmp"))


def test_cli_chain_settings_can_be_given(files, tmp_path, capsys, monkeypatch):
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(diag, "evaluate_chain", record)
    argv = ["evaluate", "--checkpoint", files["chain"], "--data", files["data"], "--temperature", "0.7",
            "--steps-mean", "3.5"]
    with pytest.raises(SystemExit):
        main(list(map(str, argv)))
    config = seen["chain_config"]
    assert (config.temperature, config.steps_mean, config.thin, config.burn_in) == (0.7, 3.5, 1, 0)
    assert seen["steps_mean"] == 2.0  # the examples keep the training's corruption


@pytest.mark.parametrize("case", ["vae_option", "chain_option", "png_output", "no_usable"])
def test_cli_errors_are_one_line_and_come_before_any_computation(files, tmp_path, capsys, monkeypatch, case):
    def must_not_run(*args, **kwargs):
        raise AssertionError("computed before checking the arguments")

    monkeypatch.setattr(diag, "evaluate_chain", must_not_run)
    data = files["data"]
    if case == "no_usable":
        data = tmp_path / "alien.smi"
        data.write_text("[Xe]\nC[Si](C)(C)C\n")
    checkpoint = files["vae"] if case == "chain_option" else files["chain"]
    extra = {"vae_option": ["-k", "5", "--traversal", tmp_path / "t.png"], "chain_option": ["--chains", "2", "--temperature", "0.5"],
             "png_output": ["-o", tmp_path / "out.png"], "no_usable": []}[case]  # fmt: skip
    assert main(list(map(str, ["evaluate", "--checkpoint", checkpoint, "--data", data, *extra]))) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith("ric evaluate: error:") and "Traceback" not in err
    assert sum(line.startswith("ric evaluate: error") for line in err.splitlines()) == 1
    expected = {"vae_option": "--iwae-k, --traversal: VAE options", "chain_option": "--chains, --temperature: chain-model options",
                "png_output": ".png", "no_usable": "no molecule that the fragment move set"}[case]  # fmt: skip
    assert expected in err
    assert not (tmp_path / "out.png").exists()
