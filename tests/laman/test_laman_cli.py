"""The command line on Laman graphs: the same verbs as for molecules, end to end.

``ric corrupt --check``, ``ric train --move-set laman``, ``ric generate`` (graph6 and a
drawing) and ``ric benchmark`` on graphs, plus the mistakes a user makes with graph files.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ric.cli.main import main
from ric.data import path_of
from ric.laman.domain import LAMAN
from ric.laman.graph import from_graph6
from ric.laman.pebble import is_laman
from ric.moves import make_move_set


def _head(src: Path, n: int, dst: Path) -> Path:
    dst.write_text("".join(LAMAN.read_texts(src)[:n][i] + "\n" for i in range(n)))
    return dst


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny Henneberg model trained for a few steps on 60 bundled graphs."""
    tmp = tmp_path_factory.mktemp("laman_cli")
    train = _head(path_of("laman_low", "train"), 60, tmp / "train.g6")
    valid = _head(path_of("laman_low", "valid"), 20, tmp / "valid.g6")
    out = tmp / "run"
    code = main(["-q", "train", "--move-set", "laman", "--data", str(train), "--valid", str(valid),
                 "--out", str(out), "--max-steps", "6", "--batch-size", "8", "--hidden", "16", "--depth", "1",
                 "--set-hidden", "8", "--workers", "0", "--valid-examples", "16", "--log-every", "2"])
    assert code == 0
    return {"tmp": tmp, "train": train, "valid": valid, "checkpoint": out / "checkpoint.pt"}


def test_corrupt_check_on_graphs_has_no_failures(tmp_path, capsys):
    data = _head(path_of("laman_low", "train"), 40, tmp_path / "g.g6")
    code = main(["corrupt", "--move-set", "laman", str(data), "-o", str(tmp_path / "ex.csv"), "--check",
                 "--per-molecule", "3"])
    out = capsys.readouterr().out
    assert code == 0 and "0 failures" in out
    rows = (tmp_path / "ex.csv").read_text().splitlines()
    assert rows[0] == "graph6,corrupted,steps,reverse_move" and len(rows) == 1 + 120
    ms = make_move_set("laman")
    for row in rows[1:20]:
        clean, corrupted, steps, move = row.split(",")
        state = from_graph6(corrupted)
        assert ms.is_valid(state)
        if steps != "0":
            assert ms.is_legal(state, ms.parse_move(move))


def test_generate_writes_laman_graph6_and_a_drawing(run, tmp_path, capsys):
    out, png = tmp_path / "g.g6", tmp_path / "g.png"
    code = main(["generate", "--checkpoint", str(run["checkpoint"]), "-n", "12", "-o", str(out), "--draw", str(png),
                 "--init", str(run["train"]), "--max-reconstruction-steps", "5"])
    assert code == 0
    assert "12 of them valid Laman graphs" in capsys.readouterr().out
    graphs = [from_graph6(line) for line in out.read_text().split()]
    assert len(graphs) == 12 and all(is_laman(g.n, g.edges) for g in graphs)
    assert png.read_bytes()[:4] == b"\x89PNG"
    again = tmp_path / "again.g6"
    main(["-q", "generate", "--checkpoint", str(run["checkpoint"]), "-n", "12", "-o", str(again),
          "--init", str(run["train"]), "--max-reconstruction-steps", "5"])
    assert again.read_text() == out.read_text()  # seeded


def test_generate_refuses_a_scaffold_for_graphs(run, tmp_path, capsys):
    code = main(["generate", "--checkpoint", str(run["checkpoint"]), "-n", "2", "-o", str(tmp_path / "x.g6"),
                 "--init", str(run["train"]), "--scaffold", "c1ccccc1"])
    assert code == 2 and "--scaffold applies to molecules" in capsys.readouterr().err
    assert not (tmp_path / "x.g6").exists()


def test_benchmark_on_graphs(run, tmp_path):
    out = tmp_path / "report"
    code = main(["-q", "benchmark", "--checkpoint", str(run["checkpoint"]), "--generator", "ric",
                 "--generator", "erdos-renyi", "--generator", "training-set", "--train", str(run["train"]),
                 "--reference", str(run["valid"]), "-n", "10", "-o", str(out)])
    assert code == 0
    payload = json.loads((out / "results.json").read_text())
    rows = {r["name"]: r for r in payload["results"]}
    assert set(rows) == {"ric", "erdos-renyi", "training-set"}
    assert rows["ric"]["validity"]["fraction"] == 1.0 and rows["training-set"]["novelty"]["fraction"] == 0.0
    assert (out / "ric.g6").read_text().count("\n") == 10
    assert "| ric | 1.000 |" in (out / "results.md").read_text()


def test_bad_graph_files_are_named_with_their_line(run, tmp_path, capsys):
    bad = tmp_path / "bad.g6"
    lines = LAMAN.read_texts(run["train"])[:30]
    lines[4] = "not graph6 at all!"
    lines[9] = "Bg"  # the path 0-1-2: two edges on three nodes, not Laman
    bad.write_text("\n".join(lines) + "\n")
    code = main(["corrupt", "--move-set", "laman", str(bad), "-o", str(tmp_path / "x.csv"), "--strict"])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}, line 5" in err and "Traceback" not in err
    code = main(["-q", "train", "--move-set", "laman", "--data", str(bad), "--out", str(tmp_path / "r"),
                 "--max-steps", "1", "--max-unusable", "0.01"])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "28 of 30 graphs usable" in err
    code = main(["train", "--move-set", "laman", "--data", str(run["train"]), "--vocab",
                 str(path_of("bundled", "train")), "--out", str(tmp_path / "r2")])
    assert code == 2 and "vocab" in capsys.readouterr().err
