"""``ric evaluate``: cost of the estimators, progress, results kept before the plot, checks up front."""
import inspect
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from ric.cli.main import build_parser, main
from ric.vae.evaluate import evaluate_vae, inference_gaps
from ric.vae.training import VAETrainConfig, load_vae, train_vae


def _train(root: Path, smiles: list[str], **kw) -> Path:
    root.mkdir(parents=True)
    data = root / "train.smi"
    data.write_text("\n".join(smiles) + "\n")
    base = dict(data=str(data), out=str(root / "run"), model="vae", batch_size=4, hidden=16, latent=4,
                embedding=8, max_steps=2, log_every=2, valid_every=100, checkpoint_every=100,
                kl_warmup_steps=4, device="cpu", valid_examples=3)  # fmt: skip
    base.update(kw)
    return train_vae(VAETrainConfig(**base)).checkpoint


@pytest.fixture(scope="module")
def runs(tmp_path_factory, zinc_smiles):
    """Tiny trained vae and vlae checkpoints, and a held-out file of 8 of their molecules."""
    root = tmp_path_factory.mktemp("evaluate")
    vae = _train(root / "vae", zinc_smiles[:40])
    vlae = _train(root / "vlae", zinc_smiles[:40], model="vlae", groups=2)
    data = root / "held_out.smi"
    data.write_text("\n".join(zinc_smiles[:8]) + "\n")
    return {"vae": vae, "vlae": vlae, "data": data}


def _argv(checkpoint, data, *extra) -> list[str]:
    return ["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "-k", "3", "--elbo-samples", "2",
            "--gap-examples", "2", "--gap-steps", "3", "--device", "cpu", *map(str, extra)]  # fmt: skip


# ---------------------------------------------------------------------- 1. cost of the defaults


def test_cli_defaults_are_the_library_defaults_and_fit_a_minute():
    args = build_parser().parse_args(["evaluate", "--checkpoint", "c.pt", "--data", "d.smi"])
    library = inspect.signature(evaluate_vae).parameters
    assert args.iwae_k == library["iwae_k"].default == 1000  # still a K = 1000 bound
    assert args.elbo_samples == library["elbo_samples"].default
    assert args.gap_examples == library["gap_examples"].default <= 20
    assert args.gap_steps == library["gap_steps"].default
    assert args.threads == 1  # extra threads wait on each other: many times slower on a shared CPU


def test_iwae_runs_the_encoder_once_per_molecule_and_is_the_same_bound(runs):
    """The K importance samples come from the encoder's q(z|x) computed once, not K encoder runs,
    and give the model's own IWAE bound draw for draw."""
    from ric.vae.evaluate import _Posterior

    model, tokens, _ = load_vae(runs["vae"])
    x = torch.from_numpy(tokens.encode_batch(Path(runs["data"]).read_text().split()))
    calls = []
    hook = model.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        torch.manual_seed(1)
        ours = _Posterior(model, x).iwae(50)
        assert len(calls) == 1
        torch.manual_seed(1)
        torch.testing.assert_close(ours, model.iwae(x, 50, chunk=50))
        calls.clear()
        result = evaluate_vae(model, tokens, Path(runs["data"]).read_text().split(), iwae_k=50, elbo_samples=4,
                              gap_examples=0, batch_size=4)  # fmt: skip
        assert len(calls) == 2  # 8 molecules in batches of 4: one encoder run per batch for ELBO, IWAE, units
        assert result.iwae_k == 50 and np.isfinite(result.log_px)
    finally:
        hook.remove()


def test_q_star_search_stops_when_converged(runs):
    model, tokens, _ = load_vae(runs["vae"])
    x = torch.from_numpy(tokens.encode_batch(Path(runs["data"]).read_text().split()[:4]))
    x = x[:, : int((x != 0).sum(1).max())]
    gaps = inference_gaps(model, x, steps=2000, iwae_k=5, seed=0)
    assert gaps["search_steps"] < 2000 and gaps["converged"] == 1.0
    assert gaps["elbo_q_star"] >= gaps["elbo_q"] - 1e-6  # the encoder's own parameters are a candidate
    assert gaps["approximation_gap"] == pytest.approx(gaps["log_px"] - gaps["elbo_q_star"])
    full = inference_gaps(model, x, steps=40, tol=0.0, iwae_k=5, seed=0)  # tol 0: no early stop
    assert full["search_steps"] == 40 and full["converged"] == 0.0


# ---------------------------------------------------------------------- 2. progress


def test_progress_bars_per_stage_and_quiet(runs, capsys):
    assert main(_argv(runs["vae"], runs["data"])) == 0
    err = capsys.readouterr().err
    assert "ELBO/IWAE" in err and "8/8" in err and "gaps" in err and "2/2" in err
    assert main(["-q", *_argv(runs["vae"], runs["data"])]) == 0
    captured = capsys.readouterr()
    assert "ELBO/IWAE" not in captured.err and json.loads(captured.out)["n"] == 8


# ---------------------------------------------------------------------- 3. results before the plot


def test_json_written_with_normal_mode_before_a_failing_traversal(runs, tmp_path, capsys, monkeypatch):
    import ric.cli.evaluate as cli

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(cli, "_draw_traversal", broken)
    out = tmp_path / "eval.json"
    assert main(_argv(runs["vlae"], runs["data"], "--traversal", tmp_path / "levels.png", "-o", out)) == 2
    captured = capsys.readouterr()
    assert "disk full" in captured.err and str(out) in captured.err
    saved = json.loads(out.read_text())
    assert saved["model"] == "vlae" and saved["n"] == 8 and "traversal" not in saved
    assert json.loads(captured.out) == saved
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(".*tmp"))


def test_traversal_rows_are_added_to_the_json(runs, tmp_path, capsys):
    out, png = tmp_path / "eval.json", tmp_path / "levels.png"
    assert main(_argv(runs["vlae"], runs["data"], "--gap-examples", 0, "--traversal", png, "-o", out)) == 0
    assert len(json.loads(out.read_text())["traversal"]) == 2 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("case", ["plain_vae", "png_dir_missing", "output_is_data", "same_png_and_json"])
def test_argument_problems_are_found_before_any_computation(runs, tmp_path, capsys, monkeypatch, case):
    import ric.vae.evaluate

    def must_not_run(*args, **kwargs):
        raise AssertionError("computed before checking the arguments")

    monkeypatch.setattr(ric.vae.evaluate, "evaluate_vae", must_not_run)
    data = tmp_path / "data.smi"
    data.write_text(Path(runs["data"]).read_text())
    before = data.read_text()
    extra = {
        "plain_vae": ["--traversal", tmp_path / "t.png"],
        "png_dir_missing": ["--traversal", tmp_path / "missing" / "t.png"],
        "output_is_data": ["-o", data],
        "same_png_and_json": ["--traversal", tmp_path / "x.png", "-o", tmp_path / "x.png"],
    }[case]
    checkpoint = runs["vae"] if case == "plain_vae" else runs["vlae"]
    assert main(_argv(checkpoint, data, *extra)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {"plain_vae": "hvae or vlae", "png_dir_missing": "does not exist", "output_is_data": "input",
            "same_png_and_json": "same file"}[case] in err  # fmt: skip
    assert data.read_text() == before


# ---------------------------------------------------------------------- 4. skipped molecules


def test_skipped_molecules_are_warned_with_file_and_line(runs, tmp_path, capsys):
    data = tmp_path / "mixed.smi"
    good = Path(runs["data"]).read_text().split()
    data.write_text("\n".join([good[0], "[Xe]", good[1], "C1CC", good[2]]) + "\n")
    assert main(_argv(runs["vae"], data, "--gap-examples", 0)) == 0
    captured = capsys.readouterr()
    assert f"{data}:2" in captured.err and "[Xe]" in captured.err  # untokenisable: file and line
    assert f"{data}:4" in captured.err  # unparsable
    assert json.loads(captured.out)["n"] == 3 and json.loads(captured.out)["skipped"] == 2


def test_many_skipped_molecules_give_a_summary_and_none_usable_is_an_error(runs, tmp_path, capsys):
    data = tmp_path / "alien.smi"
    data.write_text("[Xe]\n" * 12)
    assert main(_argv(runs["vae"], data)) == 2
    err = capsys.readouterr().err
    assert err.count("skipped (cannot be tokenised") == 5  # one by one for the first few only
    assert "12 of 12 molecules skipped" in err and "lines 1, 2, 3" in err
    assert "error:" in err.splitlines()[-1] and "none of the 12 molecules" in err


# ---------------------------------------------------------------------- 5. bad checkpoints and numbers


def test_a_chain_checkpoint_is_refused_in_one_line(runs, tmp_path, capsys):
    from ric.runtime.checkpoint import save_checkpoint

    chain = tmp_path / "chain.pt"  # what ric train writes for the chain model: no "vae" model family
    save_checkpoint(chain, {"model_state": {"w": torch.zeros(2)}, "step": 3})
    assert main(_argv(chain, runs["data"])) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a VAE checkpoint" in err and "ric train --model" in err


@pytest.mark.parametrize("kind", ["missing", "directory", "random_bytes"])
def test_unusable_checkpoint_files_give_one_line_errors(runs, tmp_path, capsys, kind):
    path = tmp_path / "model.pt"
    if kind == "directory":
        path.mkdir()
    elif kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    assert main(_argv(path, runs["data"])) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("ric evaluate: error:") and str(path) in err


@pytest.mark.parametrize("flag,value", [("-k", "0"), ("--elbo-samples", "0"), ("--gap-steps", "-1"),
                                        ("--max-molecules", "0"), ("--gap-examples", "-2"), ("--threads", "0")])
def test_numbers_out_of_range_are_parse_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["evaluate", "--checkpoint", "c.pt", "--data", "d.smi", flag, value])
    assert exit_info.value.code == 2 and "must be >=" in capsys.readouterr().err
