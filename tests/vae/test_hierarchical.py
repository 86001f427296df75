"""The hierarchical sequence VAEs (HVAE, VLAE) and their level traversal, at tiny sizes."""
import pytest
import torch

from ric.vae import VAEConfig, build_model
from ric.vae.hvae import HVAE
from ric.vae.tokens import BOS
from ric.vae.traversal import level_traversal
from ric.vae.vlae import VLAE

SMILES = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO"]
LEVELS = 3
LATENT = 4


def _config(vocab, name, groups=LEVELS):
    return VAEConfig(model=name, vocab_size=vocab.size, max_length=vocab.max_length,
                     embedding=8, hidden=16, latent=LATENT, groups=groups)


def _model(vocab, name, seed=0):
    torch.manual_seed(seed)
    return build_model(_config(vocab, name)).eval()


@pytest.mark.parametrize("name, cls", [("hvae", HVAE), ("vlae", VLAE)])
def test_registry_builds_and_needs_two_levels(vocab, name, cls):
    assert isinstance(_model(vocab, name), cls)
    with pytest.raises(ValueError, match="groups >= 2"):
        cls(_config(vocab, name, groups=1))


# ---------------------------------------------------------------------------- VLAE
def test_vlae_every_level_reaches_the_decoder(vocab, x):
    model = _model(vocab, "vlae")
    z = [t.requires_grad_(True) for t in model.prior_sample(len(SMILES), torch.Generator().manual_seed(1))]
    model.log_likelihood(z, x).sum().backward()
    for level, t in enumerate(z):
        assert t.grad is not None and float(t.grad.abs().sum()) > 1e-6, f"z{level + 1} does not reach p(x|z)"


def test_vlae_prior_is_independent_standard_normal_per_level(vocab):
    model = _model(vocab, "vlae")
    z = model.prior_sample(4000, torch.Generator().manual_seed(2))
    assert len(z) == LEVELS and all(t.shape == (4000, LATENT) for t in z)
    for t in z:
        assert t.mean(0).abs().max() < 0.1
        assert (t.var(0) - 1).abs().max() < 0.15
    # independent groups: cross-correlations between levels are ~0
    corr = torch.corrcoef(torch.cat(z, dim=1).T)
    off = corr[:LATENT, LATENT:]
    assert off.abs().max() < 0.1
    # and the groups are different draws
    assert not torch.allclose(z[0], z[1])


def test_vlae_kl_is_analytic_per_level(vocab, x):
    model = _model(vocab, "vlae")
    params = model.posterior_params(x)
    inf = model.infer(x, torch.Generator().manual_seed(0))
    assert list(inf.kl) == [f"z{k}" for k in range(1, LEVELS + 1)]
    for (mu, logvar), kl in zip(params, inf.kl.values(), strict=True):
        expected = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
        torch.testing.assert_close(kl, expected)


# ---------------------------------------------------------------------------- HVAE
def test_hvae_upper_posterior_does_not_see_x(vocab, x, monkeypatch):
    model = _model(vocab, "hvae")
    xa, xb = x[:2], x[2:4]
    # the lower posterior q(z_1|x) does depend on x
    mua, _ = model.posterior_params(xa)
    mub, _ = model.posterior_params(xb)
    assert not torch.allclose(mua, mub)
    # with q(z_1|.) forced to the same Gaussian for both inputs, everything above is identical
    fixed = (torch.randn(2, LATENT), torch.full((2, LATENT), -1.0))
    monkeypatch.setattr(model, "posterior_params", lambda _x: fixed)
    ia = model.infer(xa, torch.Generator().manual_seed(5))
    ib = model.infer(xb, torch.Generator().manual_seed(5))
    for za, zb in zip(ia.z, ib.z, strict=True):
        torch.testing.assert_close(za, zb)
    for name in ia.kl:
        torch.testing.assert_close(ia.kl[name], ib.kl[name])
    torch.testing.assert_close(ia.log_q, ib.log_q)
    # and the upper conditional has no gradient path to the token embedding
    model.zero_grad()
    z1 = torch.randn(2, LATENT)
    mu2, logvar2 = model.upper_posterior_params(z1, 1)
    (mu2.sum() + logvar2.sum()).backward()
    assert model.embedding.weight.grad is None
    assert all(p.grad is None for p in model.encoder.parameters())


def test_hvae_decoder_sees_only_z1(vocab, x):
    model = _model(vocab, "hvae")
    z = [t.detach().requires_grad_(True) for t in model.prior_sample(len(SMILES), torch.Generator().manual_seed(1))]
    model.log_likelihood(z, x).sum().backward()
    assert float(z[0].grad.abs().sum()) > 0
    assert all(t.grad is None or float(t.grad.abs().sum()) == 0 for t in z[1:])


def test_hvae_kl_terms_match_joint_densities_in_expectation(vocab, x):
    """Per level: MC terms below the top, analytic KL at the top; their sum must be unbiased
    for E[log q - log p] of the joint draw (which iwae uses)."""
    model = _model(vocab, "hvae")
    xr = x.repeat(400, 1)
    with torch.no_grad():
        inf = model.infer(xr, torch.Generator().manual_seed(3))
    kl_sum = sum(inf.kl.values())
    diff = (kl_sum - (inf.log_q - inf.log_prior))
    # the levels below the top are exactly the MC terms, so the difference is the top level's
    # (zero-mean) MC-vs-analytic gap
    assert float(diff.abs().max()) > 0  # the top really is analytic
    assert abs(float(diff.mean())) < 4 * float(diff.std()) / diff.numel() ** 0.5 + 1e-4
    # top-level analytic KL is non-negative; lower MC terms may be negative for single draws
    assert float(inf.kl[f"z{LEVELS}"].min()) >= 0


def test_hvae_prior_sample_is_ancestral(vocab):
    model = _model(vocab, "hvae")
    z = model.prior_sample(3000, torch.Generator().manual_seed(4))
    assert len(z) == LEVELS
    top = z[-1]
    assert top.mean(0).abs().max() < 0.1 and (top.var(0) - 1).abs().max() < 0.15
    # z_{L-1} | z_L follows p(z_{L-1}|z_L): standardised residuals are N(0, 1)
    mu, logvar = model.prior_params(z[-1], LEVELS - 2)
    r = (z[-2] - mu) / (0.5 * logvar).exp()
    assert r.mean().abs() < 0.05 and (r.var() - 1).abs() < 0.1


# ---------------------------------------------------------------------------- both
MODELS = ["hvae", "vlae"]


@pytest.mark.parametrize("name", MODELS)
def test_iwae_bounds_rise_with_k(vocab, x, name):
    model = _model(vocab, name)
    # enough independent estimates per sequence that the averages are tight
    torch.manual_seed(10)
    with torch.no_grad():
        elbo = float(model.elbo(x.repeat(200, 1)).elbo.mean())
    i1 = float(model.iwae(x.repeat(200, 1), 1).mean())
    i5 = float(model.iwae(x.repeat(40, 1), 5).mean())
    i50 = float(model.iwae(x.repeat(10, 1), 50).mean())
    # iwae(1) and the ELBO estimate the same quantity (log_q/log_prior consistent with the KL)
    assert abs(i1 - elbo) < 0.6
    assert i50 >= elbo
    assert i1 <= i5 + 0.05 and i5 <= i50 + 0.05
    assert i50 > i1


@pytest.mark.parametrize("name", MODELS)
def test_elbo_is_log_likelihood_minus_kl(vocab, x, name):
    model = _model(vocab, name)
    out = model.elbo(x)
    assert list(out.kl) == [f"z{k}" for k in range(1, LEVELS + 1)]
    assert all(v.shape == (len(SMILES),) for v in out.kl.values())
    torch.testing.assert_close(out.elbo, out.log_likelihood - sum(out.kl.values()))
    assert bool(torch.isfinite(out.loss))


@pytest.mark.parametrize("name", MODELS)
def test_training_step_updates_every_network(vocab, x, name):
    model = _model(vocab, name).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses, logs = model.training_losses(x, step=0)
    assert set(logs) >= {"loss", "elbo", "kl"} | {f"kl_z{k}" for k in range(1, LEVELS + 1)}
    opt.zero_grad()
    losses["model"].backward()
    # every sub-network gets a gradient (no level is disconnected from the loss)
    prefixes = {"hvae": ["encoder", "to_posterior", "up.0", "up.1", "down.0", "down.1", "decoder"],
                "vlae": ["encoder", "ladder_up.2", "to_posterior.2", "top", "lateral.0", "combine.1", "decoder"]}
    for prefix in prefixes[name]:
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(prefix)]
        assert grads and any(g is not None and float(g.abs().sum()) > 0 for g in grads), prefix
    opt.step()
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) > len(before) // 2


@pytest.mark.parametrize("name", MODELS)
def test_sample_is_deterministic_under_a_seed(vocab, name):
    model = _model(vocab, name)
    a = model.sample(6, generator=torch.Generator().manual_seed(7))
    b = model.sample(6, generator=torch.Generator().manual_seed(7))
    c = model.sample(6, generator=torch.Generator().manual_seed(8))
    assert a.shape == (6, vocab.max_length) and bool((a[:, 0] == BOS).all())
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", MODELS)
def test_encode_decode_shapes(vocab, x, name):
    model = _model(vocab, name)
    z = model.encode(x, generator=torch.Generator().manual_seed(0))
    z2 = model.encode(x, generator=torch.Generator().manual_seed(0))
    assert len(z) == LEVELS and all(t.shape == (len(SMILES), LATENT) for t in z)
    assert all(torch.equal(a, b) for a, b in zip(z, z2, strict=True))
    ids = model.decode(z, greedy=True)
    assert ids.shape == (len(SMILES), vocab.max_length) and ids.dtype == torch.long


@pytest.mark.parametrize("name", MODELS)
def test_level_traversal_varies_one_level_per_row(vocab, name):
    model = _model(vocab, name)
    per_row = 4
    rows = level_traversal(model, LEVELS, per_row, generator=torch.Generator().manual_seed(9))
    assert len(rows) == LEVELS
    shared = [rows[0][k][0] for k in range(LEVELS)]  # level k of the shared draw, k > 0 fixed in row 0
    for level, row in enumerate(rows):
        assert len(row) == LEVELS and all(t.shape == (per_row, LATENT) for t in row)
        for k, t in enumerate(row):
            varies = not torch.allclose(t, t[:1].expand_as(t))
            redrawn = k == level or (name == "hvae" and k < level)
            assert varies == redrawn, (level, k)
            if k > level:  # untouched levels keep the one shared draw
                assert torch.equal(t, shared[k].expand_as(t))
        # VLAE: lower levels are the shared draw too
        if name == "vlae":
            for k in range(level):
                assert torch.equal(row[k], rows[LEVELS - 1][k])
    assert model.decode(rows[1]).shape == (per_row, vocab.max_length)
    with pytest.raises(ValueError):
        level_traversal(model, LEVELS + 1, per_row, generator=None)
    with pytest.raises(ValueError):
        model.resample_level(rows[0], LEVELS)


@pytest.mark.parametrize("name", MODELS)
def test_local_elbo_at_encoder_parameters_is_the_model_elbo(vocab, x, name):
    model = _model(vocab, name)
    params = model.local_parameters(x)
    assert all(p.is_leaf and p.requires_grad for p in params.values())
    if name == "hvae":
        assert set(params) == {"mu", "logvar"}  # only q(z_1|x) is per example
    else:
        assert set(params) == {f"{p}_z{k}" for k in range(1, LEVELS + 1) for p in ("mu", "logvar")}
    # same noise -> exactly the same ELBO
    torch.manual_seed(11)
    expected = model.elbo(x).elbo
    torch.manual_seed(11)
    local = model.local_elbo(x, params)
    torch.testing.assert_close(local, expected.detach(), rtol=1e-5, atol=1e-5)
    # and in expectation with independent noise
    g = torch.Generator().manual_seed(12)
    many = model.local_elbo(x, params, samples=200, generator=g)
    torch.manual_seed(13)
    with torch.no_grad():
        ref = model.elbo(x.repeat(200, 1)).elbo.view(200, -1).mean(0)
    assert float((many - ref).abs().max()) < 1.5
    # the local parameters are optimisable
    many.sum().backward()
    assert all(float(p.grad.abs().sum()) > 0 for p in params.values())
