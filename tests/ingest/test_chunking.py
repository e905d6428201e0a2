"""Token-aware chunking."""

from __future__ import annotations

import itertools
import pydoc_data.topics

import pytest

from llmops.backends.local_embeddings import LocalEmbedder
from llmops.errors import ConfigError
from llmops.ingest.chunking import SPECIAL_TOKENS, Chunker, ChunkingConfig
from llmops.ingest.extract import Section, extract


@pytest.fixture(scope="module")
def tokenizer():
    return LocalEmbedder().tokenizer


def test_no_chunk_exceeds_the_model_input_limit(tokenizer) -> None:
    """Every chunk of Python's reference text fits 256 tokens with specials."""
    chunker = Chunker(tokenizer, ChunkingConfig.for_model(256))
    chunks = []
    for name, text in pydoc_data.topics.topics.items():
        chunks += chunker.chunk(extract(f"{name}.txt", text.encode()).sections)
    assert len(chunks) > 300
    worst = max(len(tokenizer.token_spans(c.text)) + SPECIAL_TOKENS for c in chunks)
    assert worst <= 256


def test_each_chunk_starts_with_its_heading(tokenizer) -> None:
    """A long section's chunks all carry the section heading."""
    section = Section("Guide > Install", " ".join(f"word{i}." for i in range(2000)))
    chunks = Chunker(tokenizer, ChunkingConfig.for_model(256)).chunk([section])
    assert len(chunks) > 5
    assert all(c.text.startswith("Guide > Install\n\n") for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_neighbouring_chunks_overlap(tokenizer) -> None:
    """Consecutive chunks share text at their boundary."""
    body = " ".join(f"Sentence number {i} ends here." for i in range(400))
    chunks = Chunker(tokenizer, ChunkingConfig(max_tokens=128, overlap=32)).chunk(
        [Section("", body)]
    )
    for before, after in itertools.pairwise(chunks):
        assert after.text.split(".")[0] in before.text


def test_whole_text_is_covered(tokenizer) -> None:
    """No word of the section is lost between chunks."""
    words = [f"w{i}" for i in range(3000)]
    chunks = Chunker(tokenizer, ChunkingConfig(max_tokens=100, overlap=10)).chunk(
        [Section("", " ".join(words))]
    )
    seen = set()
    for chunk in chunks:
        seen.update(chunk.text.split())
    assert seen == set(words)


@pytest.mark.parametrize(("size", "overlap"), [(20000, None), (10, None), (256, 200)])
def test_out_of_range_settings_name_the_key(size: int, overlap: int | None) -> None:
    """Chunk sizes and overlaps out of range fail naming the setting."""
    with pytest.raises(ConfigError, match="LLMOPS_CHUNK_"):
        ChunkingConfig.for_model(256, size, overlap)
