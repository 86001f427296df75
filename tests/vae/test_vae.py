"""Tokens, the shared VAE base (bounds, KL), the plain VAE, training, generators and evaluation."""
import json
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from ric.cli.main import main
from ric.runtime.checkpoint import load_checkpoint
from ric.vae import build_model
from ric.vae.base import Inference, VAEConfig, gaussian_kl, gaussian_log_prob, importance_weighted_bound
from ric.vae.evaluate import evaluate_vae, inference_gaps
from ric.vae.generator import VAEGenerator
from ric.vae.tokens import TokenVocabulary, UnknownTokenError, tokenize_smiles
from ric.vae.training import VAETrainConfig, load_vae, train_vae

SMALL = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO", "Clc1ccccc1Br", "C[NH+](C)C"]


def test_tokenizer_keeps_multi_character_tokens():
    assert tokenize_smiles("C[C@@H](Cl)c1ccc%10cc1Br") == ["C", "[C@@H]", "(", "Cl", ")", "c", "1", "c", "c", "c",
                                                          "%10", "c", "c", "1", "Br"]  # fmt: skip
    with pytest.raises(ValueError, match="does not know"):
        tokenize_smiles("CC&C")


def test_vocabulary_round_trip_and_clear_errors(zinc_smiles):
    tv = TokenVocabulary.build(zinc_smiles[:300])
    for s in zinc_smiles[:300]:
        assert tv.decode(tv.encode(s)) == s
    assert TokenVocabulary.from_dict(tv.to_dict()) == tv
    with pytest.raises(UnknownTokenError, match=r"\[Se\]"):
        tv.encode("C[Se]C")
    with pytest.raises(ValueError, match="longer"):
        tv.encode("C" * (tv.max_length + 1))


def test_selfies_tokens_decode_to_the_same_molecule(zinc_smiles):
    from rdkit import Chem

    tv = TokenVocabulary.build(zinc_smiles[:50], "selfies")
    for s in zinc_smiles[:50]:
        assert Chem.CanonSmiles(tv.decode(tv.encode(s))) == Chem.CanonSmiles(s)


def test_gaussian_kl_and_log_prob_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(5, 4, generator=g) for _ in range(4))
    expected = kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp())).sum(-1)
    assert torch.allclose(gaussian_kl(mu_q, lv_q, mu_p, lv_p), expected, atol=1e-5)
    z = torch.randn(5, 4, generator=g)
    assert torch.allclose(gaussian_log_prob(z, mu_q, lv_q), Normal(mu_q, (0.5 * lv_q).exp()).log_prob(z).sum(-1))


def test_iwae_rises_towards_the_exact_log_likelihood_of_a_linear_gaussian_toy():
    """p(z) = N(0, 1), p(x|z) = N(z, s^2): log p(x) = log N(x; 0, 1 + s^2) exactly; a
    deliberately poor q(z|x) = N(0.3 x, 1) makes the ELBO loose."""
    s2 = 0.25
    x = torch.linspace(-2, 2, 9).unsqueeze(1)

    def infer(xr):
        mu, lv = 0.3 * xr, torch.zeros_like(xr)
        z = mu + torch.randn(xr.shape)
        return Inference([z], {}, gaussian_log_prob(z, mu, lv), gaussian_log_prob(z, 0 * z, 0 * z))

    def log_likelihood(z, xr):
        return gaussian_log_prob(xr, z[0], torch.full_like(xr, math.log(s2)))

    exact = gaussian_log_prob(x, 0 * x, torch.full_like(x, math.log(1 + s2)))
    torch.manual_seed(0)
    bounds = [float(importance_weighted_bound(infer, log_likelihood, x, k, chunk=500).mean()) for k in (1, 10, 100, 5000)]
    assert all(b >= a - 0.01 for a, b in zip(bounds, bounds[1:]))  # rises, up to Monte Carlo noise
    assert bounds[-1] <= float(exact.mean()) + 0.01
    assert float(exact.mean()) - bounds[-1] < 0.1 < float(exact.mean()) - bounds[0]


@pytest.fixture(scope="module")
def tiny():
    tv = TokenVocabulary.build(SMALL)
    torch.manual_seed(0)
    model = build_model(VAEConfig(model="vae", vocab_size=tv.size, max_length=tv.max_length, embedding=8, hidden=16, latent=4))
    return model, tv, torch.from_numpy(tv.encode_batch(SMALL))


def test_vae_bounds_and_shapes(tiny):
    model, tv, x = tiny
    model.eval()
    torch.manual_seed(1)
    out = model.elbo(x)
    assert out.elbo.shape == (len(SMALL),)
    assert torch.allclose(out.elbo, out.log_likelihood - out.kl["z"])
    elbo = torch.stack([model.elbo(x).elbo for _ in range(200)]).mean(0)
    assert float(model.iwae(x, 200).mean()) >= float(elbo.mean())
    z = model.encode(x)
    assert [t.shape for t in z] == [(len(SMALL), 4)]
    ids = model.decode(z)
    assert ids.shape == (len(SMALL), tv.max_length) and bool((ids[:, 0] == 1).all())
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(model.sample(6, generator=g1), model.sample(6, generator=g2))


def test_local_elbo_at_the_encoder_equals_the_elbo(tiny):
    model, _, x = tiny
    model.eval()
    params = model.local_parameters(x)
    torch.manual_seed(3)
    a = model.local_elbo(x, params, samples=400).detach()
    b = torch.stack([model.elbo(x).elbo for _ in range(400)]).mean(0)
    assert torch.allclose(a, b, atol=1.0)


def test_optimised_posterior_is_at_least_as_good(tiny):
    model, _, x = tiny
    gaps = inference_gaps(model, x, steps=60, samples=50, iwae_k=100, seed=0)
    assert gaps["elbo_q_star"] >= gaps["elbo_q"] - 1e-3
    assert gaps["amortization_gap"] == pytest.approx(gaps["elbo_q_star"] - gaps["elbo_q"])
    assert gaps["approximation_gap"] == pytest.approx(gaps["log_px"] - gaps["elbo_q_star"])


def _config(tmp_path, train, **kw):
    base = dict(data=str(train), out=str(tmp_path / "run"), model="vae", batch_size=4, hidden=16, latent=4,
                embedding=8, max_steps=6, log_every=2, valid_every=3, checkpoint_every=3, kl_warmup_steps=4,
                device="cpu", valid_examples=3)  # fmt: skip
    base.update(kw)
    return VAETrainConfig(**base)


@pytest.fixture()
def train_file(tmp_path, zinc_smiles):
    path = tmp_path / "train.smi"
    path.write_text("\n".join(zinc_smiles[:40]) + "\n")
    return path


def test_training_resumes_exactly_and_checkpoints_are_plain_data(tmp_path, train_file):
    full = train_vae(_config(tmp_path / "a", train_file))
    train_vae(_config(tmp_path / "b", train_file, max_steps=3))
    resumed = train_vae(resume=tmp_path / "b" / "run", max_steps=6)
    assert full.step == resumed.step == 6
    a = load_checkpoint(full.checkpoint)["model_state"]
    b = load_checkpoint(resumed.checkpoint)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    torch.load(full.checkpoint, weights_only=True)
    rows = (tmp_path / "a" / "run" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("step,epoch,seconds,loss,elbo,kl,valid_elbo")


def test_time_budget_stops_training(tmp_path, train_file):
    result = train_vae(_config(tmp_path, train_file, max_steps=None, epochs=1000, time_budget=0.5))
    assert 0 < result.step and 0.5 <= result.cpu_seconds < 5


def test_generators_and_cli(tmp_path, train_file, zinc_smiles, capsys):
    result = train_vae(_config(tmp_path, train_file))
    gen = VAEGenerator.from_checkpoint(result.checkpoint, device="cpu", seed=3)
    assert gen.generate(7) == gen.generate(7) and len(gen.generate(7)) == 7
    gibbs = VAEGenerator.from_checkpoint(result.checkpoint, device="cpu", sampler="gibbs", init=zinc_smiles[:5])
    samples = list(gibbs.sample(12, batch_size=5))
    assert [s.transition for s in samples] == [1] * 5 + [2] * 5 + [3] * 2
    out = tmp_path / "s.smi"
    assert main(["generate", "--checkpoint", str(result.checkpoint), "-n", "5", "-o", str(out), "--device", "cpu"]) == 0
    assert len(out.read_text().splitlines()) == 5
    assert main(["generate", "--checkpoint", str(result.checkpoint), "-n", "3", "-o", str(out),
                 "--scaffold", "c1ccccc1"]) == 2  # fmt: skip
    report = tmp_path / "eval.json"
    argv = ["evaluate", "--checkpoint", str(result.checkpoint), "--data", str(train_file), "-k", "10",
            "--max-molecules", "6", "--gap-examples", "3", "--gap-steps", "5", "-o", str(report), "--device", "cpu"]
    assert main(argv) == 0
    payload = json.loads(report.read_text())
    assert payload["model"] == "vae" and payload["n"] == 6 and payload["iwae_k"] == 10
    assert set(payload["gaps"]) == {"elbo_q", "elbo_q_star", "log_px", "log_px_iwae_q", "log_px_iwae_q_star",
                                    "amortization_gap", "approximation_gap", "search_steps", "converged"}
    gaps = payload["gaps"]
    assert gaps["log_px"] >= max(gaps["log_px_iwae_q"], gaps["log_px_iwae_q_star"]) - 1e-6
    model, tokens, _ = load_vae(result.checkpoint)
    direct = evaluate_vae(model, tokens, zinc_smiles[:6], iwae_k=10, gap_examples=0)
    assert direct.gaps is None and np.isfinite(direct.log_px) and direct.active_units["z1"] <= 4


def test_chain_loader_refuses_a_vae_checkpoint(tmp_path, train_file):
    from ric.sampling.generator import load_model

    result = train_vae(_config(tmp_path, train_file, max_steps=1))
    with pytest.raises(ValueError, match="VAEGenerator"):
        load_model(result.checkpoint)


def test_evaluate_draws_a_level_traversal_for_ladder_models(tmp_path, train_file, capsys):
    result = train_vae(_config(tmp_path, train_file, model="vlae", groups=2, max_steps=2))
    png = tmp_path / "levels.png"
    argv = ["evaluate", "--checkpoint", str(result.checkpoint), "--data", str(train_file), "-k", "3",
            "--max-molecules", "4", "--gap-examples", "0", "--traversal", str(png), "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["traversal"]
    assert len(rows) == 2 and all(len(r) == 6 for r in rows)
    assert png.read_bytes()[:4] == b"\x89PNG"
    plain = train_vae(_config(tmp_path / "plain", train_file, max_steps=1))
    argv[argv.index(str(result.checkpoint))] = str(plain.checkpoint)
    assert main(argv) == 2  # the plain VAE has no levels to traverse


def test_active_units_ignore_sampling_noise_of_a_collapsed_posterior(tiny):
    """A posterior equal to the prior for every molecule has no active unit, however
    noisy its sampled means; one that moves with x has all of them active."""
    from ric.vae.evaluate import _elbo_and_units

    model, tv, _ = tiny
    x = tv.encode_batch(SMALL * 20)
    collapsed = type(model).posterior_params

    def prior_like(self, xb):
        return torch.zeros(xb.size(0), 4), torch.zeros(xb.size(0), 4)

    def informative(self, xb):
        return (xb[:, 1:2].float() - 5.0).expand(-1, 4).clone(), torch.full((xb.size(0), 4), -6.0)

    try:
        type(model).posterior_params = prior_like
        assert _elbo_and_units(model, x, 2, 64, torch.device("cpu"), unit_samples=50)[2] == {"z1": 0}
        type(model).posterior_params = informative
        assert _elbo_and_units(model, x, 2, 64, torch.device("cpu"), unit_samples=50)[2] == {"z1": 4}
    finally:
        type(model).posterior_params = collapsed
