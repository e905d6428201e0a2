"""``prompts test``: assertions, render-only runs, recorded outputs, similarity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.backends.local_embeddings import LocalEmbedder
from llmops.prompts import parse_template
from llmops.prompts.cases import RecordedOutputs, run_tests
from llmops.prompts.template import PromptTemplate, RenderedPrompt


def _template(
    assertions: list[dict[str, Any]], text: str = "Capital of {{ country }}?"
) -> PromptTemplate:
    return parse_template(
        {
            "name": "capital",
            "model": "gemini-2.0-flash",
            "variables": ["country"],
            "template": text,
            "tests": [
                {
                    "name": "france",
                    "variables": {"country": "France"},
                    "assert": assertions,
                }
            ],
        }
    )


class _Model:
    """A model that answers from a fixed table, keyed by the rendered text."""

    def __init__(self, name: str, answers: dict[str, str]) -> None:
        self.name, self.answers, self.prompts = name, answers, []

    def generate(self, prompt: RenderedPrompt) -> str:
        self.prompts.append(prompt.text)
        return self.answers[prompt.text]


def test_assertions_pass_and_fail_per_case() -> None:
    """contains, not_contains, regex and json_schema each judge the answer."""
    template = _template(
        [
            {"contains": "Paris"},
            {"not_contains": "Lyon"},
            {"regex": r'"city":\s*"Paris"'},
            {"json_schema": {"type": "object", "required": ["city", "population"]}},
        ]
    )
    model = _Model("m1", {"Capital of France?": '{"city": "Paris"}'})
    run = run_tests([template], model=model)
    (result,) = run.results
    assert run.model_checks_run and model.prompts == ["Capital of France?"]
    assert result.status == "fail"
    assert [a.passed for a in result.assertions] == [True, True, True, False]
    assert "population" in result.assertions[3].detail
    assert not run.ok


def test_without_a_model_only_rendering_is_checked() -> None:
    """No model: each case is rendered and the run says model checks did not run."""
    run = run_tests([_template([{"contains": "Paris"}])])
    assert not run.model_checks_run
    assert [r.status for r in run.results] == ["rendered"]
    assert run.ok


def test_recorded_outputs_detect_a_changed_answer(tmp_path: Path) -> None:
    """A different answer than the recorded one is flagged with what changed."""
    recorded = RecordedOutputs(tmp_path / "recorded.json")
    template = _template([{"contains": "Paris"}])
    run_tests(
        [template],
        model=_Model("m1", {"Capital of France?": "Paris."}),
        recorded=recorded,
        record=True,
    )

    reread = RecordedOutputs(tmp_path / "recorded.json")
    same = run_tests(
        [template],
        model=_Model("m1", {"Capital of France?": "Paris."}),
        recorded=reread,
    )
    assert same.results[0].changed is False

    new_model = run_tests(
        [template],
        model=_Model("m2", {"Capital of France?": "It is Paris."}),
        recorded=reread,
    )
    assert new_model.results[0].changed is True
    assert new_model.results[0].change == "model m1 -> m2"

    edited = _template(
        [{"contains": "Paris"}], text="Which city is the capital of {{ country }}?"
    )
    changed = run_tests(
        [edited],
        model=_Model("m1", {"Which city is the capital of France?": "Paris!"}),
        recorded=reread,
    )
    assert changed.results[0].change == "template changed"

    replay = run_tests([template], recorded=reread)
    assert (replay.results[0].status, replay.results[0].replayed) == ("pass", True)
    assert not replay.model_checks_run


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    """The platform's local embedding model (all-MiniLM-L6-v2, shipped in a wheel)."""
    return LocalEmbedder()


def test_similarity_to_the_expected_answer_uses_the_embedder(
    embedder: LocalEmbedder,
) -> None:
    """A paraphrase clears the threshold; an unrelated answer does not."""
    template = _template(
        [{"similar_to": "The capital of France is Paris.", "threshold": 0.8}]
    )
    close = run_tests(
        [template],
        model=_Model("m", {"Capital of France?": "Paris is the capital of France."}),
        embedder=embedder,
    )
    far = run_tests(
        [template],
        model=_Model("m", {"Capital of France?": "Bananas are rich in potassium."}),
        embedder=embedder,
    )
    assert close.results[0].status == "pass"
    assert far.results[0].status == "fail"
    assert "similarity" in far.results[0].assertions[0].detail
