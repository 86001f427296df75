"""The CharRNN baseline: likelihood, training, sampling, checkpoints, resume and the command line."""
import csv
import json

import pytest
import torch

from ric.baselines.charrnn import CharRNN, CharRNNConfig
from ric.baselines.generator import CharRNNGenerator
from ric.baselines.training import CharRNNTrainConfig, load_charrnn, train_charrnn
from ric.benchmark.generators import GeneratorSpec, make_generator
from ric.cli.main import build_parser, main
from ric.data import bundled_dir
from ric.runtime.checkpoint import load_checkpoint
from ric.vae.tokens import BOS, EOS, PAD, TokenVocabulary
from ric.vae.training import load_vae

SMALL = ["CCO", "c1ccccc1", "CC(=O)N", "CCN(C)C", "OCC(O)CO", "Clc1ccccc1Br", "C[NH+](C)C"]


def _model(tv: TokenVocabulary, **kw) -> CharRNN:
    torch.manual_seed(0)
    base = dict(vocab_size=tv.size, max_length=tv.max_length, embedding=8, hidden=16, layers=2, dropout=0.0)
    base.update(kw)
    return CharRNN(CharRNNConfig(**base))


def _forced(tv: TokenVocabulary, favourite: int, **kw) -> CharRNN:
    """A model whose next-token logits are fixed: 60 for PAD and BOS (never to be drawn), 50 for
    ``favourite``, 0 otherwise."""
    model = _model(tv, **kw).eval()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.zero_()
        model.output.bias[[PAD, BOS]] = 60.0
        model.output.bias[favourite] = 50.0
    return model


def test_teacher_forced_likelihood_is_the_token_by_token_one_the_sampler_uses():
    tv = TokenVocabulary.build(SMALL)
    model = _model(tv).eval()
    x = torch.from_numpy(tv.encode_batch(SMALL))
    ll = model.log_likelihood(x)
    for i, s in enumerate(SMALL):
        ids = tv.encode(s)
        state, total = None, 0.0
        for prev, nxt in zip(ids, ids[1:]):  # one step at a time, as sample() runs
            logits, state = model(torch.tensor([[prev]]), state)
            total += float(torch.log_softmax(logits[0, 0], dim=0)[nxt])
        assert float(ll[i]) == pytest.approx(total, abs=1e-4)
    losses, logs = model.training_losses(x, 0)
    tokens = int((x[:, 1:] != PAD).sum())
    assert float(losses["model"]) == pytest.approx(-float(ll.sum()) / tokens, rel=1e-5)
    assert logs["nll"] == pytest.approx(-float(ll.mean()), rel=1e-5)


def test_training_lowers_the_loss_below_what_ignoring_the_context_allows(zinc_smiles):
    """The unigram entropy of the tokens is the best loss of a model that ignores the prefix."""
    tv = TokenVocabulary.build(zinc_smiles[:32])
    x = torch.from_numpy(tv.encode_batch(zinc_smiles[:32]))
    counts = torch.bincount(x[:, 1:][x[:, 1:] != PAD], minlength=tv.size).float()
    p = counts[counts > 0] / counts.sum()
    unigram = float(-(p * p.log()).sum())
    model = _model(tv, hidden=32, dropout=0.2).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(60):
        loss = model.training_losses(x, step)[0]["model"]
        losses.append(float(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    final = float(model.training_losses(x, 0)[0]["model"])
    assert final < 0.8 * unigram < losses[0]


def test_sampling_stops_at_the_end_token_and_never_draws_pad_or_bos():
    tv = TokenVocabulary.build(SMALL)
    ids = _forced(tv, EOS).sample(4, generator=torch.Generator().manual_seed(0))
    assert ids.shape == (4, tv.max_length)
    assert ids[:, :2].tolist() == [[BOS, EOS]] * 4 and bool((ids[:, 2:] == PAD).all())
    assert [tv.decode(row) for row in ids] == [""] * 4


def test_sampling_is_cut_at_the_maximum_length():
    tv = TokenVocabulary.build(SMALL)
    carbon = tv.tokens.index("C")
    model = _forced(tv, carbon)
    ids = model.sample(3, max_length=6, generator=torch.Generator().manual_seed(0))
    assert ids.shape == (3, 6) and ids[:, 0].tolist() == [BOS] * 3 and bool((ids[:, 1:] == carbon).all())
    samples = list(CharRNNGenerator(model, tv, max_length=6, batch_size=2).sample(3))
    assert [(s.smiles, s.tokens, s.truncated) for s in samples] == [("CCCCC", 5, True)] * 3
    with pytest.raises(ValueError, match="max_length"):
        model.sample(1, max_length=1)


def test_temperature_sharpens_towards_the_greedy_choice():
    tv = TokenVocabulary.build(SMALL)
    model = _model(tv).eval()
    greedy = model.sample(8, greedy=True)
    cold = model.sample(8, temperature=1e-4, generator=torch.Generator().manual_seed(3))
    warm = model.sample(8, temperature=5.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(greedy, cold) and not torch.equal(greedy, warm)


# ---------------------------------------------------------------------- training runs and checkpoints


def _config(root, train, **kw) -> CharRNNTrainConfig:
    base = dict(data=str(train), out=str(root / "run"), batch_size=4, embedding=8, hidden=16, layers=2,
                dropout=0.3, max_steps=6, log_every=2, valid_every=3, checkpoint_every=3, device="cpu",
                valid_examples=3)  # fmt: skip
    base.update(kw)
    return CharRNNTrainConfig(**base)


@pytest.fixture()
def train_file(tmp_path, zinc_smiles):
    path = tmp_path / "train.smi"
    path.write_text("\n".join(zinc_smiles[:40]) + "\n")
    return path


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path, train_file):
    """With dropout on, the random state must be restored too for the weights to agree."""
    full = train_charrnn(_config(tmp_path / "a", train_file))
    train_charrnn(_config(tmp_path / "b", train_file, max_steps=3))
    resumed = train_charrnn(resume=tmp_path / "b" / "run", max_steps=6)
    assert full.step == resumed.step == 6 and full.valid_nll == resumed.valid_nll
    a = load_checkpoint(full.checkpoint)["model_state"]
    b = load_checkpoint(resumed.checkpoint)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _logged(tmp_path / "a") == _logged(tmp_path / "b") and len(_logged(tmp_path / "a")) == 3


def test_a_run_that_ended_at_its_epoch_limit_continues_with_more_epochs(tmp_path, train_file, capsys):
    """40 molecules, batch 4: 10 steps per epoch. A 1-epoch run resumed with 2 epochs
    ends where a 2-epoch run ends, with the same weights."""
    from ric.cli.main import main

    full = train_charrnn(_config(tmp_path / "a", train_file, max_steps=None, epochs=2))
    first = train_charrnn(_config(tmp_path / "b", train_file, max_steps=None, epochs=1))
    assert first.step == 10 and full.step == 20
    assert main(["-q", "train", "--resume", str(tmp_path / "b" / "run"), "--epochs", "2"]) == 0
    a = load_checkpoint(full.checkpoint)["model_state"]
    b = load_checkpoint(tmp_path / "b" / "run" / "checkpoint.pt")
    assert b["step"] == 20 and all(torch.equal(a[k], b["model_state"][k]) for k in a)


def _logged(root) -> dict:
    """``step -> (loss, nll)`` of the training rows of a run's metrics.csv."""
    rows = list(csv.DictReader((root / "run" / "metrics.csv").read_text().splitlines()))
    assert list(rows[0]) == ["step", "epoch", "seconds", "loss", "nll", "valid_nll", "extra"]
    return {r["step"]: (r["loss"], r["nll"]) for r in rows if r["loss"]}


def test_checkpoint_is_plain_data_and_samples_the_same_for_a_seed(tmp_path, train_file):
    result = train_charrnn(_config(tmp_path, train_file, max_steps=3))
    payload = torch.load(result.checkpoint, weights_only=True)
    assert payload["model_family"] == "charrnn" and payload["charrnn_config"]["layers"] == 2
    model, tokens, _ = load_charrnn(result.checkpoint)
    assert not model.training and all(torch.equal(v, payload["model_state"][k]) for k, v in model.state_dict().items())
    one = CharRNNGenerator.from_checkpoint(result.checkpoint, device="cpu", seed=3, batch_size=4)
    two = CharRNNGenerator.from_checkpoint(result.checkpoint, device="cpu", seed=3, batch_size=4)
    assert one.generate(10) == two.generate(10) and one.generate(5) == one.generate(10)[:5]
    assert one.generate(10) != CharRNNGenerator(model, tokens, seed=4, batch_size=4).generate(10)
    with pytest.raises(ValueError, match="not a VAE checkpoint"):
        load_vae(result.checkpoint)


def test_selfies_tokens_give_valid_molecules_even_untrained(tmp_path, train_file):
    from rdkit import Chem

    result = train_charrnn(_config(tmp_path, train_file, tokens="selfies", max_steps=1))
    smiles = CharRNNGenerator.from_checkpoint(result.checkpoint, device="cpu").generate(20)
    parsed = [Chem.MolFromSmiles(s) for s in smiles if s]
    assert len(parsed) >= 15 and all(m is not None for m in parsed)


def test_benchmark_generators_sample_a_charrnn_checkpoint(tmp_path, train_file, zinc_smiles):
    ckpt = str(train_charrnn(_config(tmp_path, train_file, max_steps=1)).checkpoint)
    assert GeneratorSpec.parse("ric", ckpt) == GeneratorSpec.parse(ckpt) == GeneratorSpec("run", "checkpoint", ckpt)
    generator = make_generator(GeneratorSpec.parse(ckpt), train=zinc_smiles[:5], seed=1, device="cpu")
    assert isinstance(generator, CharRNNGenerator) and len(generator.generate(3)) == 3
    with pytest.raises(ValueError, match="corruption-only.*charrnn"):
        GeneratorSpec.parse("corruption-only", ckpt)


# ---------------------------------------------------------------------- command line


def test_cli_defaults_are_the_moses_defaults():
    args = build_parser().parse_args(["train", "--model", "charrnn", "--data", "d.smi", "--out", "r"])
    assert (args.hidden, args.embedding) == (None, None)  # 768 and the vocabulary size, resolved per model
    assert (args.layers, args.dropout, args.lr, args.batch_size) == (3, 0.2, 1e-3, 64)
    library = CharRNNTrainConfig(data="d", out="r")
    assert (library.hidden, library.layers, library.dropout, library.lr, library.batch_size) == (768, 3, 0.2, 1e-3, 64)
    assert library.embedding == 0  # the vocabulary size


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A tiny charrnn trained with ric train on the first 80 molecules of the bundled training set."""
    root = tmp_path_factory.mktemp("charrnn_cli")
    train = root / "train.smi"
    with open(bundled_dir() / "zinc_train.smi") as fh:
        train.write_text("".join(next(fh) for _ in range(80)))
    argv = ["-q", "train", "--model", "charrnn", "--data", str(train), "--out", str(root / "run"), "--max-steps", "4",
            "--hidden", "16", "--layers", "1", "--embedding", "8", "--batch-size", "8", "--valid-examples", "10",
            "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    return {"root": root, "train": train, "run": root / "run", "checkpoint": root / "run" / "checkpoint.pt"}


def test_cli_train_generate_benchmark(cli_run, tmp_path, capsys):
    capsys.readouterr()
    assert main(["-q", "train", "--resume", str(cli_run["run"]), "--max-steps", "5"]) == 0
    assert "step 5" in capsys.readouterr().out
    out = tmp_path / "s.smi"
    argv = ["-q", "generate", "--checkpoint", str(cli_run["run"]), "-n", "6", "-o", str(out), "--seed", "2",
            "--device", "cpu", "--temperature", "0.7"]  # fmt: skip
    assert main(argv) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 6 and "wrote 6 samples" in capsys.readouterr().out
    assert main(argv) == 0 and out.read_text().splitlines() == lines  # the seed fixes the samples
    report = tmp_path / "report"
    assert main(["-q", "benchmark", "--checkpoint", str(cli_run["checkpoint"]), "--fast", "--train",
                 str(cli_run["train"]), "-o", str(report), "--cache-dir", str(tmp_path / "cache"),
                 "--device", "cpu"]) == 0  # fmt: skip
    (entry,) = json.loads((report / "results.json").read_text())["generators"]
    assert entry["name"] == "run" and entry["n_generated"] == 1000


@pytest.mark.parametrize("argv, expected", [
    (["train", "--model", "charrnn", "--latent", "8", "--depth", "2"],
     ["--latent", "VAE-model", "--depth", "chain-model"]),
    (["train", "--model", "charrnn", "--word-dropout", "0.1"], ["--word-dropout", "--model charrnn"]),
    (["train", "--model", "vae", "--layers", "2"], ["--layers", "CharRNN", "--model vae"]),
    (["train", "--dropout", "0.1"], ["--dropout", "CharRNN", "--model chain"]),
    (["train", "--resume", "RUN", "--hidden", "64"], ["--hidden", "resumed run"]),
    (["train", "--resume", "RUN", "--model", "vae"], ["holds a charrnn run"]),
    (["generate", "--checkpoint", "CKPT", "-n", "2", "-o", "OUT", "--sampler", "gibbs"],
     ["--sampler gibbs", "CharRNN"]),
    (["generate", "--checkpoint", "CKPT", "-n", "2", "-o", "OUT", "--scaffold", "c1ccccc1"], ["--scaffold", "CharRNN"]),
    (["evaluate", "--checkpoint", "CKPT", "--data", "TRAIN"], ["not a VAE checkpoint", "charrnn"]),
])  # fmt: skip
def test_options_that_do_not_apply_give_one_line_errors(cli_run, tmp_path, capsys, argv, expected):
    names = {"RUN": cli_run["run"], "CKPT": cli_run["checkpoint"], "TRAIN": cli_run["train"], "OUT": tmp_path / "o.smi"}
    argv = [str(names.get(a, a)) for a in argv]
    if argv[0] == "train" and "--resume" not in argv:
        argv += ["--data", str(cli_run["train"]), "--out", str(tmp_path / "new")]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error:" in err and all(e in err for e in expected), err
    assert not (tmp_path / "new").exists() and not (tmp_path / "o.smi").exists()
