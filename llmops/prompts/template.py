"""The prompt template file: its format, its validation and its rendering.

A template is a YAML file in the use-case team's repository::

    name: support-answer
    description: Answers a customer question from retrieved passages.
    model:
      name: gemini-2.0-flash
      parameters: {temperature: 0.2, max_output_tokens: 512}
    variables:
      question: The customer's question.
      passages: Retrieved passages, one per paragraph.
    system: You answer from the passages only.
    examples:
      - user: "Question: how do I reset? Passages: ..."
        model: "Hold the button for ten seconds."
    template: |
      Question: {{ question }}
      Passages:
      {{ passages }}
    tests:
      - name: cites-the-manual
        variables: {question: ..., passages: ...}
        assert:
          - contains: ten seconds
          - similar_to: Hold the reset button for ten seconds.
            threshold: 0.7

Placeholders are ``{{ name }}``; any other brace is literal text. Every
placeholder must be declared, and every declared variable used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmops.errors import InputError

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

_TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "model",
        "variables",
        "system",
        "examples",
        "template",
        "tests",
    }
)
# Generation parameters the platform passes to a model, with their bounds.
_PARAMETERS: dict[str, tuple[type | tuple[type, ...], float | None, float | None]] = {
    "temperature": ((int, float), 0.0, 2.0),
    "top_p": ((int, float), 0.0, 1.0),
    "top_k": (int, 1, 1000),
    "max_output_tokens": (int, 1, 1_000_000),
    "candidate_count": (int, 1, 8),
    "seed": (int, None, None),
    "presence_penalty": ((int, float), -2.0, 2.0),
    "frequency_penalty": ((int, float), -2.0, 2.0),
    "stop_sequences": (list, None, None),
}
ASSERTION_KINDS = ("contains", "not_contains", "regex", "json_schema", "similar_to")
DEFAULT_SIMILARITY_THRESHOLD = 0.8


@dataclass(frozen=True)
class Assertion:
    """One check on a model's answer to a test case."""

    kind: str
    expected: Any
    threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {self.kind: self.expected}
        if self.threshold is not None:
            doc["threshold"] = self.threshold
        return doc


@dataclass(frozen=True)
class TestCase:
    """Variables to render the template with, and what the answer must satisfy."""

    __test__ = False  # not a pytest class

    name: str
    variables: Mapping[str, Any]
    assertions: tuple[Assertion, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "variables": dict(self.variables),
            "assert": [assertion.to_dict() for assertion in self.assertions],
        }


@dataclass(frozen=True)
class Example:
    """A few-shot example: a user turn and the model turn it should get."""

    user: str
    model: str


class _BlockDumper(yaml.SafeDumper):
    """Writes text that holds line breaks as a ``|`` block."""


def _text_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _text_block)


@dataclass(frozen=True)
class RenderedPrompt:
    """A template rendered with its variables, ready for a model call."""

    name: str
    version: int | None
    label: str | None
    text: str
    system: str | None
    examples: tuple[Example, ...]
    model: str
    parameters: Mapping[str, Any]

    def messages(self) -> list[dict[str, str]]:
        """The conversation a chat model takes: examples, then the prompt."""
        turns: list[dict[str, str]] = []
        for example in self.examples:
            turns.append({"role": "user", "content": example.user})
            turns.append({"role": "model", "content": example.model})
        turns.append({"role": "user", "content": self.text})
        return turns


@dataclass(frozen=True)
class PromptTemplate:
    """A validated template: what a version in the registry holds."""

    name: str
    template: str
    variables: Mapping[str, str]
    model: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    system: str | None = None
    examples: tuple[Example, ...] = ()
    tests: tuple[TestCase, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The canonical document: what is hashed, stored and diffed."""
        doc: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "model": {"name": self.model, "parameters": dict(self.parameters)},
            "variables": dict(self.variables),
            "template": self.template,
        }
        if self.system is not None:
            doc["system"] = self.system
        if self.examples:
            doc["examples"] = [
                {"user": e.user, "model": e.model} for e in self.examples
            ]
        if self.tests:
            doc["tests"] = [case.to_dict() for case in self.tests]
        return doc

    def to_yaml(self) -> str:
        """The canonical document as YAML, keys in a stable order, multi-line
        text as literal blocks (as a team writes its template files)."""
        return yaml.dump(
            self.to_dict(),
            Dumper=_BlockDumper,
            sort_keys=True,
            allow_unicode=True,
            width=88,
        )

    def content_hash(self) -> str:
        """sha256 of the canonical document; equal content, equal hash."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def render(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> RenderedPrompt:
        """Fill every placeholder; a missing or unexpected variable is an error."""
        given = dict(variables or {})
        missing = _names(set(self.variables) - set(given))
        unexpected = _names(set(given) - set(self.variables))
        if missing or unexpected:
            problems = []
            if missing:
                problems.append(f"missing variable(s) {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected variable(s) {', '.join(unexpected)}")
            raise InputError(
                f"template {self.name!r}: {' and '.join(problems)}; it declares "
                f"{', '.join(sorted(self.variables)) or 'no variables'}"
            )
        return RenderedPrompt(
            name=self.name,
            version=version,
            label=label,
            text=_fill(self.template, given),
            system=_fill(self.system, given) if self.system is not None else None,
            examples=self.examples,
            model=self.model,
            parameters=dict(self.parameters),
        )


def _fill(text: str, values: Mapping[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def placeholders(text: str) -> list[str]:
    """The variable names ``text`` refers to, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(1), None)
    return list(seen)


class _Problems:
    """Collects every problem of one document, so one run reports them all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_if_any(self) -> None:
        if self.found:
            raise InputError(
                f"{self.source} is not a valid prompt template: "
                + "; ".join(self.found)
            )


def _text(doc: Mapping[str, Any], key: str, problems: _Problems) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(f"{key} must be text, got {type(value).__name__}")
        return None
    return value


def _names(keys: Any) -> list[str]:
    """Keys as sorted text: YAML keys may be numbers, or anything else."""
    return sorted(str(key) for key in keys)


def _variables(raw: Any, problems: _Problems) -> dict[str, str]:
    # A list of names, or a mapping of name to description.
    if raw is None:
        return {}
    if isinstance(raw, list):
        unnamed = [name for name in raw if not isinstance(name, str)]
        if unnamed:
            problems.add(
                f"variables lists {unnamed[0]!r}, which is not a name; list names "
                "(`- question`) or map each name to a description "
                "(`question: the user's question`)"
            )
        raw = {name: "" for name in raw if isinstance(name, str)}
    if not isinstance(raw, Mapping):
        problems.add("variables must be a list of names or a mapping name: description")
        return {}
    declared: dict[str, str] = {}
    for name, description in raw.items():
        if not isinstance(name, str) or not _VARIABLE.match(name):
            problems.add(
                f"variable name {name!r} must be letters, digits and underscores, "
                "starting with a letter or underscore"
            )
            continue
        declared[name] = "" if description is None else str(description)
    return declared


def _parameters(raw: Any, problems: _Problems) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add("model.parameters must be a mapping")
        return {}
    parameters: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _PARAMETERS:
            problems.add(
                f"model parameter {key!r} is not known; use one of "
                f"{', '.join(sorted(_PARAMETERS))}"
            )
            continue
        kinds, low, high = _PARAMETERS[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            problems.add(f"model parameter {key} has the wrong type: {value!r}")
            continue
        if key == "stop_sequences" and not all(isinstance(s, str) for s in value):
            problems.add("model parameter stop_sequences must be a list of text")
            continue
        if low is not None and high is not None and not low <= value <= high:
            problems.add(
                f"model parameter {key} must be between {low} and {high}, got {value}"
            )
            continue
        parameters[key] = value
    return parameters


def _examples(raw: Any, problems: _Problems) -> tuple[Example, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("examples must be a list of {user, model} pairs")
        return ()
    examples = []
    for position, item in enumerate(raw):
        if (
            not isinstance(item, Mapping)
            or set(item) != {"user", "model"}
            or not all(isinstance(item[k], str) for k in ("user", "model"))
        ):
            problems.add(f"examples[{position}] must have exactly user and model text")
            continue
        examples.append(Example(user=item["user"], model=item["model"]))
    return tuple(examples)


def _assertion(raw: Any, where: str, problems: _Problems) -> Assertion | None:
    if not isinstance(raw, Mapping):
        problems.add(f"{where} must be a mapping such as {{contains: text}}")
        return None
    kinds = [key for key in raw if key in ASSERTION_KINDS]
    others = [key for key in raw if key not in ASSERTION_KINDS and key != "threshold"]
    if len(kinds) != 1 or others:
        problems.add(
            f"{where} must name exactly one of {', '.join(ASSERTION_KINDS)}"
            + (f" (found {', '.join(map(str, others))})" if others else "")
        )
        return None
    kind = kinds[0]
    expected = raw[kind]
    threshold = raw.get("threshold")
    if kind == "json_schema":
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        if not isinstance(expected, Mapping):
            problems.add(f"{where}: json_schema must be a mapping (a JSON Schema)")
            return None
        try:
            Draft202012Validator.check_schema(expected)
        except SchemaError as error:
            problems.add(
                f"{where}: json_schema is not a valid JSON Schema: {error.message}"
            )
            return None
        expected = dict(expected)
    elif not isinstance(expected, str) or not expected:
        problems.add(f"{where}: {kind} must be non-empty text")
        return None
    if kind == "regex":
        try:
            re.compile(expected)
        except re.error as error:
            problems.add(f"{where}: regex {expected!r} does not compile: {error}")
            return None
    if kind == "similar_to":
        threshold = DEFAULT_SIMILARITY_THRESHOLD if threshold is None else threshold
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not (0.0 < threshold <= 1.0)
        ):
            problems.add(
                f"{where}: threshold must be a number in (0, 1], got {threshold!r}"
            )
            return None
        threshold = float(threshold)
    elif threshold is not None:
        problems.add(f"{where}: threshold applies to similar_to only")
        return None
    return Assertion(kind=kind, expected=expected, threshold=threshold)


def _tests(
    raw: Any, declared: Mapping[str, str], problems: _Problems
) -> tuple[TestCase, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("tests must be a list of cases")
        return ()
    cases: list[TestCase] = []
    names: set[str] = set()
    for position, item in enumerate(raw):
        where = f"tests[{position}]"
        if not isinstance(item, Mapping):
            problems.add(f"{where} must be a mapping with name, variables and assert")
            continue
        unknown = _names(set(item) - {"name", "variables", "assert"})
        if unknown:
            problems.add(f"{where} has unknown key(s) {', '.join(unknown)}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            problems.add(f"{where} needs a name")
            continue
        if name in names:
            problems.add(f"test case name {name!r} is used twice")
        names.add(name)
        variables = item.get("variables") or {}
        if not isinstance(variables, Mapping):
            problems.add(f"test case {name!r}: variables must be a mapping")
            continue
        missing = _names(set(declared) - set(variables))
        unexpected = _names(set(variables) - set(declared))
        if missing:
            problems.add(f"test case {name!r} lacks variable(s) {', '.join(missing)}")
        if unexpected:
            problems.add(
                f"test case {name!r} sets undeclared variable(s) "
                f"{', '.join(unexpected)}"
            )
        raw_assertions = item.get("assert") or []
        if not isinstance(raw_assertions, list):
            problems.add(f"test case {name!r}: assert must be a list")
            continue
        assertions = [
            _assertion(entry, f"test case {name!r} assert[{index}]", problems)
            for index, entry in enumerate(raw_assertions)
        ]
        cases.append(
            TestCase(
                name=name,
                variables=dict(variables),
                assertions=tuple(a for a in assertions if a is not None),
            )
        )
    return tuple(cases)


def parse_template(doc: Any, *, source: str = "template") -> PromptTemplate:
    """Validate a loaded document; raise InputError listing every problem."""
    problems = _Problems(source)
    if not isinstance(doc, Mapping):
        problems.add(
            "the file must hold a mapping with name, model, variables, template"
        )
        problems.raise_if_any()
    unknown = sorted(str(key) for key in doc if key not in _TOP_KEYS)
    if unknown:
        problems.add(
            f"unknown key(s) {', '.join(unknown)}; known keys are "
            f"{', '.join(sorted(_TOP_KEYS))}"
        )

    name = doc.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.add(
            f"name {name!r} must be 1 to 63 lowercase letters, digits, '-' or '_', "
            "starting with a letter"
        )
    text = _text(doc, "template", problems)
    if not text or not text.strip():
        problems.add("template is missing or empty; give the prompt text")
    system = _text(doc, "system", problems)
    description = _text(doc, "description", problems) or ""

    model_doc = doc.get("model")
    if isinstance(model_doc, str):
        model_doc = {"name": model_doc}
    model = model_doc.get("name") if isinstance(model_doc, Mapping) else None
    if not isinstance(model, str) or not model:
        problems.add(
            "model.name is missing; name the model the template is written for"
        )
    parameters = _parameters(
        model_doc.get("parameters") if isinstance(model_doc, Mapping) else None,
        problems,
    )
    if isinstance(model_doc, Mapping):
        extra = _names(set(model_doc) - {"name", "parameters"})
        if extra:
            problems.add(f"model has unknown key(s) {', '.join(extra)}")

    declared = _variables(doc.get("variables"), problems)
    used = placeholders(text or "") + placeholders(system or "")
    undeclared = sorted(set(used) - set(declared))
    unused = sorted(set(declared) - set(used))
    if undeclared:
        problems.add(
            f"placeholder(s) {', '.join(undeclared)} are not declared under variables"
        )
    if unused:
        problems.add(
            f"variable(s) {', '.join(unused)} are declared but never used in the "
            "template or system prompt"
        )

    examples = _examples(doc.get("examples"), problems)
    tests = _tests(doc.get("tests"), declared, problems)
    problems.raise_if_any()
    return PromptTemplate(
        name=str(name),
        template=str(text),
        variables=declared,
        model=str(model),
        parameters=parameters,
        description=description,
        system=system,
        examples=examples,
        tests=tests,
    )


def load_template(path: Path | str) -> PromptTemplate:
    """Read and validate one template file."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(
            f"template file {path} cannot be read: {error.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise InputError(
            f"template file {path} is not UTF-8 text; save it as UTF-8"
        ) from None
    except yaml.YAMLError as error:
        raise InputError(f"template file {path} is not valid YAML: {error}") from None
    return parse_template(doc, source=str(path))


def template_files(folder: Path | str) -> list[Path]:
    """The template files under ``folder`` (``*.yaml`` and ``*.yml``), sorted."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder of prompt templates")
    return sorted(
        p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    )


def scan_folder(folder: Path | str) -> tuple[list[PromptTemplate], list[str]]:
    """The valid templates under ``folder``, and one message per invalid file.

    A name defined twice counts as invalid in the second file; the first
    keeps it.
    """
    templates: list[PromptTemplate] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for path in template_files(folder):
        try:
            template = load_template(path)
        except InputError as error:
            errors.append(str(error))
            continue
        if template.name in seen:
            errors.append(
                f"{path} and {seen[template.name]} both define template "
                f"{template.name!r}; give each a unique name"
            )
            continue
        seen[template.name] = path
        templates.append(template)
    return templates, errors


def load_folder(folder: Path | str) -> list[PromptTemplate]:
    """Every template under ``folder``; raise once, listing every invalid file."""
    templates, errors = scan_folder(folder)
    if errors:
        raise InputError(
            f"{len(errors)} invalid template file(s) under {folder}:\n  "
            + "\n  ".join(errors)
        )
    return templates
