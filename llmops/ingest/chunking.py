"""Token-aware, overlapping chunks that keep their section heading.

Windows are measured in the embedder's own tokens (a ``TokenCounter``), cut
at the best boundary in their second half (paragraph, then sentence, then
line, then word) and overlap by a number of tokens. Every chunk's text is the
heading path, a blank line, then the body, and fits the embedder's input
limit including its special tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmops.backends.base import TokenCounter
from llmops.errors import ConfigError
from llmops.ingest.extract import Section
from llmops.settings import MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS

# Tokens the model adds around every input ([CLS] and [SEP] for BERT-likes).
SPECIAL_TOKENS = 2
# A heading may take at most this share of a chunk's budget.
MAX_HEADING_SHARE = 4


@dataclass(frozen=True)
class Chunk:
    """One piece of a document as it is embedded and stored."""

    index: int
    heading: str
    text: str
    tokens: int


@dataclass(frozen=True)
class ChunkingConfig:
    """How large chunks are and how much neighbours share, in tokens."""

    max_tokens: int
    overlap: int

    @classmethod
    def for_model(
        cls,
        max_input_tokens: int,
        chunk_tokens: int | None = None,
        overlap: int | None = None,
    ) -> ChunkingConfig:
        """Defaults that fit the model; explicit values are validated."""
        limit = min(max_input_tokens, MAX_CHUNK_TOKENS)
        size = chunk_tokens if chunk_tokens is not None else min(limit, 512)
        if not MIN_CHUNK_TOKENS <= size <= limit:
            raise ConfigError(
                f"chunk size must be between {MIN_CHUNK_TOKENS} and {limit} "
                f"tokens for this embedding model, got {size}; set "
                "LLMOPS_CHUNK_TOKENS (llmops:chunkTokens)"
            )
        shared = overlap if overlap is not None else size // 8
        if not 0 <= shared <= size // 2:
            raise ConfigError(
                f"chunk overlap must be between 0 and {size // 2} tokens (half "
                f"the chunk size), got {shared}; set LLMOPS_CHUNK_OVERLAP "
                "(llmops:chunkOverlap)"
            )
        return cls(max_tokens=size, overlap=shared)


class Chunker:
    """Splits headed sections into chunks that fit the embedder."""

    def __init__(self, tokenizer: TokenCounter, config: ChunkingConfig) -> None:
        self._tokenizer = tokenizer
        self._config = config

    def chunk(self, sections: list[Section]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in sections:
            for heading, body, tokens in self._split(section):
                text = f"{heading}\n\n{body}" if heading else body
                chunks.append(Chunk(len(chunks), heading, text, tokens))
        return chunks

    def _split(self, section: Section) -> list[tuple[str, str, int]]:
        budget = self._config.max_tokens - SPECIAL_TOKENS
        heading = self._fit_heading(section.heading, budget // MAX_HEADING_SHARE)
        # The heading, plus the blank line that joins it to the body.
        heading_tokens = (
            len(self._tokenizer.token_spans(heading + "\n\n")) if (heading) else 0
        )
        room = budget - heading_tokens
        text = section.text
        spans = self._tokenizer.token_spans(text)
        if not spans:
            return []
        if len(spans) <= room:
            return [(heading, text, heading_tokens + len(spans))]

        overlap = min(self._config.overlap, room // 2)
        pieces = []
        start = 0
        while start < len(spans):
            end = min(start + room, len(spans))
            if end < len(spans):
                end = self._boundary(text, spans, start, end)
            body = text[spans[start][0] : spans[end - 1][1]].strip()
            pieces.append((heading, body, heading_tokens + end - start))
            if end >= len(spans):
                break
            start = self._overlap_start(text, spans, max(end - overlap, start + 1), end)
        return pieces

    def _fit_heading(self, heading: str, limit: int) -> str:
        if not heading:
            return ""
        spans = self._tokenizer.token_spans(heading)
        if len(spans) <= limit:
            return heading
        # Keep the most specific end of a long heading path.
        return "… " + heading[spans[len(spans) - limit + 1][0] :]

    @staticmethod
    def _boundary(text: str, spans: list[tuple[int, int]], start: int, end: int) -> int:
        """The best token index to end a window at, in its second half."""
        floor = start + max(1, (end - start) // 2)
        best_rank, best = 0, end
        for k in range(end, floor, -1):
            gap = text[spans[k - 1][1] : spans[k][0]]
            if not gap:
                continue
            if "\n\n" in gap:
                rank = 4
            elif text[spans[k - 1][1] - 1] in ".!?:;" and gap.isspace():
                rank = 3
            elif "\n" in gap:
                rank = 2
            else:
                rank = 1
            if rank > best_rank:
                best_rank, best = rank, k
                if rank == 4:
                    break
        return best

    @classmethod
    def _overlap_start(
        cls, text: str, spans: list[tuple[int, int]], index: int, end: int
    ) -> int:
        """Where the next window starts: a sentence or line in the overlap."""
        for k in range(index, end):
            gap = text[spans[k - 1][1] : spans[k][0]]
            if gap and ("\n" in gap or text[spans[k - 1][1] - 1] in ".!?"):
                return k
        return cls._word_start(text, spans, index)

    @staticmethod
    def _word_start(text: str, spans: list[tuple[int, int]], index: int) -> int:
        """Move forward to a token that starts a word (not a word piece)."""
        limit = min(len(spans) - 1, index + 16)
        k = index
        while k < limit and spans[k][0] == spans[k - 1][1]:
            k += 1
        return k if spans[k][0] != spans[k - 1][1] else index
