"""Fréchet ChemNet Distance (Preuer et al., J. Chem. Inf. Model. 2018).

Each set of molecules is summarised by the mean ``mu`` and covariance ``Sigma`` (unbiased,
``n - 1`` in the denominator) of its ChemNet activations: the 512 outputs of the last
LSTM layer at its final time step, i.e. the penultimate layer of ChemNet (the network
trained to predict bioactivities). The FCD between two sets is the Fréchet (2-Wasserstein)
distance between the Gaussians with these moments::

    FCD = ||mu_a - mu_b||^2 + Tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^(1/2))

Lower is better; GuacaMol reports ``score = exp(-0.2 * FCD)`` (1 for identical sets).

The ChemNet weights (``ChemNet_v0.13_pretrained.pt``) and the SMILES tokeniser come from
the ``fcd`` package (1.2.x), which ships them; nothing is downloaded. SMILES are encoded as
in the reference implementation: tokens of the 35-symbol ChemNet vocabulary (``Cl``,
``Br`` and ``Si`` are single tokens; any other symbol outside the vocabulary, e.g. ``9``,
``%``, ``e`` of ``Se`` or ``a`` of ``Na``, becomes the unknown token ``X``), then the end
token ``.`` (a ``.`` inside a SMILES is encoded as this same token), one-hot vectors
divided by 35, zero-padded to 350 positions. The padding length matters: the last LSTM
runs over the padded positions, so activations depend on it.

How the published benchmarks use it:

* GuacaMol (Brown et al. 2019): FCD between 10,000 valid generated molecules and a random
  sample of 10,000 training molecules; both lists are RDKit-canonicalised
  (``Chem.MolToSmiles(Chem.MolFromSmiles(s))``, stereochemistry kept) before ChemNet;
  score ``exp(-0.2 * FCD)``.
* MOSES (Polykovskiy et al. 2020): invalid molecules are removed and the valid ones are
  canonicalised the same way (``remove_invalid(gen, canonize=True)``); ``fcd_torch``
  canonicalises again (its default) both the generated and the test SMILES; FCD is
  reported against the test set and the scaffold test set.

:func:`fcd` therefore canonicalises (RDKit, stereo kept) by default;
:func:`chemnet_activations` encodes strings exactly as given.

SMILES longer than 349 tokens do not fit the 350 positions. The original Keras code and
``fcd_torch`` (used by GuacaMol's published numbers and by MOSES) truncate them to 349
tokens plus the end token; ``fcd`` 1.2 instead widens the padding of the *whole list*,
which changes every molecule's activations. ``ric`` truncates, like the original, and
logs a warning with the number of truncated SMILES.
"""
from __future__ import annotations

import importlib.resources
import io
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from fcd import utils as fcd_utils
from rdkit import Chem
from scipy import linalg

from ric.molecules.rdkit_utils import quiet_rdkit
from ric.runtime.device import resolve_device

__all__ = [
    "CHEMNET_DIM",
    "PAD_LEN",
    "FCDResult",
    "GaussianStats",
    "chemnet_activations",
    "chemnet_stats",
    "fcd",
    "frechet_distance",
    "load_chemnet",
]

logger = logging.getLogger(__name__)

#: Width of ChemNet's penultimate layer (the activations FCD uses).
CHEMNET_DIM = 512
#: Sequence length ChemNet inputs are padded to (fixed by the reference implementation).
PAD_LEN = 350
_WEIGHTS = "ChemNet_v0.13_pretrained.pt"

# The vocabulary is a module-level list of the fcd package; the weights are tied to its order.
_VOCAB: list[str] = list(getattr(fcd_utils, "__vocab"))
_TOKEN_INDEX = {token: i for i, token in enumerate(_VOCAB)}
_UNKNOWN = _TOKEN_INDEX["X"]
_END = _TOKEN_INDEX["."]
_PAD = len(_VOCAB)  # an extra class that becomes an all-zero column
# fcd's own tokeniser regex; DOTALL so that any character (even a newline) is a token.
_TOKEN_RE = re.compile(fcd_utils.FULL_REGEX, re.DOTALL)

_MODELS: dict[str, torch.nn.Module] = {}


def _device(device: str | torch.device) -> torch.device:
    """A concrete torch device (``"cuda"`` -> ``cuda:<current>``) via ``resolve_device``."""
    dev = resolve_device(str(device))
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def load_chemnet(device: str | torch.device = "cpu") -> torch.nn.Module:
    """The pretrained ChemNet (up to its penultimate layer) in eval mode on ``device``.

    The weights bundled with the ``fcd`` package are read once per device and cached in
    this module; callers must not train or move the returned model.

    Args:
        device: torch device or ``"auto"`` / ``"cpu"`` / ``"cuda"`` / ``"cuda:N"``
            (default ``"cpu"``).

    Returns:
        A module mapping inputs ``[batch, 35, 350]`` (float32) to activations
        ``[batch, 512]``.
    """
    dev = _device(device)
    key = str(dev)
    model = _MODELS.get(key)
    if model is None:
        data = importlib.resources.files("fcd").joinpath(_WEIGHTS).read_bytes()
        config = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model = fcd_utils.load_imported_model(config).to(dev).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        _MODELS[key] = model
        logger.debug("loaded ChemNet on %s", key)
    return model


def _encode(smiles: Sequence[str]) -> tuple[np.ndarray, int]:
    """Token indices ``[n, PAD_LEN]`` (``_PAD`` after the end token) and the number truncated."""
    out = np.full((len(smiles), PAD_LEN), _PAD, dtype=np.int64)
    truncated = 0
    for row, smi in enumerate(smiles):
        if not isinstance(smi, str):
            raise TypeError(f"expected SMILES strings, got {type(smi).__name__}: {smi!r}")
        tokens = [_TOKEN_INDEX.get(m.group(), _UNKNOWN) for m in _TOKEN_RE.finditer(smi)]
        if len(tokens) > PAD_LEN - 1:
            truncated += 1
            tokens = tokens[: PAD_LEN - 1]
        tokens.append(_END)
        out[row, : len(tokens)] = tokens
    return out, truncated


def chemnet_activations(
    smiles: Sequence[str],
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> np.ndarray:
    """ChemNet penultimate-layer activations of SMILES strings, encoded as given.

    No parsing or canonicalisation is done (see :func:`fcd`). Symbols outside ChemNet's
    vocabulary become its unknown token ``X``, as in the ``fcd`` package; SMILES longer
    than 349 tokens are truncated as in the original implementation (with a warning).
    Every molecule is encoded independently, so the result does not depend on
    ``batch_size`` or on the other SMILES in the list (up to float32 rounding).

    Args:
        smiles: ``n`` SMILES strings.
        batch_size: molecules per forward pass (default 256).
        device: torch device or ``"auto"`` / ``"cpu"`` / ``"cuda:N"`` (default ``"cpu"``).
        progress: show a tqdm bar (molecules).

    Returns:
        float32 array ``[n, 512]``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    smiles = list(smiles)
    out = np.empty((len(smiles), CHEMNET_DIM), dtype=np.float32)
    if not smiles:
        return out
    model = load_chemnet(device)
    dev = next(model.parameters()).device
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(smiles), unit="mol", desc="ChemNet")
    n_truncated = 0
    try:
        with torch.inference_mode():
            for start in range(0, len(smiles), batch_size):
                chunk = smiles[start : start + batch_size]
                idx, truncated = _encode(chunk)
                n_truncated += truncated
                tokens = torch.from_numpy(idx).to(dev)
                # one-hot [b, PAD_LEN, 36] -> drop the padding class -> [b, 35, PAD_LEN]
                x = torch.nn.functional.one_hot(tokens, _PAD + 1)[..., :_PAD]
                x = x.transpose(1, 2).to(torch.float32) / len(_VOCAB)
                out[start : start + len(chunk)] = model(x).cpu().numpy()
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    if n_truncated:
        logger.warning(
            "%d of %d SMILES are longer than %d ChemNet tokens and were truncated",
            n_truncated, len(smiles), PAD_LEN - 1,
        )
    return out


@dataclass(eq=False)
class GaussianStats:
    """Mean and covariance of a set of activations (the FCD summary of a molecule set).

    Attributes:
        mean: float64 ``[d]``.
        cov: float64 ``[d, d]``, unbiased (``n - 1`` denominator, as ``np.cov``).
        n: number of molecules the statistics were computed from.
    """

    mean: np.ndarray
    cov: np.ndarray
    n: int

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float64)
        self.cov = np.asarray(self.cov, dtype=np.float64)
        d = self.mean.shape[0] if self.mean.ndim == 1 else -1
        if self.mean.ndim != 1 or self.cov.shape != (d, d):
            raise ValueError(f"need mean [d] and cov [d, d], got {self.mean.shape} and {self.cov.shape}")
        self.n = int(self.n)

    @classmethod
    def from_activations(cls, acts: np.ndarray) -> GaussianStats:
        """Statistics of activations ``[n, d]`` (``n >= 2``), computed in float64."""
        acts = np.asarray(acts, dtype=np.float64)
        if acts.ndim != 2 or acts.shape[0] < 2:
            raise ValueError(f"need activations [n >= 2, d], got shape {acts.shape}")
        return cls(mean=acts.mean(axis=0), cov=np.cov(acts, rowvar=False), n=acts.shape[0])

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"mean", "cov", "n"}`` as numpy arrays (ready for ``np.savez``)."""
        return {"mean": self.mean.copy(), "cov": self.cov.copy(), "n": np.asarray(self.n, dtype=np.int64)}

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray]) -> GaussianStats:
        """Inverse of :meth:`state_dict` (also accepts the ``NpzFile`` of ``np.load``)."""
        return cls(mean=np.array(state["mean"]), cov=np.array(state["cov"]), n=int(state["n"]))


def frechet_distance(a: GaussianStats, b: GaussianStats, *, eps: float = 1e-6) -> float:
    """Fréchet distance between the Gaussians ``N(a.mean, a.cov)`` and ``N(b.mean, b.cov)``.

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` with ``scipy.linalg.sqrtm``.
    If the square root is not finite or has a non-negligible imaginary diagonal (nearly
    singular product), it is recomputed with ``eps * I`` added to both covariances; a
    remaining imaginary part above ``1e-3`` raises, a smaller one is discarded. Tiny
    negative values from rounding (identical statistics) are returned as 0.

    Args:
        a, b: statistics of the same dimension ``d``.
        eps: diagonal offset for the fallback (default ``1e-6``).

    Raises:
        ValueError: on mismatched dimensions or a large imaginary component.
    """
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"dimension mismatch: {a.mean.shape} vs {b.mean.shape}")
    diff = a.mean - b.mean

    def ok(m: np.ndarray) -> bool:
        return bool(np.isfinite(m).all()) and (
            not np.iscomplexobj(m) or np.allclose(np.diagonal(m).imag, 0, atol=1e-3)
        )

    covmean = linalg.sqrtm(a.cov @ b.cov)
    if not ok(covmean):
        logger.debug("sqrtm of the covariance product is unstable; adding %g to the diagonals", eps)
        offset = eps * np.eye(a.cov.shape[0])
        covmean = linalg.sqrtm((a.cov + offset) @ (b.cov + offset))
        if not np.isfinite(covmean).all():
            raise ValueError("matrix square root of the covariance product is not finite")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"matrix square root has an imaginary component of {np.abs(covmean.imag).max():g}")
        covmean = covmean.real
    value = float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2.0 * np.trace(covmean))
    # Rounding makes the distance of (nearly) identical statistics slightly negative.
    return max(value, 0.0)


@dataclass(frozen=True)
class FCDResult:
    """FCD between generated and reference molecules.

    Attributes:
        fcd: the Fréchet ChemNet Distance (>= 0, lower is better).
        score: GuacaMol's ``exp(-0.2 * fcd)`` in ``(0, 1]``.
        n_generated: molecules behind the generated statistics.
        n_reference: molecules behind the reference statistics.
    """

    fcd: float
    score: float
    n_generated: int
    n_reference: int


def _canonical(smiles: str) -> str:
    """RDKit canonical SMILES with stereochemistry (GuacaMol / MOSES canonicalisation)."""
    with quiet_rdkit():
        mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None or mol.GetNumAtoms() == 0:
        raise ValueError(f"not a valid molecule: {smiles!r} (FCD takes valid molecules only)")
    return Chem.MolToSmiles(mol)


def chemnet_stats(
    smiles: Sequence[str],
    *,
    canonicalise: bool = True,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> GaussianStats:
    """:class:`GaussianStats` of the ChemNet activations of ``smiles`` (at least 2).

    Use it to precompute reference statistics for :func:`fcd` (e.g. of a random sample of
    training molecules, as GuacaMol does with 10,000).

    Args:
        smiles: valid molecules.
        canonicalise: replace each SMILES by RDKit's canonical SMILES (stereo kept) first,
            as GuacaMol and MOSES do (default ``True``); invalid SMILES then raise.
        batch_size, device, progress: as in :func:`chemnet_activations`.

    Raises:
        ValueError: fewer than 2 molecules, or an invalid SMILES when canonicalising.
    """
    smiles = list(smiles)
    if len(smiles) < 2:
        raise ValueError(f"FCD statistics need at least 2 molecules, got {len(smiles)}")
    if canonicalise:
        smiles = [_canonical(s) for s in smiles]
    acts = chemnet_activations(smiles, batch_size=batch_size, device=device, progress=progress)
    return GaussianStats.from_activations(acts)


def fcd(
    generated: Sequence[str],
    reference: GaussianStats | Sequence[str],
    *,
    canonicalise: bool = True,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    progress: bool = False,
) -> FCDResult:
    """Fréchet ChemNet Distance of generated molecules to a reference set.

    Args:
        generated: SMILES of the *valid* generated molecules (GuacaMol and MOSES drop the
            invalid ones before FCD; so must the caller). With ``canonicalise`` each is
            replaced by its RDKit canonical SMILES with stereochemistry
            (``Chem.MolToSmiles(Chem.MolFromSmiles(s))``), and an invalid one raises.
        reference: reference SMILES (canonicalised likewise), or precomputed statistics
            from :func:`chemnet_stats` (made with the same ``canonicalise`` setting).
        canonicalise: canonicalise SMILES before ChemNet (default ``True``, as GuacaMol
            and MOSES); ``False`` encodes the strings as given.
        device: torch device or ``"auto"`` / ``"cpu"`` / ``"cuda:N"`` (default ``"cpu"``).
        batch_size: ChemNet batch size (default 256).
        progress: show tqdm bars.

    Returns:
        :class:`FCDResult` with ``score = exp(-0.2 * fcd)``.

    Raises:
        ValueError: fewer than 2 generated (or reference) molecules, or an invalid SMILES.
    """
    kwargs = {"canonicalise": canonicalise, "batch_size": batch_size, "device": device, "progress": progress}
    gen_stats = chemnet_stats(generated, **kwargs)
    ref_stats = reference if isinstance(reference, GaussianStats) else chemnet_stats(reference, **kwargs)
    distance = frechet_distance(gen_stats, ref_stats)
    return FCDResult(
        fcd=distance, score=math.exp(-0.2 * distance), n_generated=gen_stats.n, n_reference=ref_stats.n
    )
