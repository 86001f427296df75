"""Implicit sequence models (lfvi, dim) and the classifier-based ratio estimator."""
from __future__ import annotations

import math

import pytest
import torch

from ric.vae import build_model
from ric.vae.base import VAEConfig
from ric.vae.implicit import DIM, LFVI, RatioEstimator
from ric.vae.tokens import TokenVocabulary

SMILES = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO"]


def make(vocab, model: str, **options) -> LFVI | DIM:
    torch.manual_seed(0)
    config = VAEConfig(
        model=model,
        vocab_size=vocab.size,
        max_length=vocab.max_length,
        embedding=8,
        hidden=16,
        latent=4,
        noise=4,
        options=options,
    )
    return build_model(config)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grads(loss, params):
    return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)


def _nonzero(g) -> bool:
    return g is not None and bool(g.abs().sum() > 0)


# ---------------------------------------------------------------- ratio estimator
def test_ratio_estimator_recovers_gaussian_log_ratio():
    """q = N(1, 0.5^2) against p = N(0, 1): T(z) -> log q(z) - log p(z), E_q[T] -> KL(q || p)."""
    torch.manual_seed(0)
    est = RatioEstimator(1, 32)
    opt = torch.optim.Adam(est.parameters(), lr=1e-2)
    for step in range(400):
        if step == 300:  # anneal: the logistic-loss optimum is reached in expectation
            opt.param_groups[0]["lr"] = 2e-3
        zq = 1.0 + 0.5 * torch.randn(256, 1)
        zp = torch.randn(256, 1)
        loss = RatioEstimator.logistic_loss(est(zq), est(zp))
        opt.zero_grad()
        loss.backward()
        opt.step()

    def exact(z):
        return math.log(2.0) - 2.0 * (z - 1.0) ** 2 + 0.5 * z**2

    grid = torch.linspace(0.25, 1.75, 31).unsqueeze(1)  # q's mean +- 1.5 sd
    with torch.no_grad():
        err = (est(grid) - exact(grid.squeeze(1))).abs().max()
        kl_hat = est(1.0 + 0.5 * torch.randn(20000, 1)).mean()
    kl = math.log(2.0) + (0.25 + 1.0) / 2 - 0.5  # 0.818 nats
    assert err < 0.3, f"max |T - log q/p| on the grid {float(err):.3f}"
    assert abs(float(kl_hat) - kl) < 0.15, f"E_q[T] = {float(kl_hat):.3f}, KL = {kl:.3f}"


def test_ratio_estimator_frozen_gives_no_parameter_gradient():
    est = RatioEstimator(3, 8)
    z = torch.randn(5, 3, requires_grad=True)
    out = est(z, frozen=True).sum()
    gz, *gp = torch.autograd.grad(out, [z, *est.parameters()], allow_unused=True)
    assert _nonzero(gz) and all(g is None for g in gp)
    assert torch.allclose(est(z, frozen=True), est(z))


# ---------------------------------------------------------------- LFVI
def test_lfvi_encoder_is_implicit_and_seeded(vocab, batch):
    model = make(vocab, "lfvi")
    assert isinstance(model, LFVI) and model.has_density is False
    z1, z2 = model.encode(batch, gen(1))[0], model.encode(batch, gen(2))[0]
    assert z1.shape == (len(SMILES), 4)
    assert not torch.allclose(z1, z2), "different encoder noise must give different z for the same x"
    assert torch.equal(z1, model.encode(batch, gen(1))[0])
    inf = model.infer(batch, gen(1))
    assert inf.log_q is None and inf.log_prior is None and set(inf.kl) == {"z"}
    assert inf.kl["z"].shape == (len(SMILES),)


def test_lfvi_iwae_is_the_explicit_proposal_estimate(vocab, batch):
    model = make(vocab, "lfvi").eval()
    torch.manual_seed(5)
    iw = model.iwae(batch, k=8, chunk=3)
    torch.manual_seed(5)
    direct = model.log_marginal_estimate(batch, 8, chunk=3)
    assert torch.equal(iw, direct), "iwae must delegate to log_marginal_estimate"
    assert torch.isfinite(iw).all()
    prior = model.log_marginal_estimate(batch, 8, generator=gen(0), proposal="prior")
    assert torch.isfinite(prior).all() and (prior <= 0).all(), "log p(x) of a token sequence is <= 0"
    a = model.log_marginal_estimate(batch, 8, chunk=3, generator=gen(3))
    b = model.log_marginal_estimate(batch, 8, chunk=3, generator=gen(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, model.log_marginal_estimate(batch, 8, chunk=3, generator=gen(4)))


@pytest.mark.parametrize("proposal", ["fitted", "mixture"])
def test_lfvi_proposal_weights_use_the_prior_density(vocab, batch, proposal):
    """With a decoder that ignores z, p(x) = p(x|z) exactly; the importance weights
    p(z) / r(z) of a proposal fitted to a (mocked) posterior N(0.3, 1.2^2), not the
    prior must average to 1, so the estimate recovers log p(x|z)."""
    model = make(vocab, "lfvi").eval()
    emb = model.config.embedding
    with torch.no_grad():
        model.decoder_init.weight.zero_()
        model.decoder.weight_ih_l0[:, emb:] = 0.0
    model.posterior_sample = lambda x, generator=None: 0.3 + 1.2 * torch.randn(
        x.size(0), 4, generator=generator
    )
    x = batch[:2]
    exact = model.log_likelihood([torch.zeros(2, 4)], x)
    est = model.log_marginal_estimate(x, 2000, chunk=500, generator=gen(0), proposal=proposal, fit_samples=2000)
    assert (est - exact).abs().max() < 0.1, (est, exact)


def test_lfvi_training_losses_touch_only_their_groups(vocab, batch):
    model = make(vocab, "lfvi").train()
    groups = model.parameter_groups()
    assert set(groups) == {"model", "ratio"}
    model_ids, ratio_ids = {id(p) for p in groups["model"]}, {id(p) for p in groups["ratio"]}
    assert not model_ids & ratio_ids and model_ids | ratio_ids == {id(p) for p in model.parameters()}

    losses, logs = model.training_losses(batch, step=0)
    assert set(losses) == {"model", "ratio"} and {"loss", "elbo", "kl"} <= set(logs)
    assert all(g is None for g in _grads(losses["ratio"], groups["model"])), "ratio loss reached the model"
    assert all(g is None for g in _grads(losses["model"], groups["ratio"])), "model loss reached the ratio"
    assert any(_nonzero(g) for g in _grads(losses["ratio"], groups["ratio"]))
    # the T(x, z) term reaches the encoder through z
    enc = list(model.posterior_net.parameters())
    t = model.ratio_logits(batch, model.posterior_sample(batch), frozen=True).sum()
    assert all(_nonzero(g) for g in _grads(t, enc))
    assert all(g is None for g in _grads(t, groups["ratio"]))


def test_lfvi_one_training_step_changes_both_groups(vocab, batch):
    model = make(vocab, "lfvi").train()
    groups = model.parameter_groups()
    opts = {name: torch.optim.Adam(ps, lr=1e-2) for name, ps in groups.items()}
    before = {name: [p.detach().clone() for p in ps] for name, ps in groups.items()}
    losses, _ = model.training_losses(batch, step=0)
    for name, ps in groups.items():
        grads = torch.autograd.grad(losses[name], ps, retain_graph=True, allow_unused=True)
        for p, g in zip(ps, grads, strict=True):
            p.grad = g
        opts[name].step()
    for name, ps in groups.items():
        changed = sum(not torch.equal(a, p) for a, p in zip(before[name], ps, strict=True))
        assert changed > 0, f"group {name} did not move"
    assert not torch.equal(before["model"][0], groups["model"][0])  # the shared embedding


def test_lfvi_elbo_is_the_ratio_estimate(vocab, batch):
    model = make(vocab, "lfvi").eval()
    torch.manual_seed(0)
    out = model.elbo(batch)
    assert torch.allclose(out.elbo, out.log_likelihood - out.kl["z"])
    assert all(g is None for g in _grads(out.loss, model.parameter_groups()["ratio"]))


# ---------------------------------------------------------------- DIM
def test_dim_implicit_prior_is_seeded(vocab):
    model = make(vocab, "dim")
    assert isinstance(model, DIM) and model.has_density is False
    a, b, c = (model.prior_sample(6, gen(s))[0] for s in (1, 1, 2))
    assert a.shape == (6, 4) and torch.equal(a, b) and not torch.allclose(a, c)
    # noise enters every prior layer: fixing all but the last layer's noise still varies z
    noise = model.prior_net.draw_noise(6, gen(3))
    other = noise[:-1] + [torch.randn(6, 4, generator=gen(4))]
    assert not torch.allclose(model.prior_sample(6, noise=noise)[0], model.prior_sample(6, noise=other)[0])


def test_dim_noise_reaches_the_decoder(vocab):
    model = make(vocab, "dim")
    z = model.prior_sample(4, gen(0))
    c1, c2 = model.context(z, gen(1)), model.context(z, gen(2))
    assert not torch.allclose(c1, c2), "same z, different decoder noise must change the context"
    assert torch.equal(c1, model.context(z, gen(1)))
    with model.decoder_noise(gen(1)):
        assert torch.equal(c1, model.context(z))


def test_dim_sampling_is_deterministic_under_a_generator(vocab):
    model = make(vocab, "dim").eval()
    a, b, c = (model.sample(8, generator=gen(s)) for s in (7, 7, 8))
    assert a.shape == (8, vocab.max_length) and torch.equal(a, b) and not torch.equal(a, c)


def test_dim_training_losses_groups_and_gradients(vocab, batch):
    model = make(vocab, "dim", model_samples=3).train()
    groups = model.parameter_groups()
    losses, logs = model.training_losses(batch, step=0)
    assert set(losses) == {"model", "ratio"} and torch.isfinite(torch.stack(list(losses.values()))).all()
    assert {"loss", "elbo", "kl", "ratio_loss"} <= set(logs)
    assert all(g is None for g in _grads(losses["ratio"], groups["model"]))
    assert all(g is None for g in _grads(losses["model"], groups["ratio"]))
    assert any(_nonzero(g) for g in _grads(losses["ratio"], groups["ratio"]))
    for part in (model.posterior_net, model.prior_net, model.context_net, model.decoder):
        grads = _grads(losses["model"], list(part.parameters()))
        assert any(_nonzero(g) for g in grads), f"{type(part).__name__} gets no model gradient"


def test_dim_prior_surrogate_matches_path_derivative(vocab):
    """The prior term's z-gradient is that of E_{x|z}[exp T] (path through T plus the score
    of the decoded x), with self-normalised weights: for m = 1 it is d/dz [T + log p(x|z)]."""
    model = make(vocab, "dim", model_samples=1).train()
    torch.manual_seed(11)
    batch = torch.from_numpy(TokenVocabulary.build(SMILES).encode_batch(SMILES[:2]))
    losses, _ = model.training_losses(batch, step=0)
    prior_params = list(model.prior_net.parameters())
    g_loss = _grads(losses["model"], prior_params)
    # replay the same draws (same global RNG stream) to form -d/dtheta [T + log p(x_m|z)]
    torch.manual_seed(11)
    model._model_terms(batch)
    eps_p, eps_d = model.prior_net.draw_noise(1), model.context_net.draw_noise(1)
    z_m = model.prior_sample(1, noise=eps_p)[0]
    with torch.no_grad(), model.decoder_noise(noise=eps_d):
        x_m = model.decode([z_m])
    t = model.ratio(model.ratio_features(x_m).detach(), z_m, frozen=True)
    with model.decoder_noise(noise=eps_d):
        lp = model.decode_log_prob([z_m], x_m)
    g_ref = _grads(-(t + lp).sum(), prior_params)
    for a, b in zip(g_loss, g_ref, strict=True):
        assert torch.allclose(a, b, atol=1e-5), (a, b)


def test_dim_decode_log_prob_scores_the_sampling_distribution(vocab, batch):
    model = make(vocab, "dim").eval()
    z = model.prior_sample(len(SMILES), gen(0))
    noise = model.context_net.draw_noise(len(SMILES), gen(1))
    with model.decoder_noise(noise=noise):
        full = torch.nn.functional.pad(batch, (0, vocab.max_length - batch.size(1)))
        # PAD and BOS cannot be sampled: the renormalised probabilities are larger
        assert (model.decode_log_prob(z, full) > model.log_likelihood(z, full)).all()
        x = model.decode(z)
        lp = model.decode_log_prob(z, x)
        forced = x.clone()
        forced[:, -1] = 3  # the token decode forces at the last position is not scored
        assert torch.isfinite(lp).all() and torch.equal(lp, model.decode_log_prob(z, forced))


def test_dim_log_marginal_estimate(vocab, batch):
    model = make(vocab, "dim").eval()
    a = model.log_marginal_estimate(batch, 6, chunk=4, generator=gen(0))
    b = model.log_marginal_estimate(batch, 6, chunk=4, generator=gen(0))
    assert a.shape == (len(SMILES),) and torch.isfinite(a).all() and (a <= 0).all()
    assert torch.equal(a, b)
    assert not torch.equal(a, model.log_marginal_estimate(batch, 6, chunk=4, generator=gen(1)))
    torch.manual_seed(2)
    iw = model.iwae(batch, 6, chunk=4)
    torch.manual_seed(2)
    assert torch.equal(iw, model.log_marginal_estimate(batch, 6, chunk=4))
    inf = model.infer(batch, gen(0))
    assert inf.log_q is None and torch.isfinite(inf.kl["z"]).all()
