"""IAF and NVAE sequence VAEs: flow Jacobians, residual-normal KL, spectral norms, bounds, training."""
from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from ric.vae import build_model
from ric.vae.base import VAEConfig
from ric.vae.evaluate import inference_gaps
from ric.vae.iaf import IAFVAE
from ric.vae.nvae import NVAE, kl_balance_coefficients, power_iteration_sigma, residual_normal_kl
from ric.vae.tokens import BOS, EOS, PAD

SMILES = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO"]


def _config(vocab, model: str, **kw) -> VAEConfig:
    base = dict(vocab_size=vocab.size, max_length=vocab.max_length, embedding=8, hidden=16, latent=4)
    base.update(kw)
    return VAEConfig(model=model, **base)


def _iaf(vocab, **kw) -> IAFVAE:
    torch.manual_seed(0)
    return IAFVAE(_config(vocab, "iaf", **{"flow_steps": 2, **kw}))


def _nvae(vocab, **kw) -> NVAE:
    torch.manual_seed(0)
    return NVAE(_config(vocab, "nvae", **{"groups": 2, **kw}))


def _randomise_flow(model: IAFVAE) -> None:
    """Give the flow networks generic (non-initial) weights so its Jacobian is non-trivial."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for step in model.steps:
            for p in step.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.7)


# ---------------------------------------------------------------------------- IAF
def test_iaf_flow_log_det_matches_autograd_jacobian(vocab):
    model = _iaf(vocab, flow_steps=3)
    _randomise_flow(model)
    z0 = torch.randn(1, 4, generator=torch.Generator().manual_seed(2))
    h = torch.randn(1, model.flow_context, generator=torch.Generator().manual_seed(3))
    jac = torch.autograd.functional.jacobian(lambda z: model.flow(z[None], h)[0][0], z0[0])
    _, log_det = model.flow(z0, h)
    sign, logabs = torch.linalg.slogdet(jac)
    assert float(sign) != 0
    assert torch.allclose(logabs, log_det[0], atol=1e-5)
    assert float(log_det.detach()) < 0  # log sigma < 0: every step contracts the volume
    # The reversals make the composed flow non-triangular in a single order.
    assert jac.triu(1).abs().max() > 1e-3 and jac.tril(-1).abs().max() > 1e-3


def test_iaf_each_step_is_lower_triangular_with_diagonal_sigma(vocab):
    model = _iaf(vocab, flow_steps=2, options={"flow_layers": 2})
    _randomise_flow(model)
    h = torch.randn(1, model.flow_context, generator=torch.Generator().manual_seed(3))
    z = torch.randn(4, generator=torch.Generator().manual_seed(4))
    for step in model.steps:
        jac = torch.autograd.functional.jacobian(lambda v, step=step: step(v[None], h)[0][0], z)
        assert jac.triu(1).abs().max() == 0  # z'_i depends on z_{<=i} only
        assert jac.tril(-1).abs().max() > 1e-3  # ... and does depend on earlier variables
        m, s = step.autoregressive(z[None], h)
        sigma = torch.sigmoid(s[0] + step.gate_bias)
        assert torch.allclose(torch.diagonal(jac), sigma, atol=1e-6)
        assert torch.allclose(step(z[None], h)[1][0], sigma.log().sum(), atol=1e-5)
        z = step(z[None], h)[0][0].detach().flip(-1)


def test_iaf_initial_flow_is_a_mild_contraction(vocab, x):
    model = _iaf(vocab, flow_steps=3)
    _, _, h = model.posterior_params(x)
    z0 = torch.randn(x.size(0), 4, generator=torch.Generator().manual_seed(0))
    zt, log_det = model.flow(z0, h)
    gate = torch.sigmoid(torch.tensor(2.0))  # default gate offset b = 2
    assert torch.allclose(log_det, torch.full_like(log_det, 3 * 4 * float(gate.log())), atol=0.05)
    # m ~ 0 and three steps (the two reversals restore the order): z_T ~ sigmoid(b)^3 * z_0
    assert torch.allclose(zt, gate**3 * z0, atol=0.05)
    identity = _iaf(vocab, flow_steps=3, options={"iaf_gate_bias": 8.0})
    zt, log_det = identity.flow(z0, identity.posterior_params(x)[2])
    assert torch.allclose(zt, z0, atol=2e-3) and log_det.abs().max() < 0.02


def test_iaf_kl_is_log_q_minus_log_prior_and_elbo_decomposes(vocab, x):
    model = _iaf(vocab).eval()
    torch.manual_seed(5)
    out = model.elbo(x)
    torch.manual_seed(5)
    inf = model.infer(x)
    assert torch.allclose(inf.kl["z"], inf.log_q - inf.log_prior)
    ll = model.log_likelihood(inf.z, x)
    assert torch.allclose(out.log_likelihood, ll, atol=1e-5)
    assert torch.allclose(out.elbo, ll - inf.kl["z"], atol=1e-5)
    # log q of z_T is the base density minus the flow's log-determinant
    g = torch.Generator().manual_seed(9)
    mu, logvar, h = model.posterior_params(x)
    inf = model.infer(x, torch.Generator().manual_seed(9))
    eps = torch.randn(mu.shape, generator=g)
    z0 = mu + (0.5 * logvar).exp() * eps
    zt, log_det = model.flow(z0, h)
    assert torch.allclose(inf.z[0], zt, atol=1e-6)
    base = Normal(mu, (0.5 * logvar).exp()).log_prob(z0).sum(-1)
    assert torch.allclose(inf.log_q, base - log_det, atol=1e-4)


def test_iaf_local_parameters_reproduce_and_improve_the_elbo(vocab, x):
    model = _iaf(vocab).eval()
    params = model.local_parameters(x)
    assert params["mu"].shape == (5, 4) and params["h"].shape == (5, model.flow_context)
    w = params["flow.0.in_z.weight"]
    assert w.shape == (5, *model.steps[0].in_z.weight.shape) and w.requires_grad and w.is_leaf
    with torch.no_grad():
        local = model.local_elbo(x, params, samples=2, generator=torch.Generator().manual_seed(3))
        g = torch.Generator().manual_seed(3)
        ref = []
        for _ in range(2):
            inf = model.infer(x, g)
            ref.append(model.log_likelihood(inf.z, x) - inf.kl["z"])
    assert torch.allclose(local, sum(ref) / 2, atol=1e-4)
    # per-example flow weights: example 0's loss moves only example 0's copy
    loss = -model.local_elbo(x, params, generator=torch.Generator().manual_seed(0))[0]
    grads = torch.autograd.grad(loss, [params["flow.1.out.weight"], params["mu"]])
    assert grads[0][1:].abs().max() == 0 and grads[0][0].abs().max() > 0
    assert grads[1][1:].abs().max() == 0
    shared = model.local_parameters(x, per_example_flow=False)
    assert set(shared) == {"mu", "logvar", "h"}
    # a few Adam steps on the local leaves raise the (fixed-noise) ELBO
    opt = torch.optim.Adam(params.values(), lr=0.05)
    for _ in range(15):
        opt.zero_grad()
        (-model.local_elbo(x, params).sum()).backward()
        opt.step()
    with torch.no_grad():
        after = model.local_elbo(x, params, samples=2, generator=torch.Generator().manual_seed(3))
    assert float(after.mean()) > float(local.mean())


@pytest.mark.parametrize("name", ["vae", "hvae", "vlae", "iaf"])
def test_local_iwae_at_the_encoders_parameters_is_the_iwae(vocab, x, name):
    """IWAE through the local posterior, started at the encoder's output, draws the same
    noise in the same order as the model's own IWAE and so gives the same bound."""
    torch.manual_seed(0)
    model = build_model(_config(vocab, name, groups=2, flow_steps=2)).eval()
    params = {k: v.detach() for k, v in model.local_parameters(x).items()}
    torch.manual_seed(11)
    own = model.iwae(x, 40, chunk=16)
    torch.manual_seed(11)
    local = model.local_iwae(x, params, 40, chunk=16)
    assert torch.allclose(own, local, atol=1e-4), (own, local)
    with pytest.raises(NotImplementedError):
        build_model(_config(vocab, "nvae", groups=2)).local_posterior({})


def test_iaf_gap_search_keeps_the_best_posterior_per_example(vocab, x):
    """The q* search over IAF's per-example flow copies improves on the encoder, and a
    search that diverges falls back to the encoder's parameters (gap exactly 0) instead
    of reporting a negative amortization gap."""
    torch.manual_seed(0)
    model = _iaf(vocab).eval()
    gaps = inference_gaps(model, x, steps=40, samples=30, iwae_k=50, seed=0)
    assert gaps["amortization_gap"] > 0
    diverged = inference_gaps(model, x, steps=5, lr=1e4, flow_lr=1e4, samples=30, iwae_k=50, seed=0)
    assert diverged["amortization_gap"] == 0.0
    assert diverged["elbo_q"] == pytest.approx(gaps["elbo_q"])


def test_iaf_build_and_shapes(vocab, x):
    torch.manual_seed(0)
    model = build_model(_config(vocab, "iaf", flow_steps=2))
    assert isinstance(model, IAFVAE)
    z = model.encode(x)
    assert len(z) == 1 and z[0].shape == (5, 4)
    ids = model.decode(z, greedy=True)
    assert ids.shape == (5, vocab.max_length) and bool((ids[:, 0] == BOS).all())


# ---------------------------------------------------------------------------- NVAE
def test_residual_normal_kl_matches_torch_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu_p, logvar_p = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    d_mu, d_logvar = torch.randn(3, 5, generator=g), 0.5 * torch.randn(3, 5, generator=g)
    ours = residual_normal_kl(d_mu, d_logvar, logvar_p)
    q = Normal(mu_p + d_mu, (0.5 * (logvar_p + d_logvar)).exp())
    p = Normal(mu_p, (0.5 * logvar_p).exp())
    assert torch.allclose(ours, kl_divergence(q, p).sum(-1), atol=1e-5)
    torch.manual_seed(1)
    z = q.sample((40000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(ours, mc, rtol=0.05, atol=0.05)
    assert float(residual_normal_kl(torch.zeros(4), torch.zeros(4), torch.randn(4))) == 0


def test_power_iteration_matches_matrix_norm():
    g = torch.Generator().manual_seed(0)
    for shape in [(6, 10), (12, 5), (8, 1)]:
        w = torch.randn(*shape, generator=g)
        u = torch.nn.functional.normalize(torch.randn(shape[0], generator=g), dim=0)
        sigma, u2, v2 = power_iteration_sigma(w, u, 300)
        assert torch.allclose(sigma, torch.linalg.matrix_norm(w, ord=2), rtol=1e-4)
        assert torch.allclose(u2.norm(), torch.tensor(1.0)) and torch.allclose(v2.norm(), torch.tensor(1.0))
    w = torch.randn(6, 10, generator=g, requires_grad=True)
    sigma, u, v = power_iteration_sigma(w, torch.ones(6) / 6**0.5, 300)
    (grad,) = torch.autograd.grad(sigma, w)
    assert torch.allclose(grad, torch.outer(u, v), atol=1e-6)
    # one iteration from a poor start underestimates: the persistent buffers matter
    one, _, _ = power_iteration_sigma(w.detach(), torch.ones(6) / 6**0.5, 1)
    assert float(one) <= float(torch.linalg.matrix_norm(w.detach(), ord=2)) + 1e-5


def test_nvae_spectral_term_is_positive_and_tracks_the_norms(vocab, x):
    model = _nvae(vocab)
    layers = model.spectral_layers()
    assert any(m.groups > 1 for m in layers if isinstance(m, torch.nn.Conv1d))  # depthwise convs included
    before = layers[0].sr_u.clone()
    extra = model.extra_loss(model.infer(x), x).detach()
    assert float(extra) > 0
    exact = sum(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2) for m in layers)
    with torch.no_grad():
        estimate = model.spectral_loss(iterations=200, update=False)
    assert torch.allclose(estimate, exact, rtol=1e-3)
    with torch.no_grad():
        assert float(extra) == pytest.approx(0.1 * float(model.spectral_loss(iterations=1, update=False)), rel=0.05)
    assert not torch.equal(before, layers[0].sr_u)  # training mode moves the persistent vectors
    assert "expand.sr_u" in "".join(model.state_dict())


def test_kl_balance_coefficients_favour_larger_kl():
    gamma = kl_balance_coefficients(torch.tensor([0.5, 2.0, 6.0]))
    assert torch.allclose(gamma.mean(), torch.tensor(1.0))
    assert bool((gamma[1:] > gamma[:-1]).all())
    assert torch.allclose(gamma, (torch.tensor([0.51, 2.01, 6.01]) / torch.tensor([0.51, 2.01, 6.01]).mean()))
    # alpha scales by group size: a twice-larger group needs twice the KL for the same weight
    same = kl_balance_coefficients(torch.tensor([1.0, 2.0]), alpha=torch.tensor([1.0, 2.0]), eps=0.0)
    assert torch.allclose(same, torch.ones(2))


def test_nvae_elbo_decomposes_and_kl_matches_monte_carlo(vocab, x):
    model = _nvae(vocab, groups=3).eval()
    torch.manual_seed(7)
    out = model.elbo(x)
    torch.manual_seed(7)
    inf = model.infer(x)
    assert set(inf.kl) == {"z1", "z2", "z3"} and all(k.shape == (5,) for k in inf.kl.values())
    assert all(float(k.detach().min()) >= 0 for k in inf.kl.values())
    assert torch.allclose(out.elbo, model.log_likelihood(inf.z, x) - sum(inf.kl.values()), atol=1e-5)
    # E_q[log q - log p] equals the expected sum of the closed-form group KLs
    with torch.no_grad():
        xr = x.repeat_interleave(2000, dim=0)
        inf = model.infer(xr, torch.Generator().manual_seed(0))
        mc = (inf.log_q - inf.log_prior).view(5, -1).mean(1)
        analytic = sum(inf.kl.values()).view(5, -1).mean(1)
    assert torch.allclose(mc, analytic, atol=0.15 + 0.03 * float(analytic.abs().max()))


def test_nvae_training_step_with_warmup_balancing(vocab, x):
    model = _nvae(vocab, kl_warmup_steps=100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    watched = {
        n: p.detach().clone()
        for n, p in model.named_parameters()
        if n in ("stem.weight", "top_state", "posterior_heads.0.weight", "output.weight")
    }
    u = model.spectral_layers()[0].sr_u.clone()
    losses, logs = model.training_losses(x, step=10)
    assert torch.isfinite(losses["model"]) and logs["spectral"] > 0
    assert logs["kl_coeff_z1"] + logs["kl_coeff_z2"] == pytest.approx(2.0)
    assert (logs["kl_coeff_z1"] > logs["kl_coeff_z2"]) == (logs["kl_z1"] > logs["kl_z2"])
    opt.zero_grad()
    losses["model"].backward()
    opt.step()
    for name, before in watched.items():
        assert not torch.equal(before, dict(model.named_parameters())[name]), name
    assert not torch.equal(u, model.spectral_layers()[0].sr_u)
    _, logs = model.training_losses(x, step=200)  # after warm-up: plain sum
    assert logs["kl_coeff_z1"] == logs["kl_coeff_z2"] == 1.0


def test_nvae_non_finite_loss_raises_naming_the_groups(vocab, x):
    model = _nvae(vocab)
    with torch.no_grad():
        model.output.bias.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="group KLs.*z1.*z2"):
        model.training_losses(x, step=0)


def test_nvae_shapes_resample_and_no_local_parameters(vocab, x):
    torch.manual_seed(0)
    model = build_model(_config(vocab, "nvae", groups=3)).eval()
    assert isinstance(model, NVAE)
    z = model.encode(x)
    assert len(z) == 3 and all(t.shape == (5, 4) for t in z)
    assert model.context(z).shape == (5, 16 + 3 * 4)
    ids = model.decode(z, greedy=True)
    assert ids.shape == (5, vocab.max_length) and bool((ids[:, 0] == BOS).all())
    g = torch.Generator().manual_seed(0)
    new = model.resample_level(z, 1, g)
    assert torch.equal(new[2], z[2]) and not torch.equal(new[1], z[1]) and not torch.equal(new[0], z[0])
    with pytest.raises(NotImplementedError, match="top-down"):
        model.local_parameters(x)
    with pytest.raises(ValueError, match="groups >= 2"):
        NVAE(_config(vocab, "nvae", groups=1))
    model.train()
    assert len(model.prior_sample(1, torch.Generator().manual_seed(0))) == 3  # batch of one in training mode


# ---------------------------------------------------------------------------- both
@pytest.mark.parametrize("make", [_iaf, _nvae], ids=["iaf", "nvae"])
def test_iwae_bounds_the_elbo(make, vocab, x):
    model = make(vocab).eval()
    torch.manual_seed(0)
    iwae = model.iwae(x, 50)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x).elbo for _ in range(50)]).mean(0)
    assert float(iwae.mean()) >= float(elbo.mean())
    assert bool(torch.isfinite(iwae).all())


@pytest.mark.parametrize("make", [_iaf, _nvae], ids=["iaf", "nvae"])
def test_sampling_is_deterministic_under_a_seeded_generator(make, vocab):
    model = make(vocab).eval()
    a = model.sample(4, generator=torch.Generator().manual_seed(11))
    b = model.sample(4, generator=torch.Generator().manual_seed(11))
    c = model.sample(4, generator=torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (4, vocab.max_length) and bool((a[:, 0] == BOS).all())
    ended = (a == EOS).any(1)
    assert bool(ended.all())
    first_eos = (a == EOS).float().argmax(1)
    for row, k in zip(a, first_eos, strict=True):
        assert bool((row[k + 1 :] == PAD).all())


@pytest.mark.parametrize("make", [_iaf, _nvae], ids=["iaf", "nvae"])
def test_training_step_changes_parameters(make, vocab, x):
    model = make(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = [p.detach().clone() for p in model.parameters()]
    losses, logs = model.training_losses(x, step=0)
    assert torch.isfinite(losses["model"]) and {"loss", "elbo", "kl"} <= set(logs)
    opt.zero_grad()
    losses["model"].backward()
    opt.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True)]
    assert sum(changed) >= 0.8 * len(changed)
    first = logs["loss"]
    for step in range(1, 6):
        losses, logs = model.training_losses(x, step=step)
        opt.zero_grad()
        losses["model"].backward()
        opt.step()
    assert logs["loss"] < first
