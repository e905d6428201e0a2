"""Test doubles for the pipeline area: an embedder and a Gen AI client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from llmops.contract import EmbeddingModel, embedding_model


class TableEmbedder:
    """An Embedder that returns the vector its table gives each text."""

    def __init__(self, vectors: Mapping[str, Sequence[float]], max_batch: int = 2):
        base = embedding_model("all-MiniLM-L6-v2")
        self.model: EmbeddingModel = EmbeddingModel(
            base.name,
            base.backend,
            2,
            base.max_input_tokens,
            max_batch,
            base.max_tokens_per_request,
        )
        self.dimensions = 2
        self.tokenizer = None
        self.vectors = vectors
        self.requests: list[list[str]] = []

    def embed(self, texts: Sequence[str], *, task: str) -> list[list[float]]:
        assert len(texts) <= self.model.max_batch
        self.requests.append(list(texts))
        return [list(self.vectors[text]) for text in texts]


@dataclass
class RecordingTunings:
    """``client.tunings``: records the request and walks a job through states."""

    states: list[str]
    calls: list[dict[str, Any]] = field(default_factory=list)
    gets: int = 0

    def _job(self, state: str) -> SimpleNamespace:
        return SimpleNamespace(
            name="projects/p/locations/l/tuningJobs/1",
            state=SimpleNamespace(name=state),
            error=None if state != "JOB_STATE_FAILED" else "bad dataset",
            tuned_model=SimpleNamespace(
                model="projects/p/locations/l/models/9",
                endpoint="projects/p/locations/l/endpoints/8",
            ),
        )

    def tune(self, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(kwargs)
        return self._job(self.states[0])

    def get(self, *, name: str) -> SimpleNamespace:
        self.gets += 1
        return self._job(self.states[min(self.gets, len(self.states) - 1)])


@dataclass
class RecordingModels:
    """``client.models``: answers prompts from a table and records them."""

    answers: Mapping[str, str]
    blocked: frozenset[str] = frozenset()
    prompts: list[str] = field(default_factory=list)

    def generate_content(self, *, model: str, contents: str) -> SimpleNamespace:
        self.prompts.append(contents)
        finish = "SAFETY" if contents in self.blocked else "STOP"
        return SimpleNamespace(
            text=self.answers.get(contents, ""),
            prompt_feedback=None,
            candidates=[SimpleNamespace(finish_reason=finish)],
        )


class RecordingGenAiClient:
    """A Gen AI client double with ``tunings`` and ``models``."""

    def __init__(
        self,
        states: list[str],
        answers: Mapping[str, str] | None = None,
        blocked: frozenset[str] = frozenset(),
    ):
        self.tunings = RecordingTunings(states)
        self.models = RecordingModels(answers or {}, blocked)
