"""The template file format: validation with clear errors, rendering, hashing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.errors import InputError
from llmops.prompts import load_folder, load_template, parse_template

GOOD: dict[str, Any] = {
    "name": "support-answer",
    "description": "Answers from passages.",
    "model": {
        "name": "gemini-2.0-flash",
        "parameters": {"temperature": 0.2, "max_output_tokens": 256},
    },
    "variables": {"question": "the question", "passages": "retrieved text"},
    "system": "Answer in the language of: {{ question }}",
    "examples": [{"user": "Q: reset?", "model": "Hold the button."}],
    "template": (
        "Question: {{question}}\nPassages: {{ passages }}\n"
        'Reply as JSON {"answer": ...}'
    ),
    "tests": [
        {
            "name": "reset",
            "variables": {
                "question": "How to reset?",
                "passages": "Hold it ten seconds.",
            },
            "assert": [
                {"contains": "ten"},
                {"regex": "^Hold"},
                {"json_schema": {"type": "object", "required": ["answer"]}},
                {"similar_to": "Hold it for ten seconds.", "threshold": 0.7},
            ],
        }
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    doc = dict(GOOD)
    doc.update(changes)
    return doc


def test_a_valid_template_renders_and_keeps_literal_braces() -> None:
    """Placeholders are filled; other braces stay as written."""
    template = parse_template(GOOD)
    rendered = template.render({"question": "Q?", "passages": "P."})
    assert rendered.text == 'Question: Q?\nPassages: P.\nReply as JSON {"answer": ...}'
    assert rendered.system == "Answer in the language of: Q?"
    assert rendered.messages()[0] == {"role": "user", "content": "Q: reset?"}
    assert rendered.messages()[-1]["content"] == rendered.text
    assert rendered.parameters == {"temperature": 0.2, "max_output_tokens": 256}
    assert [a.kind for a in template.tests[0].assertions] == [
        "contains",
        "regex",
        "json_schema",
        "similar_to",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Support Answer"}, "name 'Support Answer' must be"),
        ({"template": ""}, "template is missing or empty"),
        (
            {"template": "{{ question }} {{ passages }} {{ tone }}"},
            "placeholder(s) tone are not declared",
        ),
        (
            {"variables": ["question", "passages", "extra"]},
            "extra are declared but never used",
        ),
        ({"model": {"parameters": {}}}, "model.name is missing"),
        (
            {"model": {"name": "m", "parameters": {"temprature": 1}}},
            "'temprature' is not known",
        ),
        (
            {"model": {"name": "m", "parameters": {"temperature": 3}}},
            "temperature must be between",
        ),
        (
            {"examples": [{"user": "only a user turn"}]},
            "examples[0] must have exactly user and model",
        ),
        ({"colour": "blue"}, "unknown key(s) colour"),
    ],
)
def test_invalid_templates_are_refused_naming_the_problem(
    changes: dict[str, Any], message: str
) -> None:
    """Each kind of mistake is reported in words that say what to fix."""
    with pytest.raises(InputError) as caught:
        parse_template(_with(**changes), source="answer.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("answer.yaml is not a valid prompt template")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            {"name": "a", "variables": {"question": "q"}, "assert": []},
            "lacks variable(s) passages",
        ),
        (
            {
                "name": "a",
                "variables": {"question": "q", "passages": "p", "x": 1},
                "assert": [],
            },
            "sets undeclared variable(s) x",
        ),
        (
            {
                "name": "a",
                "variables": {"question": "q", "passages": "p"},
                "assert": [{"regex": "("}],
            },
            "does not compile",
        ),
        (
            {
                "name": "a",
                "variables": {"question": "q", "passages": "p"},
                "assert": [{"json_schema": {"type": "nonsense"}}],
            },
            "not a valid JSON Schema",
        ),
        (
            {
                "name": "a",
                "variables": {"question": "q", "passages": "p"},
                "assert": [{"similar_to": "x", "threshold": 1.5}],
            },
            "threshold must be a number in (0, 1]",
        ),
        (
            {
                "name": "a",
                "variables": {"question": "q", "passages": "p"},
                "assert": [{"equals": "x"}],
            },
            "must name exactly one of",
        ),
    ],
)
def test_invalid_test_cases_are_refused(case: dict[str, Any], message: str) -> None:
    """A test case must set exactly the declared variables and valid assertions."""
    with pytest.raises(InputError, match="not a valid prompt template") as caught:
        parse_template(_with(tests=[case]))
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    """One run lists all the problems of a file, not only the first."""
    with pytest.raises(InputError) as caught:
        parse_template(_with(name="X", template="{{ nope }}", model={}))
    text = str(caught.value)
    assert (
        "name 'X'" in text and "nope are not declared" in text and "model.name" in text
    )


def test_content_hash_ignores_layout_but_not_content(tmp_path: Path) -> None:
    """Reformatted YAML with the same content hashes alike; a changed word does not."""
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(GOOD, sort_keys=False))
    (tmp_path / "b.yml").write_text(
        "# a comment\n" + yaml.safe_dump(GOOD, sort_keys=True, indent=4)
    )
    first, second = (
        load_template(tmp_path / "a.yaml"),
        load_template(tmp_path / "b.yml"),
    )
    assert first.content_hash() == second.content_hash()
    changed = parse_template(_with(description="Answers from the passages."))
    assert changed.content_hash() != first.content_hash()
    assert parse_template(yaml.safe_load(first.to_yaml())) == first


def test_a_folder_with_an_invalid_file_fails_listing_it(tmp_path: Path) -> None:
    """load_folder refuses the whole folder and names each invalid file."""
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(GOOD))
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "bad.yaml").write_text("name: bad\ntemplate: '{{ x }}'\n")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InputError) as caught:
        load_folder(tmp_path)
    text = str(caught.value)
    assert "2 invalid template file(s)" in text
    assert "bad.yaml" in text and "broken.yaml is not valid YAML" in text
    (tmp_path / "nested" / "bad.yaml").unlink()
    (tmp_path / "broken.yaml").unlink()
    assert [t.name for t in load_folder(tmp_path)] == ["support-answer"]
