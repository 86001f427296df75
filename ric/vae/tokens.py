"""Token vocabularies for the sequence VAEs: SMILES (regex tokenizer) or SELFIES.

SMILES are split with a regular expression that keeps bracket atoms (``[nH]``,
``[C@@H]``, ``[NH+]``), two-letter halogens (``Cl``, ``Br``) and two-digit ring closures
(``%10``) as single tokens. SELFIES (``--tokens selfies``) use the ``selfies`` package's
symbols. The vocabulary and the maximum length come from the training data; encoding a
string with a token outside the vocabulary raises :class:`UnknownTokenError` naming the
string and the token, and a string longer than the maximum raises ``ValueError``.

Sequences are ``[BOS, t_1, ..., t_L, EOS, PAD, ...]``: ids ``PAD = 0``, ``BOS = 1``,
``EOS = 2``, then the data's tokens in sorted order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["PAD", "BOS", "EOS", "SPECIALS", "UnknownTokenError", "TokenVocabulary", "tokenize_smiles", "draw_token"]

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")

_SMILES_TOKEN = re.compile(r"(\[[^\]]+\]|Br|Cl|%\d{2}|[BCNOPSFIbcnops]|[0-9]|\(|\)|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|\.)")


class UnknownTokenError(ValueError):
    """A string holds a token outside the model's vocabulary."""


def tokenize_smiles(smiles: str) -> list[str]:
    """Split a SMILES string into tokens.

    Raises:
        ValueError: if some characters match no token (naming them).
    """
    tokens = _SMILES_TOKEN.findall(smiles)
    if "".join(tokens) != smiles:
        raise ValueError(f"SMILES {smiles!r} has characters the tokenizer does not know")
    return tokens


def _split(text: str, kind: str) -> list[str]:
    if kind == "smiles":
        return tokenize_smiles(text)
    import selfies

    return list(selfies.split_selfies(text))


@dataclass(frozen=True)
class TokenVocabulary:
    """Tokens of one representation, with the maximum sequence length.

    Attributes:
        kind: ``"smiles"`` or ``"selfies"``.
        tokens: every token, specials first (index = id).
        max_length: longest sequence, BOS and EOS included.
    """

    kind: str
    tokens: tuple[str, ...]
    max_length: int

    def __post_init__(self) -> None:
        if self.kind not in ("smiles", "selfies"):
            raise ValueError(f"unknown token kind {self.kind!r}: use smiles or selfies")

    @property
    def size(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, smiles: Iterable[str], kind: str = "smiles") -> "TokenVocabulary":
        """The tokens and maximum length of ``smiles`` (converted to SELFIES first if asked)."""
        seen: set[str] = set()
        longest = 0
        for s in smiles:
            toks = _split(cls._convert(s, kind), kind)
            seen.update(toks)
            longest = max(longest, len(toks))
        if not seen:
            raise ValueError("cannot build a token vocabulary from no molecules")
        return cls(kind, SPECIALS + tuple(sorted(seen)), longest + 2)

    @staticmethod
    def _convert(smiles: str, kind: str) -> str:
        if kind == "smiles":
            return smiles
        import selfies

        try:
            return selfies.encoder(smiles)
        except Exception as exc:  # selfies raises its own EncoderError subclasses
            raise ValueError(f"SMILES {smiles!r} cannot be written as SELFIES: {exc}") from exc

    def encode(self, smiles: str) -> list[int]:
        """Token ids ``[BOS, ..., EOS]`` of one SMILES (unpadded).

        Raises:
            UnknownTokenError: a token is not in the vocabulary.
            ValueError: the sequence is longer than :attr:`max_length`.
        """
        index = self._index
        text = self._convert(smiles, self.kind)
        ids = [BOS]
        for tok in _split(text, self.kind):
            k = index.get(tok)
            if k is None:
                raise UnknownTokenError(f"{smiles!r}: token {tok!r} is not in the model's vocabulary")
            ids.append(k)
        ids.append(EOS)
        if len(ids) > self.max_length:
            raise ValueError(f"{smiles!r}: {len(ids)} tokens, longer than the model's maximum {self.max_length}")
        return ids

    def encode_batch(self, smiles: Sequence[str]) -> np.ndarray:
        """int64 ``[n, max_length]`` padded ids."""
        out = np.full((len(smiles), self.max_length), PAD, dtype=np.int64)
        for i, s in enumerate(smiles):
            ids = self.encode(s)
            out[i, : len(ids)] = ids
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """SMILES of a token-id sequence: tokens after BOS up to the first EOS (or PAD)."""
        toks = []
        for k in ids:
            k = int(k)
            if k == BOS and not toks:
                continue
            if k in (EOS, PAD):
                break
            if k >= len(self.tokens):
                raise ValueError(f"token id {k} is outside the vocabulary of {len(self.tokens)}")
            toks.append(self.tokens[k])
        text = "".join(toks)
        if self.kind == "selfies":
            import selfies

            try:
                return selfies.decoder(text) or ""
            except Exception:  # an undecodable SELFIES string counts as an invalid sample
                return ""
        return text

    @property
    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {t: i for i, t in enumerate(self.tokens)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "tokens": list(self.tokens), "max_length": self.max_length}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TokenVocabulary":
        return cls(d["kind"], tuple(d["tokens"]), int(d["max_length"]))


def draw_token(logits: Any, temperature: float = 1.0, greedy: bool = False, generator: Any = None) -> Any:
    """The next token of each sequence from decoder logits ``[B, V]`` -> ``[B]``.

    PAD and BOS are never drawn (their logits are set to ``-inf`` in place); ``greedy``
    takes the argmax, otherwise a draw from ``softmax(logits / temperature)`` with
    ``generator`` (a :class:`torch.Generator`).
    """
    import torch

    logits[:, PAD] = -torch.inf  # only real tokens or EOS can follow
    logits[:, BOS] = -torch.inf
    if greedy:
        return logits.argmax(1)
    probs = torch.softmax(logits / temperature, dim=1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)
