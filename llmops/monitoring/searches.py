"""Searches as interactions: what the main job logs for each question it asks.

A search has no generation model: the "prompt" is the ``search-answer``
template rendered with the question and the passages found, the "response"
is those passages, and the model is the embedding model that ranked them.
Logged this way, searches fill the same views and report as model calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from llmops.monitoring.logger import InteractionLogger
from llmops.prompts.client import Prompt
from llmops.prompts.registry import PromptRegistry
from llmops.prompts.template import PromptTemplate, parse_template

SEARCH_TEMPLATE_NAME = "search-answer"
PASSAGE_CHARS = 400

_SEARCH_TEMPLATE = {
    "name": SEARCH_TEMPLATE_NAME,
    "description": "Answers a question from the passages the platform retrieved.",
    "model": {
        "name": "gemini-2.0-flash",
        "parameters": {"temperature": 0.2, "max_output_tokens": 512},
    },
    "variables": {
        "question": "What the user asked.",
        "passages": "The retrieved passages, best first.",
    },
    "system": "Answer only from the passages. Say so when they do not answer.",
    "template": "Question: {{ question }}\n\nPassages:\n{{ passages }}\n\nAnswer:",
    "tests": [
        {
            "name": "passages-are-quoted",
            "variables": {
                "question": "How do I list files?",
                "passages": "[1] ls lists directory contents.",
            },
            "assert": [{"contains": "ls"}],
        }
    ],
}


class _Chunk(Protocol):
    id: str
    text: str
    guardrails: tuple[str, ...]


class _Hit(Protocol):
    chunk: _Chunk
    score: float


def search_template() -> PromptTemplate:
    """The template searches are logged under."""
    return parse_template(_SEARCH_TEMPLATE, source=SEARCH_TEMPLATE_NAME)


def register_search_template(
    registry: PromptRegistry, *, author: str, label: str = "prod"
) -> int:
    """Push the template (a no-op when unchanged) and point ``label`` at it."""
    pushed = registry.push(search_template(), author=author, message="search template")
    state = registry.label_state(SEARCH_TEMPLATE_NAME, label)
    if state is None or state.version != pushed.version:
        registry.promote(SEARCH_TEMPLATE_NAME, pushed.version, label, author=author)
    return pushed.version


def passages(hits: Sequence[_Hit]) -> str:
    """The hits as numbered passages, each cut to a few hundred characters."""
    return "\n".join(
        f"[{rank}] {' '.join(hit.chunk.text.split())[:PASSAGE_CHARS]}"
        for rank, hit in enumerate(hits, start=1)
    )


def log_search(
    log: InteractionLogger,
    prompt: Prompt,
    question: str,
    hits: Sequence[_Hit],
    *,
    latency_ms: float,
    model_name: str,
    conversation_id: str | None = None,
    turn: int | None = None,
    user_id: str | None = None,
) -> str:
    """Log one search as an interaction under ``prompt``'s version; return its id."""
    found = passages(hits)
    rendered = prompt.render(question=question, passages=found)
    raised = sorted({flag for hit in hits for flag in hit.chunk.guardrails})
    return log.log_interaction(
        prompt=rendered.text,
        response=found,
        model_name=model_name,
        template_name=prompt.name,
        template_version=prompt.version,
        template_label=prompt.label,
        latency_ms=latency_ms,
        guardrails=raised,
        retrieved_chunk_ids=[hit.chunk.id for hit in hits],
        conversation_id=conversation_id,
        turn=turn,
        user_id=user_id,
        user_input=question,
    )
