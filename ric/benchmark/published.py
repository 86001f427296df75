"""Published benchmark numbers, shown next to ric's own results for context.

Nothing in this module is computed or rerun by ric. Every value is copied
by hand from a public publication, and a report must label these values
"published, not rerun". They were measured with other code, other RDKit
versions and other sample sizes. Use them to get a rough idea of where a
result stands, not as a like-for-like comparison.

Where each table comes from
---------------------------
MOSES (``MOSES_ROWS``)
    The metrics table in the README of the MOSES repository,
    ``molecularsets/moses``, file ``README.md`` at commit
    ``ffbc4dbad1afddc38b0bcd0a68801b56524c3ca9``. That README version cites
    Polykovskiy et al., "Molecular Sets (MOSES): A Benchmarking Platform for
    Molecular Generation Models", Front. Pharmacol. 2020, 11:565644. Each
    model cell is printed as mean ± std over several runs. ``metrics`` holds
    the mean and ``std`` holds the standard deviation. The *Train* row (the
    training set scored as if it were a model) has no std. FCD, SNN, Frag
    and Scaf are measured against the MOSES Test set under the plain keys,
    and against the scaffold test set (TestSF) under ``*_testsf`` keys.
    FCD here is the raw Fréchet ChemNet Distance, where lower is better,
    not GuacaMol's ``exp(-0.2 * FCD)`` score. An older README version (for
    example at commit ``0447c9fa00a2dc487b28e826dd601343ac537c80``) printed
    an earlier, different table. That table is not used here.

No GuacaMol distribution-learning table is recorded: Brown et al. (J. Chem. Inf. Model.
2019) Table 1 is not in the ``BenevolentAI/guacamol`` repositories, and Seff et al.
(NeurIPS 2019) publish no results table with their code. No number is included that was
not read in a citable source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "MOSES_ROWS",
    "MOSES_SOURCE",
    "PublishedRow",
]


@dataclass(frozen=True)
class PublishedRow:
    """One model's published scores on one benchmark. These are not rerun by ric.

    ``metrics`` uses ric's result keys where a metric corresponds to one of
    them. ``std`` holds the published standard deviations, under the same
    keys. It is empty where the source gives none.
    """

    benchmark: str
    model: str
    metrics: dict[str, float]
    source: str
    note: str = ""
    std: dict[str, float] = field(default_factory=dict)


MOSES_SOURCE = (
    "molecularsets/moses README.md (commit ffbc4dbad1afddc38b0bcd0a68801b56524c3ca9), "
    "metrics table; the README cites Polykovskiy et al., Front. Pharmacol. 2020, 11:565644"
)

# The README's column order: Valid, Unique@1k, Unique@10k, FCD (Test, TestSF),
# SNN (Test, TestSF), Frag (Test, TestSF), Scaf (Test, TestSF), IntDiv,
# IntDiv2, Filters, Novelty.
_MOSES_KEYS: tuple[str, ...] = (
    "validity",
    "unique_at_1k",
    "unique_at_10k",
    "fcd",
    "fcd_testsf",
    "snn",
    "snn_testsf",
    "frag",
    "frag_testsf",
    "scaf",
    "scaf_testsf",
    "int_div1",
    "int_div2",
    "filters",
    "novelty",
)

# Each model's cells exactly as printed in the README, in _MOSES_KEYS order.
_MOSES_CELLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Train",
        (
            "1.0",
            "1.0",
            "1.0",
            "0.008",
            "0.4755",
            "0.6419",
            "0.5859",
            "1.0",
            "0.9986",
            "0.9907",
            "0.0",
            "0.8567",
            "0.8508",
            "1.0",
            "1.0",
        ),
    ),
    (
        "HMM",
        (
            "0.076±0.0322",
            "0.623±0.1224",
            "0.5671±0.1424",
            "24.4661±2.5251",
            "25.4312±2.5599",
            "0.3876±0.0107",
            "0.3795±0.0107",
            "0.5754±0.1224",
            "0.5681±0.1218",
            "0.2065±0.0481",
            "0.049±0.018",
            "0.8466±0.0403",
            "0.8104±0.0507",
            "0.9024±0.0489",
            "0.9994±0.001",
        ),
    ),
    (
        "NGram",
        (
            "0.2376±0.0025",
            "0.974±0.0108",
            "0.9217±0.0019",
            "5.5069±0.1027",
            "6.2306±0.0966",
            "0.5209±0.001",
            "0.4997±0.0005",
            "0.9846±0.0012",
            "0.9815±0.0012",
            "0.5302±0.0163",
            "0.0977±0.0142",
            "0.8738±0.0002",
            "0.8644±0.0002",
            "0.9582±0.001",
            "0.9694±0.001",
        ),
    ),
    (
        "Combinatorial",
        (
            "1.0±0.0",
            "0.9983±0.0015",
            "0.9909±0.0009",
            "4.2375±0.037",
            "4.5113±0.0274",
            "0.4514±0.0003",
            "0.4388±0.0002",
            "0.9912±0.0004",
            "0.9904±0.0003",
            "0.4445±0.0056",
            "0.0865±0.0027",
            "0.8732±0.0002",
            "0.8666±0.0002",
            "0.9557±0.0018",
            "0.9878±0.0008",
        ),
    ),
    (
        "CharRNN",
        (
            "0.9748±0.0264",
            "1.0±0.0",
            "0.9994±0.0003",
            "0.0732±0.0247",
            "0.5204±0.0379",
            "0.6015±0.0206",
            "0.5649±0.0142",
            "0.9998±0.0002",
            "0.9983±0.0003",
            "0.9242±0.0058",
            "0.1101±0.0081",
            "0.8562±0.0005",
            "0.8503±0.0005",
            "0.9943±0.0034",
            "0.8419±0.0509",
        ),
    ),
    (
        "AAE",
        (
            "0.9368±0.0341",
            "1.0±0.0",
            "0.9973±0.002",
            "0.5555±0.2033",
            "1.0572±0.2375",
            "0.6081±0.0043",
            "0.5677±0.0045",
            "0.991±0.0051",
            "0.9905±0.0039",
            "0.9022±0.0375",
            "0.0789±0.009",
            "0.8557±0.0031",
            "0.8499±0.003",
            "0.996±0.0006",
            "0.7931±0.0285",
        ),
    ),
    (
        "VAE",
        (
            "0.9767±0.0012",
            "1.0±0.0",
            "0.9984±0.0005",
            "0.099±0.0125",
            "0.567±0.0338",
            "0.6257±0.0005",
            "0.5783±0.0008",
            "0.9994±0.0001",
            "0.9984±0.0003",
            "0.9386±0.0021",
            "0.0588±0.0095",
            "0.8558±0.0004",
            "0.8498±0.0004",
            "0.997±0.0002",
            "0.6949±0.0069",
        ),
    ),
    (
        "JTN-VAE",
        (
            "1.0±0.0",
            "1.0±0.0",
            "0.9996±0.0003",
            "0.3954±0.0234",
            "0.9382±0.0531",
            "0.5477±0.0076",
            "0.5194±0.007",
            "0.9965±0.0003",
            "0.9947±0.0002",
            "0.8964±0.0039",
            "0.1009±0.0105",
            "0.8551±0.0034",
            "0.8493±0.0035",
            "0.976±0.0016",
            "0.9143±0.0058",
        ),
    ),
    (
        "LatentGAN",
        (
            "0.8966±0.0029",
            "1.0±0.0",
            "0.9968±0.0002",
            "0.2968±0.0087",
            "0.8281±0.0117",
            "0.5371±0.0004",
            "0.5132±0.0002",
            "0.9986±0.0004",
            "0.9972±0.0007",
            "0.8867±0.0009",
            "0.1072±0.0098",
            "0.8565±0.0007",
            "0.8505±0.0006",
            "0.9735±0.0006",
            "0.9498±0.0006",
        ),
    ),
)

_MOSES_NOTES: dict[str, str] = {
    "Train": (
        "The MOSES training set scored as a model, a reference point. The "
        "README prints no std, and gives Novelty 1.0 for this row."
    ),
}
_MOSES_DEFAULT_NOTE = "mean over runs; std in `std`"


def _parse_moses_row(model: str, values: tuple[str, ...]) -> PublishedRow:
    if len(values) != len(_MOSES_KEYS):
        raise ValueError(
            f"MOSES row {model!r}: {len(values)} cells, expected {len(_MOSES_KEYS)}"
        )
    metrics: dict[str, float] = {}
    std: dict[str, float] = {}
    for key, cell in zip(_MOSES_KEYS, values):
        mean_text, _, std_text = cell.partition("±")
        metrics[key] = float(mean_text)
        if std_text:
            std[key] = float(std_text)
    return PublishedRow(
        benchmark="moses",
        model=model,
        metrics=metrics,
        source=MOSES_SOURCE,
        note=_MOSES_NOTES.get(model, _MOSES_DEFAULT_NOTE),
        std=std,
    )


MOSES_ROWS: tuple[PublishedRow, ...] = tuple(
    _parse_moses_row(model, cells) for model, cells in _MOSES_CELLS
)


