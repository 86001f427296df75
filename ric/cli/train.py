"""``ric train``: fit the reconstruction network on a SMILES file."""
from __future__ import annotations

import argparse

from ric.moves.registry import move_set_names
from ric.cli.main import fraction, nonnegative_float, nonnegative_int, positive_float, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the reconstruction network (checkpoint at OUT/checkpoint.pt)",
        description="Maximum-likelihood training of p(move | corrupted molecule) on corrupted examples "
        "drawn on the fly. Writes OUT/checkpoint.pt (atomically, every --checkpoint-every steps), "
        "OUT/metrics.csv and OUT/config.json. Continue an interrupted run with --resume OUT. "
        "For several processes or machines, launch with torchrun.",
    )
    p.add_argument(
        "--model",
        default="chain",
        choices=("chain", "vae", "hvae", "vlae", "iaf", "nvae", "lfvi", "dim", "charrnn", "graphrnn"),
        help="chain: the reversible-inductive-construction network (default); vae ... dim: the "
        "sequence-VAE baselines; charrnn: the SMILES LSTM baseline of MOSES/GuacaMol; graphrnn: the "
        "GraphRNN baseline for graphs (--data: .g6)",
    )
    p.add_argument("--data", help="training data: molecules (.smi/.csv/.sdf) or, with --move-set laman or "
                   "--model graphrnn, Laman graphs (.g6)")
    p.add_argument("--valid", help="validation data (default: 5%% of --data held out)")
    p.add_argument("--move-set", choices=move_set_names(), default="fragment",
                   help="fragment (default) or atom: molecules; laman: Laman graphs")
    p.add_argument("--vocab", help="fragment vocabulary (default: built from --data)")
    p.add_argument("--out", help="run directory")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint "
                   "(only --max-steps, --time-budget and --epochs may change; --data/--valid may name the run's files "
                   "at a new place, with the same content)")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in --out even if it holds one (its files are replaced)")
    p.add_argument("--max-unusable", type=fraction, default=0.05, metavar="FRACTION",
                   help="refuse data files in which more than this fraction of the molecules cannot be used "
                   "(unparsable, or outside the fragment vocabulary); default 0.05, 1 accepts any")
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="default 10 (graphrnn: 3000, as its paper; a --time-budget normally ends it first)")
    p.add_argument("--max-steps", type=nonnegative_int, help="stop after this many steps in total")
    p.add_argument("--batch-size", type=positive_int, default=64, help="molecules per step and process (default 64)")
    p.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--decay-steps", type=positive_int, metavar="STEP",
                   help="chain: after warm-up, lower the learning rate along a half cosine to --lr-final, "
                   "reached at this step (default: constant learning rate)")
    p.add_argument("--lr-final", type=positive_float, help="chain: learning rate at --decay-steps (default lr/10)")
    p.add_argument("--init-weights", metavar="CHECKPOINT",
                   help="chain: start from the network of this chain checkpoint (fine-tuning, e.g. on your own "
                   "molecules); its vocabulary and network size are used, the optimiser starts afresh")
    p.add_argument("--hidden", type=positive_int,
                   help="hidden size (default 128 for chain, 256 for VAEs, 768 for charrnn, 128 for graphrnn's "
                   "graph-level GRU)")
    p.add_argument("--depth", type=positive_int, default=4, help="message-passing layers (default 4)")
    p.add_argument("--set-hidden", type=positive_int,
                   help="chain: width of the set head's hidden layer (default: --hidden); narrower is much cheaper "
                   "for Laman graphs, whose states have thousands of set candidates")
    p.add_argument("--steps-mean", type=positive_float, default=5.0, help="mean corruption length (default 5)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="default 0")
    p.add_argument("--workers", type=nonnegative_int, default=2, help="DataLoader workers doing the corruption (default 2)")
    p.add_argument("--log-every", type=positive_int, default=20, help="steps per metrics.csv row (default 20)")
    p.add_argument("--valid-every", type=positive_int, default=500, help="steps between validations (default 500)")
    p.add_argument("--checkpoint-every", type=positive_int, default=200, help="steps between checkpoints (default 200)")
    p.add_argument("--valid-examples", type=positive_int, default=2000, help="validation examples (default 2000)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument(
        "--time-budget",
        type=positive_float,
        metavar="CPU_SECONDS",
        help="stop after this many CPU seconds of training, summed over this process's threads "
        "and its corruption workers (for comparing models at one budget; default: no limit)",
    )
    seq = p.add_argument_group("sequence models (--model vae|hvae|vlae|iaf|nvae|lfvi|dim|charrnn)")
    seq.add_argument("--tokens", choices=("smiles", "selfies"), default="smiles", help="representation (default smiles)")
    seq.add_argument("--embedding", type=positive_int,
                     help="token embedding size (default 64 for VAEs; the vocabulary size for charrnn, as MOSES)")
    vae = p.add_argument_group("VAE models (--model vae|hvae|vlae|iaf|nvae|lfvi|dim)")
    vae.add_argument("--latent", type=positive_int, default=32, help="size of each latent group (default 32)")
    vae.add_argument("--groups", type=positive_int, default=3, help="latent levels of hvae/vlae/nvae (default 3)")
    vae.add_argument("--flow-steps", type=positive_int, default=4, help="IAF steps (default 4)")
    vae.add_argument("--noise", type=positive_int, default=32, help="noise size of lfvi/dim (default 32)")
    vae.add_argument("--word-dropout", type=fraction, default=0.0, help="decoder word dropout (default 0)")
    vae.add_argument("--kl-warmup", type=nonnegative_int, default=2000, help="KL warm-up steps (default 2000)")
    vae.add_argument("--free-bits", type=nonnegative_float, default=0.0, help="minimum KL per group, nats (default 0)")
    rnn = p.add_argument_group("CharRNN (--model charrnn; MOSES defaults: --hidden 768, 3 layers, dropout 0.2, "
                               "Adam lr 1e-3, batch 64)")
    rnn.add_argument("--layers", type=positive_int, default=3,
                     help="LSTM layers (default 3); with --model graphrnn, graph-level GRU layers (default 3)")
    rnn.add_argument("--dropout", type=fraction, default=0.2, help="dropout between LSTM layers (default 0.2)")
    graph = p.add_argument_group("GraphRNN (--model graphrnn; also --hidden, --layers; M, the adjacency-vector "
                                 "length, comes from the training graphs)")
    graph.add_argument("--edge-model", choices=("rnn", "mlp"), default="rnn",
                       help="rnn: the full GraphRNN, an edge-level GRU (default); mlp: GraphRNN-S, independent edges")
    graph.add_argument("--edge-hidden", type=positive_int, default=16, help="edge-level GRU hidden size (default 16)")
    p.set_defaults(run=run, parser_defaults={a.dest: a.default for a in p._actions if a.dest != "help"})


#: Options of the chain model only, of the token-sequence models (VAEs and charrnn), of the
#: VAE models only, of charrnn only (``--layers`` serves graphrnn too) and of graphrnn only (dest names).
_CHAIN_OPTIONS = ("move_set", "vocab", "depth", "set_hidden", "steps_mean", "workers", "max_unusable",
                  "init_weights", "decay_steps", "lr_final")
_SEQUENCE_OPTIONS = ("tokens", "embedding")
_VAE_OPTIONS = ("latent", "groups", "flow_steps", "noise", "word_dropout", "kl_warmup", "free_bits")
_CHARRNN_OPTIONS = ("layers", "dropout")
_GRAPHRNN_OPTIONS = ("edge_model", "edge_hidden")
#: --model -> the option groups that do not apply to it, with the name of their kind.
_FOREIGN_OPTIONS = {
    "chain": (("VAE-model", _VAE_OPTIONS), ("sequence-model", _SEQUENCE_OPTIONS), ("CharRNN", _CHARRNN_OPTIONS),
              ("GraphRNN", _GRAPHRNN_OPTIONS)),
    "charrnn": (("chain-model", _CHAIN_OPTIONS), ("VAE-model", _VAE_OPTIONS), ("GraphRNN", _GRAPHRNN_OPTIONS)),
    "graphrnn": (("chain-model", _CHAIN_OPTIONS), ("VAE-model", _VAE_OPTIONS), ("sequence-model", _SEQUENCE_OPTIONS),
                 ("CharRNN", ("dropout",))),
}
_VAE_FOREIGN_OPTIONS = (("chain-model", _CHAIN_OPTIONS), ("CharRNN", _CHARRNN_OPTIONS), ("GraphRNN", _GRAPHRNN_OPTIONS))
#: Options a resumed run may change.
_RESUME_OPTIONS = ("max_steps", "time_budget", "epochs", "resume", "model", "data", "valid")


def _given(args: argparse.Namespace, names) -> list[str]:
    """The options among ``names`` set to something other than their default."""
    defaults = args.parser_defaults
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) != defaults.get(n)]


def _resumed_epochs(args: argparse.Namespace) -> int | None:
    """``--epochs`` when given with ``--resume`` (a new epoch limit), else ``None`` (keep the run's)."""
    return args.epochs if _given(args, ["epochs"]) else None


def _run_vae(args: argparse.Namespace) -> int:
    from ric.vae.training import VAETrainConfig, train_vae

    if args.resume:
        result = train_vae(resume=args.resume, max_steps=args.max_steps, time_budget=args.time_budget, epochs=_resumed_epochs(args),
                           progress=not getattr(args, "quiet", False), relocate={"data": args.data, "valid": args.valid})
    else:
        config = VAETrainConfig(
            data=args.data, out=args.out, model=args.model, valid=args.valid, tokens=args.tokens,
            epochs=args.epochs, max_steps=args.max_steps, time_budget=args.time_budget,
            batch_size=args.batch_size, lr=args.lr, seed=args.seed, embedding=args.embedding or 64,
            hidden=args.hidden or 256, latent=args.latent, groups=args.groups, flow_steps=args.flow_steps,
            noise=args.noise, word_dropout=args.word_dropout, kl_warmup_steps=args.kl_warmup,
            free_bits=args.free_bits, log_every=args.log_every, valid_every=args.valid_every,
            checkpoint_every=args.checkpoint_every, valid_examples=min(args.valid_examples, 1000),
            device=args.device,
        )  # fmt: skip
        result = train_vae(config, progress=not getattr(args, "quiet", False), overwrite=args.overwrite)
    print(f"step {result.step} ({result.seconds:.0f} s): valid ELBO {result.valid_elbo:.3f}; checkpoint {result.checkpoint}")
    return 0


def _run_charrnn(args: argparse.Namespace) -> int:
    from ric.baselines.training import CharRNNTrainConfig, train_charrnn

    if args.resume:
        result = train_charrnn(resume=args.resume, max_steps=args.max_steps, time_budget=args.time_budget, epochs=_resumed_epochs(args),
                               progress=not getattr(args, "quiet", False),
                               relocate={"data": args.data, "valid": args.valid})
    else:
        config = CharRNNTrainConfig(
            data=args.data, out=args.out, valid=args.valid, tokens=args.tokens, epochs=args.epochs,
            max_steps=args.max_steps, time_budget=args.time_budget, batch_size=args.batch_size, lr=args.lr,
            seed=args.seed, embedding=args.embedding or 0, hidden=args.hidden or 768, layers=args.layers,
            dropout=args.dropout, log_every=args.log_every, valid_every=args.valid_every,
            checkpoint_every=args.checkpoint_every, valid_examples=min(args.valid_examples, 1000), device=args.device,
        )  # fmt: skip
        result = train_charrnn(config, progress=not getattr(args, "quiet", False), overwrite=args.overwrite)
    print(f"step {result.step} ({result.seconds:.0f} s): valid NLL {result.valid_nll:.3f} nats per molecule; "
          f"checkpoint {result.checkpoint}")
    return 0


def _run_graphrnn(args: argparse.Namespace) -> int:
    from ric.baselines.graphrnn import GraphRNNTrainConfig, train_graphrnn

    if args.resume:
        result = train_graphrnn(resume=args.resume, max_steps=args.max_steps, time_budget=args.time_budget, epochs=_resumed_epochs(args),
                                progress=not getattr(args, "quiet", False),
                                relocate={"data": args.data, "valid": args.valid})
    else:
        config = GraphRNNTrainConfig(
            data=args.data, out=args.out, valid=args.valid, epochs=args.epochs if _given(args, ["epochs"]) else 3000,
            max_steps=args.max_steps, time_budget=args.time_budget, batch_size=args.batch_size, lr=args.lr,
            seed=args.seed, edge_model=args.edge_model, hidden=args.hidden or 128, layers=args.layers,
            edge_hidden=args.edge_hidden, log_every=args.log_every, valid_every=args.valid_every,
            checkpoint_every=args.checkpoint_every, valid_examples=min(args.valid_examples, 1000), device=args.device,
        )  # fmt: skip
        result = train_graphrnn(config, progress=not getattr(args, "quiet", False), overwrite=args.overwrite)
    print(f"step {result.step} ({result.seconds:.0f} s, {result.cpu_seconds:.0f} CPU s): valid NLL "
          f"{result.valid_nll:.3f} nats per graph; checkpoint {result.checkpoint}")
    return 0


def _run_family(run_dir: str) -> str:
    """The model of a run directory's checkpoint: ``"chain"`` or the sequence model's name (``vae``, ..., ``charrnn``)."""
    from pathlib import Path

    from ric.runtime.checkpoint import load_checkpoint

    payload = load_checkpoint(Path(run_dir) / "checkpoint.pt")
    if payload.get("model_family", "chain") == "chain":
        return "chain"
    return str(payload.get("train_config", {}).get("model", payload["model_family"]))


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse options that would be ignored, and unsafe run directories (before any slow import)."""
    import os
    from pathlib import Path

    from ric.cli.main import CommandError
    from ric.files import check_run_dir, input_file

    if args.resume:
        if Path(args.resume).is_file() and Path(args.resume).name == "checkpoint.pt":
            args.resume = str(Path(args.resume).parent)  # the run's checkpoint names its run
        if not (Path(args.resume) / "checkpoint.pt").is_file():
            raise CommandError(f"--resume {args.resume}: no checkpoint.pt there to continue from")
        ignored = _given(args, [n for n in args.parser_defaults if n not in _RESUME_OPTIONS])
        if ignored:
            raise CommandError(f"{', '.join(ignored)}: a resumed run keeps the settings it started with; "
                               "only --max-steps, --time-budget and --epochs may change")
        return
    if not args.data or not args.out:
        raise CommandError("--data and --out are required (or --resume RUN_DIR)")
    input_file(args.data, "training data")
    if args.valid:
        input_file(args.valid, "validation data")
    if args.vocab:
        input_file(args.vocab, "vocabulary")
    check_run_dir(args.out, args.overwrite)
    for path in (args.data, args.valid, args.vocab):
        if path and Path(path).resolve().parent == Path(args.out).resolve() and Path(path).name in (
                "checkpoint.pt", "metrics.csv", "config.json"):
            raise CommandError(f"{path} is one of the files a run writes in {args.out}")
    foreign = [(kind, _given(args, names)) for kind, names in _FOREIGN_OPTIONS.get(args.model, _VAE_FOREIGN_OPTIONS)]
    wrong = "; ".join(f"{', '.join(given)}: {kind} options" for kind, given in foreign if given)
    if wrong:
        raise CommandError(f"{wrong}, which do not apply to --model {args.model}")
    if args.init_weights:
        if os.path.isdir(args.init_weights) and os.path.isfile(os.path.join(args.init_weights, "checkpoint.pt")):
            args.init_weights = os.path.join(args.init_weights, "checkpoint.pt")
        input_file(args.init_weights, "--init-weights checkpoint")
        taken = _given(args, ("move_set", "vocab", "hidden", "depth", "set_hidden"))
        if taken:
            raise CommandError(f"{', '.join(taken)}: with --init-weights the move set, vocabulary and network "
                               f"size come from {args.init_weights}")
    if args.lr_final is not None and args.decay_steps is None:
        raise CommandError("--lr-final needs --decay-steps (the step at which it is reached)")


def run(args: argparse.Namespace) -> int:
    _check_arguments(args)
    from ric.cli.main import CommandError

    if args.resume:
        family = _run_family(args.resume)
        if args.model != args.parser_defaults["model"] and args.model != family:
            raise CommandError(f"--model {args.model}: {args.resume} holds a {family} run; resume it without --model")
        if family == "charrnn":
            return _run_charrnn(args)
        if family == "graphrnn":
            return _run_graphrnn(args)
        if family != "chain":
            return _run_vae(args)
    elif args.model == "charrnn":
        return _run_charrnn(args)
    elif args.model == "graphrnn":
        return _run_graphrnn(args)
    elif args.model != "chain":
        return _run_vae(args)
    from ric.training.config import TrainConfig
    from ric.training.loop import train

    if args.resume:
        result = train(resume=args.resume, max_steps=args.max_steps, time_budget=args.time_budget, epochs=_resumed_epochs(args), progress=not getattr(args, "quiet", False),
                       relocate={"data": args.data, "valid": args.valid})
    else:
        config = TrainConfig(
            data=args.data, out=args.out, valid=args.valid, move_set=args.move_set, vocab=args.vocab,
            epochs=args.epochs, max_steps=args.max_steps, time_budget=args.time_budget,
            batch_size=args.batch_size, lr=args.lr,
            hidden=args.hidden or 128, depth=args.depth, set_hidden=args.set_hidden, steps_mean=args.steps_mean,
            seed=args.seed,
            workers=args.workers, log_every=args.log_every, valid_every=args.valid_every,
            checkpoint_every=args.checkpoint_every, valid_examples=args.valid_examples, device=args.device,
            max_unusable=args.max_unusable, decay_steps=args.decay_steps, lr_final=args.lr_final,
            init_weights=args.init_weights,
        )
        result = train(config, progress=not getattr(args, "quiet", False), overwrite=args.overwrite)
    if result.checkpoint is not None:
        print(
            f"step {result.step} ({result.steps_done} this time, stopped by {result.stopped_by.replace('_', ' ')}): "
            f"valid loss {result.valid_loss:.4f}, top-1 {result.valid_top1:.3f} "
            f"(stop-only baseline {result.valid_majority:.3f}); checkpoint {result.checkpoint}"
        )
    return 0
